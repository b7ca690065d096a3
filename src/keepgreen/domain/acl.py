"""Access decisions in Gerrit's model: permissions granted to groups on ref patterns.

A rule grants (or blocks) one permission on refs matching a pattern to one group;
label permissions carry a range. Evaluation takes the rules and the caller's groups and
returns a decision with a reason, so every "no" can say what is missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from keepgreen.domain import labels
from keepgreen.domain.account import (
    ANONYMOUS_USERS,
    CHANGE_OWNER,
    REGISTERED_USERS,
    SERVICE_USERS,
    Principal,
)

READ = "read"
PUSH = "push"
CREATE = "create"
SUBMIT = "submit"
ABANDON = "abandon"
FORCE_PUSH = "push+force"
OWNER = "owner"
REBASE = "rebase"
EDIT_TOPIC = "editTopicName"
FORGE_AUTHOR = "forgeAuthor"
# Upload a patch set onto a change someone else owns (granted on refs/for/...).
ADD_PATCH_SET = "addPatchSet"
# See private changes one is not involved in (granted on refs/*, as in Gerrit).
VIEW_PRIVATE = "viewPrivateChanges"
# Deleting one's own open or abandoned change (administrators may delete any).
DELETE_OWN_CHANGES = "deleteOwnChanges"
PERMISSIONS = (READ, PUSH, CREATE, SUBMIT, ABANDON, REBASE, OWNER, FORGE_AUTHOR, EDIT_TOPIC,
               FORCE_PUSH, ADD_PATCH_SET, VIEW_PRIVATE, DELETE_OWN_CHANGES)


@dataclass(frozen=True)
class Rule:
    ref: str  # exact ref, prefix ending in '*', or regex starting with '^'
    permission: str
    group: str
    min_value: int = 0
    max_value: int = 0
    action: str = "allow"  # allow or block


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


def ref_matches(pattern: str, ref: str) -> bool:
    if pattern.startswith("^"):
        return re.fullmatch(pattern, ref) is not None
    if pattern.endswith("*"):
        return ref.startswith(pattern[:-1])
    return ref == pattern


def default_rules(project: str, anonymous_read: bool, has_ci_jobs: bool = False) -> list[Rule]:
    """The rules every project starts with (the OpenStack convention).

    Registered users upload (new changes, and patch sets onto open changes they can see)
    and vote Code-Review -1..+1; the project's core group votes
    Code-Review -2..+2 and Workflow -1..+1 and abandons any change; the CI account's group
    votes Verified and submits; a change's owner abandons, restores and marks it work in
    progress. Core reviewers submit by hand only where no gate jobs run.
    """
    core = f"{project}-core"
    heads = "refs/heads/*"
    rules = [
        Rule("refs/*", READ, REGISTERED_USERS),
        Rule("refs/for/*", PUSH, REGISTERED_USERS),
        Rule("refs/for/*", ADD_PATCH_SET, REGISTERED_USERS),
        Rule(heads, "label-Code-Review", REGISTERED_USERS, -1, 1),
        Rule(heads, "label-Code-Review", core, -2, 2),
        Rule(heads, "label-Workflow", core, -1, 1),
        Rule(heads, ABANDON, core),
        Rule(heads, REBASE, core),
        Rule(heads, EDIT_TOPIC, core),
        Rule(heads, "label-Verified", SERVICE_USERS, -2, 2),
        Rule(heads, SUBMIT, SERVICE_USERS),
        Rule(heads, ABANDON, CHANGE_OWNER),
        Rule(heads, REBASE, CHANGE_OWNER),
        Rule(heads, EDIT_TOPIC, CHANGE_OWNER),
        Rule(heads, "label-Workflow", CHANGE_OWNER, -1, 0),
    ]
    if not has_ci_jobs:
        rules.append(Rule(heads, SUBMIT, core))
    if anonymous_read:
        rules.append(Rule("refs/*", READ, ANONYMOUS_USERS))
    return rules


def check(rules: list[Rule], who: Principal, permission: str, ref: str) -> Decision:
    """May ``who`` use ``permission`` on ``ref``? Blocks win over grants; Administrators
    may do everything that is not blocked."""
    applicable = [
        r for r in rules
        if r.permission == permission and r.group in who.groups and ref_matches(r.ref, ref)
    ]
    if any(r.action == "block" for r in applicable):
        return Decision(False, f"{permission} on {ref} is blocked for your groups")
    if who.is_admin or any(r.action == "allow" for r in applicable):
        return Decision(True)
    who_text = who.account.username if who.account else "anonymous users"
    return Decision(False, f"{who_text} lacks the {permission} permission on {ref}")


def label_range(rules: list[Rule], who: Principal, label: str, ref: str,
                full: tuple[int, int] | None = None) -> tuple[int, int]:
    """The range the caller may vote on ``label`` on ``ref`` ((0, 0) if none).

    Grants to the caller's groups widen it; Administrators get the label's whole range
    ``full`` (by default the range of the known label of that name). Block rules narrow it
    as in Gerrit: ``block -2..+2`` forbids every vote at or beyond -2 and +2. The result
    never leaves the label's own range.
    """
    if full is None:
        known = labels.find(label)
        full = (known.min, known.max) if known else (0, 0)
    lo = hi = 0
    if who.is_admin:
        lo, hi = full
    applicable = [r for r in rules if r.permission == f"label-{label}"
                  and r.group in who.groups and ref_matches(r.ref, ref)]
    for r in applicable:
        if r.action == "allow":
            lo, hi = min(lo, r.min_value), max(hi, r.max_value)
    for r in applicable:
        if r.action == "block":
            lo, hi = max(lo, r.min_value + 1), min(hi, r.max_value - 1)
    lo, hi = max(lo, full[0]), min(hi, full[1])
    return (min(lo, 0), max(hi, 0))
