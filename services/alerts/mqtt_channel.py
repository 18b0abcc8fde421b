"""Alert events on MQTT for on-site displays: ``tlab/alerts/<service>/<severity>``, QoS 1, the outbox
event as JSON, published by the platform's own account on the service listener (devices cannot publish
there: their ACL allows only their own topics, under their mount point). A display reads with a service
account whose ACL is ``topic read tlab/alerts/#``.

The channel's cursor (``alert_channels``) advances only after the broker acknowledged the message: a
restart resends what was not acknowledged (at least once; the payload carries the outbox id). A new alert
is held back ``TLAB_ALERT_NOTIFY_WAIT_S`` like the webhooks' (services/alerts/notify_wait.py). The channel
runs in its own thread of `tlab deliveries`: no webhook endpoint, slow or not, shares its loop.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from core.listening import listen_and_work
from core.settings import Settings
from core.worker_metrics import Heartbeat
from services.alerts.notify_wait import verdict

logger = logging.getLogger(__name__)

CHANNEL = "mqtt"
TOPIC = "tlab/alerts/{service}/{severity}"


class MqttAlertChannel:
    def __init__(self, settings: Settings, *, poll_s: float = 0.25, client_id: str = "tlab-alerts-mqtt") -> None:
        self.settings, self.poll_s, self.client_id = settings, poll_s, client_id
        self.published = 0
        self.not_published = 0  # attempts the broker did not acknowledge (retried)
        self.ready = threading.Event()
        self.heartbeat = Heartbeat("alerts mqtt", self.ready)

    def run(self, stop: threading.Event) -> None:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5)
        credentials = self.settings.mqtt_credentials()
        if credentials:
            client.username_pw_set(*credentials)
        client.connect_async(self.settings.mqtt_host, self.settings.mqtt_service_port, keepalive=30)
        client.loop_start()
        try:
            listen_and_work(
                self.settings.database_url,
                (),
                self.heartbeat.wrap(lambda conn: self._send_next(conn, client)),
                stop,
                ready=self.ready,
                poll_s=self.poll_s,
                name="alerts mqtt",
                on_connect=lambda conn: conn.execute(
                    "INSERT INTO alert_channels (name, delivered_through) "
                    "SELECT %s, coalesce(max(id), 0) FROM alert_outbox ON CONFLICT (name) DO NOTHING",
                    (CHANNEL,),
                ),
            )
        finally:
            client.disconnect()
            client.loop_stop()

    def _send_next(self, conn: psycopg.Connection[Any], client: mqtt.Client) -> bool:
        row = conn.execute(
            "SELECT o.id, o.alert_id, o.service, o.body FROM alert_outbox o JOIN alert_channels c ON c.name = %s "
            "WHERE o.id > c.delivered_through AND o.silenced_by IS NULL ORDER BY o.id LIMIT 1",
            (CHANNEL,),
        ).fetchone()
        if row is None:
            return False
        held = verdict(conn, row["alert_id"], self.settings.alert_notify_wait_s)
        if held.action == "wait":
            return False
        if held.action == "skip":  # ended within the wait: never told, and so never told it ended
            conn.execute("UPDATE alert_channels SET delivered_through = %s WHERE name = %s", (row["id"], CHANNEL))
            return True
        if not client.is_connected():
            return False
        alert = row["body"].get("alert") or {}
        topic = TOPIC.format(service=row["service"], severity=alert.get("severity", "info"))
        payload = json.dumps({"id": row["id"], **row["body"]}, separators=(",", ":"))
        info = client.publish(topic, payload, qos=1)
        try:
            info.wait_for_publish(timeout=10)
        except (RuntimeError, ValueError) as exc:  # not queued (disconnected, queue full): retried next poll
            logger.warning("alerts mqtt: not published", extra={"error": str(exc)})
            self.not_published += 1
            self.heartbeat.error("not_published", exc)
            return False
        if not info.is_published():
            self.not_published += 1
            self.heartbeat.error("not_published", "no acknowledgement within 10 s")
            return False
        conn.execute("UPDATE alert_channels SET delivered_through = %s WHERE name = %s", (row["id"], CHANNEL))
        self.published += 1
        return True
