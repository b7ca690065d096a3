"""The seeded config project loads as the site layout, and bad states are refused whole."""

from __future__ import annotations

import pytest

from keepgreen.gating.triggers import ReviewEvent
from keepgreen.jobconf import ProjectFiles, build_layout, freeze_job_graph
from keepgreen.jobconf.source import ConfigError, Located
from keepgreen.jobconf.yaml_loader import load
from keepgreen.services.gating.layout import (
    LayoutProblems,
    check_site_layout,
    queue_of,
    runs_in,
)
from keepgreen.services.siteconf.seeding import SEED

Files = dict[str, Located | ConfigError | None]


def seed_files(**extra: str) -> Files:
    found: Files = {str(p.relative_to(SEED)): load(str(p.relative_to(SEED)), p.read_text())
                    for p in sorted(SEED.glob("zuul.d/*.yaml"))}
    for path, text in extra.items():
        try:
            found[path] = load(path, text)
        except ConfigError as exc:
            found[path] = exc
    return found


def test_the_seed_is_opendevs_set() -> None:
    site = check_site_layout(seed_files(), "0" * 40)
    assert [(p.name, p.manager) for p in site.pipelines] == [
        ("check", "independent"), ("gate", "dependent"), ("post", "supercedent"),
        ("promote", "supercedent"), ("deploy", "serial"), ("periodic", "independent")]
    assert site.layout is not None
    assert all(p.post_review for p in site.layout.pipelines.values() if p.name != "check")
    gate = site.pipeline("gate")
    assert gate is not None and gate.submits
    assert gate.config.reporters is not None
    assert gate.config.reporters.start.votes == (("Verified", 0),)
    assert gate.config.reporters.failure.votes == (("Verified", -2),)
    check = site.pipeline("check")
    assert check is not None
    assert "start" in gate.reporting and "start" not in check.reporting
    periodic = site.pipeline("periodic")
    assert periodic is not None and [t.text for t in periodic.rules.timers] == ["0 2 * * *"]
    deploy = site.pipeline("deploy")  # each merged state of main, in order, one at a time
    assert deploy is not None and not deploy.submits


def test_the_config_project_runs_noop_in_check_and_gate() -> None:
    site = check_site_layout(seed_files(), None)
    assert site.layout is not None
    for pipeline in ("check", "gate"):
        assert runs_in(site.layout, "config", "main", pipeline)
        graph = freeze_job_graph(site.layout, project="config", branch="main",
                                 pipeline=pipeline)
        assert graph.names == ("noop",)
        assert not graph.jobs[0].playbooks and not graph.jobs[0].nodeset.nodes
    assert not runs_in(site.layout, "config", "main", "post")


def test_project_jobs_inherit_the_base_job_which_needs_no_playbooks() -> None:
    app = load(".zuul.yaml", "- job:\n    name: unit\n    run: playbooks/unit.yaml\n"
                             "- project:\n    queue: integrated\n    check:\n      jobs: [unit]\n")
    layout = build_layout([ProjectFiles("config", "main", seed_files(), trusted=True),
                           ProjectFiles("org/app", "main", {".zuul.yaml": app})])
    assert not layout.errors
    unit = freeze_job_graph(layout, project="org/app", branch="main", pipeline="check").jobs[0]
    # The executor places the sources and collects the logs itself: the seeded base job
    # costs a build no ansible-playbook of its own.
    assert unit.pre_run == () and unit.post_run == ()
    assert [n.label for n in unit.nodeset.nodes] == ["local"] and unit.attempts == 3
    assert queue_of(layout, "org/app", "main") == "integrated"


@pytest.mark.parametrize(("text", "expected"), [
    ("- pipeline:\n    name: nightly\n    manager: independent\n    trigger:\n      gerrit:\n"
     "        - event: patchset-uploaded\n", 'zuul.d/nightly.yaml:2: pipeline "nightly": '
                                             'trigger gerrit entry 1 has unknown event'),
    ("- pipeline:\n    name: nightly\n    manager: sideways\n    trigger: {}\n",
     "zuul.d/nightly.yaml:3:14:"),
    ("- pipeline:\n    name: nightly\n    manager: independent\n    trigger:\n      timer:\n"
     "        - time: '0 26 * * *'\n", "'0 26 * * *': '26' is not a valid hour"),
    ("- pipeline:\n    name: nightly\n    manager: independent\n    trigger: {}\n"
     "    success:\n      gerrit:\n        Verified: yes\n", 'gives label "Verified" the value'),
])
def test_a_broken_pipeline_names_file_and_line(text: str, expected: str) -> None:
    with pytest.raises(LayoutProblems) as raised:
        check_site_layout(seed_files(**{"zuul.d/nightly.yaml": text}), None)
    assert any(expected in problem for problem in raised.value.problems), raised.value.problems


STABLE_CHECK = """\
- pipeline:
    name: stable-check
    manager: independent
    trigger:
      gerrit:
        - event: patchset-created
          branch: ^*stable/.*$
        - event: comment-added
          comment: (?i)^(Patch Set [0-9]+:)?( [\\w\\\\+-]*)*(\\n\\n)?\\s*recheck
"""


def test_trigger_regexes_are_read_in_re2_syntax_as_branch_matchers_are() -> None:
    site = check_site_layout(seed_files(**{"zuul.d/stable.yaml": STABLE_CHECK}), None)
    pipeline = site.pipeline("stable-check")
    assert pipeline is not None
    rules = pipeline.rules
    assert rules.trigger_for(ReviewEvent("patchset-created", "org/app", "stable/2024.1"))
    assert not rules.trigger_for(ReviewEvent("patchset-created", "org/app", "main"))
