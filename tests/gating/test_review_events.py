"""Review events as pipeline triggers see them: Gerrit's stream-events payloads, as the
review services record them, matched against the seeded check and gate triggers."""

from __future__ import annotations

from datetime import datetime

from keepgreen.domain import events
from keepgreen.domain.account import Account
from keepgreen.domain.change import Change, PatchSet, Person
from keepgreen.gating.triggers import parse_rules
from keepgreen.services.gating.triggering import review_event

WHEN = datetime(2026, 11, 25, 12, 0)
ALICE = Account(2, "alice", "Alice")
CI = Account(1, "keepgreen-ci", "keepgreen CI")
CHANGE = Change(7, "org/app", "main", "I" + "a" * 40, 2, "Add jobs", "NEW", 1, WHEN, WHEN)
PS = PatchSet(7, 1, "b" * 40, ("c" * 40,), 2, WHEN, "Add jobs\n",
              Person("Alice", "alice@example.org", WHEN), Person("Alice", "a@e.org", WHEN))
CHECK = {"gerrit": ({"event": "patchset-created"}, {"event": "change-restored"},
                    {"event": "comment-added",
                     "comment": r"(?i)^(Patch Set [0-9]+:)?( [\w\\+-]*)*(\n\n)?\s*recheck"})}
GATE = {"gerrit": ({"event": "comment-added", "approval": ({"Workflow": 1},)},
                   {"event": "comment-added", "approval": ({"Verified": 1},),
                    "username": "keepgreen-ci"})}


def comment_added(who: Account, text: str, votes: dict[str, int]) -> dict[str, object]:
    return events.change_event("comment-added", CHANGE, ALICE, PS, "http://kg/", WHEN,
                               author=events.account_attr(who), comment=text,
                               approvals=events.approvals_attr(votes, {}, {}))


def test_a_patch_set_event() -> None:
    payload = events.patchset_created(CHANGE, PS, ALICE, ALICE, "http://kg/")
    event = review_event("patchset-created", payload)
    assert event is not None
    assert (event.project, event.branch, event.change, event.patchset, event.username) == (
        "org/app", "main", 7, 1, "alice")
    assert parse_rules(CHECK, {}, {}).trigger_for(event)


def test_recheck_and_report_comments() -> None:
    check = parse_rules(CHECK, {}, {})
    recheck = review_event("comment-added", comment_added(ALICE, "Patch Set 1:\n\nrecheck", {}))
    assert recheck is not None and check.trigger_for(recheck)
    report = review_event("comment-added", comment_added(
        CI, "Patch Set 1: Verified+1\n\nBuild succeeded (check pipeline).\n\n- unit SUCCESS",
        {"Verified": 1}))
    assert report is not None and not check.trigger_for(report)
    # ... but CI's passing vote is the gate's clean-check trigger.
    assert parse_rules(GATE, {}, {}).trigger_for(report)


def test_approvals_carry_their_values_and_the_voter() -> None:
    event = review_event("comment-added", comment_added(ALICE, "", {"Workflow": 1,
                                                                    "Code-Review": 2}))
    assert event is not None
    assert {(v.label, v.value, v.username) for v in event.approvals} == {
        ("Workflow", 1, "alice"), ("Code-Review", 2, "alice")}
    assert parse_rules(GATE, {}, {}).trigger_for(event)


def test_a_branch_update() -> None:
    payload = events.ref_updated("org/app", "refs/heads/main", "a" * 40, "b" * 40, CI, WHEN)
    event = review_event("ref-updated", payload)
    assert event is not None
    assert (event.project, event.branch, event.ref, event.newrev, event.change) == (
        "org/app", "main", "refs/heads/main", "b" * 40, None)
    tag = review_event("ref-updated", events.ref_updated("org/app", "refs/tags/1.0",
                                                         "0" * 40, "b" * 40, CI, WHEN))
    assert tag is not None and tag.branch is None
    post = parse_rules({"gerrit": ({"event": "ref-updated", "ref": "^refs/heads/.*$"},)},
                       {}, {})
    assert post.trigger_for(event) and not post.trigger_for(tag)
