"""Constructs that real Zuul configurations use and that load unchanged: the built-in
``noop`` job, job attributes such as ``allowed-projects`` and ``override-checkout``,
semaphore forms and RE2-style branch matchers."""

from __future__ import annotations

from keepgreen.jobconf.freeze import freeze_job_graph
from tests.jobconf.sample_site import errors, project, site

APP = "org/app"


def test_the_builtin_noop_job_runs_without_nodes_or_playbooks() -> None:
    layout = site(project(APP, {".zuul.yaml": """\
- project:
    check:
      jobs:
        - noop
    gate:
      jobs:
        - noop:
            voting: true
"""}))
    assert errors(layout) == []
    for pipeline in ("check", "gate"):
        graph = freeze_job_graph(layout, project=APP, branch="main", pipeline=pipeline)
        assert graph.names == ("noop",), graph.reasons
        noop = graph.job("noop")
        assert not noop.playbooks and not noop.nodeset.nodes and noop.voting


def test_a_project_may_not_redefine_noop() -> None:
    layout = site(project(APP, {".zuul.yaml": "- job:\n    name: noop\n    run: x.yaml\n"}))
    assert len(layout.errors) == 1
    assert '.zuul.yaml:2' in errors(layout)[0] and 'job "noop" is already defined' in errors(
        layout)[0]
