"""What a review upload does: the pure decision behind a push to ``refs/for/<branch>``.

Given the commits the push brings that the target branch does not have (oldest first) and
the changes already known on that project and branch, decide for each commit whether it
opens a new change, adds a patch set to an open change, or is already uploaded. Any
problem refuses the whole push with one reason, so nothing is half-created.
"""

from __future__ import annotations

from dataclasses import dataclass

from keepgreen.domain import changeid


@dataclass(frozen=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class KnownChange:
    number: int
    change_id: str
    status: str  # NEW, MERGED or ABANDONED
    current_patch_set: int
    current_sha: str
    # Whether the pusher may see the change at all; an invisible one is never named.
    visible: bool = True
    owned: bool = True  # the pusher owns it
    # Why the pusher may not add patch sets to it (empty: they may).
    denied: str = ""


@dataclass(frozen=True)
class NewChange:
    commit: Commit
    change_id: str


@dataclass(frozen=True)
class NewPatchSet:
    commit: Commit
    change: KnownChange


Action = NewChange | NewPatchSet


@dataclass(frozen=True)
class Refusal:
    reason: str
    hint: str = ""


HOOK_HINT = (
    "to add Change-Id footers automatically, install the hook and amend: "
    "curl -sSfo \"$(git rev-parse --git-dir)/hooks/commit-msg\" {url}tools/hooks/commit-msg"
    " && chmod +x \"$(git rev-parse --git-dir)/hooks/commit-msg\" && git commit --amend --no-edit"
)


def plan(
    commits: list[Commit],
    known: dict[str, KnownChange],
    uploaded_shas: set[str],
    branch: str,
    sets_state: bool = False,
) -> list[Action] | Refusal:
    """Decide the actions for ``commits``; ``known`` maps Change-Id to the change on this
    project and branch, ``uploaded_shas`` holds every commit that is already a patch set.
    ``sets_state``: the push marks changes private, public, work in progress or ready,
    which only a change's owner may do."""
    actions: list[Action] = []
    seen: dict[str, str] = {}
    for commit in commits:
        ids = changeid.change_ids(commit.message)
        short = commit.sha[:7]
        if commit.sha in uploaded_shas:
            continue
        if not ids:
            return Refusal(f"commit {short}: missing Change-Id in the commit message footer",
                           HOOK_HINT)
        if len(ids) > 1:
            return Refusal(f"commit {short}: more than one Change-Id in the commit message footer")
        cid = ids[0]
        if not changeid.is_change_id(cid):
            return Refusal(
                f"commit {short}: invalid Change-Id {cid!r}; it must be 'I' and 40 hex digits"
            )
        if cid in seen:
            return Refusal(
                f"commits {seen[cid][:7]} and {short} carry the same Change-Id {cid}; "
                "squash them or give one a new Change-Id"
            )
        seen[cid] = commit.sha
        existing = known.get(cid)
        if existing is None:
            actions.append(NewChange(commit, cid))
        elif not existing.visible:
            # Nothing about the change may show: not its number, not whether it is open.
            return Refusal(f"commit {short}: Change-Id {cid} is already in use on branch "
                           f"{branch}; give the commit a new Change-Id")
        elif existing.status != "NEW":
            return Refusal(
                f"commit {short}: change {existing.number} with this Change-Id is "
                f"{existing.status.lower()} on branch {branch}; use a new Change-Id"
            )
        elif existing.denied:
            return Refusal(f"commit {short}: cannot add patch set to change "
                           f"{existing.number}: {existing.denied}")
        elif sets_state and not existing.owned:
            return Refusal(f"commit {short}: only the owner of change {existing.number} may "
                           "make it private, public, work in progress or ready")
        else:
            actions.append(NewPatchSet(commit, existing))
    if not actions:
        return Refusal("no new changes: every commit pushed is already uploaded or merged")
    return actions
