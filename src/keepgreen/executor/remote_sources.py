"""Sources for an executor on another machine than the server: fetched over git HTTP.

A build request names folders on the server's disk (the checkouts of its build set), and
for each the commit it holds and the hidden ref the server keeps it under
(``BuildRequest.origins``). ``RemoteSources`` fetches those refs from the server into one
bare mirror per project under ``<root>/mirrors`` (fetches only add what is missing; a lock
per mirror lets builds share it), writes each commit's tree into a folder of its own
under ``<root>/checkouts`` and hands the executor the request with those folders instead.

The executor signs in with its own account (``executor_username``, in Service Users, the
only non-administrators who see those refs). Its password travels to git in the
environment, never on a command line another user could read. The tree written is always
the one of the commit the server named, whatever the ref points at by then.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from keepgreen.executor.model import BuildRequest, SourceOrigin

FETCH_TIMEOUT = 600.0
FETCHED = "refs/fetched/"
KEPT = 100  # fetched commits a mirror keeps refs to


class SourceError(RuntimeError):
    """The sources of a build could not be fetched; the message says which and why."""


class RemoteSources:
    def __init__(self, root: Path, url: str, username: str, password: str) -> None:
        self.root = root
        self.url = url if url.endswith("/") else url + "/"
        self.git = shutil.which("git") or "git"
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.authorization = f"Basic {token}"  # also what build logs are sent with
        self._env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "HOME": str(root),
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: {self.authorization}",
        }

    def localize(self, request: BuildRequest) -> tuple[BuildRequest, list[Path]]:
        """``request`` with every folder replaced by a local checkout of its commit, and the
        checkouts (for ``remove``). Raises SourceError naming the project and the cause."""
        made: list[Path] = []
        places = {}
        try:
            for folder in request.folders:
                origin = request.origins.get(str(folder))
                if origin is None:
                    raise SourceError(f"the server named no commit for the folder {folder} "
                                      "of this build, so it cannot be fetched")
                target = self._folder()
                made.append(target)
                self._fetch(origin)
                self._write(origin, target)
                places[folder] = target
        except BaseException:
            remove(made)
            raise
        return request.moved(places), made

    def _folder(self) -> Path:
        parent = self.root / "checkouts"
        parent.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(dir=parent))
        folder.chmod(0o755)  # ansible runs sandboxed as an unprivileged user
        return folder

    def _mirror(self, project: str) -> Path:
        parts = project.split("/")
        if not project or project.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise SourceError(f"the project name {project!r} of this build is not one a "
                              "repository can have")
        return self.mirrors / f"{project}.git"

    @contextlib.contextmanager
    def _locked(self, project: str) -> Iterator[Path]:
        """The mirror of ``project``, created when missing, held against the other builds
        of this executor while the block runs."""
        mirror = self._mirror(project)
        mirror.parent.mkdir(parents=True, exist_ok=True)
        with open(mirror.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (mirror / "HEAD").exists():
                self._git("init", "--quiet", "--bare", "--initial-branch=main", str(mirror),
                          what=f"create a mirror of {project} in {mirror}")
            yield mirror

    def _fetch(self, origin: SourceOrigin) -> None:
        with self._locked(origin.project) as mirror:
            if self._has(mirror, origin.commit):
                return
            # Kept under a ref of the mirror, so the next fetch offers it as a base.
            self._git("--git-dir", str(mirror), "fetch", "--quiet", "--no-tags",
                      "--no-write-fetch-head", self.url + "a/" + origin.project,
                      f"+{origin.ref}:{FETCHED}{origin.commit}",
                      what=f"fetch {origin.ref} of {origin.project} from {self.url}")
            self._trim(mirror)

    @property
    def mirrors(self) -> Path:
        """The folder of the mirrors, laid out as a site's ``git`` folder."""
        return self.root / "mirrors"

    def fetch_tip(self, project: str) -> None:
        """Bring the mirror of ``project`` to the server's default branch (its ``HEAD``),
        kept as the mirror's own ``main``. Raises SourceError naming the cause."""
        with self._locked(project) as mirror:
            self._git("--git-dir", str(mirror), "fetch", "--quiet", "--no-tags",
                      "--no-write-fetch-head", self.url + "a/" + project,
                      "+HEAD:refs/heads/main",
                      what=f"fetch the default branch of {project} from {self.url}")

    def _trim(self, mirror: Path) -> None:
        """Keep the newest KEPT fetched refs of a mirror (what older ones hold goes with
        git's next gc, unless newer commits share it)."""
        proc = subprocess.run([self.git, "--git-dir", str(mirror), "for-each-ref",
                               "--sort=-committerdate", "--format=%(refname)", FETCHED],
                              capture_output=True, text=True, env=self._env)
        old = proc.stdout.splitlines()[KEPT:]
        if old:
            subprocess.run([self.git, "--git-dir", str(mirror), "update-ref", "--stdin"],
                           input="".join(f"delete {ref}\n" for ref in old), text=True,
                           capture_output=True, env=self._env)

    def _has(self, mirror: Path, sha: str) -> bool:
        proc = subprocess.run([self.git, "--git-dir", str(mirror), "cat-file", "-e",
                               sha + "^{commit}"], capture_output=True, env=self._env)
        return proc.returncode == 0

    def _write(self, origin: SourceOrigin, target: Path) -> None:
        mirror = self._mirror(origin.project)
        if not self._has(mirror, origin.commit):
            raise SourceError(f"{origin.ref} of {origin.project} at the server does not hold "
                              f"commit {origin.commit}")
        archive = subprocess.Popen(
            [self.git, "--git-dir", str(mirror), "archive", origin.commit],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self._env)
        assert archive.stdout is not None
        untar = subprocess.run(["tar", "-x", "-C", str(target)], stdin=archive.stdout,
                               capture_output=True)
        archive.stdout.close()
        if archive.wait() != 0 or untar.returncode != 0:
            raise SourceError(f"commit {origin.commit} of {origin.project} could not be "
                              f"written to {target}")

    def _git(self, *args: str, what: str) -> None:
        try:
            proc = subprocess.run([self.git, *args], capture_output=True, text=True,
                                  env=self._env, timeout=FETCH_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise SourceError(f"cannot {what}: git took longer than {FETCH_TIMEOUT:.0f} s") \
                from None
        if proc.returncode != 0:
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            raise SourceError(f"cannot {what}: "
                              f"{lines[-1].strip() if lines else 'git failed'}")


def remove(folders: list[Path]) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
