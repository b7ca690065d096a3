"""Prometheus metrics at ``/metrics`` (prometheus_client's text format).

Request latencies are observed per kind of route (``rest``, ``git``, ``ui``, ``api``...),
method and status class, so labels stay few whatever paths clients send. Builds, nodes,
node requests and queue lengths are read from the store when scraped. The endpoint answers
administrators and members of Service Users (HTTP Basic with the HTTP password), as a
scraper account would be set up; anyone else gets 401.

Names:

- ``keepgreen_http_request_seconds{kind,method,status}`` (histogram)
- ``keepgreen_builds{pipeline,result}``: builds recorded, ``RUNNING`` for unfinished ones
- ``keepgreen_nodes{provider,state}``: nodes by state (building, ready, in-use, ...)
- ``keepgreen_node_requests{state}``: node requests by state
- ``keepgreen_queue_items{pipeline}``: items enqueued in each pipeline
- ``keepgreen_node_boot_seconds{provider}`` (histogram): from asking a provider for a node
  to its being READY, since the server started
- ``keepgreen_node_capacity{provider}``: how many nodes each provider may hold at once
  (``max-servers``), the ceiling on builds running at once beside ``keepgreen_nodes``
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from keepgreen.domain.account import SERVICE_USERS
from keepgreen.gerrit.http import basic_credentials, error_response, service_error_response
from keepgreen.services.errors import ServiceError
from keepgreen.store import metrics as store_metrics
from keepgreen.store.db import Database

PATH = "/metrics"


class _StoreCollector(Collector):
    def __init__(self, db: Database, launcher: Any = None) -> None:
        self.db = db
        self.launcher = launcher

    def collect(self) -> Iterator[Metric]:
        with self.db.read() as conn:
            built = store_metrics.builds_by_result(conn)
            nodes = store_metrics.nodes_by_state(conn)
            requests = store_metrics.node_requests_by_state(conn)
            queues = store_metrics.queue_lengths(conn)
        family = GaugeMetricFamily("keepgreen_builds", "Builds recorded, by pipeline and "
                                   "result", labels=["pipeline", "result"])
        for (pipeline, result), count in sorted(built.items()):
            family.add_metric([pipeline, result], count)
        yield family
        family = GaugeMetricFamily("keepgreen_nodes", "Nodes by provider and state",
                                   labels=["provider", "state"])
        for (provider, state), count in sorted(nodes.items()):
            family.add_metric([provider, state], count)
        yield family
        family = GaugeMetricFamily("keepgreen_node_requests", "Node requests by state",
                                   labels=["state"])
        for state, count in sorted(requests.items()):
            family.add_metric([state], count)
        yield family
        family = GaugeMetricFamily("keepgreen_queue_items", "Items in each pipeline",
                                   labels=["pipeline"])
        for pipeline, count in sorted(queues.items()):
            family.add_metric([pipeline], count)
        yield family
        if self.launcher is None:
            return
        yield from self.launcher.boot_seconds.collect()
        family = GaugeMetricFamily("keepgreen_node_capacity", "Nodes each provider may "
                                   "hold at once", labels=["provider"])
        for provider, limit in sorted(self.launcher.launcher.limits.items()):
            family.add_metric([provider], limit)
        yield family


class Metrics:
    """One site's registry: the request histogram and the store's counts."""

    def __init__(self, db: Database, accounts: Any, launcher: Any = None) -> None:
        self.registry = CollectorRegistry()
        self.accounts = accounts
        self.requests = Histogram(
            "keepgreen_http_request_seconds", "Time to answer an HTTP request",
            ["kind", "method", "status"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.registry.register(_StoreCollector(db, launcher))

    def observe(self, kind: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(kind, method if method in _METHODS else "OTHER",
                             f"{status // 100}xx").observe(seconds)

    def answer(self, request: Request) -> Response:
        """The metrics page for a scraper that signs in; 401 for anyone else."""
        credentials = basic_credentials(request)
        try:
            who = (self.accounts.authenticate(*credentials,
                                              client=request.client.host if request.client
                                              else "") if credentials else None)
        except ServiceError as exc:
            return service_error_response(exc)
        if who is None or not (who.is_admin or SERVICE_USERS in who.groups):
            return error_response(401, "metrics need an administrator or a Service Users "
                                       "account (HTTP Basic with its HTTP password)",
                                  challenge=True)
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
