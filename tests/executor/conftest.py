"""Fixtures for executor tests: real local nodes, a real sandbox, real ansible-playbook.

Builds need root (nodes are namespaces; the sandbox is bubblewrap started as root),
bubblewrap and ansible-core. Without them these tests are skipped with the reason; under
CI (``CI=true``, as root) a missing tool fails them instead, so a green CI always means the
builds really ran.
"""

from __future__ import annotations

import os
import shutil
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from keepgreen.executor.model import BuildRequest, Item, JobSpec, NodeSpec, Playbook, Project
from keepgreen.executor.runner import Executor, ExecutorSettings, default_ansible_playbook
from keepgreen.executor.sandbox import Sandbox
from keepgreen.nodes.local import LocalProvider


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "builds need root (local nodes and the bubblewrap sandbox); CI runs as root"
    for tool in ("unshare", "nsenter", "setpriv", "ip", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not os.path.exists("/usr/sbin/sshd"):
        return "the host-derived node image needs sshd: run `apt-get install -y openssh-server`"
    if not default_ansible_playbook().exists():
        return ("ansible-playbook is not installed next to this Python: "
                "pip install 'ansible-core>=2.16,<2.22'")
    return Sandbox().check()


@pytest.fixture(scope="session")
def build_host() -> None:
    """Skip (locally) or fail (under CI) when this machine cannot run builds."""
    problem = _missing()
    if problem:
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail(f"executor tests must run under CI: {problem}")
        pytest.skip(problem)


@pytest.fixture(scope="module")
def provider(build_host: None, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[LocalProvider]:
    local = LocalProvider(tmp_path_factory.mktemp("nodes"))
    yield local
    # Builds delete their nodes themselves; whatever a failed test left goes now.
    ids = {r.node_id for r in local.list_resources() if r.node_id}
    local.sweep(known_ids=(), cleanup_ids=ids)


@pytest.fixture
def executor(provider: LocalProvider, tmp_path: Path) -> Executor:
    return Executor(ExecutorSettings(builds_root=tmp_path / "builds"), provider)


@dataclass
class Repo:
    """A project folder with playbooks, written by the test."""

    root: Path
    files: dict[str, str] = field(default_factory=dict)

    def playbook(self, name: str, text: str, level: int = 0) -> Playbook:
        path = self.root / "playbooks" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
        return Playbook(self.root, f"playbooks/{name}.yaml", nesting_level=level)

    def file(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
        return path


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    root = tmp_path / "project"
    root.mkdir()
    (root / "README").write_text("the project under test\n")
    return Repo(root)


ONE_NODE = (NodeSpec("node", "local"),)


def request_for(job: JobSpec, repo: Repo, **item: str) -> BuildRequest:
    project = Project(name="org/demo", canonical_hostname="review.example.org",
                      source=repo.root)
    return BuildRequest(uuid=uuid.uuid4().hex, job=job, item=Item(project, **item),
                        pipeline="check", tenant="main", buildset=uuid.uuid4().hex)


class Lines(list[str]):
    """Live-log lines collected from ``on_line``."""

    def __call__(self, line: str) -> None:
        self.append(line)

    def text(self) -> str:
        return "\n".join(self)
