"""The site folder: settings file, database, repositories, secrets, runtime files.

``init`` creates it without asking anything; ``open_site`` prepares an existing one
(migrating the store) and creates it first when it is missing.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from keepgreen import settings as settings_mod
from keepgreen.domain.account import ADMINISTRATORS, SERVICE_USERS, Principal
from keepgreen.domain.change import Person
from keepgreen.git.repos import Repos
from keepgreen.services.errors import NotFound, ServiceError
from keepgreen.services.gating.scheduler import CI_ACCOUNT
from keepgreen.services.review.accounts import AccountService, NewAccount
from keepgreen.services.review.projects import ProjectService
from keepgreen.services.siteconf.seeding import CONFIG_PROJECT, SEED, commit_folder
from keepgreen.settings import Settings
from keepgreen.siteconf.render import render
from keepgreen.ssh.host_key import ensure_host_key
from keepgreen.store import siteconf as siteconf_store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database

DEFAULT_SITE = Path("keepgreen-site")  # what `keepgreen serve` uses without a SITE

class SiteError(RuntimeError):
    """The site cannot be created or opened; the message says why and what to do."""


@dataclass(frozen=True)
class AdminCredentials:
    username: str
    password: str


def is_site(path: Path) -> bool:
    return (path / settings_mod.SITE_FILE).exists()


def init(path: Path, admin: str = "admin", admin_password: str | None = None,
         listen: str | None = None, database: str | None = None,
         environ: dict[str, str] | None = None) -> tuple[Settings, AdminCredentials]:
    """Create a site at ``path`` with an administrator account; refuses an existing site."""
    if is_site(path):
        raise SiteError(f"{path} already holds a keepgreen site; serve it with "
                        f"`keepgreen serve {path}`")
    if path.exists() and any(path.iterdir()):
        raise SiteError(f"{path} exists and is not empty; choose a new folder for the site")
    existed = path.exists()
    try:
        return _init(path, admin, admin_password, listen, database, environ)
    except BaseException:
        # Leave no half-made site behind: the next `init` must start clean.
        if existed:
            for child in path.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        else:
            shutil.rmtree(path, ignore_errors=True)
        raise


def _init(path: Path, admin: str, admin_password: str | None, listen: str | None,
          database: str | None,
          environ: dict[str, str] | None) -> tuple[Settings, AdminCredentials]:
    path.mkdir(parents=True, exist_ok=True)
    for sub in ("git", "secrets", "run", "hooks", "logs"):
        (path / sub).mkdir(exist_ok=True)
    (path / "secrets").chmod(0o700)
    site_key(path)
    ensure_host_key(path)
    values: dict[str, object] = {}
    if listen:
        values["listen"] = listen
    if database:
        # Kept absolute: `serve` may run from another folder than the one `init` ran in.
        values["database"] = settings_mod.absolute_database(database, Path.cwd())
    settings_mod.write_site_file(path, values)
    try:
        settings = settings_mod.load(path, environ)
    except settings_mod.SettingsError as exc:
        raise SiteError(str(exc)) from None
    password = admin_password or secrets.token_urlsafe(12)
    db = prepare_store(settings)
    try:
        accounts = AccountService(db)
        account = accounts.create(None, NewAccount(admin, "Administrator", None, password,
                                                   (ADMINISTRATORS,)))
        create_config_project(settings, db, accounts.principal(account))
    except ServiceError as exc:
        raise SiteError(f"cannot create the site: {exc.message}") from None
    finally:
        db.dispose()
    return settings, AdminCredentials(admin, password)


def create_config_project(settings: Settings, db: Database, admin: Principal) -> None:
    """The ``config`` project with the seed layout as its first commit, made by ``admin``."""
    repos = Repos(settings.site / "git")
    projects = ProjectService(db, repos, settings.anonymous_read)
    project = projects.create(admin, CONFIG_PROJECT,
                              "The site's configuration: pipelines, base jobs, projects, "
                              "groups, access rules and node providers.")
    assert admin.account is not None
    who = Person(admin.account.name, admin.account.email or "", utcnow())
    with tempfile.TemporaryDirectory(prefix="keepgreen-seed-") as tmp:
        folder = Path(tmp) / "seed"
        shutil.copytree(SEED, folder, ignore=shutil.ignore_patterns("__pycache__"))
        # resources/ says what this site runs: the seed's accounts are this site's.
        shutil.rmtree(folder / "resources", ignore_errors=True)
        with db.read() as conn:
            running = siteconf_store.running_state(conn)
        for path, text in render(running).items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_text(text)
        sha = commit_folder(repos, CONFIG_PROJECT, project.head.removeprefix("refs/heads/"),
                            folder, who, "Seed the site's configuration")
    with db.write() as conn:
        siteconf_store.record(conn, utcnow(), seen=sha, applied_sha=sha, result="APPLIED",
                              message="the seed")


SITE_KEY = Path("secrets") / "site.key"


def site_key(site: Path) -> bytes:
    """The site's secret, made the first time it is asked for (``init`` does that)."""
    path = site / SITE_KEY
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32) + "\n")
        path.chmod(0o600)
    return path.read_bytes().strip()


def prepare_store(settings: Settings) -> Database:
    db = Database(settings.database_url)
    db.migrate()
    accounts = AccountService(db)
    accounts.ensure_builtin_groups()
    ensure_ci_account(accounts)
    return db


def ensure_ci_account(accounts: AccountService) -> None:
    """The account the scheduler reports and votes as. It has no password: nobody signs in
    as it; its votes are allowed by membership in Service Users."""
    try:
        accounts.get(CI_ACCOUNT)
    except NotFound:
        accounts.create(None, NewAccount(CI_ACCOUNT, "keepgreen CI", None, None,
                                         (SERVICE_USERS,)))
