"""Elections kept as code in the ``config`` project, read into ``ElectionSpec`` values.

``elections/{name}.yaml`` defines one election (a mapping, keys in ``ELECTION_KEYS``);
``candidates/{election}/{username}.txt`` is one candidacy, its text the candidate's
statement. ``parse`` returns the elections, the candidacies and every problem, each naming
file, line and field, as the ``resources/`` parser does. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime

from keepgreen.domain.account import valid_username
from keepgreen.domain.election import METHODS, ElectionSpec, ElectorateRule, Window
from keepgreen.jobconf.source import (
    ConfigError,
    Located,
    MappingNode,
    ScalarNode,
    SequenceNode,
    describe,
)
from keepgreen.siteconf.model import SiteProblem

ELECTIONS = "elections/"
CANDIDATES = "candidates/"
ELECTION_KEYS = ("team", "office", "description", "projects", "nomination", "voting",
                 "electorate", "extra-voters", "officials", "method")
WINDOW_KEYS = ("opens", "closes")
ELECTORATE_KEYS = ("merged-within-months", "reviewers")
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
MAX_STATEMENT = 65536


@dataclass(frozen=True)
class Candidacy:
    election: str
    username: str
    path: str
    statement: str


class _Problems:
    def __init__(self) -> None:
        self.items: list[SiteProblem] = []

    def at(self, node: Located | None, path: str, message: str) -> None:
        self.items.append(SiteProblem(path, node.line if node is not None else 0, message))


def election_name(path: str) -> str | None:
    """The election an ``elections/`` file defines, None for a path that is not one."""
    if not path.startswith(ELECTIONS) or not path.endswith((".yaml", ".yml")):
        return None
    return path[len(ELECTIONS):].rsplit(".", 1)[0]


def parse(trees: Mapping[str, Located | ConfigError | None],
          candidacy_texts: Mapping[str, str], projects: AbstractSet[str] | None = None,
          groups: AbstractSet[str] | None = None,
          now: datetime | None = None) -> tuple[dict[str, ElectionSpec], list[Candidacy],
                                                list[SiteProblem]]:
    """``trees``: the located YAML of each ``elections/`` file; ``candidacy_texts``: every
    file under ``candidates/`` as path -> text. ``projects`` and ``groups``, when given, are
    the site's, which the projects and officials of an election not closed by ``now`` must
    name (a closed election keeps its record when a project is later removed)."""
    problems = _Problems()
    specs: dict[str, ElectionSpec] = {}
    for path in sorted(trees):
        tree = trees[path]
        if isinstance(tree, ConfigError):
            problems.items.append(SiteProblem(tree.path, tree.line, tree.message))
            continue
        name = election_name(path) or ""
        if not NAME.match(name) or "/" in name:
            problems.at(None, path, "an election file is elections/<name>.yaml, the name in "
                                    "lower case letters, digits, '.', '_' and '-'")
            continue
        spec = _election(name, tree, path, problems)
        running = spec is not None and (now is None or now < spec.voting.closes)
        if spec is not None and running and isinstance(tree, MappingNode):
            missing = [p for p in spec.projects if projects is not None and p not in projects]
            if missing:
                problems.at(tree.get("projects"), path, f"projects of election {name!r} name "
                            f"no project of this site: {', '.join(missing)}")
                continue
            if groups is not None and spec.officials not in groups:
                problems.at(tree.get("officials"), path, f"officials of election {name!r} "
                            f"name group {spec.officials!r}, which does not exist")
                continue
        if spec is not None:
            specs[name] = spec
    candidacies = []
    for path in sorted(candidacy_texts):
        parts = path[len(CANDIDATES):].split("/")
        if len(parts) != 2 or not parts[1].endswith(".txt"):
            problems.at(None, path, "a candidacy is candidates/<election>/<username>.txt")
            continue
        election, username = parts[0], parts[1].removesuffix(".txt")
        text = candidacy_texts[path]
        if election not in specs:
            if not any(election_name(p) == election for p in trees):
                problems.at(None, path, f"there is no election {election!r} (no file "
                                        f"{ELECTIONS}{election}.yaml)")
            continue
        if not valid_username(username):
            problems.at(None, path, f"{username!r} is not a username")
            continue
        if not text.strip():
            problems.at(None, path, "a candidacy needs a statement: write why you stand")
            continue
        if len(text) > MAX_STATEMENT:
            problems.at(None, path, f"a statement may be at most {MAX_STATEMENT} characters")
            continue
        candidacies.append(Candidacy(election, username, path, text))
    return specs, candidacies, problems.items


def _election(name: str, tree: Located | None, path: str,
              problems: _Problems) -> ElectionSpec | None:
    what = f"election {name!r}"
    if not isinstance(tree, MappingNode):
        problems.at(tree, path, f"{what} must be a mapping of {', '.join(ELECTION_KEYS)}, not "
                                f"{describe(tree) if tree is not None else 'an empty file'}")
        return None
    before = len(problems.items)
    _known_keys(tree, path, what, ELECTION_KEYS, problems)
    team = _text(tree, "team", path, what, problems)
    if team is not None and not NAME.match(team.replace("/", "-")):
        problems.at(tree.get("team"), path, f"team of {what} must be a short name such as "
                                             "org-app (the winner joins <team>-ptl)")
    office = _text(tree, "office", path, what, problems, "PTL")
    description = _text(tree, "description", path, what, problems, "")
    officials = _text(tree, "officials", path, what, problems)
    method = _text(tree, "method", path, what, problems, "schulze")
    if method is not None and method not in METHODS:
        problems.at(tree.get("method"), path, f"method of {what} must be one of "
                                               f"{', '.join(METHODS)}")
    projects = _names(tree, "projects", path, what, problems, required=True)
    extra = _names(tree, "extra-voters", path, what, problems)
    for voter in extra:
        if not valid_username(voter):
            problems.at(tree.get("extra-voters"), path,
                        f"extra-voters of {what} are usernames; {voter!r} is not one")
    nomination = _window(tree, "nomination", path, what, problems)
    voting = _window(tree, "voting", path, what, problems)
    if nomination and voting and voting.opens < nomination.closes:
        problems.at(tree.key_node("voting"), path, f"voting of {what} must open at or after "
                                              "nominations close")
    rule = _electorate(tree, path, what, problems)
    if len(problems.items) > before or None in (team, officials, nomination, voting, rule):
        return None
    assert team and officials and nomination and voting and rule
    return ElectionSpec(name, team, tuple(projects), nomination, voting, officials,
                        office or "PTL", rule, tuple(extra), method or "schulze",
                        description or "")


def _known_keys(node: MappingNode, path: str, what: str, keys: tuple[str, ...],
                problems: _Problems) -> None:
    for key in node.keys():
        if key not in keys:
            problems.at(node.key_node(str(key)), path, f"{what} has unknown key {key!r}; "
                                                       f"known keys: {', '.join(keys)}")


def _text(node: MappingNode, key: str, path: str, what: str, problems: _Problems,
          default: str | None = None) -> str | None:
    value = node.get(key)
    if value is None:
        if default is None:
            problems.at(node, path, f"{what} needs `{key}`")
        return default
    if not isinstance(value, ScalarNode) or not isinstance(value.value, str) \
            or not value.value.strip():
        problems.at(value, path, f"`{key}` of {what} must be text, not {describe(value)}")
        return None
    return value.value.strip()


def _names(node: MappingNode, key: str, path: str, what: str, problems: _Problems,
           required: bool = False) -> list[str]:
    value = node.get(key)
    if value is None:
        if required:
            problems.at(node, path, f"{what} needs `{key}`, a list")
        return []
    items: tuple[Located, ...] = value.items if isinstance(value, SequenceNode) else (value,)
    if isinstance(value, ScalarNode) and value.value is None:
        items = ()
    names: list[str] = []
    for item in items:
        if not isinstance(item, ScalarNode) or not isinstance(item.value, str):
            problems.at(item, path, f"`{key}` of {what} is a list of names, not "
                                    f"{describe(item)}")
        elif item.value in names:
            problems.at(item, path, f"{item.value} is listed twice in `{key}` of {what}")
        else:
            names.append(item.value)
    if required and not names and not items:
        problems.at(value, path, f"`{key}` of {what} must name at least one")
    return names


def parse_time(text: str) -> datetime | None:
    """A time as written in an election file (ISO 8601; UTC unless an offset is given),
    as naive UTC."""
    try:
        when = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when


def _window(node: MappingNode, key: str, path: str, what: str,
            problems: _Problems) -> Window | None:
    value = node.get(key)
    if value is None:
        problems.at(node, path, f"{what} needs `{key}` with `opens` and `closes`")
        return None
    if not isinstance(value, MappingNode):
        problems.at(value, path, f"`{key}` of {what} must be a mapping with `opens` and "
                                 f"`closes`, not {describe(value)}")
        return None
    _known_keys(value, path, f"`{key}` of {what}", WINDOW_KEYS, problems)
    times: list[datetime] = []
    for end in WINDOW_KEYS:
        item = value.get(end)
        if item is None:
            problems.at(value, path, f"`{key}` of {what} needs `{end}`")
            continue
        when = parse_time(str(item.value)) if isinstance(item, ScalarNode) else None
        if when is None:
            problems.at(item, path, f"`{key}.{end}` of {what} must be a time like "
                                    "2027-03-01T00:00:00Z")
            continue
        times.append(when)
    if len(times) != 2:
        return None
    if times[0] >= times[1]:
        problems.at(value, path, f"`{key}` of {what} must close after it opens")
        return None
    return Window(times[0], times[1])


def _electorate(node: MappingNode, path: str, what: str,
                problems: _Problems) -> ElectorateRule | None:
    value = node.get("electorate")
    if value is None:
        return ElectorateRule()
    if not isinstance(value, MappingNode):
        problems.at(value, path, f"`electorate` of {what} must be a mapping of "
                                 f"{', '.join(ELECTORATE_KEYS)}")
        return None
    _known_keys(value, path, f"`electorate` of {what}", ELECTORATE_KEYS, problems)
    months = 12
    item = value.get("merged-within-months")
    if item is not None:
        if not isinstance(item, ScalarNode) or isinstance(item.value, bool) \
                or not isinstance(item.value, int) or not 1 <= item.value <= 120:
            problems.at(item, path, f"`electorate.merged-within-months` of {what} must be a "
                                    "whole number from 1 to 120")
            return None
        months = item.value
    reviewers = False
    item = value.get("reviewers")
    if item is not None:
        if not isinstance(item, ScalarNode) or not isinstance(item.value, bool):
            problems.at(item, path, f"`electorate.reviewers` of {what} must be true or false")
            return None
        reviewers = item.value
    return ElectorateRule(months, reviewers)
