"""Prometheus metrics at /metrics: Prometheus' text format for an administrator or a
Service Users account, request latencies by kind of route, and the store's counts; 401 for
anyone else (the page says how busy the site is)."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.support import Server


def families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_metrics_are_served_to_scrapers_only(server: Server, make_user: Any) -> None:
    scraper = make_user(server, "scraper", groups=["Service Users"])
    someone = make_user(server, "someone")
    with server.client(someone.username, someone.password) as client:
        assert client.get("/a/changes/?q=status:open").status_code == 200
        refused = client.get("/metrics")
        assert refused.status_code == 401 and "Service Users" in refused.text
    with server.client() as anonymous:
        assert anonymous.get("/metrics").status_code == 401
    with server.client(scraper.username, "wrong") as wrong:
        assert wrong.get("/metrics").status_code == 401

    with server.client(scraper.username, scraper.password) as client:
        answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    found = families(answer.text)
    latency = found["keepgreen_http_request_seconds"]
    counts = {(s.labels["kind"], s.labels["method"], s.labels["status"]): s.value
              for s in latency.samples if s.name.endswith("_count")}
    assert counts[("rest", "GET", "2xx")] >= 1
    assert counts[("metrics", "GET", "4xx")] >= 3
    for name in ("keepgreen_builds", "keepgreen_nodes", "keepgreen_node_requests",
                 "keepgreen_queue_items"):
        assert name in found, name
