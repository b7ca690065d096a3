"""The built-in check of a change to the ``config`` project: its problems and its plan.

``check_config_change`` is what the pipelines call when an item's project is ``config``:
``problems`` (each with file, line and a plain sentence) make the item a CONFIG_ERROR and no
jobs run; otherwise ``plan`` is the readable list of what merging it would do, appended to
the report on the change. Candidacies it adds for an election are checked here as well
(nominations open, candidate in the electorate).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from keepgreen.git.repos import Repos
from keepgreen.services.siteconf.candidacies import check_candidacies
from keepgreen.siteconf.model import SiteProblem
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database

__all__ = ["SiteCheck", "SiteProblem", "check_config_change"]


@dataclass(frozen=True)
class SiteCheck:
    problems: tuple[SiteProblem, ...] = ()
    plan: tuple[str, ...] = ()


def check_config_change(repos: Repos, db: Database, old_sha: str | None, new_sha: str,
                        commit_message: str) -> SiteCheck:
    """What the ``config`` state at ``new_sha`` would be wrong about, or would do, compared
    with the running site (the state the store holds, applied from ``old_sha``, the merged
    tip). Deleting a project needs ``allow-delete: <name>`` in ``commit_message``."""
    # Imported here: the service imports this package's pure modules at load time.
    from keepgreen.services.siteconf.config import SiteConfigService

    service = SiteConfigService(db, repos, Path(repos.root).parent)
    _, problems, plan = service.evaluate(new_sha, commit_message)
    if not problems:
        refused, steps = check_candidacies(db, service.files, old_sha, new_sha, utcnow())
        problems += refused
        plan += steps
    return SiteCheck(tuple(problems), tuple(plan))
