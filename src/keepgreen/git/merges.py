"""Merges, cherry-picks, rebases and diffs without a work tree.

Everything runs in the bare repository with ``git merge-tree --write-tree`` and
``git commit-tree``, so git's own merge semantics apply and no checkout is ever made.
Commit dates are given by the caller, so the same inputs always give the same commits.

Merging against a chosen base (cherry-picks, trivial-rebase detection) cannot use
``merge-tree --merge-base``: that option only exists from git 2.40 on. Instead three
throw-away commits are written to a scratch object directory: one holding the base's
tree, and two children of it holding the trees of "ours" and "theirs". Merging the two
children makes git find exactly that base. The scratch directory is an alternate object
store for the merge only, so those commits never enter the repository, while the merged
tree and blobs are written to the repository as usual.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC

from keepgreen.domain.change import Person
from keepgreen.git.repos import EMPTY_TREE, GitError, Repos

NO_CHANGE = "NO_CHANGE"
NO_CODE_CHANGE = "NO_CODE_CHANGE"
TRIVIAL_REBASE = "TRIVIAL_REBASE"
TRIVIAL_REBASE_WITH_MESSAGE_UPDATE = "TRIVIAL_REBASE_WITH_MESSAGE_UPDATE"
MERGE_FIRST_PARENT_UPDATE = "MERGE_FIRST_PARENT_UPDATE"
REWORK = "REWORK"

_ZERO_OID = "0" * 40
# Identity of the scratch commits that pin a merge base; fixed, so they are reproducible.
_SCRATCH_IDENT = {
    "GIT_AUTHOR_NAME": "keepgreen", "GIT_AUTHOR_EMAIL": "keepgreen@localhost",
    "GIT_AUTHOR_DATE": "1000000000 +0000", "GIT_COMMITTER_NAME": "keepgreen",
    "GIT_COMMITTER_EMAIL": "keepgreen@localhost", "GIT_COMMITTER_DATE": "1000000000 +0000",
}


class MergeConflict(Exception):
    """The merge (or cherry-pick, or rebase) conflicts in ``files``."""

    def __init__(self, files: tuple[str, ...], message: str = "") -> None:
        super().__init__(message or f"conflicts in {', '.join(files)}")
        self.files = files


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # "A", "D", "R", "C", "M" (modified), "T" (type change)
    old_path: str | None
    lines_inserted: int
    lines_deleted: int
    size: int
    size_delta: int
    binary: bool = False


@dataclass(frozen=True)
class _Commit:
    tree: str
    parents: tuple[str, ...]
    author: tuple[str, str, str]  # name, email, git date ("<epoch> <+hhmm>")
    message: str  # exactly as stored, usually ending in a newline


def _stamp(person: Person) -> str:
    return f"{int(person.date.replace(tzinfo=UTC).timestamp())} +0000"


def _ident_env(committer: Person, author: tuple[str, str, str] | None = None) -> dict[str, str]:
    name, email, date = author or (committer.name, committer.email, _stamp(committer))
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_NAME": committer.name, "GIT_COMMITTER_EMAIL": committer.email,
            "GIT_COMMITTER_DATE": _stamp(committer)}


def _is_oid(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def _complete_line(message: str) -> str:
    return message if message.endswith("\n") else message + "\n"


class Merger:
    def __init__(self, repos: Repos) -> None:
        self.repos = repos

    def merge_tree(self, project: str, ours: str, theirs: str,
                   merge_base: str | None = None) -> str:
        """The tree of merging ``theirs`` into ``ours``; raises MergeConflict."""
        if merge_base is None:
            return self._write_merge(project, ours, theirs, {})
        base, ours_tree, theirs_tree = self._rev_parse(
            project, f"{merge_base}^{{tree}}", f"{ours}^{{tree}}", f"{theirs}^{{tree}}")
        return self._merge_trees(project, base, ours_tree, theirs_tree)

    def merge_commit(self, project: str, ours: str, theirs: str, message: str,
                     committer: Person) -> str:
        """A merge commit with parents (ours, theirs); raises MergeConflict."""
        tree = self.merge_tree(project, ours, theirs)
        return self.repos.run(project, "commit-tree", tree, "-p", ours, "-p", theirs,
                              "-m", message, env=_ident_env(committer)).strip()

    def squash_commit(self, project: str, ours: str, theirs: str, message: str,
                      committer: Person) -> str:
        """One commit with the tree of merging ``theirs`` into ``ours`` and ``ours`` as its
        only parent (``git merge --squash`` then commit); raises MergeConflict."""
        tree = self.merge_tree(project, ours, theirs)
        return self.repos.run(project, "commit-tree", tree, "-p", ours, "-m", message,
                              env=_ident_env(committer)).strip()

    def cherry_pick(self, project: str, commit: str, onto: str, committer: Person,
                    message: str | None = None) -> str:
        """``commit`` re-applied on ``onto`` (author kept, committer given).

        The merge base is the commit's first parent (the empty tree for a root commit), so
        a merge commit is picked relative to its first parent, like ``cherry-pick -m 1``.
        When ``onto`` already contains the change the picked commit is empty (its tree is
        ``onto``'s tree); it is created all the same, as Gerrit's cherry-pick may do.
        """
        picked = self._read_commit(project, commit)
        if picked.parents:
            base, onto_tree = self._rev_parse(
                project, f"{picked.parents[0]}^{{tree}}", f"{onto}^{{tree}}")
        else:
            base, (onto_tree,) = EMPTY_TREE, self._rev_parse(project, f"{onto}^{{tree}}")
        tree = self._merge_trees(project, base, onto_tree, picked.tree)
        text = picked.message if message is None else _complete_line(message)
        return self.repos.run(project, "commit-tree", tree, "-p", onto, "-F", "-",
                              input_text=text, env=_ident_env(committer, picked.author)).strip()

    def rebase(self, project: str, commits: list[str], onto: str,
               committer: Person) -> list[str]:
        """Re-apply ``commits`` (oldest first) on ``onto``; the new commits, in order."""
        result: list[str] = []
        for commit in commits:
            onto = self.cherry_pick(project, commit, onto, committer)
            result.append(onto)
        return result

    def change_kind(self, project: str, old: str, new: str) -> str:
        """Gerrit's change kind of patch set ``new`` relative to ``old``.

        As in Gerrit, "same delta" means the same tree on top of parents with the same
        trees (not necessarily the same parent commits); messages are compared exactly.
        """
        prior, nxt = self._read_commit(project, old), self._read_commit(project, new)
        same_message = prior.message == nxt.message
        if prior.tree == nxt.tree and len(prior.parents) == len(nxt.parents):
            trees = self._rev_parse(project, *(f"{p}^{{tree}}"
                                               for p in prior.parents + nxt.parents))
            half = len(prior.parents)
            if trees[:half] == trees[half:]:
                return NO_CHANGE if same_message else NO_CODE_CHANGE
        if (not prior.parents or len(prior.parents) != len(nxt.parents)
                or prior.parents[0] == nxt.parents[0]
                or prior.parents[1:] != nxt.parents[1:]):
            return REWORK
        # Trivial rebase: cherry-picking the old commit onto the new first parent gives
        # exactly the new tree.
        base, new_parent = self._rev_parse(
            project, f"{prior.parents[0]}^{{tree}}", f"{nxt.parents[0]}^{{tree}}")
        try:
            tree = self._merge_trees(project, base, new_parent, prior.tree)
        except MergeConflict:
            return REWORK
        if tree != nxt.tree:
            return REWORK
        if len(prior.parents) == 1:
            return TRIVIAL_REBASE if same_message else TRIVIAL_REBASE_WITH_MESSAGE_UPDATE
        return MERGE_FIRST_PARENT_UPDATE if same_message else REWORK

    def files(self, project: str, commit: str, base: str | None = None) -> list[FileChange]:
        """Files ``commit`` changes against ``base`` (default: its first parent)."""
        if base is None:
            parents = self._read_commit(project, commit).parents
            base = parents[0] if parents else EMPTY_TREE
        out = self.repos.run(project, "diff-tree", "-r", "-M", "--raw", "--numstat", "-z",
                             base, commit)
        tokens = out.split("\0")
        i = 0
        raw: list[tuple[str, str | None, str, str, str]] = []  # path, old, status, oids
        while i < len(tokens) and tokens[i].startswith(":"):
            _, _, old_oid, new_oid, status = tokens[i][1:].split(" ")
            if status[0] in "RC":
                raw.append((tokens[i + 2], tokens[i + 1], status[0], old_oid, new_oid))
                i += 3
            else:
                raw.append((tokens[i + 1], None, status[0], old_oid, new_oid))
                i += 2
        numstat: dict[str, tuple[str, str]] = {}
        while i < len(tokens) and tokens[i]:
            added, deleted, path = tokens[i].split("\t", 2)
            if path:
                i += 1
            else:  # a rename or copy: the old and new paths follow
                path, i = tokens[i + 2], i + 3
            numstat[path] = (added, deleted)
        sizes = self._sizes(project, {oid for entry in raw for oid in entry[3:]})
        result = []
        for path, old_path, status, old_oid, new_oid in raw:
            added, deleted = numstat.get(path, ("0", "0"))
            binary = added == "-"
            new_size, old_size = sizes.get(new_oid, 0), sizes.get(old_oid, 0)
            result.append(FileChange(
                path=path, status=status, old_path=old_path,
                lines_inserted=0 if binary else int(added),
                lines_deleted=0 if binary else int(deleted),
                size=new_size, size_delta=new_size - old_size, binary=binary))
        return sorted(result, key=lambda change: change.path)

    # -- helpers -----------------------------------------------------------------------

    def _rev_parse(self, project: str, *revs: str) -> list[str]:
        if not revs:
            return []
        return self.repos.run(project, "rev-parse", *revs).split()

    def _read_commit(self, project: str, rev: str) -> _Commit:
        raw = self.repos.run(project, "cat-file", "commit", rev)
        header, _, message = raw.partition("\n\n")
        tree, author = "", ("", "", "")
        parents: list[str] = []
        for line in header.split("\n"):
            key, _, value = line.partition(" ")
            if key == "tree":
                tree = value
            elif key == "parent":
                parents.append(value)
            elif key == "author":
                lt, gt = value.index("<"), value.rindex(">")
                author = (value[:lt].strip(), value[lt + 1:gt], value[gt + 1:].strip())
        return _Commit(tree, tuple(parents), author, message)

    def _sizes(self, project: str, oids: set[str]) -> dict[str, int]:
        wanted = sorted(oids - {_ZERO_OID, "0" * 64})
        if not wanted:
            return {}
        out = self.repos.run(project, "cat-file", "--batch-check=%(objectname) %(objectsize)",
                             input_text="".join(f"{oid}\n" for oid in wanted))
        sizes = {}
        for line in out.splitlines():
            oid, _, size = line.partition(" ")
            if size.isdigit():  # gitlinks (submodules) are "missing": size 0
                sizes[oid] = int(size)
        return sizes

    def _merge_trees(self, project: str, base: str, ours: str, theirs: str) -> str:
        """Three-way merge of trees with a given base (see the module docstring)."""
        with tempfile.TemporaryDirectory(prefix="keepgreen-merge-") as scratch:
            env = {**_SCRATCH_IDENT, "GIT_OBJECT_DIRECTORY": scratch,
                   "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(self.repos.path(project) / "objects")}
            root = self.repos.run(project, "commit-tree", base, "-m", "base", env=env).strip()
            ours_c, theirs_c = (
                self.repos.run(project, "commit-tree", tree, "-p", root, "-m", label,
                               env=env).strip()
                for tree, label in ((ours, "ours"), (theirs, "theirs")))
            return self._write_merge(project, ours_c, theirs_c,
                                     {"GIT_ALTERNATE_OBJECT_DIRECTORIES": scratch})

    def _write_merge(self, project: str, ours: str, theirs: str, env: dict[str, str]) -> str:
        # The exit status is what tells a conflict from a clean merge.
        proc = self.repos.process(project, "merge-tree", "--write-tree", "--name-only",
                                  "--no-messages", "-z", ours, theirs, env=env)
        tree, _, rest = proc.stdout.partition("\0")
        # git 2.39 also exits 1 for unknown revisions, but then prints no tree.
        if proc.returncode in (0, 1) and _is_oid(tree):
            if proc.returncode == 0:
                return tree
            files = tuple(sorted({name for name in rest.split("\0") if name}))
            raise MergeConflict(files, "" if files else "the merge conflicts")
        raise GitError(f"git merge-tree failed: {proc.stderr.strip() or proc.stdout.strip()}")
