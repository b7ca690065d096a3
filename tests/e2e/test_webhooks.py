"""Webhooks followed by a real HTTP receiver on loopback, as a chat bot or an outside CI
would: a project owner sets a remote (URL, events, secret), events arrive as JSON signed with
HMAC-SHA256, a failing receiver is tried again, every try is in the delivery log, and a
remote only gets what its owner may see. A site that keeps the default refuses webhooks to
loopback and private addresses."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.pipeline_support import wait_for
from tests.e2e.test_review_votes import Team, refused
from tests.support import Server, start_server

SECRET = "s3cret-for-hmac"


class Receiver:
    """An HTTP server that records what it is sent; the first ``fail`` requests get 500."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if outer.fail > 0:
                    outer.fail -= 1
                    self.send_response(500)
                else:
                    outer.received.append((dict(self.headers.items()), body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture(scope="module")
def hook_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("site") / "site",
                          extra_env={"KEEPGREEN_WEBHOOK_PRIVATE_ADDRESSES": "true"})
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.server.shutdown()


@pytest.fixture
def team(hook_server: Server, make_user: Any, project_name: str, tmp_path: Path) -> Team:
    team = Team.start(hook_server, make_user, project_name, tmp_path)
    # Carol's team owns the project: she may manage its webhooks without being an admin.
    team.api().post(f"/projects/{team.quoted}/access", json={"add": {"refs/*": {
        "permissions": {"owner": {"rules": {f"{team.project}-core": {"action": "ALLOW"}}}}}}})
    return team


def remotes(team: Team) -> str:
    return f"/projects/{team.quoted}/webhooks~remotes"


def test_events_arrive_signed_and_only_those_the_owner_may_see(team: Team,
                                                               receiver: Receiver) -> None:
    carol = team.api(team.carol)
    made = carol.put(f"{remotes(team)}/bot", json={
        "url": receiver.url, "events": ["patchset-created", "comment-added"],
        "secret": SECRET, "max_tries": 3, "retry_interval": 1000})
    assert made["has_secret"] is True and "secret" not in made
    assert carol.get(f"{remotes(team)}/") == {"bot": made}

    n = team.upload("a.txt", "a\n", "Add a")
    headers, body = wait_for("patchset-created", lambda: receiver.received, team.server, 30)[0]
    event = json.loads(body)
    assert (event["type"], event["change"]["number"]) == ("patchset-created", n)
    assert headers["X-Keepgreen-Event"] == "patchset-created"
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Keepgreen-Signature-256"] == expected

    # A failing receiver is tried again; the log shows both tries.
    receiver.fail = 1
    team.review(team.dave, n, {"Code-Review": 1}, message="Looks right.")
    wait_for("comment-added", lambda: [e for e in receiver.events()
                                       if e["type"] == "comment-added"], team.server, 30)
    log = carol.get(f"{remotes(team)}/bot/deliveries")
    comment = next(d for d in log if d["type"] == "comment-added")
    assert (comment["state"], comment["tries"], comment["outcome"]) == ("DELIVERED", 2,
                                                                        "HTTP 204")

    # A private change of Alice's, which Carol may not see, sends her remote nothing.
    secret_change = team.upload("b.txt", "b\n", "Private work")
    team.api(team.alice).post(f"/changes/{secret_change}/private", json={})
    team.api(team.alice).post(f"/changes/{secret_change}/revisions/current/review",
                              json={"message": "Note to self."})
    later = team.upload("c.txt", "c\n", "After the private one")
    wait_for("the later change", lambda: [
        e for e in receiver.events() if e.get("change", {}).get("number") == later],
        team.server, 30)
    # (Its patchset-created may or may not have gone out: a remote sees what its owner may
    # see when the event is collected.)
    assert not [e for e in receiver.events() if e["type"] == "comment-added"
                and e["change"]["number"] == secret_change]


def test_only_project_owners_manage_webhooks(team: Team, receiver: Receiver) -> None:
    alice, carol = team.api(team.alice), team.api(team.carol)
    assert refused(lambda: alice.put(f"{remotes(team)}/mine", json={"url": receiver.url}))[
        0] == 403
    carol.put(f"{remotes(team)}/bot", json={"url": receiver.url})
    assert refused(lambda: alice.get(f"{remotes(team)}/"))[0] == 403
    assert refused(lambda: alice.get(f"{remotes(team)}/bot/deliveries"))[0] == 403
    for body, words in [({"url": "ftp://example.org/"}, "http"),
                        ({"url": "http://user:pw@example.org/"}, "credentials"),
                        ({"url": receiver.url, "max_tries": 99}, "max_tries"),
                        ({"url": receiver.url, "events": ["x" * 100]}, "events")]:
        status, reason = refused(lambda body=body: carol.put(f"{remotes(team)}/bad",
                                                             json=body))
        assert status == 400 and words in reason, (body, reason)
    assert refused(lambda: carol.put(f"{remotes(team)}/{quote('no spaces')}",
                                     json={"url": receiver.url}))[0] == 400
    carol.delete(f"{remotes(team)}/bot")
    assert refused(lambda: carol.get(f"{remotes(team)}/bot"))[0] == 404


def test_a_default_site_refuses_webhooks_to_private_addresses(server: Server) -> None:
    server.create_project("hooked")
    with server.admin_client() as admin:
        for url in ("http://127.0.0.1:9/hook", "http://10.1.2.3/", "http://[::1]:80/",
                    "http://169.254.169.254/latest/meta-data/", "http://localhost/"):
            answer = admin.put("/a/projects/hooked/webhooks~remotes/internal",
                               json={"url": url})
            assert answer.status_code == 400, (url, answer.text)
            assert "public addresses" in answer.text or "resolve" in answer.text, answer.text
