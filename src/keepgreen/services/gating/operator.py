"""Operator commands for the gate: enqueue, dequeue and promote, through the store.

A command is a row in ``management_events`` (``OperatorClient.request``), so it works against
a running server from any process that reaches the store, and the scheduler's loop thread
takes the commands in order, once each (``OperatorCommands.take``): it checks the command
against the current gate state, feeds the gate core the matching event (``Enqueue``,
``Dequeue`` with cause ``operator``, ``Promote``) and records when it took it and, if it
refused, why in one sentence. A command the client stopped waiting for is withdrawn, so a
server started later does not run a command nobody is watching any more.

Semantics follow Zuul's: ``enqueue`` puts a change into a pipeline without its trigger (a
dependent pipeline still needs the change's human approvals, so the gate never submits what
reviewers did not approve, but not the clean-check vote); ``dequeue`` takes it out with no
report on the change; ``promote`` moves the listed changes, in that order, to the head of
their shared queue, and everything behind them is re-tested.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from keepgreen import gating
from keepgreen.domain.change import NEW, as_number
from keepgreen.gating.events import OPERATOR
from keepgreen.gating.managers import manager_for
from keepgreen.services.gating.gate import approval_problem, needs_service
from keepgreen.services.gating.needs import NotEnqueueable
from keepgreen.services.review.submit import SubmitService
from keepgreen.store import builds as build_store
from keepgreen.store import changes as change_store
from keepgreen.store.builds import DEQUEUE, ENQUEUE, PROMOTE, ManagementEvent
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2


def parse_change(text: str) -> tuple[int, int]:
    """``12,1`` as (12, 1); raises ValueError with a sentence naming the bad value."""
    number, comma, patchset = text.strip().partition(",")
    # as_number keeps both within the store's 32-bit columns.
    pair = (as_number(number.strip()) or 0, as_number(patchset.strip()) or 0)
    if not comma or pair[0] <= 0 or pair[1] <= 0:
        raise ValueError(f"{text!r} is not a change: write NUMBER,PATCHSET, for example 12,1")
    return pair


class OperatorClient:
    """Writes commands and waits for the scheduler to take them."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def request(self, kind: str, pipeline: str, changes: list[tuple[int, int]], *,
                project: str = "", requested_by: str) -> int:
        with self.db.write() as conn:
            return build_store.add_management_event(
                conn, kind=kind, pipeline=pipeline, project=project, changes=changes,
                requested_by=requested_by, created=utcnow())

    def wait(self, event_id: int, timeout: float) -> ManagementEvent | None:
        """The command once taken; None when the scheduler did not take it in ``timeout``
        seconds (the command is then withdrawn)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.db.read() as conn:
                event = build_store.get_management_event(conn, event_id)
            if event is None or event.done is not None:
                return event
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_SECONDS)
        with self.db.write() as conn:
            withdrawn = build_store.finish_management_event(
                conn, event_id, utcnow(), f"withdrawn: not taken within {timeout:g} s")
        if withdrawn:
            return None
        with self.db.read() as conn:
            return build_store.get_management_event(conn, event_id)


class OperatorCommands:
    """The scheduler's side; used only from its loop thread."""

    def __init__(self, db: Database, submit: SubmitService, ci_account: str) -> None:
        self.db = db
        self.submit = submit
        self.ci_account = ci_account
        self._refusals: list[str] | None = None

    def refused(self, action: gating.Refused) -> None:
        """The core refused something; collected while a command is being applied."""
        if self._refusals is not None:
            self._refusals.append(action.reason)

    def take(self, state: Callable[[], gating.GatingState],
             send: Callable[[gating.Event], None]) -> None:
        """Apply every waiting command in order. ``state`` reads the current gate state,
        ``send`` steps the core with an event and performs what it answers."""
        with self.db.read() as conn:
            pending = build_store.pending_management_events(conn)
        for command in pending:
            with self.db.read() as conn:
                current = build_store.get_management_event(conn, command.id)
            if current is None or current.done is not None:
                continue  # withdrawn by its client meanwhile
            try:
                error = self._apply(command, state(), send)
            except Exception as exc:  # noqa: BLE001 - a bad command must not stop the gate
                log.exception("operator command %s failed", command.id)
                error = f"the scheduler could not run the command: {exc}"
            with self.db.write() as conn:
                build_store.finish_management_event(conn, command.id, utcnow(), error)
            log.info("operator %s: %s %s %s: %s", command.requested_by, command.kind,
                     command.pipeline, " ".join(f"{n},{p}" for n, p in command.changes),
                     error or "done")

    def _apply(self, command: ManagementEvent, state: gating.GatingState,
               send: Callable[[gating.Event], None]) -> str | None:
        pipeline = state.pipeline(command.pipeline)
        if pipeline is None:
            known = ", ".join(p.name for p in state.pipelines) or "none"
            return f"there is no pipeline {command.pipeline!r} (pipelines: {known})"
        if not command.changes:
            return "name at least one change"
        for number, patchset in command.changes:
            problem = self._change_problem(number, patchset, command.project)
            if problem is not None:
                return problem
        event: gating.Event
        if command.kind == ENQUEUE:
            number, patchset = command.changes[0]
            problem, built = self._enqueue(pipeline, number, patchset)
            if built is None:
                return problem
            event = built
        elif command.kind == DEQUEUE:
            number, patchset = command.changes[0]
            if not any(i.change.patchset == patchset for _, i in pipeline.live_items(number)):
                return f"change {number},{patchset} is not in the {pipeline.name} pipeline"
            event = gating.Dequeue(number, OPERATOR, pipeline=pipeline.name)
        elif command.kind == PROMOTE:
            for number, patchset in command.changes:
                if not any(i.change.patchset == patchset
                           for _, i in pipeline.live_items(number)):
                    return (f"change {number},{patchset} is not in the {pipeline.name} "
                            f"pipeline; only queued changes can be promoted")
            event = gating.Promote(pipeline.name, tuple(n for n, _ in command.changes))
        else:
            return f"unknown operator command {command.kind!r}"
        self._refusals = []
        try:
            send(event)
            refusals = self._refusals
        finally:
            self._refusals = None
        return "; ".join(refusals) or None

    def _change_problem(self, number: int, patchset: int, project: str) -> str | None:
        with self.db.read() as conn:
            change = change_store.change_by_number(conn, number)
            sets = change_store.patch_sets_of(conn, [number]).get(number, [])
        if change is None:
            return f"change {number} does not exist"
        if project and change.project != project:
            return f"change {number} belongs to project {change.project}, not {project}"
        if not any(ps.number == patchset for ps in sets):
            return f"change {number} has no patch set {patchset}"
        return None

    def _enqueue(self, pipeline: gating.PipelineState, number: int,
                 patchset: int) -> tuple[str, gating.Enqueue | None]:
        with self.db.read() as conn:
            change = change_store.change_by_number(conn, number)
        assert change is not None
        if change.status != NEW:
            return (f"change {number} is {change.status.lower()}; only open changes can be "
                    f"enqueued"), None
        if patchset != change.current_patch_set:
            return (f"patch set {patchset} of change {number} is outdated; enqueue "
                    f"{number},{change.current_patch_set}"), None
        if pipeline.live_items(number):
            return f"change {number},{patchset} is already in the {pipeline.name} pipeline", None
        dependent = manager_for(pipeline.config).requires_approval
        if dependent:
            problem = approval_problem(self.submit, change)
            if problem is not None:
                return f"change {number} cannot enter {pipeline.name}: {problem}", None
        try:
            event = needs_service(self.submit, self.ci_account).enqueue(
                pipeline.name, change, approved=True, evaluate=dependent)
        except NotEnqueueable as exc:
            return str(exc), None
        return "", event
