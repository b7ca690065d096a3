"""A job's secret reaches its playbook only after review and merge: the value opens on the
executor, the playbook can use it, and the build log masks it however it is printed; a
change that sets a secret cannot use it before it merges, and check never runs it.

Same needs as the other pipeline tests (root, local nodes, ansible).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from keepgreen.crypto import oaep
from tests.e2e.pipeline_support import (
    PLAYBOOK,
    approve,
    change_info,
    make_core,
    new_change,
    only_change,
    pipeline_server,
    status,
    wait_checked,
    wait_for,
)
from tests.support import Server

VALUE = "s3cr3t-Token-4242\nsecond-Line-9999"

SECRET_PLAYBOOK = """\
- hosts: all
  tasks:
    - name: Echo the secret
      command: "echo {{ token.value }}"
    - name: Write it on the node
      copy:
        content: "{{ token.value }}"
        dest: /tmp/token.txt
    - name: Cat it back
      command: cat /tmp/token.txt
    - name: Print its base64
      command: "echo {{ token.value | b64encode }}"
    - name: Prove the value arrived
      debug:
        msg: "digest {{ token.value | hash('sha256') }}"
"""


def job_config(chunks: list[str], uses_in: str = "post") -> str:
    """A project with a secret, a job that uses it listed in ``uses_in``, and a plain check
    and gate job."""
    items = "\n".join(f"          - {chunk}" for chunk in chunks)
    pipelines: dict[str, list[str]] = {"check": ["hello"], "gate": ["hello"]}
    pipelines.setdefault(uses_in, []).append("uses-secret")
    stanzas = "\n".join(f"    {name}:\n      jobs:\n" + "\n".join(
        f"        - {job}" for job in jobs) for name, jobs in pipelines.items())
    return f"""\
- secret:
    name: deploy_token
    data:
      value: !encrypted/pkcs1-oaep
{items}
- job:
    name: hello
    run: playbooks/hello.yaml
    nodeset:
      nodes:
        - name: node
          label: local
- job:
    name: uses-secret
    run: playbooks/secret.yaml
    secrets:
      - name: token
        secret: deploy_token
    nodeset:
      nodes:
        - name: node
          label: local
- project:
{stanzas}
"""


def public_key(server: Server, project: str) -> bytes:
    with server.client() as c:
        key = c.get(f"/api/tenant/main/key/{project}.pub")
    assert key.status_code == 200, key.text
    return key.content


def merge(server: Server, number: int, core1, core2) -> None:
    wait_checked(server, number)
    approve(server, number, core1, core2)
    wait_for(f"change {number} to merge", lambda: status(server, number) == "MERGED", server)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, "secrets")


def test_a_merged_secret_reaches_its_post_job_and_the_log_masks_it(
        server: Server, make_user, project_name: str, tmp_path: Path) -> None:
    owner, core1, core2 = (make_user(server, n) for n in ("owner", "core1", "core2"))
    server.create_project(project_name)
    make_core(server, project_name, core1, core2)
    repo: Path = owner.clone(project_name, tmp_path / "work")
    chunks = oaep.encrypt(public_key(server, project_name), VALUE.encode())
    files = {".zuul.yaml": job_config(chunks),
             "playbooks/hello.yaml": PLAYBOOK.format(command="true"),
             "playbooks/secret.yaml": SECRET_PLAYBOOK}
    new_change(owner, repo, files, "Add a job with a secret")
    number = only_change(server, project_name, "Add a job with a secret")
    merge(server, number, core1, core2)

    def finished() -> list:
        with server.client() as c:
            found = c.get("/api/builds", params={"project": project_name,
                                                 "job": "uses-secret"}).json()
        return [b for b in found if b["result"]]

    (build,) = wait_for("the post job", finished, server)
    assert build["result"] == "SUCCESS" and build["pipeline"] == "post", build
    with server.client() as c:
        log = c.get(f"/api/builds/{build['uuid']}/log").text
        record = json.dumps(c.get(f"/api/builds/{build['uuid']}").json())
    # The playbook had the value: its digest is printed, the value itself is masked.
    assert "digest " + hashlib.sha256(VALUE.encode()).hexdigest() in log
    assert "*****" in log
    shown = [VALUE, *VALUE.splitlines(), base64.b64encode(VALUE.encode()).decode(),
             json.dumps(VALUE)[1:-1]]
    for form in shown:
        assert form not in log, form
        assert form not in record, form
    messages = json.dumps(change_info(server, number)["messages"])
    assert not any(form in messages for form in shown)
    # Nothing of it is left in the build's folder on the server either.
    for path in (server.site / "builds").rglob("*"):
        if path.is_file():
            text = path.read_bytes()
            assert not any(form.encode() in text for form in shown), path


def test_a_change_cannot_set_a_secret_and_use_it_in_the_gate(
        server: Server, make_user, project_name: str, tmp_path: Path) -> None:
    owner, core1, core2 = (make_user(server, n) for n in ("owner", "core1", "core2"))
    server.create_project(project_name)
    make_core(server, project_name, core1, core2)
    repo: Path = owner.clone(project_name, tmp_path / "work")
    chunks = oaep.encrypt(public_key(server, project_name), b"set and used at once")
    files = {".zuul.yaml": job_config(chunks, uses_in="gate"),
             "playbooks/hello.yaml": PLAYBOOK.format(command="true"),
             "playbooks/secret.yaml": SECRET_PLAYBOOK}
    new_change(owner, repo, files, "Set a secret and use it in the gate")
    number = only_change(server, project_name, "Set a secret and use it in the gate")
    wait_checked(server, number)
    approve(server, number, core1, core2)
    report = wait_for("the gate's refusal", lambda: [
        m["message"] for m in change_info(server, number)["messages"]
        if "only once the change that sets it has merged" in m["message"]], server)
    assert 'secret "deploy_token"' in report[0] and "uses-secret" in report[0]
    assert status(server, number) == "NEW"
    with server.client() as c:
        ran = c.get("/api/builds", params={"project": project_name, "job": "uses-secret"})
    assert ran.json() == []


def test_the_same_job_in_check_is_refused_before_it_runs(
        server: Server, make_user, project_name: str, tmp_path: Path) -> None:
    owner = make_user(server, "owner")
    server.create_project(project_name)
    repo: Path = owner.clone(project_name, tmp_path / "work")
    with server.client() as c:
        key = c.get(f"/api/tenant/main/key/{project_name}.pub").content
    config = job_config(oaep.encrypt(key, b"never shown"), uses_in="check")
    new_change(owner, repo, {".zuul.yaml": config, "playbooks/hello.yaml": "[]\n",
                             "playbooks/secret.yaml": SECRET_PLAYBOOK}, "Secret in check")
    number = only_change(server, project_name, "Secret in check")
    report = wait_for("the config error on the change", lambda: [
        m["message"] for m in change_info(server, number)["messages"]
        if "post-review" in m["message"]], server)
    assert "uses-secret" in report[0]
    with server.client() as c:
        ran = c.get("/api/builds", params={"project": project_name, "job": "uses-secret"})
    assert ran.json() == []
