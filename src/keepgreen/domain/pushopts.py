"""Review push options: the ``%a,b=c`` suffix of ``refs/for/...`` and ``git push -o``."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field

from keepgreen.domain.change import clean_hashtag, hashtag_problem, topic_problem


class PushOptionError(ValueError):
    """An option is unknown or malformed; the message names it."""


@dataclass
class PushOptions:
    topic: str | None = None
    reviewers: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)
    wip: bool | None = None  # True: mark WIP, False: mark ready, None: leave as is
    private: bool | None = None
    message: str | None = None
    labels: dict[str, int] = field(default_factory=dict)
    notify: str | None = None
    base: list[str] = field(default_factory=list)
    submit: bool = False


_LABEL = re.compile(r"^([A-Za-z0-9-]+?)(?:([+-]?\d+))?$")
_NOTIFY = {"NONE", "OWNER", "OWNER_REVIEWERS", "ALL"}


def decode_message(raw: str) -> str:
    """Gerrit's rule for ``m=``: ``_`` stands for a space, then percent-decoding applies."""
    return urllib.parse.unquote_plus(raw.replace("_", " "))


def parse_label(raw: str) -> tuple[str, int]:
    """``Code-Review+2`` -> ("Code-Review", 2); a bare name means +1."""
    text = raw.replace("=", "")
    match = _LABEL.match(text)
    if not match:
        raise PushOptionError(f"label option {raw!r} is not of the form Name+N")
    name, value = match.group(1), match.group(2)
    return name, int(value) if value else 1


def parse(options: list[str] | tuple[str, ...]) -> PushOptions:
    """Fold options, in order, into one ``PushOptions``; later options win."""
    result = PushOptions()
    for option in options:
        key, has_value, value = option.partition("=")
        key = key.strip()
        if key in ("topic",):
            result.topic = urllib.parse.unquote(value) or None
            problem = topic_problem(result.topic) if result.topic else None
            if problem:
                raise PushOptionError(problem)
        elif key in ("r", "reviewer"):
            _needs(key, value, has_value)
            result.reviewers.append(value)
        elif key == "cc":
            _needs(key, value, has_value)
            result.cc.append(value)
        elif key in ("t", "hashtag"):
            _needs(key, value, has_value)
            problem = hashtag_problem(value)
            if problem:
                raise PushOptionError(problem)
            result.hashtags.append(clean_hashtag(value))
        elif key in ("wip", "work-in-progress"):
            result.wip = True
        elif key == "ready":
            result.wip = False
        elif key == "private":
            result.private = True
        elif key == "remove-private":
            result.private = False
        elif key in ("m", "message"):
            result.message = decode_message(value)
        elif key in ("l", "label"):
            _needs(key, value, has_value)
            name, score = parse_label(value)
            result.labels[name] = score
        elif key == "notify":
            if value.upper() not in _NOTIFY:
                raise PushOptionError(
                    f"notify={value} is not one of {', '.join(sorted(_NOTIFY))}"
                )
            result.notify = value.upper()
        elif key in ("notify-to", "notify-cc", "notify-bcc", "trace", "deadline"):
            pass  # accepted for compatibility; keepgreen sends no mail of its own yet
        elif key == "base":
            _needs(key, value, has_value)
            result.base.append(value)
        elif key == "submit":
            result.submit = True
        elif key in ("publish-comments", "np", "no-publish-comments", "skip-validation"):
            pass
        else:
            raise PushOptionError(f"{option!r} is not a valid push option")
    return result


def _needs(key: str, value: str, has_value: str) -> None:
    if not has_value or not value:
        raise PushOptionError(f"push option {key}= needs a value")
