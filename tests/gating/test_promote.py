"""Stories about an operator promoting changes to the head of a shared queue."""

from __future__ import annotations

from tests.gating.world import World


def test_promote_moves_changes_to_the_head(world: World) -> None:
    world.hold_jobs()
    A, B, C = world.add_change(), world.add_change(), world.add_change()
    for change in (A, B, C):
        world.approve(change)
    world.settle()

    world.promote(C)
    world.settle()
    assert world.queue() == ["3,1", "1,1", "2,1"]
    world.release_all()
    world.settle()

    assert world.merged() == [C.number, A.number, B.number]
    world.assert_history([
        {"name": "lint", "result": "ABORTED", "changes": "1,1"},
        {"name": "unit", "result": "ABORTED", "changes": "1,1"},
        {"name": "lint", "result": "ABORTED", "changes": "1,1 2,1"},
        {"name": "unit", "result": "ABORTED", "changes": "1,1 2,1"},
        {"name": "lint", "result": "ABORTED", "changes": "1,1 2,1 3,1"},
        {"name": "unit", "result": "ABORTED", "changes": "1,1 2,1 3,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "3,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "3,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "3,1 1,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "3,1 1,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "3,1 1,1 2,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "3,1 1,1 2,1"},
    ])


def test_promote_keeps_items_whose_state_did_not_change(world: World) -> None:
    world.hold_jobs()
    A, B, C = world.add_change(), world.add_change(), world.add_change()
    for change in (A, B, C):
        world.approve(change)
    world.settle()
    world.promote(A, C)
    world.settle()
    # A was already at the head, so only B and C had to start over.
    assert sorted(h.changes for h in world.history) == ["1,1 2,1"] * 2 + ["1,1 2,1 3,1"] * 2
    assert {h.result for h in world.history} == {"ABORTED"}
    world.release_all()
    world.settle()
    assert world.merged() == [A.number, C.number, B.number]


def test_promote_refuses_with_reasons(world: World) -> None:
    A = world.add_change()
    world.promote(A)
    world.promote(A, pipeline="nope")
    assert [r.reason for r in world.refusals] == [
        "cannot promote change 1: it is not in the gate pipeline",
        "there is no pipeline 'nope' (pipelines: check, gate, post, deploy)",
    ]


def test_promote_never_jumps_ahead_of_a_change_being_submitted(world: World) -> None:
    A, B = world.add_change(), world.add_change()
    world.approve(A)
    world.approve(B)
    # Deliver events until A has been reported for submit but the merge is not confirmed.
    while not any(r.submit for r in world.reports):
        world.run_some(1)
    answer = world.pending.popleft()
    world.promote(B)
    world.pending.appendleft(answer)
    world.settle()
    assert world.merged() == [A.number, B.number]
    success = world.last_report(B)
    assert [c.key for c in success.changes] == ["1,1", "2,1"]
