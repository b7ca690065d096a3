"""Running the builds of an item: the executor's view of a frozen job, and the checkouts.

A build set's sources are plain checkouts (``git archive``) of the commits it tests: the
item's project at its (speculative) commit, and, for jobs whose playbooks come from the
trusted ``config`` project (the base job's pre-run and post-run), ``config`` at the tip the
site layout was loaded from. Zuul runs trusted playbooks from the merged config project,
never from a change under review, and so does keepgreen.

Projects outside the item's state that a job names (``required-projects``, ``roles``) are
checked out at the branch Zuul picks: the first override the project has (the entry's own
``override-checkout``, then the job's), else the item's branch if the project has it, else
the project's default branch. Each is checked out once per build set (``RepoCheckouts``).

Zuul's built-in ``noop`` job needs no nodes and no executor: it succeeds at once.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keepgreen.executor import model as ex
from keepgreen.git.repos import GitError, Repos
from keepgreen.jobconf import FrozenJob, Playbook, project_name_candidates, thaw


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


def pick_branch(branches: Collection[str], default: str, item_branch: str,
                *overrides: str | None) -> str:
    """The branch to check out of a project with ``branches`` (Zuul's rule, above)."""
    for candidate in (*overrides, item_branch):
        if candidate and candidate in branches:
            return candidate
    return default


@dataclass
class RepoCheckouts:
    """Branch checkouts of projects outside an item's state, made once per build set into
    folders from ``make_folder`` by ``write(project, sha, folder)`` (``checkout`` when left
    out); the caller removes ``folders`` with the build set."""

    repos: Repos
    make_folder: Callable[[], Path]
    folders: list[Path] = field(default_factory=list)
    made: dict[tuple[str, str], tuple[Path, str]] = field(default_factory=dict)
    write: Callable[[str, str, Path], None] | None = None

    def get(self, project: str, item_branch: str,
            *overrides: str | None) -> tuple[Path, str, str] | None:
        """(folder, branch, commit) of ``project``, or None when it does not exist."""
        if not self.repos.exists(project):
            return None
        prefix = "refs/heads/"
        branches = {ref[len(prefix):] for ref in self.repos.ref_names(project, prefix)}
        default = self.repos.head(project).removeprefix(prefix)
        branch = pick_branch(branches, default, item_branch, *overrides)
        known = self.made.get((project, branch))
        if known is None:
            sha = self.repos.resolve(project, prefix + branch)
            if sha is None:
                return None
            folder = self.make_folder()
            self.folders.append(folder)
            if self.write is not None:
                self.write(project, sha, folder)
            else:
                checkout(self.repos, project, sha, folder)
            known = self.made[(project, branch)] = (folder, sha)
        return known[0], branch, known[1]


def job_sources(job: FrozenJob, item_branch: str, sources: Mapping[str, Path],
                checkouts: RepoCheckouts, trusted: tuple[str, Path] | None
                ) -> tuple[tuple[ex.Project, ...], tuple[ex.RoleSource, ...]]:
    """The required projects and role repositories of ``job``. Projects of the item's state
    (``sources``) are used as merged there; ``trusted`` is the config project's checkout,
    used for its implicit roles. Raises BuildSetupError naming a project that is missing."""
    def local(name: str) -> str:
        candidates = project_name_candidates(name)
        return next((c for c in candidates if c in sources or checkouts.repos.exists(c)), name)

    required = []
    for entry in job.required_projects:
        name = local(entry.name)
        if name in sources:
            required.append(ex.Project(name, source=sources[name],
                                       checkout=item_branch, required=True))
            continue
        found = checkouts.get(name, item_branch, entry.override_checkout,
                              job.override_checkout)
        if found is None:
            raise BuildSetupError(f'job "{job.name}" requires project {entry.name}, which '
                                  "does not exist")
        folder, branch, sha = found
        required.append(ex.Project(name, source=folder, checkout=branch, commit=sha,
                                   required=True))
    roles = []
    for role in job.roles:
        project = local(role.project)
        if project in sources:
            folder = sources[project]
        elif trusted is not None and project == trusted[0]:
            folder = trusted[1]
        elif role.implicit:
            continue  # a job's own project outside the state: Zuul would offer it, rarely used
        else:
            checked = checkouts.get(project, item_branch, job.override_checkout)
            if checked is None:
                raise BuildSetupError(f'job "{job.name}" takes roles from project '
                                      f"{role.project}, which does not exist")
            folder = checked[0]
        roles.append(ex.RoleSource(project, folder, role.name, role.implicit))
    return tuple(required), tuple(roles)


def is_noop(job: FrozenJob) -> bool:
    return job.name == "noop" and not job.playbooks and not job.nodeset.nodes


def job_spec(job: FrozenJob, project: str, sources: Mapping[str, Path],
             trusted: Path | None, roles: tuple[ex.RoleSource, ...] = ()) -> ex.JobSpec:
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

    def bindings(playbook: Playbook) -> tuple[ex.SecretBinding, ...]:
        bound = []
        for use in playbook.secrets:
            secret = job.secrets.get(use.secret)
            if secret is None or secret.source is None:
                raise BuildSetupError(f'secret "{use.secret}" of job "{job.name}" is not '
                                      "defined")
            bound.append(ex.SecretBinding(use.name, use.secret, secret.source.project,
                                          _plain(secret.data)))
        return tuple(bound)

    def playbooks(items: tuple[Playbook, ...]) -> tuple[ex.Playbook, ...]:
        return tuple(ex.Playbook(source_of(p), p.path, secrets=bindings(p)) for p in items)

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
        pre_timeout=float(job.pre_timeout) if job.pre_timeout else None,
        post_timeout=float(job.post_timeout) if job.post_timeout else 1800.0,
        override_checkout=job.override_checkout, attempts=job.attempts, voting=job.voting,
        tags=job.tags, roles=roles, dry_run=job.dry_run, mask_secrets=job.mask_secrets)


def _plain(value: object) -> dict[str, Any]:
    """A frozen mapping as a plain dict (the inventory is written as JSON/YAML)."""
    plain = thaw(value)
    return plain if isinstance(plain, dict) else {}
