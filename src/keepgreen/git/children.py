"""git processes that die with the server, children and grandchildren alike.

``git http-backend`` starts ``upload-pack`` or ``receive-pack``, which start ``pack-objects``
or ``index-pack``; a ``kill -9`` of the server must not leave any of them running. Each
request therefore runs in a session of its own under a small shell that the kernel signals
when the server dies (``PR_SET_PDEATHSIG``) and that then kills its whole process group.

Linux sends that signal when the *thread* that forked the child exits. Requests are
started from the event loop's thread, which lives as long as the server.

The signal is asked for by ``setpriv --pdeathsig`` in the child rather than by Python code
run between fork and exec: without such code Python starts children with ``vfork``, which
does not copy the large server process (a third of the time of a spawn, measured).
Without ``setpriv`` (util-linux) the call runs in the child as before.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1
# Loaded here, not between fork and exec, where only the call itself should run.
_LIBC = ctypes.CDLL(None, use_errno=True)

# Runs "$@" with the shell's stdin (an asynchronous command would get /dev/null), passes
# its exit status on, and on SIGTERM kills everything in the process group.
_GUARD = ('exec 3<&0; trap \'kill -KILL 0\' TERM; "$@" <&3 3<&- & child=$!; '
          'exec 3<&-; wait "$child"; exit $?')


_SETPRIV = shutil.which("setpriv")


def guarded(argv: list[str]) -> list[str]:
    """``argv`` under the guard shell; start it with ``preexec_fn=preexec()`` and
    ``start_new_session=True``."""
    shell = ["/bin/sh", "-c", _GUARD, "keepgreen-git", *argv]
    return [_SETPRIV, "--pdeathsig", "TERM", *shell] if _SETPRIV else shell


def preexec() -> Callable[[], None] | None:
    """What to run in the child before exec: nothing when ``setpriv`` asks for the signal."""
    return None if _SETPRIV else die_with_parent


def die_with_parent() -> None:
    """In the child before exec: ask for SIGTERM when the forking thread exits."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
