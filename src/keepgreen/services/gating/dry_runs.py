"""Deploy jobs dry-run on review: reviewers of an infrastructure change see what merging it
would change on which host before they approve.

When a change enters a pipeline that is not post-review (``check``), its project's ``deploy``
jobs (as the change would have them) are added to its jobs as ``<job>-dry-run``: non-voting,
only their ``run`` playbooks, in Ansible's check mode with diffs, holding no semaphore, and
their secrets given to the playbooks as the mask (they are opened only to mask what the
hosts hold). A deploy job is dry-run only when every node it asks for has a label whose
static hosts allow dry runs for the project (``dry-run`` in the nodes config): those nodes
are then the same hosts, logged in to with the read-only account. The site decides which
projects may dry-run against its hosts, never the project.

Drift: in the ``periodic`` pipeline, a project that may dry-run gets the same dry runs
against its branch tip, with the real secrets (the configuration is merged and reviewed,
so the diff is exact and a secret in a file is not a false difference), and each one's
findings are recorded as a ``drift-report`` event
(``keepgreen.domain.events.drift_report``) and shown on ``/drift``: hosts whose state no
longer matches what the branch would deploy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from keepgreen.domain import events as domain_events
from keepgreen.jobconf import ConfigError, JobGraph
from keepgreen.jobconf.frozen import FrozenJob
from keepgreen.nodes.siteconfig import DRY_RUN
from keepgreen.services.gating.layout import ConfigSource, SiteLayout
from keepgreen.store import events as event_store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database

log = logging.getLogger(__name__)

DEPLOY_PIPELINE = "deploy"
DRIFT_PIPELINE = "periodic"
SUFFIX = "-dry-run"

DryRunLabels = Callable[[str], frozenset[str]]
"""Labels whose hosts may be dry-run against for a project (``NodesConfig.dry_run_labels``)."""


def dry_run_job(job: FrozenJob, mask_secrets: bool = True) -> FrozenJob:
    nodes = tuple(replace(n, label=n.label + DRY_RUN) for n in job.nodeset.nodes)
    return replace(job, name=job.name + SUFFIX, voting=False, semaphores=(),
                   dependencies=(), attempts=1, pre_run=(), post_run=(), dry_run=True,
                   mask_secrets=mask_secrets, nodeset=replace(job.nodeset, nodes=nodes))


def dry_runs(deploy: JobGraph, allowed: frozenset[str],
             mask_secrets: bool = True) -> tuple[FrozenJob, ...]:
    """The dry-run variants of the jobs of ``deploy`` whose nodes all have ``allowed``
    labels."""
    found = []
    for job in deploy.jobs:
        nodes = job.nodeset.nodes
        if nodes and not job.nodeset.alternatives and {n.label for n in nodes} <= allowed:
            found.append(dry_run_job(job, mask_secrets))
    return tuple(found)


def with_dry_runs(source: ConfigSource, site: SiteLayout, labels: DryRunLabels | None,
                  project: str, branch: str, sha: str, jobs: JobGraph, *,
                  is_ref: bool = False) -> JobGraph:
    """``jobs`` of a change in a pre-review pipeline (or of a branch in the drift pipeline,
    ``is_ref``), with its deploy jobs' dry runs."""
    layout = site.layout
    if (labels is None or layout is None or DEPLOY_PIPELINE not in layout.pipelines
            or jobs.pipeline not in layout.pipelines):
        return jobs
    if (jobs.pipeline != DRIFT_PIPELINE) if is_ref else layout.pipelines[
            jobs.pipeline].post_review:
        return jobs
    allowed = labels(project)
    if not allowed:
        return jobs
    try:
        deploy = source.freeze(site, project, branch, sha, DEPLOY_PIPELINE)
    except ConfigError:
        return jobs  # the deploy pipeline reports its own configuration errors
    taken = set(jobs.names)
    # On review the change is not trusted with secrets; the drift check runs merged config.
    extra = tuple(j for j in dry_runs(deploy, allowed, mask_secrets=not is_ref)
                  if j.name not in taken)
    return replace(jobs, jobs=jobs.jobs + extra) if extra else jobs


def deploy_job_of(name: str) -> str:
    return name.removesuffix(SUFFIX)


def record_drift(db: Database, jobs: JobGraph, job: str, build: str, result: str,
                 found: str) -> None:
    """Record what the periodic dry run ``job`` of ``jobs`` found as a ``drift-report``."""
    now = utcnow()
    report = domain_events.drift_report(jobs.project, jobs.branch, deploy_job_of(job), build,
                                        result, found, now)
    with db.write() as conn:
        event_store.record(conn, "drift-report", report, now, project=jobs.project)
    log.info("drift check of %s on %s: %s %s", jobs.project, jobs.branch, report["state"],
             " ".join(report["hosts"]))
