"""Benchmark: the cost of a review upload, and the open-change query at 10,000 changes.

(a) ``git push HEAD:refs/for/main`` of a one-commit change to a real keepgreen server,
    against a plain ``git push`` of a one-commit commit to a bare repository served by
    git's own ``git http-backend`` through a minimal CGI runner (HTTP Basic for pushes,
    no hooks). Pushes alternate keepgreen, baseline, keepgreen, ... after warm-ups.
(b) ``GET /a/changes/?q=status:open&n=25`` and ``GET /a/changes/?q=status:open`` (the
    default page) with ``--changes`` changes seeded straight into the store.

    python bench/push_and_query.py [--pushes N] [--changes N] [--database sqlite|postgresql]
                                   [--json out.json]

Everything runs in a temporary folder on free 127.0.0.1 ports and is removed afterwards;
``--database postgresql`` creates a fresh database and drops it at the end.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from keepgreen.git.http_backend import backend_command  # noqa: E402
from tests.support import KEEPGREEN, Server, free_port, gerrit_json, start_server  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PROJECT, USER, PASSWORD = "bench", "alice", "alice-" + uuid.uuid4().hex[:12]
WARMUPS = 3


# -- the baseline: git http-backend as CGI, nothing else ------------------------------
class PlainBackend(BaseHTTPRequestHandler):
    """Runs git-http-backend once per request, as a web server's CGI would."""

    protocol_version = "HTTP/1.1"  # keep-alive and TCP_NODELAY, as uvicorn has
    disable_nagle_algorithm = True
    root, authorization = Path(), ""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            body = b"".join(parts)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {"PATH": os.environ["PATH"], "GIT_CONFIG_NOSYSTEM": "1",
               "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_PROJECT_ROOT": str(self.root),
               "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path, "QUERY_STRING": query,
               "REQUEST_METHOD": self.command, "CONTENT_LENGTH": str(len(body)),
               "CONTENT_TYPE": self.headers.get("Content-Type", ""),
               "REMOTE_ADDR": self.client_address[0], "SERVER_PROTOCOL": "HTTP/1.1"}
        for header, var in (("Content-Encoding", "HTTP_CONTENT_ENCODING"),
                            ("Git-Protocol", "GIT_PROTOCOL")):
            if header in self.headers:
                env[var] = self.headers[header]
        if path.endswith("/git-receive-pack") or "service=git-receive-pack" in query:
            # http-backend enables receive-pack only for an authenticated REMOTE_USER.
            if self.headers.get("Authorization") != self.authorization:
                return self.reply(401, {"WWW-Authenticate": 'Basic realm="baseline"'}, b"")
            env["REMOTE_USER"] = USER
        out = subprocess.run(backend_command(), input=body, capture_output=True, env=env,
                             timeout=60).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status, headers = 200, {}
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            else:
                headers[key] = value.strip()
        self.reply(status, headers, payload)

    do_POST = do_GET

    def reply(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for key, value in {**headers, "Content-Length": str(len(payload))}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)


def start_baseline(root: Path) -> tuple[ThreadingHTTPServer, str]:
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    handler = type("Handler", (PlainBackend,), {"root": root,
                                                "authorization": f"Basic {token}"})
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


# -- a git client with its own HOME and stored credentials, the same for both sides ---
class Client:
    def __init__(self, home: Path, server_url: str) -> None:
        home.mkdir(parents=True)
        self.env = {"HOME": str(home), "PATH": os.environ["PATH"], "LC_ALL": "C",
                    "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}
        for var in ("AUTHOR", "COMMITTER"):
            self.env[f"GIT_{var}_NAME"], self.env[f"GIT_{var}_EMAIL"] = "Alice", "alice@example.org"
        self.git("config", "--global", "init.defaultBranch", "main")
        self.git("config", "--global", "credential.helper", "store")
        host = server_url.removeprefix("http://").rstrip("/")
        (home / ".git-credentials").write_text(f"http://{USER}:{PASSWORD}@{host}\n")

    def git(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(["git", *args], cwd=cwd, env=self.env, capture_output=True,
                              text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
        return proc

    def commit(self, repo: Path, i: int) -> None:
        (repo / f"file-{i}.txt").write_text(f"change {i}\n")
        self.git("add", ".", cwd=repo)
        self.git("commit", "-q", "-m", f"Change {i}", cwd=repo)

    def timed_push(self, repo: Path, refspec: str) -> float:
        start = time.perf_counter()
        proc = self.git("push", "origin", refspec, cwd=repo)
        elapsed = time.perf_counter() - start
        if refspec.endswith("refs/for/main") and "[NEW]" not in proc.stderr:
            raise RuntimeError(f"push did not create a change:\n{proc.stderr}")
        return elapsed


def stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered) * 1000, 1),
            "p90_ms": round(ordered[math.ceil(0.9 * len(ordered)) - 1] * 1000, 1),
            "n": len(ordered)}


def bench_pushes(server: Server, tmp: Path, pushes: int) -> dict[str, object]:
    bare = tmp / "baseline-repos"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare / "bench.git")],
                   check=True, capture_output=True)
    httpd, base_url = start_baseline(bare)
    try:
        kg, kg_repo = Client(tmp / "home-keepgreen", server.url), tmp / "kg-work"
        kg.git("clone", "-q", server.url + PROJECT, str(kg_repo))
        hook = kg_repo / ".git" / "hooks" / "commit-msg"
        hook.write_bytes(httpx.get(server.url + "tools/hooks/commit-msg").content)
        hook.chmod(0o755)
        plain, plain_repo = Client(tmp / "home-baseline", base_url), tmp / "plain-work"
        plain.git("init", "-q", str(plain_repo))
        plain.git("remote", "add", "origin", base_url + "bench.git", cwd=plain_repo)
        plain.commit(plain_repo, 0)
        plain.git("push", "-q", "origin", "HEAD:main", cwd=plain_repo)
        times: dict[str, list[float]] = {"keepgreen": [], "baseline": []}
        for i in range(1, WARMUPS + pushes + 1):
            kg.commit(kg_repo, i)
            plain.commit(plain_repo, i)
            a = kg.timed_push(kg_repo, "HEAD:refs/for/main")
            b = plain.timed_push(plain_repo, "HEAD:main")
            if i > WARMUPS:
                times["keepgreen"].append(a)
                times["baseline"].append(b)
    finally:
        httpd.shutdown()
        httpd.server_close()
    kg_s, base_s = stats(times["keepgreen"]), stats(times["baseline"])
    return {"keepgreen": kg_s, "baseline": base_s,
            "ratio_median": round(kg_s["median_ms"] / base_s["median_ms"], 2),
            "ratio_p90": round(kg_s["p90_ms"] / base_s["p90_ms"], 2)}


# -- clones ---------------------------------------------------------------------------
CLONE_PROJECT = "bench-clone"


def clone_source(tmp: Path, commits: int) -> tuple[Client, Path]:
    """A repository with keepgreen's own source tree and ``commits`` commits on top."""
    client, repo = Client(tmp / "home-clone", "http://127.0.0.1/"), tmp / "clone-source"
    client.git("init", "-q", str(repo))
    shutil.copytree(ROOT / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__"))
    client.git("add", ".", cwd=repo)
    client.git("commit", "-q", "-m", "A source tree", cwd=repo)
    for i in range(commits):
        client.commit(repo, i)
    return client, repo


def bench_clones(server: Server, tmp: Path, clones: int) -> dict[str, object]:
    """Anonymous ``git clone`` of the same history from keepgreen and from the baseline,
    alternating; the ratio is baseline time / keepgreen time (1.0: as fast)."""
    client, source = clone_source(tmp, 100)
    bare = tmp / "baseline-clone-repos"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main",
                    str(bare / f"{CLONE_PROJECT}.git")], check=True, capture_output=True)
    httpd, base_url = start_baseline(bare)
    try:
        server.create_project(CLONE_PROJECT, empty_commit=False)
        host = server.url.removeprefix("http://")
        admin = f"http://{server.admin}:{server.admin_password}@{host}a/{CLONE_PROJECT}"
        client.git("push", "-q", admin, "HEAD:refs/heads/main", cwd=source)
        pushing = base_url.replace("http://", f"http://{USER}:{PASSWORD}@")
        client.git("push", "-q", pushing + f"{CLONE_PROJECT}.git", "HEAD:refs/heads/main",
                   cwd=source)
        times: dict[str, list[float]] = {"keepgreen": [], "baseline": []}
        for i in range(WARMUPS + clones):
            for side, url in (("keepgreen", server.url + CLONE_PROJECT),
                              ("baseline", base_url + f"{CLONE_PROJECT}.git")):
                target = tmp / f"clone-{side}-{i}"
                start = time.perf_counter()
                client.git("clone", "-q", url, str(target))
                elapsed = time.perf_counter() - start
                shutil.rmtree(target)
                if i >= WARMUPS:
                    times[side].append(elapsed)
    finally:
        httpd.shutdown()
        httpd.server_close()
    kg_s, base_s = stats(times["keepgreen"]), stats(times["baseline"])
    return {"keepgreen": kg_s, "baseline": base_s,
            "speed_ratio_median": round(base_s["median_ms"] / kg_s["median_ms"], 2)}


# -- the open-change query ------------------------------------------------------------
def seed(database_url: str, count: int) -> None:
    """``count`` open changes with one patch set each, owned by USER, in PROJECT."""
    from keepgreen.domain.change import PatchSet, Person
    from keepgreen.store import accounts, projects
    from keepgreen.store import changes as store
    from keepgreen.store.clock import utcnow
    from keepgreen.store.db import Database

    db = Database(database_url)
    start = utcnow() - timedelta(days=60)
    try:
        with db.write() as conn:
            owner = accounts.account_by_username(conn, USER)
            assert owner is not None and projects.project_by_name(conn, PROJECT) is not None
            for i in range(count):
                when = start + timedelta(minutes=i)
                change_id = "I" + secrets.token_hex(20)
                number = store.add_change(
                    conn, project=PROJECT, branch="main", change_id=change_id,
                    owner_id=owner.id, subject=f"Seeded change {i}", topic=None, wip=False,
                    private=False, now=when)
                who = Person(owner.name, owner.email or "", when)
                store.add_patch_set(conn, PatchSet(
                    number, 1, secrets.token_hex(20), (secrets.token_hex(20),), owner.id, when,
                    f"Seeded change {i}\n\nChange-Id: {change_id}\n", who, who))
        if not db.is_sqlite:  # what autovacuum does within a minute of such a load
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    finally:
        db.dispose()


def restart(server: Server, database_url: str, changes: int) -> float:
    """Stop the server, seed the store, start it again on the same site; seeding seconds."""
    server.stop()
    started = time.perf_counter()
    seed(database_url, changes)
    seeding = time.perf_counter() - started
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPGREEN_")}
    log = open(server.log_path, "ab")  # noqa: SIM115 - owned by the process
    server.process = subprocess.Popen([*KEEPGREEN, "serve", str(server.site)], stdout=log,
                                      stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(server.url + "config/server/version", timeout=1).status_code == 200:
                return seeding
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not restart:\n{server.log()}")


def bench_queries(server: Server, samples: int) -> dict[str, object]:
    paths = {"n=25": "/a/changes/?q=status:open&n=25", "default": "/a/changes/?q=status:open"}
    times: dict[str, list[float]] = {k: [] for k in paths}
    sizes: dict[str, int] = {}
    with server.client(USER, PASSWORD) as client:
        for i in range(WARMUPS + samples):
            for name, path in paths.items():
                start = time.perf_counter()
                response = client.get(path)
                elapsed = time.perf_counter() - start
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code}\n{server.log()[-3000:]}")
                sizes[name] = len(gerrit_json(response))
                if i >= WARMUPS:
                    times[name].append(elapsed)
    return {name: {**stats(t), "changes_returned": sizes[name]} for name, t in times.items()}


# -- the run --------------------------------------------------------------------------
def machine() -> dict[str, str]:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                  if line.startswith("Model name")), "unknown")
    kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return {"nproc": str(os.cpu_count()), "cpu": model, "memory": f"{kib / 2**20:.1f} GiB",
            "git": git, "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pushes", type=int, default=30, help="timed pushes per side")
    parser.add_argument("--changes", type=int, default=10_000, help="changes to seed")
    parser.add_argument("--queries", type=int, default=30, help="timed requests per query")
    parser.add_argument("--clones", type=int, default=20, help="timed clones per side")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-admin", default=PG_ADMIN, help="PostgreSQL maintenance URL")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    import psycopg

    admin = args.pg_admin.replace("+psycopg", "")
    pg_name = "kg_bench_" + uuid.uuid4().hex[:12] if args.database == "postgresql" else None
    server = None
    with tempfile.TemporaryDirectory(prefix="kg-bench-") as tmpdir:
        tmp = Path(tmpdir)
        url = f"sqlite:///{tmp / 'site' / 'keepgreen.db'}"
        try:
            if pg_name:
                with psycopg.connect(admin, autocommit=True) as c:
                    c.execute(f'CREATE DATABASE "{pg_name}"')
                url = args.pg_admin.rsplit("/", 1)[0] + "/" + pg_name
            server = start_server(tmp / "site", url if pg_name else None)
            server.create_project(PROJECT)
            server.create_account(USER, PASSWORD)
            print(f"pushing {WARMUPS}+{args.pushes} times to each side ...", file=sys.stderr)
            pushes = bench_pushes(server, tmp, args.pushes)
            print(f"cloning {WARMUPS}+{args.clones} times from each side ...", file=sys.stderr)
            clones = bench_clones(server, tmp, args.clones)
            print(f"seeding {args.changes} changes ...", file=sys.stderr)
            seeding = restart(server, url, args.changes)
            queries = bench_queries(server, args.queries)
        finally:
            if server is not None:
                server.stop()
            if pg_name:
                with psycopg.connect(admin, autocommit=True) as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')

    report = {"database": args.database, "machine": machine(), "pushes": pushes,
              "clones": clones,
              "seeded_changes": args.changes, "seeding_s": round(seeding, 1), "queries": queries}
    print(f"\nkeepgreen on {args.database}: " + ", ".join(f"{k} {v}" for k, v in
                                                        report["machine"].items()))
    for side in ("keepgreen", "baseline"):
        s = pushes[side]
        print(f"  push {side:<9}  median {s['median_ms']:6.1f} ms  p90 {s['p90_ms']:6.1f} ms")
    print(f"  push ratio keepgreen/baseline: median {pushes['ratio_median']}, "
          f"p90 {pushes['ratio_p90']} (target <= 1.2)")
    for side in ("keepgreen", "baseline"):
        s = clones[side]
        print(f"  clone {side:<9} median {s['median_ms']:6.1f} ms  p90 {s['p90_ms']:6.1f} ms")
    print(f"  clone speed keepgreen vs baseline (baseline time / keepgreen time): median "
          f"{clones['speed_ratio_median']} (target >= 0.9)")
    for name, s in queries.items():
        print(f"  status:open {name:<7}  median {s['median_ms']:6.1f} ms  p90 {s['p90_ms']:6.1f}"
              f" ms  ({s['changes_returned']} changes returned; target median < 50 ms)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
