"""The composition root: builds the store, git, services and HTTP app for one site."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from keepgreen.domain.project import SITE_CONFIG
from keepgreen.domain.throttle import LoginThrottle
from keepgreen.executor.remote_sources import RemoteSources
from keepgreen.executor.runner import Executor, ExecutorSettings
from keepgreen.gerrit import (
    access_api,
    account_details_api,
    accounts_api,
    attention_api,
    change_checks_api,
    change_edit_api,
    changes_api,
    drafts_api,
    events_api,
    files_api,
    group_details_api,
    project_details_api,
    project_labels_api,
    projects_api,
    review_api,
    revision_api,
    server_api,
    server_details_api,
    sshkeys_api,
    webhooks_api,
)
from keepgreen.gerrit.router import Router
from keepgreen.git import proc_receive_hook
from keepgreen.git.hook_server import HookServer, PushContext
from keepgreen.git.merges import Merger
from keepgreen.git.repos import Repos
from keepgreen.services.elections.service import ElectionService
from keepgreen.services.gating.executor_worker import ExecutorWorker, default_name
from keepgreen.services.gating.scheduler import CI_ACCOUNT, Scheduler
from keepgreen.services.leadership import Leadership
from keepgreen.services.nodes.broker import PoolNodes
from keepgreen.services.nodes.pool_service import LauncherService
from keepgreen.services.nodes.settings import node_defaults
from keepgreen.services.pads.rooms import Rooms
from keepgreen.services.pads.service import PadService
from keepgreen.services.review.account_emails import AccountEmails
from keepgreen.services.review.account_settings import AccountSettings
from keepgreen.services.review.accounts import AccountService
from keepgreen.services.review.attention import AttentionService
from keepgreen.services.review.change_edits import ChangeEditService
from keepgreen.services.review.change_upkeep import ChangeUpkeep
from keepgreen.services.review.changes import ChangeService
from keepgreen.services.review.comment_porting import CommentPorter
from keepgreen.services.review.commits import CommitService
from keepgreen.services.review.dashboards import DashboardService
from keepgreen.services.review.deletion import ChangeDeleter
from keepgreen.services.review.drafts import DraftService
from keepgreen.services.review.event_feed import EventFeed
from keepgreen.services.review.git_access import GitAccess
from keepgreen.services.review.groups import GroupService
from keepgreen.services.review.merge_patch_sets import MergePatchSets
from keepgreen.services.review.mergeability import Mergeability
from keepgreen.services.review.patchsets import PatchSetWriter
from keepgreen.services.review.project_details import ProjectDetails
from keepgreen.services.review.project_keys import ProjectKeyService
from keepgreen.services.review.project_labels import ProjectLabels
from keepgreen.services.review.projects import ProjectService
from keepgreen.services.review.receive import ReceiveService
from keepgreen.services.review.refs import RefService
from keepgreen.services.review.review import ReviewService
from keepgreen.services.review.revision_notes import RevisionNotes
from keepgreen.services.review.revisions import RevisionService
from keepgreen.services.review.ssh_keys import SshKeyService
from keepgreen.services.review.submit import SubmitService
from keepgreen.services.review.webhooks import WebhookService
from keepgreen.services.siteconf.config import SiteConfigService, review_reporter
from keepgreen.settings import Settings
from keepgreen.site import SITE_KEY, site_key
from keepgreen.ssh.host_key import ensure_host_key
from keepgreen.ssh.server import SshServer
from keepgreen.store.db import BUILD_REQUESTS, BUILD_RESULTS, NODE_REQUESTS, Database
from keepgreen.store.leader import LeaderLock
from keepgreen.store.listener import Listener
from keepgreen.web import ui as ui_pages
from keepgreen.web.builds import BuildsWeb
from keepgreen.web.edge import Edge
from keepgreen.web.elections_api import ElectionsApi
from keepgreen.web.git_http import GitHttp, parse_git_path
from keepgreen.web.keys_api import KeysApi
from keepgreen.web.log_upload import LogUpload
from keepgreen.web.metrics import PATH as METRICS_PATH
from keepgreen.web.metrics import Metrics
from keepgreen.web.pad_socket import PadSocket
from keepgreen.web.pads_api import PadsApi
from keepgreen.web.session import Sessions
from keepgreen.web.status_api import StatusApi
from keepgreen.web.ui.router import STATIC, Ui, WebUI

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a request handler may use, built once per site."""

    settings: Settings
    db: Database
    repos: Repos
    accounts: AccountService
    projects: ProjectService
    changes: ChangeService
    receive: ReceiveService
    review: ReviewService
    submit: SubmitService
    revisions: RevisionService
    merger: Merger
    hook_server: HookServer
    hooks_dir: Path
    scheduler: Scheduler
    groups: GroupService  # groups, their members and included groups
    upkeep: ChangeUpkeep  # change check/fix, included-in, message removal, reverts
    edits: ChangeEditService  # change edits, file by file
    commits: CommitService  # commits by id, their files and where they are included
    project_details: ProjectDetails  # description, parent, HEAD, statistics, gc
    emails: AccountEmails  # accounts' e-mail addresses and external ids
    account_settings: AccountSettings  # preferences, watches, diff and edit settings
    patch_set_merges: MergePatchSets  # merge and patch:apply patch sets
    revision_notes: RevisionNotes  # reviewed flags and patch set descriptions
    comment_porter: CommentPorter  # comments carried to a later patch set
    dashboards: DashboardService  # projects' dashboards
    labels: ProjectLabels  # labels and submit requirements as projects see them
    launcher: LauncherService | None = None  # the node pool; None when jobs do not run
    executor: ExecutorWorker | None = None  # runs builds here; None with local_executor off
    siteconf: SiteConfigService | None = None  # applies the config project's merged tip
    project_keys: ProjectKeyService | None = None  # key pairs for the projects' secrets
    ssh_keys: SshKeyService | None = None  # accounts' SSH keys, for the SSH port
    git_access: GitAccess | None = None  # who may fetch or push, for every git transport
    event_feed: EventFeed | None = None  # the event log as one account may follow it
    elections: ElectionService | None = None  # team lead elections defined in config
    refs: RefService | None = None  # branches and tags made over REST
    webhooks: WebhookService | None = None  # projects' remotes and their deliveries
    pads: PadService | None = None  # shared pads and who may read and write them
    mergeability: Mergeability | None = None  # would a change merge into its branch now
    attention: AttentionService | None = None  # who is expected to act on a change next
    drafts: DraftService | None = None  # reviewers' unpublished comments
    deletion: ChangeDeleter | None = None  # deleting open and abandoned changes

    def base_url(self, request: Request | None = None) -> str:
        """The site's URL for links, redirects and fetch URLs: the canonical URL, else one
        derived from the listen address. Never the request's Host header, which the client
        writes."""
        return self.settings.base_url


def build_services(settings: Settings) -> Services:
    site = settings.site
    db = Database(settings.database_url)
    repos = Repos(site / "git")
    accounts = AccountService(db, LoginThrottle(
        settings.login_max_failures, settings.login_failure_window,
        address_max_failures=settings.login_max_failures_per_address))
    projects = ProjectService(db, repos, settings.anonymous_read)
    changes = ChangeService(db, projects)
    merger = Merger(repos)
    writer = PatchSetWriter(merger)
    receive = ReceiveService(db, repos, projects, writer)

    def base_url() -> str:
        return settings.base_url

    review = ReviewService(db, projects, changes, base_url)
    submit = SubmitService(db, repos, merger, projects, writer, base_url)
    submit.whole_topic = settings.submit_whole_topic
    submit.can_see = changes.can_see
    revisions = RevisionService(db, repos, merger, projects, writer, base_url)
    mergeability = Mergeability(db, repos, merger, projects)
    changes.refresh_mergeable = mergeability.refresh_open

    async def on_push(ctx: PushContext, commands: list[list[str]],
                      options: list[str]) -> dict[str, Any]:
        return await run_in_threadpool(receive.handle, ctx, commands, options)

    hook_server = HookServer(site / "run", on_push)
    launcher = (LauncherService(db, site, node_defaults(settings), repos=repos,
                                name=default_name(), serves=settings.served_providers,
                                lease=float(settings.launcher_lease_seconds))
                if settings.run_jobs else None)
    keys = ProjectKeyService(db, projects, site_key(site))
    scheduler = Scheduler(db, repos, review, accounts, launcher is not None, submit=submit,
                          dry_run_labels=launcher.dry_run_labels if launcher else None,
                          release_nodes=launcher.release if launcher else None)
    executor = (executor_worker(settings, db, launcher, keys)
                if launcher is not None and settings.local_executor else None)
    # Whoever follows a topic looks when a write touching it commits, here or (through
    # LISTEN/NOTIFY on PostgreSQL) in another process of the site; polls are the fallback.
    db.subscribe(BUILD_RESULTS, scheduler.wake)
    if executor is not None:
        db.subscribe(BUILD_REQUESTS, executor.wake)
    if launcher is not None:
        db.subscribe(NODE_REQUESTS, launcher.wake)
    db.on_event.append(scheduler.wake)  # a new event is looked at now, not at the next poll
    siteconf = SiteConfigService(db, repos, site, settings.anonymous_read,
                                 review_reporter(db, review, accounts, CI_ACCOUNT))
    projects.site = accounts.site = siteconf
    if launcher is not None:
        siteconf.after_apply.append(launcher.reload_nodes)
    elections = ElectionService(db, siteconf, projects, accounts, revisions, CI_ACCOUNT)
    siteconf.after_apply.append(elections.sync)
    feed = EventFeed(db, projects, changes)
    webhooks = WebhookService(db, projects, accounts, feed, settings.webhook_private_addresses)
    return Services(
        settings=settings, db=db, repos=repos, accounts=accounts, projects=projects,
        executor=executor,
        changes=changes, receive=receive, review=review, submit=submit, revisions=revisions,
        merger=merger, hook_server=hook_server, hooks_dir=site / "hooks", scheduler=scheduler,
        groups=GroupService(accounts),
        upkeep=ChangeUpkeep(revisions, projects, changes),
        edits=ChangeEditService(revisions, settings.max_request_bytes),
        commits=CommitService(repos, merger, projects),
        project_details=ProjectDetails(db, repos, projects),
        emails=AccountEmails(db, accounts),
        account_settings=AccountSettings(db, accounts, projects),
        patch_set_merges=MergePatchSets(revisions),
        revision_notes=RevisionNotes(db),
        comment_porter=CommentPorter(db, repos),
        dashboards=DashboardService(db, projects),
        labels=ProjectLabels(projects),
        launcher=launcher, siteconf=siteconf, project_keys=keys,
        ssh_keys=SshKeyService(db, accounts), git_access=GitAccess(projects, changes, repos),
        event_feed=feed, elections=elections, refs=RefService(db, repos, projects),
        webhooks=webhooks,
        pads=PadService(db, projects, changes, accounts, settings.anonymous_read),
        mergeability=mergeability, attention=AttentionService(db), drafts=DraftService(db),
        deletion=ChangeDeleter(db, repos, projects, base_url))

def executor_worker(settings: Settings, db: Database, launcher: LauncherService,
                    keys: ProjectKeyService | None = None, *,
                    name: str = "") -> ExecutorWorker:
    """An executor taking builds from the database: builds take their nodes from the node
    pool, and the private keys of projects whose secrets they use from ``keys``."""
    site = settings.site

    def make() -> Executor:
        return Executor(ExecutorSettings(builds_root=site / "builds"),
                        nodes=PoolNodes(launcher),
                        secret_keys=keys.private_key if keys is not None else None)

    capacity = settings.executor_capacity or (os.cpu_count() or 1)
    sources = None
    if settings.executor_fetch_url:
        sources = RemoteSources(site / "builds" / ".sources", settings.executor_fetch_url,
                                settings.executor_username, settings.executor_password)
    return ExecutorWorker(db, make, name=name, capacity=capacity,
                          lease=float(settings.executor_lease_seconds), sources=sources)


def build_executor(settings: Settings, *, name: str = "",
                   capacity: int | None = None) -> ExecutorWorker:
    """The parts ``keepgreen executor`` runs: an executor on the site's database, asking the
    node pool of the server for its nodes through the same database."""
    site = settings.site
    db = Database(settings.database_url)
    db.migrate()
    repos = Repos(site / "git")
    launcher = LauncherService(db, site, node_defaults(settings), repos=repos)
    launcher.reload_nodes()  # the providers of the site's nodes/, for their node checks
    projects = ProjectService(db, repos, settings.anonymous_read)
    keys = None
    if (site / SITE_KEY).exists() or not settings.executor_fetch_url:
        keys = ProjectKeyService(db, projects, site_key(site))
    else:  # on another machine: a new key would open nothing
        log.warning("%s is missing, so builds whose jobs use secrets fail here; copy it "
                    "from the server's site folder", site / SITE_KEY)
    worker = executor_worker(settings, db, launcher, keys, name=name)
    if capacity is not None:
        worker.capacity = max(1, capacity)
    db.subscribe(BUILD_REQUESTS, worker.wake)  # heard from the server through the listener
    return worker


def build_launcher(settings: Settings, *, name: str = "",
                   providers: Collection[str] | None = None) -> LauncherService:
    """The parts ``keepgreen launcher`` runs: a launcher sharing the site's node pool
    through the database, for ``providers`` (all when None), following ``config``."""
    db = Database(settings.database_url)
    db.migrate()
    repos, fetch = Repos(settings.site / "git"), None
    if settings.executor_fetch_url:  # on another machine: config comes over git HTTP
        remote = RemoteSources(settings.site / "builds" / ".sources",
                               settings.executor_fetch_url, settings.executor_username,
                               settings.executor_password)
        repos = Repos(remote.mirrors)

        def fetch() -> None:
            remote.fetch_tip(SITE_CONFIG)
    launcher = LauncherService(db, settings.site, node_defaults(settings), repos=repos,
                               name=name or default_name(), serves=providers, leader=False,
                               follow_config=True, lease=float(settings.launcher_lease_seconds),
                               fetch_config=fetch)
    db.subscribe(NODE_REQUESTS, launcher.wake)  # heard from the others through the listener
    return launcher


def install_hook(hooks_dir: Path) -> None:
    """Write the proc-receive hook, started by this very interpreter without site imports."""
    hooks_dir.mkdir(parents=True, exist_ok=True)
    source = Path(proc_receive_hook.__file__).read_text()
    target = hooks_dir / "proc-receive"
    target.write_text(f"#!{hook_python()} -IS\n{source}")
    target.chmod(0o755)


def hook_python() -> str:
    """The interpreter for the hook: it imports only built-in modules, so the system's
    Python 3 serves when present, and it starts faster than a virtualenv's."""
    system = Path("/usr/bin/python3")
    if system.exists() and os.access(system, os.X_OK):
        return str(system)
    return sys.executable


def commit_msg_hook() -> bytes:
    return resources.files("keepgreen").joinpath("data/commit-msg").read_bytes()


async def start_ssh(services: Services) -> SshServer | None:
    """The SSH port, unless the settings turn it off. A port that cannot be had is logged
    and the web server serves on: the site stays reachable over HTTP."""
    address = services.settings.ssh_address
    if address is None:
        return None
    host, port = address
    server = SshServer(services, host, port, ensure_host_key(services.settings.site))
    try:
        await server.start()
    except OSError as exc:
        log.error("the SSH port cannot listen on %s:%s (%s); set ssh_listen to another "
                  "HOST:PORT, or to off", host, port, exc.strerror or exc)
        return None
    log.info("SSH port listening on %s:%s", host, port)
    return server


def leader_roles(services: Services) -> Leadership:
    """What only the site's leader runs (``services.leadership``): the scheduler, the
    launcher, the config watcher, elections and webhooks, started when this process takes
    the lead and stopped when it gives it up."""
    def lead() -> None:
        services.submit.recover()
        if services.launcher is not None:
            services.launcher.start()
        services.scheduler.start()
        if services.siteconf is not None:
            services.siteconf.catch_up()
            services.siteconf.start()
        if services.elections is not None:
            services.elections.start()
        if services.webhooks is not None:
            services.webhooks.start()

    def resign() -> None:
        if services.webhooks is not None:
            services.webhooks.stop()
        if services.elections is not None:
            services.elections.stop()
        if services.siteconf is not None:
            services.siteconf.stop()
        services.scheduler.stop()
        if services.launcher is not None:
            services.launcher.stop()

    return Leadership(LeaderLock(services.db), lead, resign)


def build_app(services: Services) -> Starlette:
    router = Router(services, accounts_api.ROUTES + projects_api.ROUTES
                    + access_api.ROUTES + review_api.ROUTES + changes_api.ROUTES
                    + files_api.ROUTES + server_api.ROUTES + events_api.ROUTES + sshkeys_api.ROUTES
                    + webhooks_api.ROUTES + attention_api.ROUTES + drafts_api.ROUTES
                    + account_details_api.ROUTES + project_details_api.ROUTES
                    + project_labels_api.ROUTES + group_details_api.ROUTES
                    + revision_api.ROUTES + change_edit_api.ROUTES
                    + server_details_api.ROUTES + change_checks_api.ROUTES)
    git_http = GitHttp(services)
    sessions = Sessions(site_key(services.settings.site), services.accounts,
                        services.settings.base_url.startswith("https:"))
    builds_web = BuildsWeb(services, sessions)
    log_upload = LogUpload(services)
    status_api = StatusApi(services)
    keys_api = KeysApi(services)
    elections_api = ElectionsApi(services)
    pads_api = PadsApi(services)
    assert services.pads is not None
    pad_socket = PadSocket(services, sessions, Rooms(services.pads))

    async def pad_endpoint(websocket: WebSocket) -> None:
        await pad_socket(websocket)
    web_ui = WebUI(Ui(services, sessions), ui_pages.ROUTES)
    hook_text = commit_msg_hook()

    metrics = Metrics(services.db, services.accounts, services.launcher)

    async def dispatch(request: Request) -> Response:
        started = time.monotonic()
        kind, response = await route(request)
        metrics.observe(kind, request.method, response.status_code,
                        time.monotonic() - started)
        return response

    async def route(request: Request) -> tuple[str, Response]:
        raw = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        git_path = parse_git_path(raw)
        if git_path is not None:
            return "git", await git_http(request, git_path)
        path = request.url.path
        if path == "/tools/hooks/commit-msg":
            return "hook", Response(hook_text, media_type="application/octet-stream", headers={
                "Content-Disposition": 'attachment; filename="commit-msg"'})
        if path == METRICS_PATH and request.method in ("GET", "HEAD"):
            return "metrics", await run_in_threadpool(metrics.answer, request)
        page = web_ui.match(request.method, path)
        if page is not None:
            return "ui", await web_ui(request, page)
        if BuildsWeb.handles(path):
            return "logs", await builds_web(request)
        if LogUpload.handles(path):
            return "api", await log_upload(request)
        if StatusApi.handles(path):
            return "api", await status_api(request)
        if KeysApi.handles(path):
            return "api", await keys_api(request)
        if ElectionsApi.handles(path):
            return "api", await elections_api(request)
        if PadsApi.handles(path):
            return "api", await pads_api(request)
        return "rest", await router(request)

    leadership = leader_roles(services)
    listener = Listener(services.db)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        install_hook(services.hooks_dir)
        await services.hook_server.start()
        await run_in_threadpool(listener.start)
        if services.settings.run_scheduler:
            await run_in_threadpool(leadership.start)
        if services.executor is not None:
            await run_in_threadpool(services.executor.start)
        ssh = await start_ssh(services)
        try:
            yield
        finally:
            if ssh is not None:
                await ssh.stop()
            if services.settings.run_scheduler:
                await run_in_threadpool(leadership.stop)
            if services.executor is not None:
                await run_in_threadpool(services.executor.stop)
            await run_in_threadpool(listener.stop)
            await services.hook_server.stop()
            services.db.dispose()

    methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
    # Git and build log uploads count their bodies against max_push_bytes themselves.
    edge = Middleware(Edge, max_request_bytes=services.settings.max_request_bytes,
                      unlimited=lambda raw: (parse_git_path(raw.split("?", 1)[0]) is not None
                                             or LogUpload.unlimited(raw)))
    return Starlette(routes=[Mount("/static", StaticFiles(directory=STATIC), name="static"),
                             WebSocketRoute("/pads/{pad}/socket", pad_endpoint),
                             Route("/{path:path}", dispatch, methods=methods)],
                     middleware=[edge], lifespan=lifespan)
