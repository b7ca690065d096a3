"""Timer triggers: cron expressions as Zuul's timer driver reads them."""

from __future__ import annotations

from datetime import datetime

import pytest

from keepgreen.gating.cron import CronError, CronTime, parse_cron


def at(when: datetime) -> CronTime:
    return CronTime(when.minute, when.hour, when.day, when.month, when.weekday())


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


def test_monday_is_zero_as_in_zuul() -> None:
    # Zuul reads cron with APScheduler: 0 is Monday and 6 Sunday (a crontab's 0 is Sunday).
    monday, sunday = at(datetime(2026, 11, 30, 0, 0)), at(datetime(2026, 11, 29, 0, 0))
    assert parse_cron("0 0 * * 0").matches(monday)
    assert not parse_cron("0 0 * * 0").matches(sunday)
    assert parse_cron("0 0 * * 6").matches(sunday)
    assert parse_cron("0 0 * * sun").matches(sunday)
    assert parse_cron("0 0 * * MON").matches(monday)
    assert parse_cron("0 0 * * sat-sun").matches(sunday)
    with pytest.raises(CronError, match=r"'7' is not a valid day of week \(0-6\)"):
        parse_cron("0 0 * * 7")


def test_both_day_fields_must_match_when_both_are_restricted() -> None:
    spec = parse_cron("0 0 1 * mon")
    assert not spec.matches(at(datetime(2026, 11, 1, 0, 0)))  # the 1st, but a Sunday
    assert not spec.matches(at(datetime(2026, 11, 2, 0, 0)))  # a Monday, but the 2nd
    assert spec.matches(at(datetime(2026, 6, 1, 0, 0)))  # June 1st 2026 is a Monday


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
    assert spec.matches(CronTime(minute=0, hour=0, day=3, month=5, weekday=6))
    assert not spec.matches(CronTime(minute=1, hour=0, day=3, month=5, weekday=6))
    with pytest.raises(CronError, match=r"seventh field \(jitter\) must be a whole number"):
        parse_cron("0 0 * * * 0 soon")
