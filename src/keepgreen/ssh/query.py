"""``gerrit query``: changes in Gerrit's SSH query format, one JSON object per line (or
Gerrit's indented text) and the closing stats row."""

from __future__ import annotations

import argparse
import time
from typing import Any

from keepgreen.domain import events
from keepgreen.domain.account import Account
from keepgreen.domain.change import Change, PatchSet
from keepgreen.services.errors import BadRequest
from keepgreen.services.review.changes import ChangeDetails
from keepgreen.ssh.session import Parser, Session
from keepgreen.store import changes as change_store
from keepgreen.store import review as review_store

FILE_TYPES = {"A": "ADDED", "M": "MODIFIED", "D": "DELETED", "R": "RENAMED", "C": "COPIED",
              "T": "REWRITE"}
FLAGS = ("current-patch-set", "patch-sets", "all-approvals", "comments", "dependencies",
         "files", "commit-message", "all-reviewers", "submit-records")
# Submit requirement outcomes as the labels of Gerrit's submit records.
RECORD_STATUS = {"SATISFIED": "OK", "OVERRIDDEN": "OK", "UNSATISFIED": "NEED",
                 "ERROR": "IMPOSSIBLE"}


def _parser() -> Parser:
    parser = Parser("gerrit query")
    parser.add_argument("--format", type=str.upper, choices=("TEXT", "JSON"), default="TEXT")
    for flag in FLAGS:
        parser.add_argument(f"--{flag}", action="store_true")
    parser.add_argument("--start", "-S", type=int, default=0)
    parser.add_argument("--no-limit", action="store_true")
    parser.add_argument("query", nargs="+")
    return parser


async def query(session: Session, args: list[str]) -> int:
    opts = _parser().parse(args)
    text = " ".join(opts.query)
    started = time.monotonic()
    try:
        rows, more = await session.call(_run, session, text, opts)
    except BadRequest as exc:
        if opts.format == "JSON":
            await session.json_line({"type": "error", "message": exc.message})
            return 1
        raise
    stats = {"type": "stats", "rowCount": len(rows),
             "runTimeMilliseconds": int((time.monotonic() - started) * 1000),
             "moreChanges": more}
    for row in [*rows, stats]:
        if opts.format == "JSON":
            await session.json_line(row)
        else:
            await session.out(text_form(row))
    return 0


def _run(session: Session, text: str, opts: argparse.Namespace) -> tuple[list[Any], bool]:
    services = session.services
    limit = None if opts.no_limit else 500
    found, more = services.changes.query(text, session.who, limit, max(opts.start, 0))
    patch_sets = opts.patch_sets or opts.all_approvals or opts.current_patch_set
    details = services.changes.details(found, messages=opts.comments,
                                       patch_sets=True if patch_sets or opts.files else
                                       "current", votes=True)
    numbers = [c.number for c in found]
    with services.db.read() as conn:
        sizes = change_store.sizes_of(conn, numbers) if patch_sets else {}
        inline = ({n: review_store.comments_of(conn, n) for n in numbers}
                  if opts.comments else {})
    return [_change(session, d, opts, sizes, inline.get(d.change.number, []))
            for d in details], more


def _change(session: Session, d: ChangeDetails, opts: argparse.Namespace,
            sizes: dict[tuple[int, int], tuple[int, int]], inline: list[Any]) -> dict[str, Any]:
    services = session.services
    change, accounts = d.change, d.accounts
    attr = events.change_attr(change, accounts.get(change.owner_id), services.base_url(),
                              d.current.message)
    if not opts.commit_message:
        attr.pop("commitMessage")
    attr["lastUpdated"] = events.epoch(change.updated)
    attr["open"] = change.is_open
    if opts.all_reviewers:
        attr["allReviewers"] = [events.account_attr(accounts.get(a)) for a, state in d.people
                                if state == "REVIEWER"]
    if opts.comments:
        attr["comments"] = [
            {"timestamp": events.epoch(m.date),
             "reviewer": events.account_attr(accounts.get(m.author_id)) if m.author_id
             else {"name": "Gerrit Code Review"}, "message": m.message}
            for m in d.messages]
    if opts.current_patch_set:
        attr["currentPatchSet"] = _patch_set(session, d, d.current, opts, sizes, inline, True)
    if opts.patch_sets or opts.all_approvals:
        attr["patchSets"] = [_patch_set(session, d, ps, opts, sizes, inline,
                                        opts.all_approvals) for ps in d.patch_sets]
    if opts.submit_records:
        attr["submitRecords"] = [_submit_record(session, change)]
    if opts.dependencies:
        depends, needed = services.changes.dependencies(change, session.who)
        if depends:
            attr["dependsOn"] = [_dependency(c, ps, current) for c, ps, current in depends]
        if needed:
            attr["neededBy"] = [_dependency(c, ps, current) for c, ps, current in needed]
    return attr


def _patch_set(session: Session, d: ChangeDetails, ps: PatchSet, opts: argparse.Namespace,
               sizes: dict[tuple[int, int], tuple[int, int]], inline: list[Any],
               approvals: bool) -> dict[str, Any]:
    accounts: dict[int, Account] = d.accounts
    attr = events.patch_set_attr(ps, accounts.get(ps.uploader_id))
    if approvals:
        attr["approvals"] = [
            {"type": v.label, "description": v.label, "value": str(v.value),
             "grantedOn": events.epoch(v.granted), "by": events.account_attr(
                 accounts.get(v.account_id))}
            for v in d.approvals if v.patch_set == ps.number]
    if opts.files:
        files = [{"file": "/COMMIT_MSG", "type": "ADDED",
                  "insertions": len(ps.message.splitlines()), "deletions": 0}]
        for f in session.services.merger.files(d.change.project, ps.sha):
            item: dict[str, Any] = {"file": f.path, "type": FILE_TYPES.get(f.status, "MODIFIED"),
                                    "insertions": f.lines_inserted,
                                    "deletions": -f.lines_deleted}
            if f.old_path:
                item["fileOld"] = f.old_path
            files.append(item)
        attr["files"] = files
    if opts.comments:
        attr["comments"] = [{"file": c.path, "line": c.line or 0,
                             "reviewer": events.account_attr(accounts.get(c.author_id)),
                             "message": c.message}
                            for c in inline if c.patch_set == ps.number]
    if (d.change.number, ps.number) in sizes:
        inserted, deleted = sizes[(d.change.number, ps.number)]
        attr["sizeInsertions"], attr["sizeDeletions"] = inserted, -deleted
    return attr


def _submit_record(session: Session, change: Change) -> dict[str, Any]:
    submit = session.services.submit
    if not change.is_open:
        return {"status": "CLOSED"}
    results = submit.evaluate(change)
    verdict = submit.verdict_of(change, results)
    return {"status": "OK" if verdict.submittable else "NOT_READY",
            "labels": [{"label": r.requirement.name, "status": RECORD_STATUS[r.status]}
                       for r in results if r.status in RECORD_STATUS]}


def _dependency(change: Change, ps: PatchSet, current: bool) -> dict[str, Any]:
    return {"id": change.change_id, "number": change.number, "revision": ps.sha,
            "ref": events.patch_set_attr(ps, None)["ref"], "isCurrentPatchSet": current}


def text_form(row: dict[str, Any]) -> str:
    """A row as Gerrit's TEXT format: ``change <Change-Id>`` (or ``type: stats``) and the
    fields indented below it."""
    lines = [f"change {row['id']}"] if "id" in row else []
    lines += _text_lines(row, "  " if lines else "")
    return "\n".join(lines) + "\n\n"


def _text_lines(value: dict[str, Any], indent: str) -> list[str]:
    lines = []
    for key, item in value.items():
        if isinstance(item, dict):
            lines.append(f"{indent}{key}:")
            lines += _text_lines(item, indent + "  ")
        elif isinstance(item, list):
            lines.append(f"{indent}{key}:")
            for entry in item:
                if isinstance(entry, dict):
                    lines += _text_lines(entry, indent + "  ")
                    lines.append("")
                else:
                    lines.append(f"{indent}  {entry}")
        else:
            shown = str(item).lower() if isinstance(item, bool) else str(item)
            lines.append(f"{indent}{key}: {shown}")
    return lines
