"""The working context of one step: the clock, the id counter and the actions emitted."""

from __future__ import annotations

from keepgreen.gating.actions import Action
from keepgreen.gating.semaphores import SemaphorePool


class StepContext:
    """Collects what one step does. Ids grow from the state's counter, so replaying the same
    events from the same state hands out the same ids."""

    def __init__(self, now: float, serial: int,
                 semaphores: SemaphorePool | None = None) -> None:
        self.now = now
        self.serial = serial
        self.actions: list[Action] = []
        self.semaphores = semaphores if semaphores is not None else SemaphorePool()

    def next_id(self) -> int:
        self.serial += 1
        return self.serial

    def emit(self, action: Action) -> None:
        self.actions.append(action)
