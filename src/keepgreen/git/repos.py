"""Bare repositories on disk, driven through the ``git`` binary.

Every call is one short ``git`` process with a fixed environment (no user or system
configuration leaks in), so behaviour does not depend on who runs the server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from keepgreen.domain.change import Person
from keepgreen.domain.refs import ZERO

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class GitError(RuntimeError):
    """A git command failed; the message holds git's own words."""


@dataclass(frozen=True)
class CommitData:
    sha: str
    parents: tuple[str, ...]
    author: Person
    committer: Person
    message: str


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null", GIT_TERMINAL_PROMPT="0",
               LC_ALL="C")
    return env


class Repos:
    """All bare repositories of one site, under ``root`` as ``<project>.git``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.git = shutil.which("git") or "git"
        self._env = _clean_env()

    def path(self, project: str) -> Path:
        return self.root / f"{project}.git"

    def exists(self, project: str) -> bool:
        return (self.path(project) / "HEAD").exists()

    def remove(self, project: str) -> None:
        """Delete a repository (only used to undo a creation that failed half-way)."""
        shutil.rmtree(self.path(project), ignore_errors=True)

    def process(self, project: str, *args: str, stdin: str | bytes | None = None,
                env: dict[str, str] | None = None,
                text: bool = True) -> subprocess.CompletedProcess[Any]:
        """Run one git command in the repository and return it finished, whatever its exit
        status (for the commands whose status is the answer); ``text=False`` keeps its
        output as bytes."""
        return subprocess.run(
            [self.git, "--git-dir", str(self.path(project)), *args],
            input=stdin, capture_output=True, text=text, env={**self._env, **(env or {})})

    def run(self, project: str, *args: str, input_text: str | None = None,
            env: dict[str, str] | None = None, check: bool = True) -> str:
        proc = self.process(project, *args, stdin=input_text, env=env)
        if check and proc.returncode != 0:
            raise GitError(f"git {args[0]} failed: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc.stdout

    def create(self, project: str, head_branch: str) -> None:
        path = self.path(project)
        path.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [self.git, "init", "--quiet", "--bare", f"--initial-branch={head_branch}", str(path)],
            capture_output=True, text=True, env=self._env)
        if proc.returncode != 0:
            raise GitError(f"git init failed: {proc.stderr.strip()}")
        # Pushes that arrive while a gc runs must never lose objects.
        self.run(project, "config", "gc.auto", "0")

    def create_empty_commit(self, project: str, branch: str, who: Person, message: str) -> str:
        stamp = f"{int(who.date.replace(tzinfo=UTC).timestamp())} +0000"
        env = {"GIT_AUTHOR_NAME": who.name, "GIT_AUTHOR_EMAIL": who.email,
               "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_NAME": who.name,
               "GIT_COMMITTER_EMAIL": who.email, "GIT_COMMITTER_DATE": stamp}
        sha = self.run(project, "commit-tree", EMPTY_TREE, "-m", message, env=env).strip()
        self.update_refs(project, [(f"refs/heads/{branch}", sha, ZERO)])
        return sha

    def head(self, project: str) -> str:
        return self.run(project, "symbolic-ref", "HEAD").strip()

    def refs(self, project: str, *prefixes: str) -> list[tuple[str, str]]:
        """(ref, object) pairs under the prefixes (default: branches)."""
        out = self.run(project, "for-each-ref", "--format=%(refname) %(objectname)",
                       *(prefixes or ("refs/heads/",)))
        return [tuple(line.split(" ", 1)) for line in out.splitlines()]  # type: ignore[misc]

    def ref_names(self, project: str, prefix: str) -> set[str]:
        """Names of the refs under ``prefix``, read from the repository's files.

        Cheaper than a git process on the push path; git keeps refs as loose files or in
        ``packed-refs`` (this git has no other ref storage).
        """
        root = self.path(project)
        names = set()
        packed = root / "packed-refs"
        if packed.exists():
            for line in packed.read_text(errors="replace").splitlines():
                parts = line.split(" ", 1)
                if len(parts) == 2 and not line.startswith(("#", "^")):
                    if parts[1].startswith(prefix):
                        names.add(parts[1])
        base = root / prefix
        if base.is_dir():
            for path in base.rglob("*"):
                if path.is_file() and not path.name.endswith(".lock"):
                    names.add(prefix + path.relative_to(base).as_posix())
        return names

    def resolve(self, project: str, ref: str) -> str | None:
        out = self.run(project, "rev-parse", "--verify", "--quiet", ref + "^{commit}",
                       check=False).strip()
        return out or None

    def read_blob(self, project: str, rev: str, path: str, limit: int) -> bytes | None:
        """The bytes of ``path`` at commit ``rev``; None when it is not a file there. Raises
        GitError when the file is larger than ``limit`` bytes."""
        spec = f"{rev}:{path}"
        where = ["--git-dir", str(self.path(project))]
        kind = subprocess.run([self.git, *where, "cat-file", "-t", spec], capture_output=True,
                              text=True, env=self._env)
        if kind.returncode != 0 or kind.stdout.strip() != "blob":
            return None
        size = int(self.run(project, "cat-file", "-s", spec).strip())
        if size > limit:
            raise GitError(f"{path} is {size} bytes, more than the {limit} bytes served")
        proc = subprocess.run([self.git, *where, "cat-file", "blob", spec], capture_output=True,
                              env=self._env)
        return proc.stdout if proc.returncode == 0 else None

    def is_ancestor(self, project: str, ancestor: str, descendant: str) -> bool:
        proc = subprocess.run(
            [self.git, "--git-dir", str(self.path(project)), "merge-base", "--is-ancestor",
             ancestor, descendant], capture_output=True, env=self._env)
        return proc.returncode == 0

    def read_commits(self, project: str, shas: list[str]) -> list[CommitData]:
        if not shas:
            return []
        out = self.run(project, "show", "-s", "--no-walk=unsorted", f"--format={_FORMAT}%x1e",
                       "--encoding=UTF-8", *shas)
        return [_parse_commit(r.lstrip("\n")) for r in out.split("\x1e") if r.strip()]

    def update_refs(self, project: str, updates: list[tuple[str, str, str]]) -> None:
        """Apply (ref, new, old) updates all or nothing; ``old`` guards against races (an
        empty ``old`` sets the ref whatever it held)."""
        lines = ["start"]
        for ref, new, old in updates:
            if new == ZERO:
                lines.append(f"delete {ref} {old}")
            elif old:
                lines.append(f"update {ref} {new} {old}")
            else:  # whatever the ref held before
                lines.append(f"update {ref} {new}")
        lines += ["prepare", "commit", ""]
        self.run(project, "update-ref", "--stdin", input_text="\n".join(lines))


@dataclass(frozen=True)
class FileStats:
    """What a commit changes: paths touched and lines inserted and deleted in all."""

    paths: tuple[str, ...]
    inserted: int
    deleted: int


_FORMAT = "%H%x00%P%x00%an%x00%ae%x00%at%x00%cn%x00%ce%x00%ct%x00%B%x00"


def _parse_commit(record: str) -> CommitData:
    sha, parents, an, ae, at, cn, ce, ct, body, _ = record.split("\x00", 9)
    return CommitData(sha, tuple(parents.split()), Person(an, ae, _stamp(at)),
                      Person(cn, ce, _stamp(ct)), body)


def _stamp(epoch: str) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC).replace(tzinfo=None)
