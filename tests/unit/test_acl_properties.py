"""Properties of access rules, vote copying and submit requirements, taken together.

The default rules decide who may vote what; votes are clamped to that range the way the
server clamps them when ``strict_labels`` is false; new patch sets keep the votes
``copied_votes`` keeps; and the default submit requirements decide whether the change can
merge. Whatever happens in between, "submittable" must mean the approvals a reader of the
rules expects: two core (or administrator) Code-Review +2 votes on the current patch set,
no -2, and a Workflow +1 from someone allowed to give it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from keepgreen.domain import acl, labels, requirements
from keepgreen.domain.account import (
    ADMINISTRATORS,
    ANONYMOUS_USERS,
    CHANGE_OWNER,
    REGISTERED_USERS,
    SERVICE_USERS,
    Account,
    Principal,
)
from keepgreen.domain.labels import CODE_REVIEW, DEFAULT_LABELS, VERIFIED, WORKFLOW, LabelType

OTHER = "Some Other Group"
PROJECTS = st.sampled_from(["app", "org/app", "openstack/nova", "a.b/c_d-e"])
BRANCHES = st.sampled_from(["main", "master", "stable/2024.1", "feature/x-y"])
OTHER_REFS = st.sampled_from(["refs/meta/config", "refs/tags/v1.0", "refs/for/main",
                              "refs/changes/01/1/1", "refs/users/01/1"])
KINDS = st.sampled_from([labels.NO_CHANGE, labels.NO_CODE_CHANGE, labels.TRIVIAL_REBASE,
                         labels.TRIVIAL_REBASE_WITH_MESSAGE_UPDATE,
                         labels.MERGE_FIRST_PARENT_UPDATE, labels.REWORK])


def core(project: str) -> str:
    return f"{project}-core"


def universe(project: str) -> list[str]:
    """Every group that matters to the default rules, and one that does not."""
    return [REGISTERED_USERS, core(project), SERVICE_USERS, ADMINISTRATORS, CHANGE_OWNER, OTHER]


def principal(account_id: int | None, groups: set[str] | frozenset[str]) -> Principal:
    if account_id is None:
        return Principal(None, frozenset(groups))
    return Principal(Account(account_id, f"user{account_id}", f"User {account_id}"),
                     frozenset(groups))


def full(label: LabelType) -> tuple[int, int]:
    return label.min, label.max


def permitted(rules: list[acl.Rule], who: Principal, label: LabelType,
              branch: str) -> tuple[int, int]:
    """The range the server allows (ReviewService.permitted)."""
    return acl.label_range(rules, who, label.name, "refs/heads/" + branch, full(label))


# --- (1) the default rules never grant more than the label has, nor more than they say ----


@st.composite
def rule_setups(draw: st.DrawFn) -> tuple[str, list[acl.Rule], frozenset[str]]:
    project = draw(PROJECTS)
    rules = acl.default_rules(project, draw(st.booleans()), draw(st.booleans()))
    groups = frozenset(draw(st.sets(st.sampled_from(universe(project)))))
    return project, rules, groups


@given(rule_setups(), st.sampled_from(DEFAULT_LABELS), BRANCHES)
def test_default_label_ranges_stay_inside_the_label(
        setup: tuple[str, list[acl.Rule], frozenset[str]], label: LabelType,
        branch: str) -> None:
    project, rules, groups = setup
    lo, hi = permitted(rules, principal(7, groups), label, branch)
    assert label.min <= lo <= 0 <= hi <= label.max
    if ADMINISTRATORS in groups:
        assert (lo, hi) == full(label)


@given(rule_setups(), st.sampled_from(DEFAULT_LABELS), BRANCHES)
def test_default_label_ranges_are_what_the_rules_promise(
        setup: tuple[str, list[acl.Rule], frozenset[str]], label: LabelType,
        branch: str) -> None:
    project, rules, groups = setup
    got = permitted(rules, principal(7, groups), label, branch)
    if ADMINISTRATORS in groups:
        expected = full(label)
    elif label is CODE_REVIEW:
        expected = ((-2, 2) if core(project) in groups
                    else (-1, 1) if REGISTERED_USERS in groups else (0, 0))
    elif label is WORKFLOW:
        expected = ((-1, 1) if core(project) in groups
                    else (-1, 0) if CHANGE_OWNER in groups else (0, 0))
    else:
        expected = (-2, 2) if SERVICE_USERS in groups else (0, 0)
    assert got == expected


@given(rule_setups(), BRANCHES)
def test_registered_users_vote_no_more_than_plus_or_minus_one(
        setup: tuple[str, list[acl.Rule], frozenset[str]], branch: str) -> None:
    project, rules, groups = setup
    plain = groups - {core(project), SERVICE_USERS, ADMINISTRATORS}
    who = principal(7, plain)
    lo, hi = permitted(rules, who, CODE_REVIEW, branch)
    assert -1 <= lo and hi <= 1
    assert permitted(rules, who, VERIFIED, branch) == (0, 0)
    assert permitted(rules, who, WORKFLOW, branch) == (
        (-1, 0) if CHANGE_OWNER in plain else (0, 0))


@given(rule_setups(), st.sampled_from(DEFAULT_LABELS), OTHER_REFS)
def test_default_rules_grant_no_votes_outside_branches(
        setup: tuple[str, list[acl.Rule], frozenset[str]], label: LabelType,
        ref: str) -> None:
    _, rules, groups = setup
    who = principal(7, groups - {ADMINISTRATORS})
    assert acl.label_range(rules, who, label.name, ref, full(label)) == (0, 0)


@given(rule_setups(), st.sampled_from(DEFAULT_LABELS), BRANCHES,
       st.lists(st.tuples(st.integers(-5, 0), st.integers(0, 5)), min_size=1, max_size=3))
def test_label_ranges_stay_inside_the_label_whatever_is_granted(
        setup: tuple[str, list[acl.Rule], frozenset[str]], label: LabelType, branch: str,
        ranges: list[tuple[int, int]]) -> None:
    _, rules, groups = setup
    rules = rules + [acl.Rule("refs/heads/*", f"label-{label.name}", REGISTERED_USERS, lo, hi)
                     for lo, hi in ranges]
    lo, hi = permitted(rules, principal(7, groups | {REGISTERED_USERS}), label, branch)
    assert label.min <= lo <= 0 <= hi <= label.max


# --- (2) a block always wins -----------------------------------------------------------------


def patterns_for(branch: str) -> list[str]:
    """Ref patterns in each of the three forms that all match refs/heads/<branch>."""
    ref = "refs/heads/" + branch
    return [ref, "refs/heads/*", "refs/*", "^refs/heads/.*", "^refs/(heads|tags)/.+"]


@st.composite
def blocked_setups(draw: st.DrawFn) -> tuple[list[acl.Rule], Principal, str, str]:
    project = draw(PROJECTS)
    branch = draw(BRANCHES)
    ref = "refs/heads/" + branch
    groups = universe(project) + [ANONYMOUS_USERS]
    permission = draw(st.sampled_from(acl.PERMISSIONS))
    blocked_group = draw(st.sampled_from(groups))
    block = acl.Rule(draw(st.sampled_from(patterns_for(branch))), permission, blocked_group,
                     action="block")
    allows = draw(st.lists(st.builds(
        acl.Rule,
        ref=st.sampled_from(patterns_for(branch) + ["refs/tags/*", "refs/heads/other"]),
        permission=st.one_of(st.just(permission), st.sampled_from(acl.PERMISSIONS)),
        group=st.sampled_from(groups),
    ), max_size=8))
    rules = acl.default_rules(project, draw(st.booleans()), draw(st.booleans())) + allows
    rules.insert(draw(st.integers(0, len(rules))), block)
    # The caller belongs to the blocked group and maybe to every other group as well.
    member_of = {blocked_group} | draw(st.sets(st.sampled_from(groups)))
    account_id = None if member_of == {ANONYMOUS_USERS} and draw(st.booleans()) else 7
    return rules, principal(account_id, member_of), permission, ref


@given(blocked_setups())
def test_a_block_refuses_whatever_is_allowed(
        setup: tuple[list[acl.Rule], Principal, str, str]) -> None:
    rules, who, permission, ref = setup
    decision = acl.check(rules, who, permission, ref)
    assert not decision
    assert "blocked" in decision.reason


@given(blocked_setups())
def test_a_block_refuses_the_change_owner_view_too(
        setup: tuple[list[acl.Rule], Principal, str, str]) -> None:
    rules, who, permission, ref = setup
    if who.account is not None:
        assert not acl.check(rules, who.as_owner_of(who.account.id), permission, ref)


@given(rule_setups(), BRANCHES, st.sampled_from(DEFAULT_LABELS), st.data())
def test_a_label_block_keeps_the_group_from_the_blocked_votes(
        setup: tuple[str, list[acl.Rule], frozenset[str]], branch: str, label: LabelType,
        data: st.DataObject) -> None:
    """Gerrit's meaning of ``label-X = block MIN..MAX group G``: members of G may not vote
    MIN or lower, nor MAX or higher (its documented example blocks Code-Review -2 and +2)."""
    project, rules, groups = setup
    blocked_group = data.draw(st.sampled_from(universe(project)))
    rules = rules + [acl.Rule("refs/heads/*", f"label-{label.name}", blocked_group,
                              label.min, label.max, "block")]
    lo, hi = permitted(rules, principal(7, groups | {blocked_group}), label, branch)
    assert label.min < lo <= 0 <= hi < label.max


# --- (3) votes, new patch sets and the verdict ---------------------------------------------


@dataclass(frozen=True)
class Voter:
    account_id: int
    member_of: frozenset[str]  # stored memberships, as the store reports them


@dataclass(frozen=True)
class VoteStep:
    """One review by one voter: the values asked for, before the server clamps them."""

    voter: int  # index into the voters
    votes: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class NewPatchSet:
    kind: str


@dataclass
class ModelChange:
    """One change: its current patch set's votes, keyed like the approvals table."""

    project: str
    owner_id: int
    has_ci_jobs: bool
    patch_set: int = 1
    votes: dict[tuple[str, int], int] = field(default_factory=dict)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[ModelChange, list[Voter], list[VoteStep | NewPatchSet]]:
    project = draw(PROJECTS)
    optional = [core(project), SERVICE_USERS, ADMINISTRATORS, OTHER]
    voters = [Voter(i + 1, frozenset(draw(st.sets(st.sampled_from(optional)))))
              for i in range(draw(st.integers(1, 6)))]
    change = ModelChange(project, draw(st.sampled_from(voters)).account_id, draw(st.booleans()))
    who = st.integers(0, len(voters) - 1)
    label_names = [lt.name for lt in DEFAULT_LABELS]
    # Any single vote, out-of-range values included...
    vote = st.builds(VoteStep, who, st.tuples(st.tuples(st.sampled_from(label_names),
                                                        st.integers(-3, 3))))
    # ...and the review that tries to approve everything at once ("+2 +W +V").
    approve = st.builds(VoteStep, who, st.just(tuple((lt.name, lt.max)
                                                     for lt in DEFAULT_LABELS)))
    steps = draw(st.lists(st.one_of(vote, approve, approve, st.builds(NewPatchSet, KINDS)),
                          max_size=30))
    return change, voters, steps


def as_principal(voter: Voter, change: ModelChange) -> Principal:
    """What the server sees: the account, its groups and Registered Users, plus Change Owner
    when it owns the change."""
    who = Principal.of(Account(voter.account_id, f"user{voter.account_id}",
                               f"User {voter.account_id}"), voter.member_of)
    return who.as_owner_of(change.owner_id)


def cast(change: ModelChange, rules: list[acl.Rule], voter: Voter, step: VoteStep,
         branch: str) -> None:
    """ReviewService._checked_votes with strict_labels false, then ReviewService.review."""
    for name, asked in step.votes:
        label = labels.find(name)
        assert label is not None
        lo, hi = permitted(rules, as_principal(voter, change), label, branch)
        value = max(lo, min(hi, asked))
        key = (label.name, voter.account_id)
        if value == 0:
            change.votes.pop(key, None)
        else:
            change.votes[key] = value


def upload(change: ModelChange, kind: str) -> None:
    """PatchSetWriter.write: the new patch set starts with the votes copied_votes keeps."""
    previous = [labels.Approval(label, account, value)
                for (label, account), value in change.votes.items()]
    kept = labels.copied_votes(previous, kind)
    assert {(v.label, v.account_id, v.value) for v in kept} <= {
        (v.label, v.account_id, v.value) for v in previous}
    change.patch_set += 1
    change.votes = {(v.label, v.account_id): v.value for v in kept}
    if kind == labels.REWORK:
        # Reworked code starts over: only the lowest votes (a -2, a -1 Workflow) survive.
        assert all(value == labels.find(name).min  # type: ignore[union-attr]
                   for (name, _), value in change.votes.items())


def facts_of(change: ModelChange, voters: dict[int, Voter],
             branch: str) -> requirements.ChangeFacts:
    """SubmitService.facts: the current votes, each with its voter's stored groups."""
    votes = tuple(requirements.Vote(label, account, value, f"user{account}",
                                    voters[account].member_of)
                  for (label, account), value in sorted(change.votes.items()))
    return requirements.ChangeFacts(
        number=1, status="NEW", project=change.project, branch=branch,
        owner_id=change.owner_id, uploader_id=change.owner_id, votes=votes,
        has_ci_jobs=change.has_ci_jobs)


def check_verdict(change: ModelChange, voters: dict[int, Voter], rules: list[acl.Rule],
                  branch: str) -> None:
    facts = facts_of(change, voters, branch)
    result = requirements.verdict([requirements.evaluate(r, facts)
                                   for r in requirements.default_requirements(2)])

    def voted(label: str, value: int) -> set[int]:
        return {a for (name, a), v in change.votes.items() if name == label and v == value}

    def may_approve(account: int, label: LabelType) -> bool:
        return permitted(rules, as_principal(voters[account], change), label,
                         branch)[1] >= label.max

    approvers = {a for a in voted("Code-Review", 2)
                 if voters[a].member_of & {core(change.project), ADMINISTRATORS}}
    workflow = {a for a in voted("Workflow", 1) if may_approve(a, WORKFLOW)}
    verified = {a for a in voted("Verified", 2) if may_approve(a, VERIFIED)}

    if voted("Code-Review", -2) or voted("Workflow", -1):
        assert not result.submittable, result
    if change.has_ci_jobs and voted("Verified", -2):
        assert not result.submittable, result
    if result.submittable:
        assert len(approvers) >= 2, (change, result)
        assert not voted("Code-Review", -2)
        assert workflow, (change, result)
        assert not voted("Workflow", -1)
        if change.has_ci_jobs:
            assert verified and not voted("Verified", -2)
    # Every vote on the change is one its voter could have cast: nothing widens by copying.
    for (name, account), value in change.votes.items():
        label = labels.find(name)
        assert label is not None
        lo, hi = permitted(rules, as_principal(voters[account], change), label, branch)
        assert lo <= value <= hi and value != 0
    # And conversely the requirements ask for no more than that.
    expected = (len(voted("Code-Review", 2)) >= 2 and not voted("Code-Review", -2)
                and bool(voted("Workflow", 1)) and not voted("Workflow", -1)
                and (not change.has_ci_jobs
                     or (bool(voted("Verified", 2)) and not voted("Verified", -2))))
    assert result.submittable == expected, (change, result)


@settings(max_examples=300, deadline=None)
@given(scenarios(), BRANCHES)
def test_submittable_always_means_two_core_approvals_and_a_workflow_vote(
        scenario: tuple[ModelChange, list[Voter], list[VoteStep | NewPatchSet]],
        branch: str) -> None:
    change, voter_list, steps = scenario
    voters = {v.account_id: v for v in voter_list}
    rules = acl.default_rules(change.project, True, change.has_ci_jobs)
    check_verdict(change, voters, rules, branch)
    for step in steps:
        if isinstance(step, VoteStep):
            cast(change, rules, voter_list[step.voter], step, branch)
        else:
            upload(change, step.kind)
        check_verdict(change, voters, rules, branch)


@given(scenarios(), BRANCHES, st.data())
def test_a_code_review_minus_two_blocks_whatever_else_was_voted(
        scenario: tuple[ModelChange, list[Voter], list[VoteStep | NewPatchSet]],
        branch: str, data: st.DataObject) -> None:
    change, voter_list, steps = scenario
    voters = {v.account_id: v for v in voter_list}
    rules = acl.default_rules(change.project, True, change.has_ci_jobs)
    for step in steps:
        if isinstance(step, VoteStep):
            cast(change, rules, voter_list[step.voter], step, branch)
        else:
            upload(change, step.kind)
    # Make it as good as it gets: no objection left, three admins approve everything...
    change.votes = {key: value for key, value in change.votes.items() if value > 0}
    for extra in (101, 102, 103):
        voters[extra] = Voter(extra, frozenset({ADMINISTRATORS}))
        for label in DEFAULT_LABELS:
            change.votes[(label.name, extra)] = label.max
    assert requirements.verdict([requirements.evaluate(r, facts_of(change, voters, branch))
                                 for r in requirements.default_requirements(2)]).submittable
    # ...then a core reviewer's -2, which survives any later patch set, blocks it.
    blocker = Voter(200, frozenset({core(change.project)}))
    voters[200] = blocker
    cast(change, rules, blocker, VoteStep(0, (("Code-Review", -2),)), branch)
    assert change.votes[("Code-Review", 200)] == -2
    for kind in data.draw(st.lists(KINDS, max_size=4)):
        upload(change, kind)
        assert change.votes.get(("Code-Review", 200)) == -2
        for extra in (101, 102, 103):
            for label in DEFAULT_LABELS:
                change.votes[(label.name, extra)] = label.max
        result = requirements.verdict([requirements.evaluate(
            r, facts_of(change, voters, branch)) for r in requirements.default_requirements(2)])
        assert not result.submittable
        assert any("Code-Review -2" in reason for reason in result.reasons), result.reasons
    result = requirements.verdict([requirements.evaluate(r, facts_of(change, voters, branch))
                                   for r in requirements.default_requirements(2)])
    assert not result.submittable
