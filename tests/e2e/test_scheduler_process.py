"""The scheduler as a process of its own: ``keepgreen serve`` with ``run_scheduler = false``
serves web, git and review only, and ``keepgreen scheduler`` on the same site and
PostgreSQL database leads (scheduler, launcher, executor-less: the server's executor runs
the builds). A pushed change gets its check vote, and the server's live status, which it
reads from the store, shows the change while its job runs.

Same needs as the gate test (root, local nodes, ansible) plus PostgreSQL; skipped with the
reason elsewhere.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import drop_postgres_database, make_postgres_database
from tests.e2e.pipeline_support import (
    PLAYBOOK,
    change_info,
    ci_messages,
    missing_build_tools,
    only_change,
    push_change,
    wait_for,
)
from tests.e2e.test_node_pool import JOB_CONFIG
from tests.support import KEEPGREEN, Server, start_server


@pytest.fixture
def split(tmp_path_factory: pytest.TempPathFactory,
          postgres_admin_url: str) -> Iterator[tuple[Server, subprocess.Popen[bytes]]]:
    problem = missing_build_tools()
    if problem:
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail(f"the scheduler process test must run under CI: {problem}")
        pytest.skip(problem)
    url, name = make_postgres_database(postgres_admin_url)
    server = start_server(tmp_path_factory.mktemp("site") / "site", url,
                          extra_env={"KEEPGREEN_RUN_SCHEDULER": "false"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPGREEN_")}
    with open(server.site / "logs" / "scheduler.log", "ab") as log:
        scheduler = subprocess.Popen([*KEEPGREEN, "scheduler", str(server.site)], stdout=log,
                                     stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
    yield server, scheduler
    if scheduler.poll() is None:
        os.killpg(scheduler.pid, signal.SIGTERM)
        scheduler.wait(60)
    server.stop()
    drop_postgres_database(postgres_admin_url, name)


def _items(server: Server) -> list[dict[str, Any]]:
    with server.client() as c:
        document = c.get("/api/status").json()
    return [item for p in document["pipelines"] for q in p["queues"] for item in q["items"]]


def test_a_scheduler_of_its_own_leads_a_web_only_server(
        split: tuple[Server, subprocess.Popen[bytes]], make_user, project_name: str,  # type: ignore[no-untyped-def]
        tmp_path) -> None:  # type: ignore[no-untyped-def]
    server, scheduler = split
    # Events from before a site's first scheduler started are history, not work.
    wait_for("the scheduler to lead", lambda: "leading" in (
        server.site / "logs" / "scheduler.log").read_text(), server, timeout=60)
    server.create_project(project_name)
    alice = make_user(server, "alice")
    repo = alice.clone(project_name, tmp_path / "work")
    push_change(alice, repo, {".zuul.yaml": JOB_CONFIG,
                              "playbooks/probe.yaml": PLAYBOOK.format(command="sleep 6")},
                "Add a slow probe job")
    number = only_change(server, project_name, "Add a slow probe job")

    item = wait_for("the change in the server's live status",
                    lambda: next((i for i in _items(server) if i["change"] == number
                                  and any(j["name"] == "probe" for j in i["jobs"])), None),
                    server, timeout=120)
    assert item["id"] == f"{number},1" and item["project"] == project_name
    info = wait_for("the check report", lambda: (i := change_info(server, number))
                    and ci_messages(i, 1) and i, server, timeout=120)
    assert "probe SUCCESS" in "\n".join(ci_messages(info, 1))
    wait_for("the change to leave the live status",
             lambda: not any(i["change"] == number for i in _items(server)), server,
             timeout=30)

    os.killpg(scheduler.pid, signal.SIGTERM)
    assert scheduler.wait(60) == 0
    log = (server.site / "logs" / "scheduler.log").read_text()
    assert "leading" in log and "Traceback" not in log, log
    missing = subprocess.run([*KEEPGREEN, "scheduler", str(tmp_path / "nowhere")],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "is not a keepgreen site" in missing.stderr
