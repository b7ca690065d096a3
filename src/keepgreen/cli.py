"""The ``keepgreen`` command: ``init``, ``serve`` (the default), ``change``, ``run-job``,
``simulate`` and ``settings``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from keepgreen import cli_gate, cli_nodes, cli_processes, cli_secrets
from keepgreen import settings as settings_mod
from keepgreen.domain.pad import MAX_MESSAGE_BYTES as PAD_MESSAGE_BYTES
from keepgreen.site import DEFAULT_SITE, SiteError, init, is_site, prepare_store
from keepgreen.store.db import StoreError


class DefaultServe(click.Group):
    """``keepgreen`` alone means ``keepgreen serve``. Anything else names a command: a
    mistyped one is an error that suggests the closest, never a new site of that name."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, args or ["serve"])


@click.group(cls=DefaultServe, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="keepgreen")
def main() -> None:
    """keepgreen: code review and gating for a team, in one process."""


def _fail(message: str) -> None:
    click.echo(f"keepgreen: {message}", err=True)
    sys.exit(2)


def _print_admin(credentials: Any, base_url: str) -> None:
    click.echo("Created the site's administrator (shown once, keep it safe):")
    click.echo(f"  username: {credentials.username}")
    click.echo(f"  HTTP password: {credentials.password}")
    click.echo(f"  try: curl -u {credentials.username}:PASSWORD {base_url}a/accounts/self")


@main.command("init")
@click.argument("site", type=click.Path(path_type=Path))
@click.option("--admin", default="admin", show_default=True, help="Administrator username.")
@click.option("--admin-password", default=None, help="Administrator HTTP password "
              "(generated and printed when left out).")
@click.option("--listen", default=None, help="HOST:PORT to serve on (default 127.0.0.1:8080).")
@click.option("--database", default=None, help="Store URL; SQLite in the site when left out.")
def init_command(site: Path, admin: str, admin_password: str | None, listen: str | None,
                 database: str | None) -> None:
    """Create a new site in SITE without asking anything."""
    try:
        settings, credentials = init(site, admin, admin_password, listen, database,
                                     dict(os.environ))
    except (SiteError, StoreError, settings_mod.SettingsError) as exc:
        _fail(str(exc))
        return
    click.echo(f"Created a keepgreen site in {site}.")
    if admin_password is None:
        _print_admin(credentials, settings.base_url)
    click.echo(f"Start it with: keepgreen serve {site}")


@main.command("serve")
@click.argument("site", type=click.Path(path_type=Path), required=False)
@click.option("--listen", default=None, help="HOST:PORT to listen on.")
@click.option("--database", default=None, help="Store URL (SQLite or postgresql+psycopg://).")
def serve_command(site: Path | None, listen: str | None, database: str | None) -> None:
    """Run the server for SITE (default ./keepgreen-site, created on first run)."""
    import uvicorn

    from keepgreen.app import build_app, build_services

    site = site or DEFAULT_SITE
    try:
        if not is_site(site):
            settings, credentials = init(site, listen=listen, database=database,
                                         environ=dict(os.environ))
            click.echo(f"Created a keepgreen site in {site}.")
            _print_admin(credentials, settings.base_url)
        flags = {"listen": listen, "database": database}
        settings = settings_mod.load(site, flags=flags)
        db = prepare_store(settings)
        db.dispose()
    except (SiteError, StoreError, settings_mod.SettingsError) as exc:
        _fail(str(exc))
        return
    services = build_services(settings)
    if settings.run_jobs:
        from keepgreen.executor.sandbox import Sandbox
        from keepgreen.nodes.preflight import problems as node_problems

        for problem in node_problems():
            click.echo(f"warning: local nodes: {problem}", err=True)
        sandbox_problem = Sandbox().check()
        if sandbox_problem:
            click.echo(f"warning: jobs: {sandbox_problem}", err=True)
    click.echo(f"keepgreen serving {settings.site} at {settings.base_url}")
    if settings.ssh_address is not None:
        host, port = settings.ssh_address
        click.echo(f"SSH on {host}:{port}: git clone ssh://USER@{host}:{port}/PROJECT")
    uvicorn.run(build_app(services), host=settings.listen_host, port=settings.listen_port,
                log_level=settings.log_level, access_log=settings.log_level == "debug",
                timeout_graceful_shutdown=5, ws="websockets-sansio",
                ws_max_size=PAD_MESSAGE_BYTES + 64)


@main.command("change")
@click.argument("number", type=int)
@click.option("--site", type=click.Path(path_type=Path), default=DEFAULT_SITE,
              show_default=True, help="The site folder.")
def change_command(number: int, site: Path) -> None:
    """Show change NUMBER: status, votes, and why it cannot merge yet."""
    from keepgreen.app import build_services
    from keepgreen.domain.account import Principal
    from keepgreen.services.errors import ServiceError

    try:
        if not is_site(site):
            raise SiteError(f"{site} is not a keepgreen site; pass --site")
        services = build_services(settings_mod.load(site))
        system = Principal(None, frozenset({"Administrators"}))
        change = services.changes.resolve(str(number), system)
    except (SiteError, StoreError, settings_mod.SettingsError) as exc:
        _fail(str(exc))
        return
    except ServiceError as exc:
        _fail(exc.message)
        return
    details = services.changes.details([change], messages=False)[0]
    names = {a.id: a.username for a in details.accounts.values()}
    click.echo(f"{change.number}: {change.subject}")
    click.echo(f"  {change.project} · {change.branch} · {change.status} · patch set "
               f"{change.current_patch_set} · owner {names.get(change.owner_id, '?')}")
    votes = [v for v in details.approvals if v.patch_set == change.current_patch_set]
    for vote in votes:
        click.echo(f"  {vote.label} {vote.value:+d} by {names.get(vote.account_id, '?')}")
    for result in services.submit.evaluate(change):
        line = f"  [{result.status}] {result.requirement.name}"
        click.echo(line + (f": {result.reason}" if result.reason else ""))
    verdict = services.submit.verdict(change)
    if verdict.submittable:
        click.echo("  can merge")
    else:
        click.echo("  cannot merge: " + "; ".join(verdict.reasons))
    services.db.dispose()


@main.command("run-job")
@click.option("--config", required=True, type=click.Path(exists=True, path_type=Path),
              help="A folder or file with the job definitions.")
@click.option("--job", "job_name", required=True, help="The job to run.")
@click.option("--src", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The project source the job tests.")
def run_job_command(config: Path, job_name: str, src: Path) -> None:
    """Run one job on a fresh local node and print its live log, result and timings."""
    import tempfile

    from keepgreen.executor.cli_entry import JobConfigError, run_job
    from keepgreen.nodes.local import LocalProvider

    root = Path(tempfile.mkdtemp(prefix="keepgreen-run-job-"))
    try:
        result = run_job(config, job_name, src, LocalProvider(root / "nodes"), click.echo,
                         builds_root=root / "builds")
    except JobConfigError as exc:
        _fail(str(exc))
        return
    click.echo(result.summary())
    click.echo(f"logs: {result.log_dir}")
    sys.exit(0 if result.result.passed else 1)


@main.command("simulate")
@click.option("--changes", default=200, show_default=True, help="Changes approved over the day.")
@click.option("--job-minutes", default=30.0, show_default=True,
              help="Length of each change's one job (each change draws +-20%).")
@click.option("--fail-rate", default=0.1, show_default=True,
              help="Share of changes that break the tests.")
@click.option("--nodes", default=40, show_default=True, help="Builds that can run at once.")
@click.option("--seed", default=0, show_default=True, help="Same seed, same day.")
@click.option("--window", default=20, show_default=True, help="The gate's starting window.")
@click.option("--window-floor", default=15, show_default=True,
              help="The smallest the window shrinks to (Zuul's default: 3).")
@click.option("--flake-rate", default=0.0, show_default=True,
              help="Chance that any build fails whatever it tests.")
@click.option("--no-retry", is_flag=True,
              help="Eject a change on its first failed build (no second try).")
@click.option("--no-early-failure", is_flag=True,
              help="Report failing builds only when they end, not at the failing task.")
def simulate_command(changes: int, job_minutes: float, fail_rate: float, nodes: int,
                     seed: int, window: int, window_floor: int, flake_rate: float,
                     no_retry: bool, no_early_failure: bool) -> None:
    """Replay a synthetic day through the gate core and compare it with a serial gate."""
    from keepgreen.simulator import Settings, simulate

    try:
        settings = Settings(changes, job_minutes, fail_rate, nodes, seed, window,
                            early_failure=not no_early_failure, flake_rate=flake_rate,
                            retry=not no_retry, window_floor=window_floor)
    except ValueError as exc:
        _fail(str(exc))
        return
    click.echo(simulate(settings).table())


@main.command("settings")
def settings_command() -> None:
    """List every setting with its default and meaning."""
    for name, default, help_text in settings_mod.describe():
        click.echo(f"{name} (KEEPGREEN_{name.upper()}, default {default})\n    {help_text}")


# Operator commands for the gate (keepgreen.cli_gate).
main.add_command(cli_gate.enqueue_command)
main.add_command(cli_gate.dequeue_command)
main.add_command(cli_gate.promote_command)

# Executors, launchers and the scheduler in their own processes (keepgreen.cli_processes).
main.add_command(cli_processes.executor_command)
main.add_command(cli_processes.launcher_command)
main.add_command(cli_processes.scheduler_command)

# Node pool commands (keepgreen.cli_nodes).
main.add_command(cli_nodes.autohold_command)
main.add_command(cli_nodes.autohold_list_command)
main.add_command(cli_nodes.autohold_delete_command)
main.add_command(cli_nodes.static_key_command)
main.add_command(cli_nodes.image_group)

# Secrets for job config (keepgreen.cli_secrets).
main.add_command(cli_secrets.encrypt_command)
main.add_command(cli_secrets.rotate_key_command)
