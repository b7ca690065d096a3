"""REST: server version and configuration."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse

from keepgreen.gerrit.http import Call
from keepgreen.gerrit.router import Route

# Clients gate features on the Gerrit version they see; keepgreen answers like a 3.x server.
GERRIT_VERSION = "3.10.0"


def version(call: Call) -> Any:
    return GERRIT_VERSION


def info(call: Call) -> Any:
    return {
        "auth": {"auth_type": "HTTP", "use_contributor_agreements": False,
                 "editable_account_fields": ["FULL_NAME", "REGISTER_NEW_EMAIL"],
                 "git_basic_auth_policy": "HTTP"},
        "change": {"allow_blame": False, "update_delay": 300,
                   "submit_whole_topic": call.services.settings.submit_whole_topic,
                   "disable_private_changes": False},
        "download": {"schemes": {"http": {"url": call.base_url + "${project}",
                                          "is_auth_required": False,
                                          "is_auth_supported": True}},
                     "archives": []},
        "gerrit": {"all_projects": "All-Projects", "all_users": "All-Users",
                   "doc_search": False},
        "receive": {"enable_signed_push": False},
        "suggest": {"from": 0},
        "user": {"anonymous_coward_name": "Name of user not set"},
        "note_db_enabled": True,
    }


def ssh_info(call: Call) -> Any:
    """Gerrit's ``/ssh_info``: ``HOST PORT`` of the SSH port, or ``NOT_AVAILABLE``."""
    address = call.services.settings.ssh_address
    if address is None:
        return PlainTextResponse("NOT_AVAILABLE")
    host = urlsplit(call.base_url).hostname or address[0]
    return PlainTextResponse(f"{host} {address[1]}")


ROUTES: list[Route] = [
    ("GET", ("ssh_info",), ssh_info),
    ("GET", ("config", "server", "version"), version),
    ("GET", ("config", "server", "info"), info),
]
