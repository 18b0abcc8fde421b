"""Retained camera snapshots leave the broker when the platform stops keeping them (issue 19, item 4c).

A camera gateway (a Frigate server) publishes its label snapshots retained (``<family>/<gateway>/<camera>/
<label>/snapshot``, the camera capability's shape): the broker keeps the last one per topic in its persistence
and hands it to every new subscriber, for ever. Once the platform has purged the image (retention), or no
longer accepts the camera's data (unmapped, camera or gateway revoked), that copy must go too. The purge and
the database's triggers (migration camera_detections_0009) queue the topics in ``retained_clears``; this
module publishes an empty retained message on each (MQTT's way of deleting a retained message), which ingest
receives and ignores, and forgets the topics the broker acknowledged.

It logs in with the platform's account on the service listener (the one whose ACL writes under the device
mount point, as ingest's own clears do: ``core/broker_credentials.py``), with a client id of its own, only
while there is something to clear.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from core.db import scalar
from core.settings import Settings

logger = logging.getLogger(__name__)

BATCH = 500
TIMEOUT_S = 10.0


class ClearsError(RuntimeError):
    """The broker could not be reached or refused the login: the topics stay queued."""


def has_clears(conn: psycopg.Connection[Any]) -> bool:
    return bool(scalar(conn, "SELECT EXISTS (SELECT 1 FROM retained_clears)"))


def drain_clears(conn: psycopg.Connection[Any], settings: Settings, *, limit: int = BATCH) -> int:
    """Publish an empty retained message on up to ``limit`` queued topics; returns how many the broker took.
    Those, and those it refused (logged), are forgotten; those it did not answer stay queued."""
    queued = conn.execute("SELECT topic FROM retained_clears ORDER BY queued_at LIMIT %s", (limit,)).fetchall()
    topics = [r["topic"] for r in queued]
    if not topics:
        return 0
    done, refused = _publish_empty_retained(settings, topics)
    if refused:  # a negative acknowledgement is the broker's answer, not a hiccup: asking again changes nothing
        logger.error("retained snapshots refused by the broker", extra={"topics": refused[:10], "count": len(refused)})
    conn.execute("DELETE FROM retained_clears WHERE topic = ANY(%s)", (done + refused,))
    if done:
        logger.info("retained snapshots cleared from the broker", extra={"count": len(done)})
    return len(done)


def _publish_empty_retained(settings: Settings, topics: list[str]) -> tuple[list[str], list[str]]:
    """QoS 1 empty retained messages on the device topics (under the mount point); (the topics the broker
    acknowledged with success, those it refused)."""
    connected = threading.Event()
    outcome: dict[str, Any] = {}
    acked: dict[int, bool] = {}
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"tlab-evidence-clears-{os.getpid()}", protocol=mqtt.MQTTv5
    )
    credentials = settings.mqtt_credentials()
    if credentials:
        client.username_pw_set(*credentials)

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        outcome["connect"] = reason
        connected.set()

    def on_publish(_c: Any, _u: Any, mid: int, reason: Any, _p: Any = None) -> None:
        acked[mid] = not getattr(reason, "is_failure", False)

    client.on_connect, client.on_publish = on_connect, on_publish
    try:
        client.connect(settings.mqtt_host, settings.mqtt_service_port, keepalive=30)
    except OSError as exc:
        raise ClearsError(f"broker unreachable: {exc}") from exc
    client.loop_start()
    try:
        if not connected.wait(TIMEOUT_S) or getattr(outcome.get("connect"), "is_failure", True):
            raise ClearsError(f"broker refused the connection: {outcome.get('connect')}")
        sent = [
            (topic, client.publish(f"{settings.mqtt_device_mount}{topic}", b"", qos=1, retain=True)) for topic in topics
        ]
        for _, info in sent:
            try:
                info.wait_for_publish(TIMEOUT_S)
            except (RuntimeError, ValueError):
                continue
        done = [topic for topic, info in sent if info.is_published() and acked.get(info.mid) is True]
        refused = [topic for topic, info in sent if acked.get(info.mid) is False]
        return done, refused
    finally:
        client.disconnect()
        client.loop_stop()
