"""The attention set: who is expected to act on a change next, and the rules that pass the
turn back and forth as people reply, as Gerrit applies them.

Only the owner, the uploader, reviewers and CCs can be in the set. Service users (bots) are
never added, and their replies hand the turn to the owner only with a negative vote. While
a change is work in progress the automatic rules add nobody.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Turn:
    """One change to the set: ``account_id`` is added (``add``) or removed, and why."""

    account_id: int
    add: bool
    reason: str


@dataclass(frozen=True)
class Party:
    """The people of a change the rules need to know about."""

    owner_id: int
    uploader_id: int
    members: frozenset[int]  # owner, uploader, reviewers and CCs
    bots: frozenset[int]  # members who are service users
    wip: bool

    def may_hold(self, account_id: int) -> bool:
        return account_id in self.members and account_id not in self.bots


def after_reply(party: Party, replier_id: int, negative_vote: bool) -> list[Turn]:
    """Someone replied (voted, commented or wrote a message): their turn is over, and a
    reviewer's reply hands it to the owner and uploader."""
    turns = [Turn(replier_id, False, "replied on the change")]
    if party.wip or replier_id in (party.owner_id, party.uploader_id):
        return turns
    if replier_id in party.bots and not negative_vote:
        return turns
    for account_id in dict.fromkeys((party.owner_id, party.uploader_id)):
        if party.may_hold(account_id):
            turns.append(Turn(account_id, True, "a reviewer replied"))
    return turns


def after_reviewer_added(party: Party, account_id: int) -> list[Turn]:
    if party.wip or not party.may_hold(account_id):
        return []
    return [Turn(account_id, True, "added as a reviewer")]


def after_vote_removed(party: Party, account_id: int) -> list[Turn]:
    """Another user removed ``account_id``'s vote: they are asked to look again."""
    if party.wip or not party.may_hold(account_id):
        return []
    return [Turn(account_id, True, "their vote was removed")]


def after_vote_outdated(party: Party, account_id: int) -> list[Turn]:
    """A new patch set dropped ``account_id``'s vote (it was not sticky): they need to
    review again."""
    if party.wip or not party.may_hold(account_id):
        return []
    return [Turn(account_id, True, "a new patch set dropped their vote")]


def cleared(holders: Iterable[int], why: str) -> list[Turn]:
    """Everyone leaves the set: the change was merged, abandoned or set to work in
    progress."""
    return [Turn(account_id, False, why) for account_id in holders]


@dataclass(frozen=True)
class Thread:
    """A comment thread someone just replied to: who wrote in it before, and whether the
    reply leaves it unresolved."""

    participants: frozenset[int]
    unresolved: bool


def after_thread_replies(party: Party, replier_id: int, threads: Iterable[Thread],
                         code_reviewed: frozenset[int]) -> list[Turn]:
    """The people a reply to comment threads hands the turn to, as Gerrit does: the owner
    replying to an unresolved thread asks everyone in it; a reviewer replying to one asks
    the owner (``after_reply`` does that); a reply that resolves a thread asks those in it
    who have not voted Code-Review yet."""
    if party.wip:
        return []
    wanted: dict[int, str] = {}
    for thread in threads:
        if thread.unresolved and replier_id != party.owner_id:
            continue
        for account_id in sorted(thread.participants):
            if thread.unresolved or account_id not in code_reviewed:
                wanted.setdefault(account_id, "someone replied in their comment thread")
    return [Turn(a, True, why) for a, why in wanted.items()
            if a != replier_id and party.may_hold(a)]
