"""The check pipeline end to end: a pushed change carrying its own `.zuul.yaml` is tested on
fresh local nodes, and the CI account reports with a comment and a Verified vote.

Builds need root (local nodes are namespaces; the sandbox is bubblewrap started as root),
ansible-playbook next to this Python, and sshd for the node image. Elsewhere the test is
skipped with the reason; under CI (as root) a missing tool fails it instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keepgreen import settings as settings_mod
from keepgreen.store import builds as build_store
from keepgreen.store.db import Database
from tests.e2e.gitreview_support import git_review, gitreview_clone, review_change
from tests.e2e.pipeline_support import (
    HELLO_JOB_CONFIG,
    PLAYBOOK,
    change_info,
    ci_messages,
    ci_verified,
    only_change,
    pipeline_server,
    push_change,
    scheduler_caught_up,
    wait_for,
)
from tests.support import Server


@pytest.fixture(scope="module")
def ci_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, "check")


def test_check_votes_on_jobs_from_the_change(ci_server: Server, make_user, project_name,
                                             tmp_path: Path) -> None:
    ci_server.create_project(project_name)
    alice = make_user(ci_server, "alice")
    repo = gitreview_clone(alice, project_name, tmp_path / "work")
    git_review(alice, repo, "-s")  # installs the commit-msg hook from the server

    review_change(alice, repo, {".zuul.yaml": HELLO_JOB_CONFIG,
                                "playbooks/hello.yaml": PLAYBOOK.format(command="true")},
                  "Add a hello job")
    number = only_change(ci_server, project_name, "Add a hello job")
    info = wait_for("Verified +1 from the CI account",
                    lambda: (i := change_info(ci_server, number)) and ci_verified(i) and i,
                    ci_server)
    assert ci_verified(info) == 1
    report = "\n".join(ci_messages(info, 1))
    assert "hello SUCCESS" in report, report

    # The change's own config is used: breaking its playbook fails its next patch set.
    (repo / "playbooks/hello.yaml").write_text(PLAYBOOK.format(command="false"))
    alice.git("commit", "-qa", "--amend", "--no-edit", cwd=repo)
    git_review(alice, repo)
    info = wait_for("Verified -1 on patch set 2",
                    lambda: (i := change_info(ci_server, number))
                    and ci_messages(i, 2) and i, ci_server)
    assert ci_verified(info) == -1
    report = "\n".join(ci_messages(info, 2))
    assert "hello FAILURE" in report, report

    db = Database(settings_mod.load(ci_server.site).database_url)
    try:
        with db.read() as conn:
            recorded = build_store.builds_of(conn, number)
    finally:
        db.dispose()
    assert [(b.patch_set, b.job, b.result) for b in recorded] == [
        (1, "hello", "SUCCESS"), (2, "hello", "FAILURE")]

    # Where each build's time went is recorded, shown on its page and in the builds API.
    first = recorded[0]
    assert [name for name, _ in first.stages] == [
        "nodes", "setup", "pre-run placing the sources", "run playbooks/hello.yaml",
        "post-run collecting the logs"]
    assert first.ended is not None
    assert all(seconds >= 0 for _, seconds in first.stages)
    assert sum(s for _, s in first.stages) <= (first.ended - first.started).total_seconds() + 1
    with ci_server.client() as anonymous:  # the project is readable without signing in
        page = anonymous.get(f"/build/{first.uuid}")
        listed = anonymous.get("/api/builds", params={"change": number}).json()
    assert page.status_code == 200 and "Where the time went" in page.text
    assert "run playbooks/hello.yaml" in page.text
    shown = next(b for b in listed if b["uuid"] == first.uuid)
    assert [s["name"] for s in shown["stages"]] == [name for name, _ in first.stages]


def test_project_without_job_config_gets_no_report(ci_server: Server, make_user, project_name,
                                                   tmp_path: Path) -> None:
    ci_server.create_project(project_name)
    bob = make_user(ci_server, "bob")
    repo = bob.clone(project_name, tmp_path / "work")
    push_change(bob, repo, {"README": "no jobs here\n"}, "Add a readme")
    number = only_change(ci_server, project_name, "Add a readme")

    wait_for("the scheduler to consume the event", lambda: scheduler_caught_up(ci_server),
             ci_server, timeout=15)
    info = change_info(ci_server, number)
    assert ci_verified(info) is None
    assert ci_messages(info, 1) == []
