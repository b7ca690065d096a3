"""Pipeline triggers and requirements with the semantics of Zuul's Gerrit driver.

A pipeline's ``trigger``, ``require`` and ``reject`` sections arrive as plain values (the
job-config parser keeps their YAML shape); ``parse_rules`` turns them into ``PipelineRules``
or raises ``RuleError`` with a plain sentence naming the offending key. Matching is pure:

* ``PipelineRules.trigger_for(event, facts)``: the first trigger filter the review event
  matches (``event`` type, ``branch``, ``ref``, ``comment`` regular expressions, the event's
  ``approval`` votes, the acting ``username``, and the filter's own ``require``/``reject``
  on the change), or None;
* ``PipelineRules.problem(facts)``: why the change does not meet the pipeline's ``require``
  (``open``, ``current-patchset``, ``approval`` with label values and ``username``) or is
  refused by its ``reject``; None when it may be enqueued.

Approval values match exactly, as in Zuul: ``Verified: [1, 2]`` accepts +1 and +2. Branch,
ref and username patterns are anchored at the start (``re.match``), comments are searched;
the site reads them in RE2 syntax, as Zuul does (it passes ``keepgreen.jobconf.regex``'s
reader to ``parse_rules``).
Timer triggers (``timer: - time: '0 2 * * *'``) are parsed into ``CronSpec`` values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from keepgreen.gating.cron import CronError, CronSpec, parse_cron
from keepgreen.gating.pipeline import UNSERVED_CONNECTIONS

Compile = Callable[[str], "re.Pattern[str]"]  # reads one regular expression

GERRIT = "gerrit"
TIMER = "timer"
# Connections whose reports keepgreen already makes by itself (every build is recorded).
RECORDING_CONNECTIONS = ("sql", "mysql")

EVENT_TYPES = ("patchset-created", "comment-added", "change-restored", "change-abandoned",
               "change-merged", "ref-updated", "wip-state-changed", "draft-published",
               "topic-changed", "hashtags-changed", "reviewer-added", "private-state-changed")
_FILTER_KEYS = ("event", "branch", "ref", "comment", "approval", "username",
                "require-approval", "reject-approval", "require", "reject", "ignore-deletes")
_REQUIRE_KEYS = ("open", "current-patchset", "approval", "wip", "status")
_APPROVAL_META = ("username",)


class RuleError(ValueError):
    """A trigger or requirement that cannot be used; the message names the key."""


@dataclass(frozen=True)
class Vote:
    """One label vote: by ``username``, on the current patch set (or given by an event)."""

    label: str
    value: int
    username: str = ""


@dataclass(frozen=True)
class ReviewEvent:
    """A review event as triggers see it. ``branch`` is the change's branch, or the branch
    a ``ref-updated`` moved (None for tags and other refs); ``approvals`` are the votes the
    event carries, by ``username`` (the account that caused the event)."""

    type: str
    project: str
    branch: str | None = None
    ref: str | None = None
    change: int | None = None
    patchset: int | None = None
    comment: str = ""
    approvals: tuple[Vote, ...] = ()
    username: str = ""
    oldrev: str | None = None
    newrev: str | None = None


@dataclass(frozen=True)
class ChangeFacts:
    """What requirements look at: the change's state and the current patch set's votes."""

    open: bool
    current_patchset: bool
    votes: tuple[Vote, ...] = ()
    wip: bool = False
    status: str = "NEW"


@dataclass(frozen=True)
class ApprovalFilter:
    """One ``approval`` entry: a vote on ``label`` with one of ``values`` (any value when
    empty), by an account whose username matches ``username`` (any when None)."""

    label: str
    values: tuple[int, ...] = ()
    username: re.Pattern[str] | None = None

    def matches(self, vote: Vote) -> bool:
        return (vote.label == self.label and (not self.values or vote.value in self.values)
                and (self.username is None or self.username.match(vote.username) is not None))

    def __str__(self) -> str:
        values = "/".join(f"{v:+d}" if v else "0" for v in self.values) or "any vote"
        who = f" by {self.username.pattern}" if self.username is not None else ""
        return f"{self.label} {values}{who}"


@dataclass(frozen=True)
class Requirement:
    """A ``require`` (every part must hold) or ``reject`` (any part refuses) section."""

    open: bool | None = None
    current_patchset: bool | None = None
    wip: bool | None = None
    status: tuple[str, ...] = ()
    approvals: tuple[ApprovalFilter, ...] = ()

    def unmet(self, facts: ChangeFacts) -> str | None:
        """As ``require``: the first part ``facts`` do not satisfy, in words."""
        if self.open is not None and facts.open != self.open:
            return "the change is not open" if self.open else "the change is open"
        if self.current_patchset is not None and facts.current_patchset != self.current_patchset:
            return ("the patch set is not the current one" if self.current_patchset
                    else "the patch set is the current one")
        if self.wip is not None and facts.wip != self.wip:
            return "the change is not work in progress" if self.wip else (
                "the change is work in progress")
        if self.status and facts.status not in self.status:
            return f"the change is {facts.status.lower()}"
        for wanted in self.approvals:
            if not any(wanted.matches(vote) for vote in facts.votes):
                return f"it needs {wanted}"
        return None

    def refusal(self, facts: ChangeFacts) -> str | None:
        """As ``reject``: the first part ``facts`` match, in words."""
        if self.open is not None and facts.open == self.open:
            return "the change is open" if self.open else "the change is not open"
        if self.current_patchset is not None and facts.current_patchset == self.current_patchset:
            return ("the patch set is the current one" if self.current_patchset
                    else "the patch set is not the current one")
        if self.wip is not None and facts.wip == self.wip:
            return "the change is work in progress" if self.wip else (
                "the change is not work in progress")
        if self.status and facts.status in self.status:
            return f"the change is {facts.status.lower()}"
        for unwanted in self.approvals:
            if any(unwanted.matches(vote) for vote in facts.votes):
                return f"it has {unwanted}"
        return None


@dataclass(frozen=True)
class TriggerFilter:
    """One entry of ``trigger: gerrit:``; every given part must match."""

    events: tuple[str, ...]
    branches: tuple[re.Pattern[str], ...] = ()
    refs: tuple[re.Pattern[str], ...] = ()
    comments: tuple[re.Pattern[str], ...] = ()
    approvals: tuple[ApprovalFilter, ...] = ()
    usernames: tuple[re.Pattern[str], ...] = ()
    require: Requirement = Requirement()
    reject: Requirement = Requirement()

    def matches(self, event: ReviewEvent, facts: ChangeFacts | None = None) -> bool:
        if event.type not in self.events:
            return False
        if self.branches and not (event.branch is not None and any(
                p.match(event.branch) for p in self.branches)):
            return False
        if self.refs and not (event.ref is not None and any(
                p.match(event.ref) for p in self.refs)):
            return False
        if self.comments and not any(p.search(event.comment) for p in self.comments):
            return False
        if self.usernames and not any(p.match(event.username) for p in self.usernames):
            return False
        for wanted in self.approvals:
            if not any(wanted.matches(vote) for vote in event.approvals):
                return False
        if facts is not None and (self.require.unmet(facts) or self.reject.refusal(facts)):
            return False
        return True


@dataclass(frozen=True)
class PipelineRules:
    """What enqueues into one pipeline: review-event filters, timers and requirements."""

    triggers: tuple[TriggerFilter, ...] = ()
    timers: tuple[CronSpec, ...] = ()
    require: Requirement = Requirement()
    reject: Requirement = Requirement()

    def trigger_for(self, event: ReviewEvent,
                    facts: ChangeFacts | None = None) -> TriggerFilter | None:
        return next((t for t in self.triggers if t.matches(event, facts)), None)

    def problem(self, facts: ChangeFacts) -> str | None:
        """Why the change may not be enqueued by the pipeline's require/reject; or None."""
        return self.require.unmet(facts) or self.reject.refusal(facts)

    def listens_to(self, event_type: str) -> bool:
        return any(event_type in t.events for t in self.triggers)


def parse_rules(trigger: Mapping[str, object], require: Mapping[str, object],
                reject: Mapping[str, object],
                compile_regex: Compile = re.compile) -> PipelineRules:
    """The rules of a pipeline from its plain ``trigger``, ``require`` and ``reject``
    sections (each keyed by connection name). ``compile_regex`` reads each pattern: the
    site passes the same RE2-style reader branch matchers use. Raises RuleError."""
    rx = compile_regex
    triggers: list[TriggerFilter] = []
    timers: list[CronSpec] = []
    for connection, entries in trigger.items():
        if connection == GERRIT:
            for index, entry in enumerate(_list(entries, f"trigger {GERRIT}")):
                triggers.append(_trigger_filter(entry, f"trigger {GERRIT} entry {index + 1}",
                                                rx))
        elif connection == TIMER:
            for index, entry in enumerate(_list(entries, f"trigger {TIMER}")):
                where = f"trigger {TIMER} entry {index + 1}"
                body = _mapping(entry, where)
                _check_keys(body, where, ("time",))
                if "time" not in body:
                    raise RuleError(f'{where} needs a "time" (cron syntax, e.g. \'0 2 * * *\')')
                try:
                    timers.append(parse_cron(str(body["time"])))
                except CronError as exc:
                    raise RuleError(f"{where}: {exc}") from None
        elif connection not in UNSERVED_CONNECTIONS:
            raise RuleError(f'trigger uses unknown connection "{connection}"; use '
                            f'"{GERRIT}" or "{TIMER}"')
    return PipelineRules(tuple(triggers), tuple(timers),
                         _requirement_section(require, "require", rx),
                         _requirement_section(reject, "reject", rx))


def _requirement_section(section: Mapping[str, object], what: str,
                         rx: Compile) -> Requirement:
    if not section:
        return Requirement()
    for connection in section:
        if connection != GERRIT and connection not in UNSERVED_CONNECTIONS:
            raise RuleError(f'{what} uses unknown connection "{connection}"; use "{GERRIT}"')
    if GERRIT not in section:
        return Requirement()
    return _requirement(section[GERRIT], f"{what} {GERRIT}", rx)


def _requirement(value: object, where: str, rx: Compile) -> Requirement:
    body = _mapping(value, where)
    _check_keys(body, where, _REQUIRE_KEYS)
    status = body.get("status")
    return Requirement(
        open=_bool(body, "open", where), current_patchset=_bool(body, "current-patchset", where),
        wip=_bool(body, "wip", where),
        status=tuple(str(s).upper() for s in _list(status, f"{where} status"))
        if status is not None else (),
        approvals=_approvals(body.get("approval"), f"{where} approval", rx))


def _trigger_filter(value: object, where: str, rx: Compile) -> TriggerFilter:
    body = _mapping(value, where)
    _check_keys(body, where, _FILTER_KEYS)
    if "event" not in body:
        raise RuleError(f'{where} needs an "event" (one of {", ".join(EVENT_TYPES[:7])})')
    events = tuple(str(e) for e in _list(body["event"], f"{where} event"))
    for event in events:
        if event not in EVENT_TYPES:
            raise RuleError(f'{where} has unknown event "{event}"; use one of '
                            + ", ".join(EVENT_TYPES[:7]))
    require = (_requirement(body["require"], f"{where} require", rx) if "require" in body
               else Requirement())
    reject = (_requirement(body["reject"], f"{where} reject", rx) if "reject" in body
              else Requirement())
    if "require-approval" in body:
        require = Requirement(require.open, require.current_patchset, require.wip,
                              require.status, require.approvals + _approvals(
                                  body["require-approval"], f"{where} require-approval", rx))
    if "reject-approval" in body:
        reject = Requirement(reject.open, reject.current_patchset, reject.wip, reject.status,
                             reject.approvals + _approvals(body["reject-approval"],
                                                           f"{where} reject-approval", rx))
    return TriggerFilter(
        events=events, branches=_patterns(body.get("branch"), f"{where} branch", rx),
        refs=_patterns(body.get("ref"), f"{where} ref", rx),
        comments=_patterns(body.get("comment"), f"{where} comment", rx),
        approvals=_approvals(body.get("approval"), f"{where} approval", rx),
        usernames=_patterns(body.get("username"), f"{where} username", rx),
        require=require, reject=reject)


def _approvals(value: object, where: str, rx: Compile) -> tuple[ApprovalFilter, ...]:
    if value is None:
        return ()
    found: list[ApprovalFilter] = []
    for entry in _list(value, where):
        body = _mapping(entry, where)
        username = body.get("username")
        pattern = (_pattern(username, f"{where} username", rx) if username is not None
                   else None)
        labels = [k for k in body if k not in _APPROVAL_META]
        if not labels:
            raise RuleError(f"{where} names no label (e.g. Verified: 1)")
        for label in labels:
            values = tuple(_vote(v, f"{where} {label}") for v in _list(body[label], where))
            found.append(ApprovalFilter(label, values, pattern))
    return tuple(found)


def _vote(value: object, where: str) -> int:
    if isinstance(value, bool):
        raise RuleError(f"{where} must be a vote value such as 1 or -2, not {value}")
    try:
        return int(str(value))
    except ValueError:
        raise RuleError(f"{where} must be a vote value such as 1 or -2, not {value!r}") from None


def _patterns(value: object, where: str, rx: Compile) -> tuple[re.Pattern[str], ...]:
    if value is None:
        return ()
    return tuple(_pattern(v, where, rx) for v in _list(value, where))


def _pattern(value: object, where: str, rx: Compile) -> re.Pattern[str]:
    try:
        return rx(str(value))
    except re.error as exc:
        raise RuleError(f"{where} is not a valid regular expression ({value!r}: {exc})") from None


def _bool(body: Mapping[str, object], key: str, where: str) -> bool | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise RuleError(f'{where} "{key}" must be true or false, not {value!r}')
    return value


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise RuleError(f"{where} must be a mapping of settings, not {type(value).__name__}")
    return value


def _list(value: object, where: str) -> Sequence[object]:
    if isinstance(value, list | tuple):
        return value
    if value is None:
        raise RuleError(f"{where} is empty")
    return (value,)


def _check_keys(body: Mapping[str, object], where: str, known: tuple[str, ...]) -> None:
    for key in body:
        if key not in known:
            raise RuleError(f'{where} has unknown key "{key}"; known: {", ".join(known)}')
