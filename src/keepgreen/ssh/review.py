"""``gerrit review`` and ``gerrit set-reviewers``: votes, messages and state changes on
changes, through the same review and submit services as the REST API."""

from __future__ import annotations

import argparse
import re

from keepgreen.domain.change import Change, PatchSet, as_number
from keepgreen.services.errors import ServiceError
from keepgreen.services.review.review import ReviewInput
from keepgreen.ssh.session import CommandError, Parser, Session

_SHA = re.compile(r"^[0-9a-f]{4,64}$")
_LABEL = re.compile(r"^([A-Za-z0-9-]+)=([+-]?\d{1,3})$")


def _vote(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d{1,3}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a vote such as -1, 0 or +2")
    return int(text)


def _review_parser() -> Parser:
    parser = Parser("gerrit review")
    parser.add_argument("--project", "-p")
    parser.add_argument("--branch", "-b")
    parser.add_argument("--message", "-m", default="")
    parser.add_argument("--code-review", type=_vote)
    parser.add_argument("--verified", type=_vote)
    parser.add_argument("--label", "-l", action="append", default=[])
    parser.add_argument("--tag", "-t")
    parser.add_argument("--submit", "-s", action="store_true")
    parser.add_argument("--abandon", action="store_true")
    parser.add_argument("--restore", action="store_true")
    parser.add_argument("--rebase", action="store_true")
    parser.add_argument("--notify", "-n")
    parser.add_argument("targets", nargs="+", metavar="CHANGE,PATCHSET")
    return parser


def _labels(opts: argparse.Namespace) -> dict[str, int]:
    labels: dict[str, int] = {}
    if opts.code_review is not None:
        labels["Code-Review"] = opts.code_review
    if opts.verified is not None:
        labels["Verified"] = opts.verified
    for item in opts.label:
        found = _LABEL.match(item)
        if not found:
            raise CommandError(f"--label {item!r} must be LABEL=VALUE, as in Code-Review=+1")
        labels[found.group(1)] = int(found.group(2))
    return labels


def _check_target(target: str) -> None:
    number_text, comma, ps_text = target.partition(",")
    if comma:
        if as_number(number_text) is None or as_number(ps_text) is None:
            raise CommandError(f"{target!r} is not CHANGE,PATCHSET such as 12,3")
    elif not _SHA.match(target):
        raise CommandError(f"{target!r} is not CHANGE,PATCHSET or a commit")


def _find(session: Session, target: str, project: str | None,
          branch: str | None) -> tuple[Change, PatchSet]:
    services, who = session.services, session.who
    number_text, comma, ps_text = target.partition(",")
    if comma:
        number, ps_number = int(number_text), int(ps_text)
        key = f"{project}~{number}" if project else str(number)
        change = services.changes.resolve(key, who)
        details = services.changes.details([change], messages=False, votes=False)[0]
        ps = next((p for p in details.patch_sets if p.number == ps_number), None)
        if ps is None:
            raise CommandError(f"change {number} has no patch set {ps_number}")
    else:
        scope = f" project:{project}" if project else ""
        scope += f" branch:{branch}" if branch else ""
        found, _ = services.changes.query(f"commit:{target}{scope}", who, 2, 0)
        if len(found) != 1:
            raise CommandError(f"{'no' if not found else 'more than one'} change has a "
                               f"patch set {target}")
        change = found[0]
        details = services.changes.details([change], messages=False, votes=False)[0]
        ps = next((p for p in details.patch_sets if p.sha.startswith(target)), details.current)
    if branch and change.branch != branch.removeprefix("refs/heads/"):
        raise CommandError(f"change {change.number} is not on branch {branch}")
    return change, ps


def _apply(session: Session, opts: argparse.Namespace, target: str) -> None:
    services, who = session.services, session.who
    change, ps = _find(session, target, opts.project, opts.branch)
    labels = _labels(opts)
    if labels or (opts.message and not (opts.abandon or opts.restore)):
        services.review.review(who, change, ps, ReviewInput(message=opts.message,
                                                            labels=labels, tag=opts.tag))
    if opts.abandon:
        services.review.abandon(who, change, opts.message)
    if opts.restore:
        services.review.restore(who, change, opts.message)
    if opts.rebase:
        services.revisions.rebase(who, change, None)
    if opts.submit:
        services.submit.submit(who, services.changes.resolve(str(change.number), who))


async def review(session: Session, args: list[str]) -> int:
    opts = _review_parser().parse(args)
    if sum((opts.abandon, opts.restore, opts.submit, opts.rebase)) > 1:
        raise CommandError("--abandon, --restore, --rebase and --submit cannot be combined")
    if not (_labels(opts) or opts.message or opts.abandon or opts.restore or opts.submit
            or opts.rebase):
        raise CommandError("nothing to do: give a vote, a --message, --submit, --abandon, "
                           "--restore or --rebase")
    for target in opts.targets:
        _check_target(target)
    failed = False
    for target in opts.targets:
        try:
            await session.call(_apply, session, opts, target)
        except (ServiceError, CommandError) as exc:
            failed = True
            text = exc.message if isinstance(exc, ServiceError) else str(exc)
            await session.err(f"error: {target}: {text}\n")
    if failed:
        raise CommandError("one or more reviews failed; review output above")
    return 0


def _reviewers_parser() -> Parser:
    parser = Parser("gerrit set-reviewers")
    parser.add_argument("--project", "-p")
    parser.add_argument("--add", "-a", action="append", default=[])
    parser.add_argument("--remove", "-r", action="append", default=[])
    parser.add_argument("changes", nargs="+", metavar="CHANGE")
    return parser


async def set_reviewers(session: Session, args: list[str]) -> int:
    opts = _reviewers_parser().parse(args)
    if opts.remove:
        raise CommandError("--remove is not supported yet; remove reviewers in the web UI")
    if not opts.add:
        raise CommandError("name a reviewer to add with --add")
    services, who = session.services, session.who

    def apply(key: str) -> None:
        target = f"{opts.project}~{key}" if opts.project and as_number(key) else key
        change = services.changes.resolve(target, who)
        for reviewer in opts.add:
            services.review.add_reviewer(who, change, reviewer)

    for key in opts.changes:
        await session.call(apply, key)
    return 0
