"""People who reach a test server over its SSH port with OpenSSH and git, each with a key
pair of their own, added to their account the way users add it: over REST."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.support import GitUser, Server

SSH_OPTIONS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR"]


def make_key(path: Path, kind: str = "ed25519") -> str:
    """A new key pair at ``path`` (and ``path.pub``); returns the public line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", path.name, "-f",
                    str(path)], check=True)
    return path.with_suffix(".pub").read_text()


def add_key(server: Server, user: GitUser, public: str) -> dict[str, Any]:
    with server.client(user.username, user.password) as c:
        r = c.post("/a/accounts/self/sshkeys", content=public,
                   headers={"Content-Type": "text/plain"})
    assert r.status_code == 201, r.text
    return dict(json.loads(r.text[5:]))


class SshUser:
    """``user`` with a key added to their account, and ssh and git commands that use it."""

    def __init__(self, server: Server, user: GitUser, key: Path | None = None,
                 register: bool = True) -> None:
        self.server = server
        self.user = user
        self.key = key or user.home / ".ssh" / "id_ed25519"
        if not self.key.exists():
            public = make_key(self.key)
            if register:
                add_key(server, user, public)
        ssh = " ".join(["ssh", "-i", str(self.key), *SSH_OPTIONS])
        user.env["GIT_SSH_COMMAND"] = ssh
        # For the tools that run ssh and scp themselves (git-review): the same options in
        # a config file, which OpenSSH reads from the account's home, not $HOME; so small
        # wrappers first on PATH hand it to the real programs.
        config = user.home / ".ssh" / "config"
        config.write_text(f"Host 127.0.0.1\n  IdentityFile {self.key}\n"
                          + "".join(f"  {o.replace('=', ' ', 1)}\n" for o in SSH_OPTIONS[1::2]))
        config.chmod(0o600)
        bin_dir = user.home / "bin"
        bin_dir.mkdir(exist_ok=True)
        for program in ("ssh", "scp"):
            real = shutil.which(program)
            wrapper = bin_dir / program
            wrapper.write_text(f'#!/bin/sh\nexec {real} -F {config} "$@"\n')
            wrapper.chmod(0o755)
        if not user.env["PATH"].startswith(str(bin_dir)):
            user.env["PATH"] = f"{bin_dir}{os.pathsep}{user.env['PATH']}"

    @property
    def username(self) -> str:
        assert self.user.username
        return self.user.username

    def url(self, project: str) -> str:
        return f"ssh://{self.username}@127.0.0.1:{self.server.ssh_port}/{project}"

    def ssh(self, *command: str, input_text: str | None = None, timeout: float = 60,
            as_name: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``command`` over ssh with this key (signing in as ``as_name`` if given)."""
        return subprocess.run(
            ["ssh", "-p", str(self.server.ssh_port), "-i", str(self.key), *SSH_OPTIONS,
             f"{as_name or self.username}@127.0.0.1", *command],
            capture_output=True, text=True, input=input_text, timeout=timeout,
            env=self.user.env)

    def json_lines(self, *command: str) -> list[dict[str, Any]]:
        done = self.ssh(*command)
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    def clone(self, project: str, dest: Path) -> Path:
        self.user.git("clone", "-q", self.url(project), str(dest))
        hook = dest / ".git" / "hooks" / "commit-msg"
        hook.write_bytes(httpx.get(self.server.url + "tools/hooks/commit-msg").content)
        hook.chmod(0o755)
        return dest
