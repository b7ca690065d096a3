"""Operator commands for the gate: ``keepgreen enqueue``, ``dequeue`` and ``promote``.

Each writes a command to the site's store and waits until the running server's scheduler has
taken it (``services.operator``); the answer is "done" or the scheduler's reason in one
sentence, with exit code 1 for any refusal, bad argument, or a server that does not answer.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click

from keepgreen import settings as settings_mod
from keepgreen.store.builds import DEQUEUE, ENQUEUE, PROMOTE

DEFAULT_TIMEOUT = 30.0

_site = click.argument("site", type=click.Path(path_type=Path))
_pipeline = click.option("--pipeline", required=True, help="The pipeline, e.g. gate.")
_timeout = click.option("--timeout", default=DEFAULT_TIMEOUT, show_default=True,
                        help="Seconds to wait for the server to take the command.")


def _fail(message: str) -> None:
    click.echo(f"keepgreen: {message}", err=True)
    sys.exit(1)


def _run(site: Path, kind: str, pipeline: str, changes: list[str], project: str,
         timeout: float) -> None:
    from keepgreen.services.gating.operator import OperatorClient, parse_change
    from keepgreen.site import SiteError, is_site
    from keepgreen.store.db import Database, StoreError

    try:
        pairs = [parse_change(c) for c in changes]
    except ValueError as exc:
        _fail(str(exc))
        return
    if not pairs:
        _fail("name at least one change with --change(s) NUMBER,PATCHSET")
        return
    try:
        if not is_site(site):
            raise SiteError(f"{site} is not a keepgreen site (create one with keepgreen init)")
        db = Database(settings_mod.load(site).database_url)
    except (SiteError, StoreError, settings_mod.SettingsError) as exc:
        _fail(str(exc))
        return
    try:
        client = OperatorClient(db)
        event_id = client.request(kind, pipeline, pairs, project=project,
                                  requested_by=f"cli:{getpass.getuser()}")
        taken = client.wait(event_id, timeout)
    except StoreError as exc:
        _fail(str(exc))
        return
    finally:
        db.dispose()
    if taken is None:
        _fail(f"the server of {site} did not take the command within {timeout:g} s; is it "
              f"running? (start it with: keepgreen serve {site})")
        return
    if taken.error:
        _fail(taken.error)
        return
    done = {ENQUEUE: "enqueued in", DEQUEUE: "dequeued from", PROMOTE: "promoted in"}[kind]
    click.echo(f"{' '.join(changes)} {done} {pipeline}")


@click.command("enqueue")
@_site
@_pipeline
@click.option("--project", required=True, help="The change's project.")
@click.option("--change", "change", required=True, help="NUMBER,PATCHSET, e.g. 12,1.")
@_timeout
def enqueue_command(site: Path, pipeline: str, project: str, change: str,
                    timeout: float) -> None:
    """Put a change into a pipeline of the running server for SITE, without its trigger."""
    _run(site, ENQUEUE, pipeline, [change], project, timeout)


@click.command("dequeue")
@_site
@_pipeline
@click.option("--project", required=True, help="The change's project.")
@click.option("--change", "change", required=True, help="NUMBER,PATCHSET, e.g. 12,1.")
@_timeout
def dequeue_command(site: Path, pipeline: str, project: str, change: str,
                    timeout: float) -> None:
    """Take a change out of a pipeline of the running server for SITE (no report)."""
    _run(site, DEQUEUE, pipeline, [change], project, timeout)


@click.command("promote")
@_site
@_pipeline
@click.option("--changes", "first", required=True, help="NUMBER,PATCHSET; more may follow.")
@click.argument("more", nargs=-1, metavar="[N,PS]...")
@_timeout
def promote_command(site: Path, pipeline: str, first: str, more: tuple[str, ...],
                    timeout: float) -> None:
    """Move changes, in the given order, to the head of their queue; the changes behind
    them are re-tested."""
    _run(site, PROMOTE, pipeline, [first, *more], "", timeout)
