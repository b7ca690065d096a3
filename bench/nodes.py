"""Benchmark: local nodes, create-to-ready and destroy, for 1, 4 and 8 nodes at once.

Create-to-ready runs from the call to ``LocalProvider.create`` until ``ssh root@node true``
succeeds from the executor namespace with strict host-key checking (the node's ``ready_at``).
Destroy is ``LocalProvider.delete`` until no process, network namespace or state folder is
left. For N at once, N threads start together; each node's own time is recorded, plus the
wall time of the whole batch.

    sudo python bench/nodes.py [--rounds 5] [--sizes 1,4,8] [--image DIR] [--json out.json]
                               [--disk-limit 1GiB]

With ``--disk-limit`` every round runs twice, interleaved: once on a provider without limits
(the baseline) and once on one whose nodes have a disk of that size, and each size prints
both rows and the ratio of their create-to-ready medians.

Nodes live in a temporary state folder (host-derived image unless ``--image``), removed
afterwards. Needs root, as local nodes do.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from keepgreen.domain.node import Node  # noqa: E402
from keepgreen.nodes.local import LocalProvider  # noqa: E402
from keepgreen.nodes.siteconfig import parse_size  # noqa: E402

T = TypeVar("T")


def _together(count: int, work: Callable[[int], T]) -> tuple[list[T], float]:
    """Run ``work(i)`` for i < count on ``count`` threads released at once; (results, wall)."""
    gate = threading.Barrier(count + 1)

    def run(i: int) -> T:
        gate.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(run, i) for i in range(count)]
        gate.wait()
        started = time.perf_counter()
        results = [f.result() for f in futures]
        return results, time.perf_counter() - started


def _round(provider: LocalProvider, size: int, tag: str) -> dict[str, object]:
    nodes, create_wall = _together(size, lambda i: provider.create("local", f"b{tag}-{i}"))

    def destroy(i: int) -> float:
        started = time.perf_counter()
        provider.delete(nodes[i])
        return time.perf_counter() - started

    destroys, destroy_wall = _together(size, destroy)
    return {"ready": [_boot(n) for n in nodes], "create_wall": create_wall,
            "destroy": destroys, "destroy_wall": destroy_wall}


def _boot(node: Node) -> float:
    assert node.boot_seconds is not None
    return node.boot_seconds


def _row(runs: list[dict[str, object]]) -> dict[str, float]:
    ready = [t for run in runs for t in run["ready"]]  # type: ignore[attr-defined]
    destroy = [t for run in runs for t in run["destroy"]]  # type: ignore[attr-defined]
    return {
        "ready_median": statistics.median(ready), "ready_max": max(ready),
        "create_wall_median": statistics.median(
            float(run["create_wall"]) for run in runs),  # type: ignore[arg-type]
        "destroy_median": statistics.median(destroy),
        "destroy_wall_median": statistics.median(
            float(run["destroy_wall"]) for run in runs),  # type: ignore[arg-type]
    }


def _print(name: str, row: dict[str, float]) -> None:
    print(f"{name:>10} {row['ready_median']:>9.3f}s {row['ready_max']:>9.3f}s "
          f"{row['create_wall_median']:>7.3f}s {row['destroy_median']:>11.3f}s "
          f"{row['destroy_wall_median']:>7.3f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="1,4,8")
    parser.add_argument("--image", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--disk-limit", default=None,
                        help="also measure nodes with a disk of this size, e.g. 1GiB")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("local nodes need root: run this benchmark as root")
    sizes = [int(s) for s in args.sizes.split(",")]
    disk_bytes = parse_size(args.disk_limit) if args.disk_limit else 0
    if disk_bytes is None:
        sys.exit(f"--disk-limit must be a size such as 1GiB, not {args.disk_limit!r}")
    state = Path(tempfile.mkdtemp(prefix="kg-bench-nodes-"))
    results: dict[str, dict[str, float]] = {}
    providers = {"no limit": LocalProvider(state / "plain", args.image)}
    if disk_bytes:
        providers[f"disk {args.disk_limit}"] = LocalProvider(state / "disk", args.image,
                                                             disk_bytes=disk_bytes)
    try:
        for provider in providers.values():
            _round(provider, 1, "warm")  # builds the image skeleton and the client key once
        print(f"{'at once':>10} {'ready med':>10} {'ready max':>10} {'batch':>8} "
              f"{'destroy med':>12} {'batch':>8}   ({args.rounds} rounds, {os.cpu_count()} CPUs)")
        for size in sizes:
            runs: dict[str, list[dict[str, object]]] = {name: [] for name in providers}
            for r in range(args.rounds):  # interleaved, so both see the same machine load
                for name, provider in providers.items():
                    runs[name].append(_round(provider, size, f"{size}x{r}"))
            print(f"{size:>10}")
            rows = {name: _row(runs[name]) for name in providers}
            for name, row in rows.items():
                _print(name, row)
                results[str(size) if name == "no limit" else f"{size} {name}"] = row
            if disk_bytes:
                (base, limited) = rows.values()
                ratio = limited["ready_median"] / base["ready_median"]
                results[f"{size} ratio"] = {"ready_median": ratio}
                print(f"{'ratio':>10} {ratio:>9.2f}x")
    finally:
        for provider in providers.values():
            leftovers = provider.list_resources()
            provider.sweep(known_ids=(),
                           cleanup_ids={r.node_id for r in leftovers if r.node_id})
        shutil.rmtree(state, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
