"""A build's folder on the executor, laid out as Zuul's job dir is.

    <root>/
      ansible/      read-only in the sandbox: ansible.cfg, inventory.yaml, zuul-vars.json,
                    known_hosts, the node login keys, the sandbox's passwd and group,
                    roles/<n>/ (copies of the job's role repositories, in order)
      work/         read-write: src/<canonical name>/ (the repositories under test),
                    logs/ (job-output.txt and whatever the job keeps: zuul.executor.log_root),
                    results.json (zuul_return data)
      home/         read-write: the build user's home (Ansible's local temp)
      state/        read-write: Ansible's fact cache and the executor's event files

``work``, ``home`` and ``state`` belong to the sandbox's build user; everything else to
root. The relay sockets live in a separate short-named folder (Unix socket paths are
limited to 108 bytes), shown inside the sandbox at ``/relay``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from keepgreen.executor.model import Project, RoleSource
from keepgreen.executor.sandbox import PLUGINS, RELAY, Sandbox


class JobDirError(RuntimeError):
    """The build folder could not be prepared; the message names the path."""


class JobDir:
    """Paths of one attempt's build folder. ``create`` makes it; ``close`` removes the
    relay folder (the build folder itself is kept for its logs)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ansible = root / "ansible"
        self.work = root / "work"
        self.src = self.work / "src"
        self.logs = self.work / "logs"
        self.home = root / "home"
        self.state = root / "state"
        self.config = self.ansible / "ansible.cfg"
        self.inventory = self.ansible / "inventory.yaml"
        self.zuul_vars = self.ansible / "zuul-vars.json"
        self.known_hosts = self.ansible / "known_hosts"
        self.passwd = self.ansible / "passwd"
        self.group = self.ansible / "group"
        self.results = self.work / "results.json"
        self.job_output = self.logs / "job-output.txt"
        self.roles = self.ansible / "roles"
        self.roles_path: list[Path] = []  # searched in order, before the build user's own
        self.relay: Path | None = None

    def create(self, sandbox: Sandbox) -> None:
        try:
            self.root.mkdir(parents=True, mode=0o755)
        except FileExistsError as exc:
            raise JobDirError(f"build folder {self.root} exists already") from exc
        os.chmod(self.root, 0o755)
        self.ansible.mkdir(mode=0o755)
        for folder in (self.work, self.src, self.logs, self.home, self.state):
            folder.mkdir(mode=0o755)
            os.chown(folder, sandbox.uid, sandbox.gid)
        self.passwd.write_text(sandbox.passwd(self.home))
        self.group.write_text(sandbox.group())
        self.relay = Path(tempfile.mkdtemp(prefix="kgr-"))
        os.chown(self.relay, sandbox.uid, sandbox.gid)
        os.chmod(self.relay, 0o700)

    def close(self) -> None:
        if self.relay is not None:
            shutil.rmtree(self.relay, ignore_errors=True)
            self.relay = None

    def relay_socket(self, index: int) -> tuple[Path, str]:
        """(host path, sandbox path) of the relay socket of the ``index``-th node."""
        assert self.relay is not None, "create() first"
        return self.relay / str(index), f"{RELAY}/{index}"

    def events(self, phase: str, index: int) -> Path:
        return self.state / f"events-{phase}-{index}.jsonl"

    def add_key(self, name: str, source: Path, sandbox: Sandbox) -> Path:
        """A copy of a node login key the build user may read (ssh insists on 0600)."""
        target = self.ansible / f"key-{name}"
        shutil.copyfile(source, target)
        os.chown(target, sandbox.uid, sandbox.gid)
        os.chmod(target, 0o600)
        return target

    def copy_sources(self, projects: Iterable[Project], sandbox: Sandbox) -> None:
        """Copy each project's prepared repository to ``work/src/<canonical name>``."""
        for project in projects:
            target = self.work / project.src_dir
            if project.source is None:
                target.mkdir(parents=True, exist_ok=True)
            elif not project.source.is_dir():
                raise JobDirError(f"source folder {project.source} of {project.name} "
                                  "does not exist")
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copytree(project.source, target, symlinks=True)
        _chown_tree(self.src, sandbox.uid, sandbox.gid)

    def copy_roles(self, roles: Iterable[RoleSource]) -> None:
        """Copy each role repository under ``ansible/roles/<n>`` (read-only in the sandbox)
        and put it on the roles path: its ``roles/`` folder if it has one, otherwise the
        repository itself as the role ``name``. The job's own project is skipped when it
        has neither a ``roles/`` folder nor the shape of a role."""
        for index, role in enumerate(roles):
            if not role.source.is_dir():
                raise JobDirError(f"roles repository {role.project} was not checked out "
                                  f"({role.source} does not exist)")
            target = self.roles / str(index)
            if (role.source / "roles").is_dir():
                shutil.copytree(role.source / "roles", target / "roles", symlinks=True)
                self.roles_path.append(target / "roles")
            elif not role.implicit or _looks_like_a_role(role.source):
                shutil.copytree(role.source, target / role.name, symlinks=True,
                                ignore=shutil.ignore_patterns(".git"))
                self.roles_path.append(target)
        if self.roles.is_dir():
            _readable_tree(self.roles)

    def write_inventory(self, inventory: dict[str, Any]) -> None:
        # JSON is YAML: Ansible's YAML inventory plugin reads it, and no value can turn
        # into a tag or an anchor on the way.
        self.inventory.write_text(json.dumps(inventory, indent=2, sort_keys=True,
                                             default=str) + "\n")

    def write_zuul_vars(self, zuul: dict[str, Any]) -> None:
        self.zuul_vars.write_text(json.dumps({"zuul": zuul}, indent=2, sort_keys=True,
                                             default=str) + "\n")

    def write_config(self, *, forks: int = 10) -> None:
        self.config.write_text(ansible_config(self, forks=forks))

    def zuul_return(self) -> dict[str, Any]:
        """The data the job returned (``zuul_return``), or ``{}``."""
        try:
            data = json.loads(self.results.read_text() or "{}")
        except (OSError, ValueError):
            return {}
        returned = data.get("data", {}) if isinstance(data, dict) else {}
        return returned if isinstance(returned, dict) else {}


def ansible_config(jobdir: JobDir, *, forks: int) -> str:
    """An ansible.cfg that ignores every other Ansible configuration on the machine.

    Facts are gathered once per node and cached for the build's later playbooks, as Zuul
    does; ssh keeps one connection per node open across a playbook (pipelining on).
    """
    home = jobdir.home
    return "\n".join([
        "[defaults]",
        f"inventory = {jobdir.inventory}",
        f"action_plugins = {PLUGINS}/action_plugins",
        f"callback_plugins = {PLUGINS}/callback_plugins",
        "callbacks_enabled = keepgreen_events",
        "stdout_callback = default",
        "nocolor = True",
        "retry_files_enabled = False",
        "host_key_checking = True",
        "deprecation_warnings = False",
        "system_warnings = False",
        "gathering = smart",
        "fact_caching = jsonfile",
        f"fact_caching_connection = {jobdir.state / 'facts'}",
        f"local_tmp = {home / '.ansible' / 'tmp'}",
        f"collections_path = {home / '.ansible' / 'collections'}",
        "roles_path = " + ":".join(
            str(p) for p in (*jobdir.roles_path, home / ".ansible" / "roles")),
        f"forks = {forks}",
        "timeout = 30",
        "",
        "[ssh_connection]",
        "ssh_args = -F /dev/null -o BatchMode=yes -o ControlMaster=auto "
        "-o ControlPersist=60s -o ServerAliveInterval=30",
        "control_path_dir = /tmp/cp",
        "pipelining = True",
        "",
    ])


ROLE_FOLDERS = ("tasks", "handlers", "meta", "defaults", "vars", "library")


def _looks_like_a_role(folder: Path) -> bool:
    return any((folder / name).is_dir() for name in ROLE_FOLDERS)


def _readable_tree(root: Path) -> None:
    """Everyone may read (not write) the copies: the build user reads, root owns."""
    for folder, _dirs, files in os.walk(root):
        os.chmod(folder, 0o755)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755 if os.access(path, os.X_OK) else 0o644)


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid, follow_symlinks=False)
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            os.chown(os.path.join(folder, name), uid, gid, follow_symlinks=False)
