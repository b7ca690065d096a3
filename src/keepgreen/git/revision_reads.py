"""Byte-exact reads of one commit through the ``git`` binary: its patch, the blame of a
file, and the commits a merge brings in. Output is kept as bytes, since files need not be
UTF-8."""

from __future__ import annotations

from dataclasses import dataclass

from keepgreen.git.repos import EMPTY_TREE, GitError, Repos

MAX_PATCH_BYTES = 32 * 1024 * 1024  # a larger patch is refused rather than buffered twice
MAX_MERGED_COMMITS = 1000


def _git(repos: Repos, project: str, *args: str) -> bytes:
    proc = repos.process(project, *args, text=False)
    if proc.returncode != 0:
        raise GitError(f"git {args[0]} failed: "
                       f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def diff(repos: Repos, project: str, base: str | None, commit: str,
         path: str | None = None) -> bytes:
    """The patch from ``base`` (the empty tree when None) to ``commit``, binary files
    included, limited to ``path`` when given."""
    args = ["diff-tree", "-p", "--binary", "--full-index", "-M", base or EMPTY_TREE, commit]
    out = _git(repos, project, *args, "--", *([path] if path else []))
    if len(out) > MAX_PATCH_BYTES:
        raise GitError(f"the patch is {len(out)} bytes, more than the {MAX_PATCH_BYTES} "
                       "bytes served")
    return out


@dataclass(frozen=True)
class BlameLine:
    """One line of a file, and the commit that last touched it."""

    line: int  # 1-based, in the blamed version
    commit: str
    author: str
    time: int  # seconds since the epoch
    subject: str


def blame(repos: Repos, project: str, commit: str, path: str) -> list[BlameLine]:
    """Every line of ``path`` at ``commit`` with the commit it came from, as
    ``git blame --porcelain`` tells it."""
    out = _git(repos, project, "blame", "--porcelain", commit, "--", path)
    lines: list[BlameLine] = []
    info: dict[str, dict[str, str]] = {}
    current: tuple[str, int] | None = None
    for raw in out.split(b"\n"):
        text = raw.decode("utf-8", errors="replace")
        if raw.startswith(b"\t"):
            if current is not None:
                sha, number = current
                meta = info.get(sha, {})
                lines.append(BlameLine(number, sha, meta.get("author", ""),
                                       int(meta.get("author-time", "0") or 0),
                                       meta.get("summary", "")))
            current = None
            continue
        head, _, rest = text.partition(" ")
        if len(head) == 40 and all(c in "0123456789abcdef" for c in head):
            parts = rest.split(" ")
            current = (head, int(parts[1]))
            info.setdefault(head, {})
        elif current is not None and head in ("author", "author-time", "summary"):
            info[current[0]][head] = rest
    return lines


def merged_commits(repos: Repos, project: str, parents: tuple[str, ...],
                   uninteresting: int) -> list[str]:
    """The commits a merge with ``parents`` brings in: reachable from its other parents
    but not from parent number ``uninteresting`` (1-based), newest first."""
    if len(parents) < 2:
        return []
    others = [p for i, p in enumerate(parents, 1) if i != uninteresting]
    out = _git(repos, project, "rev-list", f"--max-count={MAX_MERGED_COMMITS}", *others,
               "^" + parents[uninteresting - 1])
    return out.decode().split()
