"""How much of Gerrit's REST API keepgreen answers, found by calling every endpoint Gerrit
3.x documents and written down in ``docs/gerrit-compatibility.md``.

A small world is set up once on a real server: a project, Alice's change with two patch sets
and a comment from Bob, a merged change, a stable branch, a tag, groups and throw-away
changes and accounts (see ``gerrit_endpoints``). The administrator then calls each catalog
endpoint over ``/a/``. An endpoint *answers* unless keepgreen says 501 (a Gerrit path it has
no handler for) or has no route at all (404 "no REST endpoint", 405): a 400 or 409 is still
keepgreen answering that request. A 500 is a server bug and fails the test.

The committed page must equal the freshly rendered one, so it cannot drift from the server;
after a change in the routes, regenerate it with ``KEEPGREEN_WRITE_COMPATIBILITY=1``.
"""

from __future__ import annotations

import base64
import difflib
import importlib
import os
import pkgutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

import keepgreen.gerrit
from tests.e2e.gerrit_endpoints import AREAS, CATALOG, KEEPGREEN_ONLY, Endpoint, route_key
from tests.e2e.test_review_votes import Team
from tests.support import ROOT, GitUser, Server, gerrit_json

DOC = ROOT / "docs" / "gerrit-compatibility.md"
WRITE_ENV = "KEEPGREEN_WRITE_COMPATIBILITY"
REGENERATE = f"{WRITE_ENV}=1 ./scripts/test tests/e2e/test_gerrit_compatibility.py"


@dataclass(frozen=True)
class Outcome:
    endpoint: Endpoint
    path: str
    status: int
    text: str

    @property
    def answers(self) -> bool:
        if self.status == 501:
            return False
        if self.status == 404 and self.text.startswith("no REST endpoint at"):
            return False
        return not (self.status == 405 and " is not allowed on " in self.text)


def user_maker(root: Path) -> Callable[..., GitUser]:
    """``make_user`` for a whole module: accounts with their own git HOME under ``root``."""
    def make(server: Server, username: str, groups: list[str] | None = None) -> GitUser:
        name = f"{username}{uuid.uuid4().hex[:6]}"
        password = server.create_account(name, groups=groups)
        return GitUser(root / f"home-{name}", server, name, password)
    return make


def ssh_key(n: int) -> str:
    """A well-formed Ed25519 public key (nobody holds its private half)."""
    blob = b"".join(len(part).to_bytes(4, "big") + part
                    for part in (b"ssh-ed25519", bytes([n]) * 32))
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} compat-{n}"


def build_world(server: Server, root: Path) -> dict[str, str]:
    """Set the stage and name its objects by the placeholders the catalog uses."""
    tag = uuid.uuid4().hex[:6]
    team = Team.start(server, user_maker(root), f"compat{tag}", root)
    team.configure("MERGE_IF_NECESSARY", 1)
    main = team.upload("hello.txt", "hello\n", "Say hello")
    team.amend("hello.txt", "hello, world\n")
    team.review(team.bob, main, {"Code-Review": 1}, message="One question.",
                comments={"hello.txt": [{"line": 1, "message": "Which world?"}]})
    merged = team.upload("merged.txt", "merged\n", "Add a merged file")
    team.approve(merged)
    assert team.submit(merged)["status"] == "MERGED"
    scratch = team.upload("scratch.txt", "scratch\n", "Add a scratch file")
    for voter in (team.bob, team.carol, team.dave, team.alice):
        team.review(voter, scratch, {"Code-Review": 1})
    team.api().post(f"/changes/{scratch}/reviewers", json={"reviewer": team.ci.username})
    rework = team.upload("rework.txt", "rework\n", "Rework the file")
    doomed = team.upload("doomed.txt", "doomed\n", "Add a file nobody keeps")
    moved = team.upload("moved.txt", "moved\n", "Add a file for the stable branch")
    scratch_account = f"scratch{tag}"
    server.create_account(scratch_account)
    keys = [ssh_key(n) for n in (1, 2)]
    groups = {name: f"compat-{name}-{tag}" for name in ("main", "scratch", "rename")}
    project = quote(team.project, safe="")
    with server.admin_client() as admin:
        def call(method: str, path: str, body: Any = None) -> Any:
            answer = admin.request(method, "/a" + path, json=body)
            assert answer.status_code < 300, (method, path, answer.text)
            return gerrit_json(answer) if answer.text.startswith(")]}'") else None

        call("POST", f"/accounts/{scratch_account}/sshkeys", keys[0])
        for name in ("stable", "doomed"):
            call("PUT", f"/projects/{project}/branches/{name}", {})
        commit = call("GET", f"/projects/{project}/branches/main")["revision"]
        for name in ("v1", "doomed-tag"):
            call("PUT", f"/projects/{project}/tags/{name}", {"revision": commit})
        for key, name in groups.items():
            call("PUT", f"/groups/{name}",
                 {"members": [scratch_account] if key == "scratch" else []})
        drafts = [call("PUT", f"/changes/{main}/revisions/current/drafts",
                       {"path": "hello.txt", "line": 1, "message": text})["id"]
                  for text in ("Kept draft", "Draft to delete")]
        message = call("GET", f"/changes/{main}/messages")[0]["id"]
        comment = call("GET", f"/changes/{main}/comments")["hello.txt"][0]["id"]
        rework_id = call("GET", f"/changes/{rework}")["change_id"]
        email = call("GET", "/accounts/self").get("email", "admin@example.org")
    return {
        "project": team.project, "project-name": project, "branch-id": "main",
        "tag-id": "v1", "commit-id": commit, "file-id": "hello.txt", "branch-file": "merged.txt",
        "change-id": str(main), "revision-id": "current", "change-message-id": message,
        "comment-id": comment, "draft-id": drafts[0], "doomed-draft": drafts[1],
        "label-id": "Code-Review", "label-name": "Code-Review", "scratch-label": "Scratch-Review",
        "submit-requirement-name": "Code-Review", "dashboard-id": "default",
        "fix-id": "compat-fix", "flow-id": "compat-flow",
        "account-id": "self", "other-account": str(team.bob.username),
        "second-reviewer": str(team.ci.username), "voter": str(team.carol.username),
        "second-voter": str(team.dave.username), "owner": str(team.alice.username),
        "second-ssh-key": keys[1],
        "email-id": email, "ssh-key-id": "1", "gpg-key-id": "AFC8A49B",
        "capability-id": "createProject", "new-username": f"newcomer{tag}",
        "scratch-account": scratch_account,
        "scratch-email": f"second-{scratch_account}@example.org",
        "scratch-change": str(scratch), "rework-change": str(rework), "rework-change-id": rework_id,
        "doomed-change": str(doomed), "moved-change": str(moved),
        "merged-change": str(merged),
        "group-id": quote(groups["main"], safe=""), "scratch-group": groups["scratch"],
        "rename-group": groups["rename"], "new-group": f"compat-new-{tag}",
        "new-project": f"compat-new-{tag}", "new-branch": "compat-new", "doomed-branch": "doomed",
        "new-tag": "v2", "doomed-tag": "doomed-tag",
        "cache-name": "projects", "task-id": "1e688bea", "plugin-id": "compat-plugin",
    }


@pytest.fixture(scope="module")
def outcomes(sqlite_server: Server,
             tmp_path_factory: pytest.TempPathFactory) -> list[Outcome]:
    """Every catalog endpoint called once, in catalog order, as the administrator."""
    world = build_world(sqlite_server, tmp_path_factory.mktemp("compat"))
    seen = []
    with sqlite_server.admin_client() as admin:
        for endpoint in CATALOG:
            path = endpoint.path(world)
            body = endpoint.json(world)
            answer = (admin.request(endpoint.method, "/a" + path) if body is None else
                      admin.request(endpoint.method, "/a" + path, json=body))
            seen.append(Outcome(endpoint, path, answer.status_code, answer.text.strip()))
    return seen


def test_no_endpoint_meets_a_server_error(outcomes: list[Outcome]) -> None:
    errors = [f"{o.endpoint.method} {o.path}: {o.text[:200]}" for o in outcomes
              if o.status >= 500 and o.status != 501]
    assert not errors, "server errors:\n" + "\n".join(errors)


def test_every_endpoint_keepgreen_does_not_answer_says_why(outcomes: list[Outcome]) -> None:
    silent = [f"{o.endpoint.method} {o.endpoint.template} ({o.endpoint.title})"
              for o in outcomes if not o.answers and not o.endpoint.why]
    assert not silent, ("give these a `why` in tests/e2e/gerrit_endpoints.py:\n"
                        + "\n".join(silent))


def served_routes() -> set[str]:
    """Every Gerrit REST route, read from the ``ROUTES`` of ``keepgreen.gerrit.*_api``."""
    keys = set()
    for module in pkgutil.iter_modules(keepgreen.gerrit.__path__):
        if module.name.endswith("_api"):
            routes = importlib.import_module(f"keepgreen.gerrit.{module.name}").ROUTES
            keys |= {route_key(method, "/" + "/".join(pattern)) for method, pattern, _ in routes}
    return keys


def test_every_route_is_a_catalog_endpoint_or_known_to_be_keepgreen_only() -> None:
    routes = served_routes()
    unknown = routes - {e.route_key for e in CATALOG} - set(KEEPGREEN_ONLY)
    assert not unknown, ("routes neither in the Gerrit catalog nor in KEEPGREEN_ONLY "
                         "(tests/e2e/gerrit_endpoints.py):\n" + "\n".join(sorted(unknown)))
    gone = set(KEEPGREEN_ONLY) - routes
    assert not gone, "KEEPGREEN_ONLY names routes nothing serves:\n" + "\n".join(sorted(gone))


def share(part: int, whole: int) -> str:
    return f"{part} of {whole} endpoints answer ({100 * part / whole:.0f}%)"


def render(outcomes: list[Outcome]) -> str:
    answered = sum(o.answers for o in outcomes)
    lines = [
        "# Gerrit REST compatibility",
        "",
        "Every REST endpoint that Gerrit 3.x documents (its `Documentation/rest-api-*.txt`),",
        "and what keepgreen answered when `tests/e2e/test_gerrit_compatibility.py` called it",
        "over `/a/` as the administrator, with a project, a change with two patch sets and a",
        "comment, and a merged change in place. An endpoint answers when keepgreen handles",
        "it: the status is whatever that request got (a 400, 404 or 409 is an answer too);",
        "501 means keepgreen knows the path but does not offer it, and the last column says",
        "why.",
        "",
        "This page is generated; the test fails when it is out of date. Regenerate it with",
        "",
        f"    {REGENERATE}",
        "",
        f"**{share(answered, len(outcomes))}.**",
        "",
        "| Area | Answered |",
        "| --- | --- |",
    ]
    by_area = {area: [o for o in outcomes if o.endpoint.area == area] for area in AREAS}
    for area, mine in by_area.items():
        lines.append(f"| [{area.title()}](#{area}) "
                     f"| {share(sum(o.answers for o in mine), len(mine))} |")
    for area, mine in by_area.items():
        lines += ["", f"## {area.title()}", "",
                  f"{share(sum(o.answers for o in mine), len(mine))}.", "",
                  "| Endpoint | Title | keepgreen | Why not |", "| --- | --- | --- | --- |"]
        for o in mine:
            why = "" if o.answers else o.endpoint.why
            lines.append(f"| `{o.endpoint.method} {o.endpoint.template}` | {o.endpoint.title} "
                         f"| {o.status} | {why} |")
    lines += ["", "## Beyond Gerrit's core documentation", "",
              "Routes keepgreen also answers (`*` is one path segment):", "",
              "| Route | What it is |", "| --- | --- |"]
    lines += [f"| `{key}` | {what} |" for key, what in sorted(KEEPGREEN_ONLY.items())]
    return "\n".join(lines) + "\n"


def test_the_compatibility_page_matches_what_the_server_answers(
        outcomes: list[Outcome]) -> None:
    fresh = render(outcomes)
    if os.environ.get(WRITE_ENV) == "1":
        DOC.write_text(fresh)
        return
    committed = DOC.read_text() if DOC.exists() else ""
    diff = list(difflib.unified_diff(committed.splitlines(), fresh.splitlines(),
                                     "committed", "fresh", lineterm="", n=0))
    assert not diff, (f"{DOC.relative_to(ROOT)} is out of date; regenerate it with\n"
                      f"    {REGENERATE}\n" + "\n".join(diff[:60]))
