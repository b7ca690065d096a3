"""The SSH keys page (``/settings/ssh-keys``): your keys, a form to add one, a button to
delete each. The forms call the same service as ``/a/accounts/self/sshkeys``, so the
checks and refusals are the REST API's; each needs the session's CSRF token."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from keepgreen.domain.change import as_number
from keepgreen.services.errors import NotFound
from keepgreen.web.ui.router import Ui, route

PAGE = "/settings/ssh-keys"


async def keys_page(ui: Ui, request: Request) -> Response:
    who = await ui.who(request)
    if who.account is None:
        return ui.sign_in_redirect(request)
    keys = await run_in_threadpool(ui.services.ssh_keys.list, who, "self")
    address = ui.services.settings.ssh_address
    host = urlsplit(ui.services.base_url(request)).hostname or "localhost"
    return await ui.render(request, "ssh_keys.html", keys=keys, ssh_host=host,
                           ssh_port=address[1] if address else None)


async def add_key(ui: Ui, request: Request) -> Response:
    form = await ui.form(request)
    who = await ui.who(request)
    await run_in_threadpool(ui.services.ssh_keys.add, who, "self", form.get("key", ""))
    return RedirectResponse(PAGE, status_code=303)


async def delete_key(ui: Ui, request: Request, seq: str) -> Response:
    await ui.form(request)  # only the CSRF token is read from it
    who = await ui.who(request)
    number = as_number(seq)
    if number is None:
        raise NotFound(f"SSH key {seq} not found")
    await run_in_threadpool(ui.services.ssh_keys.delete, who, "self", number)
    return RedirectResponse(PAGE, status_code=303)


ROUTES = [
    route("GET", PAGE, keys_page),
    route("POST", PAGE, add_key),
    route("POST", PAGE + r"/(?P<seq>[^/]+)/delete", delete_key),
]
