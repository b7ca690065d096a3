"""Review labels: their values and how votes carry over to a new patch set."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabelType:
    name: str
    values: tuple[tuple[int, str], ...]
    # A vote at the label's minimum survives every new patch set (a -2 stays until lifted).
    copy_min: bool = False
    # Every vote survives a rebase that changes nothing else, or a commit-message-only edit.
    copy_all_on_trivial_rebase: bool = True
    copy_all_if_no_code_change: bool = True

    @property
    def max(self) -> int:
        return max(v for v, _ in self.values)

    @property
    def min(self) -> int:
        return min(v for v, _ in self.values)

    def describe(self, value: int) -> str:
        return dict(self.values).get(value, "")

    def value_strings(self) -> dict[str, str]:
        """Gerrit's ``values`` map: ``"-2"``, ``" 0"``, ``"+1"`` to descriptions."""
        return {_signed(v): text for v, text in self.values}


def _signed(value: int) -> str:
    return " 0" if value == 0 else f"{value:+d}"


def signed(value: int) -> str:
    return _signed(value)


CODE_REVIEW = LabelType("Code-Review", (
    (-2, "This shall not be merged"), (-1, "This needs changes"), (0, "No score"),
    (1, "Looks good to me, but someone else must approve"), (2, "Looks good to me, approved"),
), copy_min=True)
VERIFIED = LabelType("Verified", (
    (-2, "Fails"), (-1, "Doesn't seem to work"), (0, "No score"), (1, "Works for me"),
    (2, "Verified"),
))
WORKFLOW = LabelType("Workflow", (
    (-1, "Work in progress"), (0, "Ready for reviews"), (1, "Approved"),
), copy_min=True)

DEFAULT_LABELS: tuple[LabelType, ...] = (CODE_REVIEW, VERIFIED, WORKFLOW)


def find(name: str, labels: tuple[LabelType, ...] = DEFAULT_LABELS) -> LabelType | None:
    """The label called ``name``, ignoring case as Gerrit does."""
    lowered = name.lower()
    return next((label for label in labels if label.name.lower() == lowered), None)


@dataclass(frozen=True)
class Approval:
    label: str
    account_id: int
    value: int


NO_CHANGE = "NO_CHANGE"
NO_CODE_CHANGE = "NO_CODE_CHANGE"
TRIVIAL_REBASE = "TRIVIAL_REBASE"
TRIVIAL_REBASE_WITH_MESSAGE_UPDATE = "TRIVIAL_REBASE_WITH_MESSAGE_UPDATE"
MERGE_FIRST_PARENT_UPDATE = "MERGE_FIRST_PARENT_UPDATE"
REWORK = "REWORK"


def copied_votes(previous: list[Approval], kind: str,
                 labels: tuple[LabelType, ...] = DEFAULT_LABELS) -> list[Approval]:
    """Which votes on the previous patch set carry over to a new one of the given kind."""
    kept = []
    for vote in previous:
        label = find(vote.label, labels)
        if label is None or vote.value == 0:
            continue
        if kind in (NO_CHANGE, TRIVIAL_REBASE) and label.copy_all_on_trivial_rebase:
            kept.append(vote)
        elif kind == NO_CODE_CHANGE and label.copy_all_if_no_code_change:
            kept.append(vote)
        elif label.copy_min and vote.value == label.min:
            kept.append(vote)
    return kept
