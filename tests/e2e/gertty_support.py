"""Run gertty's own sync engine, headless, against a server, and read what it stored.

gertty (1.6.0, its latest release) maps its tables with SQLAlchemy 1.x APIs that SQLAlchemy
2 removed (``orm.mapper``, string ``execute`` in its migrations), while keepgreen needs
SQLAlchemy 2; it also uses ``alembic.migration`` without importing it, which alembic 1.7+
no longer imports for it (fixed in gertty's git, not released). So gertty cannot share the
test virtualenv: ``gertty_python()`` builds one
for it once (cached; ``GERTTY_PYTHON`` names a ready interpreter instead), and this file,
run as a script with that interpreter, is the driver. It builds gertty's ``Config``,
``Database`` and ``Sync`` as ``gertty.app.App`` does, minus the urwid screen and the
periodic timer thread, queues the tasks gertty queues at start-up and runs the queue until
it is empty. Every request, JSON parse, git clone/fetch and database write is gertty's.
The test side reads gertty's SQLite database with the standard library.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

GERTTY_VERSION = "1.6.0"
REQUIREMENTS = [f"gertty=={GERTTY_VERSION}", "SQLAlchemy>=1.4,<2", "alembic<1.7"]


class GerttyUnavailable(Exception):
    pass


def gertty_python() -> Path:
    """An interpreter with gertty installed; built under ~/.cache on first use."""
    if os.environ.get("GERTTY_PYTHON"):
        return Path(os.environ["GERTTY_PYTHON"])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "keepgreen-tests"
    venv = cache / f"gertty-{GERTTY_VERSION}-py{sys.version_info[0]}{sys.version_info[1]}"
    python = venv / "bin" / "python"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / "gertty.lock", "w") as lock:
        fcntl.lockf(lock, fcntl.LOCK_EX)
        ready = venv / "ready"
        if ready.exists() and ready.read_text().split() == REQUIREMENTS:
            return python
        steps = [[sys.executable, "-m", "venv", "--clear", str(venv)],
                 [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                  *REQUIREMENTS],
                 [str(python), "-c", "import gertty.app, gertty.sync, gertty.db"]]
        for step in steps:
            proc = subprocess.run(step, capture_output=True, text=True, timeout=900)
            if proc.returncode != 0:
                raise GerttyUnavailable(f"{' '.join(step)} failed:\n{proc.stdout}{proc.stderr}")
        ready.write_text(" ".join(REQUIREMENTS) + "\n")
    return python


def write_config(directory: Path, url: str, username: str, password: str) -> Path:
    """A gertty.yaml for one server, with every file gertty writes inside ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "gertty.yaml"
    server = {"name": "keepgreen", "url": url, "username": username, "password": password,
              "auth-type": "basic", "git-root": str(directory / "git"),
              "dburi": f"sqlite:///{directory / 'gertty.db'}",
              "log-file": str(directory / "gertty.log"),
              "lock-file": str(directory / "gertty.lock"),
              "socket": str(directory / "gertty.sock")}
    path.write_text(json.dumps({"servers": [server]}, indent=2))  # JSON is YAML
    path.chmod(0o600)  # gertty refuses a config holding a password that others can read
    return path


def run_sync(python: Path, config: Path, *subscribe: str, timeout: float = 150) -> dict[str, Any]:
    """Start gertty's sync once (as a fresh start of gertty would), subscribing first to
    ``subscribe``; return the driver's summary: requests the server refused (status >= 400),
    errors and warnings gertty reported, the server version it parsed, its account id."""
    home = config.parent / "home"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}
    proc = subprocess.run([str(python), __file__, str(config), *subscribe], env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise AssertionError(f"gertty driver exited {proc.returncode}:\n{proc.stdout}\n"
                             f"{proc.stderr}\n--- gertty log (tail) ---\n{gertty_log(config)}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def gertty_log(config: Path, tail: int = 6000) -> str:
    log = config.parent / "gertty.log"
    return log.read_text(errors="replace")[-tail:] if log.exists() else "(no gertty log)"


def local_state(config: Path) -> dict[str, Any]:
    """What gertty's database holds: projects, and changes by number with their parts."""
    db = sqlite3.connect(config.parent / "gertty.db")
    try:
        projects = {name: bool(sub) for name, sub in
                    db.execute("SELECT name, subscribed FROM project")}
        changes: dict[int, dict[str, Any]] = {}
        for key, number, project, subject, status, owner in db.execute(
                "SELECT c.key, c.number, p.name, c.subject, c.status, a.username FROM change c"
                " JOIN project p ON p.key = c.project_key"
                " LEFT JOIN account a ON a.key = c.account_key"):
            changes[number] = {
                "project": project, "subject": subject, "status": status, "owner": owner,
                "revisions": {n: commit for n, commit in db.execute(
                    "SELECT number, \"commit\" FROM revision WHERE change_key = ?", (key,))},
                "approvals": {(cat, user): value for cat, user, value in db.execute(
                    "SELECT ap.category, a.username, ap.value FROM approval ap"
                    " JOIN account a ON a.key = ap.account_key"
                    " WHERE ap.change_key = ? AND NOT ap.draft", (key,))},
                "labels": {(cat, value) for cat, value in db.execute(
                    "SELECT category, value FROM label WHERE change_key = ?", (key,))},
                "messages": [(user, n, text) for user, n, text in db.execute(
                    "SELECT a.username, r.number, m.message FROM message m"
                    " JOIN revision r ON r.key = m.revision_key"
                    " LEFT JOIN account a ON a.key = m.account_key"
                    " WHERE r.change_key = ? ORDER BY m.created, m.key", (key,))],
                "comments": [(user, n, path, line, text) for user, n, path, line, text in
                             db.execute(
                    "SELECT a.username, r.number, f.path, cm.line, cm.message FROM comment cm"
                    " JOIN file f ON f.key = cm.file_key JOIN revision r ON r.key = f.revision_key"
                    " LEFT JOIN account a ON a.key = cm.account_key"
                    " WHERE r.change_key = ? AND NOT cm.draft", (key,))],
            }
        return {"projects": projects, "changes": changes}
    finally:
        db.close()


# --- the driver: runs with gertty's interpreter, so only the standard library and gertty ---

def _drive(config_path: str, subscribe: list[str]) -> dict[str, Any]:
    import logging
    import warnings

    import sqlalchemy.exc
    from gertty import config, db, search, sync
    from gertty.app import ProjectCache

    problems: list[str] = []
    caught: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            problems.append(self.format(record))

    class Status:  # the parts of gertty's StatusHeader that Sync calls
        def update(self, **kwargs: Any) -> None:
            pass

    class HeadlessApp:  # gertty.app.App.__init__ without the screen
        def __init__(self) -> None:
            self.config = config.Config(None, "default", "default", config_path)
            logging.basicConfig(filename=self.config.log_file, level=logging.DEBUG,
                                format="%(asctime)s %(name)s %(levelname)s %(message)s")
            logging.getLogger("requests").setLevel("WARN")
            collect = Collect(logging.ERROR)
            collect.setFormatter(logging.Formatter("%(name)s: %(message)s"))
            logging.getLogger().addHandler(collect)
            self.project_cache = ProjectCache()
            self.fetch_missing_refs = False
            self.status = Status()
            self.search = search.SearchCompiler(self.config.username)
            self.db = db.Database(self, self.config.dburi, self.search)
            self.sync = sync.Sync(self, disable_background_sync=True)

    def show(message: Any, category: type, *args: Any, **kwargs: Any) -> None:
        # gertty.app.App shows each warning to the user in a dialog, except these two.
        if category.__name__ not in ("InsecurePlatformWarning", "SNIMissingWarning"):
            caught.append(str(message))

    # SQLAlchemy 1.4 warns about gertty's own table mappings; nothing to do with a server.
    warnings.filterwarnings("ignore", category=sqlalchemy.exc.SAWarning)
    warnings.showwarning = show
    app = HeadlessApp()
    engine = app.sync
    refused: list[str] = []

    def note(response: Any, *args: Any, **kwargs: Any) -> None:  # a requests response hook
        if response.status_code >= 400:
            refused.append(f"{response.request.method} {response.request.path_url} -> "
                           f"{response.status_code} {response.text[:300]!r}")

    engine.session.hooks["response"].append(note)
    devnull = os.open(os.devnull, os.O_WRONLY)  # where Sync signals the (absent) screen
    deadline = time.monotonic() + 120

    def drain() -> None:
        while engine.queue.qsize():
            if time.monotonic() > deadline:
                raise SystemExit("gertty's sync queue did not empty within 120 s")
            if engine._run(devnull) is not None:  # gertty went offline (and slept 30 s)
                raise SystemExit("gertty went offline; see its log")

    engine.submitTask(sync.SyncProjectListTask(sync.HIGH_PRIORITY))
    drain()
    with app.db.getSession() as session:  # what pressing "s" in the project list does
        for name in subscribe:
            project = session.getProjectByName(name)
            if project is None:
                problems.append(f"project {name} is not in gertty's project list")
            else:
                project.subscribed = True
    # What sync.Sync.__init__ queues when background sync is on (the timer thread aside).
    for task in (sync.CheckReposTask(sync.HIGH_PRIORITY),
                 sync.UploadReviewsTask(sync.HIGH_PRIORITY),
                 sync.SyncProjectListTask(sync.HIGH_PRIORITY),
                 sync.SyncSubscribedProjectsTask(sync.NORMAL_PRIORITY),
                 sync.SyncSubscribedProjectBranchesTask(sync.LOW_PRIORITY),
                 sync.SyncOutdatedChangesTask(sync.LOW_PRIORITY),
                 sync.PruneDatabaseTask(app.config.expire_age, sync.LOW_PRIORITY)):
        engine.submitTask(task)
    drain()
    return {"refused": refused, "errors": problems, "warnings": caught,
            "version": list(engine.version), "account_id": engine.account_id}


if __name__ == "__main__":
    print(json.dumps(_drive(sys.argv[1], sys.argv[2:])))
