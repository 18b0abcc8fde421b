"""Issue 19 item 0: ingest's MQTT client reads a PUBLISH paho 2.2 refuses, instead of dropping the connection.

The client overrides a private method of paho's (``Client._handle_publish``): the first test pins the paho
version and the shape of that method, so that an upgrade that changes them fails here, loudly, rather than
silently bringing the disconnect loop back."""

from __future__ import annotations

import inspect
import struct

import paho.mqtt
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt import _packet
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.exception import MalformedPacket

from ingest.consumer import MqttConsumer, SalvagedMessage, TolerantClient
from ingest.publish_packet import UnreadablePacket, read_publish


def test_paho_is_the_version_whose_private_publish_handling_we_override() -> None:
    assert paho.mqtt.__version__ == "2.2.0", (
        "re-read Client._handle_publish / _packet_read, then update ingest/consumer.py"
    )
    source = inspect.getsource(mqtt.Client._handle_publish)
    assert '_packet.decode_publish(self._in_packet["command"], self._in_packet["packet"]' in source
    assert "self._handle_on_message(message)" in source
    assert "except MalformedPacket" in inspect.getsource(mqtt.Client._packet_read)
    assert callable(_packet.decode_publish) and callable(mqtt.Client._send_puback)


def _string(raw: bytes) -> bytes:
    return struct.pack("!H", len(raw)) + raw


def _publish(topic: bytes, props: bytes, payload: bytes, mid: int = 7) -> tuple[int, bytes]:
    """(fixed header byte, the rest) of a QoS 1 PUBLISH with a properties block as given."""
    return 0x32, _string(topic) + struct.pack("!H", mid) + bytes([len(props)]) + props + payload


def _user(key: bytes, value: bytes) -> bytes:
    return b"\x26" + _string(key) + _string(value)


def _handled(command: int, packet: bytes) -> tuple[MQTTErrorCode, list[mqtt.MQTTMessage]]:
    client = TolerantClient(CallbackAPIVersion.VERSION2, client_id="t", protocol=mqtt.MQTTv5, manual_ack=True)
    got: list[mqtt.MQTTMessage] = []
    client.on_message = lambda _c, _u, message: got.append(message)
    client._in_packet["command"] = command
    client._in_packet["packet"] = bytearray(packet)
    return client._handle_publish(), got


def test_paho_itself_refuses_u_feff_in_a_user_property() -> None:
    """The defect's cause, kept visible: when paho accepts U+FEFF, the salvage is no longer needed for it."""
    command, packet = _publish(b"bathy/d1/frame", _user(b"note", "\ufeff".encode()), b"jpeg")
    with pytest.raises(MalformedPacket, match="FEFF"):
        _packet.decode_publish(command, packet, mqtt.MQTTv5)


def test_u_feff_is_accepted_as_the_spec_says() -> None:
    command, packet = _publish(b"bathy/d1/frame", _user(b"ts", b"2026") + _user(b"note", "\ufeffLéa".encode()), b"J")
    rc, [message] = _handled(command, packet)
    assert rc == MQTTErrorCode.MQTT_ERR_SUCCESS
    assert isinstance(message, SalvagedMessage) and message.malformed is None
    assert message.topic == "bathy/d1/frame" and message.mid == 7 and message.qos == 1 and message.payload == b"J"
    assert message.user_properties == [("ts", "2026"), ("note", "\ufeffLéa")]


@pytest.mark.parametrize(
    ("props", "why"),
    [
        (_user(b"note", b"caf\xe9"), "User Property value is not UTF-8 (byte 0xe9 at offset 3)"),
        (_user(b"n\x00", b"v"), "User Property name holds U+0000"),
        (b"\x7f\x00", "property id 0x7f is not a PUBLISH property"),
        (b"\x03" + _string(b"\xff"), "Content Type is not UTF-8"),
        (b"\x26\x00\x09ab", "properties not readable"),
    ],
)
def test_what_cannot_be_decoded_is_delivered_flagged_with_the_reason(props: bytes, why: str) -> None:
    command, packet = _publish(b"bathy/d1/frame", props, b"\xff\xd8payload")
    rc, [message] = _handled(command, packet)
    assert rc == MQTTErrorCode.MQTT_ERR_SUCCESS  # the connection is kept
    assert isinstance(message, SalvagedMessage) and message.malformed is not None
    assert why in message.malformed and message.payload == b"\xff\xd8payload" and message.mid == 7


def test_a_flagged_message_reaches_the_writer_as_malformed_with_its_kept_properties() -> None:
    consumer = MqttConsumer(
        host="localhost",
        port=1,
        client_id="t",
        topic_filters=("bathy/#",),
        credentials=None,
        receive_maximum=10,
        session_expiry_s=0,
        mount="devices/",
    )
    command, packet = _publish(b"devices/bathy/d1/frame", _user(b"ts", b"1") + _user(b"note", b"\xe9"), b"J", mid=9)
    consumer.client._in_packet["command"] = command
    consumer.client._in_packet["packet"] = bytearray(packet)
    assert consumer.client._handle_publish() == MQTTErrorCode.MQTT_ERR_SUCCESS
    delivery = consumer.deliveries.get_nowait()
    assert delivery.mid == 9 and delivery.qos == 1
    assert delivery.message.topic == "bathy/d1/frame" and delivery.message.payload == b"J"
    assert delivery.message.malformed and "not UTF-8" in delivery.message.malformed
    assert delivery.message.user_properties == {"ts": "1", "note": "\\xe9"}


def test_a_packet_whose_structure_is_broken_is_not_salvaged() -> None:
    with pytest.raises(UnreadablePacket):
        read_publish(0x32, b"\x00\x20bathy")  # a topic length past the packet's end
    with pytest.raises(MalformedPacket):  # paho's own handling stands: the connection is dropped
        _handled(0x32, b"\x00\x20bathy")
