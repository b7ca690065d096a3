"""Which change queue a project's changes join: the queue its config declares, per branch
when the config project's ``queue`` object says so."""

from __future__ import annotations

from keepgreen import gating
from keepgreen.jobconf import ProjectFiles, build_layout
from keepgreen.jobconf.yaml_loader import load
from keepgreen.services.gating.gate import branch_queue, with_queues

TRUSTED = """\
- queue:
    name: per-branch-queue
    per-branch: true
"""


def test_a_queue_object_may_split_the_queue_by_branch() -> None:
    layout = build_layout([ProjectFiles("config", "main",
                                        {"zuul.yaml": load("zuul.yaml", TRUSTED)},
                                        trusted=True)])
    assert not layout.errors
    assert branch_queue("per-branch-queue", "stable", layout) == "per-branch-queue@stable"
    assert branch_queue("integrated", "stable", layout) == "integrated"
    assert branch_queue(None, "main", layout) is None


def test_every_change_of_an_enqueue_gets_its_projects_queue() -> None:
    asked: list[tuple[str, str]] = []

    def queue_of(project: str, branch: str) -> str | None:
        asked.append((project, branch))
        return "integrated" if project in ("a", "b") else None

    event = gating.Enqueue("gate", gating.ChangeRef(2, 1, "b", needs=(1,)), (
        gating.ChangeRef(1, 1, "a"), gating.ChangeRef(3, 1, "c"), gating.ChangeRef(4, 1, "a")))
    queued = with_queues(event, queue_of)
    assert queued.change.queue == "integrated"
    assert [r.queue for r in queued.related] == ["integrated", None, "integrated"]
    assert sorted(asked) == [("a", "main"), ("b", "main"), ("c", "main")]  # once each
