"""Build logs sent to the server by executors on other machines.

An executor elsewhere (``executor_fetch_url`` set) runs a build in folders of its own; when
the build ends it sends the attempt's logs folder as a gzip-compressed tar, and
``BuildLogs`` unpacks it where the server's own executor would have written it:
``<builds root>/<uuid>/<attempt>/work/logs``. The log server (``web/builds.py``) then
serves it like any other build's logs.

Only Service Users (and administrators) may send logs, only for a build the store knows,
and only once per attempt. The archive is unpacked into a scratch folder beside the
target first, with ``tarfile``'s data filter and stricter checks of our own (no absolute
paths, no ``..``, no links, no devices), and moved into place only when all of it is
unpacked: a refused or broken archive leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from sqlalchemy import select

from keepgreen.domain.account import Principal
from keepgreen.services.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from keepgreen.store.db import Database
from keepgreen.store.schema import builds

SCRATCH_PREFIX = ".upload-"


class BuildLogs:
    """Accepts the logs folder of one build attempt, as a tar.gz, into ``builds_root``."""

    def __init__(self, db: Database, builds_root: Path) -> None:
        self.db = db
        self.builds_root = builds_root

    def target(self, who: Principal, uuid: str, attempt: int) -> Path:
        """Where the logs of ``attempt`` of build ``uuid`` go, once ``who`` may send them
        there. Raises Unauthorized, Forbidden, NotFound (no such build) or Conflict (the
        attempt's logs are already here), each with one sentence saying why."""
        if who.account is None:
            raise Unauthorized("uploading build logs needs you to sign in as a Service "
                               "User (use /a/ with your HTTP password)")
        if not who.is_service_user:
            raise Forbidden(f"only Service Users may upload build logs, and "
                            f"{who.account.username} is not in Service Users")
        with self.db.read() as conn:
            found = conn.execute(select(builds.c.uuid).where(builds.c.uuid == uuid)).first()
        if found is None:
            raise NotFound(f"build {uuid} not found")
        target = self.builds_root / uuid / str(attempt) / "work" / "logs"
        if target.exists():
            raise Conflict(f"the logs of attempt {attempt} of build {uuid} are already on "
                           "the server")
        return target

    def scratch(self) -> Path:
        """A new scratch folder on the same file system as the targets (so the logs move
        into place with a rename); ``install`` or ``discard`` removes it."""
        self.builds_root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=self.builds_root))

    def install(self, archive: Path, scratch: Path, target: Path) -> Path:
        """Unpack ``archive`` (a tar.gz) in ``scratch`` and move the result to ``target``.
        Raises BadRequest naming the member that cannot be unpacked, or Conflict when
        another upload got there first; ``scratch`` is gone afterwards either way."""
        try:
            unpacked = scratch / "logs"
            unpacked.mkdir()
            _unpack(archive, unpacked)
            made = _make_parents(target.parent, self.builds_root)
            try:
                os.rename(unpacked, target)
            except OSError:
                for folder in made:
                    _remove_empty(folder)
                raise Conflict(f"the logs of {target.relative_to(self.builds_root)} are "
                               "already on the server") from None
            return target
        finally:
            discard(scratch)


def discard(scratch: Path) -> None:
    shutil.rmtree(scratch, ignore_errors=True)


def _unpack(archive: Path, into: Path) -> None:
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            # extractall sets the folders' modes last, so a read-only one still fills.
            tar.extractall(into, members=_checked(tar), filter=tarfile.data_filter)
    except tarfile.FilterError as exc:
        name = exc.tarinfo.name if exc.tarinfo is not None else "?"
        raise BadRequest(f"the log archive's member {name!r} cannot be unpacked safely: "
                         f"{exc}") from None
    except (tarfile.TarError, EOFError, zlib.error, UnicodeError) as exc:
        raise BadRequest(f"the body is not a gzip-compressed tar of a logs folder ({exc})") \
            from None


def _checked(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    for member in tar:
        _check(member)
        yield member


def _check(member: tarfile.TarInfo) -> None:
    """Refuse what a logs folder never holds; the data filter checks the rest."""
    name = member.name
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/"):
        raise BadRequest(f"the log archive's member {name!r} has an absolute path; "
                         "members must be relative to the logs folder")
    if ".." in path.parts:
        raise BadRequest(f"the log archive's member {name!r} contains '..'; members must "
                         "stay inside the logs folder")
    if member.issym() or member.islnk():
        raise BadRequest(f"the log archive's member {name!r} is a link; logs must be "
                         "plain files and folders")
    if not (member.isfile() or member.isdir()):
        raise BadRequest(f"the log archive's member {name!r} is a device, FIFO or other "
                         "special file; logs must be plain files and folders")


def _make_parents(folder: Path, root: Path) -> list[Path]:
    """Create ``folder`` and its missing parents below ``root``; the ones made, deepest
    first."""
    made: list[Path] = []
    current = folder
    while current != root and not current.exists():
        made.append(current)
        current = current.parent
    for path in reversed(made):
        path.mkdir(exist_ok=True)
    return made


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty: something else lives there now
