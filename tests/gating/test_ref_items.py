"""Ref items (branch updates, timers) in post-merge pipelines, and swapping in a new layout."""

from __future__ import annotations

import pytest

from keepgreen.gating import (
    ChangeRef,
    Enqueue,
    JobGraph,
    MergeCompleted,
    PipelineConfig,
    Report,
    RequestMerge,
    initial_state,
    reconfigure,
    step,
)
from keepgreen.gating.buildset import MERGED


def ref(newrev: str, branch: str = "main") -> ChangeRef:
    return ChangeRef(0, 0, "org/app", branch, ref=f"refs/heads/{branch}", newrev=newrev)


def test_ref_item_needs_a_ref() -> None:
    with pytest.raises(ValueError, match="ref item needs a ref"):
        ChangeRef(0, 0, "org/app")
    assert ref("abcdef0123456789").key == "refs/heads/main@abcdef0123"


def test_supercedent_post_keeps_the_running_head_and_the_newest_update() -> None:
    state = initial_state([PipelineConfig("post", "supercedent")])
    merges: list[RequestMerge] = []
    reports: list[Report] = []
    for rev in ("a" * 40, "b" * 40, "c" * 40):
        state, actions = step(state, Enqueue("post", ref(rev)))
        merges += [a for a in actions if isinstance(a, RequestMerge)]
        reports += [a for a in actions if isinstance(a, Report)]
    post = state.pipeline("post")
    assert post is not None
    items = [item.change.newrev for _, item in post.items()]
    assert items == ["a" * 40, "c" * 40]
    assert [m.change.newrev for m in merges] == ["a" * 40]
    assert [r.kind for r in reports] == ["superseded"]


def test_independent_ref_items_run_side_by_side() -> None:
    state = initial_state([PipelineConfig("periodic", "independent")])
    state, first = step(state, Enqueue("periodic", ref("a" * 40)))
    state, second = step(state, Enqueue("periodic", ref("b" * 40, "stable")))
    merges = [a for a in (*first, *second) if isinstance(a, RequestMerge)]
    assert [m.change.branch for m in merges] == ["main", "stable"]
    state, actions = step(state, MergeCompleted(merges[0].buildset, MERGED, JobGraph()))
    assert [(a.kind, a.change.key) for a in actions if isinstance(a, Report)] == [
        ("no-jobs", "refs/heads/main@aaaaaaaaaa")]


def test_reconfigure_keeps_items_of_pipelines_that_stay() -> None:
    state = initial_state([PipelineConfig("check"), PipelineConfig("post", "supercedent")])
    state, _ = step(state, Enqueue("check", ChangeRef(1, 1, "org/app")))
    state = reconfigure(state, [PipelineConfig("check"), PipelineConfig("experimental")])
    assert [p.name for p in state.pipelines] == ["check", "experimental"]
    check = state.pipeline("check")
    assert check is not None and [i.change.key for _, i in check.items()] == ["1,1"]
    # A manager change starts the pipeline afresh.
    state = reconfigure(state, [PipelineConfig("check", "serial")])
    check = state.pipeline("check")
    assert check is not None and list(check.items()) == []
    with pytest.raises(ValueError, match="manager"):
        reconfigure(state, [PipelineConfig("check", "sideways")])
