"""The pure rules behind a review upload: Change-Id footers, push options, ref names, access
rules, project names, and the plan that turns pushed commits into changes and patch sets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keepgreen.domain import acl, changeid
from keepgreen.domain.account import (
    ADMINISTRATORS,
    ANONYMOUS_USERS,
    CHANGE_OWNER,
    REGISTERED_USERS,
    SERVICE_USERS,
    Account,
    Principal,
)
from keepgreen.domain.project import RESERVED_PREFIXES, SITE_CONFIG, name_problem
from keepgreen.domain.upload import (
    HOOK_HINT,
    Commit,
    KnownChange,
    NewChange,
    NewPatchSet,
    Refusal,
    plan,
)

# --- helpers -------------------------------------------------------------------------------


def cid(n: int) -> str:
    """A well-formed Change-Id, distinct per ``n``."""
    return "I" + f"{n:040x}"


def sha(n: int) -> str:
    return f"{n:040x}"


def message(subject: str = "Fix the thing", *footer_lines: str, body: str = "") -> str:
    parts = [subject]
    if body:
        parts.append(body)
    if footer_lines:
        parts.append("\n".join(footer_lines))
    return "\n\n".join(parts) + "\n"


def commit(n: int, change_id: str | None = None, parent: int | None = None,
           text: str | None = None) -> Commit:
    if text is None:
        text = message(f"Commit {n}", f"Change-Id: {change_id}") if change_id else \
            message(f"Commit {n}")
    return Commit(sha(n), (sha(parent),) if parent else (), text)


def known(number: int, change_id: str, status: str = "NEW", patch_set: int = 1,
          current: int = 999) -> KnownChange:
    return KnownChange(number, change_id, status, patch_set, sha(current))


A, B, C = cid(0xA), cid(0xB), cid(0xC)


# --- upload.plan ---------------------------------------------------------------------------


def test_a_commit_with_an_unknown_change_id_opens_a_new_change() -> None:
    c1 = commit(1, A)
    assert plan([c1], {}, set(), "main") == [NewChange(c1, A)]


def test_a_series_opens_one_change_per_commit_in_push_order() -> None:
    c1, c2, c3 = commit(1, A), commit(2, B, parent=1), commit(3, C, parent=2)
    assert plan([c1, c2, c3], {}, set(), "main") == [
        NewChange(c1, A), NewChange(c2, B), NewChange(c3, C)]


def test_the_change_id_of_an_open_change_adds_a_patch_set_to_it() -> None:
    open_change = known(7, A, "NEW", patch_set=2)
    c1 = commit(1, A)
    assert plan([c1], {A: open_change}, set(), "main") == [NewPatchSet(c1, open_change)]


def test_new_changes_and_new_patch_sets_mix_in_one_push() -> None:
    open_change = known(7, B)
    c1, c2 = commit(1, A), commit(2, B, parent=1)
    assert plan([c1, c2], {B: open_change}, set(), "main") == [
        NewChange(c1, A), NewPatchSet(c2, open_change)]


def test_commits_already_uploaded_are_skipped() -> None:
    open_change = known(7, A, current=1)
    c1, c2 = commit(1, A), commit(2, B, parent=1)
    assert plan([c1, c2], {A: open_change}, {sha(1)}, "main") == [NewChange(c2, B)]


def test_an_uploaded_commit_needs_no_valid_change_id_to_be_skipped() -> None:
    # Pushing on top of something uploaded before the hook was installed must still work.
    old = commit(1, text="Old commit without footer\n")
    c2 = commit(2, A, parent=1)
    assert plan([old, c2], {}, {sha(1)}, "main") == [NewChange(c2, A)]


def test_a_commit_without_change_id_is_refused_with_the_hook_hint() -> None:
    result = plan([commit(0xABCDEF1234)], {}, set(), "main")
    assert isinstance(result, Refusal)
    assert "missing Change-Id" in result.reason
    assert sha(0xABCDEF1234)[:7] in result.reason
    assert result.hint == HOOK_HINT
    hint = result.hint.format(url="http://review.example.org/")
    assert "http://review.example.org/tools/hooks/commit-msg" in hint
    assert "git commit --amend" in hint


def test_a_change_id_outside_the_footer_does_not_count() -> None:
    text = message("Subject", body=f"Change-Id: {A}\n\nMore text here.")
    result = plan([commit(1, text=text)], {}, set(), "main")
    assert isinstance(result, Refusal)
    assert "missing Change-Id" in result.reason


def test_two_change_ids_in_one_commit_are_refused() -> None:
    text = message("Subject", f"Change-Id: {A}", f"Change-Id: {B}")
    result = plan([commit(1, text=text)], {}, set(), "main")
    assert isinstance(result, Refusal)
    assert "more than one Change-Id" in result.reason
    assert sha(1)[:7] in result.reason


@pytest.mark.parametrize(
    "bad",
    [
        "Ideadbeef",                       # too short
        "I" + "0" * 41,                    # too long
        "I" + "A" * 40,                    # upper-case hex
        "i" + "a" * 40,                    # lower-case i
        "a" * 40,                          # no I at all
        "I" + "g" * 40,                    # not hex
    ],
)
def test_an_invalid_change_id_is_refused_and_named(bad: str) -> None:
    result = plan([commit(1, bad)], {}, set(), "main")
    assert isinstance(result, Refusal)
    assert "invalid Change-Id" in result.reason
    assert bad in result.reason
    assert "40 hex digits" in result.reason


def test_the_same_change_id_twice_in_one_push_is_refused() -> None:
    c1, c2 = commit(1, A), commit(2, A, parent=1)
    result = plan([c1, c2], {}, set(), "main")
    assert isinstance(result, Refusal)
    assert sha(1)[:7] in result.reason and sha(2)[:7] in result.reason
    assert A in result.reason
    assert "same Change-Id" in result.reason


@pytest.mark.parametrize("status", ["MERGED", "ABANDONED"])
def test_the_change_id_of_a_closed_change_is_refused(status: str) -> None:
    closed = known(42, A, status)
    result = plan([commit(1, A)], {A: closed}, set(), "stable/1.0")
    assert isinstance(result, Refusal)
    assert "change 42" in result.reason
    assert status.lower() in result.reason
    assert "stable/1.0" in result.reason
    assert "new Change-Id" in result.reason


def test_one_bad_commit_refuses_the_whole_push() -> None:
    # Nothing is half-created: the good commit before the bad one gets no action either.
    result = plan([commit(1, A), commit(2, parent=1)], {}, set(), "main")
    assert isinstance(result, Refusal)


@pytest.mark.parametrize("uploaded", [set(), {sha(1), sha(2)}])
def test_nothing_new_is_refused_as_no_new_changes(uploaded: set[str]) -> None:
    commits = [commit(1, A), commit(2, B, parent=1)] if uploaded else []
    result = plan(commits, {A: known(1, A, current=1), B: known(2, B, current=2)}, uploaded,
                  "main")
    assert isinstance(result, Refusal)
    assert result.reason.startswith("no new changes")


# --- the property: one action per Change-Id, patch sets only on open changes --------------

POOL = [cid(n) for n in range(1, 5)]
STATUSES = ["NEW", "MERGED", "ABANDONED"]


@st.composite
def uploads(draw: st.DrawFn) -> tuple[list[Commit], dict[str, KnownChange], set[str]]:
    ids = draw(st.lists(st.sampled_from(POOL), min_size=0, max_size=8))
    commits = [commit(i + 1, change_id, parent=i or None) for i, change_id in enumerate(ids)]
    known_ids = draw(st.lists(st.sampled_from(POOL), unique=True))
    known_changes = {c: known(n + 1, c, draw(st.sampled_from(STATUSES)))
                     for n, c in enumerate(known_ids)}
    uploaded = {c.sha for c in commits if draw(st.booleans())}
    return commits, known_changes, uploaded


@given(uploads())
def test_plan_gives_one_action_per_change_id_and_patch_sets_only_on_open_changes(
        case: tuple[list[Commit], dict[str, KnownChange], set[str]]) -> None:
    commits, known_changes, uploaded = case
    result = plan(commits, known_changes, uploaded, "main")
    if isinstance(result, Refusal):
        assert result.reason
        return
    assert result, "a plan is never an empty list; nothing to do is a Refusal"
    ids = [a.change_id if isinstance(a, NewChange) else a.change.change_id for a in result]
    assert len(ids) == len(set(ids))
    for action in result:
        assert action.commit.sha not in uploaded
        if isinstance(action, NewPatchSet):
            assert action.change.status == "NEW"
            assert known_changes[action.change.change_id] == action.change
        else:
            assert action.change_id not in known_changes
    # Actions keep the order of the pushed commits.
    order = [c.sha for c in commits]
    positions = [order.index(a.commit.sha) for a in result]
    assert positions == sorted(positions)


# --- changeid ------------------------------------------------------------------------------


def test_footers_come_only_from_the_last_paragraph() -> None:
    text = (f"Subject\n\nReviewed-by: someone\nChange-Id: {A}\n\nA body paragraph.\n\n"
            "Signed-off-by: Jo <jo@example.org>\nBug: 123\n")
    assert changeid.footers(text) == [("Signed-off-by", "Jo <jo@example.org>"), ("Bug", "123")]
    assert changeid.change_ids(text) == []


def test_a_last_paragraph_with_a_non_footer_line_has_no_footers() -> None:
    text = f"Subject\n\nChange-Id: {A}\nthis line is prose, not a footer\n"
    assert changeid.footers(text) == []
    assert changeid.change_ids(text) == []


def test_a_message_of_one_paragraph_has_no_footers() -> None:
    assert changeid.footers(f"Change-Id: {A}\n") == []
    assert changeid.change_ids(f"Change-Id: {A}") == []


def test_continuation_lines_join_the_footer_above() -> None:
    text = f"Subject\n\nBody.\n\nCo-Authored-By: A Person\n  <a@example.org>\nChange-Id: {A}\n"
    assert changeid.footers(text) == [
        ("Co-Authored-By", "A Person <a@example.org>"), ("Change-Id", A)]
    assert changeid.change_ids(text) == [A]


def test_a_continuation_line_cannot_open_the_footer_block() -> None:
    assert changeid.footers(f"Subject\n\n  indented\nChange-Id: {A}\n") == []


def test_footer_keys_match_change_id_case_insensitively_and_values_are_trimmed() -> None:
    text = f"Subject\n\nchange-id:   {A}   \n"
    assert changeid.change_ids(text) == [A]


def test_trailing_blank_lines_and_crlf_do_not_hide_footers() -> None:
    assert changeid.change_ids(f"Subject\n\nChange-Id: {A}\n\n\n") == [A]
    assert changeid.change_ids(f"Subject\r\n\r\nChange-Id: {A}\r\n") == [A]


def test_two_change_id_footers_are_both_reported() -> None:
    assert changeid.change_ids(message("S", f"Change-Id: {A}", f"Change-Id: {B}")) == [A, B]


def test_is_change_id() -> None:
    assert changeid.is_change_id(A)
    assert not changeid.is_change_id(A + "0")
    assert not changeid.is_change_id(A[:-1])
    assert not changeid.is_change_id(" " + A)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fix the build\n\nBody\n", "Fix the build"),
        ("\n\n   Leading blanks are skipped  \nsecond", "Leading blanks are skipped"),
        ("", ""),
        ("\n \n", ""),
    ],
)
def test_subject_is_the_first_non_blank_line(text: str, expected: str) -> None:
    assert changeid.subject(text) == expected


# --- acl -----------------------------------------------------------------------------------

PROJECT = "org/demo"


def person(username: str = "alice", *groups: str) -> Principal:
    return Principal.of(Account(1, username, username.title()), set(groups))


def test_registered_users_may_push_for_review_but_not_to_branches() -> None:
    rules = acl.default_rules(PROJECT, anonymous_read=True)
    alice = person()
    assert acl.check(rules, alice, acl.PUSH, "refs/for/main")
    assert acl.check(rules, alice, acl.PUSH, "refs/for/stable/1.0")
    denied = acl.check(rules, alice, acl.PUSH, "refs/heads/main")
    assert not denied
    assert denied.reason == "alice lacks the push permission on refs/heads/main"
    assert not acl.check(rules, alice, acl.CREATE, "refs/heads/new")
    assert not acl.check(rules, alice, acl.SUBMIT, "refs/heads/main")
    assert not acl.check(rules, alice, acl.FORCE_PUSH, "refs/heads/main")


def test_administrators_may_do_everything_not_blocked() -> None:
    rules = acl.default_rules(PROJECT, anonymous_read=False)
    admin = person("root", ADMINISTRATORS)
    for permission, ref in [(acl.PUSH, "refs/heads/main"), (acl.FORCE_PUSH, "refs/heads/main"),
                            (acl.CREATE, "refs/heads/new"), (acl.PUSH, "refs/tags/v1"),
                            (acl.SUBMIT, "refs/heads/main"), (acl.OWNER, "refs/heads/main"),
                            (acl.READ, "refs/heads/main"), (acl.PUSH, "refs/for/main")]:
        assert acl.check(rules, admin, permission, ref), (permission, ref)


@pytest.mark.parametrize("anonymous_read", [True, False])
def test_anonymous_read_follows_the_project_flag(anonymous_read: bool) -> None:
    rules = acl.default_rules(PROJECT, anonymous_read)
    decision = acl.check(rules, Principal.anonymous(), acl.READ, "refs/heads/main")
    assert bool(decision) is anonymous_read
    if not anonymous_read:
        assert decision.reason == "anonymous users lacks the read permission on refs/heads/main"
    # Signed-in users read either way.
    assert acl.check(rules, person(), acl.READ, "refs/heads/main")


def test_anonymous_users_may_never_push() -> None:
    rules = acl.default_rules(PROJECT, anonymous_read=True)
    assert not acl.check(rules, Principal.anonymous(), acl.PUSH, "refs/for/main")


def test_label_ranges_registered_core_and_admin() -> None:
    rules = acl.default_rules(PROJECT, anonymous_read=True)
    ref = "refs/heads/main"
    assert acl.label_range(rules, person(), "Code-Review", ref) == (-1, 1)
    assert acl.label_range(rules, person(), "Workflow", ref) == (0, 0)
    assert acl.label_range(rules, person(), "Verified", ref) == (0, 0)
    core = person("bob", f"{PROJECT}-core")
    assert acl.label_range(rules, core, "Code-Review", ref) == (-2, 2)
    assert acl.label_range(rules, core, "Workflow", ref) == (-1, 1)
    assert acl.label_range(rules, core, "Verified", ref) == (0, 0)
    # Another project's core group gets nothing extra here.
    other = person("carol", "org/other-core")
    assert acl.label_range(rules, other, "Code-Review", ref) == (-1, 1)
    # Administrators get the label's whole range, whatever it is.
    admin = person("root", ADMINISTRATORS)
    assert acl.label_range(rules, admin, "Code-Review", ref, full=(-2, 2)) == (-2, 2)
    assert acl.label_range(rules, admin, "Workflow", ref, full=(-1, 1)) == (-1, 1)
    assert acl.label_range(rules, Principal.anonymous(), "Code-Review", ref) == (0, 0)


def test_the_ci_account_votes_verified_and_submits() -> None:
    rules = acl.default_rules(PROJECT, anonymous_read=True)
    ci = person("zuul", SERVICE_USERS)
    assert acl.label_range(rules, ci, "Verified", "refs/heads/main") == (-2, 2)
    assert acl.check(rules, ci, acl.SUBMIT, "refs/heads/main")
    assert not acl.check(rules, person(), acl.SUBMIT, "refs/heads/main")


def test_core_submits_by_hand_only_where_no_gate_jobs_run() -> None:
    core = person("bob", f"{PROJECT}-core")
    assert acl.check(acl.default_rules(PROJECT, True, has_ci_jobs=False), core, acl.SUBMIT,
                     "refs/heads/main")
    assert not acl.check(acl.default_rules(PROJECT, True, has_ci_jobs=True), core, acl.SUBMIT,
                         "refs/heads/main")


def test_core_may_abandon_any_change_owners_their_own() -> None:
    rules = acl.default_rules(PROJECT, anonymous_read=True)
    ref = "refs/heads/main"
    alice = person()
    assert acl.check(rules, person("bob", f"{PROJECT}-core"), acl.ABANDON, ref)
    assert not acl.check(rules, alice, acl.ABANDON, ref)
    assert alice.account is not None
    owner = alice.as_owner_of(alice.account.id)
    assert CHANGE_OWNER in owner.groups
    assert acl.check(rules, owner, acl.ABANDON, ref)
    assert acl.label_range(rules, owner, "Workflow", ref) == (-1, 0)  # may mark WIP only
    assert alice.as_owner_of(alice.account.id + 1) == alice


def test_block_wins_over_allow() -> None:
    rules = [*acl.default_rules(PROJECT, anonymous_read=True),
             acl.Rule("refs/for/refs/heads/frozen", acl.PUSH, REGISTERED_USERS, action="block")]
    alice = person()
    decision = acl.check(rules, alice, acl.PUSH, "refs/for/refs/heads/frozen")
    assert not decision
    assert "blocked" in decision.reason
    assert acl.check(rules, alice, acl.PUSH, "refs/for/main")
    # Even administrators, who are registered users too, are blocked by a block rule.
    assert not acl.check(rules, person("root", ADMINISTRATORS), acl.PUSH,
                         "refs/for/refs/heads/frozen")


def test_a_block_on_another_group_does_not_apply() -> None:
    rules = [acl.Rule("refs/*", acl.READ, REGISTERED_USERS),
             acl.Rule("refs/*", acl.READ, "Contractors", action="block")]
    assert acl.check(rules, person(), acl.READ, "refs/heads/main")
    assert not acl.check(rules, person("eve", "Contractors"), acl.READ, "refs/heads/main")


@pytest.mark.parametrize(
    ("pattern", "ref", "matches"),
    [
        ("refs/heads/main", "refs/heads/main", True),
        ("refs/heads/main", "refs/heads/main2", False),
        ("refs/heads/*", "refs/heads/main", True),
        ("refs/heads/*", "refs/heads/stable/1.0", True),
        ("refs/heads/*", "refs/tags/v1", False),
        ("refs/*", "refs/anything/at/all", True),
        ("^refs/heads/stable/[0-9.]+", "refs/heads/stable/1.0", True),
        ("^refs/heads/stable/[0-9.]+", "refs/heads/stable/1.0-rc", False),
        ("^refs/heads/stable/[0-9.]+", "refs/heads/main", False),
        ("^refs/heads/(main|master)", "refs/heads/master", True),
        ("^refs/heads/(main|master)", "refs/heads/mainline", False),  # anchored at both ends
    ],
)
def test_ref_patterns(pattern: str, ref: str, matches: bool) -> None:
    assert acl.ref_matches(pattern, ref) is matches


def test_regex_rules_grant_only_matching_refs() -> None:
    rules = [acl.Rule("^refs/heads/sandbox/.*", acl.PUSH, REGISTERED_USERS)]
    assert acl.check(rules, person(), acl.PUSH, "refs/heads/sandbox/alice")
    assert not acl.check(rules, person(), acl.PUSH, "refs/heads/main")


def test_every_principal_counts_as_anonymous_and_registered_when_signed_in() -> None:
    alice = person("alice", "team")
    assert {REGISTERED_USERS, ANONYMOUS_USERS, "team"} <= alice.groups
    assert not alice.is_anonymous and not alice.is_admin
    assert Principal.anonymous().groups == frozenset({ANONYMOUS_USERS})
    assert person("root", ADMINISTRATORS).is_admin


# --- project names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["demo", "org/demo", "openstack/nova", "top/mid/leaf", "x1", "my_project.v2",
             "Org/Some-Repo", "org/changes", "a" * 250])
def test_good_project_names(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", "needed"),
        ("a" * 251, "250"),
        ("demo.git", ".git"),
        ("org/demo.git", ".git"),
        ("/demo", "slash-separated"),
        ("demo/", "slash-separated"),
        ("org//demo", "slash-separated"),
        (".hidden", "slash-separated"),
        ("org/.hidden", "slash-separated"),
        ("org/../etc", "slash-separated"),
        ("-demo", "slash-separated"),
        ("my project", "slash-separated"),
        ("demo?", "slash-separated"),
        ("café", "slash-separated"),
        # name_problem's own contract: a *segment* may not end in .git, not just the name;
        # otherwise "foo.git/bar" is stored inside the bare repository of project "foo".
        ("foo.git/bar", ".git"),
    ],
)
def test_bad_project_names_say_why(name: str, words: str) -> None:
    problem = name_problem(name)
    assert problem is not None
    assert words in problem


@pytest.mark.parametrize("prefix", sorted(RESERVED_PREFIXES))
def test_reserved_first_segments(prefix: str) -> None:
    problem = name_problem(f"{prefix}/demo")
    assert problem is not None and repr(prefix) in problem
    # The site's own config project is the one name that may equal a reserved segment.
    assert (name_problem(prefix) is None) == (prefix == SITE_CONFIG)
    assert name_problem(f"org/{prefix}") is None
