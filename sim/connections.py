"""One MQTT connection per simulated device, as in the field: each device logs in with its own
credentials, may publish only under its own topics (the broker's ACL), and leaves a last will on
``<family>/<device_id>/status``. Counts are summed over the fleet."""

from __future__ import annotations

from collections.abc import Mapping

from core.settings import Settings
from sim.publisher import CountingPublisher, OutboundMessage, PublishCounts


class DeviceConnections:
    def __init__(self, settings: Settings, devices: Mapping[str, str], secrets: Mapping[str, str]) -> None:
        """``devices``: device id -> family; ``secrets``: device id -> MQTT password."""
        self.publishers = {
            device_id: CountingPublisher(
                settings.mqtt_host,
                settings.mqtt_port,
                client_id=device_id,  # a device's stable identity, as real devices use
                credentials=(device_id, secrets[device_id]),
                status_topic=f"{family}/{device_id}/status",
            )
            for device_id, family in devices.items()
        }

    def connect(self) -> None:
        connected: list[CountingPublisher] = []
        try:
            for publisher in self.publishers.values():
                publisher.connect()
                connected.append(publisher)
        except ConnectionError:
            for publisher in connected:
                publisher.close()
            raise

    def publish(self, message: OutboundMessage) -> bool:
        device_id = message.topic.split("/")[1]
        return self.publishers[device_id].publish(message)

    def reconnect(self) -> None:
        for publisher in self.publishers.values():
            publisher.reconnect()

    def flush(self, timeout: float = 30.0) -> bool:
        return all(publisher.flush(timeout) for publisher in self.publishers.values())

    def close(self) -> None:
        for publisher in self.publishers.values():
            publisher.close()

    @property
    def reconnects(self) -> int:
        return max((p.reconnects for p in self.publishers.values()), default=0)

    @property
    def counts(self) -> PublishCounts:
        total = PublishCounts()
        for publisher in self.publishers.values():
            c = publisher.counts
            total.sent += c.sent
            total.acked += c.acked
            total.failed += c.failed
            total.retried += c.retried
            for name, n in c.errors.items():
                total.errors[name] = total.errors.get(name, 0) + n
        return total
