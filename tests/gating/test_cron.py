"""Timer triggers: cron expressions as Zuul's timer driver reads them."""

from __future__ import annotations

from datetime import datetime

import pytest

from keepgreen.gating.cron import CronError, CronTime, parse_cron


def at(when: datetime) -> CronTime:
    return CronTime(when.minute, when.hour, when.day, when.month, when.isoweekday() % 7)


def test_nightly_fires_once_at_two() -> None:
    nightly = parse_cron("0 2 * * *")
    assert nightly.matches(at(datetime(2026, 11, 25, 2, 0)))
    assert not nightly.matches(at(datetime(2026, 11, 25, 2, 1)))
    assert not nightly.matches(at(datetime(2026, 11, 25, 3, 0)))


def test_steps_ranges_lists_and_names() -> None:
    spec = parse_cron("*/15 9-17 * jan,jun mon-fri")
    assert spec.matches(at(datetime(2026, 6, 1, 9, 45)))  # a Monday in June
    assert not spec.matches(at(datetime(2026, 6, 6, 9, 45)))  # Saturday
    assert not spec.matches(at(datetime(2026, 6, 1, 9, 40)))
    assert not spec.matches(at(datetime(2026, 7, 1, 9, 45)))


def test_sunday_is_zero_and_seven() -> None:
    sunday = at(datetime(2026, 11, 29, 0, 0))
    assert parse_cron("0 0 * * 0").matches(sunday)
    assert parse_cron("0 0 * * 7").matches(sunday)
    assert not parse_cron("0 0 * * 1").matches(sunday)


def test_either_day_field_matches_when_both_are_restricted() -> None:
    spec = parse_cron("0 0 1 * mon")
    assert spec.matches(at(datetime(2026, 11, 1, 0, 0)))  # the 1st, a Sunday
    assert spec.matches(at(datetime(2026, 11, 2, 0, 0)))  # a Monday
    assert not spec.matches(at(datetime(2026, 11, 3, 0, 0)))


def test_seconds_field_must_be_zero() -> None:
    assert parse_cron("0 2 * * * 0").matches(at(datetime(2026, 1, 1, 2, 0)))
    with pytest.raises(CronError, match="seconds field must be 0"):
        parse_cron("0 2 * * * 30")


@pytest.mark.parametrize(("text", "message"), [
    ("0 2 * *", "needs five fields"),
    ("61 2 * * *", "not a valid minute"),
    ("0 25 * * *", "not a valid hour"),
    ("0 2 * * funday", "not a valid day of week"),
    ("*/0 * * * *", "above 0"),
    ("0 5-2 * * *", "runs backwards"),
])
def test_bad_expressions_name_the_field(text: str, message: str) -> None:
    with pytest.raises(CronError, match=message):
        parse_cron(text)


def test_zuuls_seven_field_form_with_seconds_and_jitter() -> None:
    spec = parse_cron("0 0 * * * * 60")
    assert spec.jitter == 60
    assert spec.matches(CronTime(minute=0, hour=0, day=3, month=5, weekday=2))
    assert not spec.matches(CronTime(minute=1, hour=0, day=3, month=5, weekday=2))
    with pytest.raises(CronError, match=r"seventh field \(jitter\) must be a whole number"):
        parse_cron("0 0 * * * 0 soon")
