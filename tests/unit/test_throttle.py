"""The sign-in failure throttle: a sliding window per key, on an injected clock."""

from __future__ import annotations

from keepgreen.domain.throttle import LoginThrottle, account_key, client_key


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_holds_until_the_oldest_failure_leaves_the_window() -> None:
    clock = Clock()
    throttle = LoginThrottle(3, 300, clock=clock)
    for step in range(3):
        assert throttle.retry_after(["account:a"]) == 0
        throttle.failed(["account:a"])
        clock.now += 10 * (step + 1)  # failures at 0, 10 and 30
    assert throttle.retry_after(["account:a"]) == 300 - 60
    clock.now = 300.5  # the first failure has aged out
    assert throttle.retry_after(["account:a"]) == 0
    throttle.failed(["account:a"])
    assert throttle.retry_after(["account:a"]) == 10  # now the one at 10 is the oldest


def test_any_blocked_key_blocks_and_clearing_one_key_leaves_the_others() -> None:
    throttle = LoginThrottle(2, 60, clock=Clock(), address_max_failures=2)
    throttle.failed(["account:a", "client:1"])
    throttle.failed(["account:b", "client:1"])
    assert throttle.retry_after(["account:c", "client:1"]) == 60
    assert throttle.retry_after(["account:a", "client:2"]) == 0
    throttle.clear("account:a")
    assert throttle.retry_after(["account:c", "client:1"]) == 60


def test_zero_turns_the_throttle_off_and_many_keys_stay_bounded() -> None:
    clock = Clock()
    assert LoginThrottle(0, 60, clock=clock).retry_after(["x"]) == 0
    throttle = LoginThrottle(1, 60, clock=clock, max_keys=100)
    for n in range(1000):
        throttle.failed([f"account:{n}"])
    assert len(throttle) <= 100


def test_an_address_gets_a_larger_allowance_than_an_account() -> None:
    clock = Clock()
    throttle = LoginThrottle(2, 60, clock=clock, address_max_failures=5)
    for user in ("a", "b", "c", "d"):
        throttle.failed([account_key(user), client_key("192.0.2.1")])
    # Each account failed once; the address four times: still allowed.
    assert throttle.retry_after([account_key("e"), client_key("192.0.2.1")]) == 0
    throttle.failed([account_key("e"), client_key("192.0.2.1")])
    assert throttle.retry_after([account_key("f"), client_key("192.0.2.1")]) > 0
    assert throttle.retry_after([account_key("f"), client_key("192.0.2.2")]) == 0
    throttle.failed([account_key("a")])
    assert throttle.retry_after([account_key("a"), client_key("192.0.2.2")]) > 0
