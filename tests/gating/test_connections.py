"""Pipelines written for a Zuul with more connections than keepgreen serves load unchanged:
``smtp`` reporters and ``github`` triggers are read and left out, only ``gerrit`` acts."""

from __future__ import annotations

import pytest

from keepgreen.jobconf.yaml_loader import load
from keepgreen.services.gating.layout import LayoutProblems, check_site_layout

PIPELINES = """\
- pipeline:
    name: check
    manager: independent
    allow-other-connections: false
    trigger:
      gerrit:
        - event: patchset-created
      github:
        - event: pull_request
          action: opened
    require:
      github:
        open: true
    success:
      gerrit:
        Verified: 1
      smtp:
        to: ci@example.org
    failure:
      gerrit:
        Verified: -1
- pipeline:
    name: periodic
    manager: independent
    trigger:
      timer:
        - time: '0 6 * * *'
    failure:
      smtp:
        from: zuul@example.org
        to: team@example.org
        subject: 'Periodic jobs for {change.project} failed'
"""


def test_smtp_reporters_and_an_unused_github_connection_do_not_break_pipelines() -> None:
    site = check_site_layout({"zuul.yaml": load("zuul.yaml", PIPELINES)}, None)
    check, periodic = site.pipeline("check"), site.pipeline("periodic")
    assert check is not None and periodic is not None
    assert check.rules.listens_to("patchset-created")
    assert check.config.reporters.success.votes == (("Verified", 1),)
    # A report that only goes by mail is not posted on the change.
    assert "failure" not in periodic.reporting
    assert site.layout is not None
    assert site.layout.pipelines["check"].allow_other_connections is False
    assert site.layout.pipelines["periodic"].allow_other_connections is True


def test_a_misspelt_connection_is_still_refused() -> None:
    text = PIPELINES.replace("      smtp:\n        to: ci", "      smpt:\n        to: ci")
    with pytest.raises(LayoutProblems, match='zuul.yaml:2: pipeline "check": the success '
                                             'reporter uses unknown connection "smpt"'):
        check_site_layout({"zuul.yaml": load("zuul.yaml", text)}, None)


def test_allow_other_connections_must_be_true_or_false() -> None:
    text = PIPELINES.replace("allow-other-connections: false", "allow-other-connections: no?")
    with pytest.raises(LayoutProblems, match='zuul.yaml:4:30: pipeline "check": '
                                             '"allow-other-connections" must be true or false'):
        check_site_layout({"zuul.yaml": load("zuul.yaml", text)}, None)
