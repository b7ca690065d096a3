"""Running the builds of an item: the executor's view of a frozen job, and the checkouts.

A build set's sources are plain checkouts (``git archive``) of the commits it tests: the
item's project at its (speculative) commit, and, for jobs whose playbooks come from the
trusted ``config`` project (the base job's pre-run and post-run), ``config`` at the tip the
site layout was loaded from. Zuul runs trusted playbooks from the merged config project,
never from a change under review, and so does keepgreen.

Zuul's built-in ``noop`` job needs no nodes and no executor: it succeeds at once.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keepgreen.executor import model as ex
from keepgreen.git.repos import GitError, Repos
from keepgreen.jobconf import FrozenJob, Playbook, thaw


class BuildSetupError(RuntimeError):
    """A frozen job cannot be run by this executor yet; the message says why."""


def checkout(repos: Repos, project: str, sha: str, target: Path) -> None:
    """The commit's tree as plain files: bare repositories have no work tree to lend."""
    archive = subprocess.Popen(
        [repos.git, "--git-dir", str(repos.path(project)), "archive", sha],
        stdout=subprocess.PIPE)
    assert archive.stdout is not None
    subprocess.run(["tar", "-x", "-C", str(target)], stdin=archive.stdout, check=True)
    archive.stdout.close()
    if archive.wait() != 0:
        raise GitError(f"git archive of {sha} in {project} failed")


def is_noop(job: FrozenJob) -> bool:
    return job.name == "noop" and not job.playbooks and not job.nodeset.nodes


def job_spec(job: FrozenJob, project: str, sources: Mapping[str, Path],
             trusted: Path | None) -> ex.JobSpec:
    """The executor's view of a frozen job of ``project``. ``sources`` holds the checkout of
    each project of the item's state; ``trusted`` the checkout of ``config`` for trusted
    playbooks (None when the site has no config project)."""

    def source_of(playbook: Playbook) -> Path:
        if playbook.trusted:
            if trusted is None:
                raise BuildSetupError(
                    f'playbook {playbook.path} of job "{job.name}" comes from the trusted '
                    f"project {playbook.project}, which is not checked out")
            return trusted
        if playbook.project in sources:
            return sources[playbook.project]
        raise BuildSetupError(
            f'playbook {playbook.path} of job "{job.name}" comes from project '
            f"{playbook.project}; only playbooks of the projects under test and of the "
            f"config project can run yet")

    def playbooks(items: tuple[Playbook, ...]) -> tuple[ex.Playbook, ...]:
        return tuple(ex.Playbook(source_of(p), p.path) for p in items)

    nodeset = job.nodeset
    return ex.JobSpec(
        name=job.name, pre_run=playbooks(job.pre_run), run=playbooks(job.run),
        post_run=playbooks(job.post_run),
        nodes=tuple(ex.NodeSpec(n.name, n.label) for n in nodeset.nodes),
        groups=tuple(ex.GroupSpec(g.name, g.nodes) for g in nodeset.groups),
        # Zuul's precedence: project vars < job vars < extra vars.
        vars={**_plain(job.project_vars), **_plain(job.vars), **_plain(job.extra_vars)},
        host_vars={k: _plain(v) for k, v in _plain(job.host_vars).items()},
        group_vars={k: _plain(v) for k, v in _plain(job.group_vars).items()},
        timeout=float(job.timeout) if job.timeout else 1800.0,
        attempts=job.attempts, voting=job.voting, tags=job.tags)


def _plain(value: object) -> dict[str, Any]:
    """A frozen mapping as a plain dict (the inventory is written as JSON/YAML)."""
    plain = thaw(value)
    return plain if isinstance(plain, dict) else {}
