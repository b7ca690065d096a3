"""Queue windows: how many items of a shared queue are tested at once.

A window works like TCP congestion control (Zuul's ``window``, ``window-floor``,
``window-ceiling``, ``window-increase-type/factor``, ``window-decrease-type/factor``): it grows
when an item merges and shrinks when one fails, never below the floor nor above the ceiling.
It changes only when an item is reported. A window of 0 means unlimited (independent
pipelines); serial and supercedent pipelines pin it to 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class Step(Protocol):
    """One way of moving a window: takes the size, returns the next size (unclamped)."""

    def apply(self, window: int) -> int: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Linear:
    """Add (increase) or subtract (decrease) ``factor``: TCP's additive step."""

    factor: int = 1
    sign: int = 1

    def __post_init__(self) -> None:
        if self.factor < 1:
            raise ValueError(f"a linear window factor must be at least 1, not {self.factor}")
        if self.sign not in (1, -1):
            raise ValueError("a linear window step is +factor or -factor")

    def apply(self, window: int) -> int:
        return window + self.sign * self.factor

    def describe(self) -> str:
        return f"{'+' if self.sign > 0 else '-'}{self.factor}"


@dataclass(frozen=True)
class Exponential:
    """Multiply (increase) or divide (decrease, rounding down) by ``factor``."""

    factor: int = 2
    grow: bool = True

    def __post_init__(self) -> None:
        if self.factor < 2:
            raise ValueError(
                f"an exponential window factor must be at least 2, not {self.factor}")

    def apply(self, window: int) -> int:
        return window * self.factor if self.grow else window // self.factor

    def describe(self) -> str:
        return f"{'x' if self.grow else '/'}{self.factor}"


def linear_increase(factor: int = 1) -> Linear:
    return Linear(factor, 1)


def linear_decrease(factor: int = 1) -> Linear:
    return Linear(factor, -1)


def exponential_increase(factor: int = 2) -> Exponential:
    return Exponential(factor, grow=True)


def exponential_decrease(factor: int = 2) -> Exponential:
    return Exponential(factor, grow=False)


@dataclass(frozen=True)
class WindowPolicy:
    """Window settings of a pipeline; Zuul's defaults: 20, floor 3, +1 per merge, halved
    per failure, no ceiling."""

    start: int = 20
    floor: int = 3
    ceiling: int | None = None
    increase: Step = field(default_factory=linear_increase)
    decrease: Step = field(default_factory=exponential_decrease)

    def __post_init__(self) -> None:
        if self.start < 0:
            raise ValueError(f"window is {self.start}; use 0 for unlimited or a positive size")
        if self.start == 0:
            return
        if self.floor < 1:
            raise ValueError(f"window-floor is {self.floor}; it must be at least 1")
        if self.start < self.floor:
            raise ValueError(
                f"window {self.start} is below window-floor {self.floor}; raise the window "
                f"or lower the floor")
        if self.ceiling is not None and self.ceiling < self.start:
            raise ValueError(
                f"window-ceiling {self.ceiling} is below window {self.start}")

    @property
    def unlimited(self) -> bool:
        return self.start == 0

    def grown(self, window: int) -> int:
        """The window after an item merged."""
        if window == 0:
            return 0
        size = max(window, self.increase.apply(window))
        return size if self.ceiling is None else min(size, self.ceiling)

    def shrunk(self, window: int) -> int:
        """The window after an item failed (any result but a merge)."""
        if window == 0:
            return 0
        return max(self.floor, min(window, self.decrease.apply(window)))

    def describe(self) -> str:
        if self.unlimited:
            return "unlimited"
        ceiling = "none" if self.ceiling is None else str(self.ceiling)
        return (f"start {self.start}, floor {self.floor}, ceiling {ceiling}, "
                f"{self.increase.describe()} per merge, {self.decrease.describe()} per failure")


UNLIMITED = WindowPolicy(start=0, floor=0)


def fixed(size: int) -> WindowPolicy:
    """A window that never moves (serial and supercedent pipelines use 1)."""
    return WindowPolicy(start=size, floor=size, ceiling=size)
