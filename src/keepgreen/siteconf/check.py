"""The built-in check of a change to the ``config`` project: its problems and its plan.

``check_config_change`` is what the pipelines call when an item's project is ``config``:
``problems`` (each with file, line and a plain sentence) make the item a CONFIG_ERROR and no
jobs run; otherwise ``plan`` is the readable list of what merging it would do, appended to
the report on the change.
"""

from __future__ import annotations

from dataclasses import dataclass

from keepgreen.git.repos import Repos
from keepgreen.store.db import Database


@dataclass(frozen=True)
class SiteProblem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else (
            f"{self.path}: {self.message}")


@dataclass(frozen=True)
class SiteCheck:
    problems: tuple[SiteProblem, ...] = ()
    plan: tuple[str, ...] = ()


def check_config_change(repos: Repos, db: Database, old_sha: str | None, new_sha: str,
                        commit_message: str) -> SiteCheck:
    """What the ``config`` state at ``new_sha`` would be wrong about, or would do, compared
    with the running site (built from ``old_sha``, the merged tip)."""
    return SiteCheck()
