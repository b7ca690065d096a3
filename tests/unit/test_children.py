"""git children ask for their parent-death signal through setpriv when it is there (so the
server can start them with vfork), and through code run in the child when it is not. The
end-to-end check that they die with a killed server is in tests/e2e/test_git_http_edge.py.
"""

from __future__ import annotations

import subprocess

import pytest

from keepgreen.git import children


def test_with_setpriv_the_child_asks_for_the_signal_itself() -> None:
    if children._SETPRIV is None:
        pytest.skip("setpriv (util-linux) is not installed here")
    argv = children.guarded(["git", "version"])
    assert argv[:3] == [children._SETPRIV, "--pdeathsig", "TERM"]
    assert children.preexec() is None
    # The guard passes git's output and exit status on.
    done = subprocess.run(argv, capture_output=True, text=True, start_new_session=True,
                          check=False)
    assert done.returncode == 0 and done.stdout.startswith("git version")
    failed = subprocess.run(children.guarded(["sh", "-c", "exit 3"]), check=False)
    assert failed.returncode == 3


def test_without_setpriv_the_signal_is_asked_for_between_fork_and_exec(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(children, "_SETPRIV", None)
    argv = children.guarded(["git", "version"])
    assert argv[0] == "/bin/sh" and "setpriv" not in argv
    assert children.preexec() is children.die_with_parent
    done = subprocess.run(argv, capture_output=True, text=True, start_new_session=True,
                          preexec_fn=children.preexec(), check=False)
    assert done.returncode == 0 and done.stdout.startswith("git version")
