"""Logs of an executor on another machine than the server: sent to the server when a
build ends.

The server's web UI and log server read a build's logs from the server's disk, so an
executor elsewhere (``executor_fetch_url``) packs the last attempt's logs folder as a
gzip-compressed tar and sends it with ``PUT /a/api/builds/{uuid}/logs/{attempt}``, signed
in as its own account (the credentials ``RemoteSources`` holds). The server unpacks it at
``builds/<uuid>/<attempt>/work/logs`` under its site and answers with that folder, which
becomes the result's ``log_dir``.

Only plain files and folders are sent: links (which the server refuses) and special files
are left out. The archive is written to an unnamed temporary file first, so its size is
known and a large log never sits in memory.
"""

from __future__ import annotations

import json
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO
from urllib.parse import quote

UPLOAD_TIMEOUT = 300.0


class LogUploadError(RuntimeError):
    """The logs of a build did not reach the server; the message says why."""


class LogUploader:
    """Sends logs folders to the server at ``url`` with an ``Authorization`` header value;
    the archive is packed in ``scratch``."""

    def __init__(self, url: str, authorization: str, scratch: Path,
                 timeout: float = UPLOAD_TIMEOUT) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.authorization = authorization
        self.scratch = scratch
        self.timeout = timeout

    def upload(self, uuid: str, attempt: int, log_dir: Path) -> Path:
        """Send ``log_dir`` as the logs of ``attempt`` of build ``uuid``; the folder they
        are in on the server. Raises LogUploadError with the cause."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=self.scratch) as archive:
            try:
                pack(log_dir, archive)
            except OSError as exc:
                raise LogUploadError(f"cannot pack {log_dir}: {exc}") from None
            size = archive.tell()
            archive.seek(0)
            return self._send(uuid, attempt, archive, size)

    def _send(self, uuid: str, attempt: int, archive: IO[bytes], size: int) -> Path:
        url = f"{self.url}a/api/builds/{quote(uuid, safe='')}/logs/{attempt}"
        request = urllib.request.Request(url, data=archive, method="PUT", headers={
            "Authorization": self.authorization, "Content-Type": "application/gzip",
            "Content-Length": str(size)})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                said = exc.read().decode("utf-8", errors="replace").strip().splitlines()
            except OSError:
                said = []
            raise LogUploadError(f"the server answered {exc.code}"
                                 + (f": {said[0]}" if said else "")) from None
        except (urllib.error.URLError, OSError) as exc:
            cause = getattr(exc, "reason", exc)
            raise LogUploadError(f"cannot send them to {self.url}: {cause}") from None
        except ValueError as exc:
            raise LogUploadError(f"the server's answer is not JSON: {exc}") from None
        placed = answer.get("log_dir") if isinstance(answer, dict) else None
        if not isinstance(placed, str) or not placed:
            raise LogUploadError("the server's answer names no log folder")
        return Path(placed)


def pack(log_dir: Path, out: IO[bytes]) -> None:
    """Write ``log_dir``'s plain files and folders to ``out`` as a tar.gz, names relative to
    ``log_dir``, owners left out."""
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for child in sorted(log_dir.iterdir()):
            tar.add(child, arcname=child.name, filter=_plain)


def _plain(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if not (member.isfile() or member.isdir()):
        return None
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    return member
