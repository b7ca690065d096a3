"""Test support: a real keepgreen server in a subprocess, and git users with their own HOME.

Nothing here fakes the product: the server is ``keepgreen serve`` on a free loopback port,
and every git operation is the real ``git`` binary with an isolated configuration.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parent.parent
KEEPGREEN = [sys.executable, "-m", "keepgreen"]


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports: every socket is held open until all are chosen, so the
    kernel cannot hand the same port out twice."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def gerrit_json(response: httpx.Response) -> Any:
    assert response.text.startswith(")]}'\n"), response.text[:200]
    return json.loads(response.text[5:])


@dataclass
class Server:
    site: Path
    url: str
    admin: str
    admin_password: str
    process: subprocess.Popen[bytes]
    log_path: Path
    ssh_port: int = 0

    def client(self, user: str | None = None, password: str | None = None) -> httpx.Client:
        auth = (user, password) if user else None
        return httpx.Client(base_url=self.url, auth=auth, timeout=30)

    def admin_client(self) -> httpx.Client:
        return self.client(self.admin, self.admin_password)

    def create_account(self, username: str, password: str | None = None,
                       groups: list[str] | None = None) -> str:
        password = password or f"pw-{username}-{uuid.uuid4().hex[:8]}"
        with self.admin_client() as c:
            r = c.put(f"/a/accounts/{username}", json={
                "name": username.title(), "email": f"{username}@example.org",
                "http_password": password, "groups": groups or []})
            assert r.status_code == 201, r.text
        return password

    def create_project(self, name: str, empty_commit: bool = True) -> None:
        with self.admin_client() as c:
            r = c.put(f"/a/projects/{quote(name, safe='')}",
                      json={"create_empty_commit": empty_commit})
            assert r.status_code == 201, r.text

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def kill_and_restart(server: Server) -> None:
    """``kill -9`` the server's process group, then serve the same site again."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()
    log = open(server.log_path, "ab")  # noqa: SIM115 - owned by the process
    server.process = subprocess.Popen(
        [*KEEPGREEN, "serve", str(server.site)], stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("KEEPGREEN_")})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with server.client() as c:
                if c.get("/config/server/version").status_code == 200:
                    return
        except Exception:  # noqa: BLE001 - not listening yet
            pass
        time.sleep(0.2)
    raise AssertionError(f"the server did not come back:\n{server.log()[-3000:]}")


def start_server(site: Path, database_url: str | None = None,
                 extra_env: dict[str, str] | None = None) -> Server:
    port, ssh_port = free_ports(2)
    password = "admin-" + uuid.uuid4().hex[:12]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPGREEN_")}
    env.update(extra_env or {})
    init = [*KEEPGREEN, "init", str(site), "--admin", "admin", "--admin-password", password,
            "--listen", f"127.0.0.1:{port}"]
    if database_url:
        init += ["--database", database_url]
    subprocess.run(init, check=True, capture_output=True, env=env)
    # Each test server has an SSH port of its own, so servers started side by side (and
    # restarted ones, which read the site file) never share 29418.
    with open(site / "keepgreen.toml", "a") as site_file:
        site_file.write(f'ssh_listen = "127.0.0.1:{ssh_port}"\n')
    log_path = site / "logs" / "server.log"
    log = open(log_path, "ab")  # noqa: SIM115 - owned by the process for its lifetime
    process = subprocess.Popen([*KEEPGREEN, "serve", str(site)], stdout=log,
                               stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(url + "config/server/version", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    else:
        process.kill()
        raise RuntimeError(f"server did not start:\n{log_path.read_text()}")
    return Server(site, url, "admin", password, process, log_path, ssh_port)


@dataclass
class GitUser:
    """Someone with a git configuration of their own, talking to ``server`` over HTTP."""

    home: Path
    server: Server
    username: str | None = None
    password: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.env = {
            "HOME": str(self.home), "PATH": os.environ["PATH"], "LC_ALL": "C",
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": self.username or "Anonymous",
            "GIT_AUTHOR_EMAIL": f"{self.username or 'anon'}@example.org",
            "GIT_COMMITTER_NAME": self.username or "Anonymous",
            "GIT_COMMITTER_EMAIL": f"{self.username or 'anon'}@example.org",
        }
        self.git("config", "--global", "init.defaultBranch", "main")
        if self.username:
            self.git("config", "--global", "credential.helper", "store")
            host = self.server.url.removeprefix("http://").rstrip("/")
            (self.home / ".git-credentials").write_text(
                f"http://{self.username}:{quote(self.password or '', safe='')}@{host}\n")

    def git(self, *args: str, cwd: Path | None = None, check: bool = True,
            input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(["git", *args], cwd=cwd, env=self.env, capture_output=True,
                              text=True, input=input_text, timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    def url(self, project: str, prefix: str = "") -> str:
        return f"{self.server.url}{prefix}{project}"

    def clone(self, project: str, dest: Path, prefix: str = "",
              hook: bool = True) -> Path:
        self.git("clone", "-q", self.url(project, prefix), str(dest))
        if hook:
            hook_path = dest / ".git" / "hooks" / "commit-msg"
            hook_path.write_bytes(httpx.get(self.server.url + "tools/hooks/commit-msg").content)
            hook_path.chmod(0o755)
        return dest

    def commit(self, repo: Path, path: str, content: str, message: str) -> str:
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        self.git("add", path, cwd=repo)
        self.git("commit", "-q", "-m", message, cwd=repo)
        return self.git("rev-parse", "HEAD", cwd=repo).stdout.strip()

    def push(self, repo: Path, refspec: str = "HEAD:refs/for/main", *options: str,
             check: bool = False) -> subprocess.CompletedProcess[str]:
        args = ["push"]
        for option in options:
            args += ["-o", option]
        return self.git(*args, "origin", refspec, cwd=repo, check=check)


def run_async(coroutine: Any) -> Any:
    """``asyncio.run`` in a thread of its own: a browser test earlier in the same worker
    (Playwright's sync API) leaves an event loop running in the main thread, where
    ``asyncio.run`` refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
