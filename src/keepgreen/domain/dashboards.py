"""Project dashboards: named lists of change queries, in Gerrit's form.

A dashboard is known by ``<ref>:<path>`` (Gerrit keeps each one as the file ``path`` on the
branch ``refs/meta/dashboards/<ref>``). It has a title, a description, an optional
``foreach`` query joined to every section's, and sections of a name and a query.
``${project}`` in the title, description, foreach and queries reads as the project's name.
``check`` refuses what cannot be kept or shown with one sentence; ``url`` is the page that
shows the dashboard. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from keepgreen.domain.query import QuerySyntaxError, parse

DEFAULT_ID = "default"
MAX_NAME = 255  # ref, path, title and section names
MAX_TEXT = 2000  # description, foreach and each query
MAX_SECTIONS = 50
# Query parameters of the dashboard page that are not sections.
RESERVED_SECTION_NAMES = frozenset({"title", "foreach"})
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")
_PATH_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._ -]*")


class DashboardProblem(ValueError):
    """What is wrong with a dashboard or its id, as one sentence."""


@dataclass(frozen=True)
class Section:
    name: str
    query: str


@dataclass(frozen=True)
class Dashboard:
    project: str
    ref: str  # under refs/meta/dashboards/, e.g. "main"
    path: str  # e.g. "closed" or "team/closed"
    title: str | None = None
    description: str | None = None
    foreach: str | None = None
    sections: tuple[Section, ...] = ()
    is_default: bool = False

    @property
    def id(self) -> str:
        return f"{self.ref}:{self.path}"


def split_id(text: str) -> tuple[str, str]:
    """``<ref>:<path>`` as (ref, path); the ref may be given in full
    (``refs/meta/dashboards/main``)."""
    ref, colon, path = text.partition(":")
    if not colon or not ref or not path:
        raise DashboardProblem(f"dashboard id {text[:80]!r} must read <ref>:<path>, e.g. "
                               "main:closed")
    ref = ref.removeprefix("refs/meta/dashboards/")
    if len(ref) > MAX_NAME or not _REF.fullmatch(ref) or ".." in ref \
            or any(part.endswith((".lock", ".")) for part in ref.split("/")):
        raise DashboardProblem(f"dashboard ref {ref[:80]!r} must be a branch name of letters, "
                               "digits, '.', '_', '-' and '/'")
    parts = path.split("/")
    if len(path) > MAX_NAME or not all(_PATH_PART.fullmatch(part) for part in parts) \
            or any(part in (".", "..") for part in parts):
        raise DashboardProblem(f"dashboard path {path[:80]!r} must be a file path of letters, "
                               "digits, spaces, '.', '_', '-' and '/'")
    return ref, path


def check(dashboard: Dashboard) -> None:
    """Raise ``DashboardProblem`` unless the dashboard can be kept and shown."""
    split_id(dashboard.id)
    if dashboard.title is not None:
        _line(dashboard.title, "title", MAX_NAME)
    if dashboard.description is not None and len(dashboard.description) > MAX_TEXT:
        raise DashboardProblem(f"description must be at most {MAX_TEXT} characters")
    if dashboard.foreach is not None:
        _query(dashboard.foreach, "foreach")
    if not dashboard.sections:
        raise DashboardProblem("a dashboard needs at least one section "
                               '({"name": ..., "query": ...})')
    if len(dashboard.sections) > MAX_SECTIONS:
        raise DashboardProblem(f"a dashboard has at most {MAX_SECTIONS} sections")
    seen: set[str] = set()
    for index, section in enumerate(dashboard.sections):
        what = f"sections[{index}]"
        _line(section.name, f"{what}.name", MAX_NAME)
        if not section.name.strip():
            raise DashboardProblem(f"{what}.name must not be empty")
        if section.name.lower() in RESERVED_SECTION_NAMES:
            raise DashboardProblem(f"{what}.name cannot be {section.name!r}: the dashboard "
                                   "page reads it as a setting, not a section")
        if section.name in seen:
            raise DashboardProblem(f"section {section.name!r} is named twice")
        seen.add(section.name)
        _query(section.query, f"{what}.query")


def _line(text: str, what: str, limit: int) -> None:
    if len(text) > limit:
        raise DashboardProblem(f"{what} must be at most {limit} characters")
    if "\n" in text or "\r" in text:
        raise DashboardProblem(f"{what} must be one line")


def _query(text: str, what: str) -> None:
    if len(text) > MAX_TEXT:
        raise DashboardProblem(f"{what} must be at most {MAX_TEXT} characters")
    if not text.strip():
        raise DashboardProblem(f"{what} must not be empty")
    try:
        parse(expand(text, "project"))
    except QuerySyntaxError as error:
        raise DashboardProblem(f"{what} is not a valid change query: {error}") from None


def expand(text: str, project: str) -> str:
    """``text`` with ``${project}`` replaced by the project's name, as Gerrit does."""
    return text.replace("${project}", project)


def url(dashboard: Dashboard) -> str:
    """The dashboard page: ``/dashboard/?title=..&foreach=..&<section>=<query>...``."""
    params = [("title", expand(dashboard.title or dashboard.path, dashboard.project))]
    if dashboard.foreach:
        params.append(("foreach", expand(dashboard.foreach, dashboard.project)))
    params += [(s.name, expand(s.query, dashboard.project)) for s in dashboard.sections]
    return "/dashboard/?" + urlencode(params, safe=":")


def sections_of_page(params: list[tuple[str, str]]) -> tuple[str, list[Section]]:
    """The title and the sections (each query joined with ``foreach``) of the dashboard
    page's query parameters, in order."""
    title = next((v for k, v in params if k == "title"), "") or "Dashboard"
    foreach = next((v for k, v in params if k == "foreach"), "").strip()
    sections = []
    for name, query in params:
        if name in RESERVED_SECTION_NAMES or not query.strip():
            continue
        full = f"({foreach}) ({query})" if foreach else query
        sections.append(Section(name, full))
    return title, sections
