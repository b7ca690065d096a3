"""One revision of a change over REST, as review tools read and mark it: the revision and
its review, its patch and files, its description, the files a reviewer marked reviewed,
one comment (and an administrator removing it), comments ported from earlier patch sets,
reviewers and votes on the revision, blame and fix previews. Who may not see the change
gets 404 from every one of them. On SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_review_votes import Team, refused
from tests.support import Server, gerrit_json

TEXT = "".join(f"line {i}\n" for i in range(1, 11))


@pytest.fixture
def team(server: Server, make_user: Any, project_name: str, tmp_path: Path) -> Team:
    return Team.start(server, make_user, project_name, tmp_path)


def client(team: Team, who: Any = None) -> httpx.Client:
    if who is None:
        return team.server.client()
    return team.server.client(who.username, who.password)


def test_a_revision_reads_as_gerrit_serves_it(team: Team) -> None:
    n = team.upload("a.txt", TEXT, "Add a")
    first = team.change(n, "CURRENT_REVISION")["current_revision"]
    team.amend("a.txt", TEXT + "line 11\n")
    alice, bob = team.api(team.alice), team.api(team.bob)
    team.review(team.carol, n, {"Code-Review": 1})

    old = alice.get(f"/changes/{n}/revisions/1")
    assert old["_number"] == n and list(old["revisions"]) == [first]
    assert old["revisions"][first]["_number"] == 1
    assert old["current_revision"] != first
    by_sha = alice.get(f"/changes/{n}/revisions/{first[:10]}?o=ALL_COMMITS")
    assert by_sha["revisions"][first]["commit"]["subject"] == "Add a"

    review = bob.get(f"/changes/{n}/revisions/current/review")
    assert [v["username"] for v in review["labels"]["Code-Review"]["all"]] == [
        team.carol.username]
    assert review["owner"]["username"] == team.alice.username
    assert list(review["revisions"]) == [review["current_revision"]]

    assert alice.get(f"/changes/{n}/revisions/current/submit_type") == "MERGE_IF_NECESSARY"
    assert alice.get(f"/changes/{n}/revisions/current/mergelist") == []
    assert refused(lambda: alice.get(f"/changes/{n}/revisions/current/mergelist?parent=2"))[
        0] == 400

    mine = alice.get(f"/changes/{n}/revisions/current/actions")
    assert {"cherrypick", "rebase", "description"} <= set(mine)
    assert mine["description"]["method"] == "PUT"
    theirs = bob.get(f"/changes/{n}/revisions/1/actions")
    assert "cherrypick" in theirs and "description" not in theirs and "rebase" not in theirs
    with client(team) as anonymous:
        assert gerrit_json(anonymous.get(f"/changes/{n}/revisions/current/actions")) == {}
    assert refused(lambda: alice.get(f"/changes/{n}/revisions/9"))[0] == 404
    assert refused(lambda: alice.get(f"/changes/{n}/revisions/1?o=NO_SUCH"))[0] == 400


def test_patch_and_download_give_the_bytes(team: Team) -> None:
    n = team.upload("a.txt", TEXT, "Add a")
    team.upload("b.txt", "b\n", "Add b")
    base = f"/changes/{n}/revisions/current"
    with client(team, team.bob) as bob:
        answer = bob.get(f"/a{base}/patch")
        assert answer.status_code == 200
        assert answer.headers["x-fyi-content-type"] == "application/mbox"
        patch = base64.b64decode(answer.content).decode()
        assert patch.startswith("From ") and "Subject: [PATCH] Add a\n" in patch
        assert "Change-Id: I" in patch and "+++ b/a.txt\n@@ -0,0 +1,10 @@\n+line 1\n" in patch

        zipped = bob.get(f"/a{base}/patch?zip")
        assert zipped.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
            (name,) = archive.namelist()
            assert name.endswith(".diff") and archive.read(name).decode() == patch
        attachment = bob.get(f"/a{base}/patch?download")
        assert "attachment" in attachment.headers["content-disposition"]
        only = base64.b64decode(bob.get(f"/a{base}/patch?path=a.txt").content).decode()
        assert "a.txt" in only
        assert bob.get(f"/a{base}/patch?path=b.txt").status_code == 404

        raw = bob.get(f"/a{base}/files/a.txt/download")
        assert raw.status_code == 200 and raw.content == TEXT.encode()
        assert raw.headers["content-disposition"] == 'attachment; filename="a.txt"'
        assert raw.headers["x-content-type-options"] == "nosniff"
        assert bob.get(f"/a{base}/files/a.txt/download?parent=1").status_code == 404
        assert bob.get(f"/a{base}/files/nothing.txt/download").status_code == 404
        assert bob.get(f"/a{base}/files/a.txt/download?parent=3").status_code == 400


def test_the_owner_describes_a_patch_set(team: Team) -> None:
    n = team.upload("a.txt", TEXT, "Add a")
    path = f"/changes/{n}/revisions/current/description"
    alice, bob = team.api(team.alice), team.api(team.bob)
    assert alice.get(path) == ""
    assert alice.put(path, json={"description": "First try"}) == "First try"
    assert bob.get(path) == "First try"
    revision = bob.get(f"/changes/{n}/revisions/current")
    assert revision["revisions"][revision["current_revision"]]["description"] == "First try"
    messages = [m["message"] for m in alice.get(f"/changes/{n}/messages")]
    assert 'Patch Set 1: Description set to "First try"' in messages

    assert refused(lambda: bob.put(path, json={"description": "Mine now"}))[0] == 403
    assert refused(lambda: alice.put(path, json={"description": 5}))[0] == 400
    assert refused(lambda: alice.put(path, json={"description": "x" * 1001}))[0] == 400
    with client(team) as anonymous:
        assert anonymous.put(path, json={"description": "x"}).status_code == 401
    assert alice.get(path) == "First try"
    answer = alice.put(path, json={"description": ""}, return_response=True)[1]
    assert answer.status_code == 204 and alice.get(path) == ""


def test_each_reviewer_marks_files_reviewed_for_themselves(team: Team) -> None:
    n = team.upload("a.txt", TEXT, "Add a")
    base = f"/changes/{n}/revisions/current/files"
    carol, dave = team.api(team.carol), team.api(team.dave)
    assert carol.put(f"{base}/a.txt/reviewed", return_response=True)[1].status_code == 201
    assert carol.put(f"{base}/a.txt/reviewed", return_response=True)[1].status_code == 200
    carol.put(f"{base}/%2FCOMMIT_MSG/reviewed")
    assert carol.get(f"{base}/?reviewed") == ["/COMMIT_MSG", "a.txt"]
    assert dave.get(f"{base}/?reviewed") == []
    assert "a.txt" in carol.get(f"{base}/")  # the plain listing is unchanged

    assert refused(lambda: carol.put(f"{base}/nothing.txt/reviewed"))[0] == 404
    with client(team) as anonymous:
        assert anonymous.put(f"{base}/a.txt/reviewed").status_code == 401
        assert anonymous.get(f"{base}/?reviewed").status_code == 401
    team.amend("a.txt", TEXT + "more\n")
    assert carol.get(f"{base}/?reviewed") == []  # a new patch set is reviewed afresh
    assert carol.get(f"/changes/{n}/revisions/1/files/?reviewed") == ["/COMMIT_MSG", "a.txt"]
    answer = carol.delete(f"/changes/{n}/revisions/1/files/a.txt/reviewed",
                          return_response=True)[1]
    assert answer.status_code == 204
    assert carol.get(f"/changes/{n}/revisions/1/files/?reviewed") == ["/COMMIT_MSG"]


def test_an_administrator_removes_a_comment_and_its_text(team: Team) -> None:
    n = team.upload("a.txt", TEXT, "Add a")
    team.review(team.bob, n, message="See line 2.",
                comments={"a.txt": [{"line": 2, "message": "Rude words"}]})
    comment = team.api(team.alice).get(f"/changes/{n}/comments")["a.txt"][0]
    path = f"/changes/{n}/revisions/current/comments/{comment['id']}"
    alice = team.api(team.alice)
    got = alice.get(path)
    assert (got["id"], got["line"], got["message"]) == (comment["id"], 2, "Rude words")
    assert got["author"]["username"] == team.bob.username
    assert refused(lambda: alice.get(f"/changes/{n}/revisions/current/comments/nope"))[0] == 404
    draft = team.api(team.carol).put(f"/changes/{n}/revisions/current/drafts",
                                     json={"path": "a.txt", "line": 1, "message": "hm"})
    assert refused(lambda: alice.get(
        f"/changes/{n}/revisions/current/comments/{draft['id']}"))[0] == 404

    for who in (team.alice, team.bob):
        status, _ = refused(lambda w=who: team.api(w).post(f"{path}/delete",
                                                           json={"reason": "mine"}))
        assert status == 403
    assert alice.get(path)["message"] == "Rude words"
    assert refused(lambda: team.api().post(f"{path}/delete", json={"reason": 3}))[0] == 400
    removed = team.api().post(f"{path}/delete", json={"reason": "spam"})
    assert removed["id"] == comment["id"]
    assert removed["message"].startswith("Comment removed by: ")
    assert removed["message"].endswith("; Reason: spam")
    assert alice.get(f"/changes/{n}/comments")["a.txt"][0]["message"] == removed["message"]
    again = team.api().delete(path)
    assert again["message"].startswith("Comment removed by: ") and "Reason" not in (
        again["message"])


def test_unresolved_comments_and_own_drafts_are_ported_to_later_patch_sets(
        team: Team) -> None:
    n = team.upload("a.txt", TEXT, "Add a")
    team.review(team.bob, n, comments={"a.txt": [
        {"line": 5, "message": "Why five?", "unresolved": True},
        {"line": 7, "message": "Fine", "unresolved": False},
        {"line": 3, "message": "Odd three", "unresolved": True,
         "range": {"start_line": 3, "start_character": 0, "end_line": 4,
                   "end_character": 2}}]})
    carol = team.api(team.carol)
    carol.put(f"/changes/{n}/revisions/1/drafts", json={"path": "a.txt", "line": 9,
                                                         "message": "Draft on nine"})
    # Patch set 2 adds a line on top and rewrites line 3: line 5 moves down by one, the
    # range over the rewritten line can no longer hold and goes to the whole file.
    team.amend("a.txt", "line 0\n" + TEXT.replace("line 3\n", "line three\n"))

    ported = team.api(team.alice).get(f"/changes/{n}/revisions/2/ported_comments")
    placed = {c["message"]: c for c in ported["a.txt"]}
    assert set(placed) == {"Why five?", "Odd three"}
    assert placed["Why five?"]["line"] == 6 and placed["Why five?"]["patch_set"] == 1
    assert "line" not in placed["Odd three"] and "range" not in placed["Odd three"]
    assert team.api(team.alice).get(f"/changes/{n}/revisions/1/ported_comments") == {}

    drafts = carol.get(f"/changes/{n}/revisions/current/ported_drafts")
    assert [(d["message"], d["line"]) for d in drafts["a.txt"]] == [("Draft on nine", 10)]
    assert team.api(team.dave).get(f"/changes/{n}/revisions/current/ported_drafts") == {}
    with client(team) as anonymous:
        assert anonymous.get(f"/changes/{n}/revisions/2/ported_drafts").status_code == 401

    # A file the later patch set drops takes its comments to the patch set level.
    team.review(team.bob, n, comments={"a.txt": [{"line": 1, "message": "Where now?",
                                                   "unresolved": True}]})
    team.git("rm", "-q", "a.txt")
    team.amend("c.txt", "c\n")
    later = team.api(team.alice).get(f"/changes/{n}/revisions/3/ported_comments")
    assert "Where now?" in [c["message"] for c in later["/PATCHSET_LEVEL"]]


def test_reviewers_and_votes_of_a_revision(team: Team) -> None:
    n = team.upload("a.txt", TEXT, "Add a")
    team.review(team.carol, n, {"Code-Review": 2})
    team.review(team.bob, n, {"Code-Review": -1})
    alice = team.api(team.alice)
    reviewers = alice.get(f"/changes/{n}/revisions/current/reviewers/")
    assert {r["username"]: r["approvals"]["Code-Review"] for r in reviewers} == {
        team.carol.username: "+2", team.bob.username: "-1"}
    votes = f"/changes/{n}/revisions/current/reviewers/{team.carol.username}/votes/"
    assert alice.get(votes) == {"Code-Review": 2}
    one = alice.get(f"/changes/{n}/reviewers/{team.carol.username}")
    assert one[0]["username"] == team.carol.username and one[0]["approvals"] == {
        "Code-Review": "+2"}
    assert refused(lambda: alice.get(f"/changes/{n}/reviewers/{team.dave.username}"))[0] == 404
    assert refused(lambda: alice.get(f"/changes/{n}/reviewers/nobody-at-all"))[0] == 404

    bob_vote = f"/changes/{n}/revisions/current/reviewers/{team.bob.username}/votes/Code-Review"
    assert refused(lambda: team.api(team.dave).delete(bob_vote))[0] == 403
    alice.delete(bob_vote)
    assert alice.get(f"/changes/{n}/revisions/current/reviewers/{team.bob.username}/votes/"
                     ) == {}
    assert refused(lambda: alice.delete(bob_vote))[0] == 404

    team.amend("a.txt", TEXT + "more\n")
    old = f"/changes/{n}/revisions/1"
    assert refused(lambda: alice.get(f"{old}/reviewers/"))[0] == 405
    assert refused(lambda: alice.get(f"{old}/reviewers/{team.carol.username}/votes/"))[0] == 405
    status, reason = refused(lambda: alice.post(
        f"{old}/reviewers/{team.carol.username}/votes/Code-Review/delete", json={}))
    assert status == 405 and "current patch set" in reason


def test_blame_and_fix_previews(team: Team) -> None:
    n = team.upload("a.txt", TEXT, "Add a")
    team.amend("a.txt", TEXT.replace("line 4\n", "line four\n"))
    bob = team.api(team.bob)
    blame = bob.get(f"/changes/{n}/revisions/current/files/a.txt/blame")
    (entry,) = blame  # one commit wrote every line
    assert entry["commit_msg"] == "Add a" and entry["ranges"] == [{"start": 1, "end": 10}]
    assert entry["author"] and entry["time"] > 0 and len(entry["id"]) == 40
    assert refused(lambda: bob.get(  # the file is new: its parent has nothing to blame
        f"/changes/{n}/revisions/current/files/a.txt/blame?base=true"))[0] == 404
    assert refused(lambda: bob.get(
        f"/changes/{n}/revisions/current/files/missing.txt/blame"))[0] == 404

    fix = {"fix_replacement_infos": [{"path": "a.txt", "replacement": "LINE TWO", "range": {
        "start_line": 2, "start_character": 0, "end_line": 2, "end_character": 6}}]}
    preview = bob.post(f"/changes/{n}/revisions/current/fix:preview", json=fix)
    assert {"a": ["line 2"], "b": ["LINE TWO"]} in preview["a.txt"]["content"]
    assert bob.post(f"/changes/{n}/revisions/current/fix:preview",
                    json={"fix_replacement_infos": []}) == {}
    outside = {"fix_replacement_infos": [{"path": "a.txt", "replacement": "", "range": {
        "start_line": 99, "start_character": 0, "end_line": 99, "end_character": 1}}]}
    for body, status in [(outside, 400), ({"fix_replacement_infos": "x"}, 400),
                         ({"fix_replacement_infos": [{"path": "a.txt"}]}, 400),
                         ({"fix_replacement_infos": [{"path": "no.txt", "replacement": "",
                                                      "range": fix["fix_replacement_infos"][0][
                                                          "range"]}]}, 404)]:
        assert refused(lambda b=body: bob.post(
            f"/changes/{n}/revisions/current/fix:preview", json=b))[0] == status, body
    assert refused(lambda: bob.get(f"/changes/{n}/revisions/current/fixes/abc/preview"))[
        0] == 404
    assert refused(lambda: bob.post(f"/changes/{n}/revisions/current/fixes/abc/apply",
                                    json={}))[0] == 404


def test_a_private_change_is_not_found_on_any_revision_endpoint(team: Team) -> None:
    n = team.upload("a.txt", TEXT, "Add a")
    team.review(team.alice, n, {"Code-Review": 1}, comments={"a.txt": [
        {"line": 1, "message": "Note to self", "unresolved": True}]})
    comment = team.api(team.alice).get(f"/changes/{n}/comments")["a.txt"][0]["id"]
    team.api(team.alice).post(f"/changes/{n}/private", json={})
    r = f"/changes/{n}/revisions/current"
    reads = [r, f"{r}/review", f"{r}/mergelist", f"{r}/actions", f"{r}/submit_type",
             f"{r}/patch", f"{r}/description", f"{r}/files/a.txt/download",
             f"{r}/files/?reviewed", f"{r}/comments/{comment}", f"{r}/ported_comments",
             f"{r}/ported_drafts", f"{r}/reviewers/", f"{r}/files/a.txt/blame",
             f"{r}/reviewers/{team.alice.username}/votes/", f"{r}/fixes/x/preview",
             f"/changes/{n}/reviewers/{team.alice.username}"]
    writes: list[tuple[str, str, Any]] = [
        ("PUT", f"{r}/description", {"description": "x"}),
        ("PUT", f"{r}/files/a.txt/reviewed", None),
        ("DELETE", f"{r}/files/a.txt/reviewed", None),
        ("POST", f"{r}/comments/{comment}/delete", {}),
        ("DELETE", f"{r}/reviewers/{team.alice.username}/votes/Code-Review", None),
        ("POST", f"{r}/fix:preview", {"fix_replacement_infos": []})
    ]
    with client(team, team.bob) as stranger, client(team) as anonymous:
        for path in reads:
            assert stranger.get("/a" + path).status_code == 404, path
            assert anonymous.get(path).status_code == 404, path
        for method, path, body in writes:
            answer = (stranger.request(method, "/a" + path) if body is None
                      else stranger.request(method, "/a" + path, json=body))
            assert answer.status_code == 404, (method, path)
    # The owner still reads it.
    assert team.api(team.alice).get(f"{r}/comments/{comment}")["message"] == "Note to self"
    assert team.api(team.alice).get(f"{r}/submit_type") == "MERGE_IF_NECESSARY"
