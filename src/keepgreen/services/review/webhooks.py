"""Webhooks, as Gerrit's webhooks plugin offers them: a project owner names remotes (URL,
event types, an optional secret, how often to try), and every event of the project is POSTed
to each remote as the event's JSON, signed with HMAC-SHA256 when a secret is set.

A remote receives only what the account that set it up may see (the event feed's rules, so
a private change's events never reach a remote of someone outside it), and by default only
on public addresses: loopback, private and link-local addresses are refused at setup and
again before each delivery (the name may resolve elsewhere later), unless the site allows
them (``webhook_private_addresses``). Failed tries are repeated with a doubling delay up to
the remote's ``max_tries``; each try's outcome is kept in the delivery log.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from keepgreen.domain import acl
from keepgreen.domain.account import Principal
from keepgreen.domain.project import Project
from keepgreen.domain.webhooks import (
    MAX_INTERVAL,
    MAX_TRIES,
    NAME,
    SIGNATURE_HEADER,
    Remote,
    is_public,
    retry_delay,
    signature,
    url_problem,
)
from keepgreen.services.errors import BadRequest, Forbidden, NotFound, Unauthorized
from keepgreen.services.review.accounts import AccountService
from keepgreen.services.review.event_feed import EventFeed
from keepgreen.services.review.projects import ProjectService
from keepgreen.store import accounts as account_store
from keepgreen.store import builds as cursor_store
from keepgreen.store import events as event_store
from keepgreen.store import webhooks as store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database

log = logging.getLogger(__name__)
CONSUMER = "webhooks"
POLL_SECONDS = 0.5
TIMEOUT_SECONDS = 10
MAX_EVENT_TYPES = 64


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could lead a delivery to an address the check refused."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


class WebhookService:
    def __init__(self, db: Database, projects: ProjectService, accounts: AccountService,
                 feed: EventFeed, allow_private: bool = False) -> None:
        self.db = db
        self.projects = projects
        self.accounts = accounts
        self.feed = feed
        self.allow_private = allow_private
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- management (project owners) -------------------------------------------------------
    def _owner(self, who: Principal, project: Project) -> None:
        if who.account is None:
            raise Unauthorized("webhooks need you to sign in")
        if not self.projects.can(who, project, acl.OWNER, "refs/*"):
            raise Forbidden(f"only owners of {project.name} may see or change its webhooks")

    def remotes(self, who: Principal, project: Project) -> list[Remote]:
        self._owner(who, project)
        with self.db.read() as conn:
            return store.remotes(conn, project.name)

    def remote(self, who: Principal, project: Project, name: str) -> Remote:
        for remote in self.remotes(who, project):
            if remote.name == name:
                return remote
        raise NotFound(f"webhook {name} not found in {project.name}")

    def put(self, who: Principal, project: Project, name: str, url: str,
            events: list[str], secret: str | None, max_tries: int | None,
            retry_interval: int | None) -> Remote:
        self._owner(who, project)
        assert who.account is not None
        if not NAME.match(name):
            raise BadRequest(f"webhook name {name[:80]!r} must be letters, digits, '.', '_' "
                             "or '-' (at most 64)")
        problem = url_problem(url) or self.address_problem(url)
        if problem:
            raise BadRequest(problem)
        if len(events) > MAX_EVENT_TYPES or any(not e or len(e) > 64 for e in events):
            raise BadRequest(f"events must be at most {MAX_EVENT_TYPES} event type names")
        if max_tries is not None and not 1 <= max_tries <= MAX_TRIES:
            raise BadRequest(f"max_tries must be from 1 to {MAX_TRIES}")
        if retry_interval is not None and not 1 <= retry_interval <= MAX_INTERVAL:
            raise BadRequest(f"retry_interval must be from 1 to {MAX_INTERVAL} seconds")
        if secret is not None and len(secret) > 1024:
            raise BadRequest("secret must be at most 1024 characters")
        with self.db.write() as conn:
            old = next((r for r in store.remotes(conn, project.name) if r.name == name), None)
            remote = Remote(project.name, name, url, tuple(dict.fromkeys(events)),
                            secret if secret is not None else (old.secret if old else ""),
                            max_tries or 5, retry_interval or 30, who.account.id)
            return store.put(conn, remote, utcnow())

    def remove(self, who: Principal, project: Project, name: str) -> None:
        self._owner(who, project)
        with self.db.write() as conn:
            if not store.remove(conn, project.name, name):
                raise NotFound(f"webhook {name} not found in {project.name}")

    def deliveries(self, who: Principal, project: Project, name: str) -> list[Any]:
        remote = self.remote(who, project, name)
        with self.db.read() as conn:
            return store.deliveries(conn, remote.id)

    def address_problem(self, url: str) -> str | None:
        """Why ``url``'s host may not be delivered to (a non-public address), or None."""
        if self.allow_private:
            return None
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
        except OSError:
            return f"the host {host} of the url does not resolve"
        for info in infos:
            if not is_public(str(info[4][0])):
                return (f"the host {host} of the url is not on a public address; the site "
                        "allows webhooks to public addresses only")
        return None

    # -- delivery --------------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="keepgreen-webhooks",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT_SECONDS + 5)

    def _loop(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self.collect()
                self.send_due()
            except Exception:  # noqa: BLE001 - one bad pass must not stop deliveries
                log.exception("webhook deliveries failed; trying again")

    def collect(self) -> None:
        """Turn new events into deliveries for the remotes that want them."""
        with self.db.read() as conn:  # one read per poll while nothing happens
            after = cursor_store.cursor(conn, CONSUMER)
            newest = event_store.newest_id(conn)
            remotes = store.remotes(conn) if after is not None and newest > after else []
        if after is None:  # first start: only what happens from now on is sent
            with self.db.write() as conn:
                cursor_store.set_cursor(conn, CONSUMER, newest)
            return
        if newest <= after:
            return
        owners: dict[int, Principal | None] = {}
        picked: list[tuple[Remote, int, str, dict[str, Any]]] = []
        cursor = min(newest, after + 200)
        for remote in remotes:
            if remote.owner_id not in owners:
                owners[remote.owner_id] = self._principal(remote.owner_id)
            who = owners[remote.owner_id]
            if who is None:
                continue
            visible, _ = self.feed.since(who, after, 200)
            for event_id, event_type, payload in visible:
                if event_id <= cursor and _project(payload) == remote.project \
                        and remote.wants(event_type):
                    picked.append((remote, event_id, event_type, payload))
        now = utcnow()
        with self.db.write() as conn:
            for remote, event_id, event_type, payload in sorted(picked, key=lambda p: p[1]):
                store.enqueue(conn, remote, event_id, event_type, payload, now)
            cursor_store.set_cursor(conn, CONSUMER, cursor)

    def _principal(self, account_id: int) -> Principal | None:
        with self.db.read() as conn:
            account = account_store.account_by_id(conn, account_id)
        if account is None or not account.active:
            return None
        return self.accounts.principal(account)

    def send_due(self) -> None:
        now = utcnow()
        with self.db.read() as conn:
            due = store.due(conn, now)
            remotes = {r.id: r for r in store.remotes(conn)}
        for row in due:
            remote = remotes.get(row.webhook_id)
            if remote is None or self._stop.is_set():
                continue
            ok, outcome = self._post(remote, row.event_type, row.payload)
            tries = row.tries + 1
            done = utcnow()
            if ok:
                state, next_try, finished = "DELIVERED", done, done
            elif tries >= remote.max_tries:
                state, next_try, finished = "FAILED", done, done
            else:
                state, finished = "PENDING", None
                next_try = done + timedelta(seconds=retry_delay(tries, remote.retry_interval))
            with self.db.write() as conn:
                store.record_try(conn, row.id, state, tries, outcome, next_try, finished)

    def _post(self, remote: Remote, event_type: str, payload: Any) -> tuple[bool, str]:
        problem = self.address_problem(remote.url)
        if problem:
            return False, problem
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "keepgreen-webhooks",
                   "X-Keepgreen-Event": event_type}
        if remote.secret:
            headers[SIGNATURE_HEADER] = signature(remote.secret, body)
        request = urllib.request.Request(remote.url, data=body, headers=headers,
                                         method="POST")
        try:
            with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as answer:
                return 200 <= answer.status < 300, f"HTTP {answer.status}"
        except urllib.error.HTTPError as exc:
            return False, f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return False, f"could not deliver: {reason}"


def _project(payload: dict[str, Any]) -> str | None:
    change = payload.get("change")
    if isinstance(change, dict) and isinstance(change.get("project"), str):
        return str(change["project"])
    ref = payload.get("refUpdate")
    if isinstance(ref, dict) and isinstance(ref.get("project"), str):
        return str(ref["project"])
    project = payload.get("project") or payload.get("projectName")
    return project if isinstance(project, str) else None
