"""Writing a folder of files as a commit on a branch of a bare repository.

``keepgreen init`` uses it to give the ``config`` project its first state from
``keepgreen/siteconf/seed/``.
The commit is made with git's own plumbing on a private index, so no work tree is needed
and the branch moves only once the commit exists.
"""

from __future__ import annotations

import tempfile
from datetime import UTC
from pathlib import Path

from keepgreen.domain.change import Person
from keepgreen.domain.project import SITE_CONFIG
from keepgreen.domain.refs import ZERO
from keepgreen.git.repos import Repos
from keepgreen.siteconf import SEED

CONFIG_PROJECT = SITE_CONFIG


def commit_folder(repos: Repos, project: str, branch: str, folder: Path, who: Person,
                  message: str) -> str:
    """Commit every file under ``folder`` as the whole tree of a new root commit on
    ``branch`` (which must not exist yet); returns the commit's sha."""
    stamp = f"{int(who.date.replace(tzinfo=UTC).timestamp())} +0000"
    with tempfile.TemporaryDirectory(prefix="keepgreen-seed-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), "GIT_WORK_TREE": str(folder),
               "GIT_AUTHOR_NAME": who.name, "GIT_AUTHOR_EMAIL": who.email,
               "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_NAME": who.name,
               "GIT_COMMITTER_EMAIL": who.email, "GIT_COMMITTER_DATE": stamp}
        # __pycache__ and editor leftovers are never part of the seed.
        repos.run(project, "add", "--all", "--", ".", ":!**/__pycache__/**", env=env)
        tree = repos.run(project, "write-tree", env=env).strip()
        sha = repos.run(project, "commit-tree", tree, "-m", message, env=env).strip()
    repos.update_refs(project, [(f"refs/heads/{branch}", sha, ZERO)])
    return sha


def seed_files() -> dict[str, str]:
    """The seed as path -> text, for tests and for ``keepgreen init``'s summary."""
    return {str(p.relative_to(SEED)): p.read_text() for p in sorted(SEED.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}
