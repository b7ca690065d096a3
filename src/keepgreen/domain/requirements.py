"""Submit requirements: what a change needs before it can merge, in Gerrit's modern form.

A requirement has an optional ``applicable_if``, a ``submittable_if`` and an optional
``override_if`` expression in the change query language. ``evaluate`` checks them against
the facts of one change and reports SATISFIED, UNSATISFIED, NOT_APPLICABLE, OVERRIDDEN or
ERROR, with the atoms that passed and failed and a plain-words reason for every "no".

Atoms: ``label:`` (with ``user=``, ``group=`` and ``count<op>N`` counting distinct voters),
``is:``/``status:`` for state, ``project:``/``branch:`` (``^`` for a regex), ``topic:``,
``hashtag:``, ``has:unresolved``, ``has:ci-jobs``, ``owner:``/``uploader:`` by account id.
Anything else, ``is:submittable`` included, makes the expression an ERROR that says why.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from keepgreen.domain.labels import DEFAULT_LABELS, LabelType, find
from keepgreen.domain.query import (
    And,
    LabelPredicate,
    Node,
    Not,
    QuerySyntaxError,
    Term,
    parse,
    parse_label,
    to_text,
)

SATISFIED = "SATISFIED"
UNSATISFIED = "UNSATISFIED"
NOT_APPLICABLE = "NOT_APPLICABLE"
OVERRIDDEN = "OVERRIDDEN"
ERROR = "ERROR"

# ExpressionResult.status values (ERROR is shared with the requirement statuses).
PASS = "PASS"
FAIL = "FAIL"


@dataclass(frozen=True)
class Vote:
    """A vote on the change's current patch set, with what is known of the voter."""

    label: str
    account_id: int
    value: int
    username: str = ""
    groups: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ChangeFacts:
    number: int
    status: str  # NEW, MERGED, ABANDONED
    project: str
    branch: str
    owner_id: int
    uploader_id: int
    votes: tuple[Vote, ...] = ()
    wip: bool = False
    private: bool = False
    topic: str | None = None
    hashtags: tuple[str, ...] = ()
    unresolved_comments: int = 0
    has_ci_jobs: bool = False
    labels: tuple[LabelType, ...] = DEFAULT_LABELS


@dataclass(frozen=True)
class Requirement:
    name: str
    submittable_if: str
    description: str = ""
    applicable_if: str | None = None
    override_if: str | None = None


@dataclass(frozen=True)
class ExpressionResult:
    expression: str
    fulfilled: bool
    status: str  # PASS, FAIL, ERROR
    passing_atoms: tuple[str, ...] = ()
    failing_atoms: tuple[str, ...] = ()
    error: str = ""


@dataclass(frozen=True)
class RequirementResult:
    requirement: Requirement
    status: str
    submittability: ExpressionResult | None
    applicability: ExpressionResult | None = None
    override: ExpressionResult | None = None
    reason: str = ""  # plain words, empty when nothing is missing


@dataclass(frozen=True)
class Verdict:
    submittable: bool
    reasons: tuple[str, ...] = field(default=())


def default_requirements(required_approvals: int = 2) -> list[Requirement]:
    """The site's default requirements (two core +2 votes unless a project asks for one)."""
    if required_approvals < 1:
        raise ValueError(f"required_approvals must be at least 1, not {required_approvals}")
    if required_approvals == 1:
        review = "label:Code-Review=MAX AND -label:Code-Review=MIN"
        who = "one reviewer"
    else:
        review = f"label:Code-Review=MAX,count>={required_approvals} AND -label:Code-Review=MIN"
        who = f"{required_approvals} different reviewers"
    return [
        Requirement(
            "Code-Review", review,
            f"Changes need the highest Code-Review vote from {who} and no lowest vote.",
        ),
        Requirement(
            "Workflow", "label:Workflow=MAX AND -label:Workflow=MIN",
            "Changes need Workflow approval and must not be marked work in progress.",
        ),
        Requirement(
            "Verified", "label:Verified=MAX AND -label:Verified=MIN",
            "Changes with CI jobs need the highest Verified vote from CI and no lowest vote.",
            applicable_if="has:ci-jobs",
        ),
    ]


def evaluate(requirement: Requirement, facts: ChangeFacts) -> RequirementResult:
    """Check one requirement against one change; never raises for a bad expression."""
    applicability = None
    if requirement.applicable_if is not None:
        applicability = _expression(requirement.applicable_if, facts)
        if applicability.status == ERROR:
            return _error(requirement, "applicableIf", applicability, applicability=applicability)
        if not applicability.fulfilled:
            return RequirementResult(requirement, NOT_APPLICABLE, None, applicability)
    submittability = _expression(requirement.submittable_if, facts)
    override = None
    if requirement.override_if is not None:
        override = _expression(requirement.override_if, facts)
    for setting, result in (("submittableIf", submittability), ("overrideIf", override)):
        if result is not None and result.status == ERROR:
            return _error(requirement, setting, result, submittability, applicability, override)
    if override is not None and override.fulfilled:
        status = OVERRIDDEN
    else:
        status = SATISFIED if submittability.fulfilled else UNSATISFIED
    reason = ""
    if status == UNSATISFIED:
        reason = _Evaluation(facts).explain(parse(requirement.submittable_if), want=True)
        reason = reason or f"{requirement.name} is not satisfied"
    return RequirementResult(requirement, status, submittability, applicability, override, reason)


def verdict(results: list[RequirementResult]) -> Verdict:
    """Submittable when no applicable requirement is UNSATISFIED or ERROR."""
    blocking = [result for result in results if result.status in (UNSATISFIED, ERROR)]
    return Verdict(not blocking, tuple(result.reason for result in blocking))


def _error(
    requirement: Requirement,
    setting: str,
    failed: ExpressionResult,
    submittability: ExpressionResult | None = None,
    applicability: ExpressionResult | None = None,
    override: ExpressionResult | None = None,
) -> RequirementResult:
    reason = f"the {requirement.name} requirement cannot be checked: {setting}: {failed.error}"
    return RequirementResult(requirement, ERROR, submittability, applicability, override, reason)


def _expression(text: str, facts: ChangeFacts) -> ExpressionResult:
    try:
        node = parse(text)
    except QuerySyntaxError as error:
        return ExpressionResult(text, False, ERROR, error=f"invalid expression: {error}")
    evaluation = _Evaluation(facts)
    fulfilled = evaluation.value(node)
    passing = tuple(to_text(t) for t, ok in evaluation.results.items() if ok)
    failing = tuple(
        to_text(t) for t, ok in evaluation.results.items() if not ok and t not in evaluation.broken
    )
    if evaluation.errors:
        return ExpressionResult(text, False, ERROR, passing, failing, "; ".join(evaluation.errors))
    return ExpressionResult(text, fulfilled, PASS if fulfilled else FAIL, passing, failing)


class _AtomError(Exception):
    """An atom that cannot be evaluated; the message is shown to the user as is."""


class _Evaluation:
    """Evaluates every atom once (no short cut, so all atoms are reported) and explains."""

    def __init__(self, facts: ChangeFacts) -> None:
        self.facts = facts
        self.results: dict[Term, bool] = {}
        self.broken: set[Term] = set()
        self.errors: list[str] = []

    def value(self, node: Node) -> bool:
        if isinstance(node, Term):
            if node not in self.results:
                try:
                    self.results[node] = _atom(node, self.facts)
                except _AtomError as error:
                    self.results[node] = False
                    self.broken.add(node)
                    self.errors.append(str(error))
            return self.results[node]
        if isinstance(node, Not):
            return not self.value(node.operand)
        values = [self.value(operand) for operand in node.operands]
        return all(values) if isinstance(node, And) else any(values)

    def explain(self, node: Node, want: bool) -> str:
        """Why ``node`` is not ``want``, in plain words (empty when it is)."""
        if self.value(node) == want:
            return ""
        if isinstance(node, Term):
            return _phrase(node, self.facts, blocked=not want)
        if isinstance(node, Not):
            return self.explain(node.operand, not want)
        phrases: list[str] = []
        for operand in node.operands:
            phrase = self.explain(operand, want)
            if phrase and phrase not in phrases:
                phrases.append(phrase)
        # Every wrong operand of an And that should hold (or an Or that should not) must
        # change; for the other two cases changing any one of them is enough.
        return ("; " if isinstance(node, And) == want else " or ").join(phrases)


_STATUSES: dict[str, frozenset[str]] = {
    "open": frozenset({"NEW"}), "new": frozenset({"NEW"}), "pending": frozenset({"NEW"}),
    "merged": frozenset({"MERGED"}), "abandoned": frozenset({"ABANDONED"}),
    "closed": frozenset({"MERGED", "ABANDONED"}),
}
_IS: dict[str, Callable[[ChangeFacts], bool]] = {
    "wip": lambda facts: facts.wip,
    "private": lambda facts: facts.private,
    "true": lambda facts: True,
    "false": lambda facts: False,
}
_HAS: dict[str, Callable[[ChangeFacts], bool]] = {
    "unresolved": lambda facts: facts.unresolved_comments > 0,
    "ci-jobs": lambda facts: facts.has_ci_jobs,
}
_COMPARE: dict[str, Callable[[int, int], bool]] = {
    "=": operator.eq, ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
}


def _atom(term: Term, facts: ChangeFacts) -> bool:
    operator_, value = term.operator, term.value
    if operator_ == "label":
        return _LabelAtom.of(term, facts).holds
    if operator_ in ("is", "status"):
        key = value.lower()
        if operator_ == "is" and key == "submittable":
            raise _AtomError("is:submittable cannot be used in a submit requirement")
        if key in _STATUSES:
            return facts.status in _STATUSES[key]
        if operator_ == "is" and key in _IS:
            return _IS[key](facts)
        raise _AtomError(f"'{to_text(term)}' cannot be used in a submit requirement")
    if operator_ == "has":
        if value.lower() in _HAS:
            return _HAS[value.lower()](facts)
        raise _AtomError(f"'{to_text(term)}' cannot be used in a submit requirement")
    if operator_ in ("owner", "uploader"):
        if not value.isdigit() or not value.isascii():
            raise _AtomError(
                f"'{to_text(term)}' needs a numeric account id in a submit requirement"
            )
        return int(value) == (facts.owner_id if operator_ == "owner" else facts.uploader_id)
    if operator_ == "project":
        return _name_matches(term, facts.project)
    if operator_ == "branch":
        short = facts.branch.removeprefix("refs/heads/")
        return _name_matches(term, short, "refs/heads/" + short)
    if operator_ == "topic":
        return facts.topic == value
    if operator_ == "hashtag":
        return value.lower() in {tag.lower() for tag in facts.hashtags}
    if operator_ == "default":
        raise _AtomError(
            f"bare word '{value}' cannot be used in a submit requirement; write operator:value"
        )
    raise _AtomError(f"operator '{operator_}:' cannot be used in a submit requirement")


def _name_matches(term: Term, *names: str) -> bool:
    """Exact match, or a regular expression over a whole name when the value starts with ^."""
    if not term.value.startswith("^"):
        return term.value in names
    try:
        return any(re.fullmatch(term.value[1:], name) is not None for name in names)
    except re.error as error:
        raise _AtomError(f"invalid regular expression in '{to_text(term)}': {error}") from None


@dataclass(frozen=True)
class _LabelAtom:
    """A ``label:`` atom resolved against the change: which votes match, and whether it holds."""

    predicate: LabelPredicate
    label: LabelType
    target: int | None  # None for ANY
    votes: tuple[Vote, ...]  # the matching votes; for "=0" the non-zero ones that spoil it
    no_vote: bool = False  # label:X=0 without a count: holds when nobody voted

    @classmethod
    def of(cls, term: Term, facts: ChangeFacts) -> _LabelAtom:
        try:
            predicate = parse_label(term.value)
        except QuerySyntaxError as error:
            raise _AtomError(f"invalid '{to_text(term)}': {error}") from None
        label = find(predicate.name, facts.labels)
        if label is None:
            known = ", ".join(label.name for label in facts.labels) or "none"
            raise _AtomError(
                f"label '{predicate.name}' in '{to_text(term)}' is not defined"
                f" for this change (known labels: {known})"
            )
        score = predicate.value
        target = None if score == "ANY" else label.max if score == "MAX" else (
            label.min if score == "MIN" else score)
        candidates = [vote for vote in facts.votes
                      if vote.label.lower() == label.name.lower() and _by(predicate, vote, facts)]
        # Gerrit reads label:X=0 as "nobody voted on X"; with a count it counts 0 votes.
        no_vote = target == 0 and predicate.comparison == "=" and predicate.count is None
        if target is None or no_vote:
            votes = [vote for vote in candidates if vote.value != 0]
        else:
            compare = _COMPARE[predicate.comparison]
            votes = [vote for vote in candidates if compare(vote.value, target)]
        return cls(predicate, label, target, tuple(votes), no_vote)

    @property
    def voters(self) -> tuple[Vote, ...]:
        """The matching votes, one per account."""
        seen: dict[int, Vote] = {}
        for vote in self.votes:
            seen.setdefault(vote.account_id, vote)
        return tuple(seen.values())

    @property
    def holds(self) -> bool:
        if self.no_vote:
            return not self.votes
        if self.predicate.count is None:
            return bool(self.votes)
        comparison, wanted = self.predicate.count
        return _COMPARE[comparison](len(self.voters), wanted)


def _by(predicate: LabelPredicate, vote: Vote, facts: ChangeFacts) -> bool:
    if predicate.user == "non_uploader" and vote.account_id == facts.uploader_id:
        return False
    if predicate.user not in (None, "non_uploader") and predicate.user not in (
            vote.username, str(vote.account_id)):
        return False
    return predicate.group is None or predicate.group in vote.groups


# Labels whose values name a state of the change rather than a reviewer's opinion; their
# blocking reasons quote that state ("work in progress").
_STATE_LABELS = frozenset({"workflow"})
# Labels that only automation votes on, so "needs Verified +2" can say who is missing.
_VOTED_BY = {"verified": "CI"}
_COUNT_WORDS = {">=": "{}", ">": "more than {}", "=": "exactly {}", "<=": "at most {}",
                "<": "fewer than {}"}


def _phrase(term: Term, facts: ChangeFacts, blocked: bool) -> str:
    """'needs ...' for an atom that should hold, 'blocked by ...' for one that should not."""
    if term.operator == "label":
        phrase = _label_phrase(_LabelAtom.of(term, facts), facts, blocked)
        if phrase:
            return phrase
    if term.operator == "has" and term.value.lower() == "unresolved" and blocked:
        count = facts.unresolved_comments
        return f"blocked by {count} unresolved comment{'s' if count != 1 else ''}"
    return f"{'blocked by' if blocked else 'needs'} {to_text(term)}"


def _label_phrase(atom: _LabelAtom, facts: ChangeFacts, blocked: bool) -> str:
    predicate, label, target = atom.predicate, atom.label, atom.target
    if atom.no_vote:
        return ""  # "needs label:X=0" says it better than any paraphrase
    if target is None:
        what = f"a {label.name} vote"
    else:
        # Votes are whole numbers, so ">1" reads better as "+2 or higher".
        shown = target + {">": 1, "<": -1}.get(predicate.comparison, 0)
        what = f"{label.name} {_score(shown)}" + (
            " or higher" if predicate.comparison[0] == ">" else
            " or lower" if predicate.comparison[0] == "<" else "")
    names = ", ".join(vote.username or f"account {vote.account_id}" for vote in atom.voters)
    by = _from(predicate, label)
    if predicate.count is not None:
        what = label.name if target is None else what  # "2 Code-Review votes", not "2 a ..."
        comparison, wanted = predicate.count
        have = len(atom.voters)
        if blocked:
            votes = "vote" if have == 1 else "votes"
            return f"blocked by {have} {what} {votes}{by} ({names})" if have else ""
        plural = not (wanted == 1 and comparison in (">=", "=", "<="))
        if not by and plural and comparison in (">=", ">", "="):
            by = " from different reviewers"
        amount = _COUNT_WORDS[comparison].format(wanted)
        return f"needs {amount} {what} vote{'s' if plural else ''}{by} (has {have})"
    if not blocked:
        return f"needs {what}{by}"
    state = label.describe(target).lower() if target is not None else ""
    if label.name.lower() in _STATE_LABELS and state:
        return f"blocked by {what} ({state}, set by {names})"
    article = "" if target is None else "an " if label.name[:1].lower() in "aeiou" else "a "
    return f"blocked by {article}{what} ({names})"


def _score(value: int) -> str:
    return f"{value:+d}" if value else "0"


def _from(predicate: LabelPredicate, label: LabelType) -> str:
    if predicate.user == "non_uploader":
        return " from someone other than the uploader"
    if predicate.user is not None:
        return f" from {predicate.user}"
    if predicate.group is not None:
        return f" from the {predicate.group} group"
    voted_by = _VOTED_BY.get(label.name.lower())
    return f" from {voted_by}" if voted_by else ""
