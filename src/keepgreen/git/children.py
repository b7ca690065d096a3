"""git processes that die with the server, children and grandchildren alike.

``git http-backend`` starts ``upload-pack`` or ``receive-pack``, which start ``pack-objects``
or ``index-pack``; a ``kill -9`` of the server must not leave any of them running. Each
request therefore runs in a session of its own under a small shell that the kernel signals
when the server dies (``PR_SET_PDEATHSIG``) and that then kills its whole process group.

Linux sends that signal when the *thread* that forked the child exits. Requests are
started from the event loop's thread, which lives as long as the server.
"""

from __future__ import annotations

import ctypes
import signal

_PR_SET_PDEATHSIG = 1
# Loaded here, not between fork and exec, where only the call itself should run.
_LIBC = ctypes.CDLL(None, use_errno=True)

# Runs "$@" with the shell's stdin (an asynchronous command would get /dev/null), passes
# its exit status on, and on SIGTERM kills everything in the process group.
_GUARD = ('exec 3<&0; trap \'kill -KILL 0\' TERM; "$@" <&3 3<&- & child=$!; '
          'exec 3<&-; wait "$child"; exit $?')


def guarded(argv: list[str]) -> list[str]:
    """``argv`` under the guard shell; start it with ``preexec_fn=die_with_parent`` and
    ``start_new_session=True``."""
    return ["/bin/sh", "-c", _GUARD, "keepgreen-git", *argv]


def die_with_parent() -> None:
    """In the child before exec: ask for SIGTERM when the forking thread exits."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
