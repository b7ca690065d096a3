"""Benchmark: the issue's simulator input, speculative gate against a serial gate.

    .venv/bin/python bench/simulate.py [--seed N] [--window N] [--seeds N] [--no-early-failure]

Prints ``keepgreen simulate``'s table for 200 changes, 30-minute jobs, 10% failure and 40 nodes,
and the wall-clock time the simulation itself took. ``--seeds N`` also runs seeds 0..N-1 and
prints the spread of the speedup (one seed is one synthetic day; days differ a lot).
``--no-early-failure`` reports a failing build only when its job ends (the older model).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from keepgreen.simulator import Settings, simulate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--window", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=0)
    parser.add_argument("--no-early-failure", dest="early_failure", action="store_false")
    options = parser.parse_args()
    settings = Settings(changes=200, job_minutes=30, fail_rate=0.1, nodes=40,
                        seed=options.seed, window=options.window,
                        early_failure=options.early_failure)
    began = time.perf_counter()
    report = simulate(settings)
    elapsed = time.perf_counter() - began
    print(report.table())
    print(f"simulation wall-clock: {elapsed:.2f} s")
    if options.seeds:
        began = time.perf_counter()
        speedups = [simulate(Settings(**{**settings.__dict__, "seed": seed})).speedup
                    for seed in range(options.seeds)]
        elapsed = time.perf_counter() - began
        print(f"speedup over seeds 0..{options.seeds - 1}: median "
              f"{statistics.median(speedups):.1f}x, min {min(speedups):.1f}x, max "
              f"{max(speedups):.1f}x ({' '.join(f'{s:.1f}' for s in speedups)}); "
              f"{elapsed:.1f} s")


if __name__ == "__main__":
    main()
