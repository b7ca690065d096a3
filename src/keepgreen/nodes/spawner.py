"""Start node supervisors from one long-lived thread, so they die with this process.

Each supervisor runs under ``setpriv --pdeathsig KILL``: when its parent goes away, the kernel
kills it, and ``unshare --kill-child`` then takes the node down. Linux defines "parent" as the
*thread* that forked the child, so forking from a short-lived worker thread would kill nodes
when that thread finishes. One daemon thread does every fork instead; it lives exactly as
long as the process, which makes a crashed or ``kill -9``-ed launcher take its nodes along.
"""

from __future__ import annotations

import queue
import subprocess
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import IO


@dataclass(frozen=True)
class _Job:
    argv: tuple[str, ...]
    env: Mapping[str, str]
    log: Path
    result: Future[subprocess.Popen[bytes]]


class Spawner:
    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="node-spawner", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                log: IO[bytes] = job.log.open("ab")
                with log:
                    proc = subprocess.Popen(
                        job.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                        env=dict(job.env), start_new_session=True)
                job.result.set_result(proc)
            except BaseException as exc:  # handed to the caller, the thread carries on
                job.result.set_exception(exc)

    def spawn(self, argv: Sequence[str], env: Mapping[str, str],
              log: Path) -> subprocess.Popen[bytes]:
        """Start ``argv`` with ``setpriv --pdeathsig KILL``, output appended to ``log``."""
        result: Future[subprocess.Popen[bytes]] = Future()
        full = ("setpriv", "--pdeathsig", "KILL", "--", *argv)
        self._jobs.put(_Job(full, env, log, result))
        return result.result()


_lock = threading.Lock()
_shared: Spawner | None = None


def shared() -> Spawner:
    """The process-wide spawner (one thread for every provider in the process)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = Spawner()
        return _shared
