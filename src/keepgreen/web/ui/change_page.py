"""The change page: ``/c/<project>/+/<n>``, ``/c/<project>/+/<n>/<ps>`` and
``/c/<project>/+/<n>/<base>..<ps>`` (the diff between two patch sets).

Everything shown comes from the services REST uses, with the viewer's permissions: vote
buttons only for the values the access rules allow them (``ReviewService.permitted``), actions
only when the same check that would refuse them passes, and the submit requirements with the
plain reason a change cannot merge yet. Forms post to ``change_actions``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from keepgreen.domain import acl, labels
from keepgreen.domain.account import Principal
from keepgreen.domain.change import ABANDONED, Change, PatchSet
from keepgreen.domain.depends import depends_on
from keepgreen.git.merges import FileChange
from keepgreen.git.repos import GitError
from keepgreen.services.errors import BadRequest
from keepgreen.services.review.changes import ChangeDetails
from keepgreen.store import review as review_store
from keepgreen.store.builds import builds_of
from keepgreen.store.schema import buildsets
from keepgreen.web.ui import diffs
from keepgreen.web.ui.router import Ui, route

PATCHSET_LEVEL = "/PATCHSET_LEVEL"


def line_anchor(path: str, line: int | None) -> str:
    """The id of a diff line on the page, so links and redirects can land on it."""
    return "line-" + "".join(c if c.isalnum() else "-" for c in path) + f"-{line or 0}"


def change_url(project: str, number: int, ps: int | None = None,
               base: int | None = None) -> str:
    url = f"/c/{quote(project, safe='/')}/+/{number}"
    if ps is not None:
        url += f"/{base}..{ps}" if base is not None else f"/{ps}"
    return url


@dataclass
class Comment:
    id: str
    author: str
    message: str
    updated: datetime
    unresolved: bool


@dataclass
class Thread:
    """A comment and its replies; unresolved when its latest comment is."""

    path: str
    line: int | None
    side: str
    comments: list[Comment] = field(default_factory=list)

    @property
    def unresolved(self) -> bool:
        return self.comments[-1].unresolved

    @property
    def last_id(self) -> str:
        return self.comments[-1].id


@dataclass
class FileView:
    change: FileChange
    diff: diffs.FileDiff | None
    threads: dict[tuple[str, int], list[Thread]]  # (side, line) -> threads drawn at that line
    other_threads: list[Thread]  # on lines the folded diff does not show
    anchor: str


@dataclass
class BuildView:
    uuid: str
    job: str
    result: str | None
    voting: bool
    duration: float | None


@dataclass
class BuildsetView:
    pipeline: str
    patch_set: int
    result: str | None
    started: datetime
    builds: list[BuildView]


def _threads(rows: list[Any], accounts: dict[int, Any]) -> list[Thread]:
    by_id: dict[str, Thread] = {}
    threads: list[Thread] = []
    for row in sorted(rows, key=lambda r: r.updated):
        author = accounts.get(row.author_id)
        comment = Comment(row.id, author.name if author else "someone", row.message,
                          row.updated, bool(row.unresolved))
        parent = by_id.get(row.in_reply_to) if row.in_reply_to else None
        if parent is None:
            parent = Thread(row.path, row.line, row.side)
            threads.append(parent)
        parent.comments.append(comment)
        by_id[row.id] = parent
    return threads


def _text_at(services: Any, project: str, rev: str | None, path: str) -> str | None:
    """A file's text at ``rev``; None when it is not text (or not there)."""
    if rev is None:
        return ""
    try:
        return str(services.repos.run(project, "cat-file", "blob", f"{rev}:{path}"))
    except (GitError, UnicodeDecodeError):
        return None


def _file_views(services: Any, change: Change, ps: PatchSet, base_sha: str | None,
                threads: list[Thread]) -> list[FileView]:
    parent = base_sha or (ps.parents[0] if ps.parents else None)
    views = []
    for index, f in enumerate(services.merger.files(change.project, ps.sha, base_sha)):
        diff = None
        if not f.binary:
            old = None if f.status == "A" else _text_at(services, change.project, parent,
                                                        f.old_path or f.path)
            new = None if f.status == "D" else _text_at(services, change.project, ps.sha,
                                                        f.path)
            if (old is not None or f.status == "A") and (new is not None or f.status == "D"):
                diff = diffs.file_diff(f.path, old or "", new or "", old_path=f.old_path)
        placed: dict[tuple[str, int], list[Thread]] = {}
        shown = set()
        if diff is not None:
            for row in diff.rows:
                if row.old:
                    shown.add(("PARENT", row.old.number))
                if row.new:
                    shown.add(("REVISION", row.new.number))
        other = []
        for thread in threads:
            if thread.path != f.path:
                continue
            key = (thread.side, thread.line or 0)
            if key in shown:
                placed.setdefault(key, []).append(thread)
            else:
                other.append(thread)
        views.append(FileView(f, diff, placed, other, f"file-{index + 1}"))
    return views


def _buildsets(services: Any, number: int) -> list[BuildsetView]:
    """CI results per buildset, newest first; builds recorded without one are grouped by
    pipeline and patch set."""
    with services.db.read() as conn:
        records = builds_of(conn, number)
        sets = {r.uuid: r for r in conn.execute(
            select(buildsets).where(buildsets.c.change_number == number))}
    groups: dict[tuple[str, ...], BuildsetView] = {}
    for b in records:
        key_id = getattr(b, "buildset", None)
        row = sets.get(key_id) if key_id else None
        key: tuple[str, ...] = ((str(key_id),) if row is not None
                                else (b.pipeline, str(b.patch_set)))
        view = groups.get(key)
        if view is None:
            view = BuildsetView(b.pipeline, b.patch_set, row.result if row is not None
                                else None, row.started if row is not None else b.started, [])
            groups[key] = view
        duration = (b.ended - b.started).total_seconds() if b.ended else None
        view.builds.append(BuildView(b.uuid, b.job, b.result, b.voting, duration))
    for view in groups.values():
        if view.result is None and all(b.result for b in view.builds):
            view.result = ("SUCCESS" if all(b.result == "SUCCESS" for b in view.builds
                                            if b.voting) else "FAILURE")
    return sorted(groups.values(), key=lambda v: v.started, reverse=True)


def _actions(services: Any, who: Principal, change: Change, submittable: bool) -> list[str]:
    """The actions the viewer may take now, each checked the way the service checks it."""
    if who.account is None:
        return []
    rules = services.projects.rules(services.projects.exists(change.project))

    def allowed(permission: str) -> bool:
        return bool(services.review.can(who, change, permission, rules))

    found = []
    if change.is_open:
        if submittable and allowed(acl.SUBMIT):
            found.append("submit")
        if allowed(acl.REBASE):
            found.append("rebase")
        if who.account.id == change.owner_id or who.is_admin:
            found.append("ready" if change.wip else "wip")
        if allowed(acl.ABANDON):
            found.append("abandon")
    elif change.status == ABANDONED and allowed(acl.ABANDON):
        found.append("restore")
    return found


def _votes(d: ChangeDetails) -> list[dict[str, Any]]:
    current = [a for a in d.approvals if a.patch_set == d.change.current_patch_set and a.value]
    table = []
    for label in labels.DEFAULT_LABELS:
        given = [(d.accounts[a.account_id].name if a.account_id in d.accounts else "?",
                  a.value) for a in current if a.label == label.name]
        table.append({"label": label.name, "votes": given})
    return table


def load(services: Any, who: Principal, project: str, number: str, ps_text: str | None,
         base_text: str | None) -> dict[str, Any]:
    """Everything the change page shows, for ``who``."""
    change = services.changes.resolve(f"{project}~{number}", who)
    d = services.changes.details([change])[0]
    ps = services.changes.patch_set(d, ps_text or "current")
    base = services.changes.patch_set(d, base_text) if base_text else None
    if base is not None and base.number >= ps.number:
        raise BadRequest(f"compare an older patch set with a newer one, not {base.number} "
                         f"with {ps.number}")
    with services.db.read() as conn:
        rows = review_store.comments_of(conn, change.number, None, ps.number)
        drafts = (review_store.comments_of(conn, change.number, who.account.id, ps.number)
                  if who.account else [])
    accounts = services.accounts.accounts_by_ids({r.author_id for r in rows})
    threads = _threads(rows, accounts)
    files = _file_views(services, change, ps, base.sha if base else None, threads)
    results = services.submit.evaluate(change) if change.is_open else []
    verdict = services.submit.verdict_of(change, results)
    permitted = services.review.permitted(who, change) if change.is_open else {}
    mine = {a.label: a.value for a in d.approvals
            if who.account and a.account_id == who.account.id
            and a.patch_set == change.current_patch_set}
    vote_choices = [{"label": label.name, "values": list(range(lo, hi + 1)),
                     "mine": mine.get(label.name, 0), "describe": label.describe}
                    for label in labels.DEFAULT_LABELS if label.name in permitted
                    for lo, hi in [permitted[label.name]]]
    owner = d.accounts.get(change.owner_id)
    return {
        "change": change, "details": d, "ps": ps, "base": base,
        "owner": owner.name if owner else f"#{change.owner_id}",
        "url": change_url(change.project, change.number),
        "ps_url": change_url(change.project, change.number, ps.number,
                             base.number if base else None),
        "files": files, "patchset_threads": [t for t in threads if t.path == PATCHSET_LEVEL],
        "commit_threads": [t for t in threads if t.path == "/COMMIT_MSG"],
        "drafts": len(drafts),
        "requirements": results, "verdict": verdict, "votes": _votes(d),
        "vote_choices": vote_choices, "actions": _actions(services, who, change,
                                                          verdict.submittable),
        "related": services.changes.related(change, who),
        "depends": depends_on(ps.message), "buildsets": _buildsets(services, change.number),
        "messages": d.messages, "accounts": d.accounts,
        "inserted": sum(f.change.lines_inserted for f in files),
        "deleted": sum(f.change.lines_deleted for f in files),
        "change_url": change_url, "line_anchor": line_anchor,
        "pads": [services.pads.describe(who, p)
                 for p in services.pads.listing(who, change=change.number)]
        if services.pads is not None else [],
    }


async def change_page(ui: Ui, request: Request, project: str, number: str,
                      ps: str | None = None, base: str | None = None,
                      file: str | None = None) -> Response:
    me = await ui.who(request)
    view = await run_in_threadpool(load, ui.services, me, project, number, ps, base)
    mode = "unified" if request.query_params.get("mode") == "unified" else "side"
    return await ui.render(request, "change.html", mode=mode, **view)


ROUTES = [
    route("GET", r"/c/(?P<project>.+?)/\+/(?P<number>[0-9]+)"
                 r"(?:/(?:(?P<base>[0-9]+)\.\.)?(?P<ps>[0-9]+))?(?P<file>/.*)?/?",
          change_page),
]
