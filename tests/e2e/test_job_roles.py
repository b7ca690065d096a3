"""A check job that uses roles from other repositories, as zuul-jobs users write it:
``roles: [{zuul: org/zuul-jobs-like}]`` for a repository with a ``roles/`` folder and
``{zuul: ..., name: ...}`` for a repository that is itself one role. The roles run from
read-only copies in the build folder; the repository named in ``required-projects`` is
prepared at the branch Zuul picks. Projects may be named with a host name in front, as
Zuul's canonical names are (``review.example.org/org/repo``). Needs what every build needs (see
``tests/e2e/test_check_pipeline.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keepgreen import settings as settings_mod
from keepgreen.store import builds as build_store
from keepgreen.store.db import Database
from tests.e2e.pipeline_support import (
    change_info,
    ci_messages,
    ci_verified,
    only_change,
    pipeline_server,
    push_change,
    wait_for,
)
from tests.support import GitUser, Server

SHARED_ROLE = """\
- name: Greet from the shared role
  debug:
    msg: "shared role says {{ greeting | default('hello') }}"
- name: The required project is prepared at its default branch
  assert:
    that:
      - zuul.projects[required].required
      - zuul.projects[required].checkout == 'main'
  vars:
    required: "localhost/{{ roles_repo }}"
- name: Try to change the role's own copy
  file:
    path: "{{ role_path }}/written"
    state: touch
  delegate_to: localhost
  register: written
  ignore_errors: true
- name: The copy is in the build folder and read-only
  assert:
    that:
      - written is failed
      - "'/ansible/roles/' in role_path"
"""

BARE_ROLE = """\
- name: Greet from the bare role
  debug:
    msg: "bare role {{ role_name }} ran"
"""

PLAYBOOK = """\
- hosts: all
  roles:
    - say-hello
    - bare-greeter
"""


def job_config(roles_repo: str, bare_repo: str) -> str:
    return f"""\
- job:
    name: greet
    run: playbooks/greet.yaml
    roles:
      - zuul: {roles_repo}
      - zuul: review.example.org/{bare_repo}
        name: bare-greeter
    required-projects:
      - review.example.org/{roles_repo}
    vars:
      roles_repo: {roles_repo}
    nodeset:
      nodes:
        - name: node
          label: local
- project:
    check:
      jobs: [greet]
"""


@pytest.fixture(scope="module")
def ci_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, "roles")


def land(server: Server, project: str, files: dict[str, str], work: Path) -> None:
    """Put ``files`` on ``project``'s main branch directly, as its admin would."""
    server.create_project(project)
    admin = GitUser(work / "admin-home", server, server.admin, server.admin_password)
    repo = admin.clone(project, work / project.replace("/", "-"))
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
        admin.git("add", path, cwd=repo)
    admin.git("commit", "-q", "-m", "Add roles", cwd=repo)
    pushed = admin.push(repo, "HEAD:refs/heads/main")
    assert pushed.returncode == 0, pushed.stderr


def test_a_check_job_runs_roles_from_other_repositories(ci_server: Server, make_user,
                                                       project_name: str,
                                                       tmp_path: Path) -> None:
    roles_repo, bare_repo = f"{project_name}-zuul-jobs-like", f"{project_name}-greeter"
    land(ci_server, roles_repo, {"roles/say-hello/tasks/main.yaml": SHARED_ROLE,
                                 "README": "shared roles\n"}, tmp_path)
    land(ci_server, bare_repo, {"tasks/main.yaml": BARE_ROLE}, tmp_path)
    ci_server.create_project(project_name)
    alice = make_user(ci_server, "alice")
    repo = alice.clone(project_name, tmp_path / "work")
    push_change(alice, repo, {".zuul.yaml": job_config(roles_repo, bare_repo),
                              "playbooks/greet.yaml": PLAYBOOK}, "Greet with shared roles")
    number = only_change(ci_server, project_name, "Greet with shared roles")

    info = wait_for("the check result", lambda: (i := change_info(ci_server, number))
                    and ci_verified(i) is not None and i, ci_server)
    report = "\n".join(ci_messages(info, 1))
    assert ci_verified(info) == 1, report
    assert "greet SUCCESS" in report, report

    db = Database(settings_mod.load(ci_server.site).database_url)
    try:
        with db.read() as conn:
            (build,) = build_store.builds_of(conn, number)
    finally:
        db.dispose()
    with ci_server.client(alice.username, alice.password) as client:
        output = client.get(f"/logs/{build.uuid}/job-output.txt").text
    assert "shared role says hello" in output, output[-3000:]
    assert "bare role bare-greeter ran" in output, output[-3000:]

    # The build shows in the site's metrics, as a scraper reads them.
    with ci_server.admin_client() as admin:
        metrics = admin.get("/metrics").text
    done = [line for line in metrics.splitlines()
            if line.startswith('keepgreen_builds{pipeline="check",result="SUCCESS"}')]
    assert done and float(done[0].split()[-1]) >= 1, metrics[-2000:]
