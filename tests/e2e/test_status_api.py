"""``/api/status`` and ``/api/buildsets`` on a real server without builds: the shape a client
reads, and plain answers to bad requests. The live queue itself is watched in
test_gate_operations.py and test_shared_queue.py."""

from __future__ import annotations

import httpx

from tests.support import Server


def test_status_lists_every_pipeline_even_when_idle(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        answer = c.get("/api/status")
    assert answer.status_code == 200 and not answer.text.startswith(")]}'")
    status = answer.json()
    assert isinstance(status["generated_at"], float)
    pipelines = {p["name"]: p for p in status["pipelines"]}
    assert {"check", "gate"} <= set(pipelines)
    assert pipelines["gate"]["manager"] == "dependent"
    assert pipelines["check"]["manager"] == "independent"
    assert all(set(p) == {"name", "manager", "description", "queues"}
               for p in status["pipelines"])
    with httpx.Client(base_url=server.url, timeout=30) as c:
        filtered = c.get("/api/status", params={"project": "no/such"}).json()
    assert all(p["queues"] == [] for p in filtered["pipelines"])


def test_buildsets_answer_plain_errors(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.get("/api/buildsets").json() == []
        missing = c.get("/api/buildsets/0123abcd")
        assert missing.status_code == 404 and "buildset 0123abcd not found" in missing.text
        bad = c.get("/api/buildsets", params={"limit": "many"})
        assert bad.status_code == 400 and "limit must be a number" in bad.text
        too_many = c.get("/api/buildsets", params={"limit": "5000"})
        assert too_many.status_code == 400 and "between 1 and 1000" in too_many.text
        no_change = c.get("/api/buildsets", params={"change": "999999"})
        assert no_change.status_code == 404
        assert c.post("/api/status").status_code == 405


def test_operator_commands_over_rest_are_for_administrators(server: Server,
                                                             make_user) -> None:
    user = make_user(server, "someone")
    body = {"pipeline": "gate", "project": "org/x", "change": "999999,1"}
    with server.client(user.username, user.password) as c:
        refused = c.post("/api/dequeue", json=body)
    assert refused.status_code == 403 and "Administrators" in refused.text
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.post("/api/dequeue", json=body).status_code == 401
    with server.admin_client() as c:
        unknown = c.post("/api/dequeue", json=body)
        assert unknown.status_code == 409 and "change 999999 does not exist" in unknown.text
        bad = c.post("/api/promote", json={"pipeline": "gate", "changes": ["x"]})
        assert bad.status_code == 400 and "NUMBER,PATCHSET" in bad.text
        assert c.get("/api/enqueue").status_code == 405
