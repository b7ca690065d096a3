"""Push options (the ``%`` suffix and ``git push -o``) and the names of refs."""

from __future__ import annotations

import pytest

from keepgreen.domain import pushopts, refs

# --- pushopts ------------------------------------------------------------------------------


def test_no_options_change_nothing() -> None:
    assert pushopts.parse([]) == pushopts.PushOptions()


def test_topic() -> None:
    assert pushopts.parse(["topic=my-topic"]).topic == "my-topic"
    assert pushopts.parse(["topic=a%20b%2Cc"]).topic == "a b,c"
    assert pushopts.parse(["topic=first", "topic=second"]).topic == "second"


@pytest.mark.parametrize("key", ["r", "reviewer"])
def test_reviewers_accumulate(key: str) -> None:
    result = pushopts.parse([f"{key}=alice", f"{key}=bob@example.org"])
    assert result.reviewers == ["alice", "bob@example.org"]


def test_cc_accumulates() -> None:
    assert pushopts.parse(["cc=carol", "cc=dave"]).cc == ["carol", "dave"]


@pytest.mark.parametrize("key", ["t", "hashtag"])
def test_hashtags_accumulate(key: str) -> None:
    assert pushopts.parse([f"{key}=one", f"{key}=two"]).hashtags == ["one", "two"]


@pytest.mark.parametrize("key", ["r", "reviewer", "cc", "t", "hashtag", "l", "label", "base"])
@pytest.mark.parametrize("form", ["{key}", "{key}="])
def test_options_that_need_a_value_say_so(key: str, form: str) -> None:
    with pytest.raises(pushopts.PushOptionError, match=f"{key}= needs a value"):
        pushopts.parse([form.format(key=key)])


@pytest.mark.parametrize("key", ["wip", "work-in-progress"])
def test_wip_and_ready(key: str) -> None:
    assert pushopts.parse([key]).wip is True
    assert pushopts.parse(["ready"]).wip is False
    assert pushopts.parse([key, "ready"]).wip is False  # later options win
    assert pushopts.parse(["ready", key]).wip is True
    assert pushopts.parse([]).wip is None


def test_private_and_remove_private() -> None:
    assert pushopts.parse(["private"]).private is True
    assert pushopts.parse(["remove-private"]).private is False
    assert pushopts.parse([]).private is None


@pytest.mark.parametrize("key", ["m", "message"])
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Rebased_on_main", "Rebased on main"),
        ("Fixed%21", "Fixed!"),
        ("a%5Fb", "a_b"),            # an encoded underscore stays an underscore
        ("1%2B1%3D2", "1+1=2"),      # an encoded plus stays a plus
        ("caf%C3%A9", "café"),
        ("50%25_done", "50% done"),
    ],
)
def test_message_turns_underscores_into_spaces_then_percent_decodes(
        key: str, raw: str, expected: str) -> None:
    assert pushopts.parse([f"{key}={raw}"]).message == expected


@pytest.mark.parametrize("key", ["l", "label"])
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Code-Review", ("Code-Review", 1)),
        ("Verified", ("Verified", 1)),
        ("Code-Review+2", ("Code-Review", 2)),
        ("Code-Review-1", ("Code-Review", -1)),
        ("Code-Review-2", ("Code-Review", -2)),
        ("Workflow+1", ("Workflow", 1)),
        ("Code-Review0", ("Code-Review", 0)),
    ],
)
def test_labels(key: str, raw: str, expected: tuple[str, int]) -> None:
    name, score = expected
    assert pushopts.parse([f"{key}={raw}"]).labels == {name: score}


def test_several_labels_and_later_votes_win() -> None:
    result = pushopts.parse(["l=Code-Review+2", "label=Verified-1", "l=Code-Review-1"])
    assert result.labels == {"Code-Review": -1, "Verified": -1}


def test_a_malformed_label_is_refused() -> None:
    with pytest.raises(pushopts.PushOptionError, match="Name\\+N"):
        pushopts.parse(["l=+2"])


@pytest.mark.parametrize("value", ["NONE", "OWNER", "OWNER_REVIEWERS", "ALL", "all", "owner"])
def test_notify_accepts_gerrit_values_in_any_case(value: str) -> None:
    assert pushopts.parse([f"notify={value}"]).notify == value.upper()


@pytest.mark.parametrize("value", ["EVERYONE", "", "NONE,ALL"])
def test_notify_rejects_other_values_and_lists_the_valid_ones(value: str) -> None:
    with pytest.raises(pushopts.PushOptionError) as excinfo:
        pushopts.parse([f"notify={value}"])
    assert "notify=" in str(excinfo.value)
    for valid in ("NONE", "OWNER", "OWNER_REVIEWERS", "ALL"):
        assert valid in str(excinfo.value)


def test_base_and_submit() -> None:
    base = "1" * 40
    result = pushopts.parse(["base=" + base, "submit"])
    assert result.base == [base]
    assert result.submit is True


@pytest.mark.parametrize(
    "option", ["notify-to=x", "notify-cc=x", "notify-bcc=x", "trace=1", "deadline=10s",
               "publish-comments", "np", "no-publish-comments", "skip-validation"])
def test_compatibility_options_are_accepted_and_ignored(option: str) -> None:
    assert pushopts.parse([option]) == pushopts.PushOptions()


@pytest.mark.parametrize("option", ["frobnicate", "reviewers=alice", "Topic=x", "wip2"])
def test_an_unknown_option_is_an_error_naming_it(option: str) -> None:
    with pytest.raises(pushopts.PushOptionError) as excinfo:
        pushopts.parse(["topic=ok", option])
    assert repr(option) in str(excinfo.value)
    assert "not a valid push option" in str(excinfo.value)


def test_all_options_fold_into_one_result() -> None:
    result = pushopts.parse([
        "topic=feature", "r=alice", "cc=bob", "t=tag", "wip", "private",
        "m=Please_review", "l=Code-Review+1", "notify=OWNER"])
    assert result == pushopts.PushOptions(
        topic="feature", reviewers=["alice"], cc=["bob"], hashtags=["tag"], wip=True,
        private=True, message="Please review", labels={"Code-Review": 1}, notify="OWNER")


# --- refs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "patch_set", "expected"),
    [
        (1, 1, "refs/changes/01/1/1"),
        (9, 3, "refs/changes/09/9/3"),
        (10, 1, "refs/changes/10/10/1"),
        (100, 1, "refs/changes/00/100/1"),
        (1234, 2, "refs/changes/34/1234/2"),
        (120507, 11, "refs/changes/07/120507/11"),
    ],
)
def test_patch_set_ref(change: int, patch_set: int, expected: str) -> None:
    assert refs.patch_set_ref(change, patch_set) == expected


@pytest.mark.parametrize(
    ("ref", "branch", "options"),
    [
        ("refs/for/main", "main", ()),
        ("refs/for/stable/2024.1", "stable/2024.1", ()),
        ("refs/for/main%topic=x", "main", ("topic=x",)),
        ("refs/for/main%topic=x,wip,r=alice", "main", ("topic=x", "wip", "r=alice")),
        ("refs/for/main%", "main", ()),
        ("refs/for/main%wip,,ready", "main", ("wip", "ready")),
        ("refs/for/refs/heads/x", "x", ()),
        ("refs/for/refs/heads/feature/y%private", "feature/y", ("private",)),
    ],
)
def test_parse_magic_branch(ref: str, branch: str, options: tuple[str, ...]) -> None:
    assert refs.parse_magic_branch(ref) == refs.MagicBranch(branch, options)


@pytest.mark.parametrize("ref", ["refs/heads/main", "refs/tags/v1", "refs/changes/01/1/1",
                                 "refs/for", "main"])
def test_other_refs_are_not_magic(ref: str) -> None:
    assert refs.parse_magic_branch(ref) is None


def test_branch_ref_and_short_branch() -> None:
    assert refs.branch_ref("main") == "refs/heads/main"
    assert refs.branch_ref("refs/heads/main") == "refs/heads/main"
    assert refs.short_branch("refs/heads/stable/1") == "stable/1"
    assert refs.short_branch("refs/meta/config") == "refs/meta/config"


@pytest.mark.parametrize(
    "name", ["main", "master", "stable/2024.1", "feature/a-b_c", "release-1.0", "v1.2.3", "@"])
def test_valid_branch_names(name: str) -> None:
    assert refs.valid_branch_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "", "/main", "main/", "-main", "main.", "main.lock", "a..b", "a//b", "a@{1}", "a\\b",
        "a b", "a~1", "a^", "a:b", "a?", "a*", "a[1]", "a\tb", "a\nb",
        # git check-ref-format also refuses these (a component starting with '.', a
        # component ending in '.lock', and DEL); git init/update-ref would fail on them.
        ".hidden", "feature/.hidden", "a.lock/b", "a\x7fb",
    ],
)
def test_invalid_branch_names(name: str) -> None:
    assert not refs.valid_branch_name(name)
