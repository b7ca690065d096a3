"""Window policies: Zuul's defaults and the TCP-like increase and decrease strategies."""

from __future__ import annotations

import pytest

from keepgreen.gating.window import (
    UNLIMITED,
    WindowPolicy,
    exponential_decrease,
    exponential_increase,
    fixed,
    linear_decrease,
    linear_increase,
)


def test_zuul_defaults() -> None:
    policy = WindowPolicy()
    assert (policy.start, policy.floor, policy.ceiling) == (20, 3, None)
    assert policy.grown(20) == 21
    assert policy.shrunk(20) == 10
    assert policy.shrunk(5) == 3  # never below the floor
    assert policy.describe() == (
        "start 20, floor 3, ceiling none, +1 per merge, /2 per failure")


def test_exponential_increase_is_capped_by_the_ceiling() -> None:
    policy = WindowPolicy(start=4, floor=2, ceiling=10, increase=exponential_increase(2))
    sizes = [4]
    for _ in range(3):
        sizes.append(policy.grown(sizes[-1]))
    assert sizes == [4, 8, 10, 10]


def test_linear_decrease_stops_at_the_floor() -> None:
    policy = WindowPolicy(start=5, floor=3, decrease=linear_decrease(1),
                          increase=linear_increase(2))
    assert policy.shrunk(5) == 4
    assert policy.shrunk(3) == 3
    assert policy.grown(5) == 7


def test_opendev_gate_settings() -> None:
    policy = WindowPolicy(start=20, floor=20, increase=linear_increase(2))
    assert policy.shrunk(40) == 20
    assert policy.grown(20) == 22


def test_unlimited_and_fixed_windows_never_move() -> None:
    assert UNLIMITED.unlimited and UNLIMITED.grown(0) == 0 and UNLIMITED.shrunk(0) == 0
    one = fixed(1)
    assert one.grown(1) == one.shrunk(1) == 1


@pytest.mark.parametrize(("make", "message"), [
    (lambda: WindowPolicy(start=-1), "use 0 for unlimited"),
    (lambda: WindowPolicy(start=2, floor=3), "window 2 is below window-floor 3"),
    (lambda: WindowPolicy(start=5, floor=0), "window-floor is 0; it must be at least 1"),
    (lambda: WindowPolicy(start=5, ceiling=4), "window-ceiling 4 is below window 5"),
    (lambda: exponential_decrease(1), "at least 2"),
    (lambda: linear_increase(0), "at least 1"),
])
def test_bad_settings_say_what_to_change(make: object, message: str) -> None:
    assert callable(make)
    with pytest.raises(ValueError, match=message):
        make()
