"""Real builds: real local nodes, the real sandbox, real ``ansible-playbook``.

Each test reads as a story: write the playbooks, run the build, look at the result, its
reason, the live log and ``job-output.txt``, the way a person following a build would.
"""

from __future__ import annotations

import dataclasses
import subprocess
import threading
import time
from pathlib import Path

import pytest

from keepgreen.domain.node import Node, ResourceId
from keepgreen.executor.cli_entry import run_job
from keepgreen.executor.model import GroupSpec, JobSpec, NodeSpec, Playbook, Result
from keepgreen.executor.runner import Executor, ExecutorSettings
from keepgreen.nodes.local import LocalProvider
from tests.executor.conftest import ONE_NODE, Lines, Repo, request_for

pytestmark = pytest.mark.timeout(90)


def our_node_ids(provider: LocalProvider) -> set[str]:
    return {r.node_id for r in provider.list_resources() if r.node_id}


def test_a_job_runs_on_a_fresh_node_with_zuul_variables_and_live_log(
        provider: LocalProvider, repo: Repo, tmp_path: Path) -> None:
    repo.playbook("run", """
        - hosts: all
          tasks:
            - name: Write a file on the node
              copy: {content: "written on the node\\n", dest: /root/marker}
            - name: Echo a line
              shell: 'echo "line from $(hostname): $(cat /root/marker)"'
              register: echoed
            - debug: {msg: "{{ echoed.stdout }}"}
            - name: Show what Zuul tells the job
              debug:
                msg: "src_dir={{ zuul.project.src_dir }} change={{ zuul.change }}
                  items={{ zuul['items'] | length }} greeting={{ greeting }}"
            - name: The sources under test are in the work folder
              debug:
                msg: "readme={{ lookup('file', zuul.executor.work_root + '/'
                  + zuul.project.src_dir + '/README') }}"
            - zuul_return:
                data:
                  zuul: {log_url: "https://logs.example.org/{{ zuul.build }}/"}
                  answer: 42
        """)
    repo.file("zuul.yaml", """
        - job:
            name: hello
            run: playbooks/run.yaml
            nodeset: [{name: node, label: local}]
            vars: {greeting: hi}
            attempts: 1
        """)
    live = Lines()

    result = run_job(repo.root, "hello", repo.root, provider, live,
                     builds_root=tmp_path / "builds", project_name="org/demo",
                     change="12", patchset="3")

    assert result.result is Result.SUCCESS, result.reason
    assert result.reason == "all playbooks succeeded"
    assert "line from node-" in live.text() and ": written on the node" in live.text()
    assert "src_dir=src/localhost/org/demo change=12 items=1 greeting=hi" in live.text()
    assert "readme=the project under test" in live.text()
    assert result.zuul_return["answer"] == 42
    assert result.zuul_return["zuul"]["log_url"] == f"https://logs.example.org/{result.uuid}/"
    assert result.log_dir is not None
    output = (result.log_dir / "job-output.txt").read_text()
    assert "line from node-" in output and "[executor] result: SUCCESS" in output
    assert result.ended - result.started < 30
    assert our_node_ids(provider) == set()  # the node is gone


def test_a_failing_run_is_a_failure_naming_the_task_and_post_run_still_runs(
        executor: Executor, provider: LocalProvider, repo: Repo) -> None:
    run = repo.playbook("run", """
        - hosts: all
          gather_facts: false
          tasks:
            - name: Break on purpose
              command: sh -c 'echo compiler says no >&2; exit 3'
        """)
    post = repo.playbook("post", """
        - hosts: all
          gather_facts: false
          tasks:
            - debug: {msg: "post-run sees zuul_success={{ zuul_success }}"}
        """)
    job = JobSpec(name="broken", run=(run,), post_run=(post,), nodes=ONE_NODE, attempts=1)
    live = Lines()

    result = executor.run_build(request_for(job, repo, change="7", patchset="1"), live)

    assert result.result is Result.FAILURE
    assert result.reason == ("run playbook playbooks/run.yaml failed: task 'Break on "
                             "purpose' failed on node: exit status 3: compiler says no")
    assert "post-run sees zuul_success=False" in live.text()


def test_a_failing_post_run_after_a_good_run_is_a_post_failure(
        executor: Executor, repo: Repo) -> None:
    run = repo.playbook("run", """
        - hosts: all
          gather_facts: false
          tasks: [{command: "true"}]
        """)
    post = repo.playbook("post", """
        - hosts: all
          gather_facts: false
          tasks:
            - debug: {msg: "post-run sees zuul_success={{ zuul_success }}"}
            - name: Upload logs
              fail: {msg: log server unavailable}
        """)
    job = JobSpec(name="post", run=(run,), post_run=(post,), nodes=ONE_NODE, attempts=1)
    live = Lines()

    result = executor.run_build(request_for(job, repo), live)

    assert result.result is Result.POST_FAILURE
    assert result.reason == ("post-run playbook playbooks/post.yaml failed: task 'Upload "
                             "logs' failed on node: log server unavailable")
    assert "post-run sees zuul_success=True" in live.text()


def test_a_failing_pre_run_is_retried_on_fresh_nodes_then_gives_up(
        executor: Executor, provider: LocalProvider, repo: Repo) -> None:
    pre = repo.playbook("pre", """
        - hosts: all
          gather_facts: false
          tasks:
            - debug: {msg: "attempt {{ zuul.attempts }} on {{ inventory_hostname }}"}
            - name: Prepare the node
              fail: {msg: mirror is down}
        """)
    run = repo.playbook("run", "- hosts: all\n  tasks: [{command: 'true'}]\n")
    job = JobSpec(name="flaky", pre_run=(pre,), run=(run,), nodes=ONE_NODE, attempts=2)
    live = Lines()

    result = executor.run_build(request_for(job, repo), live)

    assert result.result is Result.RETRY_LIMIT
    assert result.reason == ("gave up after 2 attempts: pre-run playbook playbooks/pre.yaml "
                             "failed: task 'Prepare the node' failed on node: mirror is down")
    assert [a.number for a in result.attempts] == [1, 2]
    assert all(a.result is None for a in result.attempts)
    assert "attempt 1 on node" in live.text() and "attempt 2 on node" in live.text()
    assert "[executor] attempt 1 will be retried" in live.text()
    assert len({str(a.log_dir) for a in result.attempts}) == 2
    assert our_node_ids(provider) == set()


def test_a_job_that_runs_too_long_is_timed_out_and_its_processes_killed(
        executor: Executor, repo: Repo) -> None:
    run = repo.playbook("run", """
        - hosts: all
          gather_facts: false
          tasks:
            - name: Hang
              command: sleep 300
        """)
    post = repo.playbook("post", """
        - hosts: all
          gather_facts: false
          tasks:
            - debug: {msg: "post-run after timeout, zuul_success={{ zuul_success }}"}
        """)
    job = JobSpec(name="slow", run=(run,), post_run=(post,), nodes=ONE_NODE, timeout=3,
                  attempts=1)
    live = Lines()
    started = time.monotonic()

    result = executor.run_build(request_for(job, repo), live)

    assert result.result is Result.TIMED_OUT
    assert result.reason == ("run playbook playbooks/run.yaml timed out: exceeded the "
                             "timeout of 3 s during task 'Hang'")
    assert "post-run after timeout, zuul_success=False" in live.text()
    assert time.monotonic() - started < 3 + 8  # the post-run playbook included
    assert result.log_dir is not None
    build_dir = str(result.log_dir.parent.parent)
    leftovers = subprocess.run(["pgrep", "-f", build_dir], capture_output=True, text=True)
    assert leftovers.stdout == ""


def test_a_pre_run_playbook_is_held_to_the_pre_timeout(executor: Executor, repo: Repo) -> None:
    pre = repo.playbook("pre", """
        - hosts: all
          gather_facts: false
          tasks:
            - name: Wait for a mirror
              command: sleep 300
        """)
    run = repo.playbook("run", "- hosts: all\n  gather_facts: false\n  tasks: []\n")
    job = JobSpec(name="slow-setup", pre_run=(pre,), run=(run,), nodes=ONE_NODE, timeout=120,
                  pre_timeout=2, attempts=1)
    started = time.monotonic()

    result = executor.run_build(request_for(job, repo), Lines())

    assert result.result is Result.RETRY_LIMIT
    assert "exceeded the pre-timeout of 2 s during task 'Wait for a mirror'" in result.reason
    assert time.monotonic() - started < 60  # the job's own timeout was not waited for


class WrongHostKeys:
    """A provider whose nodes claim a host key the node does not have."""

    def __init__(self, inner: LocalProvider, key: str) -> None:
        self.inner, self.key = inner, key
        self.name, self.labels = inner.name, inner.labels

    def create(self, label: str, node_id: str) -> Node:
        return dataclasses.replace(self.inner.create(label, node_id), host_key=self.key)

    def delete(self, node: Node) -> None:
        self.inner.delete(node)

    def list_resources(self) -> list[ResourceId]:
        return self.inner.list_resources()


def test_a_node_with_an_unexpected_host_key_is_never_trusted(
        provider: LocalProvider, repo: Repo, tmp_path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                    str(tmp_path / "other")], check=True)
    other = " ".join((tmp_path / "other.pub").read_text().split()[:2])
    run = repo.playbook("run", "- hosts: all\n  tasks: [{command: 'true'}]\n")
    job = JobSpec(name="mitm", run=(run,), nodes=ONE_NODE, attempts=1)
    executor = Executor(ExecutorSettings(builds_root=tmp_path / "builds"),
                        WrongHostKeys(provider, other))

    result = executor.run_build(request_for(job, repo))

    assert result.result is Result.RETRY_LIMIT
    assert result.reason == (
        "gave up after 1 attempt: pre-run step placing the sources unreachable: node node "
        "unreachable: host key verification failed: the node's host key does not match "
        "the one its provider recorded")
    assert our_node_ids(provider) == set()



def test_two_nodes_behind_separate_namespaces_share_one_inventory(
        executor: Executor, repo: Repo) -> None:
    run = repo.playbook("run", """
        - hosts: all
          gather_facts: false
          tasks:
            - command: hostname
              register: name
            - debug: {msg: "{{ inventory_hostname }} is {{ name.stdout }}"}
        - hosts: workers
          gather_facts: false
          tasks:
            - debug: {msg: "worker group has {{ groups.workers | join(',') }}"}
        """)
    job = JobSpec(name="pair", run=(run,), attempts=1,
                  nodes=(NodeSpec("controller", "local"), NodeSpec("worker", "local")),
                  groups=(GroupSpec("workers", ("worker",)),))
    live = Lines()

    result = executor.run_build(request_for(job, repo), live)

    assert result.result is Result.SUCCESS, result.reason
    names = [line for line in live if " is node-" in line]
    assert len(names) == 2 and len({line.split(" is ")[1] for line in names}) == 2
    assert "worker group has worker" in live.text()


def test_post_run_runs_only_for_levels_whose_pre_run_started(
        executor: Executor, repo: Repo) -> None:
    parent_pre = repo.playbook("parent-pre", """
        - hosts: all
          gather_facts: false
          tasks: [{name: Base setup, fail: {msg: no}}]
        """, level=0)
    child_pre = repo.playbook("child-pre", "- hosts: all\n  tasks: []\n", level=1)
    child_post = repo.playbook("child-post", "- hosts: all\n  tasks: []\n", level=1)
    parent_post = repo.playbook("parent-post", """
        - hosts: all
          gather_facts: false
          tasks: [{debug: {msg: "parent post-run ran"}}]
        """, level=0)
    job = JobSpec(name="nested", pre_run=(parent_pre, child_pre), run=(),
                  post_run=(child_post, parent_post), nodes=ONE_NODE, attempts=1)
    live = Lines()

    result = executor.run_build(request_for(job, repo), live)

    assert result.result is Result.RETRY_LIMIT
    assert "skipping post-run playbooks/child-post.yaml" in live.text()
    assert "parent post-run ran" in live.text()
    assert "child-pre.yaml starting" not in live.text()


def test_an_aborted_build_stops_at_once(executor: Executor, repo: Repo) -> None:
    run = repo.playbook("run", """
        - hosts: all
          gather_facts: false
          tasks: [{name: Long build, command: sleep 300}]
        """)
    job = JobSpec(name="long", run=(run,), nodes=ONE_NODE, attempts=1)
    live = Lines()
    timer = threading.Timer(1.5, executor.abort)
    timer.start()
    started = time.monotonic()

    result = executor.run_build(request_for(job, repo), live)

    timer.cancel()
    assert result.result is Result.ABORTED
    assert result.reason.startswith("aborted during run playbook playbooks/run.yaml")
    assert time.monotonic() - started < 10


def test_executor_side_problems_are_errors_with_a_reason(executor: Executor,
                                                         repo: Repo) -> None:
    job = JobSpec(name="typo", run=(Playbook(repo.root, "playbooks/missing.yaml"),),
                  attempts=3)
    request = request_for(job, repo)

    missing = executor.run_build(request)
    again = executor.run_attempt(request, {})

    assert missing.result is Result.ERROR and len(missing.attempts) == 1  # not retried
    assert missing.reason == (f"run playbook playbooks/missing.yaml error: playbook "
                              f"playbooks/missing.yaml not found in {repo.root}")
    assert again.verdict.result is Result.ERROR
    assert "the executor failed: build folder" in again.verdict.reason
    assert "exists already" in again.verdict.reason
