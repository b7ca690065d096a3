"""Names of the refs keepgreen reads and writes."""

from __future__ import annotations

from dataclasses import dataclass

HEADS = "refs/heads/"
TAGS = "refs/tags/"
FOR = "refs/for/"
CHANGES = "refs/changes/"
# The commits of running build sets, for executors that fetch them (services.gating
# .source_refs); shown to administrators and Service Users only.
SOURCES = "refs/keepgreen/sources/"
ZERO = "0" * 40


def patch_set_ref(change: int, patch_set: int) -> str:
    """``refs/changes/NN/N/PS``: NN is the change number's last two digits, zero-padded."""
    return f"{CHANGES}{change % 100:02d}/{change}/{patch_set}"


def source_ref(buildset: int, sha: str) -> str:
    return f"{SOURCES}{buildset}/{sha}"


def branch_ref(branch: str) -> str:
    return branch if branch.startswith("refs/") else HEADS + branch


def short_branch(ref: str) -> str:
    return ref[len(HEADS):] if ref.startswith(HEADS) else ref


@dataclass(frozen=True)
class MagicBranch:
    """A push to ``refs/for/<branch>[%options]``."""

    branch: str
    options: tuple[str, ...]


def parse_magic_branch(ref: str) -> MagicBranch | None:
    """Split ``refs/for/main%topic=x,wip`` into branch and options; None for other refs."""
    if not ref.startswith(FOR):
        return None
    rest = ref[len(FOR):]
    target, _, opts = rest.partition("%")
    target = short_branch(target)
    options = tuple(o for o in opts.split(",") if o) if opts else ()
    return MagicBranch(target, options)


def valid_branch_name(branch: str) -> bool:
    """git's rules for a branch name (``git check-ref-format --branch``)."""
    if not branch or branch.startswith("-") or branch.endswith("."):
        return False
    bad = ("..", "@{", "\\", " ", "~", "^", ":", "?", "*", "[")
    if any(b in branch for b in bad) or any(ord(c) < 32 or ord(c) == 127 for c in branch):
        return False
    return all(part and not part.startswith(".") and not part.endswith(".lock")
               for part in branch.split("/"))


# The namespaces a caller may fetch from at all; anything else in a repository is
# keepgreen's own and shown to nobody but administrators.
SHOWN_NAMESPACES = (HEADS, TAGS, CHANGES)


def change_ref_prefix(change: int) -> str:
    """``refs/changes/NN/N``: every ref of one change (patch sets and whatever follows)."""
    return f"{CHANGES}{change % 100:02d}/{change}"


def fetch_hide_refs(hidden_changes: list[int], hidden_refs: list[str],
                    shown: tuple[str, ...] = ()) -> list[str]:
    """Values for git's ``uploadpack.hideRefs`` (the last matching entry decides): every
    namespace but the shown ones (and ``shown``), then the given branches or tags and
    changes."""
    entries = ["refs/", *(f"!{ns.rstrip('/')}" for ns in (*SHOWN_NAMESPACES, *shown))]
    return entries + hidden_refs + [change_ref_prefix(n) for n in hidden_changes]


def push_hide_refs(hidden_changes: list[int], hidden_refs: list[str]) -> list[str]:
    """Values for ``receive.hideRefs``: only what is hidden, since receive-pack refuses
    every update of a hidden ref and ``refs/for/`` must stay open."""
    return hidden_refs + [change_ref_prefix(n) for n in hidden_changes]
