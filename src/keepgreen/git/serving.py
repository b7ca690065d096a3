"""The configuration git's own programs run with when they serve a client (over HTTP or
SSH): pushes handed to the ``proc-receive`` hook, refs the client may not see hidden."""

from __future__ import annotations

import os
from pathlib import Path

from keepgreen.domain import refs


def serving_config(*, push: bool, hooks_dir: Path, max_push_bytes: int, is_admin: bool,
                   hidden_changes: list[int], hidden_refs: list[str],
                   sees_sources: bool = False) -> list[tuple[str, str]]:
    """git settings (key, value; keys may repeat) for one fetch or push. ``sees_sources``
    shows the commits of running build sets (``refs.SOURCES``) to a caller who is not an
    administrator: an executor's account in Service Users."""
    hiding = bool(hidden_changes or hidden_refs)
    config: list[tuple[str, str]] = [
        ("http.receivepack", "true" if push else "false"),
        ("http.uploadpack", "true"),
        ("receive.procReceiveRefs", "refs/"),
        # keepgreen decides when to pack; a gc started by every push only costs time.
        ("receive.autogc", "false"),
        ("receive.advertisePushOptions", "true"),
        # A backstop over HTTP, where keepgreen counts the body and stops at max_push_bytes
        # itself; over SSH this is the limit.
        ("receive.maxInputSize", str(max_push_bytes + 1024 * 1024)),
        ("core.hooksPath", str(hooks_dir)),
        # With refs hidden from the caller, git would count the hidden ones as the
        # caller's own for this, and serve what only they reach.
        ("uploadpack.allowReachableSHA1InWant", "false" if hiding else "true"),
    ]
    if not is_admin:
        shown = (refs.SOURCES,) if sees_sources else ()
        config += [("uploadpack.hideRefs", v)
                   for v in refs.fetch_hide_refs(hidden_changes, hidden_refs, shown)]
        config += [("receive.hideRefs", v)
                   for v in refs.push_hide_refs(hidden_changes, hidden_refs)]
    return config


def config_env(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """git configuration passed through the environment, leaving repositories untouched.
    Pairs may repeat a key, for multi-valued settings such as ``uploadpack.hideRefs``."""
    env = {"GIT_CONFIG_COUNT": str(len(pairs))}
    for i, (key, value) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


def serving_env(config: list[tuple[str, str]]) -> dict[str, str]:
    """The whole environment of a serving git: no system or user configuration of the
    server's account leaks in, only ``config``."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C",
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
            **config_env(config)}
