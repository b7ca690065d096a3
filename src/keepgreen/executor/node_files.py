"""The build's files on its nodes: the prepared sources placed under ``~/src`` before the
first playbook, and each node's ``~/zuul-output/logs`` brought into the build's logs (under
the node's name) after the last.

Each way is one ``ssh`` command per node through the node's relay, with the key and pinned
host key the playbooks use, carrying one tar stream: no ``ansible-playbook`` to start, no
task round trips. The nodes are served in parallel. The ``ssh`` client runs in the build's
sandbox as the build user, as Ansible's does: a job that owns its node (and so can answer
as its sshd) talks to an unprivileged client that sees only the build folder.

What comes back from a node is not trusted: the stream is read member by member through
``tarfile``'s ``data`` filter (no absolute paths, no ``..``, no links leading out, no
devices, no set-id bits) and cut at ``MAX_LOG_BYTES``; a member the filter refuses is
skipped with a line in the build's log, not extracted.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from keepgreen.domain.node import Node
from keepgreen.executor.ansible_process import ssh_problem
from keepgreen.executor.sandbox import PLUGINS_SOURCE
from keepgreen.executor.verdict import PlaybookRun, Status

MAX_LOG_BYTES = 1024 ** 3  # what one node's logs may add to the build's logs
STEP_SECONDS = 600.0  # a placement or a collection that takes longer is cut off
UNREACHABLE = 255  # ssh's exit status when it could not reach or log in to the node
PLACE = "mkdir -p ~/src ~/zuul-output/logs && tar -xzf - -C ~/src"
COLLECT = ("if [ -d ~/zuul-output/logs ]; then "
           "tar -czf - -C ~/zuul-output/logs .; fi")
SOURCES_STEP = "placing the sources"
LOGS_STEP = "collecting the logs"

Say = Callable[[str], None]


def _unwrapped(argv: list[str]) -> list[str]:
    return argv


@dataclass(frozen=True)
class NodeLink:
    """How the executor itself reaches one node: the node-set ``name`` (also its host key
    alias), the node, the ssh ``proxy_command`` that connects to its relay, its login key
    and the build's known_hosts file, all as ``wrap`` (which turns a command line into one
    that runs in the build's sandbox) sees them."""

    name: str
    node: Node
    proxy_command: str
    key: str
    known_hosts: str
    wrap: Callable[[list[str]], list[str]] = _unwrapped
    env: Mapping[str, str] | None = None  # the environment ssh runs with

    def ssh(self, command: str) -> list[str]:
        options = {"BatchMode": "yes", "ProxyCommand": self.proxy_command,
                   "ProxyUseFdpass": "yes", "StrictHostKeyChecking": "yes",
                   "UserKnownHostsFile": self.known_hosts, "GlobalKnownHostsFile": "/dev/null",
                   "HostKeyAlias": self.name, "IdentitiesOnly": "yes", "ConnectTimeout": "30",
                   "LogLevel": "ERROR"}
        argv = ["ssh", "-F", "/dev/null", "-i", self.key, "-p", str(self.node.port)]
        for key, value in options.items():
            argv += ["-o", f"{key}={value}"]
        return self.wrap([*argv, f"{self.node.username}@{self.node.host}", command])


def relay_proxy(relay: Path | str, fdpass: Path | str = PLUGINS_SOURCE / "fdpass.py") -> str:
    """The ssh ProxyCommand that connects to a node's relay socket."""
    return (f"{shlex.quote(sys.executable)} -I -S {shlex.quote(str(fdpass))} "
            f"{shlex.quote(str(relay))}")


def place_sources(links: Sequence[NodeLink], src: Path, say: Say,
                  timeout: float | None = None) -> PlaybookRun:
    """Unpack the build's prepared sources (``src``) into ``~/src`` of every node and make
    ``~/zuul-output/logs`` there; one run for the pre-run phase."""
    return _each(links, lambda link: _place(link, src, _limit(timeout)), "pre",
                 SOURCES_STEP, say)


def collect_logs(links: Sequence[NodeLink], logs: Path, say: Say,
                 timeout: float | None = None) -> PlaybookRun:
    """Bring each node's ``~/zuul-output/logs`` into ``logs/<node name>``; one run for the
    post-run phase."""
    return _each(links, lambda link: _collect(link, logs / link.name, say, _limit(timeout)),
                 "post", LOGS_STEP, say)


def _limit(timeout: float | None) -> float:
    return STEP_SECONDS if timeout is None else max(min(timeout, STEP_SECONDS), 1.0)


def _each(links: Sequence[NodeLink], step: Callable[[NodeLink], tuple[Status, str]],
          phase: str, label: str, say: Say) -> PlaybookRun:
    started = time.monotonic()
    results: dict[str, tuple[Status, str]] = {}

    def one(link: NodeLink) -> None:
        try:
            results[link.name] = step(link)
        except OSError as exc:  # ssh or tar could not be started
            results[link.name] = (Status.ERROR, f"cannot run {exc.filename or 'ssh'}: "
                                  f"{exc.strerror or exc}")

    threads = [threading.Thread(target=one, args=(link,), name=f"node-files-{link.name}",
                                daemon=True) for link in links]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    worst = Status.OK
    detail = ""
    for link in links:
        status, why = results.get(link.name, (Status.ERROR, "the step did not finish"))
        if status is not Status.OK and _rank(status) > _rank(worst):
            worst, detail = status, f"node {link.name}" + (
                f" {why}" if why.startswith("unreachable") else f": {why}")
    say(f"[executor] {label}: {worst.value} ({seconds:.2f} s)"
        + (f": {detail}" if detail else ""))
    return PlaybookRun(phase, label, worst, detail, seconds=seconds, step=True)


def _rank(status: Status) -> int:
    return [Status.OK, Status.FAILED, Status.TIMED_OUT, Status.UNREACHABLE,
            Status.ERROR].index(status) if status is not Status.ABORTED else 99


def _place(link: NodeLink, src: Path, timeout: float) -> tuple[Status, str]:
    packer = subprocess.Popen(["tar", "-czf", "-", "-C", str(src), "."],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert packer.stdout is not None and packer.stderr is not None
    try:
        proc = subprocess.run(link.ssh(PLACE), stdin=packer.stdout, capture_output=True,
                              timeout=timeout, env=link.env)
    except subprocess.TimeoutExpired:
        packer.kill()
        return Status.TIMED_OUT, f"placing the sources took more than {timeout:.0f} s"
    finally:  # with ssh gone, tar ends on a broken pipe if it was still writing
        packer.stdout.close()
        packer_errors = packer.stderr.read()
        packer.stderr.close()
        packer.wait()
    if packer.returncode != 0 and proc.returncode == 0:
        return Status.ERROR, "packing the sources failed: " + _last_line(packer_errors,
                                                                        "tar failed")
    return _ssh_status(proc.returncode, proc.stderr)


def _collect(link: NodeLink, target: Path, say: Say, timeout: float) -> tuple[Status, str]:
    proc = subprocess.Popen(link.ssh(COLLECT), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=link.env)
    assert proc.stdout is not None and proc.stderr is not None
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        problem = _unpack(proc.stdout, target, link.name, say)
        proc.stdout.read()  # whatever follows the archive's end, so ssh is not blocked
        errors = proc.stderr.read()
        proc.wait()
    finally:
        timer.cancel()
        proc.stdout.close()
        proc.stderr.close()
    if proc.returncode is not None and proc.returncode < 0:
        return Status.TIMED_OUT, f"collecting the logs took more than {timeout:.0f} s"
    status, why = _ssh_status(proc.returncode, errors)
    if status is Status.OK and problem:
        return Status.FAILED, problem
    return status, why


def _unpack(stream: IO[bytes], target: Path, name: str, say: Say) -> str:
    """Extract what passes the ``data`` filter; the reason the stream as a whole is bad,
    or "" (an empty stream is a node without logs)."""
    if not stream.peek(1):  # type: ignore[attr-defined]
        return ""
    total = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|gz") as archive:
            for member in archive:
                total += max(member.size, 0)
                if total > MAX_LOG_BYTES:
                    say(f"[executor] node {name}: logs beyond {MAX_LOG_BYTES >> 20} MiB "
                        "were left on the node")
                    break
                try:
                    archive.extract(member, target, filter="data")
                except tarfile.FilterError as exc:
                    say(f"[executor] node {name}: skipped log entry {member.name[:200]!r}: "
                        f"{exc}")
    except (tarfile.TarError, EOFError, OSError) as exc:
        return f"the node's log archive is unreadable: {exc}"
    return ""


def _ssh_status(returncode: int | None, stderr: bytes) -> tuple[Status, str]:
    if returncode == 0:
        return Status.OK, ""
    text = stderr.decode(errors="replace")
    sandbox = next((line for line in text.splitlines() if line.startswith("bwrap:")), None)
    if sandbox is not None:  # the executor's fault, not the node's: not retried
        return Status.ERROR, f"sandbox failed: {sandbox.strip()[:300]}"
    if returncode == UNREACHABLE:
        return Status.UNREACHABLE, "unreachable: " + ssh_problem(text)
    return Status.FAILED, _last_line(stderr, f"exit status {returncode}")


def _last_line(text: bytes, default: str) -> str:
    lines = [line.strip() for line in text.decode(errors="replace").splitlines()
             if line.strip()]
    return lines[-1][:300] if lines else default
