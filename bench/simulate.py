"""Benchmark: the issue's simulator input, speculative gate against a serial gate.

    .venv/bin/python bench/simulate.py [--seeds N]

Prints ``keepgreen simulate``'s table for 200 changes, 30-minute jobs, 10% bad changes and 40
nodes on seed 0 with the seed's gate settings, then one line per variant over seeds 0..N-1
(default 10; one seed is one synthetic day, and days differ a lot): the median speedup in
merges per hour over the serial gate (which has no flaky builds), the median ratio of
node-hours, and the share of good changes the gate ejected. Variants: Zuul's default window
floor (3) against the seed's (15); no early failure; 5% flaky builds with and without the
retry of a gate job that passed in check; the retry started at a first try's early failure
(as the scheduler does) or only after that try's job ended; the retry with early failures
held back.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from keepgreen.simulator import Settings, simulate  # noqa: E402

BASE = Settings(changes=200, job_minutes=30, fail_rate=0.1, nodes=40, seed=0, window=20)
VARIANTS = (
    ("seed's gate (window 20, floor 15), retry on", {}),
    ("seed's gate, retry only after the first try's end", {"retry_early": False}),
    ("Zuul's default floor 3, retry on", {"window_floor": 3}),
    ("Zuul's default floor 3, retry off", {"window_floor": 3, "retry": False}),
    ("floor 15, no early failure", {"early_failure": False}),
    ("floor 15, 5% flaky builds, retry off", {"flake_rate": 0.05, "retry": False}),
    ("floor 15, 5% flaky builds, retry on", {"flake_rate": 0.05}),
    ("floor 15, 5% flaky builds, retry after the first try's end", {"flake_rate": 0.05,
                                                                    "retry_early": False}),
    ("floor 15, 5% flaky, retry on, early failure held", {"flake_rate": 0.05,
                                                          "hold_early": True}),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    options = parser.parse_args()
    began = time.perf_counter()
    print(simulate(BASE).table())
    print(f"simulation wall-clock: {time.perf_counter() - began:.2f} s\n")
    print(f"over seeds 0..{options.seeds - 1}: median speedup (min), median node-hours "
          "ratio, good changes ejected")
    for label, changes in VARIANTS:
        reports = [simulate(replace(BASE, seed=seed, **changes))
                   for seed in range(options.seeds)]
        speedups = [r.speedup for r in reports]
        hours = [r.speculative.node_hours / r.serial.node_hours for r in reports]
        good = sum(r.serial.merged for r in reports)
        ejected = sum(r.speculative.good_ejected for r in reports)
        print(f"  {label}: {statistics.median(speedups):.1f}x ({min(speedups):.1f}x), "
              f"{statistics.median(hours):.2f}x node-hours, {ejected}/{good} good ejected "
              f"({100 * ejected / good:.2f}%)")


if __name__ == "__main__":
    main()
