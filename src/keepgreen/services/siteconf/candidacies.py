"""Elections in ``config``: read them at a commit, and check what a change does to them.

``elections_at`` parses ``elections/`` and ``candidates/`` at a commit (problems name file,
line and field; they refuse a config change like any other). ``check_candidacies`` is the
automatic check of a change that adds or removes candidacy files: a new candidacy needs its
election's nominations open and the candidate in the electorate; a candidacy cannot be
withdrawn once nominations have closed. Its plan lines tell the officials what approving
the change does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from keepgreen.domain.election import ElectionSpec, candidacy_problem, electorate, stamp
from keepgreen.jobconf.source import ConfigError, Located
from keepgreen.jobconf.yaml_loader import load
from keepgreen.siteconf.elections import CANDIDATES, ELECTIONS, Candidacy, parse
from keepgreen.siteconf.model import SiteProblem, SiteState, known_groups
from keepgreen.store import elections as store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database

Files = Callable[[str, str], dict[str, str]]  # (sha, folder) -> path -> text


def elections_at(files: Files, sha: str, state: SiteState | None = None,
                 ) -> tuple[dict[str, ElectionSpec], list[Candidacy], list[SiteProblem]]:
    """The elections and candidacies at ``sha``; with the site's ``state``, an election
    naming a project or officials group it lacks is a problem too."""
    trees: dict[str, Located | ConfigError | None] = {}
    for path, text in files(sha, ELECTIONS).items():
        if not path.endswith((".yaml", ".yml")):
            continue
        try:
            trees[path] = load(path, text)
        except ConfigError as exc:
            trees[path] = exc
    if state is None:
        return parse(trees, files(sha, CANDIDATES))
    return parse(trees, files(sha, CANDIDATES), set(state.projects), known_groups(state),
                 utcnow())


def voters(db: Database, spec: ElectionSpec) -> frozenset[str]:
    with db.read() as conn:
        found = store.contributions(conn, spec.projects,
                                    spec.electorate.since(spec.voting.opens),
                                    spec.electorate.reviewers)
    return electorate(spec, found)


def check_candidacies(db: Database, files: Files, old_sha: str | None, new_sha: str,
                      now: datetime) -> tuple[list[SiteProblem], list[str]]:
    """Problems and plan lines of the candidacies ``new_sha`` adds or removes."""
    specs, new, _ = elections_at(files, new_sha)
    old = elections_at(files, old_sha)[1] if old_sha else []
    before = {(c.election, c.username) for c in old}
    after = {(c.election, c.username) for c in new}
    problems: list[SiteProblem] = []
    plan: list[str] = []
    for candidacy in new:
        if (candidacy.election, candidacy.username) in before:
            continue
        spec = specs[candidacy.election]
        problem = candidacy_problem(spec, candidacy.username, voters(db, spec), now)
        if problem:
            problems.append(SiteProblem(candidacy.path, 0, problem))
            continue
        plan.append(f"accept the candidacy of {candidacy.username} for {spec.office} of "
                    f"{spec.team} (election `{spec.name}`) once a member of "
                    f"`{spec.officials}` approves with Code-Review +2 before nominations "
                    f"close at {stamp(spec.nomination.closes)}")
    for candidacy in old:
        if (candidacy.election, candidacy.username) in after:
            continue
        spec = specs.get(candidacy.election)
        if spec is not None and now >= spec.nomination.closes:
            problems.append(SiteProblem(candidacy.path, 0, (
                f"the candidacy of {candidacy.username} cannot be withdrawn: nominations "
                f"for election {spec.name!r} closed at {stamp(spec.nomination.closes)}")))
        else:
            plan.append(f"withdraw the candidacy of {candidacy.username} "
                        f"(election `{candidacy.election}`)")
    return problems, plan
