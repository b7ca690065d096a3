"""Properties of the gate over random approvals, failures, conflicts and interleavings."""

from __future__ import annotations

from random import Random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepgreen.gating import Action, GatingState, WindowPolicy, initial_state, step
from keepgreen.gating.state import ChangeQueue, Item
from tests.gating.world import World, default_pipelines

JOBS = ("lint", "unit", None)


def tree(base: list[int], merged_in: list[int]) -> list[int]:
    """The branch a build tested: the tip when the merge ran, plus each change merged in
    (merging a change the tip already has changes nothing, as with git)."""
    return base + [n for n in merged_in if n not in base]


def chain(queue: ChangeQueue, item: Item) -> list[str]:
    by_id = {i.id: i for i in queue.items}
    keys = [item.change.key]
    ahead = by_id.get(item.ahead) if item.ahead is not None else None
    while ahead is not None:
        keys.append(ahead.change.key)
        ahead = by_id.get(ahead.ahead) if ahead.ahead is not None else None
    return list(reversed(keys))


def check_queue_invariants(state: GatingState) -> None:
    gate = state.pipeline("gate")
    assert gate is not None
    for queue in gate.queues:
        positions = {item.id: n for n, item in enumerate(queue.items)}
        for n, item in enumerate(queue.items):
            # Items are tested behind items earlier in the queue, never behind later ones.
            assert item.ahead is None or positions[item.ahead] < n
            buildset = item.buildset
            if buildset is None or item.submitted:
                continue
            # Every build set is built on exactly the items now ahead of it...
            assert [c.key for c in buildset.pending_changes] == chain(queue, item)
            # ...and never on an item that is already known to fail (nearest non-failing).
            for other in queue.items[:n]:
                if other.buildset is not None and other.buildset.failing_reasons():
                    assert other.change not in buildset.pending_changes


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, object]:
    count = draw(st.integers(min_value=1, max_value=7))
    failing = draw(st.dictionaries(st.integers(0, count - 1), st.sampled_from(JOBS),
                                   max_size=count))
    pairs = st.tuples(st.integers(0, count - 1), st.integers(0, count - 1)).filter(
        lambda p: p[0] != p[1])
    conflicts = draw(st.lists(pairs, max_size=2))
    order = draw(st.permutations(list(range(count))))
    steps = draw(st.lists(st.integers(0, 12), min_size=count, max_size=count))
    window = draw(st.integers(min_value=1, max_value=4))
    early = draw(st.booleans())
    slow = draw(st.booleans())
    return {"count": count, "failing": failing, "conflicts": conflicts, "order": order,
            "steps": steps, "window": window, "early": early, "slow": slow}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_what_merges_was_tested_on_exactly_what_merged_ahead(scenario: dict[str, object]
                                                              ) -> None:
    count = scenario["count"]
    failing = scenario["failing"]
    conflicts = scenario["conflicts"]
    order = scenario["order"]
    steps = scenario["steps"]
    window = scenario["window"]
    assert isinstance(count, int) and isinstance(failing, dict)
    assert isinstance(conflicts, list) and isinstance(order, list)
    assert isinstance(steps, list) and isinstance(window, int)

    world = World(gate_window=WindowPolicy(start=window, floor=1))
    world.slow_submit = bool(scenario["slow"])
    changes = [world.add_change() for _ in range(count)]
    for index, job in failing.items():
        if scenario["early"] and job is not None:
            world.fail_early(job, changes[index])
        else:
            world.fail_job(job, changes[index])
    for first, second in conflicts:
        world.conflict(changes[first], changes[second])

    for index, pause in zip(order, steps, strict=True):
        world.approve(changes[index])
        check_queue_invariants(world.state)
        for _ in range(pause):
            world.run_some(1)
            check_queue_invariants(world.state)
    world.settle()
    check_queue_invariants(world.state)

    merged = world.merged()
    approved = [changes[i].number for i in order]
    # Every change is reported exactly once, and the gate is empty again.
    assert world.queue() == []
    for change in changes:
        assert len(world.reported(change)) == 1, (change.key, world.reported(change))
    # The merged order keeps the enqueue order.
    assert merged == [n for n in approved if n in merged]
    # A change marked failing never merges; a change with no failure and no conflict does.
    conflicted = {changes[i].number for pair in conflicts for i in pair}
    for index, change in enumerate(changes):
        if index in failing:
            assert change.number not in merged
        elif change.number not in conflicted:
            assert change.number in merged, world.reported(change)
    # Each merged change was tested on the branch as it is now, up to and including it.
    for number in merged:
        success = [r for r in world.reports
                   if r.change.number == number and r.kind == "success"][-1]
        assert success.buildset is not None
        base = world.merge_bases[success.buildset]
        tested = tree(base, [c.number for c in success.changes])
        position = merged.index(number)
        assert merged[:position + 1] == tested, (number, base, tested, merged)


OPS = ["approve", "approve", "depends", "fail", "run", "run", "promote", "patchset",
       "unapprove", "abandon"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(OPS), max_size=30), st.randoms(use_true_random=False))
def test_churn_keeps_every_merge_tested_on_what_is_ahead(ops: list[str], rnd: Random) -> None:
    """Approvals, Depends-On, failures, partial progress, promotions, new patch sets, lost
    approvals and abandons in any order: the queue invariants hold after every event, the
    gate drains, and every merge was tested on exactly the branch it landed on."""
    world = World()
    world.hold_jobs()
    world.slow_submit = rnd.random() < 0.5
    for op in ops:
        open_changes = [c for c in world.changes.values() if not c.merged]
        queued = [world.changes[int(key.split(",")[0])] for key in world.queue()]
        if op in ("approve", "depends"):
            needs = [rnd.choice(open_changes)] if op == "depends" and open_changes else []
            change = world.add_change(needs=needs)
            if rnd.random() < 0.3:
                world.fail_job(rnd.choice(JOBS), change)
            world.approve(change)
        elif op == "fail" and open_changes:
            world.fail_job("unit", rnd.choice(open_changes))
        elif op == "run" and world.held:
            build = world.running[rnd.choice(world.held)]
            world.release(change=world.changes[build.change.number])
            world.run_some(rnd.randint(1, 10))
        elif op == "promote" and queued:
            world.promote(rnd.choice(queued))
        elif op == "patchset" and queued:
            world.new_patchset(rnd.choice(queued))
        elif op == "unapprove" and queued:
            world.unapprove(rnd.choice(queued))
        elif op == "abandon" and queued:
            world.abandon(rnd.choice(queued))
        check_queue_invariants(world.state)
    world.release_all()
    world.settle()
    assert world.queue() == []
    merged = world.merged()
    for number in merged:
        success = [r for r in world.reports
                   if r.change.number == number and r.kind == "success"][-1]
        assert success.buildset is not None
        base = world.merge_bases[success.buildset]
        position = merged.index(number)
        assert merged[:position + 1] == tree(base, [c.number for c in success.changes])
        # A change merges only after every change it needs.
        assert set(world.changes[number].needs) <= set(merged[:position])


def test_replaying_the_same_events_gives_the_same_actions() -> None:
    world = World()
    world.hold_jobs()
    A, B, C = world.add_change(), world.add_change(), world.add_change()
    world.fail_job("unit", B)
    for change in (A, B, C):
        world.approve(change)
    world.settle()
    world.promote(C)
    world.release_all()
    world.settle()

    state = initial_state(default_pipelines())
    replayed: list[Action] = []
    for event in world.events:
        before = state
        state, actions = step(before, event)
        assert step(before, event) == (state, actions)  # same state and event, same answer
        replayed.extend(actions)
    assert replayed == world.actions
    assert state == world.state
