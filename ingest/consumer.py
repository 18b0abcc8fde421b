"""The MQTT side of ingest: a paho-mqtt v5 client with a persistent session and manual acknowledgement.

- ``manual_ack=True``: paho does not PUBACK when on_message returns; the worker calls :meth:`ack` after
  the records are committed.
- ``clean_start=False`` + Session Expiry: the broker keeps the subscription and queues messages while
  the worker is down, and re-sends the unacknowledged ones when it comes back.
- Receive Maximum: the broker sends at most that many unacknowledged messages, which bounds the
  in-memory queue and turns a database outage into backpressure on the broker.
- Packet ids are only meaningful within one connection: a message received before a reconnect is
  never acknowledged after it (the broker re-sends it, and the write is idempotent).
"""

from __future__ import annotations

import logging
import struct
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from device_adapters.contract import InboundMessage
from ingest.handoff import Handoff
from ingest.publish_packet import SalvagedPublish, UnreadablePacket, read_publish

logger = logging.getLogger(__name__)


class SalvagedMessage(mqtt.MQTTMessage):
    """A PUBLISH paho could not decode, read by ``ingest/publish_packet.py``; ``malformed`` says what is wrong
    with it (None: nothing, paho was too strict, e.g. U+FEFF in a property: the message is an ordinary one)."""

    __slots__ = ("content_type", "malformed", "user_properties")

    def __init__(self, salvaged: SalvagedPublish, malformed: str | None) -> None:
        super().__init__(mid=salvaged.mid, topic=salvaged.topic)
        self.dup, self.qos, self.retain = salvaged.dup, salvaged.qos, salvaged.retain
        self.payload = salvaged.payload
        self.properties = None
        self.user_properties = salvaged.user_properties
        self.content_type = salvaged.content_type
        self.malformed = malformed


class TolerantClient(mqtt.Client):
    """paho's client, except that a PUBLISH paho refuses to decode does not drop the connection.

    paho 2.2's ``_handle_publish`` decodes with ``_packet.decode_publish``; a ``MalformedPacket`` there goes up
    to ``_packet_read``, which returns MQTT_ERR_PROTOCOL and the connection is closed; at QoS 1 the broker
    re-sends the message at every reconnect and nothing after it is ever delivered (issue 19 item 0). Here the
    packet is read again by our own defensive reader and handed to ``on_message`` like any other (flagged
    ``malformed`` when something in it really cannot be decoded: the writer dead-letters it, then it is
    acknowledged). This overrides a private method: ``tests/unit/test_consumer_salvage.py`` pins paho's
    version and the method's shape, so an upgrade that changes it fails loudly.
    """

    salvaged = 0  # PUBLISH packets paho refused and this client read itself

    def _handle_publish(self) -> MQTTErrorCode:
        try:
            return super()._handle_publish()
        except MalformedPacket as exc:
            return self._salvage_publish(exc)

    def _salvage_publish(self, error: MalformedPacket) -> MQTTErrorCode:
        try:
            salvaged = read_publish(self._in_packet["command"], self._in_packet["packet"])
        except (UnreadablePacket, struct.error) as exc:  # a broken frame, not only strict decoding
            logger.error("unreadable PUBLISH packet; the connection is dropped", extra={"error": str(exc)})
            raise error from exc
        malformed = None
        if salvaged.problems:
            malformed = f"the client refused the PUBLISH ({error}); " + "; ".join(salvaged.problems)
        self.salvaged += 1
        logger.warning(
            "PUBLISH refused by paho read by ingest's own reader",
            extra={"paho_error": str(error), "malformed": malformed or "no: accepted as it is"},
        )
        message = SalvagedMessage(salvaged, malformed)
        message.timestamp = mqtt.time_func()
        if message.qos == 2:  # never subscribed at QoS 2; kept as paho does it
            rc = self._send_pubrec(message.mid)
            message.state = mqtt.mqtt_ms_wait_for_pubrel
            with self._in_message_mutex:
                self._in_messages[message.mid] = message
            return rc
        self._handle_on_message(message)
        if message.qos == 1 and not self._manual_ack:
            return self._send_puback(message.mid)
        return MQTTErrorCode.MQTT_ERR_SUCCESS


@dataclass(frozen=True, slots=True)
class Delivery:
    """A received message plus what is needed to acknowledge it on the connection it came from."""

    message: InboundMessage
    mid: int
    qos: int
    generation: int


class MqttConsumer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        client_id: str,
        topic_filters: tuple[str, ...],
        credentials: tuple[str, str] | None,
        receive_maximum: int,
        session_expiry_s: int,
        share_group: str | None = None,
        keepalive_s: int = 30,
        mount: str = "",
    ) -> None:
        """``mount``: the device listeners' mount point; topics are received under it and handed on
        without it, as the device published them."""
        self.host, self.port = host, port
        self.mount = mount
        self.filters = tuple(
            f"$share/{share_group}/{mount}{f}" if share_group else f"{mount}{f}" for f in topic_filters
        )
        self.deliveries: Handoff[Delivery] = Handoff(soft_limit=2 * receive_maximum)
        self.connected = threading.Event()
        self.accepting = True
        self.generation = 0
        self._lock = threading.Lock()
        self._receive_maximum = receive_maximum
        self._session_expiry_s = session_expiry_s
        self._keepalive_s = keepalive_s
        self.dropped_while_stopping = 0
        self.ack_failures = 0
        self.retiring = False  # on connect: unsubscribe instead of subscribe (leaving a share group)
        self.unsubscribed = threading.Event()
        self.subscribed = threading.Event()  # the broker acknowledged the subscription (SUBACK)
        client = TolerantClient(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True)
        if credentials:
            client.username_pw_set(*credentials)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_unsubscribe = lambda *_: self.unsubscribed.set()
        client.on_subscribe = lambda *_: self.subscribed.set()
        self.client = client

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self._session_expiry_s
        props.ReceiveMaximum = self._receive_maximum
        # connect_async + loop_start: the first connection is retried like every later one.
        self.client.connect_async(
            self.host, self.port, keepalive=self._keepalive_s, clean_start=False, properties=props
        )
        self.client.loop_start()

    def stop_accepting(self) -> None:
        """Stop taking new messages (they stay unacknowledged: the broker re-sends them later)."""
        self.accepting = False

    def close(self, *, end_session: bool = False) -> None:
        """Disconnect and stop the network thread. The session stays on the broker (its queue keeps
        filling) unless ``end_session``: then Session Expiry 0 on DISCONNECT makes the broker drop it."""
        props = None
        if end_session:
            props = Properties(PacketTypes.DISCONNECT)
            props.SessionExpiryInterval = 0
        self.client.disconnect(properties=props)
        self.client.loop_stop()

    def ack(self, deliveries: list[Delivery]) -> int:
        """Acknowledge deliveries of the current connection; return how many were acknowledged."""
        sent = 0
        with self._lock:
            for d in deliveries:
                if d.qos == 0 or d.generation != self.generation or not self.connected.is_set():
                    continue
                rc = self.client.ack(d.mid, d.qos)
                if rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                    sent += 1
                else:
                    self.ack_failures += 1
        return sent

    # ---- paho callbacks (network thread) -------------------------------------------------------
    def _on_connect(
        self, client: mqtt.Client, _userdata: object, flags: mqtt.ConnectFlags, reason_code: object, _props: object
    ) -> None:
        if getattr(reason_code, "is_failure", False):
            logger.error("broker refused the connection", extra={"reason": str(reason_code)})
            return
        with self._lock:
            self.generation += 1
            self.connected.set()
        if self.retiring:
            client.unsubscribe(list(self.filters))
        else:
            # No retained messages at subscribe: they are state kept for late joiners (dashboards), not new
            # events. Mosquitto 2.0 would otherwise send every device's retained status to each new
            # member, shared subscriptions included (the MQTT 5 spec says it should not).
            # Retain As Published: ingest sees which messages a device asked the broker to keep.
            options = SubscribeOptions(
                qos=1, retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND, retainAsPublished=True
            )
            client.subscribe([(f, options) for f in self.filters])
        logger.info("connected", extra={"session_present": flags.session_present, "filters": ",".join(self.filters)})

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: object, _flags: object, reason_code: object, _props: object
    ) -> None:
        with self._lock:
            self.connected.clear()
            self.subscribed.clear()
            self.generation += 1
        logger.warning("disconnected", extra={"reason": str(reason_code)})

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        if not self.accepting:
            self.dropped_while_stopping += 1
            return
        malformed: str | None = None
        if isinstance(msg, SalvagedMessage):
            user_props = dict(msg.user_properties)
            content_type, malformed = msg.content_type, msg.malformed
        else:
            props = getattr(msg, "properties", None)
            user_props = dict(getattr(props, "UserProperty", []) or [])
            content_type = getattr(props, "ContentType", None)
        topic = msg.topic[len(self.mount) :] if self.mount and msg.topic.startswith(self.mount) else msg.topic
        message = InboundMessage(
            topic=topic,
            payload=bytes(msg.payload),
            received_at=datetime.now(UTC),
            user_properties=user_props,
            content_type=content_type,
            retain=bool(msg.retain),
            malformed=malformed,
        )
        self.deliveries.put(Delivery(message, msg.mid, msg.qos, self.generation))

    def clear_retained(self, topics: list[str]) -> int:
        """Delete the broker's retained copies on ``topics`` (device topics, as published): an empty
        retained message replaces them. Ingest receives that empty message too, and ignores it.
        Returns how many clears paho took."""
        taken = 0
        for topic in topics:
            info = self.client.publish(f"{self.mount}{topic}", b"", qos=1, retain=True)
            if info.rc in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                taken += 1
        return taken
