"""The API's Prometheus metrics: ``GET /metrics`` on the API's own port, requests by route template and
status, their latency, and the database pool's connections in use and requests waiting for one.

Served without a token, like ``/health`` (a scraper is not a municipal agent, and a token in every
Prometheus configuration is one more secret to rotate): it carries no personal data and nothing a caller
chose. A route is named by its *template* (``/v1/incidents/{incident_id}``, never the id), a path no route
matches is ``unmatched`` and an unknown method ``OTHER``, so a scanner cannot grow the series or read back
what it sent. A deployment that publishes the API to the internet keeps ``/metrics`` off its ingress
(deploy/k8s routes only ``/v1`` and ``/health``), as for the workers' metrics ports.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class ApiMetrics(Collector):
    """One app's registry (a test process builds many apps: no global registry)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tlab_api_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "tlab_api_request_seconds",
            "Time to the response's start, by method and route template",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.registry.register(self)

    def collect(self) -> Iterator[Any]:
        pool = getattr(self.app.state, "pool", None)
        if pool is None:
            return
        stats = pool.get_stats()
        size, available = stats.get("pool_size", 0), stats.get("pool_available", 0)
        yield GaugeMetricFamily("tlab_api_pool_connections_in_use", "Pool connections lent out", value=size - available)
        yield GaugeMetricFamily("tlab_api_pool_connections_idle", "Pool connections open and idle", value=available)
        yield GaugeMetricFamily(
            "tlab_api_pool_requests_waiting",
            "Requests waiting for a pool connection",
            value=stats.get("requests_waiting", 0),
        )

    async def middleware(self, request: Request, call_next: Any) -> Any:
        started = time.perf_counter()
        status = 500  # an exception no handler turned into an answer
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            template = route_template(request.scope)
            method = request.method if request.method in METHODS else "OTHER"
            self.requests.labels(method, template, str(status)).inc()
            self.seconds.labels(method, template).observe(time.perf_counter() - started)


def route_template(scope: MutableMapping[str, Any]) -> str:
    """The matched route's template with the prefixes of the routers it was included through: the route
    knows only its own path (``/devices/{device_id}``); the prefix (``/v1``) is what precedes the part of
    the request's path its pattern matches (a router prefix is literal, never what the caller sent)."""
    route = scope.get("route")
    path_regex = getattr(route, "path_regex", None)
    if route is None or path_regex is None:
        return "unmatched"
    path: str = scope.get("path", "")
    for i, char in enumerate(path):
        if char == "/" and path_regex.fullmatch(path[i:]):
            return f"{path[:i]}{route.path}"
    return str(route.path)


def install(app: FastAPI) -> ApiMetrics:
    """Count every request (call it after the other middlewares: the outermost sees the guard's refusals
    too) and serve ``GET /metrics``."""
    metrics = ApiMetrics(app)
    app.state.metrics = metrics
    app.middleware("http")(metrics.middleware)

    @app.get(
        "/metrics",
        tags=["health"],
        summary="Prometheus metrics (no credential; no personal data)",
        response_class=PlainTextResponse,  # the schema says text/plain, as served
    )
    def prometheus_metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(metrics.registry), media_type="text/plain; version=0.0.4")

    return metrics
