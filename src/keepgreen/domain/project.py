"""Projects and their names."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_BRANCH = "main"
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Project:
    name: str
    description: str = ""
    head: str = "refs/heads/" + DEFAULT_BRANCH
    anonymous_read: bool = True
    state: str = "ACTIVE"
    submit_type: str = "MERGE_IF_NECESSARY"
    required_approvals: int = 2


SUBMIT_TYPES = ("MERGE_IF_NECESSARY", "FAST_FORWARD_ONLY", "REBASE_IF_NECESSARY",
                "MERGE_ALWAYS", "CHERRY_PICK")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a project name, or None when it can.

    Names are slash-separated segments of letters, digits, ``.``, ``_`` and ``-``; a segment
    may not start with a dot or dash, end in ``.git``, or be a reserved word of the URL space.
    """
    if not name:
        return "a project name is needed"
    if len(name) > 250:
        # The project's "<name>-core" group must fit in 255 characters too.
        return "project names are at most 250 characters"
    for segment in name.split("/"):
        if segment.endswith(".git"):
            return "no part of a project name may end in .git"
        if not _SEGMENT.match(segment):
            return (
                f"project name {name!r} may only hold slash-separated parts of letters, "
                "digits, '.', '_' and '-', each starting with a letter or digit"
            )
    if name.split("/")[0] in RESERVED_PREFIXES and name != SITE_CONFIG:
        return f"project names may not start with {name.split('/')[0]!r}"
    return None


# The site's own configuration project. Its git URLs (``/config/info/refs``...) are told
# apart from the REST paths under ``/config/server/`` by their git suffixes.
SITE_CONFIG = "config"

# First path segments the HTTP server uses for itself.
RESERVED_PREFIXES = frozenset(
    {"a", "p", "c", "changes", "accounts", "groups", "projects", "config", "tools", "api",
     "static", "login", "logout", "plugins", "Documentation", "q", "x"}
)
