"""REST: change queries and reading changes.

Review actions (votes, submit, abandon...) build on this module in later work; until
then they answer 501 naming the endpoint, never a wrong shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from keepgreen.domain import acl
from keepgreen.domain.change import MAX_ID, Change, PatchSet, as_number
from keepgreen.domain.project import Project
from keepgreen.gerrit.attention_api import attention_fields
from keepgreen.gerrit.change_json import Extras, account_info, change_info, commit_info
from keepgreen.gerrit.http import Call, timestamp
from keepgreen.gerrit.router import Route
from keepgreen.services.errors import BadRequest, NotFound
from keepgreen.services.review.changes import ChangeDetails
from keepgreen.store import accounts as account_store
from keepgreen.store import changes as change_store
from keepgreen.store import events as event_store
from keepgreen.store import projects as project_store
from keepgreen.store import review as review_store

DEFAULT_PAGE = 500


# Gerrit's ListChangesOption names. Those keepgreen has no data for (web links, push
# certificates, tracking ids, the consistency check...) are accepted and add nothing or an
# empty field, as Gerrit does when a site has none of them.
KNOWN_OPTIONS = frozenset({
    "LABELS", "DETAILED_LABELS", "SUBMIT_REQUIREMENTS", "CURRENT_REVISION", "ALL_REVISIONS",
    "CURRENT_COMMIT", "ALL_COMMITS", "CURRENT_FILES", "ALL_FILES", "DETAILED_ACCOUNTS",
    "REVIEWER_UPDATES", "MESSAGES", "CURRENT_ACTIONS", "CHANGE_ACTIONS", "REVIEWED",
    "SKIP_MERGEABLE", "SKIP_DIFFSTAT", "SUBMITTABLE", "WEB_LINKS", "CHECK", "COMMIT_FOOTERS",
    "PUSH_CERTIFICATES", "TRACKING_IDS", "DOWNLOAD_COMMANDS", "PARENTS", "STAR",
    "CUSTOM_KEYED_VALUES"})


def _options(call: Call, ignore: frozenset[str] | set[str] = frozenset()) -> set[str]:
    """The ``o=`` options; an unknown one is refused with Gerrit's 400, never ignored.
    Names in ``ignore`` are an endpoint's own options, read by it."""
    opts = set()
    for value in call.query_all("o"):
        name = value.upper()
        if name in ignore:
            continue
        if name not in KNOWN_OPTIONS:
            raise BadRequest(f'"{value}" is not a valid value for "-o"')
        opts.add(name)
    # Gerrit also accepts the options as hex bits in O=; the named form is what clients use.
    return opts


FILE_OPTIONS = ("CURRENT_FILES", "ALL_FILES")


RULE_OPTIONS = {"SUBMIT_REQUIREMENTS", "CURRENT_ACTIONS", "CHANGE_ACTIONS", "LABELS",
                "DETAILED_LABELS", "SUBMITTABLE"}


@dataclass
class _Page:
    """What a page of changes shares: projects, their rules, counts, sizes, stars, facts."""

    projects: dict[str, Project]
    rules: dict[str, list[acl.Rule]]
    starred: set[int]
    comments: dict[int, tuple[int, int]]
    sizes: dict[int, dict[int, tuple[int, int]]]
    facts: dict[int, Any]
    ssh_url: str | None = None


def _extras(call: Call, d: ChangeDetails, opts: set[str], page: _Page) -> Extras:
    services = call.services
    change = d.change
    project = page.projects[change.project]
    rules = page.rules[change.project]
    extras = Extras(submit_type=project.submit_type, starred=change.number in page.starred,
                    comments=page.comments.get(change.number, (0, 0)),
                    sizes=page.sizes.get(change.number, {}), ssh_url=page.ssh_url)
    if "LABELS" in opts or "DETAILED_LABELS" in opts:
        extras.permitted = services.review.permitted(call.who, change, rules)
    if RULE_OPTIONS & opts:
        results = services.submit.evaluate_facts(page.facts[change.number], project)
        verdict = services.submit.verdict_of(change, results)
        extras.requirements = results
        extras.submittable = verdict.submittable
        if change.is_open and ("CURRENT_ACTIONS" in opts or "CHANGE_ACTIONS" in opts):
            extras.actions = _actions(call, change, verdict, rules)
    if FILE_OPTIONS[0] in opts or FILE_OPTIONS[1] in opts:
        shown = d.patch_sets if "ALL_FILES" in opts else [d.current]
        extras.files = {ps.sha: file_infos(call, change.project, ps, None) for ps in shown}
    return extras


def _actions(call: Call, change: Change, verdict: Any,
             rules: list[acl.Rule]) -> dict[str, dict[str, Any]]:
    who = call.who
    actions: dict[str, dict[str, Any]] = {}
    if who.account is None:
        return actions
    review = call.services.review

    def allowed(permission: str) -> bool:
        return bool(review.can(who, change, permission, rules))

    if verdict.submittable and allowed(acl.SUBMIT):
        actions["submit"] = {"method": "POST", "label": "Submit",
                             "title": "Submit the change", "enabled": True}
    if allowed(acl.ABANDON):
        actions["abandon"] = {"method": "POST", "label": "Abandon", "enabled": True}
    if allowed(acl.REBASE):
        actions["rebase"] = {"method": "POST", "label": "Rebase", "enabled": True}
    if allowed(acl.EDIT_TOPIC):
        actions["topic"] = {"method": "PUT", "label": "Topic", "enabled": True}
        actions["hashtags"] = {"method": "POST", "label": "Hashtags", "enabled": True}
    actions["cherrypick"] = {"method": "POST", "label": "Cherry Pick", "enabled": True}
    if who.account.id == change.owner_id or who.is_admin:
        key = "ready" if change.wip else "wip"
        actions[key] = {"method": "POST", "label": key.upper() if key == "wip" else "Ready",
                        "enabled": True}
    return actions


def file_infos(call: Call, project: str, ps: PatchSet, base: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {"/COMMIT_MSG": {"status": "A", "lines_inserted":
                                              len(ps.message.splitlines()),
                                              "size_delta": len(ps.message),
                                              "size": len(ps.message)}}
    for f in call.services.merger.files(project, ps.sha, base):
        info: dict[str, Any] = {"lines_inserted": f.lines_inserted,
                                "lines_deleted": f.lines_deleted,
                                "size_delta": f.size_delta, "size": f.size}
        if f.status != "M":
            info["status"] = f.status
        if f.old_path:
            info["old_path"] = f.old_path
        if f.binary:
            info["binary"] = True
        result[f.path] = {k: v for k, v in info.items() if v or k in ("size", "size_delta")}
    return result


REVISION_OPTIONS = {"CURRENT_REVISION", "ALL_REVISIONS", "CURRENT_COMMIT", "ALL_COMMITS",
                    "CURRENT_FILES", "ALL_FILES"}
VOTE_OPTIONS = {"LABELS", "DETAILED_LABELS", "DETAILED_ACCOUNTS"}


def render_changes(call: Call, changes: list[Change], opts: set[str]) -> list[dict[str, Any]]:
    services = call.services
    wants_rules = bool(RULE_OPTIONS & opts)
    revisions = bool(REVISION_OPTIONS & opts)
    details = services.changes.details(
        changes, messages="MESSAGES" in opts,
        patch_sets=revisions or ("current" if wants_rules else False),
        votes=bool((VOTE_OPTIONS | RULE_OPTIONS) & opts))
    numbers = [c.number for c in changes]
    with services.db.read() as conn:
        starred = (review_store.starred(conn, call.who.account.id, numbers)
                   if call.who.account else set())
        counts = review_store.comment_counts(conn, numbers)
        sizes: dict[int, dict[int, tuple[int, int]]] = {}
        for (number, ps), size in change_store.sizes_of(conn, numbers).items():
            sizes.setdefault(number, {})[ps] = size
        names = sorted({c.project for c in changes})
        projects = {p.name: p for p in project_store.projects_by_names(conn, names)}
        own = review_store.rules_of_many(conn, names)
    rules = {name: services.projects.rules(projects[name], own.get(name, [])) for name in names}
    facts = (services.submit.facts_many(details, {n: c[1] for n, c in counts.items()}, projects)
             if wants_rules else {})
    page = _Page(projects, rules, starred, counts, sizes, facts, _ssh_url(call))
    reviewed: set[int] = set()
    updates: dict[int, list[dict[str, Any]]] = {}
    with services.db.read() as conn:
        if "REVIEWED" in opts and call.who.account is not None:
            reviewed = change_store.reviewed_by(
                conn, call.who.account.id, {c.number: c.current_patch_set for c in changes})
        if "REVIEWER_UPDATES" in opts:
            updates = _reviewer_updates(conn, details)
    attention = services.attention.entries(changes)
    rendered = []
    for d in details:
        extras = _extras(call, d, opts, page)
        extras.reviewed = d.change.number in reviewed
        extras.reviewer_updates = updates.get(d.change.number)
        info = change_info(d, call.base_url, opts, extras)
        info.update(attention_fields(attention[d.change.number]))
        rendered.append(info)
    return rendered


def _reviewer_updates(conn: Any, details: list[ChangeDetails]) -> dict[int, list[Any]]:
    """Each change's reviewer additions and removals, oldest first, from its events."""
    found = event_store.of_changes(conn, [d.change.number for d in details],
                                   ("reviewer-added", "reviewer-deleted"))
    names = {who.get("username") for items in found.values() for _, payload in items
             for who in (payload.get("reviewer"), payload.get("adder"), payload.get("remover"))
             if isinstance(who, dict) and who.get("username")}
    accounts = {a.username: a for a in
                (account_store.account_by_username(conn, n) for n in sorted(names)) if a}
    people = change_store.people_of(conn, [d.change.number for d in details])
    result: dict[int, list[Any]] = {}
    for d in details:
        states = dict(people.get(d.change.number, []))
        entries = []
        for created, payload in found.get(d.change.number, []):
            reviewer = accounts.get((payload.get("reviewer") or {}).get("username"))
            by = accounts.get((payload.get("adder") or payload.get("remover") or {})
                              .get("username"))
            if reviewer is None:
                continue
            state = ("REMOVED" if payload.get("type") == "reviewer-deleted"
                     else states.get(reviewer.id, "REVIEWER"))
            entries.append({"updated": timestamp(created), "updated_by": account_info(by),
                            "reviewer": account_info(reviewer), "state": state})
        result[d.change.number] = entries
    return result


def _ssh_url(call: Call) -> str | None:
    """The SSH port's base URL as the caller would use it (with their username), as
    Gerrit fills ``fetch.ssh``; None when the port is off."""
    address = call.services.settings.ssh_address
    if address is None:
        return None
    host = urlsplit(call.base_url).hostname or address[0]
    user = f"{call.who.account.username}@" if call.who.account else ""
    return f"ssh://{user}{host}:{address[1]}/"


def render_one(call: Call, change: str) -> dict[str, Any]:
    found = call.services.changes.resolve(change, call.who)
    opts = {"LABELS", "CURRENT_REVISION"} | _options(call)
    return render_changes(call, [found], opts)[0]


def _int(call: Call, name: str) -> int | None:
    raw = call.query(name)
    if raw is None:
        return None
    if raw == "0":
        return 0
    number = as_number(raw)
    if number is None:
        raise BadRequest(f"{name}={raw} must be a whole number from 0 to {MAX_ID}")
    return number


def query_changes(call: Call) -> Any:
    queries = call.query_all("q") or ["status:open"]
    limit = _int(call, "n") or _int(call, "limit") or DEFAULT_PAGE
    start = _int(call, "start") or _int(call, "S") or 0
    opts = _options(call)
    pages = []
    for text in queries:
        found, more = call.services.changes.query(text, call.who, limit, start)
        rendered = render_changes(call, found, opts)
        if more and rendered:
            rendered[-1]["_more_changes"] = True
        pages.append(rendered)
    return pages if len(queries) > 1 else pages[0]


def get_change(call: Call, change: str) -> Any:
    found = call.services.changes.resolve(change, call.who)
    return render_changes(call, [found], _options(call))[0]


def get_detail(call: Call, change: str) -> Any:
    found = call.services.changes.resolve(change, call.who)
    opts = _options(call) | {"LABELS", "DETAILED_LABELS", "DETAILED_ACCOUNTS", "MESSAGES"}
    return render_changes(call, [found], opts)[0]


def get_commit(call: Call, change: str, revision: str) -> Any:
    found = call.services.changes.resolve(change, call.who)
    details = call.services.changes.details([found], messages=False)[0]
    return commit_info(call.services.changes.patch_set(details, revision))


def list_messages(call: Call, change: str) -> Any:
    """``GET /changes/{id}/messages``: the change's messages, oldest first."""
    found = call.services.changes.resolve(change, call.who)
    return render_changes(call, [found], {"MESSAGES", "DETAILED_ACCOUNTS"})[0].get("messages", [])


def get_message(call: Call, change: str, message: str) -> Any:
    for item in list_messages(call, change):
        if item["id"] == message:
            return item
    raise NotFound(f"message {message} not found on change {change}")


def submitted_together(call: Call, change: str) -> Any:
    """The changes a submit of ``change`` would merge with it, those the caller may see;
    with ``o=NON_VISIBLE_CHANGES`` also how many others there are."""
    found = call.services.changes.resolve(change, call.who)
    wanted = call.query_all("o")
    count_hidden = any(o.upper() == "NON_VISIBLE_CHANGES" for o in wanted)
    opts = _options(call, ignore={"NON_VISIBLE_CHANGES"})
    together = call.services.submit.submitted_together(found)
    visible = [c for c in together if call.services.changes.can_see(c, call.who)]
    rendered = render_changes(call, visible, opts) if visible else []
    if count_hidden:
        return {"changes": rendered, "non_visible_changes": len(together) - len(visible)}
    return rendered


def get_topic(call: Call, change: str) -> Any:
    found = call.services.changes.resolve(change, call.who)
    return found.topic or ""


ROUTES: list[Route] = [
    ("GET", ("changes", ""), query_changes),
    ("GET", ("changes", "{change}"), get_change),
    ("GET", ("changes", "{change}", "detail"), get_detail),
    ("GET", ("changes", "{change}", "topic"), get_topic),
    ("GET", ("changes", "{change}", "messages"), list_messages),
    ("GET", ("changes", "{change}", "submitted_together"), submitted_together),
    ("GET", ("changes", "{change}", "messages", "{message}"), get_message),
    ("GET", ("changes", "{change}", "revisions", "{revision}", "commit"), get_commit),
]
