"""Comments of earlier patch sets shown on a later one (Gerrit's ported comments).

Published comments are ported when their thread is unresolved; a reviewer's own drafts
always are. Each keeps its id, author and patch set; only its place (path, line, range)
is worked out anew for the target patch set, so a reply goes to the original comment.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from keepgreen.domain.account import Principal
from keepgreen.domain.change import Change, PatchSet
from keepgreen.domain.porting import line_map, ported_position
from keepgreen.git.repos import GitError, Repos
from keepgreen.services.errors import Unauthorized
from keepgreen.store import review as review_store
from keepgreen.store.db import Database

PATCHSET_LEVEL = "/PATCHSET_LEVEL"
COMMIT_MSG = "/COMMIT_MSG"
MAX_FILE_BYTES = 2 * 1024 * 1024


class CommentPorter:
    def __init__(self, db: Database, repos: Repos) -> None:
        self.db = db
        self.repos = repos

    def ported(self, who: Principal, change: Change, sets: list[PatchSet], target: PatchSet,
               drafts: bool) -> list[SimpleNamespace]:
        """The comments (or ``who``'s drafts) of patch sets before ``target``, placed on
        ``target``."""
        drafts_of = None
        if drafts:
            if who.account is None:
                raise Unauthorized("ported drafts need you to sign in")
            drafts_of = who.account.id
        with self.db.read() as conn:
            rows = review_store.comments_of(conn, change.number, drafts_of)
        if not drafts:
            rows = _unresolved_threads(rows)
        earlier = {ps.number: ps for ps in sets if ps.number < target.number}
        placer = _Placer(self.repos, change.project, target)
        result = []
        for row in rows:
            source = earlier.get(row.patch_set)
            if source is None:
                continue
            values = dict(row._mapping)
            values["path"], values["line"], values["range"] = placer.place(
                source, row.path, row.side, row.line, row.range)
            result.append(SimpleNamespace(**values))
        return result


def _unresolved_threads(rows: list[Any]) -> list[Any]:
    """The comments whose thread (a comment and its replies) ends unresolved."""
    by_id = {r.id: r for r in rows}

    def root(comment_id: str) -> str:
        seen = set()
        while by_id[comment_id].in_reply_to in by_id and comment_id not in seen:
            seen.add(comment_id)
            comment_id = by_id[comment_id].in_reply_to
        return comment_id

    latest: dict[str, Any] = {}
    for row in rows:
        key = root(row.id)
        if key not in latest or row.updated >= latest[key].updated:
            latest[key] = row
    return [r for r in rows if latest[root(r.id)].unresolved]


class _Placer:
    """Works out where comments of earlier patch sets go on the target, reading each
    pair of file versions once."""

    def __init__(self, repos: Repos, project: str, target: PatchSet) -> None:
        self.repos = repos
        self.project = project
        self.target = target
        self._maps: dict[tuple[str, str, str], dict[int, int] | None] = {}
        self._files: dict[tuple[str, str], list[str] | None] = {}

    def place(self, source: PatchSet, path: str, side: str, line: int | None,
              range_: Any) -> tuple[str, int | None, Any]:
        if path == PATCHSET_LEVEL:
            return path, None, None
        if path == COMMIT_MSG:
            mapping: dict[int, int] | None = line_map(_message_lines(source),
                                                      _message_lines(self.target))
        else:
            old_rev = source.sha if side != "PARENT" else (source.parents or (None,))[0]
            new_rev = self.target.sha if side != "PARENT" else (self.target.parents
                                                                or (None,))[0]
            if new_rev is None or self._lines(new_rev, path) is None:
                return PATCHSET_LEVEL, None, None  # the file is gone from the target
            mapping = self._map(old_rev, new_rev, path)
        new_line, new_range = ported_position(mapping, line, range_)
        return path, new_line, new_range

    def _map(self, old_rev: str | None, new_rev: str, path: str) -> dict[int, int] | None:
        key = (old_rev or "", new_rev, path)
        if key not in self._maps:
            old = self._lines(old_rev, path) if old_rev else None
            new = self._lines(new_rev, path)
            self._maps[key] = (line_map(old, new) if old is not None and new is not None
                               else None)
        return self._maps[key]

    def _lines(self, rev: str, path: str) -> list[str] | None:
        if (rev, path) not in self._files:
            try:
                data = self.repos.read_blob(self.project, rev, path, MAX_FILE_BYTES)
            except GitError:
                data = None
            self._files[rev, path] = (data.decode("utf-8", errors="replace").split("\n")
                                      if data is not None else None)
        return self._files[rev, path]


def _message_lines(ps: PatchSet) -> list[str]:
    """``/COMMIT_MSG`` line by line, its header reduced to what stays put between patch
    sets (dates and committers change with every upload)."""
    header = ["Parent:"] + ["Merge Of:"] * (len(ps.parents) - 1)
    return [*header, "Author:", "AuthorDate:", "Commit:", "CommitDate:", "",
            *ps.message.split("\n")]

