"""The attention set's automatic rules: whose turn it is after a reply, a new reviewer, a
removed vote, and when a change closes."""

from __future__ import annotations

from keepgreen.domain.attention import (
    Party,
    Thread,
    Turn,
    after_reply,
    after_reviewer_added,
    after_thread_replies,
    after_vote_outdated,
    after_vote_removed,
    cleared,
)

OWNER, UPLOADER, REVIEWER, BOT, STRANGER = 1, 2, 3, 4, 5


def party(wip: bool = False, uploader: int = UPLOADER) -> Party:
    return Party(OWNER, uploader, frozenset({OWNER, uploader, REVIEWER, BOT}),
                 frozenset({BOT}), wip)


def added(turns: list[Turn]) -> set[int]:
    return {t.account_id for t in turns if t.add}


def removed(turns: list[Turn]) -> set[int]:
    return {t.account_id for t in turns if not t.add}


def test_a_reviewer_reply_hands_the_turn_to_owner_and_uploader() -> None:
    turns = after_reply(party(), REVIEWER, negative_vote=False)
    assert removed(turns) == {REVIEWER}
    assert added(turns) == {OWNER, UPLOADER}
    assert len(after_reply(party(uploader=OWNER), REVIEWER, False)) == 2  # owner once


def test_the_owner_replying_only_ends_their_own_turn() -> None:
    for who in (OWNER, UPLOADER):
        turns = after_reply(party(), who, negative_vote=True)
        assert (removed(turns), added(turns)) == ({who}, set())


def test_a_bot_hands_the_turn_over_only_with_a_negative_vote() -> None:
    assert added(after_reply(party(), BOT, negative_vote=False)) == set()
    assert added(after_reply(party(), BOT, negative_vote=True)) == {OWNER, UPLOADER}


def test_nobody_is_added_while_the_change_is_work_in_progress() -> None:
    assert added(after_reply(party(wip=True), REVIEWER, False)) == set()
    assert after_reviewer_added(party(wip=True), REVIEWER) == []
    assert after_vote_removed(party(wip=True), REVIEWER) == []


def test_only_people_of_the_change_and_never_bots_are_added() -> None:
    assert added(after_reviewer_added(party(), REVIEWER)) == {REVIEWER}
    assert after_reviewer_added(party(), BOT) == []
    assert after_reviewer_added(party(), STRANGER) == []
    assert added(after_vote_removed(party(), REVIEWER)) == {REVIEWER}


def test_closing_a_change_empties_the_set() -> None:
    turns = cleared([OWNER, REVIEWER], "the change was merged")
    assert removed(turns) == {OWNER, REVIEWER} and added(turns) == set()
    assert {t.reason for t in turns} == {"the change was merged"}


def test_a_dropped_vote_asks_the_voter_again_unless_a_bot_or_in_progress() -> None:
    assert added(after_vote_outdated(party(), REVIEWER)) == {REVIEWER}
    assert after_vote_outdated(party(), BOT) == []
    assert after_vote_outdated(party(wip=True), REVIEWER) == []


def test_thread_replies_ask_the_people_of_the_thread_as_gerrit_does() -> None:
    people = Party(OWNER, OWNER, frozenset({OWNER, REVIEWER, 6, BOT}), frozenset({BOT}), False)
    thread = frozenset({REVIEWER, 6, BOT, STRANGER})
    # The owner answers an unresolved thread: everyone in it who may hold the turn.
    assert added(after_thread_replies(people, OWNER, [Thread(thread, True)],
                                      frozenset())) == {REVIEWER, 6}
    # The owner resolves it: only those who have not voted Code-Review yet.
    assert added(after_thread_replies(people, OWNER, [Thread(thread, False)],
                                      frozenset({REVIEWER}))) == {6}
    # A reviewer answers an unresolved thread: the thread asks nobody (the owner is asked
    # by the reply itself).
    assert after_thread_replies(people, REVIEWER, [Thread(thread | {OWNER}, True)],
                                frozenset()) == []
    # A reviewer resolves one: the others who have not voted, the replier never.
    assert added(after_thread_replies(people, REVIEWER, [Thread(thread | {OWNER}, False)],
                                      frozenset({6}))) == {OWNER}
    assert after_thread_replies(Party(OWNER, OWNER, people.members, people.bots, True),
                                OWNER, [Thread(thread, True)], frozenset()) == []
