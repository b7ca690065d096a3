"""gertty, the console Gerrit client, keeps a local copy of a project's reviews.

A reviewer subscribes to a project in gertty and works from its local database. Here the
real gertty (from PyPI) syncs from a real server: the project, open changes with all their
patch sets, votes, review messages and inline comments, and later what changed on the
server since (a changed vote, an abandoned change). gertty's own sync engine does the
talking, without its curses screen; see ``gertty_support``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.gertty_support import (
    GerttyUnavailable,
    gertty_log,
    gertty_python,
    local_state,
    run_sync,
    write_config,
)
from tests.support import GitUser, Server, gerrit_json

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def gertty() -> Path:
    try:
        return gertty_python()
    except GerttyUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"gertty is needed under CI but could not be installed: {exc}")
        pytest.skip(f"gertty could not be installed here: {exc}")


def pushed_number(user: GitUser, repo: Path) -> int:
    proc = user.push(repo)
    found = re.search(r"/\+/(\d+)", proc.stdout + proc.stderr)
    assert proc.returncode == 0 and found, proc.stdout + proc.stderr
    return int(found.group(1))


def post(server: Server, user: GitUser, path: str, body: dict[str, Any]) -> Any:
    with server.client(user.username, user.password) as c:
        r = c.post(path, json=body)
        assert r.status_code == 200, f"POST {path}: {r.status_code} {r.text}"
        return gerrit_json(r)


def synced(python: Path, config: Path, server: Server, *subscribe: str) -> dict[str, Any]:
    """Run gertty's sync; it must finish without errors or warnings shown to the user."""
    summary = run_sync(python, config, *subscribe)
    assert not (summary["refused"] or summary["errors"] or summary["warnings"]), (
        "requests of gertty that the server refused:\n" + "\n".join(summary["refused"])
        + "\nwarnings gertty would show:\n" + "\n".join(summary["warnings"])
        + "\nerrors gertty logged:\n" + "\n".join(summary["errors"])
        + explain(config, server))
    assert summary["version"][0] >= 3 and summary["account_id"], summary
    return local_state(config)


def explain(config: Path, server: Server) -> str:
    return (f"\n--- gertty log (tail) ---\n{gertty_log(config)}"
            f"\n--- server log (tail) ---\n{server.log()[-3000:]}")


def test_gertty_syncs_changes_votes_and_comments(sqlite_server: Server, make_user,
                                                  project_name: str, tmp_path: Path,
                                                  gertty: Path) -> None:
    server = sqlite_server
    server.create_project(project_name)
    alice, bob = make_user(server, "alice"), make_user(server, "bob")

    # Alice uploads two changes: the first twice (two patch sets), the second beside it.
    repo = alice.clone(project_name, tmp_path / "work")
    alice.commit(repo, "a.txt", "first line\n", "Add a.txt")
    first = pushed_number(alice, repo)
    (repo / "a.txt").write_text("first line, better\n")
    alice.git("commit", "-q", "-a", "--amend", "--no-edit", cwd=repo)
    assert pushed_number(alice, repo) == first
    first_ps2 = alice.git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    alice.git("reset", "-q", "--hard", "origin/main", cwd=repo)
    alice.commit(repo, "b.txt", "another file\n", "Add b.txt")
    second = pushed_number(alice, repo)
    assert second != first

    # Bob reviews the first change: +1, a message and a comment on line 1 of a.txt.
    result = post(server, bob, f"/a/changes/{first}/revisions/current/review", {
        "labels": {"Code-Review": 1}, "message": "Nice and small.",
        "comments": {"a.txt": [{"line": 1, "message": "Say what it is better than."}]}})
    assert result["labels"] == {"Code-Review": 1}

    # Alice starts gertty and subscribes to the project.
    config = write_config(tmp_path / "gertty", server.url, alice.username or "",
                          alice.password or "")
    state = synced(gertty, config, server, project_name)
    why = explain(config, server)

    assert state["projects"].get(project_name) is True, why
    changes = state["changes"]
    assert set(changes) == {first, second}, why
    one, two = changes[first], changes[second]
    assert (one["project"], one["subject"], one["status"], one["owner"]) == (
        project_name, "Add a.txt", "NEW", alice.username), why
    assert (two["project"], two["subject"], two["status"]) == (
        project_name, "Add b.txt", "NEW"), why
    assert sorted(one["revisions"]) == [1, 2] and one["revisions"][2] == first_ps2, why
    assert sorted(two["revisions"]) == [1], why
    assert one["approvals"] == {("Code-Review", bob.username): 1}, why
    assert two["approvals"] == {}, why
    assert {("Code-Review", v) for v in (-1, 0, 1)} <= one["labels"], why
    assert any(user == bob.username and n == 2 and "Nice and small." in text
               for user, n, text in one["messages"]), (one["messages"], why)
    assert one["comments"] == [(bob.username, 2, "a.txt", 1, "Say what it is better than.")], why

    # gertty fetched every patch set into its own clone of the project.
    clone = config.parent / "git" / project_name
    for commit in [*one["revisions"].values(), *two["revisions"].values()]:
        alice.git("cat-file", "-e", f"{commit}^{{commit}}", cwd=clone)

    # Meanwhile on the server: Bob changes his mind, Alice abandons her second change.
    post(server, bob, f"/a/changes/{first}/revisions/current/review",
         {"labels": {"Code-Review": -1}, "message": "On second thought, no."})
    abandoned = post(server, alice, f"/a/changes/{second}/abandon", {"message": "Not needed."})
    assert abandoned["status"] == "ABANDONED"

    # gertty starts again and catches up from where it left off.
    state = synced(gertty, config, server)
    why = explain(config, server)
    one, two = state["changes"][first], state["changes"][second]
    assert one["approvals"] == {("Code-Review", bob.username): -1}, why
    assert any(user == bob.username and "On second thought, no." in text
               for user, _, text in one["messages"]), (one["messages"], why)
    assert one["status"] == "NEW" and two["status"] == "ABANDONED", why
    assert any("Not needed." in text for _, _, text in two["messages"]), (two["messages"], why)
