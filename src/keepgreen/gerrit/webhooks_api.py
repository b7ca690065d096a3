"""REST: a project's webhooks, at the paths of Gerrit's webhooks plugin
(``/projects/{project}/webhooks~remotes/{name}``), plus each remote's delivery log. The
secret is write-only: answers say whether one is set, never what it is."""

from __future__ import annotations

from typing import Any

from keepgreen.domain.webhooks import Remote
from keepgreen.gerrit.http import Call, no_content, timestamp
from keepgreen.gerrit.request_input import JsonObject
from keepgreen.gerrit.router import Created, Route

PLUGIN = "webhooks~remotes"


def remote_info(remote: Remote) -> dict[str, Any]:
    return {"url": remote.url, "events": list(remote.events), "max_tries": remote.max_tries,
            "retry_interval": remote.retry_interval * 1000, "has_secret": bool(remote.secret)}


def _project(call: Call, project: str) -> Any:
    return call.services.projects.get(project, call.who)


def list_remotes(call: Call, project: str) -> Any:
    found = _project(call, project)
    return {r.name: remote_info(r) for r in call.services.webhooks.remotes(call.who, found)}


def get_remote(call: Call, project: str, name: str) -> Any:
    found = _project(call, project)
    return remote_info(call.services.webhooks.remote(call.who, found, name))


def put_remote(call: Call, project: str, name: str) -> Any:
    found = _project(call, project)
    data = JsonObject.of(call.json())
    interval = data.whole("retry_interval", low=1000, high=3_600_000)  # milliseconds
    existed = any(r.name == name for r in call.services.webhooks.remotes(call.who, found))
    remote = call.services.webhooks.put(
        call.who, found, name, data.text("url"), data.texts("events"),
        data.optional_text("secret"), data.whole("max_tries", low=1, high=10),
        None if interval is None else interval // 1000)
    return remote_info(remote) if existed else Created(remote_info(remote))


def delete_remote(call: Call, project: str, name: str) -> Any:
    call.services.webhooks.remove(call.who, _project(call, project), name)
    return no_content()


def list_deliveries(call: Call, project: str, name: str) -> Any:
    found = _project(call, project)
    return [{"id": row.id, "event_id": row.event_id, "type": row.event_type,
             "state": row.state, "tries": row.tries, "outcome": row.outcome,
             "created": timestamp(row.created), "next_try": timestamp(row.next_try),
             **({"finished": timestamp(row.finished)} if row.finished else {})}
            for row in call.services.webhooks.deliveries(call.who, found, name)]


ROUTES: list[Route] = [
    ("GET", ("projects", "{project}", PLUGIN), list_remotes),
    ("GET", ("projects", "{project}", PLUGIN, ""), list_remotes),
    ("GET", ("projects", "{project}", PLUGIN, "{name}"), get_remote),
    ("PUT", ("projects", "{project}", PLUGIN, "{name}"), put_remote),
    ("DELETE", ("projects", "{project}", PLUGIN, "{name}"), delete_remote),
    ("GET", ("projects", "{project}", PLUGIN, "{name}", "deliveries"), list_deliveries),
]
