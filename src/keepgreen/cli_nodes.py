"""Node pool commands: ``autohold``, ``autohold-list``, ``autohold-delete``, ``static-key``
and ``image build``. They work on the site's store, so they run beside a running server."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from keepgreen import settings as settings_mod
from keepgreen.site import SiteError, is_site
from keepgreen.store import nodes as node_store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database, StoreError

_DURATION = re.compile(r"^(\d+)([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _fail(message: str) -> None:
    """Print one sentence saying what is wrong and exit with status 1; nothing was changed."""
    click.echo(f"keepgreen: {message}", err=True)
    sys.exit(1)


def parse_duration(text: str) -> int | None:
    """Seconds in ``90s``, ``30m``, ``24h`` or ``2d``; None when unreadable."""
    found = _DURATION.match(text.strip())
    return int(found.group(1)) * _SECONDS[found.group(2)] if found else None


@contextmanager
def _store(site: Path) -> Iterator[Database]:
    try:
        if not is_site(site):
            raise SiteError(f"{site} is not a keepgreen site; pass the site folder")
        db = Database(settings_mod.load(site).database_url)
    except (SiteError, StoreError, settings_mod.SettingsError) as exc:
        _fail(str(exc))
        raise AssertionError from exc  # not reached: _fail exits
    try:
        yield db
    finally:
        db.dispose()


@click.command("autohold")
@click.argument("site", type=click.Path(path_type=Path))
@click.option("--project", required=True, help="The project whose builds to watch.")
@click.option("--job", required=True, help="The job whose failing builds keep their nodes.")
@click.option("--change", type=int, default=None, help="Only builds of this change.")
@click.option("--count", type=int, default=1, show_default=True,
              help="How many failing builds keep their nodes.")
@click.option("--expires", default="24h", show_default=True,
              help="How long a node is kept: 90s, 30m, 24h, 2d.")
@click.option("--reason", default="", help="Why, shown in autohold-list.")
def autohold_command(site: Path, project: str, job: str, change: int | None, count: int,
                     expires: str, reason: str) -> None:
    """Keep the nodes of the next failing builds of a job, to log in and look."""
    seconds = parse_duration(expires)
    if seconds is None or seconds <= 0:
        _fail(f"--expires must be a duration such as 90s, 30m, 24h or 2d, not {expires!r}")
        return
    if count < 1:
        _fail(f"--count must be at least 1, not {count}")
        return
    with _store(site) as db, db.write() as conn:
        number = node_store.add_autohold(conn, project=project, job=job, change_number=change,
                                         count=count, hold_seconds=seconds, reason=reason,
                                         now=utcnow())
    which = f" of change {change}" if change is not None else ""
    click.echo(f"autohold {number}: the next {count} failing build(s) of {job} in "
               f"{project}{which} keep their nodes for {expires}")


@click.command("autohold-list")
@click.argument("site", type=click.Path(path_type=Path))
def autohold_list_command(site: Path) -> None:
    """List autohold requests and the nodes they hold, with the command that reaches each."""
    with _store(site) as db, db.read() as conn:
        requests = node_store.autoholds(conn)
        holds = node_store.holds(conn)
    if not requests and not holds:
        click.echo("no autohold requests")
        return
    for request in requests:
        which = f" change {request.change_number}" if request.change_number else ""
        why = f" ({request.reason})" if request.reason else ""
        click.echo(f"{request.id}: {request.project} {request.job}{which}: "
                   f"{request.count - request.remaining} of {request.count} held, "
                   f"{request.hold_seconds}s each{why}")
        for hold in holds:
            if hold.autohold_id == request.id:
                click.echo(f"    node {hold.node_id} of build {hold.build_uuid} until "
                           f"{hold.expires.isoformat(timespec='seconds')}Z")
                click.echo(f"    {hold.ssh}")


@click.command("autohold-delete")
@click.argument("site", type=click.Path(path_type=Path))
@click.argument("request_id", metavar="ID", type=int)
def autohold_delete_command(site: Path, request_id: int) -> None:
    """Delete autohold request ID; nodes it holds now are kept until they expire."""
    with _store(site) as db, db.write() as conn:
        found = node_store.delete_autohold(conn, request_id)
    if not found:
        _fail(f"there is no autohold request {request_id}; see keepgreen autohold-list")
        return
    click.echo(f"deleted autohold request {request_id}")


@click.command("static-key")
@click.argument("site", type=click.Path(path_type=Path))
def static_key_command(site: Path) -> None:
    """Print the public SSH key SITE logs in to static hosts with (made on first use): put it
    in each host's authorized_keys for the user the nodes config names."""
    from keepgreen.nodes.static import login_key

    if not is_site(site):
        _fail(f"{site} is not a keepgreen site folder (keepgreen init makes one)")
        return
    try:
        key = login_key(site)
    except (OSError, subprocess.CalledProcessError) as exc:
        _fail(f"cannot make the static hosts' key in {site / 'secrets'}: {exc}")
        return
    click.echo(key.with_name(key.name + ".pub").read_text().strip())


@click.group("image")
def image_group() -> None:
    """The base image local nodes boot from."""


@image_group.command("build")
@click.argument("site", type=click.Path(path_type=Path))
@click.option("--from", "source", type=click.Choice(["host", "debootstrap"]), default="host",
              show_default=True, help="Copy this machine's system, or install Debian.")
def image_build_command(site: Path, source: str) -> None:
    """(Re)build the base image of SITE's local nodes, printing progress."""
    from keepgreen.nodes import image

    target = site / "nodes" / (".image-host" if source == "host" else ".image-debian")
    click.echo(f"building the {source} image in {target} ...")
    try:
        if source == "host":
            built = image.host_image(target, rebuild=True)
        else:
            built = image.debootstrap_image(target, progress=click.echo)
    except (OSError, RuntimeError, ValueError) as exc:
        _fail(f"image build failed: {exc}")
        return
    click.echo(f"image ready in {target} ({len(built.layers)} host layer(s)); nodes booted "
               "from now on use it")
