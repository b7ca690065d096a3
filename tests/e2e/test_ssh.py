"""The SSH port with real clients: OpenSSH running Gerrit's commands, git cloning and
pushing over ssh://, and an asyncssh client following stream-events while a change is
uploaded, reviewed and merged. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import socket
import subprocess
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncssh
import httpx
import pytest

from tests.e2e.gitreview_support import git_review
from tests.e2e.ssh_support import SSH_OPTIONS, SshUser
from tests.support import GitUser, Server, gerrit_json, run_async, start_server


def one_approval_needed(server: Server, project: str) -> None:
    with server.admin_client() as c:
        r = c.put(f"/a/projects/{quote(project, safe='')}/config",
                  json={"submit_type": "MERGE_IF_NECESSARY", "required_approvals": 1})
        assert r.status_code == 200, r.text


def admin_ssh(server: Server, tmp_path: Path) -> SshUser:
    admin = GitUser(tmp_path / "admin-home", server, server.admin, server.admin_password)
    return SshUser(server, admin)


def upload_over_ssh(who: SshUser, project: str, dest: Path, subject: str,
                    *options: str) -> int:
    repo = who.clone(project, dest)
    who.user.commit(repo, f"{uuid.uuid4().hex[:6]}.txt", "content\n", subject)
    pushed = who.user.push(repo, "HEAD:refs/for/main", *options)
    assert pushed.returncode == 0, pushed.stderr
    found = re.search(r"/\+/(\d+) ", pushed.stderr)
    assert found, pushed.stderr
    return int(found.group(1))


def test_clone_and_push_for_review_over_ssh(server: Server, make_user: Any,
                                            project_name: str, tmp_path: Path) -> None:
    server.create_project(project_name)
    alice = SshUser(server, make_user(server, "alice"))
    number = upload_over_ssh(alice, project_name, tmp_path / "work", "Add a file over ssh",
                             "topic=ssh-work")

    with server.client() as c:
        change = gerrit_json(c.get(f"/changes/{number}", params={"o": "CURRENT_REVISION"}))
    assert change["subject"] == "Add a file over ssh"
    assert change["topic"] == "ssh-work"
    assert change["owner"]["_account_id"] == gerrit_json(
        server.client(alice.username, alice.user.password).get("/a/accounts/self"))[
            "_account_id"]
    # The patch set is fetchable over ssh as over HTTP, from where fetch.ssh says.
    with server.client(alice.username, alice.user.password) as c:
        mine = gerrit_json(c.get(f"/a/changes/{number}", params={"o": "CURRENT_REVISION"}))
    fetch = mine["revisions"][mine["current_revision"]]["fetch"]
    ref = f"refs/changes/{number % 100:02d}/{number}/1"
    assert fetch["ssh"]["url"] == alice.url(project_name) and fetch["ssh"]["ref"] == ref
    assert list(fetch)[0] != "ssh"  # clients that take the first scheme keep using HTTP
    repo = tmp_path / "work"
    alice.user.git("fetch", "-q", fetch["ssh"]["url"], ref, cwd=repo)
    assert alice.user.git("rev-parse", "FETCH_HEAD", cwd=repo).stdout.strip() == change[
        "current_revision"]


def test_query_answers_in_gerrits_json(server: Server, make_user: Any, project_name: str,
                                       tmp_path: Path) -> None:
    server.create_project(project_name)
    alice = SshUser(server, make_user(server, "alice"))
    first = upload_over_ssh(alice, project_name, tmp_path / "a", "First of two")
    repo = tmp_path / "a"
    alice.user.commit(repo, "second.txt", "two\n", "Second of two")
    assert alice.user.push(repo).returncode == 0
    bob = SshUser(server, make_user(server, "bob"))
    done = bob.ssh("gerrit", "review", f"{first},1", "--code-review", "+1", "--message",
                   "'Looks right'")
    assert done.returncode == 0, done.stderr

    rows = bob.json_lines("gerrit", "query", "--format=JSON", "--current-patch-set",
                          "--all-approvals", "--files", "--comments", "--dependencies",
                          f"project:{project_name}", "status:open")
    stats = rows[-1]
    assert stats["type"] == "stats" and stats["rowCount"] == 2
    assert stats["moreChanges"] is False
    by_subject = {r["subject"]: r for r in rows[:-1]}
    one, two = by_subject["First of two"], by_subject["Second of two"]
    assert one["project"] == project_name and one["branch"] == "main"
    assert one["number"] == first and one["open"] is True and one["status"] == "NEW"
    assert one["owner"]["username"] == alice.username
    assert one["url"].endswith(f"/c/{project_name}/+/{first}")
    assert re.fullmatch(r"I[0-9a-f]{40}", one["id"])
    assert isinstance(one["createdOn"], int) and isinstance(one["lastUpdated"], int)
    current = one["currentPatchSet"]
    assert current["number"] == 1 and current["ref"].endswith(f"/{first}/1")
    vote = next(a for a in current["approvals"] if a["type"] == "Code-Review")
    assert vote["value"] == "1" and vote["by"]["username"] == bob.username
    assert [f["file"] for f in current["files"]][0] == "/COMMIT_MSG"
    assert any(f["type"] == "ADDED" and f["insertions"] == 1 for f in current["files"][1:])
    assert any("Looks right" in c["message"] for c in one["comments"])
    assert [d["number"] for d in one["neededBy"]] == [two["number"]]
    assert [d["number"] for d in two["dependsOn"]] == [first]
    assert "commitMessage" not in one

    text = bob.ssh("gerrit", "query", f"change:{first}")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith(f"change {one['id']}\n")
    assert "  subject: First of two\n" in text.stdout and "rowCount: 1" in text.stdout

    bad = bob.ssh("gerrit", "query", "--format=JSON", "status:bogus")
    assert bad.returncode == 1
    error = json.loads(bad.stdout.splitlines()[0])
    assert error["type"] == "error" and "status:bogus" in error["message"]


def test_review_votes_submits_abandons_and_restores(server: Server, make_user: Any,
                                                    project_name: str,
                                                    tmp_path: Path) -> None:
    server.create_project(project_name)
    one_approval_needed(server, project_name)
    alice = SshUser(server, make_user(server, "alice"))
    admin = admin_ssh(server, tmp_path)
    first = upload_over_ssh(alice, project_name, tmp_path / "a", "To be merged")

    done = admin.ssh("gerrit", "review", f"{first},1", "--code-review", "+2", "--label",
                     "Workflow=+1", "--submit")
    assert done.returncode == 0, done.stderr
    with server.client() as c:
        assert gerrit_json(c.get(f"/changes/{first}"))["status"] == "MERGED"

    repo = tmp_path / "a"
    alice.user.git("reset", "-q", "--hard", "origin/main", cwd=repo)
    alice.user.commit(repo, "later.txt", "later\n", "To be abandoned")
    assert alice.user.push(repo).returncode == 0
    second = first + 1
    assert alice.ssh("gerrit", "review", f"{second},1", "--abandon", "--message",
                     "'not now'").returncode == 0
    with server.client() as c:
        assert gerrit_json(c.get(f"/changes/{second}"))["status"] == "ABANDONED"
    assert alice.ssh("gerrit", "review", f"{second},1", "--restore").returncode == 0
    with server.client() as c:
        assert gerrit_json(c.get(f"/changes/{second}"))["status"] == "NEW"

    # The second change was made on the branch as it was before the first merged.
    done = alice.ssh("gerrit", "review", f"{second},1", "--rebase")
    assert done.returncode == 0, done.stderr
    with server.client() as c:
        tip = gerrit_json(c.get(f"/projects/{quote(project_name, safe='')}/branches/main"))[
            "revision"]
        rebased = gerrit_json(c.get(f"/changes/{second}",
                                    params={"o": ["CURRENT_REVISION", "CURRENT_COMMIT"]}))
    revision = rebased["revisions"][rebased["current_revision"]]
    assert revision["_number"] == 2
    assert [p["commit"] for p in revision["commit"]["parents"]] == [tip]


@pytest.mark.parametrize(("args", "said"), [
    (["1,1", "--code-review", "two"], "'two' is not a vote"),
    (["1,x", "--code-review", "+1"], "'1,x' is not CHANGE,PATCHSET"),
    (["1,1", "--label", "Code-Review"], "must be LABEL=VALUE"),
    (["1,1", "--abandon", "--restore"], "cannot be combined"),
    (["1,1"], "nothing to do"),
    (["--bogus", "1,1"], "unrecognized arguments: --bogus"),
])
def test_bad_review_arguments_exit_1_with_a_sentence(server: Server, make_user: Any,
                                                     args: list[str], said: str) -> None:
    bob = SshUser(server, make_user(server, "bob"))
    done = bob.ssh("gerrit", "review", *args)
    assert done.returncode == 1
    assert done.stderr.startswith("fatal: ") and said in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_a_vote_outside_the_range_or_on_a_missing_change_is_refused(
        server: Server, make_user: Any, project_name: str, tmp_path: Path) -> None:
    server.create_project(project_name)
    alice = SshUser(server, make_user(server, "alice"))
    number = upload_over_ssh(alice, project_name, tmp_path / "a", "Needs review")
    bob = SshUser(server, make_user(server, "bob"))
    outside = bob.ssh("gerrit", "review", f"{number},1", "--code-review", "+2")
    assert outside.returncode == 1
    assert "Code-Review" in outside.stderr and "fatal: one or more reviews failed" in (
        outside.stderr)
    missing = bob.ssh("gerrit", "review", "999999,1", "--code-review", "+1")
    assert missing.returncode == 1 and "change 999999 not found" in missing.stderr


def test_unknown_commands_and_keys_are_refused(server: Server, make_user: Any,
                                               tmp_path: Path) -> None:
    bob = SshUser(server, make_user(server, "bob"))
    for command, said in ((["gerrit", "bogus"], "fatal: gerrit: bogus: not found"),
                          (["rm", "-rf", "/"], "fatal: rm: not found"),
                          (["gerrit", "query", "'unclosed"], "fatal: cannot read the command")):
        done = bob.ssh(*command)
        assert done.returncode == 1 and done.stderr.startswith(said), done.stderr

    version = bob.ssh("gerrit", "version")
    assert version.returncode == 0 and re.fullmatch(r"gerrit version 3\.\d+\.\d+\n",
                                                    version.stdout)
    # A key nobody added, and a known key offered for another account, sign nobody in.
    stranger = SshUser(server, make_user(server, "stranger"), register=False)
    refused = stranger.ssh("gerrit", "version")
    assert refused.returncode == 255 and "Permission denied (publickey)" in refused.stderr
    carol = make_user(server, "carol")
    impostor = bob.ssh("gerrit", "version", as_name=carol.username)
    assert impostor.returncode == 255 and "Permission denied" in impostor.stderr
    # Deleting the key over REST ends signing in with it.
    with server.client(bob.username, bob.user.password) as c:
        keys = gerrit_json(c.get("/a/accounts/self/sshkeys"))
        assert c.delete(f"/a/accounts/self/sshkeys/{keys[0]['seq']}").status_code == 204
    assert bob.ssh("gerrit", "version").returncode == 255


def test_hidden_projects_stay_hidden_over_ssh(server: Server, make_user: Any,
                                              project_name: str, tmp_path: Path) -> None:
    server.create_project(project_name)
    alice = SshUser(server, make_user(server, "alice"))
    bob_user = make_user(server, "bob")
    outsiders = f"outsiders-{uuid.uuid4().hex[:6]}"
    with server.admin_client() as c:
        assert c.put(f"/a/groups/{outsiders}", json={"members": [bob_user.username]}
                     ).status_code == 201
        block = {"add": {"refs/*": {"permissions": {"read": {
            "rules": {outsiders: {"action": "BLOCK"}}}}}}}
        r = c.post(f"/a/projects/{quote(project_name, safe='')}/access", json=block)
        assert r.status_code == 200, r.text
    bob = SshUser(server, bob_user)
    number = upload_over_ssh(alice, project_name, tmp_path / "a", "Hidden work")

    cloned = bob.user.git("clone", "-q", bob.url(project_name), str(tmp_path / "b"),
                          check=False)
    assert cloned.returncode != 0
    assert f"project '{project_name}' not found" in cloned.stderr
    assert project_name not in bob.ssh("gerrit", "ls-projects").stdout
    assert project_name in alice.ssh("gerrit", "ls-projects").stdout
    rows = bob.json_lines("gerrit", "query", "--format=JSON", f"change:{number}")
    assert rows == [{"type": "stats", "rowCount": 0, "runTimeMilliseconds":
                     rows[0]["runTimeMilliseconds"], "moreChanges": False}]
    pushed = bob.user.git("push", bob.url(project_name), "HEAD:refs/for/main", check=False,
                          cwd=tmp_path / "a")
    assert pushed.returncode != 0 and "not found" in pushed.stderr


# --- stream-events ------------------------------------------------------------------------


async def _follow(server: Server, key: Path, username: str, lines: list[dict[str, Any]],
                  ready: asyncio.Event, stop: asyncio.Event) -> None:
    async with asyncssh.connect("127.0.0.1", server.ssh_port, username=username,
                                client_keys=[str(key)], known_hosts=None) as conn:
        process = await conn.create_process("gerrit stream-events")
        ready.set()
        while not stop.is_set():
            try:
                line = await asyncio.wait_for(process.stdout.readline(), 0.5)
            except TimeoutError:
                continue
            if not line:
                break
            lines.append(json.loads(line))
        process.close()


def _watch(server: Server, who: SshUser, action: Any, until: Any) -> list[dict[str, Any]]:
    """Follow stream-events as ``who`` while ``action`` runs, until ``until(lines)`` holds
    (or 30 seconds pass); returns the events seen."""
    lines: list[dict[str, Any]] = []

    async def main() -> None:
        ready, stop = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(_follow(server, who.key, who.username, lines, ready, stop))
        await asyncio.wait_for(ready.wait(), 30)
        await asyncio.sleep(0.3)  # the stream starts at the newest event
        await asyncio.to_thread(action)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not until(lines) and loop.time() < deadline:
            await asyncio.sleep(0.1)
        stop.set()
        await task

    run_async(main())
    return lines


def test_stream_events_follow_a_change_from_upload_to_merge(
        server: Server, make_user: Any, project_name: str, tmp_path: Path) -> None:
    server.create_project(project_name)
    one_approval_needed(server, project_name)
    alice = SshUser(server, make_user(server, "alice"))
    admin = admin_ssh(server, tmp_path)
    watcher = SshUser(server, make_user(server, "zuul"))
    numbers: list[int] = []

    def story() -> None:
        numbers.append(upload_over_ssh(alice, project_name, tmp_path / "a", "Streamed change"))
        done = admin.ssh("gerrit", "review", f"{numbers[0]},1", "--code-review", "+2",
                         "--label", "Workflow=+1", "--message", "'ship it'", "--submit")
        assert done.returncode == 0, done.stderr

    lines = _watch(server, watcher, story,
                   lambda seen: any(e["type"] == "change-merged" for e in seen))
    mine = [e for e in lines if e.get("project") == project_name
            or e.get("refUpdate", {}).get("project") == project_name]
    types = [e["type"] for e in mine]
    assert types.index("patchset-created") < types.index("comment-added") < types.index(
        "change-merged"), types
    assert "ref-updated" in types
    created = mine[types.index("patchset-created")]
    assert created["change"]["number"] == numbers[0]
    assert created["uploader"]["username"] == alice.username
    assert created["patchSet"]["number"] == 1
    comment = mine[types.index("comment-added")]
    assert {"type": "Code-Review", "value": "2"}.items() <= next(
        a for a in comment["approvals"] if a["type"] == "Code-Review").items()
    assert "ship it" in comment["comment"]
    merged = mine[types.index("change-merged")]
    assert merged["submitter"]["username"] == server.admin


def test_stream_events_leave_out_what_the_listener_may_not_read(
        server: Server, make_user: Any, project_name: str, tmp_path: Path) -> None:
    hidden, public = project_name, project_name + "-public"
    server.create_project(hidden)
    server.create_project(public)
    bob_user = make_user(server, "bob")
    outsiders = f"outsiders-{uuid.uuid4().hex[:6]}"
    with server.admin_client() as c:
        assert c.put(f"/a/groups/{outsiders}", json={"members": [bob_user.username]}
                     ).status_code == 201
        block = {"add": {"refs/*": {"permissions": {"read": {
            "rules": {outsiders: {"action": "BLOCK"}}}}}}}
        assert c.post(f"/a/projects/{quote(hidden, safe='')}/access",
                      json=block).status_code == 200
    alice = SshUser(server, make_user(server, "alice"))
    bob = SshUser(server, bob_user)

    def uploads() -> None:
        upload_over_ssh(alice, hidden, tmp_path / "h", "Hidden upload")
        upload_over_ssh(alice, public, tmp_path / "p", "Public upload")
        upload_over_ssh(alice, public, tmp_path / "q", "Private upload", "private")

    lines = _watch(server, bob, uploads, lambda seen: any(
        e.get("change", {}).get("subject") == "Public upload" for e in seen))
    subjects = [e["change"]["subject"] for e in lines if "change" in e]
    assert "Public upload" in subjects
    assert "Hidden upload" not in subjects and "Private upload" not in subjects
    assert all(e.get("project") != hidden for e in lines)


def test_the_host_key_is_the_sites_own_and_private(server: Server, make_user: Any,
                                                   tmp_path: Path) -> None:
    key = server.site / "secrets" / "ssh_host_ed25519_key"
    assert key.stat().st_mode & 0o777 == 0o600
    algorithm, encoded = key.with_suffix(".pub").read_text().split()[:2]
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{server.ssh_port} {algorithm} {encoded}\n")
    bob = SshUser(server, make_user(server, "bob"))
    checked = subprocess.run(
        ["ssh", "-p", str(server.ssh_port), "-i", str(bob.key), "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known}",
         "-o", "IdentitiesOnly=yes", f"{bob.username}@127.0.0.1", "gerrit", "version"],
        capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr


def test_git_review_over_ssh_fetches_the_hook_and_uploads(server: Server, make_user: Any,
                                                         project_name: str,
                                                         tmp_path: Path) -> None:
    server.create_project(project_name)
    alice = SshUser(server, make_user(server, "alice"))
    repo = tmp_path / "work"
    alice.user.git("clone", "-q", alice.url(project_name), str(repo))
    (repo / ".gitreview").write_text(
        f"[gerrit]\nhost=127.0.0.1\nport={server.ssh_port}\nproject={project_name}\n"
        "defaultbranch=main\n")
    with open(repo / ".git" / "info" / "exclude", "a") as exclude:
        exclude.write(".gitreview\n")
    alice.user.git("config", "gitreview.username", alice.username, cwd=repo)
    git_review(alice.user, repo, "-s", "--remote-hook")
    hook = repo / ".git" / "hooks" / "commit-msg"
    assert hook.read_bytes() == httpx.get(server.url + "tools/hooks/commit-msg").content
    alice.user.commit(repo, "review.txt", "over ssh\n", "Uploaded by git-review over ssh")
    git_review(alice.user, repo)
    rows = alice.json_lines("gerrit", "query", "--format=JSON", f"project:{project_name}")
    assert [r["subject"] for r in rows[:-1]] == ["Uploaded by git-review over ssh"]
    assert rows[0]["id"] in alice.user.git("log", "-1", "--format=%B", cwd=repo).stdout


def test_scp_copies_the_hook_and_nothing_else(server: Server, make_user: Any,
                                              tmp_path: Path) -> None:
    bob = SshUser(server, make_user(server, "bob"))
    scp = ["scp", "-O", "-P", str(server.ssh_port), "-i", str(bob.key), *SSH_OPTIONS]
    copied = subprocess.run([*scp, f"{bob.username}@127.0.0.1:hooks/commit-msg",
                             str(tmp_path / "hook")], capture_output=True, text=True,
                            timeout=60, env=bob.user.env)
    assert copied.returncode == 0, copied.stderr
    assert (tmp_path / "hook").read_bytes() == httpx.get(
        server.url + "tools/hooks/commit-msg").content
    refused = subprocess.run([*scp, f"{bob.username}@127.0.0.1:/etc/passwd",
                              str(tmp_path / "passwd")], capture_output=True, text=True,
                             timeout=60, env=bob.user.env)
    assert refused.returncode != 0 and "only the commit-msg hook" in refused.stderr
    assert not (tmp_path / "passwd").exists()


def test_query_submit_records_and_paging(server: Server, make_user: Any, project_name: str,
                                         tmp_path: Path) -> None:
    server.create_project(project_name)
    alice = SshUser(server, make_user(server, "alice"))
    upload_over_ssh(alice, project_name, tmp_path / "a", "One")
    repo = tmp_path / "a"
    for subject in ("Two", "Three"):
        alice.user.git("reset", "-q", "--hard", "origin/main", cwd=repo)
        alice.user.commit(repo, f"{subject}.txt", "x\n", subject)
        assert alice.user.push(repo).returncode == 0
    rows = alice.json_lines("gerrit", "query", "--format=JSON", "--submit-records",
                            f"project:{project_name}", "limit:2")
    assert rows[-1]["rowCount"] == 2 and rows[-1]["moreChanges"] is True
    record = rows[0]["submitRecords"][0]
    assert record["status"] == "NOT_READY"
    assert {"label": "Code-Review", "status": "NEED"} in record["labels"]
    rest = alice.json_lines("gerrit", "query", "--format=JSON", "-S", "2",
                            f"project:{project_name}", "limit:2")
    assert rest[-1]["rowCount"] == 1 and rest[-1]["moreChanges"] is False
    subjects = {r["subject"] for r in rows[:-1] + rest[:-1]}
    assert subjects == {"One", "Two", "Three"}


def test_projects_members_and_reviewers_commands(server: Server, make_user: Any,
                                                 project_name: str, tmp_path: Path) -> None:
    admin = admin_ssh(server, tmp_path)
    alice = SshUser(server, make_user(server, "alice"))
    bob = make_user(server, "bob")

    created = admin.ssh("gerrit", "create-project", project_name, "--description",
                        "'Made over ssh'", "--empty-commit")
    assert created.returncode == 0, created.stderr
    refused = alice.ssh("gerrit", "create-project", project_name + "-mine")
    assert refused.returncode == 1 and "Administrators" in refused.stderr
    again = admin.ssh("gerrit", "create-project", project_name)
    assert again.returncode == 1 and "already exists" in again.stderr

    listed = alice.ssh("gerrit", "ls-projects", "-d", "-p", project_name)
    assert listed.stdout == f"{project_name} - Made over ssh\n"
    as_json = alice.json_lines("gerrit", "ls-projects", "--format", "json", "-p", project_name)
    assert as_json == [{project_name: {"id": quote(project_name, safe=""),
                                       "parent": "All-Projects", "state": "ACTIVE"}}]
    with server.client() as c:
        tip = gerrit_json(c.get(f"/projects/{quote(project_name, safe='')}/branches/main"))[
            "revision"]
    branches = alice.ssh("gerrit", "ls-projects", "-b", "main", "-p", project_name)
    assert branches.stdout == f"{tip} {project_name}\n"

    members = alice.ssh("gerrit", "ls-members", f"{project_name}-core")
    assert members.returncode == 0, members.stderr
    header, *rows = members.stdout.splitlines()
    assert header == "id\tusername\tfull name\temail"
    assert [r.split("\t")[1] for r in rows] == [server.admin]
    missing = alice.ssh("gerrit", "ls-members", "no-such-group")
    assert missing.returncode == 1 and "'no-such-group' not found" in missing.stderr

    number = upload_over_ssh(alice, project_name, tmp_path / "a", "Wants reviewers")
    added = alice.ssh("gerrit", "set-reviewers", "--add", bob.username, str(number))
    assert added.returncode == 0, added.stderr
    with server.client() as c:
        reviewers = gerrit_json(c.get(f"/changes/{number}/reviewers"))
    assert bob.username in [r["username"] for r in reviewers]
    unknown = alice.ssh("gerrit", "set-reviewers", "--add", "nobody-here", str(number))
    assert unknown.returncode == 1 and "'nobody-here' is not a registered account" in (
        unknown.stderr)


def test_a_session_without_a_command_greets_and_ends(server: Server, make_user: Any) -> None:
    bob = SshUser(server, make_user(server, "bob"))
    done = subprocess.run(
        ["ssh", "-T", "-p", str(server.ssh_port), "-i", str(bob.key), *SSH_OPTIONS,
         f"{bob.username}@127.0.0.1"], capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert f"Hi {bob.username}" in done.stderr
    assert f"git clone ssh://{bob.username}@127.0.0.1:{server.ssh_port}/PROJECT" in (
        done.stderr)


def test_ssh_info_names_the_port(server: Server) -> None:
    with server.client() as c:
        r = c.get("/ssh_info")
    assert r.status_code == 200 and r.text == f"127.0.0.1 {server.ssh_port}"


def test_the_port_can_be_turned_off_and_a_taken_port_keeps_http_up(
        tmp_path: Path) -> None:
    off = start_server(tmp_path / "off", extra_env={"KEEPGREEN_SSH_LISTEN": "off"})
    try:
        with off.client() as c:
            assert c.get("/ssh_info").text == "NOT_AVAILABLE"
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", off.ssh_port), timeout=2).close()
    finally:
        off.stop()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = start_server(tmp_path / "busy",
                            extra_env={"KEEPGREEN_SSH_LISTEN": f"127.0.0.1:{port}"})
        try:
            with busy.client() as c:
                assert c.get("/config/server/version").status_code == 200
            assert f"the SSH port cannot listen on 127.0.0.1:{port}" in busy.log()
            assert "set ssh_listen to another HOST:PORT, or to off" in busy.log()
        finally:
            busy.stop()


def test_zuuls_ssh_query_and_report_commands_work_as_zuul_sends_them(
        server: Server, make_user: Any, project_name: str, tmp_path: Path) -> None:
    """The command lines of Zuul's Gerrit driver, as it builds them (shlex-quoted message,
    --label NAME=VALUE without a sign, all its query flags)."""
    server.create_project(project_name)
    alice = SshUser(server, make_user(server, "alice"))
    ci = admin_ssh(server, tmp_path)
    number = upload_over_ssh(alice, project_name, tmp_path / "a", "Checked by CI")
    query = ("gerrit query --format json --all-approvals --comments --commit-message "
             "--current-patch-set --dependencies --files --patch-sets --submit-records "
             f"change:{number}")
    first = json.loads(ci.ssh(query).stdout.split("\n")[0])
    assert first["number"] == number and first["currentPatchSet"]["number"] == 1
    assert first["commitMessage"].startswith("Checked by CI\n")
    assert first["patchSets"][0]["ref"] == first["currentPatchSet"]["ref"]
    assert first["submitRecords"][0]["status"] == "NOT_READY"

    message = shlex.quote("Build succeeded (check pipeline).\n\n- unit SUCCESS in 3s")
    done = ci.ssh(f"gerrit review --project {project_name} --message {message} "
                  f"--label Verified=1 {number},1")
    assert done.returncode == 0, done.stderr
    again = json.loads(ci.ssh(query).stdout.split("\n")[0])
    verified = [a for a in again["currentPatchSet"]["approvals"] if a["type"] == "Verified"]
    assert [a["value"] for a in verified] == ["1"]
    assert any("- unit SUCCESS in 3s" in c["message"] for c in again["comments"])


def test_stream_events_announce_a_new_project_and_a_deleted_change(
        server: Server, make_user: Any, project_name: str, tmp_path: Path) -> None:
    watcher = SshUser(server, make_user(server, "zuul"))
    alice = SshUser(server, make_user(server, "alice"))
    numbers: list[int] = []

    def create() -> None:
        server.create_project(project_name)
        numbers.append(upload_over_ssh(alice, project_name, tmp_path / "p", "Public one"))
        numbers.append(upload_over_ssh(alice, project_name, tmp_path / "q", "Private one",
                                       "private"))
        with server.admin_client() as c:
            for number in numbers:
                assert c.delete(f"/a/changes/{number}").status_code == 204
        upload_over_ssh(alice, project_name, tmp_path / "r", "Marker")  # comes after both

    lines = _watch(server, watcher, create, lambda seen: any(
        e.get("change", {}).get("subject") == "Marker" for e in seen))
    deleted = [e["change"]["number"] for e in lines if e["type"] == "change-deleted"]
    assert deleted == [numbers[0]]  # the private change's deletion stays private
    created = [e for e in lines if e["type"] == "project-created"]
    assert [(e["projectName"], e["projectHead"]) for e in created] == [
        (project_name, "refs/heads/main")]
    assert isinstance(created[0]["eventCreatedOn"], int)
