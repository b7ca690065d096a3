"""Benchmark: review reads at 100,000 changes, on SQLite and on PostgreSQL.

With ``--changes`` changes seeded straight into the store (spread over 20 projects; every
tenth change of a project has 10 patch sets and 20 votes on its current patch set, by 20
accounts, over Code-Review, Verified and Workflow; the rest have one patch set and no
votes), measures as a signed-in, non-administrator user:

(1) ``GET /a/changes/?q=status:open project:P&o=DETAILED_LABELS&n=25`` (P rotates over
    the 20 projects);
(2) ``GET /a/changes/{project~number}?o=ALL_REVISIONS&o=DETAILED_LABELS&o=MESSAGES`` for
    open changes with 10 patch sets and 20 votes (rotating over 100 of them);

each interleaved, round by round, with the baseline ``GET /config/server/version`` (and,
for reference, its signed-in twin ``GET /a/config/server/version``), so the figures can
be read as ratios to the baseline measured in the same run.

    python bench/review_queries.py [--changes N] [--database sqlite|postgresql|both (default)]
                                   [--requests N] [--json out.json] [--sql-profile]

The site is made with ``keepgreen init``, the rows are bulk-inserted with SQLAlchemy Core
``insert()`` executemany, then ``keepgreen serve`` runs on a free 127.0.0.1 port. Patch
set commits are fake 40-hex strings and no project has a repository: these endpoints do
not read git, and the server runs with a ``git`` wrapper on its PATH that counts every git
process it starts (reported; it must stay 0 during the timed requests).
``--sql-profile`` also replays a few of each request in-process with SQLAlchemy event
hooks and prints the statements they run and what they cost. Everything lives in a
temporary folder; PostgreSQL (postgres@127.0.0.1:5432, trust auth) gets a fresh database
that is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import KEEPGREEN, free_port, gerrit_json  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
USER, PASSWORD = "alice", "alice-" + uuid.uuid4().hex[:12]
PROJECTS = [f"bench/p{i:02d}" for i in range(1, 21)]
REVIEWERS = [f"reviewer{i:02d}" for i in range(1, 21)]
HEAVY_EVERY = 10  # every tenth change of each project
HEAVY_PATCH_SETS, HEAVY_VOTES = 10, 20
LABELS = (("Code-Review", (-2, -1, 1, 2)), ("Verified", (-1, 1, 2)), ("Workflow", (1,)))
WARMUP_ROUNDS = 10
DETAIL_TARGETS = 100
CHUNK = 20_000


# -- the data -------------------------------------------------------------------------
def sha(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


def is_heavy(number: int) -> bool:
    """Every tenth change of each project (numbers are dealt to projects round-robin)."""
    return ((number - 1) // len(PROJECTS)) % HEAVY_EVERY == HEAVY_EVERY // 2


def seed(url: str, count: int) -> dict[str, Any]:
    """Insert ``count`` changes and what they need; returns row counts and seconds."""
    from sqlalchemy import func, insert, select, text

    from keepgreen.services.review.accounts import AccountService
    from keepgreen.services.review.passwords import hash_password
    from keepgreen.store import schema as s
    from keepgreen.store.clock import utcnow
    from keepgreen.store.db import Database

    started = time.perf_counter()
    rng = random.Random(20260101)
    db = Database(url)
    rows: dict[str, int] = defaultdict(int)
    open_heavy: list[int] = []

    def put(conn: Any, table: Any, batch: list[dict[str, Any]]) -> None:
        for i in range(0, len(batch), CHUNK):
            conn.execute(insert(table), batch[i:i + CHUNK])
        rows[table.name] += len(batch)
        batch.clear()

    try:
        db.migrate()
        AccountService(db).ensure_builtin_groups()
        now = utcnow()
        start = now - timedelta(days=400)
        with db.write() as conn:
            people = [dict(username=USER, name="Alice", email=f"{USER}@example.org",
                           http_password_hash=hash_password(PASSWORD), active=True,
                           created=start)]
            people += [dict(username=r, name=r.title(), email=f"{r}@example.org",
                            http_password_hash=None, active=True, created=start)
                       for r in REVIEWERS]
            put(conn, s.accounts, people)
            ids = dict(conn.execute(select(s.accounts.c.username, s.accounts.c.id)).all())
            reviewer_ids = [ids[r] for r in REVIEWERS]
            put(conn, s.projects, [dict(name=p, description=f"Benchmark project {p}",
                                        head="refs/heads/main", anonymous_read=False,
                                        state="ACTIVE", created=start) for p in PROJECTS])
            put(conn, s.groups, [dict(name=f"{p}-core", description=f"Core reviewers of {p}",
                                      owner=f"{p}-core", created=start) for p in PROJECTS])
            group_ids = dict(conn.execute(select(s.groups.c.name, s.groups.c.id)).all())
            # The first five reviewers are core reviewers of every project.
            put(conn, s.group_members, [dict(group_id=group_ids[f"{p}-core"], account_id=a)
                                        for p in PROJECTS for a in reviewer_ids[:5]])

            owners = [ids[USER], *reviewer_ids]
            batches: dict[str, list[dict[str, Any]]] = defaultdict(list)
            tables = {"changes": s.changes, "patch_sets": s.patch_sets,
                      "approvals": s.approvals, "messages": s.messages,
                      "change_people": s.change_people}
            for number in range(1, count + 1):
                project = PROJECTS[(number - 1) % len(PROJECTS)]
                owner = owners[number % len(owners)]
                heavy = is_heavy(number)
                sets = HEAVY_PATCH_SETS if heavy else 1
                created = start + timedelta(minutes=5 * number)
                step = timedelta(minutes=1)
                updated = created + step * (sets + (HEAVY_VOTES if heavy else 0))
                roll = rng.random()
                status = "NEW" if roll < 0.7 else "MERGED" if roll < 0.95 else "ABANDONED"
                subject = f"Seeded change {number}"
                change_id = "I" + sha(rng)
                batches["changes"].append(dict(
                    number=number, project=project, branch="main", change_id=change_id,
                    owner_id=owner, subject=subject, status=status, topic=None, wip=False,
                    private=False, current_patch_set=sets, created=created, updated=updated,
                    submitted=updated if status == "MERGED" else None,
                    submitter_id=reviewer_ids[0] if status == "MERGED" else None))
                parent = sha(rng)
                for ps in range(1, sets + 1):
                    when = created + step * (ps - 1)
                    batches["patch_sets"].append(dict(
                        change_number=number, number=ps, sha=sha(rng), parents=[parent],
                        uploader_id=owner, created=when,
                        message=f"{subject}\n\nPatch set {ps}.\n\nChange-Id: {change_id}\n",
                        author_name="Owner", author_email="owner@example.org",
                        author_date=when, committer_name="Owner",
                        committer_email="owner@example.org", committer_date=when,
                        parent_change=None, kind="REWORK",
                        insertions=rng.randint(1, 400), deletions=rng.randint(0, 100)))
                    batches["messages"].append(dict(
                        change_number=number, patch_set=ps, author_id=owner, date=when,
                        message=f"Uploaded patch set {ps}.",
                        tag="autogenerated:gerrit:newPatchSet"))
                if not heavy:
                    continue
                if status == "NEW":
                    open_heavy.append(number)
                for k, voter in enumerate(reviewer_ids[:HEAVY_VOTES]):
                    label, values = LABELS[k % len(LABELS)]
                    value = rng.choice(values)
                    when = created + step * (sets + k)
                    batches["approvals"].append(dict(
                        change_number=number, patch_set=sets, label=label, account_id=voter,
                        value=value, granted=when, tag=None))
                    batches["messages"].append(dict(
                        change_number=number, patch_set=sets, author_id=voter, date=when,
                        message=f"Patch Set {sets}: {label}{value:+d}", tag=None))
                    batches["change_people"].append(dict(
                        change_number=number, account_id=voter, state="REVIEWER"))
                if len(batches["messages"]) >= CHUNK:
                    for name in tables:  # parents before children
                        put(conn, tables[name], batches[name])
            for name in tables:
                put(conn, tables[name], batches[name])
            if not db.is_sqlite:  # explicit change numbers: move the sequence past them
                conn.execute(text("SELECT setval(pg_get_serial_sequence('changes', 'number'),"
                                  " (SELECT max(number) FROM changes))"))
            assert conn.execute(select(func.count()).select_from(s.changes)).scalar() == count
        inserted = time.perf_counter() - started
        if not db.is_sqlite:  # what autovacuum does within a minute of such a load
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    finally:
        db.dispose()
    return {"rows": dict(rows), "insert_s": round(inserted, 1),
            "total_s": round(time.perf_counter() - started, 1), "open_heavy": open_heavy}


# -- the server -----------------------------------------------------------------------
class Site:
    """``keepgreen init``, seeding, then ``keepgreen serve`` with a counting git wrapper."""

    def __init__(self, tmp: Path, database_url: str | None) -> None:
        self.tmp = tmp
        self.path = tmp / "site"
        self.url_db = database_url or f"sqlite:///{self.path / 'keepgreen.db'}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPGREEN_")}
        self.git_log = tmp / "git-calls.log"
        self.git_log.touch()
        shim = tmp / "bin" / "git"
        shim.parent.mkdir()
        real_git = shutil.which("git") or "/usr/bin/git"
        shim.write_text(f'#!/bin/sh\necho "$*" >> "{self.git_log}"\nexec "{real_git}" "$@"\n')
        shim.chmod(0o755)
        self.env["PATH"] = f"{shim.parent}{os.pathsep}{self.env.get('PATH', '')}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = tmp / "server.log"

    def init(self) -> None:
        cmd = [*KEEPGREEN, "init", str(self.path), "--admin", "admin", "--admin-password",
               "admin-" + uuid.uuid4().hex[:12], "--listen", f"127.0.0.1:{self.port}"]
        if not self.url_db.startswith("sqlite"):
            cmd += ["--database", self.url_db]
        subprocess.run(cmd, check=True, capture_output=True, env=self.env)

    def serve(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen([*KEEPGREEN, "serve", str(self.path)], stdout=log,
                                        stderr=subprocess.STDOUT, env=self.env,
                                        start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(self.url + "config/server/version", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def git_calls(self) -> int:
        return len(self.git_log.read_text().splitlines())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# -- the requests ---------------------------------------------------------------------
def query_path(project: str) -> str:
    q = quote(f"status:open project:{project}", safe=":")
    return f"/a/changes/?q={q}&o=DETAILED_LABELS&n=25"


def detail_path(project: str, number: int) -> str:
    return f"/a/changes/{quote(project, safe='')}~{number}" \
           "?o=ALL_REVISIONS&o=DETAILED_LABELS&o=MESSAGES"


def detail_targets(heavy: list[int]) -> list[tuple[str, int]]:
    """Up to 100 of the open changes with 10 patch sets and 20 votes, spread over all."""
    step = max(1, len(heavy) // DETAIL_TARGETS)
    return [(PROJECTS[(n - 1) % len(PROJECTS)], n) for n in heavy[::step][:DETAIL_TARGETS]]


def check_query(body: Any, project: str) -> dict[str, int]:
    assert isinstance(body, list) and len(body) == 25, f"expected 25 changes, got {len(body)}"
    heavy = 0
    for c in body:
        assert c["project"] == project and c["status"] == "NEW", c["id"]
        assert set(c["labels"]) == {"Code-Review", "Verified", "Workflow"}, c["labels"]
        votes = sum(len(info.get("all", [])) for info in c["labels"].values())
        heavy += votes == HEAVY_VOTES
        assert votes in (0, HEAVY_VOTES), votes
    return {"changes": len(body), "with_votes": heavy}


def check_detail(body: Any) -> dict[str, int]:
    votes = sum(len(info.get("all", [])) for info in body["labels"].values())
    assert len(body["revisions"]) == HEAVY_PATCH_SETS, len(body["revisions"])
    assert votes == HEAVY_VOTES, votes
    assert len(body["messages"]) == HEAVY_PATCH_SETS + HEAVY_VOTES, len(body["messages"])
    return {"revisions": len(body["revisions"]), "votes": votes,
            "messages": len(body["messages"])}


def stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered) * 1000, 2),
            "p90_ms": round(ordered[math.ceil(0.9 * len(ordered)) - 1] * 1000, 2),
            "min_ms": round(ordered[0] * 1000, 2), "n": len(ordered)}


def measure(site: Site, targets: list[tuple[str, int]], requests: int) -> dict[str, Any]:
    auth = (USER, PASSWORD)
    names = ("baseline", "baseline_auth", "query", "detail")
    times: dict[str, list[float]] = {n: [] for n in names}
    sizes: dict[str, list[int]] = {n: [] for n in names}
    shapes: dict[str, list[dict[str, int]]] = {"query": [], "detail": []}
    with httpx.Client(base_url=site.url.rstrip("/"), timeout=60) as client:
        git_before = site.git_calls()
        for i in range(WARMUP_ROUNDS + requests):
            project = PROJECTS[i % len(PROJECTS)]
            d_project, d_number = targets[i % len(targets)]
            plan = [("baseline", "/config/server/version", None),
                    ("query", query_path(project), auth),
                    ("baseline_auth", "/a/config/server/version", auth),
                    ("detail", detail_path(d_project, d_number), auth)]
            for name, path, credentials in plan:
                started = time.perf_counter()
                response = client.get(path, auth=credentials) if credentials else client.get(path)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}"
                                       f"\n{site.log()[-3000:]}")
                if i < WARMUP_ROUNDS:
                    continue
                times[name].append(elapsed)
                sizes[name].append(len(response.content))
                if name == "query":
                    shapes["query"].append(check_query(gerrit_json(response), project))
                elif name == "detail":
                    shapes["detail"].append(check_detail(gerrit_json(response)))
        git_during = site.git_calls() - git_before
        # The wrapper must see the server's git: this endpoint runs `git symbolic-ref`.
        client.get(f"/a/projects/{quote(PROJECTS[0], safe='')}/HEAD", auth=auth)
        wrapper_works = site.git_calls() > git_before + git_during
    result: dict[str, Any] = {"git_processes_during_requests": git_during,
                              "git_wrapper_self_test": wrapper_works}
    for name in names:
        result[name] = {**stats(times[name]),
                        "bytes_median": int(statistics.median(sizes[name]))}
    base = result["baseline"]
    for name in ("query", "detail", "baseline_auth"):
        r = result[name]
        r["x_baseline_median"] = round(r["median_ms"] / base["median_ms"], 1)
        r["x_baseline_p90"] = round(r["p90_ms"] / base["p90_ms"], 1)
    result["query"]["changes_with_20_votes_per_page"] = round(
        statistics.mean(s["with_votes"] for s in shapes["query"]), 2)
    result["detail"]["shape"] = shapes["detail"][0]
    return result


# -- where the time goes, in-process with SQLAlchemy event hooks ---------------------
def sql_profile(site: Site, targets: list[tuple[str, int]], rounds: int = 20) -> dict[str, Any]:
    """Replay the two requests through the app in this process, timing every statement."""
    import warnings

    from sqlalchemy import event

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's note about httpx2
        from starlette.testclient import TestClient

    from keepgreen import settings as settings_mod
    from keepgreen.app import build_app, build_services

    settings = settings_mod.load(site.path, environ={})
    services = build_services(settings)
    engine = services.db.engine
    log: list[tuple[str, float, str]] = []

    def before(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        conn.info.setdefault("t0", []).append(time.perf_counter())

    def after(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        log.append((statement, time.perf_counter() - conn.info["t0"].pop(), _caller()))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    report: dict[str, Any] = {}
    client = TestClient(build_app(services), base_url="http://127.0.0.1")  # no lifespan
    try:
        for name in ("query", "detail"):
            per_request: list[tuple[float, int, float]] = []
            by_statement: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
            by_caller: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
            for i in range(3 + rounds):
                project = PROJECTS[i % len(PROJECTS)]
                path = (query_path(project) if name == "query"
                        else detail_path(*targets[i % len(targets)]))
                log.clear()
                started = time.perf_counter()
                response = client.get(path, auth=(USER, PASSWORD))
                wall = time.perf_counter() - started
                assert response.status_code == 200, response.text[:300]
                if i < 3:
                    continue
                per_request.append((wall, len(log), sum(t for _, t, _ in log)))
                for statement, t, caller in log:
                    for table, key in ((by_statement, _shape(statement)), (by_caller, caller)):
                        table[key][0] += 1
                        table[key][1] += t
            walls = sorted(w for w, _, _ in per_request)
            top = sorted(by_statement.items(), key=lambda kv: -kv[1][1])[:8]
            callers = sorted(by_caller.items(), key=lambda kv: -kv[1][0])[:12]
            report[name] = {
                "wall_median_ms": round(statistics.median(walls) * 1000, 2),
                "statements_per_request": round(statistics.mean(n for _, n, _ in per_request), 1),
                "sql_ms_per_request": round(
                    statistics.mean(t for _, _, t in per_request) * 1000, 2),
                "top_statements": [
                    {"statement": k, "per_request": round(v[0] / rounds, 1),
                     "ms_per_request": round(v[1] / rounds * 1000, 2)} for k, v in top],
                "top_callers": [
                    {"caller": k, "per_request": round(v[0] / rounds, 1),
                     "ms_per_request": round(v[1] / rounds * 1000, 2)} for k, v in callers]}
    finally:
        client.close()
        services.db.dispose()
    return report


def _caller() -> str:
    """The keepgreen functions on the stack of a statement, outermost first."""
    names = []
    frame: Any = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        name = frame.f_code.co_name
        if "/keepgreen/" in path and not name.startswith("<") and name not in (
                "_run", "__call__", "read", "write", "_sqlite_on_begin", "query_changes",
                "get_change", "_render"):
            names.append(f"{Path(path).stem}.{name}")
        frame = frame.f_back
    return " > ".join(reversed(names)) or "?"


def _shape(statement: str) -> str:
    """A statement with its parameter lists folded, so repeats group together."""
    text = re.sub(r"\s+", " ", statement).strip()
    text = re.sub(r"\((?:\s*(?:\?|%\(\w+\)s|__\[POSTCOMPILE_\w+\]),?)+\)", "(…)", text)
    text = re.sub(r"IN \([^)]*\)", "IN (…)", text)
    select_list = re.match(r"SELECT (.*?) FROM (\S+)(.*)", text)
    if select_list:
        cols, table, rest = select_list.groups()
        text = f"SELECT {cols[:60]}{'…' if len(cols) > 60 else ''} FROM {table}{rest}"
    return text[:260]


# -- the run --------------------------------------------------------------------------
def machine() -> dict[str, str]:
    def out(*cmd: str) -> str:
        return subprocess.run(cmd, capture_output=True, text=True).stdout

    model = next((line.split(":", 1)[1].strip() for line in out("lscpu").splitlines()
                  if line.startswith("Model name")), "unknown")
    mem = next((line.split()[1] for line in out("free", "-g").splitlines()
                if line.startswith("Mem:")), "?")
    edited = [line[3:] for line in out("git", "-C", str(ROOT), "status", "--porcelain",
                                       "--", "src").splitlines()]
    return {"nproc": out("nproc").strip(), "cpu": model, "memory_gib": mem,
            "python": sys.version.split()[0], "date": out("date", "-u").strip(),
            "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "commit": out("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD").strip(),
            "src_uncommitted": ", ".join(edited) or "none"}


def run_one(database: str, count: int, requests: int, pg_admin: str,
            profile: bool) -> dict[str, Any]:
    import psycopg

    admin = pg_admin.replace("+psycopg", "")
    pg_name = f"kg_bench_{uuid.uuid4().hex[:12]}" if database == "postgresql" else None
    site: Site | None = None
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kg-review-bench-") as tmpdir:
        try:
            url = None
            if pg_name:
                with psycopg.connect(admin, autocommit=True) as c:
                    c.execute(f'CREATE DATABASE "{pg_name}"')
                url = pg_admin.rsplit("/", 1)[0] + "/" + pg_name
            site = Site(Path(tmpdir), url)
            print(f"[{database}] keepgreen init ...", file=sys.stderr)
            site.init()
            print(f"[{database}] seeding {count} changes ...", file=sys.stderr)
            seeding = seed(site.url_db, count)
            print(f"[{database}] seeded in {seeding['total_s']} s: {seeding['rows']}",
                  file=sys.stderr)
            targets = detail_targets(seeding.pop("open_heavy"))
            site.serve()
            print(f"[{database}] {WARMUP_ROUNDS} warm-up + {requests} timed rounds ...",
                  file=sys.stderr)
            load_before = os.getloadavg()[0]
            result = measure(site, targets, requests)
            result["loadavg_1min"] = f"{load_before:.2f} -> {os.getloadavg()[0]:.2f}"
            site.stop()
            if profile:
                print(f"[{database}] SQL profile ...", file=sys.stderr)
                result["sql_profile"] = sql_profile(site, targets)
        finally:
            if site is not None:
                site.stop()
            if pg_name:
                with psycopg.connect(admin, autocommit=True) as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    return {"database": database, "changes": count, "seeding": seeding, **result,
            "run_s": round(time.perf_counter() - started, 1)}


def print_report(results: list[dict[str, Any]], info: dict[str, str]) -> None:
    print(f"\nmachine: {info}")
    rows = (("baseline", "GET /config/server/version"),
            ("baseline_auth", "GET /a/config/server/version"),
            ("query", "status:open project:P, DETAILED_LABELS, n=25"),
            ("detail", "change, ALL_REVISIONS+DETAILED_LABELS+MESSAGES"))
    for r in results:
        print(f"\n{r['database']}: {r['changes']} changes, seeded in {r['seeding']['total_s']} s "
              f"({sum(r['seeding']['rows'].values())} rows), git processes during requests: "
              f"{r['git_processes_during_requests']} (wrapper self-test "
              f"{'passed' if r['git_wrapper_self_test'] else 'FAILED'}); load average "
              f"during the timed requests {r['loadavg_1min']}")
        for key, label in rows:
            s = r[key]
            ratio = (f"  x{s['x_baseline_median']} / x{s['x_baseline_p90']} baseline"
                     if "x_baseline_median" in s else "")
            target = "" if key.startswith("baseline") else (
                "  (target median < 50 ms: " + ("met" if s["median_ms"] < 50 else "MISSED") + ")")
            print(f"  {label:<50} median {s['median_ms']:7.2f} ms  p90 {s['p90_ms']:7.2f} ms"
                  f"  n={s['n']}{ratio}{target}")
        print(f"  query pages held {r['query']['changes_with_20_votes_per_page']} changes with "
              f"20 votes on average; detail: {r['detail']['shape']}")
        for name, p in r.get("sql_profile", {}).items():
            print(f"  SQL profile {name}: {p['statements_per_request']} statements, "
                  f"{p['sql_ms_per_request']} ms in SQL of {p['wall_median_ms']} ms in-process")
            for t in p["top_statements"]:
                print(f"    {t['per_request']:6.1f}x {t['ms_per_request']:7.2f} ms  "
                      f"{t['statement']}")
            print("   by caller:")
            for t in p["top_callers"]:
                print(f"    {t['per_request']:6.1f}x {t['ms_per_request']:7.2f} ms  "
                      f"{t['caller']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=100_000, help="changes to seed")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"),
                        default="both")
    parser.add_argument("--requests", type=int, default=100,
                        help="timed requests of each kind (after warm-up)")
    parser.add_argument("--pg-admin", default=PG_ADMIN, help="PostgreSQL maintenance URL")
    parser.add_argument("--sql-profile", action="store_true",
                        help="also time every SQL statement of a few in-process requests")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.changes < len(PROJECTS) * HEAVY_EVERY * 25:
        parser.error(f"--changes must be at least {len(PROJECTS) * HEAVY_EVERY * 25} "
                     "so every project has a full page of open changes")
    databases = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    results = [run_one(db, args.changes, args.requests, args.pg_admin, args.sql_profile)
               for db in databases]
    info = machine()
    print_report(results, info)
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "results": results}, indent=2)
                             + "\n")


if __name__ == "__main__":
    main()
