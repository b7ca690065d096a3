"""Submit requirements: what a change needs before it can merge, in Gerrit's modern form.

A requirement has an optional ``applicable_if``, a ``submittable_if`` and an optional
``override_if`` expression in the change query language. ``evaluate`` checks them against
the facts of one change and reports SATISFIED, UNSATISFIED, NOT_APPLICABLE, OVERRIDDEN or
ERROR, with the atoms that passed and failed and a plain-words reason for every "no".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from keepgreen.domain.labels import DEFAULT_LABELS, LabelType

SATISFIED = "SATISFIED"
UNSATISFIED = "UNSATISFIED"
NOT_APPLICABLE = "NOT_APPLICABLE"
OVERRIDDEN = "OVERRIDDEN"
ERROR = "ERROR"


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
    raise NotImplementedError


def evaluate(requirement: Requirement, facts: ChangeFacts) -> RequirementResult:
    raise NotImplementedError


def verdict(results: list[RequirementResult]) -> Verdict:
    """Submittable when no applicable requirement is UNSATISFIED or ERROR."""
    raise NotImplementedError
