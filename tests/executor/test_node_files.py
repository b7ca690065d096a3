"""The executor's own steps around the playbooks: the sources placed on each node before the
first one, each node's ``zuul-output/logs`` brought back after the last, and what it does
with a node that sends back something hostile."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from keepgreen.domain.node import Node, NodeState
from keepgreen.executor import node_files
from keepgreen.executor.jobdir import JobDir
from keepgreen.executor.model import JobSpec, Result
from keepgreen.executor.node_files import NodeLink, relay_proxy
from keepgreen.executor.runner import Executor
from keepgreen.executor.verdict import Status
from tests.executor.conftest import ONE_NODE, Lines, Repo, request_for

pytestmark = pytest.mark.timeout(90)


def test_the_sources_are_on_the_node_and_its_logs_come_back_without_any_base_playbook(
        executor: Executor, repo: Repo) -> None:
    run = repo.playbook("run", """
        - hosts: all
          gather_facts: false
          tasks:
            - name: Read the project under test on the node
              command: cat {{ zuul.project.src_dir }}/README
              register: readme
            - debug: {msg: "node reads: {{ readme.stdout }}"}
            - name: Leave logs
              shell: |
                mkdir -p ~/zuul-output/logs/deep
                echo "tests ran" > ~/zuul-output/logs/report.txt
                echo nested > ~/zuul-output/logs/deep/more.txt
        """)
    job = JobSpec(name="plain", run=(run,), nodes=ONE_NODE, attempts=1)
    live = Lines()

    result = executor.run_build(request_for(job, repo), live)

    assert result.result is Result.SUCCESS, result.reason
    assert "node reads: the project under test" in live.text()
    assert result.log_dir is not None
    assert (result.log_dir / "node" / "report.txt").read_text() == "tests ran\n"
    assert (result.log_dir / "node" / "deep" / "more.txt").read_text() == "nested\n"
    output = (result.log_dir / "job-output.txt").read_text()
    assert "[executor] placing the sources: ok" in output
    assert "[executor] collecting the logs: ok" in output


def test_a_link_out_of_the_node_logs_is_skipped_and_named_not_followed(
        executor: Executor, repo: Repo) -> None:
    run = repo.playbook("run", """
        - hosts: all
          gather_facts: false
          tasks:
            - shell: |
                echo fine > ~/zuul-output/logs/fine.txt
                ln -s /etc/shadow ~/zuul-output/logs/shadow
                ln -s ../../../../../../etc/passwd ~/zuul-output/logs/passwd
        """)
    job = JobSpec(name="sneaky", run=(run,), nodes=ONE_NODE, attempts=1)

    result = executor.run_build(request_for(job, repo), Lines())

    assert result.result is Result.SUCCESS, result.reason
    assert result.log_dir is not None
    kept = result.log_dir / "node"
    assert (kept / "fine.txt").read_text() == "fine\n"
    assert not (kept / "shadow").is_symlink() and not (kept / "shadow").exists()
    assert not (kept / "passwd").is_symlink() and not (kept / "passwd").exists()
    output = (result.log_dir / "job-output.txt").read_text()
    assert "node node: skipped log entry './shadow'" in output
    assert "node node: skipped log entry './passwd'" in output


def _archive(build: list[tuple[tarfile.TarInfo, bytes]]) -> io.BufferedReader:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for info, data in build:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)
    raw.seek(0)
    return io.BufferedReader(raw)  # type: ignore[arg-type]


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "",
            mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, mode
    return info


def test_a_crafted_log_archive_writes_nothing_outside_the_node_folder(tmp_path: Path) -> None:
    target = tmp_path / "logs" / "node"
    said: list[str] = []
    stream = _archive([
        (_member("./ok.txt", mode=0o4755), b"kept"),
        (_member("../escape.txt"), b"out"),
        (_member("/tmp/absolute.txt"), b"out"),
        (_member("./hard", tarfile.LNKTYPE, "/etc/passwd"), b""),
        (_member("./dev", tarfile.CHRTYPE), b""),
    ])

    problem = node_files._unpack(stream, target, "node", said.append)

    assert problem == ""
    assert (target / "ok.txt").read_bytes() == b"kept"
    assert (target / "ok.txt").stat().st_mode & 0o7000 == 0  # no set-id bits come along
    # An absolute name loses its leading slash and stays inside, as tar itself does it.
    assert (target / "tmp" / "absolute.txt").read_bytes() == b"out"
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "logs", "logs/node", "logs/node/ok.txt", "logs/node/tmp", "logs/node/tmp/absolute.txt"]
    for name in ("../escape.txt", "./hard", "./dev"):
        assert any(f"skipped log entry {name!r}" in line for line in said), (name, said)


def test_a_garbled_log_archive_is_a_post_run_problem_named_as_such(tmp_path: Path) -> None:
    stream = io.BufferedReader(io.BytesIO(b"\x1f\x8b this is not gzip"))  # type: ignore[arg-type]
    problem = node_files._unpack(stream, tmp_path / "node", "node", lambda line: None)
    assert problem.startswith("the node's log archive is unreadable")


def test_a_node_that_cannot_be_reached_makes_the_step_unreachable_so_the_build_retries(
        tmp_path: Path) -> None:
    node = Node(id="gone", label="local", provider="test", state=NodeState.IN_USE,
                host="127.0.0.1", host_key="ssh-ed25519 AAAA")
    key = tmp_path / "key"
    key.write_text("not a key\n")
    key.chmod(0o600)
    link = NodeLink("node", node, relay_proxy(tmp_path / "no-relay-here"), str(key),
                    str(tmp_path / "known_hosts"))
    said: list[str] = []

    run = node_files.place_sources([link], tmp_path, said.append, timeout=20)

    assert run.status is Status.UNREACHABLE and run.phase == "pre" and run.step
    assert run.detail.startswith("node node unreachable: ")
    assert run.describe().startswith("pre-run step placing the sources unreachable: ")
    assert said and said[0].startswith("[executor] placing the sources: unreachable")


def test_the_executors_own_ssh_runs_in_the_sandbox_as_the_build_user(
        executor: Executor, tmp_path: Path) -> None:
    """A job that owns its node can answer as the node's sshd: the client it talks to must
    be as unprivileged as Ansible's, not the executor's root."""
    jobdir = JobDir(tmp_path / "build")
    jobdir.create(executor.settings.sandbox)
    try:
        wrap = executor._node_step_sandbox(jobdir)
        script = "id -u; test -e /etc/shadow || echo no shadow"
        ran = subprocess.run(wrap(["sh", "-c", script + "; ls /relay >/dev/null"]),
                             capture_output=True, text=True, timeout=30,
                             env=executor._sandbox_env(jobdir))
    finally:
        jobdir.close()
    lines = ran.stdout.splitlines()
    assert ran.returncode == 0, ran.stderr
    assert lines[0] == str(executor.settings.sandbox.uid) != "0"
    assert lines[1:] == ["no shadow"]  # the relays and keys are there, the host's secrets not


def test_a_sandbox_that_cannot_start_is_an_executor_error_not_a_retry(tmp_path: Path) -> None:
    node = Node(id="n", label="local", provider="test", state=NodeState.IN_USE,
                host="127.0.0.1", host_key="ssh-ed25519 AAAA")
    link = NodeLink("node", node, relay_proxy(tmp_path / "relay"), "key", "known_hosts",
                    wrap=lambda argv: ["bwrap", "--no-such-option", "--", *argv])

    run = node_files.collect_logs([link], tmp_path / "logs", lambda line: None)

    assert run.status is Status.ERROR and run.phase == "post"
    assert run.detail.startswith("node node: sandbox failed: bwrap: ")
