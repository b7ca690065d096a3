"""Running the real ``git review`` (git-review from PyPI) as a test user."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import GitUser

GIT_REVIEW_BIN = os.path.dirname(sys.executable)


def gitreview_clone(user: GitUser, project: str, dest: Path) -> Path:
    """Clone ``project`` and drop in the ``.gitreview`` a project would ship."""
    repo = user.clone(project, dest, hook=False)
    port = user.server.url.rstrip("/").rsplit(":", 1)[1]
    (repo / ".gitreview").write_text(
        f"[gerrit]\nhost=127.0.0.1\nport={port}\nproject={project}\n"
        "scheme=http\ndefaultbranch=main\n")
    # Present but not committed: keep it out of the changes under review.
    with open(repo / ".git" / "info" / "exclude", "a") as exclude:
        exclude.write(".gitreview\n")
    user.git("config", "gitreview.username", user.username or "", cwd=repo)
    return repo


def git_review(user: GitUser, repo: Path, *args: str,
               expect: int = 0) -> subprocess.CompletedProcess[str]:
    """Run ``git review`` as ``user`` in ``repo``; assert on its exit status."""
    env = dict(user.env, PATH=GIT_REVIEW_BIN + os.pathsep + user.env["PATH"])
    proc = subprocess.run(["git", "review", *args], cwd=repo, env=env, text=True,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert proc.returncode == expect, (
        f"git review {' '.join(args)} exited {proc.returncode}:\n"
        f"{proc.stdout}\n{proc.stderr}\n--- server log (tail) ---\n"
        f"{user.server.log()[-4000:]}")
    return proc


def review_change(user: GitUser, repo: Path, files: dict[str, str], message: str) -> None:
    """Commit ``files`` in a clone made by ``gitreview_clone`` and upload with ``git review``."""
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
        user.git("add", path, cwd=repo)
    user.git("commit", "-q", "-m", message, cwd=repo)
    git_review(user, repo)
