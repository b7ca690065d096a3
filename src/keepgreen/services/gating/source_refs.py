"""The commits a build set's folders hold, kept fetchable for executors on other machines.

The scheduler checks out every tree a build copies (the item's speculative state, the
projects of a shared queue, the trusted ``config`` tip, required projects) into folders on
its own disk; an executor in ``keepgreen serve`` reads them there. An executor on another
machine fetches the same commits over git HTTP instead, so ``SourceRefs`` remembers the
commit of every folder it checked out and, when a build is handed out, points a hidden ref
at each of them: ``refs/keepgreen/sources/<build set>/<commit>``. A speculative merge
commit is reachable from nothing else, and without a ref git would neither serve it nor
keep it through a gc.

Those refs are outside the namespaces anybody may fetch (``domain.refs``): only
administrators and members of Service Users see them. They are deleted with their build
set; the first build this process hands out in a project also deletes what an earlier
scheduler left there.

Used only from the scheduler's loop thread.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from keepgreen.domain.refs import SOURCES, ZERO, source_ref
from keepgreen.executor import model as ex
from keepgreen.git.repos import GitError, Repos
from keepgreen.services.gating.builds import checkout

log = logging.getLogger(__name__)

class SourceRefs:
    def __init__(self, repos: Repos) -> None:
        self.repos = repos
        self._origins: dict[Path, tuple[str, str]] = {}  # folder -> (project, commit)
        self._published: dict[int, dict[tuple[str, str], str]] = {}  # build set -> refs
        self._swept: set[str] = set()

    def checkout(self, project: str, sha: str, target: Path) -> None:
        """Write ``sha``'s tree into ``target`` and remember where it came from."""
        checkout(self.repos, project, sha, target)
        self._origins[target] = (project, sha)

    def publish(self, buildset: int, request: ex.BuildRequest) -> ex.BuildRequest:
        """``request`` with the origin of each of its folders, every one under a hidden ref
        of ``buildset``. A folder this object did not check out has no origin (an executor
        on another machine reports it). Raises GitError when a ref cannot be written."""
        published = self._published.setdefault(buildset, {})
        wanted: dict[str, list[tuple[str, str]]] = {}
        origins = {}
        for folder in request.folders:
            found = self._origins.get(folder)
            if found is None:
                continue
            project, sha = found
            ref = published.get(found) or source_ref(buildset, sha)
            if found not in published:
                wanted.setdefault(project, []).append((ref, sha))
            origins[str(folder)] = ex.SourceOrigin(project, sha, ref)
        for project, refs in wanted.items():
            self._sweep(project)
            self.repos.update_refs(project, [(ref, sha, "") for ref, sha in refs])
            for ref, sha in refs:
                published[(project, sha)] = ref
        return replace(request, origins=origins)

    def release(self, buildset: int, folders: list[Path]) -> None:
        """Forget ``folders`` and delete the refs of ``buildset``."""
        for folder in folders:
            self._origins.pop(folder, None)
        published = self._published.pop(buildset, {})
        by_project: dict[str, list[tuple[str, str, str]]] = {}
        for (project, sha), ref in published.items():
            by_project.setdefault(project, []).append((ref, ZERO, sha))
        for project, updates in by_project.items():
            try:
                self.repos.update_refs(project, updates)
            except GitError as exc:  # the next scheduler's sweep deletes them
                log.warning("the source refs of build set %d in %s stay: %s", buildset,
                            project, exc)

    def _sweep(self, project: str) -> None:
        if project in self._swept:
            return
        self._swept.add(project)
        mine = {ref for refs in self._published.values() for (p, _), ref in refs.items()
                if p == project}
        stale = [(ref, ZERO, sha) for ref, sha in self.repos.refs(project, SOURCES)
                 if ref not in mine]
        if stale:
            self.repos.update_refs(project, stale)
            log.info("%d source ref(s) an earlier scheduler left in %s deleted", len(stale),
                     project)

