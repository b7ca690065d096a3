"""Project gating: pipelines, shared change queues and the nearest-non-failing-item algorithm.

The pure core of the gate. ``step(state, event)`` returns the new state and the actions the
services must perform (speculative merges, builds to start or cancel, reports, and the reason
every waiting item waits). It imports only the standard library; time comes in as ``Tick``
events and ids from a counter in the state, so a scenario replays identically.
"""

from __future__ import annotations

from keepgreen.gating.actions import (
    Action,
    BuildResult,
    CancelBuild,
    Refused,
    Report,
    RequestMerge,
    StartBuild,
    Waiting,
)
from keepgreen.gating.change import ChangeRef
from keepgreen.gating.events import (
    BuildCompleted,
    BuildEarlyFailure,
    BuildStarted,
    Dequeue,
    Enqueue,
    Event,
    MergeCompleted,
    Promote,
    SubmitResult,
    Tick,
)
from keepgreen.gating.jobgraph import Job, JobDependency, JobGraph
from keepgreen.gating.pipeline import PipelineConfig, Reporter, Reporters
from keepgreen.gating.scheduler import initial_state, reconfigure, step
from keepgreen.gating.semaphores import Semaphore
from keepgreen.gating.state import ChangeQueue, GatingState, Item, PipelineState
from keepgreen.gating.window import WindowPolicy

__all__ = [
    "Action", "BuildCompleted", "BuildEarlyFailure", "BuildResult", "BuildStarted",
    "CancelBuild", "ChangeQueue", "ChangeRef", "Dequeue", "Enqueue", "Event", "GatingState",
    "Item", "Job", "JobDependency", "JobGraph", "MergeCompleted", "PipelineConfig",
    "PipelineState", "Promote", "Refused", "Report", "Reporter", "Reporters", "RequestMerge",
    "Semaphore", "StartBuild", "SubmitResult", "Tick", "Waiting", "WindowPolicy", "initial_state",
    "reconfigure", "step",
]
