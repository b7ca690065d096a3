"""The one typed settings object.

Each setting has a name, a default and a help text. Values are layered, later wins:
defaults < the site file (``keepgreen.toml`` in the site folder) < ``KEEPGREEN_<NAME>``
environment variables < command-line flags.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SITE_FILE = "keepgreen.toml"
DEFAULT_SSH_PORT = 29418


class SettingsError(ValueError):
    """A setting has a value keepgreen cannot use; the message names it and the source."""


def _meta(help_text: str) -> dict[str, str]:
    return {"help": help_text}


@dataclass(frozen=True)
class Settings:
    site: Path = field(default=Path("keepgreen-site"), metadata=_meta("The site folder."))
    listen: str = field(
        default="127.0.0.1:8080", metadata=_meta("HOST:PORT the HTTP server listens on.")
    )
    database: str = field(
        default="",
        metadata=_meta(
            "SQLAlchemy URL of the store; empty means SQLite in the site folder. "
            "Use postgresql+psycopg://user@host/db for PostgreSQL."
        ),
    )
    canonical_url: str = field(
        default="",
        metadata=_meta("The URL users reach the server at; empty means http://LISTEN/."),
    )
    anonymous_read: bool = field(
        default=True,
        metadata=_meta("Whether new projects may be read without signing in."),
    )
    max_push_bytes: int = field(
        default=512 * 1024 * 1024, metadata=_meta("Largest pack a push may send, in bytes.")
    )
    max_request_bytes: int = field(
        default=10 * 1024 * 1024,
        metadata=_meta("Largest request body the REST API, the native API and the web UI "
                       "read, in bytes; a larger one is refused with 413 (git pushes have "
                       "max_push_bytes)."),
    )
    login_max_failures: int = field(
        default=10,
        metadata=_meta("Failed sign-ins (HTTP Basic, git over HTTP or the sign-in form) "
                       "allowed per account within login_failure_window; more are refused "
                       "with 429 until the window has passed (0 turns the limit off)."),
    )
    login_max_failures_per_address: int = field(
        default=100,
        metadata=_meta("Failed sign-ins allowed per client address within "
                       "login_failure_window, whatever the accounts (larger than the per "
                       "account limit: people behind one proxy share an address)."),
    )
    login_failure_window: int = field(
        default=300,
        metadata=_meta("The window of login_max_failures, in seconds."),
    )
    webhook_private_addresses: bool = field(
        default=False,
        metadata=_meta("Whether webhooks may deliver to loopback, private and link-local "
                       "addresses (off: a project owner cannot make the server call "
                       "services inside its network)."),
    )
    submit_whole_topic: bool = field(
        default=False,
        metadata=_meta("Whether submitting a change (over REST, SSH or the web UI) submits "
                       "every open change of its topic with it, in every project, or none "
                       "(Gerrit's change.submitWholeTopic); the gate submits what it tested "
                       "on its own either way."),
    )
    log_level: str = field(default="info", metadata=_meta("debug, info, warning or error."))
    run_jobs: bool = field(
        default=True,
        metadata=_meta("Whether CI jobs run (on local nodes, which need root); when off, "
                       "uploads are still reviewed but get no Verified vote."),
    )
    run_scheduler: bool = field(
        default=True,
        metadata=_meta("Whether this server may lead the site: run its scheduler, launcher, "
                       "config watcher, elections and webhooks (one process leads at a "
                       "time); off, it serves web, git and review, and `keepgreen scheduler` "
                       "leads."),
    )
    nodes_min_ready: int = field(
        default=0,
        metadata=_meta("Spare local nodes kept booted so builds start at once (the config "
                       "project's nodes/ folder may set it per label)."),
    )
    nodes_max_servers: int = field(
        default=0,
        metadata=_meta("Local nodes that may exist at once; 0 means the number of CPUs."),
    )
    node_memory_limit: str = field(
        default="2GiB",
        metadata=_meta("Memory limit of each local node, e.g. 2GiB or 512MiB; 0 for none. "
                       "Needs cgroup v2 or v1 memory and cpu."),
    )
    node_cpu_limit: str = field(
        default="0",
        metadata=_meta("CPU limit of each local node in CPUs, e.g. 1.5; 0 for none. "
                       "Needs cgroup v2 or v1 memory and cpu."),
    )
    node_disk_limit: str = field(
        default="0",
        metadata=_meta("Disk space for what each local node writes, e.g. 1GiB; 0 for none "
                       "(nodes then write to the site's disk). Needs mkfs.ext4 and loop "
                       "devices."),
    )

    local_executor: bool = field(
        default=True,
        metadata=_meta("Whether the server runs builds itself; off, only executors started "
                       "with `keepgreen executor` on the same database run them."),
    )
    executor_capacity: int = field(
        default=0,
        metadata=_meta("Builds an executor runs at once; 0 means the number of CPUs."),
    )
    executor_lease_seconds: int = field(
        default=30,
        metadata=_meta("How long a running build stays an executor's without its heartbeat; "
                       "then it is handed to another executor as its next attempt."),
    )
    launcher_providers: str = field(
        default="",
        metadata=_meta("The node providers (names from the config project's nodes/, comma "
                       "separated) the server's launcher launches nodes for; empty means all. "
                       "`keepgreen launcher --provider` serves the others."),
    )
    launcher_lease_seconds: int = field(
        default=30,
        metadata=_meta("How long a launcher stays alive without its heartbeat; then the "
                       "nodes it was launching or kept spare are deleted by another "
                       "launcher serving their provider."),
    )
    executor_fetch_url: str = field(
        default="",
        metadata=_meta("For `keepgreen executor` or `keepgreen launcher` on another machine "
                       "than the server: the server's URL (e.g. http://review.example.org:8080/),"
                       " which they fetch each build's sources and the config project's "
                       "nodes/ from over git HTTP; empty reads them from this machine's disk, "
                       "as on the server."),
    )
    executor_username: str = field(
        default="",
        metadata=_meta("The account a fetching executor signs in as; it must be in Service "
                       "Users (or Administrators) to see the sources of builds."),
    )
    executor_password: str = field(
        default="",
        metadata=_meta("That account's HTTP password (better set in the environment, as "
                       "KEEPGREEN_EXECUTOR_PASSWORD, than in the site file)."),
    )

    ssh_listen: str = field(
        default="",
        metadata=_meta("HOST:PORT of the SSH port (git over SSH and Gerrit's ssh commands); "
                       "empty means the host of listen on port 29418, off turns it off."),
    )

    def __post_init__(self) -> None:
        # git hooks, sockets, node tools and child processes use these paths from other
        # working folders: a relative site would name a different place for each of them.
        object.__setattr__(self, "site", Path(self.site).resolve())
        url = self.executor_fetch_url
        if url and not url.startswith(("http://", "https://")):
            raise SettingsError(f"executor_fetch_url must be an http:// or https:// URL of "
                                f"the server, not {url!r}.")
        if url and not self.executor_username:
            raise SettingsError("executor_fetch_url is set but executor_username is not: "
                                "a fetching executor signs in as an account in Service Users.")

    @property
    def database_url(self) -> str:
        if self.database:
            return self.database
        return f"sqlite:///{(self.site / 'keepgreen.db').resolve()}"

    @property
    def served_providers(self) -> frozenset[str] | None:
        """``launcher_providers`` as names; None means every provider."""
        names = frozenset(n.strip() for n in self.launcher_providers.split(",") if n.strip())
        return names or None

    @property
    def base_url(self) -> str:
        if self.canonical_url:
            return self.canonical_url.rstrip("/") + "/"
        host, _, port = self.listen.rpartition(":")
        if host in ("0.0.0.0", "", "::"):
            host = "127.0.0.1"
        return f"http://{host}:{port}/"

    @property
    def ssh_address(self) -> tuple[str, int] | None:
        """Where the SSH port listens; None when it is off."""
        if self.ssh_listen.strip().lower() == "off":
            return None
        if not self.ssh_listen:
            return self.listen_host, DEFAULT_SSH_PORT
        host, _, port = self.ssh_listen.rpartition(":")
        return host or "127.0.0.1", int(port)

    @property
    def listen_host(self) -> str:
        return self.listen.rpartition(":")[0] or "127.0.0.1"

    @property
    def listen_port(self) -> int:
        return int(self.listen.rpartition(":")[2])


def describe() -> list[tuple[str, str, str]]:
    """Name, default and help of every setting, for documentation and ``--help``."""
    rows = []
    for f in dataclasses.fields(Settings):
        rows.append((f.name, repr(f.default), f.metadata.get("help", "")))
    return rows


def _coerce(name: str, raw: Any, kind: Any, source: str) -> Any:
    if kind in (bool, "bool"):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{source}: {name} must be true or false, not {raw!r}.")
    if kind in (int, "int"):
        try:
            number = int(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{source}: {name} must be a whole number, not {raw!r}.") from None
        least = _LEAST.get(name)
        if least is not None and number < least:
            raise SettingsError(f"{source}: {name} must be at least {least}, not {number}.")
        return number
    if kind in (Path, "Path"):
        return Path(str(raw))
    if name == "listen":
        _check_listen(str(raw), source)
    if name == "ssh_listen" and str(raw).strip().lower() not in ("", "off"):
        _check_listen(str(raw), source, name)
    return str(raw)


# Whole-number settings with a floor (a lease shorter than 3 s would expire between beats).
_LEAST = {"executor_capacity": 0, "executor_lease_seconds": 3, "launcher_lease_seconds": 3}


def absolute_database(url: str, base: Path) -> str:
    """``url`` with a relative SQLite file made absolute against ``base``; any other URL
    (PostgreSQL, in-memory SQLite, a malformed one the store will report) as it is."""
    if not url.startswith("sqlite"):
        return url
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    path = parsed.database
    if not path or path == ":memory:" or path.startswith("file:") or Path(path).is_absolute():
        return url
    return parsed.set(database=str((base / path).resolve())).render_as_string(
        hide_password=False)


def load(
    site: Path,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Settings:
    """Build settings for ``site`` from the site file, the environment and flags."""
    environ = os.environ if environ is None else environ
    kinds = {f.name: f.type for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {"site": site}
    site_file = site / SITE_FILE
    if site_file.exists():
        try:
            data = tomllib.loads(site_file.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{site_file}: {exc}.") from None
        for key, raw in data.items():
            name = key.replace("-", "_")
            if name not in kinds or name == "site":
                raise SettingsError(f"{site_file}: unknown setting {key!r}.")
            values[name] = _coerce(name, raw, kinds[name], str(site_file))
        if "database" in values:
            # A relative SQLite file in the site file lives in the site folder.
            values["database"] = absolute_database(values["database"], site.resolve())
    for name, kind in kinds.items():
        env_name = "KEEPGREEN_" + name.upper()
        if name != "site" and env_name in environ:
            values[name] = _coerce(name, environ[env_name], kind, f"environment {env_name}")
            if name == "database":
                values[name] = absolute_database(values[name], Path.cwd())
    for name, raw in (flags or {}).items():
        if raw is not None:
            values[name] = _coerce(name, raw, kinds[name], f"--{name.replace('_', '-')}")
            if name == "database":
                values[name] = absolute_database(values[name], Path.cwd())
    return Settings(**values)


def _check_listen(listen: str, source: str, name: str = "listen") -> None:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        example = "127.0.0.1:8080" if name == "listen" else "0.0.0.0:29418, or off"
        raise SettingsError(
            f"{source}: {name} must be HOST:PORT, for example {example}, not {listen!r}.")


def write_site_file(site: Path, values: Mapping[str, Any]) -> None:
    """Write the given settings to the site file (used once, by ``keepgreen init``)."""
    lines = ["# keepgreen site settings; see `keepgreen settings` for every name and default."]
    for name, value in values.items():
        if isinstance(value, bool):
            rendered = "true" if value else "false"
        elif isinstance(value, int):
            rendered = str(value)
        else:
            rendered = '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines.append(f"{name} = {rendered}")
    (site / SITE_FILE).write_text("\n".join(lines) + "\n")
