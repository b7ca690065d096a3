"""Flaky builds in a dependent pipeline: one more try before a change is ejected.

A gate build that fails is run once more, on a new node and the same state, when the same
job passed on the same patch set in ``check``: the change was good alone, so the failure may
be the job's, not the change's. If the second try passes, the job passed and failed on the
same tree: it is flaky, and keepgreen records a ``flaky-build`` event and says so in the
report. If it fails again, the change is ejected as before. Either way a change gets one
retry per job, never more.

A job tagged ``quarantine`` (Zuul's ``tags``, on the job or on a project's pipeline entry)
runs and reports but never blocks: its failures count like a non-voting job's.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from keepgreen.store.schema import builds

CHECK_PIPELINE = "check"
QUARANTINE = "quarantine"
RETRY_NOTE = "(tried again: the job passed on this patch set in check)"


def passed_in_check(conn: Connection, project: str, change: int, patchset: int,
                    job: str) -> bool:
    """Whether ``job`` succeeded on this patch set in ``check``."""
    found = conn.execute(select(builds.c.uuid).where(
        builds.c.pipeline == CHECK_PIPELINE, builds.c.project == project,
        builds.c.change_number == change, builds.c.patch_set == patchset,
        builds.c.job == job, builds.c.result == "SUCCESS").limit(1)).first()
    return found is not None


def flaky_event(project: str, change: int, patchset: int, job: str, failed: str,
                passed: str, epoch: int) -> dict[str, object]:
    """keepgreen's ``flaky-build`` event: ``job`` failed (build ``failed``) and passed (build
    ``passed``) on the same tree of change ``change``."""
    return {"type": "flaky-build", "project": project, "change": change,
            "patchSet": patchset, "job": job, "failedBuild": failed, "passedBuild": passed,
            "eventCreatedOn": epoch}
