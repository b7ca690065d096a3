"""REST: an account's SSH keys (``/accounts/{account}/sshkeys``), as Gerrit answers them."""

from __future__ import annotations

from typing import Any

from keepgreen.domain.change import as_number
from keepgreen.gerrit.http import Call, no_content
from keepgreen.gerrit.request_input import decode_json
from keepgreen.gerrit.router import Created, Route
from keepgreen.services.errors import BadRequest, NotFound
from keepgreen.store.ssh_keys import StoredKey


def ssh_key_info(stored: StoredKey) -> dict[str, Any]:
    info: dict[str, Any] = {"seq": stored.seq, "ssh_public_key": stored.key.text,
                            "encoded_key": stored.key.encoded_key,
                            "algorithm": stored.key.algorithm, "valid": stored.valid}
    if stored.key.comment:
        info["comment"] = stored.key.comment
    return info


def _seq(seq: str) -> int:
    number = as_number(seq)
    if number is None:
        raise NotFound(f"SSH key {seq} not found")
    return number


def list_keys(call: Call, account: str) -> Any:
    return [ssh_key_info(k) for k in call.services.ssh_keys.list(call.who, account)]


def get_key(call: Call, account: str, seq: str) -> Any:
    return ssh_key_info(call.services.ssh_keys.get(call.who, account, _seq(seq)))


def add_key(call: Call, account: str) -> Any:
    content_type = call.request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() == "text/plain":
        try:
            text = call.body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("the SSH key is not UTF-8 text") from None
    else:
        data = decode_json(call.body)
        if not isinstance(data, str):
            raise BadRequest("send the SSH public key as text/plain or as a JSON string")
        text = data
    return Created(ssh_key_info(call.services.ssh_keys.add(call.who, account, text)))


add_key.plain_text = True  # type: ignore[attr-defined]


def delete_key(call: Call, account: str, seq: str) -> Any:
    call.services.ssh_keys.delete(call.who, account, _seq(seq))
    return no_content()


ROUTES: list[Route] = [
    ("GET", ("accounts", "{account}", "sshkeys"), list_keys),
    ("GET", ("accounts", "{account}", "sshkeys", ""), list_keys),
    ("POST", ("accounts", "{account}", "sshkeys"), add_key),
    ("GET", ("accounts", "{account}", "sshkeys", "{seq}"), get_key),
    ("DELETE", ("accounts", "{account}", "sshkeys", "{seq}"), delete_key),
]
