"""Pipeline settings the gate core needs: manager, window and what each outcome reports.

Triggers and requirements are evaluated by the services before an event reaches the core; a
pipeline here is what happens after: how items queue, and which votes each report carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from keepgreen.gating.window import WindowPolicy

# Zuul connections keepgreen has no driver for. Their triggers never fire and their reports
# are not sent (``smtp`` mail included), so a configuration written for a Zuul that also
# serves these loads unchanged; only the ``gerrit`` (and ``timer``) parts take effect.
UNSERVED_CONNECTIONS = frozenset({
    "smtp", "github", "gitlab", "gitea", "pagure", "bitbucket", "mqtt", "elasticsearch",
    "git"})

# Report kinds: Zuul's reporter names, plus the two outcomes the core adds.
START = "start"
SUCCESS = "success"
FAILURE = "failure"
MERGE_CONFLICT = "merge-conflict"
CONFIG_ERROR = "config-error"
NO_JOBS = "no-jobs"
DEQUEUE = "dequeue"
MERGE_FAILURE = "merge-failure"  # reported success, but the submit did not land
SUPERSEDED = "superseded"  # a newer item for the same ref replaced a queued one

REPORT_KINDS = (START, SUCCESS, FAILURE, MERGE_CONFLICT, CONFIG_ERROR, NO_JOBS, DEQUEUE,
                MERGE_FAILURE, SUPERSEDED)


@dataclass(frozen=True)
class Reporter:
    """What one outcome does on the change: label votes, and whether to submit it.
    ``comment`` False reports votes without the comment text (Zuul's ``comment: false``)."""

    votes: tuple[tuple[str, int], ...] = ()
    submit: bool = False
    comment: bool = True


class ReporterError(ValueError):
    """A reporter section that cannot be used; the message names the key."""


# Reporter sections of a pipeline and the outcome whose reporter stands in when one is not
# given, as in Zuul: merge conflicts and config errors report like failures.
REPORTER_FALLBACKS = {
    MERGE_CONFLICT: FAILURE,
    CONFIG_ERROR: MERGE_CONFLICT,
    MERGE_FAILURE: FAILURE,
    SUPERSEDED: DEQUEUE,
}


def parse_reporter(section: Mapping[str, object], outcome: str) -> Reporter:
    """A reporter from its plain section, ``{"gerrit": {"Verified": 1, "submit": True}}``.
    Connections that only record (``sql``, ``mysql``) are accepted: every build is recorded
    anyway. Raises ReporterError."""
    votes: list[tuple[str, int]] = []
    submit, comment = False, True
    for connection, settings in section.items():
        if connection in ("sql", "mysql") or connection in UNSERVED_CONNECTIONS:
            continue
        if connection != "gerrit":
            raise ReporterError(f'the {outcome} reporter uses unknown connection '
                                f'"{connection}"; use "gerrit"')
        if settings is None:
            continue
        if not isinstance(settings, Mapping):
            raise ReporterError(f"the {outcome} reporter's gerrit settings must be a mapping "
                                "of labels to votes")
        for key, value in settings.items():
            if key in ("submit", "comment"):
                if not isinstance(value, bool):
                    raise ReporterError(f'the {outcome} reporter\'s "{key}" must be true or '
                                        f"false, not {value!r}")
                if key == "submit":
                    submit = value
                else:
                    comment = value
            elif isinstance(value, int) and not isinstance(value, bool):
                votes.append((str(key), value))
            else:
                raise ReporterError(f'the {outcome} reporter gives label "{key}" the value '
                                    f"{value!r}; a vote is a whole number such as 1 or -2")
    return Reporter(tuple(votes), submit, comment)


def reporters_from(sections: Mapping[str, Mapping[str, object]]) -> tuple[
        Reporters, frozenset[str]]:
    """The reporters of every outcome from a pipeline's reporter sections (keyed by
    outcome: ``success``, ``merge-conflict``...), with Zuul's fallbacks, and the set of
    outcomes that report at all (the others are only logged). Raises ReporterError."""
    parsed = {kind: parse_reporter(section, kind) for kind, section in sections.items()
              if kind in REPORT_KINDS and not set(section) <= UNSERVED_CONNECTIONS}
    # In dict order, so a chain (config-error -> merge-conflict -> failure) settles at once.
    for kind, fallback in REPORTER_FALLBACKS.items():
        if kind not in parsed and fallback in parsed:
            parsed[kind] = parsed[fallback]
    reporters = Reporters(**{k.replace("-", "_"): v for k, v in parsed.items()})
    return reporters, frozenset(parsed)


@dataclass(frozen=True)
class Reporters:
    """One reporter per outcome; an outcome without votes still comments."""

    start: Reporter = Reporter()
    success: Reporter = Reporter()
    failure: Reporter = Reporter()
    merge_conflict: Reporter = Reporter()
    config_error: Reporter = Reporter()
    no_jobs: Reporter = Reporter()
    dequeue: Reporter = Reporter()
    merge_failure: Reporter = Reporter()
    superseded: Reporter = Reporter()

    def for_kind(self, kind: str) -> Reporter:
        if kind not in REPORT_KINDS:
            raise ValueError(f"unknown report kind {kind!r}; known: {', '.join(REPORT_KINDS)}")
        reporter: Reporter = getattr(self, kind.replace("-", "_"))
        return reporter


def _verified(value: int) -> Reporter:
    return Reporter(votes=(("Verified", value),))


GATE_REPORTERS = Reporters(
    start=_verified(0),
    success=Reporter(votes=(("Verified", 2),), submit=True),
    failure=_verified(-2),
    merge_conflict=_verified(-2),
    config_error=_verified(-2),
    merge_failure=_verified(-2),
)
"""OpenDev's gate: Verified 0 on start, +2 and submit on success, -2 on any failure."""

CHECK_REPORTERS = Reporters(
    success=_verified(1),
    failure=_verified(-1),
    merge_conflict=_verified(-1),
    config_error=_verified(-1),
)
"""OpenDev's check: Verified +1 on success, -1 on failure."""

SILENT_REPORTERS = Reporters()
"""Post-merge pipelines (post, promote, deploy): comments only, no votes."""


@dataclass(frozen=True)
class PipelineConfig:
    """``manager`` is one of independent, dependent, serial, supercedent. ``window`` applies
    to dependent pipelines (the others use unlimited or 1); ``per_branch`` splits every
    shared queue by branch. ``reporters`` defaults by manager: gate votes for dependent,
    check votes for independent, none for serial and supercedent."""

    name: str
    manager: str = "independent"
    window: WindowPolicy | None = None
    per_branch: bool = False
    reporters: Reporters | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a pipeline needs a name")
