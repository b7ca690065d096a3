"""Pipelines from the site's ``config`` project, end to end on the real server and real nodes.

The seeded layout (OpenDev's check, gate, post, promote, periodic and a base job whose pre-run
places the sources on each node) runs a project's jobs; a ``recheck`` comment re-runs check;
the gate votes Verified 0 when it starts; a post job runs once the change merged. A change to
``config`` adding an ``experimental`` pipeline is itself checked, gated and merged, and then
the new pipeline runs; a broken pipeline definition is reported as a configuration error
naming file and line. A timer pipeline runs the tip of a branch, and a bad state of
``config`` pushed past review is not loaded while the running layout carries on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.pipeline_support import (
    CI,
    approve,
    change_info,
    ci_messages,
    ci_verified,
    make_core,
    new_change,
    only_change,
    pipeline_server,
    push_change,
    status,
    wait_checked,
    wait_for,
)
from tests.support import GitUser, Server, gerrit_json

NODESET = """\
    nodeset:
      nodes:
        - name: node
          label: local
"""

# The check job proves the executor placed the sources: the file of the commit under test
# is on the node under zuul.project.src_dir (the marker names the project, so no other tree
# has it); and that it collected the logs: what the job leaves in ~/zuul-output/logs is in
# the build's logs.
SOURCES_PLAYBOOK = """\
- hosts: all
  tasks:
    - name: Read a file of the commit under test on the node
      command: grep -qx "marker of {{ zuul.project.name }}" marker.txt
      args:
        chdir: "{{ ansible_user_dir }}/{{ zuul.project.src_dir }}"
    - name: Leave a log file for the base job to collect
      command: cp marker.txt {{ ansible_user_dir }}/zuul-output/logs/marker-copy.txt
      args:
        chdir: "{{ ansible_user_dir }}/{{ zuul.project.src_dir }}"
"""
SLOW_PLAYBOOK = """\
- hosts: all
  tasks:
    - name: Take long enough for the start vote to be seen
      command: sleep 8
"""
TRUE_PLAYBOOK = """\
- hosts: all
  tasks:
    - name: Succeed
      command: "true"
"""

APP_CONFIG = f"""\
- job:
    name: sources
    run: playbooks/sources.yaml
{NODESET}
- job:
    name: slow
    run: playbooks/slow.yaml
{NODESET}
- job:
    name: publish
    run: playbooks/true.yaml
{NODESET}
- project:
    check:
      jobs: [sources]
    gate:
      jobs: [slow]
    post:
      jobs: [publish]
    promote:
      jobs: [publish]
"""

EXPERIMENTAL = r"""- pipeline:
    name: experimental
    description: On-demand jobs, run by leaving a "check experimental" comment.
    manager: independent
    trigger:
      gerrit:
        - event: comment-added
          comment: (?i)^(Patch Set [0-9]+:)?( [\w\\+-]*)*(\n\n)?\s*check experimental\s*$
    enqueue:
      gerrit: {}
    success:
      gerrit: {}
    failure:
      gerrit: {}
"""

BROKEN = """\
# A typo in the event name.
- pipeline:
    name: nightly
    manager: independent
    trigger:
      gerrit:
        - event: patchset-uploaded
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, "config")


def comment(server: Server, user: GitUser, number: int, message: str) -> None:
    with server.client(user.username, user.password) as c:
        response = c.post(f"/a/changes/{number}/revisions/current/review",
                          json={"message": message})
        assert response.status_code == 200, response.text


def ci_votes(info: Any) -> list[int]:
    return [v.get("value", 0) for v in info["labels"].get("Verified", {}).get("all", [])
            if v.get("username") == CI]


def builds(server: Server, **params: str) -> list[dict[str, Any]]:
    with server.client() as c:
        response = c.get("/api/builds", params=params)
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()
        return found


def test_recheck_gate_start_vote_post_and_promote(site: Server, make_user, project_name,
                                          tmp_path: Path) -> None:
    site.create_project(project_name)
    alice, bob = make_user(site, "alice"), make_user(site, "bob")
    make_core(site, project_name, alice, bob)
    repo = alice.clone(project_name, tmp_path / "app")
    files = {".zuul.yaml": APP_CONFIG, "playbooks/sources.yaml": SOURCES_PLAYBOOK,
             "playbooks/slow.yaml": SLOW_PLAYBOOK, "playbooks/true.yaml": TRUE_PLAYBOOK,
             "marker.txt": f"marker of {project_name}\n"}
    new_change(alice, repo, files, "Add jobs")
    number = only_change(site, project_name, "Add jobs")
    wait_for("check on patch set 1", lambda: ci_messages(change_info(site, number), 1), site)
    info = change_info(site, number)
    assert ci_verified(info) == 1, ci_messages(info, 1)
    assert "sources SUCCESS" in ci_messages(info, 1)[0]
    checked = [b for b in builds(site, project=project_name, pipeline="check")
               if b["job"] == "sources"]
    with site.client() as c:
        collected = c.get(f"/logs/{checked[0]['uuid']}/node/marker-copy.txt")
    assert collected.status_code == 200 and collected.text == f"marker of {project_name}\n"

    # recheck runs check again on the same patch set.
    comment(site, bob, number, "recheck")
    wait_for("a second check report", lambda: len(ci_messages(change_info(site, number), 1))
             >= 2, site)
    assert "sources SUCCESS" in ci_messages(change_info(site, number), 1)[1]

    approve(site, number, alice, bob)
    # The gate's start reporter resets CI's Verified to 0 while its jobs run.
    started = wait_for("the gate's start vote", lambda: (i := change_info(site, number))
                       and any("Starting gate jobs" in m for m in ci_messages(i, 1)) and i,
                       site)
    if status(site, number) == "NEW":
        # Verified 0 clears CI's check vote: the labels show no Verified from it any more.
        assert ci_votes(started) in ([], [0]), started["labels"]
        assert ci_verified(started) is None
    wait_for("the gate to merge the change", lambda: status(site, number) == "MERGED", site,
             timeout=180)
    assert ci_verified(change_info(site, number)) == 2

    post = wait_for("the post build", lambda: [
        b for b in builds(site, project=project_name, pipeline="post")
        if b.get("result")], site, timeout=180)
    assert [(b["job"], b["result"], b["change"]) for b in post] == [("publish", "SUCCESS", 0)]
    promote = wait_for("the promote build", lambda: [
        b for b in builds(site, project=project_name, pipeline="promote")
        if b.get("result")], site)
    assert [(b["job"], b["result"], b["change"]) for b in promote] == [
        ("publish", "SUCCESS", number)]


def test_config_change_adds_a_pipeline(site: Server, make_user, project_name,
                                       tmp_path: Path) -> None:
    carol, dave = make_user(site, "carol"), make_user(site, "dave")
    make_core(site, "config", carol, dave)
    config = carol.clone("config", tmp_path / "config")
    new_change(carol, config, {"zuul.d/experimental.yaml": EXPERIMENTAL},
               "Add an experimental pipeline")
    number = only_change(site, "config", "Add an experimental pipeline")
    wait_checked(site, number)
    report = ci_messages(change_info(site, number), 1)[0]
    assert "noop SUCCESS" in report, report
    approve(site, number, carol, dave)
    wait_for("the gate to merge the config change",
             lambda: status(site, number) == "MERGED", site, timeout=180)

    site.create_project(project_name)
    repo = carol.clone(project_name, tmp_path / "app")
    jobs = f"""\
- job:
    name: hello
    run: playbooks/true.yaml
{NODESET}
- job:
    name: experiment
    run: playbooks/true.yaml
{NODESET}
- project:
    check:
      jobs: [hello]
    experimental:
      jobs: [experiment]
"""
    push_change(carol, repo, {".zuul.yaml": jobs, "playbooks/true.yaml": TRUE_PLAYBOOK},
                "Add an experiment")
    change = only_change(site, project_name, "Add an experiment")
    wait_checked(site, change)
    assert not any("experiment SUCCESS" in m for m in ci_messages(change_info(site, change), 1))
    comment(site, dave, change, "check experimental")
    found = wait_for("the experimental report", lambda: [
        m for m in ci_messages(change_info(site, change), 1)
        if "succeeded (experimental pipeline)" in m], site)
    assert "experiment SUCCESS" in found[0], found[0]
    messages = ci_messages(change_info(site, change), 1)
    assert any("enqueued in the experimental pipeline" in m for m in messages), messages
    assert ci_verified(change_info(site, change)) == 1  # no vote from experimental


def test_broken_pipeline_definition_is_a_config_error(site: Server, make_user,
                                                      tmp_path: Path) -> None:
    erin = make_user(site, "erin")
    config = erin.clone("config", tmp_path / "config")
    new_change(erin, config, {"zuul.d/nightly.yaml": BROKEN}, "Add a nightly pipeline")
    number = only_change(site, "config", "Add a nightly pipeline")
    info = wait_for("the config error", lambda: (i := change_info(site, number))
                    and ci_messages(i, 1) and i, site)
    report = ci_messages(info, 1)[0]
    assert "Configuration error" in report, report
    assert re.search(r"zuul\.d/nightly\.yaml:[23]\b", report), report
    assert 'unknown event "patchset-uploaded"' in report, report
    assert ci_verified(info) == -1
    with site.client() as c:
        merged = gerrit_json(c.get("/changes/", params={"q": "project:config status:merged"}))
    assert all(m["subject"] != "Add a nightly pipeline" for m in merged)


MINUTELY = """\
- pipeline:
    name: minutely
    description: Runs every minute, to see timers work.
    manager: independent
    post-review: true
    trigger:
      timer:
        - time: '* * * * *'
"""


def test_timer_pipeline_and_a_bad_config_state_pushed_directly(
        site: Server, tmp_path: Path, project_name: str) -> None:
    admin = GitUser(tmp_path / "home-admin", site, site.admin, site.admin_password)
    config = admin.clone("config", tmp_path / "config")
    admin.commit(config, "zuul.d/minutely.yaml", MINUTELY, "Add a pipeline that runs every "
                                                            "minute")
    pushed = admin.push(config, "HEAD:refs/heads/main")
    assert pushed.returncode == 0, pushed.stderr

    site.create_project(project_name)
    repo = admin.clone(project_name, tmp_path / "app")
    jobs = f"""\
- job:
    name: tick
    run: playbooks/true.yaml
{NODESET}
- project:
    minutely:
      jobs: [tick]
"""
    for path, text in ((".zuul.yaml", jobs), ("playbooks/true.yaml", TRUE_PLAYBOOK)):
        admin.commit(repo, path, text, f"Add {path}")
    pushed = admin.push(repo, "HEAD:refs/heads/main")
    assert pushed.returncode == 0, pushed.stderr

    ticks = wait_for("a build of the timer pipeline", lambda: [
        b for b in builds(site, project=project_name, pipeline="minutely")
        if b.get("result")], site, timeout=200)
    assert ticks[0]["job"] == "tick" and ticks[0]["result"] == "SUCCESS"
    assert ticks[0]["change"] == 0  # a branch tip, not a change

    # A state of config that does not validate is not loaded: the running layout stays.
    # (Creating the project committed to config too.)
    admin.git("pull", "-q", "--rebase", "origin", "main", cwd=config)
    admin.commit(config, "zuul.d/broken.yaml", BROKEN, "Break a pipeline")
    pushed = admin.push(config, "HEAD:refs/heads/main")
    assert pushed.returncode == 0, pushed.stderr
    logged = wait_for("the refusal in the log", lambda: "previous layout keeps running" in
                      site.log() and site.log(), site)
    assert re.search(r'zuul\.d/broken\.yaml:[23]: pipeline "nightly"', logged), logged[-2000:]
    count = len(ticks)
    wait_for("the timer pipeline to keep running", lambda: len([
        b for b in builds(site, project=project_name, pipeline="minutely")
        if b.get("result")]) > count, site, timeout=200)
