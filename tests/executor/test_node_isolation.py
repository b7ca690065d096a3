"""A hostile playbook, run by the real executor on a real local node, cannot touch the host.

The job's tasks try the escapes as the node's root and with ``become`` (sudo), and record
what happened; the job itself must succeed, so the attempts run to the end and the test
reads their outcome from the build's output.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from keepgreen.executor.cli_entry import run_job
from keepgreen.executor.model import Result
from keepgreen.nodes.local import LocalProvider
from tests.executor.conftest import Lines, Repo

pytestmark = pytest.mark.timeout(120)

# Each line: "ESCAPE <name> <rc>"; every attempt writes back a value the host already has or
# only reads, so a success would change nothing.
ATTEMPTS = r"""
v=$(cat /proc/sys/kernel/core_pattern)
printf '%s\n' "$v" > /proc/sys/kernel/core_pattern 2>/dev/null; echo "ESCAPE core_pattern $?"
mkdir -p /tmp/m; mount -t proc proc /tmp/m 2>/dev/null; echo "ESCAPE mount_proc $?"
mknod /root/disk b {major} {minor} 2>/dev/null; echo "ESCAPE mknod $?"
unshare -U true 2>/dev/null; echo "ESCAPE userns $?"
cat {secret} 2>/dev/null; echo "ESCAPE read_host_file $?"
"""


def test_a_hostile_playbook_is_refused_with_and_without_become(
        provider: LocalProvider, repo: Repo, tmp_path: Path) -> None:
    secret = tmp_path / "host-secret"
    secret.write_text(f"host-only-{uuid.uuid4().hex}\n")
    device = os.stat("/").st_dev
    script = ATTEMPTS.format(major=os.major(device), minor=os.minor(device), secret=secret)
    repo.file("escape.sh", script)
    repo.playbook("run", """
        - hosts: all
          tasks:
            - name: Try the escapes as root
              script: "{{ zuul.executor.work_root }}/{{ zuul.project.src_dir }}/escape.sh"
              register: as_root
            - name: Try them again through sudo
              script: "{{ zuul.executor.work_root }}/{{ zuul.project.src_dir }}/escape.sh"
              become: true
              register: as_sudo
            - debug: {msg: "{{ as_root.stdout_lines + as_sudo.stdout_lines }}"}
        """)
    repo.file("zuul.yaml", """
        - job:
            name: escape
            run: playbooks/run.yaml
            nodeset: [{name: node, label: local}]
            attempts: 1
        """)
    live = Lines()

    result = run_job(repo.root, "escape", repo.root, provider, live,
                     builds_root=tmp_path / "builds", project_name="org/demo")

    assert result.result is Result.SUCCESS, result.reason
    outcomes = [line.split("ESCAPE ", 1)[1].strip(' ",') for line in live.text().splitlines()
                if "ESCAPE " in line and '"' in line]
    assert len(outcomes) == 10, live.text()  # five attempts, twice
    for outcome in outcomes:
        name, value = outcome.split()
        assert value != "0", f"{name} succeeded in the node"
    assert secret.read_text() not in live.text()
