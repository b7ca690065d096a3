"""Pipeline triggers and requirements, with the semantics of Zuul's Gerrit driver."""

from __future__ import annotations

import pytest

from keepgreen.gating.triggers import (
    ChangeFacts,
    ReviewEvent,
    RuleError,
    Vote,
    parse_rules,
)

RECHECK = r"(?i)^(Patch Set [0-9]+:)?( [\w\\+-]*)*(\n\n)?\s*recheck"

CHECK = {"gerrit": ({"event": "patchset-created"}, {"event": "change-restored"},
                    {"event": "comment-added", "comment": RECHECK})}
GATE_TRIGGER = {"gerrit": (
    {"event": "comment-added", "approval": ({"Workflow": 1},)},
    {"event": "comment-added", "approval": ({"Verified": 1},), "username": "keepgreen-ci"})}
GATE_REQUIRE = {"gerrit": {"open": True, "current-patchset": True, "approval": (
    {"Workflow": 1}, {"Verified": (1, 2), "username": "keepgreen-ci"})}}


def comment(text: str, *votes: tuple[str, int], by: str = "alice") -> ReviewEvent:
    return ReviewEvent("comment-added", "org/app", branch="main", change=1, patchset=1,
                       comment=text, approvals=tuple(Vote(k, v, by) for k, v in votes),
                       username=by)


def test_check_runs_on_new_patch_sets_restores_and_recheck() -> None:
    rules = parse_rules(CHECK, {}, {})
    assert rules.trigger_for(ReviewEvent("patchset-created", "org/app", "main"))
    assert rules.trigger_for(ReviewEvent("change-restored", "org/app", "main"))
    assert rules.trigger_for(comment("Patch Set 1:\n\nrecheck"))
    assert rules.trigger_for(comment("recheck"))
    assert not rules.trigger_for(comment("Patch Set 1: Code-Review+1\n\nlooks good"))
    assert not rules.trigger_for(ReviewEvent("change-abandoned", "org/app", "main"))


def test_gate_triggers_on_workflow_or_on_the_ci_accounts_verified() -> None:
    rules = parse_rules(GATE_TRIGGER, GATE_REQUIRE, {})
    assert rules.trigger_for(comment("", ("Workflow", 1)))
    assert not rules.trigger_for(comment("", ("Workflow", 0)))
    assert not rules.trigger_for(comment("", ("Code-Review", 2)))
    assert rules.trigger_for(comment("", ("Verified", 1), by="keepgreen-ci"))
    assert not rules.trigger_for(comment("", ("Verified", 1), by="mallory"))


def test_gate_requires_workflow_and_a_clean_check() -> None:
    rules = parse_rules(GATE_TRIGGER, GATE_REQUIRE, {})
    approved = (Vote("Workflow", 1, "carol"), Vote("Verified", 1, "keepgreen-ci"))
    assert rules.problem(ChangeFacts(True, True, approved)) is None
    assert rules.problem(ChangeFacts(True, True, approved[:1])) == (
        "it needs Verified +1/+2 by keepgreen-ci")
    assert rules.problem(ChangeFacts(True, True, (approved[0], Vote("Verified", 1, "bob")))
                         ) == "it needs Verified +1/+2 by keepgreen-ci"
    assert rules.problem(ChangeFacts(True, True, approved[1:])) == "it needs Workflow +1"
    assert rules.problem(ChangeFacts(False, True, approved)) == "the change is not open"
    assert rules.problem(ChangeFacts(True, False, approved)) == (
        "the patch set is not the current one")


def test_reject_refuses_on_any_matching_vote() -> None:
    rules = parse_rules(CHECK, {}, {"gerrit": {"approval": ({"Code-Review": (-2,)},)}})
    assert rules.problem(ChangeFacts(True, True, (Vote("Code-Review", -2, "bob"),))) == (
        "it has Code-Review -2")
    assert rules.problem(ChangeFacts(True, True, (Vote("Code-Review", -1, "bob"),))) is None


def test_branch_ref_and_filter_requirements() -> None:
    rules = parse_rules({"gerrit": ({"event": "ref-updated", "ref": r"^refs/heads/.*$"},
                                    {"event": "comment-added", "branch": "^stable/",
                                     "require-approval": ({"Code-Review": 2},)})}, {}, {})
    assert rules.trigger_for(ReviewEvent("ref-updated", "org/app", "main",
                                         ref="refs/heads/main"))
    assert not rules.trigger_for(ReviewEvent("ref-updated", "org/app", ref="refs/tags/1.0"))
    stable = ReviewEvent("comment-added", "org/app", "stable/2026", change=1, patchset=1)
    assert not rules.trigger_for(stable, ChangeFacts(True, True))
    assert rules.trigger_for(stable, ChangeFacts(True, True, (Vote("Code-Review", 2, "c"),)))
    assert not rules.trigger_for(ReviewEvent("comment-added", "org/app", "main"),
                                 ChangeFacts(True, True, (Vote("Code-Review", 2, "c"),)))


def test_timer_trigger() -> None:
    rules = parse_rules({"timer": ({"time": "0 2 * * *"},)}, {}, {})
    assert [t.text for t in rules.timers] == ["0 2 * * *"]
    assert not rules.triggers


@pytest.mark.parametrize(("trigger", "message"), [
    ({"gerrit": ({"event": "patchset-uploaded"},)}, 'unknown event "patchset-uploaded"'),
    ({"gerrit": ({"branch": "main"},)}, 'needs an "event"'),
    ({"gerrit": ({"event": "comment-added", "comment": "(recheck"},)},
     "comment is not a valid regular expression"),
    ({"gerrit": ({"event": "comment-added", "approval": ({"Workflow": "yes"},)},)},
     "must be a vote value"),
    ({"gerrit": ({"event": "comment-added", "colour": "red"},)}, 'unknown key "colour"'),
    ({"gihtub": ({"event": "push"},)}, 'unknown connection "gihtub"'),
    ({"timer": ({"time": "0 26 * * *"},)}, "not a valid hour"),
])
def test_bad_triggers_say_what_is_wrong(trigger: dict[str, object], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        parse_rules(trigger, {}, {})


def test_bad_requirement() -> None:
    with pytest.raises(RuleError, match='"open" must be true or false'):
        parse_rules(CHECK, {"gerrit": {"open": "yes"}}, {})
