"""Benchmark: executor overhead for a no-op job, from "build started" to "result recorded".

The job is one run playbook that runs ``true`` on one local node. The node is booted
first and reused by every round (node boot is the node pool's number, see ``nodes.py``);
each round is a whole attempt: build folder, source copy, inventory and ``zuul`` vars,
relay, sandboxed ``ansible-playbook``, verdict, ``BuildResult``. Two variants: the
playbook as most jobs write it (facts gathered, as Zuul's first playbook does), and with
``gather_facts: false``. Both include what the executor does around every job: placing the
sources on the node and collecting its logs (one ssh command each); ``feedback.py``
measures the seeded base job's former playbooks for those against them.

    sudo .venv/bin/python bench/executor.py [--rounds 10] [--json out.json]

Printed per variant: median and max of the whole attempt, the median of the
``ansible-playbook`` process alone (sandbox start, Ansible start-up, ssh, the task), and
the rest (the executor's own work). Needs root, bubblewrap and ansible-core.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from keepgreen.domain.node import Node  # noqa: E402
from keepgreen.executor.model import (  # noqa: E402
    BuildRequest,
    BuildResult,
    Item,
    JobSpec,
    NodeSpec,
    Playbook,
    Project,
    Result,
)
from keepgreen.executor.runner import Executor, ExecutorSettings  # noqa: E402
from keepgreen.nodes.local import LocalProvider  # noqa: E402

PLAYBOOKS = {
    "facts gathered": "- hosts: all\n  tasks:\n    - command: 'true'\n",
    "gather_facts: false": "- hosts: all\n  gather_facts: false\n  tasks:\n"
                           "    - command: 'true'\n",
}
PROCESS_TIME = re.compile(r"^\[executor\] run playbook .*: ok \((\d+\.\d+) s\)$")


def one_round(executor: Executor, job: JobSpec, project: Project,
              node: Node) -> tuple[float, float]:
    """(whole attempt, ansible-playbook process) in seconds, for one no-op build."""
    process: list[float] = []

    def on_line(line: str) -> None:
        match = PROCESS_TIME.match(line)
        if match:
            process.append(float(match.group(1)))

    request = BuildRequest(uuid=uuid.uuid4().hex, job=job, item=Item(project))
    started = time.perf_counter()  # build started
    outcome = executor.run_attempt(request, {"node": node}, on_line)
    assert outcome.verdict.result is not None
    result = BuildResult(uuid=request.uuid, job=job.name, result=outcome.verdict.result,
                         reason=outcome.verdict.reason, started=outcome.started,
                         ended=outcome.ended, log_dir=outcome.jobdir / "work" / "logs")
    elapsed = time.perf_counter() - started  # result recorded
    if result.result is not Result.SUCCESS:
        sys.exit(f"the no-op build did not succeed: {result.reason}")
    shutil.rmtree(outcome.jobdir, ignore_errors=True)
    return elapsed, process[0] if process else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("builds need root (local nodes, the bubblewrap sandbox): run as root")
    work = Path(tempfile.mkdtemp(prefix="kg-bench-exec-"))
    provider = LocalProvider(work / "nodes")
    results: dict[str, dict[str, float]] = {}
    try:
        node = provider.create("local", "bench-exec")
        source = work / "project"
        (source / "playbooks").mkdir(parents=True)
        (source / "README").write_text("no-op\n")
        project = Project(name="bench/noop", source=source)
        executor = Executor(ExecutorSettings(builds_root=work / "builds"), provider)
        print(f"{'variant':<22} {'median':>8} {'max':>8} {'ansible':>8} {'executor':>9}"
              f"   ({args.rounds} rounds after 1 warm-up, {os.cpu_count()} CPUs)")
        variants: list[tuple[str, JobSpec]] = []
        for name, text in PLAYBOOKS.items():
            slug = "facts" if "gathered" in name else "nofacts"
            (source / "playbooks" / f"{slug}.yaml").write_text(text)
            job = JobSpec(name=f"noop-{slug}", nodes=(NodeSpec("node", "local"),),
                          run=(Playbook(source, f"playbooks/{slug}.yaml"),), attempts=1)
            variants.append((name, job))
        for name, job in variants:
            one_round(executor, job, project, node)  # warm-up: page cache, ssh, Python
            rounds = [one_round(executor, job, project, node) for _ in range(args.rounds)]
            totals = [total for total, _ in rounds]
            ansible = statistics.median(proc for _, proc in rounds)
            row = {"median": statistics.median(totals), "max": max(totals),
                   "ansible_playbook_median": ansible,
                   "executor_median": statistics.median(t - p for t, p in rounds)}
            results[name] = row
            print(f"{name:<22} {row['median']:>7.2f}s {row['max']:>7.2f}s {ansible:>7.2f}s "
                  f"{row['executor_median']:>8.2f}s")
    finally:
        leftovers = provider.list_resources()
        provider.sweep(known_ids=(), cleanup_ids={r.node_id for r in leftovers if r.node_id})
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
