"""Cron expressions for timer triggers: ``minute hour day-of-month month day-of-week``.

Zuul's timer trigger takes cron syntax with an optional sixth field for seconds; keepgreen
fires timers at whole minutes, so a sixth field must be ``0`` (or ``*``, read as ``0``). An
optional seventh field is Zuul's jitter, a whole number of seconds by which a timer may fire
late; it is kept in ``CronSpec.jitter`` but not applied (timers fire at the minute).
Each field is ``*``, a number, a range ``a-b``, any of those with a step ``/n``, or a
comma-separated list of them. Months take ``jan``..``dec``.

Zuul reads the expression with APScheduler's cron trigger, not with Vixie cron, and two
things differ from a crontab; keepgreen follows Zuul: day of week runs 0-6 with **0 for
Monday** (``mon``..``sun`` are accepted too; 7 is refused), and every field must match, so
``0 0 1 * mon`` fires only on a 1st that is a Monday (cron would fire on either).
"""

from __future__ import annotations

from dataclasses import dataclass

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # APScheduler's order: mon is 0
# name, lowest, highest, names (index + offset gives the value)
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...], int], ...] = (
    ("minute", 0, 59, (), 0),
    ("hour", 0, 23, (), 0),
    ("day of month", 1, 31, (), 0),
    ("month", 1, 12, _MONTHS, 1),
    ("day of week", 0, 6, _DAYS, 0),
)


@dataclass(frozen=True)
class CronTime:
    """One minute of the calendar, as the caller's clock gives it; ``weekday`` as Python's
    ``datetime.weekday()`` (Monday is 0)."""

    minute: int
    hour: int
    day: int
    month: int
    weekday: int


class CronError(ValueError):
    """The expression cannot be read; the message names the field."""


@dataclass(frozen=True)
class CronSpec:
    """A parsed expression: the allowed values of each field (Monday is weekday 0)."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    jitter: int = 0

    def matches(self, when: CronTime) -> bool:
        """Whether the timer fires in the minute ``when``."""
        if (when.minute not in self.minutes or when.hour not in self.hours
                or when.month not in self.months):
            return False
        return when.day in self.days and when.weekday in self.weekdays


def parse_cron(text: str) -> CronSpec:
    """Parse ``text``; raises CronError naming the field that is wrong."""
    parts = text.split()
    jitter = 0
    if len(parts) == 7:
        if not parts[6].isdigit():
            raise CronError(f"cron expression {text!r}: the seventh field (jitter) must be a "
                            f"whole number of seconds, not {parts[6]!r}")
        jitter = int(parts[6])
        parts = parts[:6]
    if len(parts) == 6:
        if parts[5] not in ("0", "*"):
            raise CronError(f"cron expression {text!r}: timers fire at whole minutes, so the "
                            f"seconds field must be 0")
        parts = parts[:5]
    if len(parts) != 5:
        raise CronError(f"cron expression {text!r} needs five fields (minute hour "
                        f"day-of-month month day-of-week), found {len(parts)}")
    values = [_field(part, *spec, text=text) for part, spec in zip(parts, _FIELDS, strict=True)]
    return CronSpec(text, values[0], values[1], values[2], values[3], values[4],
                    jitter=jitter)


def _field(part: str, name: str, low: int, high: int, names: tuple[str, ...], offset: int, *,
           text: str) -> frozenset[int]:
    found: set[int] = set()
    for piece in part.split(","):
        body, _, step_text = piece.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"cron expression {text!r}: the step {step_text!r} of the "
                                f"{name} field must be a whole number above 0")
            step = int(step_text)
        if body == "*":
            first, last = low, high
        elif "-" in body:
            left, _, right = body.partition("-")
            first = _value(left, name, low, high, names, offset, text)
            last = _value(right, name, low, high, names, offset, text)
            if first > last:
                raise CronError(f"cron expression {text!r}: the {name} range {body!r} runs "
                                f"backwards")
        else:
            first = _value(body, name, low, high, names, offset, text)
            last = high if step_text else first
        found.update(range(first, last + 1, step))
    return frozenset(found)


def _value(word: str, name: str, low: int, high: int, names: tuple[str, ...], offset: int,
           text: str) -> int:
    lowered = word.lower()
    if lowered in names:
        return names.index(lowered) + offset
    if not word.isdigit() or not low <= int(word) <= high:
        raise CronError(f"cron expression {text!r}: {word!r} is not a valid {name} "
                        f"({low}-{high})")
    return int(word)
