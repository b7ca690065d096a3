"""REST: server version and configuration."""

from __future__ import annotations

from typing import Any

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
        "change": {"allow_blame": False, "update_delay": 300, "submit_whole_topic": False,
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


ROUTES: list[Route] = [
    ("GET", ("config", "server", "version"), version),
    ("GET", ("config", "server", "info"), info),
]
