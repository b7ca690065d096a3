"""keepgreen runs production: static hosts in site config, reached with the site's own key,
and a deploy pipeline that applies a merged change to them with its secret, one deploy at a
time. (A static host also keeps state between builds, which makes a deterministic flaky job
for the gate's second try.)

Two local nodes stand in for a site's production machines. They are made by the test, not
by the server, and kept running; each is offered to the server at a loopback port, the way
a real host is offered at its address. The server learns of them only through a change to
the nodes config of ``config``, and reaches them only with the key ``keepgreen static-key``
prints.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from keepgreen.crypto import oaep
from keepgreen.domain.node import Node
from keepgreen.executor.relay import socket_in_netns
from keepgreen.nodes.local import LocalProvider
from tests.e2e.pipeline_support import (
    approve,
    change_info,
    ci_messages,
    make_core,
    new_change,
    only_change,
    pipeline_server,
    status,
    wait_checked,
    wait_for,
)
from tests.support import KEEPGREEN, GitUser, Server

SECRET = "motd-signing-key-8d1f"

SITE_PLAYBOOK = """\
- hosts: prod
  tasks:
    - name: Write the message of the day from the template and the secret
      template:
        src: ../templates/motd.j2
        dest: /etc/keepgreen-motd
        mode: "0644"
    - name: Hold the deploy long enough for the next merge to queue behind it
      command: sleep {pause}
"""

TEMPLATE = "{{ greeting }} from {{ inventory_hostname }}\nkey {{ signing.key }}\n"
READ_ONLY = "keepgreen-ro"
SYSTEM_CONFIG = f"org/system-config-{uuid.uuid4().hex[:6]}"  # the site lets it dry-run


def zuul_yaml(chunks: list[str], greeting: str) -> str:
    items = "\n".join(f"          - {chunk}" for chunk in chunks)
    return f"""\
- semaphore:
    name: prod-hosts
    max: 1
- secret:
    name: motd_signing
    data:
      key: !encrypted/pkcs1-oaep
{items}
- job:
    name: deploy-motd
    run: playbooks/site.yaml
    semaphores: prod-hosts
    vars:
      greeting: {greeting}
    secrets:
      - name: signing
        secret: motd_signing
    nodeset:
      nodes:
        - name: web1
          label: prod1
        - name: web2
          label: prod2
      groups:
        - name: prod
          nodes: [web1, web2]
- project:
    check:
      jobs: [noop]
    gate:
      jobs: [noop]
    deploy:
      jobs: [deploy-motd]
    periodic:
      jobs: [noop]
"""


class LoopbackPort:
    """Offers a node's sshd at 127.0.0.1:``port``: the node lives in a network namespace of
    its own, as a production host lives behind its address."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket_in_netns(self.node.netns[-1])
                upstream.connect((self.node.host, self.node.port))
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, "deploy")


@pytest.fixture(scope="module")
def production(server: Server, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[LocalProvider, list[Node], list[LoopbackPort]]]:
    provider = LocalProvider(tmp_path_factory.mktemp("production"), name="production")
    hosts = [provider.create("local", f"prod{i}") for i in (1, 2)]
    ports = [LoopbackPort(host) for host in hosts]
    yield provider, hosts, ports
    for port in ports:
        port.close()
    for host in hosts:
        provider.delete(host)


def on_host(provider: LocalProvider, node: Node, command: str) -> str:
    result = subprocess.run([*provider.ssh_command(node), command], capture_output=True,
                            text=True, timeout=30, check=False, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    return result.stdout


def builds(server: Server, project: str, job: str) -> list[dict]:
    with server.client() as c:
        found = c.get("/api/builds", params={"project": project, "job": job})
    return sorted(found.json(), key=lambda b: b["start_time"] or "")


def deploy_builds(server: Server, project: str) -> list[dict]:
    return builds(server, project, "deploy-motd")


@pytest.fixture(scope="module")
def site_hosts(server: Server, production, tmp_path_factory: pytest.TempPathFactory
               ) -> tuple[LocalProvider, list[Node], GitUser, Path]:
    """The production hosts in the site's nodes config, reached with the site's key (and
    the read-only account for dry runs of SYSTEM_CONFIG); an administrator and a clone of
    ``config``."""
    provider, hosts, ports = production
    # The site's key, as an operator gets it, goes into each host's authorized_keys.
    printed = subprocess.run([*KEEPGREEN, "static-key", str(server.site)],
                             capture_output=True, text=True, check=False)
    assert printed.returncode == 0, printed.stderr
    public = printed.stdout.strip()
    assert public.startswith("ssh-ed25519 ")
    for host in hosts:
        on_host(provider, host, f"echo '{public}' >> /root/.ssh/authorized_keys")
        # The dry run's read-only account: it may read /etc, not write it. ("*": no
        # password, but not locked, which sshd would refuse.)
        on_host(provider, host, f"useradd -m -p '*' {READ_ONLY} && install -d -m 700 -o "
                                f"{READ_ONLY} /home/{READ_ONLY}/.ssh && echo '{public}' > "
                                f"/home/{READ_ONLY}/.ssh/authorized_keys && chown "
                                f"{READ_ONLY} /home/{READ_ONLY}/.ssh/authorized_keys")

    home = tmp_path_factory.mktemp("ops")
    password = server.create_account("ops", groups=["Administrators"])
    admins = GitUser(home / "home", server, "ops", password)
    nodes_yaml = "providers:\n  - name: local\n    driver: local\n    labels: [local]\n" \
        "  - name: production\n    driver: static\n" \
        f"    dry-run:\n      username: {READ_ONLY}\n      projects: [{SYSTEM_CONFIG}]\n" \
        "    hosts:\n" + "".join(
            f"      - host: 127.0.0.1\n        connection-port: {port.port}\n"
            f"        labels: [prod{i}]\n        host-key: {host.host_key}\n"
            for i, (host, port) in enumerate(zip(hosts, ports, strict=True), start=1)) + \
        "labels:\n  - name: local\n  - name: prod1\n  - name: prod2\n"
    config = admins.clone("config", home / "config")
    (config / "nodes" / "providers.yaml").write_text(nodes_yaml)
    admins.git("commit", "-qam", "Add the production hosts", cwd=config)
    pushed = admins.git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=config, check=False)
    assert pushed.returncode == 0, pushed.stderr
    return provider, hosts, admins, config


def test_merged_changes_deploy_to_the_static_hosts_one_at_a_time(
        server: Server, site_hosts, make_user, tmp_path: Path) -> None:
    provider, hosts, admins, config = site_hosts
    project_name = SYSTEM_CONFIG
    owner, core1, core2 = (make_user(server, n) for n in ("owner", "core1", "core2"))
    server.create_project(project_name)
    make_core(server, project_name, core1, core2)
    repo: Path = owner.clone(project_name, tmp_path / "work")
    with server.client() as c:
        key = c.get(f"/api/tenant/main/key/{project_name}.pub").content
    chunks = oaep.encrypt(key, SECRET.encode())
    files = {".zuul.yaml": zuul_yaml(chunks, "hello"),
             "playbooks/site.yaml": SITE_PLAYBOOK.format(pause=12),
             "templates/motd.j2": TEMPLATE}
    new_change(owner, repo, files, "Deploy the message of the day")
    first = only_change(server, project_name, "Deploy the message of the day")
    wait_checked(server, first)
    approve(server, first, core1, core2)
    wait_for(f"change {first} to merge", lambda: status(server, first) == "MERGED", server)
    wait_for("the first deploy to start", lambda: any(
        b["result"] is None for b in deploy_builds(server, project_name)), server)

    # A second change merges while the first deploy holds the hosts.
    new_change(owner, repo, {".zuul.yaml": zuul_yaml(chunks, "welcome"),
                             "playbooks/site.yaml": SITE_PLAYBOOK.format(pause=0)},
               "Say welcome instead")
    second = only_change(server, project_name, "Say welcome instead")
    wait_checked(server, second)
    approve(server, second, core1, core2)
    wait_for(f"change {second} to merge", lambda: status(server, second) == "MERGED", server)

    done = wait_for("both deploys", lambda: (b := deploy_builds(server, project_name))
                    and len(b) == 2 and all(x["result"] for x in b) and b, server, timeout=240)
    assert [b["result"] for b in done] == ["SUCCESS", "SUCCESS"], done
    assert [b["pipeline"] for b in done] == ["deploy", "deploy"]
    # One at a time: the second started only once the first had finished.
    assert done[1]["start_time"] >= done[0]["end_time"], done

    # Each host has a label of its own, so web1 is always the first host.
    motds = [on_host(provider, host, "cat /etc/keepgreen-motd") for host in hosts]
    assert motds == [f"welcome from web{i}\nkey {SECRET}\n" for i in (1, 2)]
    with server.client() as c:
        log = c.get(f"/api/builds/{done[0]['uuid']}/log").text
    assert SECRET not in log and "web1" in log and "web2" in log

    # A third change is dry-run against the hosts on review: the diff is on the change,
    # the hosts are untouched, and what the hosts hold of the secret stays masked.
    new_change(owner, repo, {".zuul.yaml": zuul_yaml(chunks, "bonjour")}, "Say bonjour")
    third = only_change(server, project_name, "Say bonjour")
    wait_checked(server, third)
    report = "\n".join(ci_messages(change_info(server, third), 1))
    assert "Dry run (what merging would change):\ndeploy-motd-dry-run:" in report, report
    for index in (1, 2):
        assert f"web{index}: Write the message of the day" in report, report
        assert (f"    --- /etc/keepgreen-motd (now)\n"
                f"    +++ /etc/keepgreen-motd (after the change)\n    @@ -1,2 +1,2 @@\n"
                f"    -welcome from web{index}\n    -key *****\n"
                f"    +bonjour from web{index}\n    +key *****") in report, report
    assert SECRET not in report and "/builds/" not in report, report
    assert [on_host(provider, host, "cat /etc/keepgreen-motd") for host in hosts] == motds
    # Every change was dry-run on review; this one's is the last.
    (dry,) = [b for b in builds(server, project_name, "deploy-motd-dry-run")
              if b["change"] == third]
    assert dry["pipeline"] == "check" and dry["voting"] is False, dry
    with server.client() as c:
        dry_log = c.get(f"/api/builds/{dry['uuid']}/log").text
    assert SECRET not in dry_log
    assert status(server, third) == "NEW"

    # Drift: someone edits the first host by hand; the periodic dry run of main notices,
    # and names that host only (the other still holds what main deploys, secret included).
    on_host(provider, hosts[0], "echo edited by hand > /etc/keepgreen-motd")
    admins.git("pull", "-q", "--rebase", "origin", "main", cwd=config)
    pipelines = config / "zuul.d" / "pipelines.yaml"
    daily = pipelines.read_text()
    assert "'0 2 * * *'" in daily
    pipelines.write_text(daily.replace("'0 2 * * *'", "'* * * * *'"))  # now, not at 02:00
    admins.git("commit", "-qam", "Run the periodic pipeline every minute", cwd=config)
    pushed = admins.git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=config,
                        check=False)
    assert pushed.returncode == 0, pushed.stderr

    def drift_reports() -> list[dict]:
        with server.admin_client() as c:
            found = c.get("/a/api/events", params={"limit": "5000"})
        assert found.status_code == 200, found.text
        return [e["event"] for e in json.loads(found.text.removeprefix(")]}'\n"))
                if e["type"] == "drift-report" and e["event"]["project"] == project_name]

    (report, *_) = wait_for("a drift report", drift_reports, server, timeout=200)
    assert report["state"] == "drifted" and report["hosts"] == ["web1"], report
    assert report["job"] == "deploy-motd" and report["branch"] == "main"
    assert "-edited by hand\n    +welcome from web1" in report["changes"], report
    assert SECRET not in json.dumps(report)
    with server.client(owner.username, owner.password) as c:
        page = c.get("/drift")
    assert page.status_code == 200
    assert project_name in page.text and "drifted" in page.text and "web1" in page.text
    with server.client() as c:  # anonymous: the project is readable by anyone here
        assert c.get("/drift").status_code == 200


FLAKY_PLAYBOOK = """\
- hosts: all
  tasks:
    - name: Pass in check; in the gate fail the first time on this host, then pass
      shell: |
        if [ "{{ zuul.pipeline }}" = check ]; then exit 0; fi
        if [ -e /tmp/tried-{{ zuul.change }} ]; then exit 0; fi
        touch /tmp/tried-{{ zuul.change }}
        exit 1
"""

BROKEN_PLAYBOOK = """\
- hosts: all
  tasks:
    - command: "false"
"""

FLAKY_JOBS = """\
- job:
    name: flaky-integration
    run: playbooks/flaky.yaml
    nodeset:
      nodes:
        - name: host
          label: prod2
- job:
    name: always-broken
    run: playbooks/broken.yaml
    tags: [quarantine]
    nodeset:
      nodes:
        - name: node
          label: local
- project:
    check:
      jobs: [flaky-integration, always-broken]
    gate:
      jobs: [flaky-integration, always-broken]
"""


def test_a_gate_failure_of_a_job_that_passed_in_check_is_tried_again_and_called_flaky(
        server: Server, site_hosts, make_user, project_name: str, tmp_path: Path) -> None:
    # A static host keeps its files between builds: the job fails once there, then passes.
    owner, core1, core2 = (make_user(server, n) for n in ("owner", "core1", "core2"))
    server.create_project(project_name)
    make_core(server, project_name, core1, core2)
    repo: Path = owner.clone(project_name, tmp_path / "work")
    new_change(owner, repo, {".zuul.yaml": FLAKY_JOBS, "playbooks/flaky.yaml": FLAKY_PLAYBOOK,
                             "playbooks/broken.yaml": BROKEN_PLAYBOOK}, "Add a flaky job")
    number = only_change(server, project_name, "Add a flaky job")
    wait_checked(server, number)  # the quarantined job failed, yet check votes +1
    approve(server, number, core1, core2)
    wait_for(f"change {number} to merge", lambda: status(server, number) == "MERGED", server)

    gate = [b for b in builds(server, project_name, "flaky-integration")
            if b["pipeline"] == "gate"]
    assert [b["result"] for b in gate] == ["FAILURE", "SUCCESS"], gate
    assert "tried again: the job passed on this patch set in check" in gate[0]["reason"]
    # The first try was stopped at its failed task, not left to run its job to the end.
    assert gate[0]["reason"].startswith("failed early: "), gate[0]["reason"]
    report = "\n".join(ci_messages(change_info(server, number), 1))
    assert "Flaky: flaky-integration failed and then passed on the same state" in report
    assert "Quarantined (they ran but do not block): always-broken" in report, report
    broken = [b["result"] for b in builds(server, project_name, "always-broken")]
    assert broken == ["FAILURE", "FAILURE"]  # check and gate: it ran, it did not block
    with server.admin_client() as c:
        found = c.get("/a/api/events", params={"limit": "5000"})
    flaky = [e["event"] for e in json.loads(found.text.removeprefix(")]}'\n"))
             if e["type"] == "flaky-build" and e["event"]["project"] == project_name]
    assert flaky == [{"type": "flaky-build", "project": project_name, "change": number,
                      "patchSet": 1, "job": "flaky-integration",
                      "failedBuild": gate[0]["uuid"], "passedBuild": gate[1]["uuid"],
                      "eventCreatedOn": flaky[0]["eventCreatedOn"]}]
