"""A report's job lines say why a job that could not run ended so, and only then."""

from __future__ import annotations

from keepgreen.gating.actions import BuildResult
from keepgreen.gating.report import job_lines


def test_a_node_failure_line_carries_its_reason_once() -> None:
    lines = job_lines((
        BuildResult("unit", "SUCCESS", True, 12.0),
        BuildResult("lint", "NODE_FAILURE", True, 0.0,
                    "NODE_FAILURE: provider local cannot make nodes on this machine: "
                    "ssh-keygen is missing"),
        BuildResult("docs", "FAILURE", False, 61.0),
    ))
    assert lines.splitlines() == [
        "- unit SUCCESS in 12s",
        "- lint NODE_FAILURE in 0s: provider local cannot make nodes on this machine: "
        "ssh-keygen is missing",
        "- docs FAILURE in 1m 01s (non-voting)",
    ]
