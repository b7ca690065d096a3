"""Deploy jobs dry-run on review: reviewers of an infrastructure change see what merging it
would change on which host before they approve.

When a change enters a pipeline that is not post-review (``check``), its project's ``deploy``
jobs (as the change would have them) are added to its jobs as ``<job>-dry-run``: non-voting,
only their ``run`` playbooks, in Ansible's check mode with diffs, their secrets masked and
never opened, holding no semaphore. A deploy job is dry-run only when every node it asks for
has a label whose static hosts allow dry runs for the project (``dry-run`` in the nodes
config): those nodes are then the same hosts, logged in to with the read-only account. The
site decides which projects may dry-run against its hosts, never the project.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from keepgreen.jobconf import ConfigError, JobGraph
from keepgreen.jobconf.frozen import FrozenJob
from keepgreen.nodes.siteconfig import DRY_RUN
from keepgreen.services.gating.layout import ConfigSource, SiteLayout

DEPLOY_PIPELINE = "deploy"
SUFFIX = "-dry-run"

DryRunLabels = Callable[[str], frozenset[str]]
"""Labels whose hosts may be dry-run against for a project (``NodesConfig.dry_run_labels``)."""


def dry_run_job(job: FrozenJob) -> FrozenJob:
    nodes = tuple(replace(n, label=n.label + DRY_RUN) for n in job.nodeset.nodes)
    return replace(job, name=job.name + SUFFIX, voting=False, semaphores=(),
                   dependencies=(), attempts=1, pre_run=(), post_run=(), dry_run=True,
                   nodeset=replace(job.nodeset, nodes=nodes))


def dry_runs(deploy: JobGraph, allowed: frozenset[str]) -> tuple[FrozenJob, ...]:
    """The dry-run variants of the jobs of ``deploy`` whose nodes all have ``allowed``
    labels."""
    found = []
    for job in deploy.jobs:
        nodes = job.nodeset.nodes
        if nodes and not job.nodeset.alternatives and {n.label for n in nodes} <= allowed:
            found.append(dry_run_job(job))
    return tuple(found)


def with_dry_runs(source: ConfigSource, site: SiteLayout, labels: DryRunLabels | None,
                  project: str, branch: str, sha: str, jobs: JobGraph) -> JobGraph:
    """``jobs`` of a change in a pre-review pipeline, with its deploy jobs' dry runs."""
    layout = site.layout
    if (labels is None or layout is None or DEPLOY_PIPELINE not in layout.pipelines
            or jobs.pipeline not in layout.pipelines
            or layout.pipelines[jobs.pipeline].post_review):
        return jobs
    allowed = labels(project)
    if not allowed:
        return jobs
    try:
        deploy = source.freeze(site, project, branch, sha, DEPLOY_PIPELINE)
    except ConfigError:
        return jobs  # the deploy pipeline reports its own configuration errors
    taken = set(jobs.names)
    extra = tuple(j for j in dry_runs(deploy, allowed) if j.name not in taken)
    return replace(jobs, jobs=jobs.jobs + extra) if extra else jobs
