"""``tlab deliveries``: the webhooks' deliverer and the MQTT channel in one process, with their metrics and
health on ``TLAB_DELIVERIES_METRICS_PORT`` (core/worker_metrics.py).

Depths are read at scrape time on the outbox's primary key (``id > delivered_through``), capped at
``PENDING_CAP``: events waiting per enabled webhook and for the MQTT channel, and the age of the oldest.
Delivered and failed attempts are this process's counters, per webhook (a webhook is served by one
deliverer at a time: its advisory lock).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from core.settings import Settings
from core.worker_metrics import Health, Heartbeat, WorkerMetrics, counter, serving
from services.alerts.mqtt_channel import CHANNEL as MQTT_CHANNEL
from services.alerts.mqtt_channel import MqttAlertChannel
from services.alerts.webhooks import WebhookDeliverer

logger = logging.getLogger(__name__)

PENDING_CAP = 10_000
# per target: the undelivered, unsilenced events after its cursor, on the outbox's primary key, capped
PENDING = """
SELECT t.kind, t.name, q.n, q.oldest, now() AS now FROM (
    SELECT 'webhook' AS kind, id::text AS name, service, delivered_through FROM alert_webhooks WHERE enabled
    UNION ALL
    SELECT 'channel', name, NULL, delivered_through FROM alert_channels
) t
CROSS JOIN LATERAL (
    SELECT count(*) AS n, min(at) AS oldest FROM (
        SELECT o.at FROM alert_outbox o
        WHERE o.id > t.delivered_through AND (t.service IS NULL OR o.service = t.service) AND o.silenced_by IS NULL
        ORDER BY o.id LIMIT %(cap)s
    ) w
) q
"""


class Deliveries:
    """Runs the MQTT channel on its own thread and the webhooks' deliverer on the caller's, until ``stop``."""

    def __init__(self, settings: Settings, *, channel: MqttAlertChannel | None = None, **webhook_options: Any):
        self.settings = settings
        self.webhooks = WebhookDeliverer(settings, **webhook_options)
        self.channel = channel or MqttAlertChannel(settings)
        self.ready = threading.Event()  # set while both loops hold their connection
        self.heartbeat = Heartbeat("deliveries", self.ready)
        self.metrics = WorkerMetrics(
            "tlab_deliveries",
            self.heartbeat,
            self._families,
            database_url=settings.database_url,
            gauges=self._gauges,
            health=self.health,
        )

    def run(self, stop: threading.Event) -> None:
        mqtt_thread = threading.Thread(target=self.channel.run, args=(stop,), name="alerts-mqtt", daemon=True)
        with serving(self.metrics, self.settings.metrics_host, self.settings.deliveries_metrics_port):
            mqtt_thread.start()
            self.webhooks.run(stop)
            mqtt_thread.join(15)

    def health(self) -> Health:
        """Unhealthy when either loop is: the worse of the webhooks' and the channel's."""
        parts = {"webhooks": self.webhooks.heartbeat.health(), "mqtt": self.channel.heartbeat.health()}
        bad = [h for h in parts.values() if not h.healthy]
        worst = bad[0] if bad else parts["webhooks"]
        detail = {name: {"status": h.status, **h.detail} for name, h in parts.items()}
        return Health(worst.status, not bad, detail)

    def _families(self) -> Iterator[Any]:
        # the two loops' errors and passes, as one worker's (the heartbeat of this object is never beaten)
        hb = self.heartbeat
        hb.errors = {}
        for part in (self.webhooks.heartbeat, self.channel.heartbeat):
            for kind, n in part.errors.items():
                hb.errors[kind] = hb.errors.get(kind, 0) + n
        hb.cycles = self.webhooks.heartbeat.cycles + self.channel.heartbeat.cycles
        ends = [h.last_cycle_at for h in (self.webhooks.heartbeat, self.channel.heartbeat) if h.last_cycle_at]
        hb.last_cycle_at = min(ends) if len(ends) == 2 else None
        if self.webhooks.ready.is_set() and self.channel.ready.is_set():
            self.ready.set()
        else:
            self.ready.clear()
        attempts = CounterMetricFamily(
            "tlab_deliveries_webhook_attempts",
            "Webhook delivery attempts, by webhook and outcome (delivered, retrying, gave_up)",
            labels=["webhook", "outcome"],
        )
        for (webhook_id, outcome), n in sorted(dict(self.webhooks.outcomes).items()):
            attempts.add_metric([str(webhook_id), outcome], n)
        yield attempts
        yield counter("tlab_deliveries_mqtt_published", "Alert events the broker acknowledged", self.channel.published)
        yield counter(
            "tlab_deliveries_mqtt_failed", "MQTT publishes not acknowledged (retried)", self.channel.not_published
        )

    def _gauges(self, conn: psycopg.Connection[Any]) -> Iterator[Any]:
        pending = GaugeMetricFamily(
            "tlab_deliveries_pending",
            f"Alert events waiting for a target (a webhook id, or the MQTT channel), up to {PENDING_CAP}",
            labels=["target", "id"],
        )
        oldest = GaugeMetricFamily(
            "tlab_deliveries_oldest_pending_age_seconds",
            "Age of the oldest alert event waiting for a target (0: none)",
            labels=["target", "id"],
        )
        rows = conn.execute(PENDING, {"cap": PENDING_CAP}).fetchall()
        if not any(r["kind"] == "channel" for r in rows):  # before the channel's first connection
            rows.append({"kind": "channel", "name": MQTT_CHANNEL, "n": 0, "oldest": None, "now": None})
        for r in rows:
            pending.add_metric([r["kind"], r["name"]], r["n"])
            oldest.add_metric([r["kind"], r["name"]], (r["now"] - r["oldest"]).total_seconds() if r["oldest"] else 0.0)
        yield pending
        yield oldest
