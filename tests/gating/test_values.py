"""The plain values of the core: changes, job graphs, pipeline settings, and purity."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from keepgreen.gating import (
    ChangeRef,
    Enqueue,
    Job,
    JobGraph,
    PipelineConfig,
    Reporters,
    initial_state,
    step,
)
from keepgreen.gating.events import Dequeue

GATING_DIR = Path(__file__).resolve().parents[2] / "src" / "keepgreen" / "gating"


def test_change_keys_and_validation() -> None:
    change = ChangeRef(12, 3, "org/project")
    assert change.key == "12,3" and str(change) == "12,3"
    with pytest.raises(ValueError, match="start at 1"):
        ChangeRef(0, 1, "org/project")
    with pytest.raises(ValueError, match="cannot need itself"):
        ChangeRef(4, 1, "org/project", needs=(4,))


@pytest.mark.parametrize(("graph", "problem"), [
    (JobGraph.of("a", "a"), "job 'a' appears twice in the job graph"),
    (JobGraph.of(Job.of("a", "b")),
     "job 'a' depends on 'b', which is not in the job graph (make the dependency soft or "
     "add the job)"),
    (JobGraph.of(Job.of("a", "b"), Job.of("b", "a")),
     "the job dependencies form a cycle: a -> b -> a"),
    (JobGraph.of(Job("a", attempts=0)), "job 'a' has attempts 0; it must be at least 1"),
    (JobGraph.of(Job.of("a", soft=("missing",))), None),
])
def test_job_graph_problems_are_sentences(graph: JobGraph, problem: str | None) -> None:
    assert graph.problem() == problem


def test_pipeline_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="use one of dependent, independent, serial"):
        initial_state([PipelineConfig("gate", "depenent")])
    with pytest.raises(ValueError, match="defined twice"):
        initial_state([PipelineConfig("gate"), PipelineConfig("gate")])
    with pytest.raises(ValueError, match="unknown report kind"):
        Reporters().for_kind("win")
    with pytest.raises(ValueError, match="unknown dequeue cause"):
        Dequeue(1, "bored")


def test_gate_refuses_an_unapproved_or_merged_change() -> None:
    state = initial_state([PipelineConfig("gate", "dependent")])
    state, actions = step(state, Enqueue("gate", ChangeRef(1, 1, "org/project")))
    assert [a.reason for a in actions if hasattr(a, "reason")] == [
        "change 1,1 was not enqueued in gate: it does not meet the pipeline's requirements "
        "(approval)"]
    state, actions = step(state, Enqueue("gate", ChangeRef(1, 1, "org/project", approved=True,
                                                           merged=True)))
    assert [a.reason for a in actions if hasattr(a, "reason")] == [
        "change 1,1 was not enqueued in gate: it has already merged"]


def test_step_leaves_its_input_alone() -> None:
    state = initial_state([PipelineConfig("gate", "dependent")])
    event = Enqueue("gate", ChangeRef(1, 1, "org/project", approved=True))
    first = step(state, event)
    assert state == initial_state([PipelineConfig("gate", "dependent")])
    assert step(state, event) == first
    assert first[0].serial > state.serial


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}:{node.lineno}: use absolute imports"
            found.append((node.lineno, node.module or ""))
    return found


@pytest.mark.parametrize("path", sorted(GATING_DIR.glob("*.py")), ids=lambda p: p.name)
def test_the_gate_core_imports_only_the_standard_library(path: Path) -> None:
    bad = [f"{path.name}:{line}: imports {name}" for line, name in _imports(path)
           if name.split(".")[0] not in sys.stdlib_module_names
           and name != "keepgreen.gating" and not name.startswith("keepgreen.gating.")]
    assert not bad, "the gate core is pure (STYLE.md habit 1):\n" + "\n".join(bad)


@pytest.mark.parametrize("path", sorted(GATING_DIR.glob("*.py")), ids=lambda p: p.name)
def test_the_gate_core_reads_no_clock_and_does_no_io(path: Path) -> None:
    banned = {"time", "datetime", "threading", "asyncio", "os", "socket", "subprocess",
              "random", "uuid", "io", "pathlib"}
    used = {name.split(".")[0] for _, name in _imports(path)}
    assert not used & banned, f"{path.name} uses {sorted(used & banned)}"
    assert "open(" not in path.read_text(encoding="utf-8")


def test_modules_stay_small() -> None:
    for path in GATING_DIR.glob("*.py"):
        lines = path.read_text(encoding="utf-8").count("\n")
        assert lines < 400, f"{path.name} has {lines} lines; split it by noun"
