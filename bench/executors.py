"""Builds per minute with 1, 2 and 4 executor processes on one PostgreSQL database.

The benchmark plays the scheduler: it writes ``--builds`` build requests at once into a
fresh database (``store.build_queue``, what ``BuildRunner.start`` writes), then takes the
results as they come (``BuildRunner.collect``'s reads and deletes) until every build
reported. The executors are separate processes, each an ``ExecutorWorker`` as
``keepgreen executor`` runs it, woken by LISTEN/NOTIFY, claiming with FOR UPDATE SKIP
LOCKED. Two kinds of build:

- ``noop``: the real ``Executor`` running a job without nodes or playbooks (its build
  folder, its verdict, its result: about 10 ms of work), so what is measured is the
  hand-out itself: claims, leases, results, wake-ups. Where this stops growing with more
  executors, the database (or this machine's CPUs) is the limit.
- ``sleep``: a build that takes ``--seconds`` without using the CPU, as a build waiting on
  its node does; with capacity C per executor the ideal is C builds per ``--seconds`` per
  executor, so builds/min should grow with the executors.

Run: ``.venv/bin/python bench/executors.py`` (about two minutes; ``--json out.json`` too).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from keepgreen.executor import model as ex  # noqa: E402
from keepgreen.executor import wire  # noqa: E402
from keepgreen.store import build_queue  # noqa: E402
from keepgreen.store.db import Database  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class SleepingExecutor:
    """A build that takes ``seconds`` of wall time and no CPU."""

    def __init__(self, seconds: float, root: Path) -> None:
        self.seconds = seconds
        self.settings = SimpleNamespace(builds_root=root)
        self.nodes = None

    def run_build(self, request: ex.BuildRequest, on_line: Any = None, *,
                  on_early_failure: Any = None) -> ex.BuildResult:
        started = time.time()
        time.sleep(self.seconds)
        return ex.BuildResult(request.uuid, request.job.name, ex.Result.SUCCESS, "slept",
                              started, time.time())

    def cancel(self, uuid: str, reason: str) -> bool:
        return False

    def abort(self) -> None:
        pass


def worker_main(args: argparse.Namespace) -> None:
    """One executor process: run until killed."""
    from keepgreen.executor.runner import Executor, ExecutorSettings
    from keepgreen.services.gating.executor_worker import ExecutorWorker
    from keepgreen.store.db import BUILD_REQUESTS
    from keepgreen.store.listener import Listener

    db = Database(args.database)
    root = Path(tempfile.mkdtemp(prefix="bench-exec-"))

    def make() -> Any:
        if args.kind == "noop":
            return Executor(ExecutorSettings(builds_root=root))
        return SleepingExecutor(args.seconds, root)

    worker = ExecutorWorker(db, make, name=args.name, capacity=args.capacity, lease=30)
    db.subscribe(BUILD_REQUESTS, worker.wake)
    listener = Listener(db)
    listener.start()
    worker.start()
    print("ready", flush=True)
    try:
        worker.wait()
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()
        listener.stop()


def _fresh_database(admin: str) -> tuple[str, str]:
    import psycopg

    name = f"bench_exec_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.rsplit("/", 1)[0] + f"/{name}", name


def _drop_database(admin: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _request(build_uuid: str) -> dict[str, Any]:
    return wire.dump_request(ex.BuildRequest(
        uuid=build_uuid, job=ex.JobSpec(name="noop", run=()),
        item=ex.Item(ex.Project("bench/app"))))


def one_run(url: str, kind: str, executors: int, capacity: int, builds: int,
            seconds: float) -> dict[str, Any]:
    db = Database(url)
    with db.write() as conn:
        build_queue.clear(conn)
    processes = []
    for n in range(executors):
        processes.append(subprocess.Popen(
            [sys.executable, __file__, "--worker", "--database", url, "--name", f"e{n}",
             "--capacity", str(capacity), "--kind", kind, "--seconds", str(seconds)],
            stdout=subprocess.PIPE, text=True))
    for process in processes:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    started = time.monotonic()
    with db.write() as conn:
        for n in range(builds):
            build_uuid = uuid.uuid4().hex
            build_queue.add(conn, uuid=build_uuid, build=n, buildset=1, job="noop",
                            pipeline="check", priority=200, attempt=1,
                            request=_request(build_uuid), now=time.time())
    done = 0
    owners: dict[str, int] = {}
    while done < builds:
        with db.read() as conn:
            finished, _ = build_queue.news(conn)
        if finished:
            with db.write() as conn:
                for found in finished:
                    build_queue.remove(conn, found.uuid)
            for found in finished:
                assert found.result is not None and found.result["result"] == "SUCCESS"
                owners[str(found.owner)] = owners.get(str(found.owner), 0) + 1
            done += len(finished)
        else:
            time.sleep(0.02)
    elapsed = time.monotonic() - started
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(30)
    db.dispose()
    return {"kind": kind, "executors": executors, "capacity": capacity, "builds": builds,
            "seconds": round(elapsed, 2), "builds_per_min": round(builds / elapsed * 60, 1),
            "spread": dict(sorted(owners.items()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database", default="")
    parser.add_argument("--name", default="e0")
    parser.add_argument("--capacity", type=int, default=4)
    parser.add_argument("--kind", default="noop", choices=("noop", "sleep"))
    parser.add_argument("--seconds", type=float, default=1.0,
                        help="how long a sleep build takes (default 1)")
    parser.add_argument("--builds", type=int, default=200,
                        help="builds per run for noop (default 200; sleep runs use 32 "
                             "per executor)")
    parser.add_argument("--counts", default="1,2,4", help="executor counts (default 1,2,4)")
    parser.add_argument("--pg-admin", default=PG_ADMIN)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    if args.worker:
        worker_main(args)
        return
    url, name = _fresh_database(args.pg_admin)
    try:
        db = Database(url)
        db.migrate()
        db.dispose()
        counts = [int(c) for c in args.counts.split(",")]
        results = []
        for kind in ("sleep", "noop"):
            for count in counts:
                builds = 8 * args.capacity * count if kind == "sleep" else args.builds
                result = one_run(url, kind, count, args.capacity, builds, args.seconds)
                results.append(result)
                print(json.dumps(result), flush=True)
        print(f"\nmachine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs; "
              f"{time.strftime('%a %b %d %Y %H:%M UTC', time.gmtime())}")
        for kind in ("sleep", "noop"):
            rows = [r for r in results if r["kind"] == kind]
            base = rows[0]["builds_per_min"]
            ideal = ("ideal " + ", ".join(
                f"{60 / args.seconds * args.capacity * r['executors']:.0f}" for r in rows)
                     if kind == "sleep" else "")
            print(f"{kind:5}: " + "  ".join(
                f"{r['executors']} exec {r['builds_per_min']:.0f}/min "
                f"(x{r['builds_per_min'] / base:.2f})" for r in rows) + f"  {ideal}")
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
    finally:
        _drop_database(args.pg_admin, name)


if __name__ == "__main__":
    main()
