"""Dry runs of deploy jobs: which deploy jobs get one, what the dry-run job keeps of the job,
and what the executor makes of their secrets and diffs."""

from __future__ import annotations

import json
from pathlib import Path

from keepgreen.executor.dry_run import LIMIT, placeholders, summary
from keepgreen.executor.model import SecretBinding
from keepgreen.jobconf.frozen import FrozenJob, JobGraph, Playbook
from keepgreen.jobconf.model import Encrypted, Node, Nodeset, SourceContext
from keepgreen.services.gating.dry_runs import dry_runs

SOURCE = SourceContext("org/system-config", "main", ".zuul.yaml", 1)


def deploy_job(name: str, *labels: str) -> FrozenJob:
    return FrozenJob(name, SOURCE,
                     nodeset=Nodeset(nodes=tuple(Node(f"n{i}", label)
                                                 for i, label in enumerate(labels))),
                     pre_run=(Playbook("pre.yaml", "config", "main", True),),
                     run=(Playbook("site.yaml", "org/system-config", "main"),),
                     post_run=(Playbook("post.yaml", "config", "main", True),),
                     semaphores=("prod",), voting=True)


def test_only_jobs_whose_every_node_allows_dry_runs_get_one() -> None:
    graph = JobGraph("org/system-config", "main", "deploy", (
        deploy_job("deploy-web", "web"), deploy_job("deploy-all", "web", "db"),
        deploy_job("deploy-nothing")))
    (job,) = dry_runs(graph, frozenset({"web"}))
    assert job.name == "deploy-web-dry-run" and job.dry_run
    # Only the run playbooks, never voting, holding no semaphore, on read-only nodes.
    assert job.pre_run == () and job.post_run == () and job.run == graph.jobs[0].run
    assert job.voting is False and job.semaphores == () and job.attempts == 1
    assert job.mask_secrets  # on review; the drift check of merged config opens them
    assert not dry_runs(graph, frozenset({"web"}), mask_secrets=False)[0].mask_secrets
    assert [n.label for n in job.nodeset.nodes] == ["web:dry-run"]
    assert [j.name for j in dry_runs(graph, frozenset({"web", "db"}))] == [
        "deploy-web-dry-run", "deploy-all-dry-run"]


def test_secrets_of_a_dry_run_are_the_mask() -> None:
    binding = SecretBinding("creds", "db", "org/system-config", {
        "user": "deploy", "password": Encrypted(("QUJD",)), "more": [Encrypted(("QUJD",))]})
    assert placeholders([binding]) == {
        "creds": {"user": "deploy", "password": "*****", "more": ["*****"]}}


def test_the_summary_lists_changed_tasks_per_host_with_their_diff(tmp_path: Path) -> None:
    events = tmp_path / "events-run-0.jsonl"
    records = [
        {"event": "failed", "host": "web1", "task": "broken", "msg": "no"},
        {"event": "changed", "host": "web1", "task": "motd",
         "diff": "--- a (now)\n+++ a (after the change)\n-old\n+new"},
        {"event": "changed", "host": "web2", "task": "restart", "diff": ""},
    ]
    events.write_text("\n".join(json.dumps(r) for r in records) + "\nnot json\n")
    assert summary([events, tmp_path / "missing.jsonl"]) == (
        "web1: motd\n    --- a (now)\n    +++ a (after the change)\n    -old\n    +new\n"
        "web2: restart (changed, no diff)")
    assert summary([tmp_path / "missing.jsonl"]) == ""


def test_a_huge_diff_is_cut_with_a_pointer_to_the_log(tmp_path: Path) -> None:
    events = tmp_path / "events-run-0.jsonl"
    events.write_text(json.dumps({"event": "changed", "host": "h", "task": "t",
                                  "diff": "+x\n" * LIMIT}) + "\n")
    text = summary([events])
    assert len(text) < LIMIT + 100
    assert text.endswith("(cut here; the build log has the whole diff)")
