"""Zuul's regular expressions (RE2 syntax) read with Python's ``re``.

RE2 accepts a repeated anchor such as ``^*`` or ``$?`` (an empty match, repeated), which
``re`` refuses with "nothing to repeat"; real branch matchers such as ``^*/(stable/.*)$``
use it. ``compile_zuul`` wraps each repeated anchor in a group, ``(?:^)*``, which matches
exactly what RE2 matches, and compiles the result.
"""

from __future__ import annotations

import re
from functools import lru_cache

_QUANTIFIERS = "*+?{"


def normalise(pattern: str) -> str:
    """``pattern`` with every quantified ``^`` or ``$`` outside a character class grouped."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]" or out[-1] == "["
        elif char == "[":
            in_class = True
        elif char in "^$" and pattern[i + 1:i + 2] in tuple(_QUANTIFIERS):
            char = f"(?:{char})"
        out.append(char)
        i += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def compile_zuul(pattern: str) -> re.Pattern[str]:
    """The compiled pattern; raises ``re.error`` when it is not valid either way."""
    return re.compile(normalise(pattern))
