"""Changes and patch sets as plain values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

NEW = "NEW"
MERGED = "MERGED"
ABANDONED = "ABANDONED"


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    date: datetime


@dataclass(frozen=True)
class PatchSet:
    change_number: int
    number: int
    sha: str
    parents: tuple[str, ...]
    uploader_id: int
    created: datetime
    message: str
    author: Person
    committer: Person
    parent_change: int | None = None
    kind: str = "REWORK"


@dataclass(frozen=True)
class Change:
    number: int
    project: str
    branch: str
    change_id: str
    owner_id: int
    subject: str
    status: str
    current_patch_set: int
    created: datetime
    updated: datetime
    topic: str | None = None
    wip: bool = False
    private: bool = False
    submitted: datetime | None = None
    submitter_id: int | None = None
    revert_of: int | None = None
    hashtags: tuple[str, ...] = field(default=())

    @property
    def is_open(self) -> bool:
        return self.status == NEW

    @property
    def triplet(self) -> str:
        return f"{self.project}~{self.branch}~{self.change_id}"


MAX_ID = 2**31 - 1  # numbers are 32-bit in the store


def as_number(text: str) -> int | None:
    """``text`` as a change or account number: ASCII digits within range, else None."""
    if not text or not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


MAX_TOPIC = 255
MAX_HASHTAG = 255


def topic_problem(topic: str) -> str | None:
    """Why ``topic`` cannot be a change's topic, or None; the same rule for REST and push."""
    if len(topic) > MAX_TOPIC or "\n" in topic or "\r" in topic:
        return f"a topic is one line of at most {MAX_TOPIC} characters"
    return None


def clean_hashtag(tag: str) -> str:
    """A hashtag as stored: without surrounding blanks or a leading ``#``."""
    return tag.strip().lstrip("#")


def hashtag_problem(tag: str) -> str | None:
    """Why ``tag`` cannot be a hashtag, or None; the same rule for REST and push."""
    cleaned = clean_hashtag(tag)
    if (not cleaned or "," in cleaned or "\n" in cleaned or "\r" in cleaned
            or len(cleaned) > MAX_HASHTAG):
        return (f"hashtag {tag!r} must be one line of at most {MAX_HASHTAG} characters, "
                "not empty and without commas")
    return None
