"""The one list of device families: one line per family. Everything else (ingest's subscriptions and
writes, migrations, the API's reader policy, the simulators, ``./lab run``, the tests) derives from it.

A family kept out of this tree (a pilot's own, under development) is registered without editing this
file by naming its module in ``TLAB_EXTRA_FAMILIES`` (comma-separated importable modules, each exporting
``FAMILY``), for every process of the platform alike; the test suite mounts its fixture family this way.
"""

from __future__ import annotations

import importlib
import os

from device_adapters import bathy, karroad, ptipot
from device_adapters.capabilities import Capability
from device_adapters.contract import Decoded, DeviceAdapter, InboundMessage, MetricSpec, Rejection
from device_adapters.family import Family
from device_adapters.position import POSITION_LEVEL, decode_position, is_position_topic
from device_adapters.status import AVAILABLE_LEVEL, STATUS_LEVEL, decode_status, is_status_topic
from device_adapters.validation import topic_pattern

BUILT_IN: tuple[Family, ...] = (
    ptipot.FAMILY,
    bathy.FAMILY,
    karroad.FAMILY,
)


def _extra_families() -> tuple[Family, ...]:
    names = [n.strip() for n in os.environ.get("TLAB_EXTRA_FAMILIES", "").split(",") if n.strip()]
    found = []
    for name in names:
        try:
            found.append(importlib.import_module(name).FAMILY)
        except ModuleNotFoundError as exc:
            raise ImportError(
                f"TLAB_EXTRA_FAMILIES names {name!r}, which cannot be imported ({exc}): "
                "put the folder that holds it on PYTHONPATH"
            ) from exc
    return tuple(found)


FAMILIES: tuple[Family, ...] = BUILT_IN + _extra_families()
if len({f.name for f in FAMILIES}) != len(FAMILIES) or len({f.adapter.topic_root for f in FAMILIES}) != len(FAMILIES):
    raise ValueError(f"two families share a name or a topic root: {[f.name for f in FAMILIES]}")

ADAPTERS: dict[str, DeviceAdapter] = {family.adapter.topic_root: family.adapter for family in FAMILIES}

# Topic filters ingest subscribes to: one per family root.
TOPIC_FILTERS: tuple[str, ...] = tuple(f"{root}/#" for root in ADAPTERS)


def adapter_for(topic: str) -> DeviceAdapter:
    root = topic.split("/", 1)[0]
    adapter = ADAPTERS.get(root)
    if adapter is None:
        raise Rejection("unknown_family", f"no device adapter owns topic root {root!r} (known: {sorted(ADAPTERS)})")
    return adapter


def decode(message: InboundMessage) -> Decoded:
    """Route a message to its family's adapter (or to the status or position decoder every family shares); raises
    Rejection for anything that cannot be stored."""
    adapter = adapter_for(message.topic)
    if is_status_topic(message.topic):
        return decode_status(adapter.family, message)
    if is_position_topic(message.topic):
        return decode_position(adapter.family, message)
    return adapter.decode(message)


def may_be_retained(topic: str) -> bool:
    """A status topic, or a topic its family declares may be retained (``retained_shapes``: Frigate
    publishes its snapshots retained). Ingest dead-letters any other retained message."""
    if is_status_topic(topic):
        return True
    adapter = ADAPTERS.get(topic.split("/", 1)[0])
    shapes: tuple[str, ...] = getattr(adapter, "retained_shapes", ())
    return any(topic_pattern(shape).fullmatch(topic) for shape in shapes)


def family(name: str) -> Family:
    found = next((f for f in FAMILIES if f.name == name), None)
    if found is None:
        raise KeyError(f"unknown family {name!r} (known: {', '.join(f.name for f in FAMILIES)})")
    return found


def providing(capability: Capability) -> tuple[Family, ...]:
    """The registered families that provide ``capability``: what a service serves (it never names one)."""
    return tuple(f for f in FAMILIES if capability in f.provides)


def family_names(capability: Capability) -> tuple[str, ...]:
    return tuple(f.name for f in providing(capability))


def device_topics(family: str, device_id: str) -> list[str]:
    """The topic filters ``device_id`` may publish on: its family's declared shapes with its id filled in
    and every other placeholder a single-level wildcard, plus its status topic (both its names) and its
    position topic."""
    adapter = next(a for a in ADAPTERS.values() if a.family == family)
    filters = []
    root = adapter.topic_root
    shared = (f"{root}/<device_id>/{STATUS_LEVEL}", f"{root}/<device_id>/{AVAILABLE_LEVEL}",
              f"{root}/<device_id>/{POSITION_LEVEL}")  # fmt: skip
    for shape in (*adapter.topic_shapes, *shared):
        levels = shape.split("/")
        filled = [device_id if i == 1 else ("+" if lvl.startswith("<") else lvl) for i, lvl in enumerate(levels)]
        filters.append("/".join(filled))
    return filters


def metric_catalog() -> dict[tuple[str, str], MetricSpec]:
    """(family, metric name) -> where that series lives."""
    return {(a.family, m.name): m for a in ADAPTERS.values() for m in a.metrics}
