"""A playbook from a change under review runs tasks on the executor (``localhost``): the
sandbox must keep the site's files, other builds and the network out of its reach."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import keepgreen
from keepgreen.executor.model import JobSpec, Result
from keepgreen.executor.runner import Executor, ExecutorSettings
from keepgreen.nodes.local import LocalProvider
from tests.executor.conftest import Lines, Repo, request_for

pytestmark = pytest.mark.timeout(60)

PROBE = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Try to reach what lies outside the build
      shell: |
        for f in {paths}; do
          if cat "$f" >/dev/null 2>&1 || ls "$f" >/dev/null 2>&1
          then echo "PROBE readable $f"; else echo "PROBE hidden $f"; fi
        done
        touch /usr/escape 2>/dev/null && echo "PROBE writable /usr" || echo "PROBE ro /usr"
        echo "PROBE uid $(id -u)"
        echo "PROBE $(grep CapEff /proc/self/status | tr -d '\\t')"
        echo "PROBE processes $(ls /proc | grep -c '^[0-9]')"
        echo "PROBE pid 1 is $(cat /proc/1/comm)"
        {{{{ ansible_playbook_python }}}} -c "import socket; socket.create_connection(
          ('127.0.0.1', {port}), 2)" 2>/dev/null && echo "PROBE network open" \\
          || echo "PROBE network closed"
        cat {{{{ zuul.executor.work_root }}}}/{{{{ zuul.project.src_dir }}}}/README \\
          && echo "PROBE work readable"
        echo kept > {{{{ zuul.executor.log_root }}}}/kept.txt && echo "PROBE logs writable"
      register: probe
    - debug: {{var: probe.stdout_lines}}
"""


def test_a_playbook_cannot_read_the_site_or_other_builds(
        provider: LocalProvider, repo: Repo, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    secret = site / "secret.key"
    secret.write_text("site-secret-value\n")
    secret.chmod(0o644)  # readable by anyone on the host: only the sandbox keeps it out
    builds = tmp_path / "builds"
    other_build = builds / "another-build" / "1" / "work"
    other_build.mkdir(parents=True)
    (other_build / "token").write_text("other-build-token\n")
    source_file = Path(keepgreen.__file__)
    listener = socket.create_server(("127.0.0.1", 0))  # say, the site's database
    port = listener.getsockname()[1]
    paths = " ".join(str(p) for p in (secret, site, other_build / "token", source_file,
                                      "/etc/shadow", "/root", "/work", "/home"))
    run = repo.playbook("run", PROBE.format(paths=paths, port=port))
    job = JobSpec(name="escape", run=(run,), attempts=1)
    live = Lines()

    with listener:
        result = Executor(ExecutorSettings(builds_root=builds), provider).run_build(
            request_for(job, repo), live)

    assert result.result is Result.SUCCESS, result.reason
    probes = [line.split("PROBE ", 1)[1].rstrip('",') for line in live
              if "PROBE " in line and "echo" not in line]
    # (/work and /root may exist inside: the Python that runs Ansible can live there, and
    # only its own folder is mounted.)
    for path in (secret, site, other_build / "token", source_file, "/etc/shadow", "/home"):
        assert f"hidden {path}" in probes
    assert "ro /usr" in probes
    assert "uid 65534" in probes and "CapEff:0000000000000000" in probes
    assert "network closed" in probes
    assert "work readable" in probes and "logs writable" in probes
    # Its own PID namespace: bubblewrap is PID 1, none of the host's processes show.
    assert "pid 1 is bwrap" in probes
    assert int(next(p for p in probes if p.startswith("processes ")).split()[1]) < 30
    assert "site-secret-value" not in live.text()
    assert "other-build-token" not in live.text()
    assert result.log_dir is not None and (result.log_dir / "kept.txt").exists()
