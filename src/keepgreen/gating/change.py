"""The change as the gate sees it: a plain value the caller builds from the review state."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChangeRef:
    """One patch set of a change, with the facts the gate decides on.

    ``needs`` lists the change numbers this one cannot merge without: its git parent (if that
    parent is an open change) first, then every ``Depends-On:`` target. ``approved`` is the
    summary of the pipeline's requirements for this change (for a gate: Code-Review, Workflow
    and the clean-check Verified vote all satisfied); the review service evaluates the rules,
    the gate only reads the verdict. ``queue`` is the shared gate queue the change's project
    declares (None: the project gates alone). ``merged`` marks a change that already landed.

    A *ref item* (Zuul's branch or tag update, for post-merge and timer pipelines) has
    ``number`` and ``patchset`` 0, and ``ref`` (``refs/heads/main``) and ``newrev`` set.
    """

    number: int
    patchset: int
    project: str
    branch: str = "main"
    needs: tuple[int, ...] = ()
    approved: bool = False
    merged: bool = False
    queue: str | None = None
    ref: str | None = None
    newrev: str | None = None

    def __post_init__(self) -> None:
        if self.is_ref:
            if not self.ref or self.needs:
                raise ValueError("a ref item needs a ref and has no needs")
            return
        if self.number <= 0 or self.patchset <= 0:
            raise ValueError(
                f"change {self.number},{self.patchset}: change and patch set numbers start at 1")
        if self.number in self.needs:
            raise ValueError(f"change {self.number} cannot need itself")

    @property
    def is_ref(self) -> bool:
        return self.number == 0 and self.patchset == 0

    @property
    def key(self) -> str:
        """``number,patchset``: how Zuul and Gerrit name one patch set of a change; a ref
        item is named by its ref and the first characters of its new commit."""
        if self.is_ref:
            return f"{self.ref}@{(self.newrev or '')[:10]}"
        return f"{self.number},{self.patchset}"

    def __str__(self) -> str:
        return self.key


def keys(changes: tuple[ChangeRef, ...] | list[ChangeRef]) -> str:
    """The changes as ``1,1 2,1``: the speculative state in the order it is merged."""
    return " ".join(change.key for change in changes)
