"""``keepgreen encrypt`` and ``keepgreen rotate-key``: secrets for a project's job config.

``encrypt`` prints what Zuul's encryption tool prints for the same key and plaintext, so a
team's habits and scripts carry over. It takes the project's public key from a running
server (``--url``, the path Zuul serves keys at) or, on the server's own machine, from the
site (``--site``).
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import click

from keepgreen import settings as settings_mod
from keepgreen.crypto import oaep
from keepgreen.domain.account import ADMINISTRATORS, Principal

DEFAULT_SITE = Path("keepgreen-site")
MAX_PLAINTEXT = 1024 * 1024


def _fail(message: str) -> None:
    click.echo(f"keepgreen: {message}", err=True)
    sys.exit(1)


def _services(site: Path):  # type: ignore[no-untyped-def]
    from keepgreen.app import build_services
    from keepgreen.site import is_site

    if not is_site(site):
        _fail(f"{site} is not a keepgreen site; pass --site, or --url for a remote server")
    try:
        return build_services(settings_mod.load(site))
    except settings_mod.SettingsError as exc:
        _fail(str(exc))


def _key_from_url(url: str, project: str) -> bytes:
    path = f"/api/tenant/main/key/{urllib.parse.quote(project, safe='')}.pub"
    target = url.rstrip("/") + path
    if urllib.parse.urlsplit(target).scheme not in ("http", "https"):
        _fail(f"--url must be an http:// or https:// address, not {url}")
    try:
        with urllib.request.urlopen(target, timeout=30) as answer:  # noqa: S310
            return bytes(answer.read(64 * 1024))
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 404):
            _fail(f"{url} has no project {project} that you may see")
        _fail(f"{target} answered {exc.code} {exc.reason}")
    except (urllib.error.URLError, OSError) as exc:
        _fail(f"cannot reach {target}: {getattr(exc, 'reason', exc)}")
    raise AssertionError("unreachable")


def _key_from_site(site: Path, project: str) -> bytes:
    from keepgreen.services.errors import ServiceError

    services = _services(site)
    try:
        pem: bytes = services.project_keys.public_key(
            Principal(None, frozenset({ADMINISTRATORS})), project)
    except ServiceError as exc:
        _fail(exc.message)
    finally:
        services.db.dispose()
    return pem


@click.command("encrypt")
@click.option("--project", required=True, help="The project whose jobs will use the secret.")
@click.option("--infile", type=click.File("rb"), default=None,
              help="Read the plaintext from this file (default: standard input).")
@click.option("--outfile", type=click.File("w"), default=None,
              help="Write the secret here (default: standard output).")
@click.option("--field-name", default="secret", show_default=True,
              help="The name of the secret's field that holds the value.")
@click.option("--secret-name", default=None, help="The secret's name (default: <name>).")
@click.option("--url", default=None, help="A keepgreen server's URL to take the key from.")
@click.option("--site", type=click.Path(path_type=Path), default=DEFAULT_SITE,
              show_default=True, help="The site folder, when not using --url.")
def encrypt_command(project: str, infile: click.utils.LazyFile | None,
                    outfile: click.utils.LazyFile | None, field_name: str,
                    secret_name: str | None, url: str | None, site: Path) -> None:
    """Encrypt a secret for PROJECT's job config, as a !encrypted/pkcs1-oaep value."""
    pem = _key_from_url(url, project) if url else _key_from_site(site, project)
    source = infile if infile is not None else sys.stdin.buffer
    plaintext = source.read(MAX_PLAINTEXT + 1)
    if len(plaintext) > MAX_PLAINTEXT:
        _fail(f"the plaintext is larger than {MAX_PLAINTEXT} bytes; keep files out of secrets")
    try:
        chunks = oaep.encrypt(pem, plaintext)
    except oaep.SecretError as exc:
        _fail(str(exc))
    text = oaep.secret_yaml(chunks, field_name, secret_name or "<name>")
    click.echo(text, file=outfile, nl=False)


@click.command("rotate-key")
@click.option("--project", required=True, help="The project whose key pair is replaced.")
@click.option("--site", type=click.Path(path_type=Path), default=DEFAULT_SITE,
              show_default=True, help="The site folder.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def rotate_key_command(project: str, site: Path, yes: bool) -> None:
    """Replace PROJECT's key pair. Its existing secrets stop opening until re-encrypted."""
    from keepgreen.services.errors import ServiceError

    services = _services(site)
    if not yes:
        click.confirm(f"Replace the key pair of {project}? Every secret encrypted for it "
                      "must then be encrypted again", abort=True)
    try:
        # Whoever holds the site folder holds the keys already: act as the site.
        services.project_keys.rotate(Principal(None, frozenset({ADMINISTRATORS})), project)
    except ServiceError as exc:
        _fail(exc.message)
    finally:
        services.db.dispose()
    click.echo(f"{project} has a new key pair. Encrypt each of its secrets again with\n"
               f"  keepgreen encrypt --project {project} --field-name NAME --infile FILE\n"
               "replace the old values in the project's job config, and merge that change.")
