"""Prometheus metrics, in a registry of the app's own so two apps in one process never collide."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

Scope = dict[str, Any]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.devices = Gauge("piclient_devices", "Devices with an active token", registry=self.registry)
        self.devices_online = Gauge("piclient_devices_online", "Devices heard from within three heartbeat intervals",
                                    registry=self.registry)
        self.heartbeats = Counter("piclient_heartbeats_received", "Heartbeats received (duplicates included)",
                                  ["stored"], registry=self.registry)
        self.screenshots = Counter("piclient_screenshots_received", "Screenshots stored", registry=self.registry)
        self.polls_held = Gauge("piclient_command_polls_held", "Boxes holding a command poll open in this process",
                                registry=self.registry)
        self.alerts = Counter("piclient_alerts", "Alerts raised", ["kind"], registry=self.registry)
        # A stalled alert loop is silent; its count shows it is alive (and lets tests wait for checks).
        self.alert_checks = Counter("piclient_alert_checks", "Alert checks completed", registry=self.registry)
        self.latency = Histogram("piclient_http_request_duration_seconds", "Time to answer a request",
                                 ["method", "route", "status"], registry=self.registry,
                                 buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))


class LatencyMiddleware:
    """Times every HTTP request, labelled by the endpoint that answered (never by the raw path), and adds
    ``extra_headers`` to every response (one middleware for both: each layer costs on every request)."""

    def __init__(self, app: Any, metrics: Metrics, extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.extra_headers = extra_headers or []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_status(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", ()), *self.extra_headers]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            endpoint = scope.get("endpoint")
            route = getattr(endpoint, "__name__", None) or "other"
            self.metrics.latency.labels(scope["method"], route, str(status[0])).observe(time.perf_counter() - start)
