"""The roles of a site in processes of their own. ``keepgreen executor``: run builds for a
site from another process or machine, and pause, resume, drain or list the executors of a
site; ``keepgreen launcher``: launch nodes for some of the site's providers from another
process; ``keepgreen scheduler``: lead the site (scheduler, launcher, config watcher,
elections, webhooks) without serving web requests.

An executor started here takes builds from the site's database (PostgreSQL when it runs on
another machine than the server) beside the one in ``keepgreen serve`` (turned off with
``local_executor = false``). ``--pause``, ``--resume`` and ``--graceful`` set flags on the
executors' rows, which each executor reads at its next heartbeat.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from types import FrameType

import click

from keepgreen import settings as settings_mod
from keepgreen.site import DEFAULT_SITE, SiteError, is_site
from keepgreen.store import build_queue
from keepgreen.store.db import Database, StoreError
from keepgreen.store.listener import Listener


def _fail(message: str) -> None:
    """Print one sentence saying what is wrong and exit with status 1; nothing was changed."""
    click.echo(f"keepgreen: {message}", err=True)
    sys.exit(1)


def _settings(site: Path, database: str | None) -> settings_mod.Settings:
    if not is_site(site):
        raise SiteError(f"{site} is not a keepgreen site; pass the site folder")
    return settings_mod.load(site, flags={"database": database})


def _listening(db: Database) -> Listener:
    """Turn SIGTERM into SystemExit (so ``finally`` blocks clean up) and start hearing the
    other processes' wake-ups."""
    def stop(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    listener = Listener(db)
    listener.start()
    return listener


@click.command("executor")
@click.argument("site", type=click.Path(path_type=Path), required=False)
@click.option("--database", default=None, help="Store URL (the server's PostgreSQL).")
@click.option("--name", default="", help="This executor's name (default HOST:PID).")
@click.option("--capacity", type=click.IntRange(min=1), default=None,
              help="Builds run at once (default: the site's executor_capacity).")
@click.option("--pause", "action", flag_value="pause",
              help="Stop taking new builds; running ones finish.")
@click.option("--resume", "action", flag_value="resume", help="Take builds again.")
@click.option("--graceful", "action", flag_value="graceful",
              help="Finish the running builds, then stop.")
@click.option("--list", "action", flag_value="list", help="List the site's executors.")
def executor_command(site: Path | None, database: str | None, name: str,
                     capacity: int | None, action: str | None) -> None:
    """Run builds for SITE (default ./keepgreen-site), or manage its executors.

    With --pause, --resume or --graceful it acts on executor --name (every executor when
    left out) and exits."""
    site = site or DEFAULT_SITE
    try:
        settings = _settings(site, database)
        if action is not None:
            _manage(Database(settings.database_url), action, name or None)
            return
        from keepgreen.app import build_executor

        worker = build_executor(settings, name=name, capacity=capacity)
    except (SiteError, StoreError, settings_mod.SettingsError) as exc:
        _fail(str(exc))
        return

    listener = _listening(worker.db)
    worker.start()
    click.echo(f"executor {worker.name} running up to {worker.capacity} build(s) for "
               f"{settings.site}")
    try:
        worker.wait()
    except (KeyboardInterrupt, SystemExit):
        click.echo(f"executor {worker.name} stopping; running builds are aborted")
    finally:
        worker.stop()
        listener.stop()
        worker.db.dispose()


def _manage(db: Database, action: str, name: str | None) -> None:
    try:
        if action == "list":
            with db.read() as conn:
                rows = build_queue.all_executors(conn)
            now = time.time()
            for row in rows:
                state = ("draining" if row.graceful else "paused" if row.paused
                         else "running")
                click.echo(f"{row.name}  {state}  builds {row.running}/{row.capacity}  "
                           f"load {row.load:.2f}  free disk {row.free_disk >> 20} MiB  "
                           f"heartbeat {now - row.heartbeat:.0f} s ago")
            if not rows:
                click.echo("no executors are running")
            return
        flags = {"pause": {"paused": True}, "resume": {"paused": False, "graceful": False},
                 "graceful": {"graceful": True}}[action]
        with db.write() as conn:
            changed = build_queue.set_flags(conn, name, **flags)
    finally:
        db.dispose()
    if name is not None and not changed:
        _fail(f"no executor is called {name!r}; `keepgreen executor --list` shows them")
    click.echo(f"{action}: {changed} executor(s)")


@click.command("launcher")
@click.argument("site", type=click.Path(path_type=Path), required=False)
@click.option("--database", default=None, help="Store URL (the server's PostgreSQL).")
@click.option("--name", default="", help="This launcher's name (default HOST:PID).")
@click.option("--provider", "providers", multiple=True,
              help="A provider of the config project's nodes/ to launch nodes for "
                   "(repeat for more; every provider when left out).")
def launcher_command(site: Path | None, database: str | None, name: str,
                     providers: tuple[str, ...]) -> None:
    """Launch and delete nodes for SITE (default ./keepgreen-site) beside the server's
    launcher: node requests are shared through the site's database."""
    site = site or DEFAULT_SITE
    try:
        settings = _settings(site, database)
        from keepgreen.app import build_launcher
        from keepgreen.services.nodes.settings import node_defaults

        node_defaults(settings)  # unreadable node limits are an error before anything starts
        launcher = build_launcher(settings, name=name, providers=providers or None)
    except (SiteError, StoreError, settings_mod.SettingsError) as exc:
        _fail(str(exc))
        return
    launcher.follow()  # the site's nodes/, fetched from the server on another machine
    configured = {p.name for p in launcher.config.providers}
    unknown = sorted(set(providers) - configured)
    if unknown:
        launcher.db.dispose()
        _fail(f"provider {', '.join(unknown)} is not in the site's nodes/ (it has "
              f"{', '.join(sorted(configured))})")
        return

    listener = _listening(launcher.db)
    launcher.start()
    click.echo(f"launcher {launcher.name} launching nodes of "
               f"{', '.join(sorted(launcher.launcher.serves))} for {settings.site}")
    try:
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, SystemExit):
        click.echo(f"launcher {launcher.name} stopping; deleting its nodes")
    finally:
        launcher.stop()
        listener.stop()
        launcher.db.dispose()


@click.command("scheduler")
@click.argument("site", type=click.Path(path_type=Path), required=False)
@click.option("--database", default=None, help="Store URL (the server's PostgreSQL).")
def scheduler_command(site: Path | None, database: str | None) -> None:
    """Lead SITE (default ./keepgreen-site) without serving web requests: its scheduler,
    launcher, config watcher, elections and webhooks. It runs where the site's repositories
    are; while another process leads, it stands by and takes over when that one stops."""
    site = site or DEFAULT_SITE
    try:
        settings = _settings(site, database)
        from keepgreen.app import build_services, leader_roles
        from keepgreen.site import prepare_store

        prepare_store(settings).dispose()
        services = build_services(settings)
        leadership = leader_roles(services)
    except (SiteError, StoreError, settings_mod.SettingsError) as exc:
        _fail(str(exc))
        return
    listener = _listening(services.db)
    leading = leadership.start()
    click.echo(f"scheduler for {settings.site}: "
               + ("leading" if leading else "standing by while another process leads"))
    try:
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, SystemExit):
        click.echo("scheduler stopping")
    finally:
        leadership.stop()
        listener.stop()
        services.db.dispose()
