"""Trees changed file by file without a work tree: what a change edit is made of.

Each call opens the bare repository, writes what it must (blobs, one tree) into its object
store and answers object ids; refs are left to the caller, so nothing is visible until the
caller points a ref at a commit of the new tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pygit2

FILE_MODE = 0o100644
EXECUTABLE_MODE = 0o100755
LINK_MODE = 0o120000
GITLINK_MODE = 0o160000


class TreeEditError(Exception):
    """The edit cannot be made on that tree; the message says why, in one sentence."""


@dataclass(frozen=True)
class TreeFile:
    """One file of a tree: its blob and mode."""

    oid: str
    mode: int


def _repo(path: Path) -> pygit2.Repository:
    return pygit2.Repository(str(path))


def tree_of(path: Path, commit: str) -> str:
    return str(_repo(path)[commit].peel(pygit2.Tree).id)


def file_in(path: Path, tree: str, name: str) -> TreeFile | None:
    """The file ``name`` of ``tree``; None when it is not there or not a file."""
    found = _entries(_repo(path), tree).get(name)
    return found


def blob_size(path: Path, oid: str) -> int:
    return int(_repo(path)[oid].peel(pygit2.Blob).size)


def _entries(repo: pygit2.Repository, tree: str) -> dict[str, TreeFile]:
    index = pygit2.Index()
    index.read_tree(repo[tree].peel(pygit2.Tree))
    return {entry.path: TreeFile(str(entry.id), int(entry.mode)) for entry in index}


def edit_tree(path: Path, tree: str, put: Mapping[str, bytes | TreeFile],
              remove: set[str], modes: dict[str, int] | None = None) -> str:
    """``tree`` with each ``put`` path holding the given content (in the mode ``modes``
    gives; else new files are ordinary and existing ones keep theirs) and each ``remove``
    path gone; the new tree's id.

    Raises TreeEditError when a path would be both a file and a directory, or names a
    submodule."""
    repo = _repo(path)
    index = pygit2.Index()
    index.read_tree(repo[tree].peel(pygit2.Tree))
    present = {entry.path: int(entry.mode) for entry in index}
    for name in remove:
        if name in present:
            index.remove(name)
            del present[name]
    for name, content in put.items():
        mode = present.get(name)
        if mode == GITLINK_MODE:
            raise TreeEditError(f"{name} is a submodule; its content cannot be edited")
        prefix = name + "/"
        if any(other.startswith(prefix) for other in present):
            raise TreeEditError(f"{name} is a directory")
        parts = name.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in present:
                raise TreeEditError(f"{'/'.join(parts[:i])} is a file, not a directory")
        if isinstance(content, TreeFile):
            oid, mode = pygit2.Oid(hex=content.oid), content.mode
        else:
            oid = repo.create_blob(content)
            mode = (modes or {}).get(name) or mode or FILE_MODE
        index.add(pygit2.IndexEntry(name, oid, pygit2.enums.FileMode(mode)))
        present[name] = mode
    return str(index.write_tree(repo))


def read_blob(path: Path, oid: str) -> bytes:
    return bytes(_repo(path)[oid].peel(pygit2.Blob).data)
