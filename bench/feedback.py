"""Benchmark: push to Verified +1 and approve to merged, for a job that runs `true`.

A real `keepgreen serve` (local nodes, the real sandbox and ansible-playbook) on a fresh
site. Two projects carry the same one-task job in check and gate; they differ only in what
runs around it:

- *keepgreen*: the job as a team writes it, on the seeded base job (the executor places the
  sources and collects the logs itself);
- *baseline*: the same job with, as its own pre-run and post-run, the playbooks the seeded
  base job had before the executor did that work (pack, copy, unpack the sources; pack,
  fetch, unpack the logs), so the baseline is measured on the same machine in the same run.

Each round pushes one change to each project (alternating), waits for CI's Verified +1,
approves it (two core +2, Workflow +1) and waits for it to merge; a warm-up round first.
Prints medians and the ratio keepgreen/baseline, and where the builds' time went (the
stages each build records).

    .venv/bin/python bench/feedback.py --rounds 5      # as root, as the tests run
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import GitUser, Server, gerrit_json, start_server  # noqa: E402

RUN = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Do nothing
      command: "true"
"""

# The seeded base job's playbooks before the executor placed sources and logs itself.
OLD_PRE = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Pack the prepared sources on the executor
      delegate_to: localhost
      run_once: true
      ansible.builtin.command:
        cmd: >-
          tar -czf {{ (zuul.executor.work_root ~ '/src.tar.gz') | quote }}
          -C {{ zuul.executor.src_root | quote }} .
    - name: Send the archive to the node
      ansible.builtin.copy:
        src: "{{ zuul.executor.work_root }}/src.tar.gz"
        dest: /tmp/zuul-src.tar.gz
        mode: "0600"
    - name: Unpack the sources
      ansible.builtin.shell:
        cmd: >-
          mkdir -p ~/src ~/zuul-output/logs &&
          tar -xzf /tmp/zuul-src.tar.gz -C ~/src && rm -f /tmp/zuul-src.tar.gz
"""
OLD_POST = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Pack the node's log files
      ansible.builtin.command:
        cmd: tar -czf /tmp/zuul-output-logs.tar.gz -C zuul-output/logs .
        chdir: ~
      register: packed
      failed_when: false
      changed_when: false
    - name: Bring them to the executor
      when: packed.rc == 0
      ansible.builtin.fetch:
        src: /tmp/zuul-output-logs.tar.gz
        dest: "{{ zuul.executor.work_root }}/node-logs/{{ inventory_hostname }}.tar.gz"
        flat: true
    - name: Unpack them into the build's logs
      when: packed.rc == 0
      delegate_to: localhost
      vars:
        target: "{{ zuul.executor.log_root }}/{{ inventory_hostname }}"
        archive: "{{ zuul.executor.work_root }}/node-logs/{{ inventory_hostname }}.tar.gz"
      ansible.builtin.shell:
        cmd: mkdir -p {{ target | quote }} && tar -xzf {{ archive | quote }} -C {{ target | quote }}
"""


def job_config(old: bool) -> str:
    extra = ("    pre-run: playbooks/old-pre.yaml\n    post-run: playbooks/old-post.yaml\n"
             if old else "")
    return ("- job:\n    name: quick\n    run: playbooks/run.yaml\n" + extra
            + "- project:\n    check:\n      jobs: [quick]\n    gate:\n      jobs: [quick]\n")


class Side:
    """One project, its owner's clone, and the two core reviewers."""

    def __init__(self, server: Server, name: str, old: bool, owner: GitUser,
                 cores: tuple[GitUser, GitUser], folder: Path) -> None:
        self.server, self.name, self.old = server, name, old
        self.owner, self.cores = owner, cores
        with server.admin_client() as admin:
            r = admin.put(f"/a/projects/{name.replace('/', '%2F')}",
                          json={"create_empty_commit": True})
            assert r.status_code == 201, r.text
            for user in cores:
                group = f"{name}-core".replace("/", "%2F")
                r = admin.put(f"/a/groups/{group}/members/{user.username}")
                assert r.status_code in (200, 201), r.text
        self.repo = owner.clone(name, folder, prefix="a/")
        files = {".zuul.yaml": job_config(old), "playbooks/run.yaml": RUN}
        if old:
            files.update({"playbooks/old-pre.yaml": OLD_PRE, "playbooks/old-post.yaml": OLD_POST})
        for path, text in files.items():
            (self.repo / path).parent.mkdir(parents=True, exist_ok=True)
            (self.repo / path).write_text(text)
        self.round = 0

    def push(self) -> int:
        self.round += 1
        (self.repo / "round.txt").write_text(f"{self.round}\n")
        self.owner.git("add", "-A", cwd=self.repo)
        subject = f"Round {self.round} of {self.name}"
        self.owner.git("commit", "-q", "-m", subject, cwd=self.repo)
        pushed = self.owner.push(self.repo)
        assert pushed.returncode == 0, pushed.stderr
        with self.server.admin_client() as c:
            found = gerrit_json(c.get("/a/changes/", params={"q": f"project:{self.name}"}))
        return next(int(ch["_number"]) for ch in found if ch["subject"] == subject)

    def approve(self, number: int) -> None:
        for user, labels in ((self.cores[0], {"Code-Review": 2}),
                             (self.cores[1], {"Code-Review": 2, "Workflow": 1})):
            with self.server.client(user.username, user.password) as c:
                r = c.post(f"/a/changes/{number}/revisions/current/review",
                           json={"labels": labels})
                assert r.status_code == 200, r.text

    def after_merge(self) -> None:
        """Follow the branch, so the next change is on top of what merged."""
        self.owner.git("fetch", "-q", "origin", "main", cwd=self.repo)
        self.owner.git("reset", "-q", "--hard", "FETCH_HEAD", cwd=self.repo)


def wait(what: str, probe: Any, limit: float = 300.0) -> float:
    started = time.monotonic()
    while not probe():
        if time.monotonic() - started > limit:
            raise RuntimeError(f"gave up waiting for {what}")
        time.sleep(0.05)
    return time.monotonic()


def detail(server: Server, number: int) -> dict[str, Any]:
    with server.admin_client() as c:
        r = c.get(f"/a/changes/{number}/detail")
    return dict(gerrit_json(r))


def verified(server: Server, number: int) -> bool:
    votes = detail(server, number).get("labels", {}).get("Verified", {}).get("all", [])
    return any(v.get("username") == "keepgreen-ci" and v.get("value") == 1 for v in votes)


def merged(server: Server, number: int) -> bool:
    return detail(server, number).get("status") == "MERGED"


def stages(server: Server, number: int) -> dict[str, dict[str, float]]:
    """Per pipeline, the seconds of each stage of the change's build."""
    with server.admin_client() as c:
        builds = c.get("/api/builds", params={"change": number}).json()
    found: dict[str, dict[str, float]] = {}
    for build in builds:
        found[build["pipeline"]] = {s["name"]: s["seconds"] for s in build["stages"]}
        found[build["pipeline"]]["build"] = build["duration"] or 0.0
    return found


def one_round(side: Side) -> dict[str, Any]:
    begun = time.monotonic()
    number = side.push()
    checked = wait("Verified +1", lambda: verified(side.server, number))
    approving = time.monotonic()
    side.approve(number)
    done = wait("the merge", lambda: merged(side.server, number))
    side.after_merge()
    return {"push_to_verified": checked - begun, "approve_to_merged": done - approving,
            "stages": stages(side.server, number)}


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per side")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kg-feedback-") as tmp:
        root = Path(tmp)
        server = start_server(root / "site")
        try:
            tag = uuid.uuid4().hex[:6]
            users = []
            for name in ("owner", "core1", "core2"):
                username = f"{name}{tag}"
                users.append(GitUser(root / f"home-{name}", server, username,
                                     server.create_account(username)))
            owner, core1, core2 = users
            sides = [Side(server, f"bench/fast{tag}", False, owner, (core1, core2),
                          root / "fast"),
                     Side(server, f"bench/old{tag}", True, owner, (core1, core2),
                          root / "old")]
            for side in sides:  # warm-up: first build of each project, caches filled
                one_round(side)
            results: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for _ in range(args.rounds):
                for side in sides:
                    results["baseline" if side.old else "keepgreen"].append(one_round(side))
        finally:
            server.stop()
    report(results, args)


def report(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
          f"{git}, load {load}, {args.rounds} rounds per side")
    summary: dict[str, Any] = {}
    for figure in ("push_to_verified", "approve_to_merged"):
        ours = median([r[figure] for r in results["keepgreen"]])
        base = median([r[figure] for r in results["baseline"]])
        summary[figure] = {"keepgreen": ours, "baseline": base, "ratio": ours / base}
        print(f"{figure:>18}: keepgreen {ours:6.2f} s   baseline {base:6.2f} s   "
              f"ratio {ours / base:.2f}")
    for side, rounds in results.items():
        for pipeline in ("check", "gate"):
            names: dict[str, list[float]] = defaultdict(list)
            for r in rounds:
                for name, seconds in r["stages"].get(pipeline, {}).items():
                    names[name].append(seconds)
            shown = ", ".join(f"{n} {median(v):.2f}" for n, v in names.items())
            summary.setdefault("stages", {}).setdefault(side, {})[pipeline] = {
                n: median(v) for n, v in names.items()}
            print(f"  {side} {pipeline} stages (median s): {shown}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
