"""Submit requirements: atoms, statuses, reasons and the default rules of a new site."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keepgreen.domain.labels import CODE_REVIEW, DEFAULT_LABELS, LabelType
from keepgreen.domain.requirements import (
    ERROR,
    FAIL,
    NOT_APPLICABLE,
    OVERRIDDEN,
    PASS,
    SATISFIED,
    UNSATISFIED,
    ChangeFacts,
    Requirement,
    RequirementResult,
    Verdict,
    Vote,
    default_requirements,
    evaluate,
    verdict,
)

ALICE, BOB, CAROL, ZUUL, OWNER = 1, 2, 3, 99, 10
NAMES = {ALICE: "alice", BOB: "bob", CAROL: "carol", ZUUL: "zuul", OWNER: "owner"}


def vote(label: str, account: int, value: int, *groups: str) -> Vote:
    return Vote(label, account, value, NAMES.get(account, ""), frozenset(groups))


def change(*votes: Vote, **facts: Any) -> ChangeFacts:
    base = ChangeFacts(number=1, status="NEW", project="org/app", branch="main",
                       owner_id=OWNER, uploader_id=OWNER, votes=votes)
    return dataclasses.replace(base, **facts)


def check(expression: str, facts: ChangeFacts, **fields: str) -> RequirementResult:
    return evaluate(Requirement("Test", expression, **fields), facts)


def submittable(facts: ChangeFacts, approvals: int = 2) -> bool:
    return verdict([evaluate(r, facts) for r in default_requirements(approvals)]).submittable


# A change with a bit of everything, for the atom table below.
BUSY = change(
    vote("Code-Review", ALICE, 2),
    vote("Code-Review", BOB, 1, "core"),
    vote("Verified", ZUUL, 2, "ci"),
    project="org/app", branch="refs/heads/main", uploader_id=11, topic="speedup",
    hashtags=("Perf",), unresolved_comments=2, has_ci_jobs=True, private=True,
)


@pytest.mark.parametrize(
    ("expression", "fulfilled"),
    [
        ("is:open", True), ("is:merged", False), ("is:abandoned", False), ("is:closed", False),
        ("is:wip", False), ("is:private", True), ("is:true", True), ("is:false", False),
        ("status:open", True), ("status:NEW", True), ("status:merged", False),
        ("project:org/app", True), ("project:org/other", False), ("project:^org/.*", True),
        ("project:^other/.*", False), ("branch:main", True), ("branch:refs/heads/main", True),
        ("branch:^ma.*", True), ("branch:^refs/heads/m.*", True), ("branch:stable", False),
        ("topic:speedup", True), ("topic:other", False), ("hashtag:perf", True),
        ("hashtag:docs", False), ("has:unresolved", True), ("-has:unresolved", False),
        ("has:ci-jobs", True), ("owner:10", True), ("owner:11", False), ("uploader:11", True),
        ("uploader:10", False),
        # labels
        ("label:Code-Review=MAX", True), ("label:Code-Review=+2", True),
        ("label:code-review=max", True), ("label:Code-Review=MIN", False),
        ("label:Code-Review>=1,count>=2", True), ("label:Code-Review=MAX,count>=2", False),
        ("label:Code-Review>0,count=2", True), ("label:Code-Review>0,count<2", False),
        ("label:Code-Review=ANY", True), ("label:Workflow=ANY", False),
        ("label:Workflow=0", True), ("label:Code-Review=0", False),
        ("label:Code-Review=MAX,user=alice", True), ("label:Code-Review=MAX,user=1", True),
        ("label:Code-Review=MAX,user=bob", False), ("label:Code-Review=+1,group=core", True),
        ("label:Code-Review=MAX,group=core", False),
        ("label:Code-Review=MAX,user=non_uploader", True),
        ("label:Verified=MAX,user=zuul,count>=1", True), ("label:Verified=MAX,group=ci", True),
        ("label:Verified<2", False), ("label:Code-Review<=1", True),
        # combinations
        ("is:open AND -is:wip", True), ("is:merged OR is:private", True),
        ("NOT (is:open is:private)", False), ("-is:open OR -is:private", False),
        ("(is:merged OR label:Verified=MAX) has:ci-jobs", True),
    ],
)
def test_atoms(expression: str, fulfilled: bool) -> None:
    result = check(expression, BUSY)
    assert result.submittability is not None
    assert result.submittability.status == (PASS if fulfilled else FAIL)
    assert result.submittability.fulfilled is fulfilled
    assert result.status == (SATISFIED if fulfilled else UNSATISFIED)


@pytest.mark.parametrize(
    ("status", "open_", "closed"),
    [("NEW", True, False), ("MERGED", False, True), ("ABANDONED", False, True)],
)
def test_is_open_and_closed_follow_status(status: str, open_: bool, closed: bool) -> None:
    facts = change(status=status)
    assert check("is:open", facts).status == (SATISFIED if open_ else UNSATISFIED)
    assert check("is:closed", facts).status == (SATISFIED if closed else UNSATISFIED)
    assert check(f"is:{status.lower()}", facts).status == SATISFIED


def test_wip_change() -> None:
    assert check("is:wip", change(wip=True)).status == SATISFIED


def test_label_x_0_means_nobody_voted_other_than_0() -> None:
    assert check("label:Workflow=0", change(vote("Workflow", ALICE, 0))).status == SATISFIED
    assert check("label:Workflow=0", change(vote("Workflow", ALICE, 1))).status == UNSATISFIED
    assert check("label:Workflow=0,user=bob", change(vote("Workflow", ALICE, 1))).status == (
        SATISFIED)


def test_non_uploader_ignores_self_approval() -> None:
    facts = change(vote("Code-Review", OWNER, 2))
    assert check("label:Code-Review=MAX,user=non_uploader", facts).status == UNSATISFIED
    assert check("label:Code-Review=MAX", facts).status == SATISFIED


# --- count ---------------------------------------------------------------------


def test_count_needs_distinct_voters() -> None:
    twice = change(vote("Code-Review", ALICE, 2), vote("Code-Review", ALICE, 2))
    result = check("label:Code-Review=MAX,count>=2", twice)
    assert result.status == UNSATISFIED
    assert result.reason == "needs 2 Code-Review +2 votes from different reviewers (has 1)"
    two = change(vote("Code-Review", ALICE, 2), vote("Code-Review", BOB, 2))
    assert check("label:Code-Review=MAX,count>=2", two).status == SATISFIED


@pytest.mark.parametrize(
    ("count", "fulfilled"),
    [("=2", True), ("=1", False), (">1", True), (">2", False), ("<=2", True), ("<2", False),
     (">=3", False), ("=0", False)],
)
def test_count_comparisons(count: str, fulfilled: bool) -> None:
    facts = change(vote("Code-Review", ALICE, 2), vote("Code-Review", BOB, 2),
                   vote("Code-Review", CAROL, 1))
    status = check(f"label:Code-Review=MAX,count{count}", facts).status
    assert status == (SATISFIED if fulfilled else UNSATISFIED)


def test_count_zero_holds_without_votes() -> None:
    assert check("label:Code-Review=MIN,count=0", change()).status == SATISFIED


# --- statuses ----------------------------------------------------------------------


def test_not_applicable_skips_the_rest() -> None:
    result = check("label:Verified=MAX", change(), applicable_if="has:ci-jobs",
                   override_if="is:true")
    assert result.status == NOT_APPLICABLE
    assert result.submittability is None and result.override is None
    assert result.applicability is not None and result.applicability.status == FAIL
    assert result.reason == ""


def test_applicable() -> None:
    result = check("label:Verified=MAX", change(vote("Verified", ZUUL, 2), has_ci_jobs=True),
                   applicable_if="has:ci-jobs")
    assert result.status == SATISFIED
    assert result.applicability is not None and result.applicability.fulfilled


def test_override_beats_an_unsatisfied_requirement() -> None:
    facts = change(vote("Override", ALICE, 1),
                   labels=(*DEFAULT_LABELS, LabelType("Override", ((0, ""), (1, "Skip")))))
    result = check("label:Verified=MAX", facts, override_if="label:Override=MAX")
    assert result.status == OVERRIDDEN
    assert result.reason == ""
    assert result.submittability is not None and not result.submittability.fulfilled
    assert result.override is not None and result.override.passing_atoms == (
        "label:Override=MAX",)
    not_overridden = check("label:Verified=MAX", facts, override_if="is:private")
    assert not_overridden.status == UNSATISFIED


@pytest.mark.parametrize(
    ("fields", "setting", "error"),
    [
        ({"submittable_if": "is:submittable"}, "submittableIf",
         "is:submittable cannot be used in a submit requirement"),
        ({"submittable_if": "label:Code-Reveiw=MAX"}, "submittableIf",
         "label 'Code-Reveiw' in 'label:Code-Reveiw=MAX' is not defined for this change"),
        ({"submittable_if": "label:Code-Review=MAX,count>=x"}, "submittableIf",
         "invalid 'label:Code-Review=MAX,count>=x': invalid count"),
        ({"submittable_if": "(is:open"}, "submittableIf", "invalid expression: unclosed '('"),
        ({"submittable_if": "reviewer:1"}, "submittableIf",
         "operator 'reviewer:' cannot be used in a submit requirement"),
        ({"submittable_if": "approved"}, "submittableIf", "bare word 'approved' cannot be used"),
        ({"submittable_if": "is:reviewed"}, "submittableIf",
         "'is:reviewed' cannot be used in a submit requirement"),
        ({"submittable_if": "has:draft"}, "submittableIf", "'has:draft' cannot be used"),
        ({"submittable_if": "owner:alice"}, "submittableIf",
         "'owner:alice' needs a numeric account id"),
        ({"submittable_if": 'branch:"^(main"'}, "submittableIf",
         """invalid regular expression in 'branch:"^(main"'"""),
        ({"submittable_if": "is:true", "applicable_if": "is:submittable"}, "applicableIf",
         "is:submittable cannot"),
        ({"submittable_if": "is:true", "override_if": "label:Nope=MAX"}, "overrideIf",
         "label 'Nope'"),
    ],
)
def test_errors(fields: dict[str, str], setting: str, error: str) -> None:
    result = evaluate(Requirement("Review", **fields), change())
    assert result.status == ERROR
    failed = {"submittableIf": result.submittability, "applicableIf": result.applicability,
              "overrideIf": result.override}[setting]
    assert failed is not None and failed.status == ERROR and not failed.fulfilled
    assert failed.error.startswith(error)
    assert result.reason == f"the Review requirement cannot be checked: {setting}: {failed.error}"


def test_an_error_anywhere_wins_over_true_branches() -> None:
    result = check("is:true OR is:submittable", change())
    assert result.status == ERROR
    assert result.submittability is not None
    assert result.submittability.passing_atoms == ("is:true",)
    assert result.submittability.failing_atoms == ()


def test_unknown_label_for_this_project() -> None:
    result = check("label:Verified=MAX", change(labels=(CODE_REVIEW,)))
    assert result.status == ERROR
    assert "known labels: Code-Review" in result.reason


def test_atoms_are_listed_without_negation_and_all_are_evaluated() -> None:
    facts = change(vote("Code-Review", ALICE, 2), vote("Code-Review", BOB, -2))
    result = check("is:false AND label:Code-Review=MAX AND -label:Code-Review=MIN "
                   "AND -label:Code-Review=MIN", facts)
    assert result.submittability is not None
    assert result.submittability.passing_atoms == ("label:Code-Review=MAX",
                                                   "label:Code-Review=MIN")
    assert result.submittability.failing_atoms == ("is:false",)


def test_atoms_are_rendered_as_query_text() -> None:
    result = check('label:Code-Review=MAX,count>=2 topic:"a b"', change())
    assert result.submittability is not None
    assert result.submittability.failing_atoms == ("label:Code-Review=MAX,count>=2",
                                                   'topic:"a b"')


# --- reasons -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "votes", "reason"),
    [
        ("-label:Code-Review=MIN", [vote("Code-Review", BOB, -2)],
         "blocked by a Code-Review -2 (bob)"),
        ("-label:Code-Review=MIN", [vote("Code-Review", BOB, -2), vote("Code-Review", 7, -2)],
         "blocked by a Code-Review -2 (bob, account 7)"),
        ("label:Workflow=MAX", [], "needs Workflow +1"),
        ("-label:Workflow=MIN", [vote("Workflow", OWNER, -1)],
         "blocked by Workflow -1 (work in progress, set by owner)"),
        ("label:Verified=MAX", [vote("Verified", ZUUL, 1)], "needs Verified +2 from CI"),
        ("label:Verified=MAX,user=zuul", [], "needs Verified +2 from zuul"),
        ("label:Code-Review=+1,group=core", [], "needs Code-Review +1 from the core group"),
        ("label:Code-Review=MAX,user=non_uploader", [vote("Code-Review", OWNER, 2)],
         "needs Code-Review +2 from someone other than the uploader"),
        ("label:Code-Review>0", [], "needs Code-Review +1 or higher"),
        ("-label:Code-Review<=-1", [vote("Code-Review", BOB, -1)],
         "blocked by a Code-Review -1 or lower (bob)"),
        ("label:Code-Review=ANY", [], "needs a Code-Review vote"),
        ("-label:Code-Review=ANY", [vote("Code-Review", BOB, 1)],
         "blocked by a Code-Review vote (bob)"),
        ("label:Code-Review=MAX,count>=3", [vote("Code-Review", ALICE, 2)],
         "needs 3 Code-Review +2 votes from different reviewers (has 1)"),
        ("label:Code-Review=MAX,count>=1", [], "needs 1 Code-Review +2 vote (has 0)"),
        ("label:Code-Review=MAX,group=core,count>=2", [vote("Code-Review", BOB, 2, "core")],
         "needs 2 Code-Review +2 votes from the core group (has 1)"),
        ("label:Code-Review=ANY,count<=1", [vote("Code-Review", ALICE, 1),
                                            vote("Code-Review", BOB, -1)],
         "needs at most 1 Code-Review vote (has 2)"),
        ("-label:Code-Review=MAX,count>=2", [vote("Code-Review", ALICE, 2),
                                             vote("Code-Review", BOB, 2)],
         "blocked by 2 Code-Review +2 votes (alice, bob)"),
        ("label:Workflow=0", [vote("Workflow", ALICE, 1)], "needs label:Workflow=0"),
        ("topic:speedup", [], "needs topic:speedup"),
        ("-is:open", [], "blocked by is:open"),
        ("-has:unresolved", [], "blocked by 3 unresolved comments"),
        ("label:Code-Review=MAX OR label:Verified=MAX", [],
         "needs Code-Review +2 or needs Verified +2 from CI"),
        ("-(is:open is:true)", [], "blocked by is:open or blocked by is:true"),
        ("-(is:open OR is:false OR is:true)", [], "blocked by is:open; blocked by is:true"),
        ("label:Code-Review=MAX AND (is:true OR -is:open)", [], "needs Code-Review +2"),
    ],
)
def test_reasons(expression: str, votes: list[Vote], reason: str) -> None:
    result = check(expression, change(*votes, unresolved_comments=3))
    assert result.status == UNSATISFIED
    assert result.reason == reason


def test_default_reasons_together() -> None:
    facts = change(vote("Code-Review", ALICE, 2), vote("Code-Review", BOB, -2),
                   vote("Workflow", OWNER, -1), has_ci_jobs=True)
    result = verdict([evaluate(r, facts) for r in default_requirements()])
    assert result == Verdict(False, (
        "needs 2 Code-Review +2 votes from different reviewers (has 1);"
        " blocked by a Code-Review -2 (bob)",
        "needs Workflow +1; blocked by Workflow -1 (work in progress, set by owner)",
        "needs Verified +2 from CI",
    ))


# --- defaults and verdict ------------------------------------------------------


def test_default_requirements() -> None:
    code_review, workflow, verified = default_requirements()
    assert (code_review.name, workflow.name, verified.name) == (
        "Code-Review", "Workflow", "Verified")
    assert code_review.submittable_if == (
        "label:Code-Review=MAX,count>=2 AND -label:Code-Review=MIN")
    assert workflow.submittable_if == "label:Workflow=MAX AND -label:Workflow=MIN"
    assert verified.submittable_if == "label:Verified=MAX AND -label:Verified=MIN"
    assert verified.applicable_if == "has:ci-jobs"
    assert code_review.applicable_if is None and workflow.applicable_if is None
    for requirement in (code_review, workflow, verified):
        assert requirement.description and "\n" not in requirement.description
        assert requirement.override_if is None
    assert default_requirements(1)[0].submittable_if == (
        "label:Code-Review=MAX AND -label:Code-Review=MIN")
    assert default_requirements(3)[0].submittable_if.startswith(
        "label:Code-Review=MAX,count>=3 ")


def test_default_requirements_need_an_approval() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        default_requirements(0)


def test_ready_change_is_submittable() -> None:
    ready = change(vote("Code-Review", ALICE, 2), vote("Code-Review", BOB, 2),
                   vote("Workflow", ALICE, 1))
    assert submittable(ready)
    assert not submittable(dataclasses.replace(ready, has_ci_jobs=True))
    assert submittable(change(*ready.votes, vote("Verified", ZUUL, 2), has_ci_jobs=True))
    one = change(vote("Code-Review", ALICE, 2), vote("Workflow", ALICE, 1))
    assert submittable(one, approvals=1) and not submittable(one)


def test_verdict() -> None:
    facts = change(vote("Workflow", ALICE, 1))
    results = [check("is:true", facts), check("is:false", facts),
               check("is:true", facts, applicable_if="is:false"),
               check("is:false", facts, override_if="is:true"),
               check("is:submittable", facts), check("label:Workflow=MAX", facts)]
    assert [r.status for r in results] == [SATISFIED, UNSATISFIED, NOT_APPLICABLE, OVERRIDDEN,
                                           ERROR, SATISFIED]
    assert verdict(results).submittable is False
    assert verdict(results).reasons == ("needs is:false", results[4].reason)
    assert verdict([results[0], results[2], results[3]]).submittable is True
    assert verdict([]).submittable is True and verdict([]).reasons == ()


# --- properties ------------------------------------------------------------------


def _votes_on(label: LabelType) -> st.SearchStrategy[Vote]:
    return st.builds(lambda account, value: vote(label.name, account, value),
                     st.integers(1, 6), st.integers(label.min, label.max))


VOTES = st.lists(st.one_of([_votes_on(label) for label in DEFAULT_LABELS]), max_size=14)


@given(VOTES, st.integers(1, 3), st.booleans())
def test_default_rules_property(votes: list[Vote], approvals: int, ci: bool) -> None:
    def values(label: str) -> list[int]:
        return [v.value for v in votes if v.label == label]

    approvers = {v.account_id for v in votes if v.label == "Code-Review" and v.value == 2}
    expected = (len(approvers) >= approvals and -2 not in values("Code-Review")
                and 1 in values("Workflow") and -1 not in values("Workflow")
                and (not ci or (2 in values("Verified") and -2 not in values("Verified"))))
    facts = change(*votes, has_ci_jobs=ci)
    results = [evaluate(r, facts) for r in default_requirements(approvals)]
    assert verdict(results).submittable is expected
    for result in results:
        assert (result.reason != "") is (result.status in (UNSATISFIED, ERROR))
        assert result.status != ERROR


@given(VOTES, st.integers(1, 6), st.integers(1, 3), st.booleans())
def test_a_code_review_veto_always_blocks(votes: list[Vote], account: int, approvals: int,
                                          ci: bool) -> None:
    facts = change(*votes, vote("Code-Review", account, -2), has_ci_jobs=ci)
    results = [evaluate(r, facts) for r in default_requirements(approvals)]
    assert not verdict(results).submittable
    assert "blocked by a Code-Review -2 (" in results[0].reason


ATOMS = st.sampled_from([
    "is:open", "is:wip", "is:true", "is:false", "is:submittable", "is:starred", "status:merged",
    "project:org/app", 'project:"^org/("', "branch:main", "topic:x", "hashtag:y",
    "has:unresolved", "has:ci-jobs", "has:star", "owner:10", "uploader:bob",
    "label:Code-Review=MAX", "label:Code-Review=MIN,user=bob", "label:Verified>=1,count>=2",
    "label:Workflow=0", "label:Workflow=ANY,group=core", "label:Nope=MAX",
    "label:Code-Review=MAX,count<1", "label:Code-Review=+2,user=non_uploader", "reviewer:1",
    "word", '"quoted words"',
])


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pairs = st.tuples(children, st.sampled_from([" AND ", " OR ", " ", " OR NOT "]), children)
    return (children.map(lambda e: f"-({e})") | children.map(lambda e: f"NOT ({e})")
            | pairs.map(lambda p: f"({p[0]}{p[1]}{p[2]})"))


EXPRESSIONS = st.recursive(ATOMS | ATOMS.map(lambda a: "-" + a), _combine, max_leaves=8)


@given(EXPRESSIONS, st.none() | EXPRESSIONS, st.none() | EXPRESSIONS, VOTES,
       st.sampled_from(["NEW", "MERGED", "ABANDONED"]), st.booleans())
def test_evaluate_never_raises(submittable_if: str, applicable_if: str | None,
                               override_if: str | None, votes: list[Vote], status: str,
                               ci: bool) -> None:
    requirement = Requirement("Any", submittable_if, applicable_if=applicable_if,
                              override_if=override_if)
    result = evaluate(requirement, change(*votes, status=status, has_ci_jobs=ci))
    assert result.status in (SATISFIED, UNSATISFIED, NOT_APPLICABLE, OVERRIDDEN, ERROR)
    assert (result.reason != "") is (result.status in (UNSATISFIED, ERROR))
    for expression in (result.submittability, result.applicability, result.override):
        if expression is None:
            continue
        assert expression.status in (PASS, FAIL, ERROR)
        assert (expression.error != "") is (expression.status == ERROR)
        assert expression.fulfilled is (expression.status == PASS)
        assert not set(expression.passing_atoms) & set(expression.failing_atoms)
        assert not any(atom.startswith("-") for atom in expression.passing_atoms)
