"""Which branch of a project outside the item's state a build checks out (Zuul's rule), and
the limits a frozen job hands the executor."""

from __future__ import annotations

from pathlib import Path

from keepgreen.jobconf.freeze import freeze_job_graph
from keepgreen.services.gating.builds import job_spec, pick_branch
from tests.jobconf.sample_site import errors, project, site

BRANCHES = {"main", "stable/2024.1", "feature/x"}


def test_an_override_the_project_has_wins() -> None:
    assert pick_branch(BRANCHES, "main", "feature/x", "stable/2024.1") == "stable/2024.1"


def test_the_first_override_the_project_has_is_used() -> None:
    assert pick_branch(BRANCHES, "main", "main", "stable/1999", "feature/x") == "feature/x"


def test_else_the_items_branch_if_the_project_has_it() -> None:
    assert pick_branch(BRANCHES, "main", "feature/x", None) == "feature/x"


def test_else_the_default_branch() -> None:
    assert pick_branch(BRANCHES, "main", "stable/2023.2", "nope") == "main"
    assert pick_branch({"master"}, "master", "main") == "master"


def test_the_executor_gets_the_jobs_limits_and_override_checkout() -> None:
    layout = site(project("org/app", {".zuul.yaml": """\
- job:
    name: unit
    run: playbooks/unit.yaml
    timeout: 600
    pre-timeout: 60
    post-timeout: 120
    override-checkout: stable/2024.1
- job:
    name: plain
    run: playbooks/unit.yaml
- project:
    check:
      jobs: [unit, plain]
"""}))
    assert errors(layout) == []
    graph = freeze_job_graph(layout, project="org/app", branch="main", pipeline="check")
    sources = {"org/app": Path("/src/app")}
    spec = job_spec(graph.job("unit"), "org/app", sources, Path("/src/config"))
    assert (spec.timeout, spec.pre_timeout, spec.post_timeout) == (600, 60, 120)
    assert spec.override_checkout == "stable/2024.1"
    plain = job_spec(graph.job("plain"), "org/app", sources, Path("/src/config"))
    assert (plain.pre_timeout, plain.override_checkout) == (None, None)
    assert plain.timeout == plain.post_timeout == 1800  # bounded even when the job is not
