"""The one place where device families are registered (tests fail if a folder is not listed here)."""

from __future__ import annotations

from device_adapters.bathy import BathyAdapter
from device_adapters.contract import Decoded, DeviceAdapter, InboundMessage, MetricSpec, Rejection
from device_adapters.karroad import KarroadAdapter
from device_adapters.ptipot import PtipotAdapter
from device_adapters.status import STATUS_LEVEL, decode_status, is_status_topic

ADAPTERS: dict[str, DeviceAdapter] = {
    adapter.topic_root: adapter for adapter in (PtipotAdapter(), BathyAdapter(), KarroadAdapter())
}

# Topic filters ingest subscribes to: one per family root.
TOPIC_FILTERS: tuple[str, ...] = tuple(f"{root}/#" for root in ADAPTERS)


def adapter_for(topic: str) -> DeviceAdapter:
    root = topic.split("/", 1)[0]
    adapter = ADAPTERS.get(root)
    if adapter is None:
        raise Rejection("unknown_family", f"no device adapter owns topic root {root!r} (known: {sorted(ADAPTERS)})")
    return adapter


def decode(message: InboundMessage) -> Decoded:
    """Route a message to its family's adapter (or to the status decoder every family shares); raises
    Rejection for anything that cannot be stored."""
    adapter = adapter_for(message.topic)
    if is_status_topic(message.topic):
        return decode_status(adapter.family, message)
    return adapter.decode(message)


def device_topics(family: str, device_id: str) -> list[str]:
    """The topic filters ``device_id`` may publish on: its family's declared shapes with its id filled in
    and every other placeholder a single-level wildcard, plus its status topic."""
    adapter = next(a for a in ADAPTERS.values() if a.family == family)
    filters = []
    for shape in (*adapter.topic_shapes, f"{adapter.topic_root}/<device_id>/{STATUS_LEVEL}"):
        levels = shape.split("/")
        filled = [device_id if i == 1 else ("+" if lvl.startswith("<") else lvl) for i, lvl in enumerate(levels)]
        filters.append("/".join(filled))
    return filters


def metric_catalog() -> dict[tuple[str, str], MetricSpec]:
    """(family, metric name) -> where that series lives."""
    return {(a.family, m.name): m for a in ADAPTERS.values() for m in a.metrics}
