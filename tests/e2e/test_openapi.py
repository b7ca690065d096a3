"""The native API against its own description: /api/openapi.json is served, lists every
native endpoint, and schemathesis finds no 5xx across generated requests."""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.support import Server


def test_the_description_is_served_and_names_every_native_endpoint(
        sqlite_server: Server) -> None:
    answer = httpx.get(sqlite_server.url + "api/openapi.json", timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    paths = set(answer.json()["paths"])
    assert {"/api/status", "/api/buildsets", "/api/buildsets/{uuid}", "/api/builds",
            "/api/builds/{uuid}", "/api/builds/{uuid}/log", "/api/enqueue", "/api/dequeue",
            "/api/promote", "/a/api/events", "/api/elections", "/api/elections/{name}",
            "/api/elections/{name}/ballot", "/api/elections/{name}/result",
            "/api/elections/{name}/proposal", "/api/pads", "/api/pads/{id}",
            "/api/pads/{id}/history", "/api/pads/{id}/markdown"} <= paths


def test_no_generated_request_gets_a_server_error(sqlite_server: Server) -> None:
    # schemathesis's pytest plugin does not run under this pytest, so its strategies drive
    # plain hypothesis here: the same generated cases, one bounded run per operation.
    schema = schemathesis.openapi.from_url(sqlite_server.url + "api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    checked = []
    for operation in operations:
        if operation.path == "/api/builds/{uuid}/log":
            continue  # an event stream: its 404s are covered by the regression tests
        checked.append(f"{operation.method.upper()} {operation.path}")

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def no_server_error(case: schemathesis.Case) -> None:
            # Administrators reach every branch of the operator commands.
            response = case.call(base_url=sqlite_server.url.rstrip("/"), timeout=40,
                                 auth=(sqlite_server.admin, sqlite_server.admin_password))
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, (
                f"{where}: {response.status_code} {response.text[:300]}")
            if response.status_code >= 400:
                text = response.text.strip()
                assert text and "\n" not in text, f"{where}: {text!r}"

        no_server_error()
    assert len(checked) == len(operations) - 1, checked
