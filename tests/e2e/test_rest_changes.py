"""Reading changes over Gerrit REST after pushing them with plain git.

Changes are made the way developers make them (``git push origin HEAD:refs/for/main``);
pygerrit2 reads them back like a script or review tool would, and httpx checks the raw
answers where the details matter. Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from pygerrit2 import Anonymous, GerritRestAPI, HTTPBasicAuth

from tests.support import GitUser, Server, gerrit_json

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9}$")


def rest(server: Server, user: GitUser | None = None) -> GerritRestAPI:
    if user is None:
        return GerritRestAPI(server.url, auth=Anonymous())
    return GerritRestAPI(server.url, auth=HTTPBasicAuth(user.username, user.password))


def enc(name: str) -> str:
    return quote(name, safe="")


def change_id_of(user: GitUser, repo: Path, rev: str = "HEAD") -> str:
    message = user.git("log", "-1", "--format=%B", rev, cwd=repo).stdout
    return re.findall(r"^Change-Id: (I[0-9a-f]{40})$", message, re.M)[-1]


def last_error(server: Server) -> str:
    """The last exception line of the server log, to explain a 500."""
    errors = [line for line in server.log().splitlines()
              if re.match(r"^[\w.]+(Error|Exception)\b", line)]
    return errors[-1][:300] if errors else "(no exception in the server log)"


def push_ok(user: GitUser, repo: Path, refspec: str = "HEAD:refs/for/main",
            *options: str) -> str:
    pushed = user.push(repo, refspec, *options)
    assert pushed.returncode == 0, pushed.stderr
    return pushed.stderr


@dataclass
class Pushed:
    """Two projects with open changes: three in ``a`` and one in ``b``, all by ``alice``."""

    a: str
    b: str
    alice: GitUser
    repo_a: Path
    shas_a: list[str]


@pytest.fixture(scope="module")
def pushed(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Pushed:
    root = tmp_path_factory.mktemp("changes")
    tag = uuid.uuid4().hex[:8]
    a, b = f"org/a{tag}", f"org/b{tag}"
    server.create_project(a)
    server.create_project(b)
    username = f"alice{tag}"
    alice = GitUser(root / "alice", server, username, server.create_account(username))
    repo_a = alice.clone(a, root / "a")
    shas = []
    for i in range(3):
        alice.git("checkout", "-q", "--detach", "origin/main", cwd=repo_a)
        shas.append(alice.commit(repo_a, f"f{i}.txt", f"{i}\n", f"Change {i} in A"))
        push_ok(alice, repo_a)
    repo_b = alice.clone(b, root / "b")
    alice.commit(repo_b, "b.txt", "b\n", "Only change in B")
    push_ok(alice, repo_b)
    return Pushed(a, b, alice, repo_a, shas)


def test_open_changes_through_pygerrit2(server: Server, pushed: Pushed) -> None:
    anonymous = rest(server).get("/changes/?q=status:open")
    subjects = {c["subject"] for c in anonymous if c["project"] in (pushed.a, pushed.b)}
    assert subjects == {"Change 0 in A", "Change 1 in A", "Change 2 in A", "Only change in B"}

    mine = rest(server, pushed.alice).get("/changes/?q=owner:self%20status:open")
    assert {c["project"] for c in mine} == {pushed.a, pushed.b}
    for change in mine:
        assert change["status"] == "NEW"
        assert change["owner"]["_account_id"] > 0
        assert TIMESTAMP.match(change["created"]), change["created"]
        assert TIMESTAMP.match(change["updated"]), change["updated"]

    with server.client() as c:
        raw = c.get("/changes/", params={"q": f"project:{pushed.b}"})
    assert raw.headers["content-type"] == "application/json; charset=UTF-8"
    assert raw.text.startswith(")]}'\n")
    assert [c["subject"] for c in gerrit_json(raw)] == ["Only change in B"]


def test_several_queries_answer_a_list_of_lists(server: Server, pushed: Pushed) -> None:
    answer = rest(server).get("/changes/", params={
        "q": [f"project:{pushed.a}", f"project:{pushed.b}"]})
    assert [len(page) for page in answer] == [3, 1]
    assert {c["project"] for c in answer[0]} == {pushed.a}
    assert answer[1][0]["subject"] == "Only change in B"


def test_pages_with_n_and_start(server: Server, pushed: Pushed) -> None:
    client = rest(server)
    query = f"project:{pushed.a}"
    first = client.get("/changes/", params={"q": query, "n": 2})
    assert len(first) == 2
    assert first[-1]["_more_changes"] is True
    assert "_more_changes" not in first[0]
    rest_of_it = client.get("/changes/", params={"q": query, "n": 2, "start": 2})
    assert len(rest_of_it) == 1
    assert "_more_changes" not in rest_of_it[-1]
    numbers = [c["_number"] for c in first + rest_of_it]
    everything = client.get("/changes/", params={"q": query})
    assert numbers == [c["_number"] for c in everything]
    assert len(set(numbers)) == 3

    limited = client.get("/changes/", params={"q": f"{query} limit:2"})
    assert [c["_number"] for c in limited] == numbers[:2]
    assert limited[-1]["_more_changes"] is True


def test_change_identifiers(server: Server, pushed: Pushed) -> None:
    client = rest(server)
    change = client.get("/changes/", params={"q": f"commit:{pushed.shas_a[0]}"})[0]
    number, change_id = change["_number"], change["change_id"]
    assert change_id == change_id_of(pushed.alice, pushed.repo_a, pushed.shas_a[0])
    assert change["id"] == f"{enc(pushed.a)}~{number}"

    for identifier in (str(number), f"{enc(pushed.a)}~{number}",
                       f"{enc(pushed.a)}~main~{change_id}", change_id):
        found = client.get(f"/changes/{identifier}")
        assert found["_number"] == number, identifier
        assert found["subject"] == "Change 0 in A"

    with server.client() as c:
        assert c.get(f"/changes/{enc(pushed.b)}~{number}").status_code == 404
        assert c.get("/changes/99999999").status_code == 404


def test_current_revision_is_fetchable(server: Server, pushed: Pushed, make_user,
                                       tmp_path: Path) -> None:
    sha = pushed.shas_a[1]
    change = rest(server).get("/changes/", params={"q": f"commit:{sha}",
                                                   "o": "CURRENT_REVISION"})[0]
    assert change["current_revision"] == sha
    revision = change["revisions"][sha]
    assert revision["_number"] == 1
    assert TIMESTAMP.match(revision["created"])
    fetch = revision["fetch"]["http"]
    number = change["_number"]
    assert fetch["ref"] == f"refs/changes/{number % 100:02d}/{number}/1"

    reader = make_user(server)
    clone = reader.clone(pushed.a, tmp_path / "reader", hook=False)
    reader.git("fetch", "-q", fetch["url"], fetch["ref"], cwd=clone)
    assert reader.git("rev-parse", "FETCH_HEAD", cwd=clone).stdout.strip() == sha


def test_second_patch_set_and_messages(server: Server, make_user, project_name: str,
                                       tmp_path: Path) -> None:
    server.create_project(project_name)
    erin = make_user(server, "erin")
    repo = erin.clone(project_name, tmp_path / "erin")
    first = erin.commit(repo, "x.txt", "one\n", "Patch set test")
    push_ok(erin, repo)
    (repo / "x.txt").write_text("two\n")
    erin.env["GIT_AUTHOR_DATE"] = "2024-01-02T03:04:05+02:00"
    erin.git("commit", "-qa", "--amend", "--no-edit", "--reset-author", cwd=repo)
    second = erin.git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    push_ok(erin, repo)

    client = rest(server, erin)
    change = client.get(f"/changes/{change_id_of(erin, repo)}",
                        params={"o": ["ALL_REVISIONS", "MESSAGES"]})
    assert change["current_revision"] == second
    assert {sha: r["_number"] for sha, r in change["revisions"].items()} == {
        first: 1, second: 2}
    texts = [m["message"] for m in change["messages"]]
    assert any("Uploaded patch set 1" in t for t in texts), texts
    assert any("Uploaded patch set 2" in t for t in texts), texts
    for message in change["messages"]:
        assert TIMESTAMP.match(message["date"]), message["date"]
        assert message["author"]["username"] == erin.username

    updated = datetime.strptime(change["updated"][:26], "%Y-%m-%d %H:%M:%S.%f")
    assert abs(updated - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=5)

    current_only = client.get(f"/changes/{change['_number']}",
                              params={"o": ["CURRENT_REVISION", "CURRENT_COMMIT"]})
    assert list(current_only["revisions"]) == [second]
    author = current_only["revisions"][second]["commit"]["author"]
    assert author["date"] == "2024-01-02 01:04:05.000000000"  # UTC, like Gerrit


def test_server_version(server: Server) -> None:
    version = rest(server).get("/config/server/version")
    assert isinstance(version, str) and version.startswith("3.")
    with server.admin_client() as c:
        assert gerrit_json(c.get("/a/config/server/version")) == version


def test_push_options_are_reflected(server: Server, make_user, project_name: str,
                                    tmp_path: Path) -> None:
    server.create_project(project_name)
    frank, grace = make_user(server, "frank"), make_user(server, "grace")
    repo = frank.clone(project_name, tmp_path / "frank")
    frank.commit(repo, "y.txt", "y\n", "With options")
    output = push_ok(frank, repo, "HEAD:refs/for/main%topic=t1,hashtag=h1,wip",
                     f"r={grace.username}", "m=Hello_world")
    assert "[WIP]" in output

    change = rest(server, frank).get(f"/changes/{change_id_of(frank, repo)}",
                                     params={"o": ["DETAILED_LABELS", "MESSAGES"]})
    assert change["topic"] == "t1"
    assert change["hashtags"] == ["h1"]
    assert change["work_in_progress"] is True
    reviewers = [r["username"] for r in change["reviewers"]["REVIEWER"]]
    assert reviewers == [grace.username]
    assert any("Hello world" in m["message"] for m in change["messages"])
    found = rest(server).get("/changes/", params={"q": "topic:t1 hashtag:h1 is:wip"})
    assert change["_number"] in [c["_number"] for c in found]


@pytest.mark.parametrize("reviewer", ["nobody-such", str(2**31)])
def test_unknown_reviewer_refuses_the_push(server: Server, make_user, project_name: str,
                                           tmp_path: Path, reviewer: str) -> None:
    server.create_project(project_name)
    ivan = make_user(server, "ivan")
    repo = ivan.clone(project_name, tmp_path / "ivan")
    ivan.commit(repo, "r.txt", "r\n", "Unknown reviewer")
    refused = ivan.push(repo, "HEAD:refs/for/main", f"r={reviewer}")
    assert refused.returncode != 0
    assert reviewer in refused.stderr and "not a registered account" in refused.stderr, (
        refused.stderr, last_error(server))
    assert rest(server).get("/changes/", params={"q": f"project:{project_name}"}) == []


def test_votes_on_push_respect_the_allowed_range(server: Server, make_user,
                                                 project_name: str, tmp_path: Path) -> None:
    server.create_project(project_name)
    heidi = make_user(server, "heidi")
    repo = heidi.clone(project_name, tmp_path / "heidi")
    heidi.commit(repo, "z.txt", "z\n", "Voted on push")
    push_ok(heidi, repo, "HEAD:refs/for/main", "l=Code-Review+1")
    change = rest(server, heidi).get(f"/changes/{change_id_of(heidi, repo)}",
                                     params={"o": "DETAILED_LABELS"})
    votes = change["labels"]["Code-Review"]["all"]
    assert [(v["username"], v["value"]) for v in votes] == [(heidi.username, 1)]
    assert change["permitted_labels"]["Code-Review"] == ["-1", " 0", "+1"]

    heidi.commit(repo, "z2.txt", "z2\n", "Too strong a vote")
    refused = heidi.push(repo, "HEAD:refs/for/main", "l=Code-Review+2")
    assert refused.returncode != 0
    assert "Code-Review" in refused.stderr
    assert "-1 to +1" in refused.stderr, refused.stderr
    found = rest(server).get("/changes/", params={"q": f"project:{project_name}"})
    assert [c["subject"] for c in found] == ["Voted on push"]


@pytest.mark.parametrize("query", ["status:open)", "(status:open", 'project:"unterminated',
                                   "status:", "frobnicate:1", "is:nonsense"])
def test_query_syntax_errors_are_400(server: Server, query: str) -> None:
    with server.client() as c:
        r = c.get("/changes/", params={"q": query})
    assert r.status_code == 400, (r.status_code, r.text, last_error(server))
    reason = r.text.strip()
    assert reason and "\n" not in reason
    with pytest.raises(requests.HTTPError) as failure:
        rest(server).get("/changes/", params={"q": query})
    assert failure.value.response.status_code == 400


# Numbers a client may send that do not fit the store's integer columns or int() itself.
ODD_NUMBERS = [str(2**31), "9" * 25, "\u00b2"]


@pytest.mark.parametrize("number", ODD_NUMBERS, ids=["2^31", "25-digits", "superscript-2"])
def test_odd_numbers_are_not_server_errors(server: Server, number: str) -> None:
    n = quote(number, safe="")
    lookups = [f"/changes/{n}", f"/changes/org%2Fx~{n}"]
    queries = [f"/changes/?q={n}", f"/changes/?q=change:{n}", f"/changes/?q=owner:{n}",
               f"/changes/?q=status:open&start={n}"]
    limit = f"/changes/?q=status:open&n={n}"  # a large limit is fine; a bad one is 400
    problems = []
    with server.client() as c:
        for path in [*lookups, *queries, limit]:
            r = c.get(path)
            if r.status_code == 500:
                problems.append(f"{path} -> 500: {last_error(server)}")
            elif path in lookups and r.status_code != 404:
                problems.append(f"{path} -> {r.status_code}, expected 404")
            elif path in queries and not (r.status_code == 400 or gerrit_json(r) == []):
                problems.append(f"{path} -> {r.status_code} {r.text[:80]!r}")
            elif path == limit and not (r.status_code == 400
                                        or isinstance(gerrit_json(r), list)):
                problems.append(f"{path} -> {r.status_code} {r.text[:80]!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", ["/a/accounts/{uid}", "/a/groups/{uid}", "/a/projects/{uid}"])
@pytest.mark.parametrize("body", ['{"name": ', "[1, 2]", "not json"])
def test_malformed_json_body_is_400(server: Server, path: str, body: str) -> None:
    with server.admin_client() as c:
        r = c.put(path.format(uid="j" + uuid.uuid4().hex[:8]), content=body,
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400, (r.status_code, r.text)
    reason = r.text.strip()
    assert reason and "\n" not in reason
