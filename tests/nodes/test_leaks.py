"""The two-sighting leak rule, as Nodepool applies it, decided without touching the machine."""

from __future__ import annotations

import pytest

from keepgreen.domain.node import CLEANUP_STATES, Node, NodeState, Provider, ResourceId
from keepgreen.nodes.fake import FakeLaunchError, FakeProvider
from keepgreen.nodes.leaks import plan_sweep

NETNS = ResourceId("netns", "kgn-abc123-7", "7")
FOLDER = ResourceId("state-dir", "/srv/nodes/7", "7")
KNOWN = ResourceId("netns", "kgn-abc123-8", "8")
UNTAGGED = ResourceId("process", "4242@99", None)


def test_an_unknown_nodes_resources_go_on_the_second_sighting_only() -> None:
    first = plan_sweep([NETNS, FOLDER, KNOWN], known_ids={"8"}, cleanup_ids=(), suspects=())
    assert first.delete == ()
    assert first.suspects == {NETNS, FOLDER}

    second = plan_sweep([NETNS, FOLDER, KNOWN], {"8"}, (), first.suspects)
    assert set(second.delete) == {NETNS, FOLDER}
    assert second.suspects == frozenset()


def test_a_resource_that_vanished_in_between_is_forgotten() -> None:
    first = plan_sweep([NETNS], (), (), ())
    second = plan_sweep([FOLDER], (), (), first.suspects)
    assert second.delete == ()
    assert second.suspects == {FOLDER}


def test_a_node_that_became_known_is_spared() -> None:
    # The launch raced the sweep: its record appeared after the first sighting.
    first = plan_sweep([NETNS], (), (), ())
    assert plan_sweep([NETNS], {"7"}, (), first.suspects).delete == ()


def test_a_node_in_a_cleanup_state_goes_at_once_even_if_known() -> None:
    plan = plan_sweep([NETNS, FOLDER, KNOWN], {"7", "8"}, {"7"}, ())
    assert set(plan.delete) == {NETNS, FOLDER}


def test_untagged_resources_are_leaks_too() -> None:
    first = plan_sweep([UNTAGGED], {"7"}, (), ())
    assert plan_sweep([UNTAGGED], {"7"}, (), first.suspects).delete == (UNTAGGED,)


def test_cleanup_states_follow_nodepool() -> None:
    assert NodeState.READY not in CLEANUP_STATES and NodeState.HOLD not in CLEANUP_STATES
    assert {NodeState.USED, NodeState.FAILED, NodeState.BUILDING} <= CLEANUP_STATES
    assert [s.value for s in NodeState] == [
        "requested", "building", "ready", "in-use", "used", "hold", "deleting", "failed"]


def test_a_node_pins_its_host_key_for_known_hosts() -> None:
    node = Node(id="1", label="local", provider="local", state=NodeState.READY,
                host="198.18.0.2", host_key="ssh-ed25519 AAAA node-1", created_at=10.0,
                ready_at=10.25)
    assert node.known_hosts_line == "198.18.0.2 ssh-ed25519 AAAA node-1"
    assert node.boot_seconds == 0.25
    elsewhere = Node(id="2", label="l", provider="static", state=NodeState.READY,
                     host="10.0.0.5", port=2222, host_key="ssh-ed25519 BBBB")
    assert elsewhere.known_hosts_line == "[10.0.0.5]:2222 ssh-ed25519 BBBB"


def test_the_fake_provider_keeps_the_ports_contract() -> None:
    fake = FakeProvider()
    assert isinstance(fake, Provider)
    node = fake.create("local", "1")
    assert node.state is NodeState.READY
    fake.leaked.add(ResourceId("server", "ghost", "ghost"))
    assert [r.node_id for r in fake.list_resources()] == ["1", "ghost"]
    fake.delete(node)
    fake.delete(node)  # idempotent
    assert [r.node_id for r in fake.list_resources()] == ["ghost"]
    fake.fail_next = 1
    with pytest.raises(FakeLaunchError, match="failed to start"):
        fake.create("local", "2")
