"""A bare repository for tests, with commits built by plumbing so every date and identity
is fixed by the test."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from keepgreen.domain.change import Person
from keepgreen.git.merges import Merger
from keepgreen.git.repos import EMPTY_TREE, CommitData, Repos

T0 = datetime(2024, 3, 1, 12, 0, 0)
ALICE = Person("Alice Author", "alice@example.com", T0)
CAROL = Person("Carol Committer", "carol@example.com", T0 + timedelta(days=1))
DAVE = Person("Dave Other", "dave@example.com", T0 + timedelta(days=2))


def _stamp(person: Person) -> str:
    return f"{int((person.date - datetime(1970, 1, 1)).total_seconds())} +0000"


class Repo:
    """One bare repository ``p`` plus a way to make commits in it."""

    def __init__(self, tmp_path: Path) -> None:
        self.repos = Repos(tmp_path / "git")
        self.repos.create("p", "main")
        self.merger = Merger(self.repos)
        self.index = tmp_path / "index"

    def git(self, *args: str, **kwargs: object) -> str:
        return self.repos.run("p", *args, **kwargs)  # type: ignore[arg-type]

    def commit(self, parent: str | None, files: dict[str, str | None], message: str = "work\n",
               author: Person = ALICE, committer: Person = ALICE,
               parents: tuple[str, ...] | None = None) -> str:
        """A commit on ``parent`` with ``files`` written (text) or removed (None)."""
        env = {"GIT_INDEX_FILE": str(self.index)}
        self.git("read-tree", parent or EMPTY_TREE, env=env)
        entries = []
        for path, content in files.items():
            if content is None:  # mode 0 removes the entry
                entries.append(f"0 {'0' * 40}\t{path}\n")
            else:
                blob = self.git("hash-object", "-w", "--stdin", input_text=content).strip()
                entries.append(f"100644 {blob}\t{path}\n")
        self.git("update-index", "--index-info", input_text="".join(entries), env=env)
        tree = self.git("write-tree", env=env).strip()
        parent_args = [a for p in (parents or ((parent,) if parent else ()))
                       for a in ("-p", p)]
        ident = {"GIT_AUTHOR_NAME": author.name, "GIT_AUTHOR_EMAIL": author.email,
                 "GIT_AUTHOR_DATE": _stamp(author), "GIT_COMMITTER_NAME": committer.name,
                 "GIT_COMMITTER_EMAIL": committer.email, "GIT_COMMITTER_DATE": _stamp(committer)}
        return self.git("commit-tree", tree, *parent_args, "-F", "-", input_text=message,
                        env=ident).strip()

    def read(self, rev: str, path: str) -> str:
        return self.git("cat-file", "blob", f"{rev}:{path}")

    def tree(self, rev: str) -> str:
        return self.git("rev-parse", f"{rev}^{{tree}}").strip()

    def paths(self, rev: str) -> list[str]:
        return self.git("ls-tree", "-r", "--name-only", rev).split()

    def commits(self) -> set[str]:
        out = self.git("cat-file", "--batch-all-objects",
                       "--batch-check=%(objecttype) %(objectname)")
        return {line.split()[1] for line in out.splitlines() if line.startswith("commit ")}

    def info(self, sha: str) -> CommitData:
        return self.repos.read_commits("p", [sha])[0]
