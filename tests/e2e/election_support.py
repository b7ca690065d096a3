"""Election helpers for end-to-end tests: an election file with windows relative to now,
the administrator's clone of config, and reading an election over the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.support import GitUser, Server


def when(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def election_file(project: str, extra: list[str], nomination: tuple[timedelta, timedelta],
                  voting: tuple[timedelta, timedelta]) -> str:
    return (f"team: team-{project.rsplit('/', 1)[1]}\n"
            f"description: The PTL election of {project}\n"
            f"projects: [{project}]\n"
            f"nomination: {{opens: {when(nomination[0])}, closes: {when(nomination[1])}}}\n"
            f"voting: {{opens: {when(voting[0])}, closes: {when(voting[1])}}}\n"
            f"extra-voters: [{', '.join(extra)}]\n"
            "officials: election-officials\n")


class Config:
    """The administrator's clone of config, pushed straight to main as officials do to
    change an election's schedule."""

    def __init__(self, admin: GitUser, path: Path) -> None:
        self.admin = admin
        self.repo = admin.clone("config", path)

    def publish(self, files: dict[str, str], message: str) -> None:
        self.admin.git("fetch", "-q", "origin", "main", cwd=self.repo)
        self.admin.git("reset", "-q", "--hard", "FETCH_HEAD", cwd=self.repo)
        for path, text in files.items():
            (self.repo / path).parent.mkdir(parents=True, exist_ok=True)
            (self.repo / path).write_text(text)
            self.admin.git("add", path, cwd=self.repo)
        self.admin.git("commit", "-q", "-m", message, cwd=self.repo)
        self.admin.git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=self.repo)


def api(server: Server, who: GitUser | None = None) -> httpx.Client:
    return server.client(who.username, who.password) if who else server.client()


def election(server: Server, name: str) -> Any:
    with server.admin_client() as c:
        found = c.get(f"/api/elections/{name}")
    return found.json() if found.status_code == 200 else None
