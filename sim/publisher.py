"""A counting MQTT publisher for simulators.

paho's ``publish()`` returns an error code instead of raising; naive code ignores it and believes it
sent data. The codes mean different things for QoS 1:

- ``MQTT_ERR_QUEUE_SIZE``: paho did *not* take the message (its queue is full): wait and try again;
- ``MQTT_ERR_NO_CONN``: paho *did* take it and sends it once reconnected: retrying would send it twice.

Every publish is counted as *sent* (taken by paho), *acked* (PUBACK from the broker) or *failed*
(refused for good), and the simulator exits non-zero unless every sent message was acknowledged.
With ``track_acked=True`` the publisher also keeps which messages the broker acknowledged, so a test
can check that none of them is missing from the database.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from device_adapters.contract import OutboundMessage

logger = logging.getLogger(__name__)


@dataclass
class PublishCounts:
    sent: int = 0
    acked: int = 0
    failed: int = 0
    retried: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "acked": self.acked, "failed": self.failed, "retried": self.retried}


class CountingPublisher:
    def __init__(
        self,
        host: str,
        port: int,
        client_id: str,
        *,
        max_queued: int = 10_000,
        credentials: tuple[str, str] | None = None,
        track_acked: bool = False,
        status_topic: str | None = None,
        tls_ca: Path | None = None,
    ) -> None:
        self.counts = PublishCounts()
        self.client_id = client_id
        self.track_acked = track_acked
        self.pending: dict[int, OutboundMessage] = {}
        self.acked_messages: list[OutboundMessage] = []
        self._early_acks: set[int] = set()
        self.reconnects = 0
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._refused = threading.Event()
        self.refused: str | None = None
        self.status_topic = status_topic
        self._announce = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if credentials:
            client.username_pw_set(*credentials)
        if tls_ca is not None:
            client.tls_set(ca_certs=str(tls_ca))  # verifies the broker's certificate and host name
        if status_topic:
            # the broker publishes this if the link dies without a DISCONNECT (Frigate's `available`)
            client.will_set(status_topic, b"offline", qos=1, retain=True)
        client.max_queued_messages_set(max_queued)
        client.max_inflight_messages_set(100)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        self.client = client
        self.host, self.port = host, port

    def _on_connect(self, _c: mqtt.Client, _u: object, _f: object, reason_code: object, _p: object) -> None:
        if getattr(reason_code, "is_failure", False):
            self.refused = str(reason_code)  # e.g. "Bad user name or password", "Not authorized"
            self._refused.set()
            logger.error(
                "the broker refused the connection", extra={"client_id": self.client_id, "reason": self.refused}
            )
            return
        if self.status_topic:
            self._announce.set()  # published by the next publish() call, not from paho's thread
        self._connected.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, reason_code: object, _p: object) -> None:
        if self._connected.is_set() and getattr(reason_code, "is_failure", False):
            # e.g. revoked or rotated credentials (the broker drops the client at its reload); paho retries
            logger.warning(
                "disconnected by the broker", extra={"client_id": self.client_id, "reason": str(reason_code)}
            )
        self._connected.clear()

    def connect(self, timeout: float = 15) -> None:
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        deadline = time.monotonic() + timeout
        while not self._connected.wait(0.05):
            if self._refused.is_set():
                self.client.loop_stop()
                raise ConnectionRefusedError(f"the broker refused the connection: {self.refused}")
            if time.monotonic() > deadline:
                self.client.loop_stop()
                raise ConnectionError(f"MQTT broker {self.host}:{self.port} not reachable within {timeout}s")

    def _on_publish(
        self, _client: mqtt.Client, _userdata: object, _mid: int, reason_code: object, _props: object
    ) -> None:
        with self._lock:
            if getattr(reason_code, "is_failure", False):
                self.counts.failed += 1
                self.counts.errors[str(reason_code)] = self.counts.errors.get(str(reason_code), 0) + 1
            else:
                self.counts.acked += 1
                if self.track_acked:
                    if _mid in self.pending:
                        self.acked_messages.append(self.pending.pop(_mid))
                    else:
                        self._early_acks.add(_mid)

    def publish(self, message: OutboundMessage, *, retry_for: float = 30.0) -> bool:
        """Publish, retrying while paho's queue is full or the link is down; False if it never went."""
        if self._announce.is_set() and self.status_topic:
            self._announce.clear()
            self._publish(OutboundMessage(self.status_topic, b"online", retain=True), retry_for)
        return self._publish(message, retry_for)

    def _publish(self, message: OutboundMessage, retry_for: float) -> bool:
        props = None
        if message.user_properties:
            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = list(message.user_properties)
        deadline = time.monotonic() + retry_for
        while True:
            # Not under self._lock: paho calls on_publish while holding its own message mutex, which
            # publish() also takes (lock-order deadlock). A PUBACK that beats us here is parked.
            info = self.client.publish(
                message.topic, message.payload, qos=message.qos, retain=message.retain, properties=props
            )
            taken = info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS or (
                info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and message.qos > 0
            )
            if taken:
                with self._lock:
                    self.counts.sent += 1
                    if self.track_acked:
                        if info.mid in self._early_acks:
                            self._early_acks.discard(info.mid)
                            self.acked_messages.append(message)
                        else:
                            self.pending[info.mid] = message
                return True
            with self._lock:
                name = mqtt.error_string(info.rc)
                self.counts.errors[name] = self.counts.errors.get(name, 0) + 1
            if time.monotonic() > deadline:
                with self._lock:
                    self.counts.failed += 1
                logger.error("publish failed", extra={"topic": message.topic, "error": name})
                return False
            with self._lock:
                self.counts.retried += 1
            time.sleep(0.05)

    def reconnect(self, timeout: float = 15) -> None:
        """Drop the connection and open it again (QoS 1 messages in flight are re-sent by paho)."""
        self.flush(timeout)
        self.client.disconnect()
        self.client.loop_stop()  # paho's network thread ends after an explicit disconnect
        self._connected.clear()
        self.client.reconnect()
        self.client.loop_start()
        if not self._connected.wait(timeout):
            raise ConnectionError("could not reconnect to the broker")
        self.reconnects += 1

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every QoS 1 publish is acknowledged or failed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self.counts.acked + self.counts.failed >= self.counts.sent:
                    return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        """Say "offline" (a clean DISCONNECT does not fire the will), wait for PUBACKs, disconnect."""
        if self.status_topic and self._connected.is_set():
            self._publish(OutboundMessage(self.status_topic, b"offline", retain=True), 5.0)
            self.flush(5.0)
        self.client.disconnect()
        self.client.loop_stop()
