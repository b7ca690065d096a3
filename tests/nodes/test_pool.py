"""The allocation rules, with values only: priorities, quotas, min-ready, cleanup."""

from __future__ import annotations

import ast
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from keepgreen.domain.node import NodeState
from keepgreen.nodes.pool import (
    CHECK_PRIORITY,
    GATE_PRIORITY,
    MIN_READY_PRIORITY,
    Assign,
    Delete,
    Fail,
    Fulfil,
    LabelConfig,
    Launch,
    PoolNode,
    PoolRequest,
    Wait,
    decide,
)

NOW = datetime(2026, 1, 1, 12, 0)
LABELS = {"local": LabelConfig("local", ("local",), min_ready=0),
          "big": LabelConfig("big", ("cloud", "local"), min_ready=0)}


def test_pool_imports_only_the_standard_library() -> None:
    path = Path(__file__).resolve().parents[2] / "src/keepgreen/nodes/pool.py"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            assert (node.module.split(".")[0] in sys.stdlib_module_names
                    or node.module == "keepgreen.domain.node"), node.module
        if isinstance(node, ast.Import):
            assert all(a.name.split(".")[0] in sys.stdlib_module_names for a in node.names)


def test_gate_before_check_before_min_ready() -> None:
    assert GATE_PRIORITY < CHECK_PRIORITY < MIN_READY_PRIORITY


def test_a_ready_spare_goes_to_the_gate_request_first() -> None:
    spare = PoolNode("n1", "local", "local", NodeState.READY)
    check = PoolRequest(1, ("local",), CHECK_PRIORITY)
    gate = PoolRequest(2, ("local",), GATE_PRIORITY)

    actions = decide(LABELS, {"local": 1}, [spare], [check, gate], NOW)

    assert Assign("n1", 2) in actions and Fulfil(2, ("n1",)) in actions
    assert Wait(1, "waiting for label local: provider local is at max-servers 1") in actions


def test_launches_for_a_request_within_quota_then_waits() -> None:
    request = PoolRequest(1, ("local", "local", "local"), CHECK_PRIORITY)

    actions = decide(LABELS, {"local": 2}, [], [request], NOW)

    assert actions.count(Launch("local", "local", 1)) == 2
    assert Wait(1, "waiting for label local: provider local is at max-servers 2") in actions


def test_a_request_is_fulfilled_when_all_its_nodes_are_ready() -> None:
    mine = [PoolNode("a", "local", "local", NodeState.READY, request_id=1),
            PoolNode("b", "big", "cloud", NodeState.BUILDING, request_id=1)]
    request = PoolRequest(1, ("big", "local"), CHECK_PRIORITY)
    assert decide(LABELS, {"local": 4, "cloud": 4}, mine, [request], NOW) == []

    ready = [mine[0], PoolNode("b", "big", "cloud", NodeState.READY, request_id=1)]
    assert decide(LABELS, {"local": 4, "cloud": 4}, ready, [request], NOW) == [
        Fulfil(1, ("b", "a"))]


def test_min_ready_tops_up_spares_with_remaining_capacity() -> None:
    labels = {"local": LabelConfig("local", ("local",), min_ready=3)}
    spare = PoolNode("s", "local", "local", NodeState.READY)

    actions = decide(labels, {"local": 2}, [spare], [], NOW)

    assert actions == [Launch("local", "local", None)]


def test_used_failed_and_expired_hold_nodes_are_deleted() -> None:
    nodes = [PoolNode("u", "local", "local", NodeState.USED),
             PoolNode("f", "local", "local", NodeState.FAILED),
             PoolNode("h1", "local", "local", NodeState.HOLD, hold_until=NOW),
             PoolNode("h2", "local", "local", NodeState.HOLD,
                      hold_until=NOW + timedelta(hours=1)),
             PoolNode("i", "local", "local", NodeState.IN_USE, request_id=9)]

    deleted = {a.node_id for a in decide(LABELS, {"local": 9}, nodes, [], NOW)
               if isinstance(a, Delete)}

    assert deleted == {"u", "f", "h1"}


def test_an_unknown_label_fails_the_request_with_a_reason() -> None:
    assert decide(LABELS, {"local": 1}, [], [PoolRequest(1, ("gpu",), 200)], NOW) == [
        Fail(1, "no provider offers label gpu")]


def test_the_least_used_provider_is_chosen() -> None:
    busy = [PoolNode("x", "local", "local", NodeState.IN_USE, request_id=5)]
    actions = decide(LABELS, {"local": 2, "cloud": 2}, busy,
                     [PoolRequest(1, ("big",), 200)], NOW)
    assert actions == [Launch("big", "cloud", 1)]


# --- properties ------------------------------------------------------------------------------

PROVIDERS = ("p1", "p2", "p3")
STATES = [NodeState.READY, NodeState.BUILDING, NodeState.IN_USE, NodeState.USED,
          NodeState.HOLD, NodeState.FAILED]

labels_st = st.fixed_dictionaries({
    "a": st.builds(LabelConfig, st.just("a"), st.just(("p1",)), st.integers(0, 3)),
    "b": st.builds(LabelConfig, st.just("b"), st.just(("p1", "p2")), st.integers(0, 3)),
    "c": st.builds(LabelConfig, st.just("c"), st.just(("p3",)), st.integers(0, 3)),
})
limits_st = st.fixed_dictionaries({p: st.integers(0, 5) for p in PROVIDERS})


@st.composite
def pools(draw: st.DrawFn) -> tuple[list[PoolNode], list[PoolRequest]]:
    request_count = draw(st.integers(0, 8))
    requests = [PoolRequest(i, tuple(draw(st.lists(st.sampled_from("abc"), min_size=1,
                                                   max_size=3))),
                            draw(st.sampled_from([100, 200, 300, 900])))
                for i in range(1, request_count + 1)]
    nodes = []
    for i in range(draw(st.integers(0, 10))):
        label = draw(st.sampled_from("abc"))
        provider = {"a": "p1", "b": draw(st.sampled_from(["p1", "p2"])), "c": "p3"}[label]
        state = draw(st.sampled_from(STATES))
        owner = draw(st.sampled_from([None, *[r.id for r in requests]]))
        if state is NodeState.IN_USE:
            owner = 99  # in use by some already fulfilled request
        nodes.append(PoolNode(f"n{i}", label, provider, state, owner))
    return nodes, requests


@settings(max_examples=300, deadline=None)
@given(labels_st, limits_st, pools())
def test_quotas_are_never_exceeded(labels: dict[str, LabelConfig], limits: dict[str, int],
                                   pool: tuple[list[PoolNode], list[PoolRequest]]) -> None:
    nodes, requests = pool
    actions = decide(labels, limits, nodes, requests, NOW)

    before = Counter(n.provider for n in nodes)
    launched = Counter(a.provider for a in actions if isinstance(a, Launch))
    for provider in PROVIDERS:
        if launched[provider]:
            assert before[provider] + launched[provider] <= limits[provider]


@settings(max_examples=300, deadline=None)
@given(labels_st, limits_st, pools())
def test_a_higher_priority_request_never_waits_for_a_label_a_lower_one_gets(
        labels: dict[str, LabelConfig], limits: dict[str, int],
        pool: tuple[list[PoolNode], list[PoolRequest]]) -> None:
    nodes, requests = pool
    actions = decide(labels, limits, nodes, requests, NOW)
    priority = {r.id: r.priority for r in requests}
    node_label = {n.id: n.label for n in nodes}

    served: dict[str, list[int]] = {}
    for action in actions:
        if isinstance(action, Launch) and action.request_id is not None:
            served.setdefault(action.label, []).append(priority[action.request_id])
        elif isinstance(action, Assign):
            served.setdefault(node_label[action.node_id], []).append(
                priority[action.request_id])
    for action in actions:
        if isinstance(action, Wait):
            for label in "abc":
                if f"label {label}:" in action.reason:
                    assert all(p <= priority[action.request_id]
                               for p in served.get(label, [])), (action, served)
