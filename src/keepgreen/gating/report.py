"""Report actions: one comment per outcome, a line per job, the reporter's votes."""

from __future__ import annotations

from keepgreen.gating import buildset as bs
from keepgreen.gating import pipeline as kinds
from keepgreen.gating.actions import BuildResult, Report
from keepgreen.gating.buildset import BuildSet
from keepgreen.gating.change import ChangeRef, keys
from keepgreen.gating.context import StepContext
from keepgreen.gating.pipeline import PipelineConfig, Reporters

OUTCOME_KINDS = {
    bs.SUCCESS: kinds.SUCCESS,
    bs.FAILURE: kinds.FAILURE,
    bs.MERGE_CONFLICT: kinds.MERGE_CONFLICT,
    bs.CONFIG_ERROR: kinds.CONFIG_ERROR,
    bs.NO_JOBS: kinds.NO_JOBS,
}


# Results whose job never ran as written: the line says why, since there is no log to read.
EXPLAINED = frozenset({"NODE_FAILURE", "ERROR"})


def duration_text(seconds: float) -> str:
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def build_results(buildset: BuildSet | None) -> tuple[BuildResult, ...]:
    if buildset is None:
        return ()
    return tuple(BuildResult(b.job, b.result or "", b.voting, b.duration,
                             b.reason if b.result in EXPLAINED else "")
                 for b in buildset.final_builds() if b.result is not None)


def job_lines(results: tuple[BuildResult, ...]) -> str:
    lines = []
    for result in results:
        line = f"- {result.job} {result.result}"
        if result.duration is not None:
            line += f" in {duration_text(result.duration)}"
        if not result.voting:
            line += " (non-voting)"
        if result.reason:
            line += ": " + result.reason.removeprefix(f"{result.result}: ")
        lines.append(line)
    return "\n".join(lines)


def outcome_message(config: PipelineConfig, change: ChangeRef, buildset: BuildSet,
                    outcome: str) -> str:
    """The headline of a build set's report, in plain words, with what to do next."""
    name = config.name
    ahead = buildset.changes[:-1]
    if outcome == bs.SUCCESS:
        return f"Build succeeded ({name} pipeline)."
    if outcome == bs.MERGE_CONFLICT:
        onto = f"the changes ahead of it ({keys(ahead)})" if ahead else (
            f"the tip of {change.branch}")
        detail = f" {buildset.message}" if buildset.message else ""
        return (f"Merge failed ({name} pipeline): change {change.key} cannot be merged onto "
                f"{onto}.{detail} Rebase it and upload a new patch set.")
    if outcome == bs.CONFIG_ERROR:
        return (f"Configuration error ({name} pipeline): {buildset.message}. No jobs ran; "
                f"fix the configuration and upload a new patch set.")
    if outcome == bs.NO_JOBS:
        return f"No jobs run for {change.project} in the {name} pipeline."
    failed = buildset.failing_reasons()
    reason = "; ".join(failed) if failed else "every job was skipped"
    return f"Build failed ({name} pipeline): {reason}."


def emit_report(ctx: StepContext, config: PipelineConfig, reporters: Reporters, item: int | None,
                change: ChangeRef, kind: str, message: str,
                buildset: BuildSet | None = None) -> None:
    reporter = reporters.for_kind(kind)
    results = build_results(buildset) if kind != kinds.START else ()
    lines = job_lines(results)
    ctx.emit(Report(
        pipeline=config.name, item=item, change=change, kind=kind,
        message=f"{message}\n\n{lines}" if lines else message,
        votes=reporter.votes, submit=reporter.submit, builds=results,
        changes=buildset.changes if buildset is not None else (),
        buildset=buildset.id if buildset is not None else None))
