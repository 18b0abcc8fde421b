"""Karroad's storage: an event's latest state (a newer state replaces an older one: no SQL of its own),
snapshots keyed on event and image."""

from __future__ import annotations

from device_adapters.karroad.records import CameraEvent, CameraSnapshot, LabelSnapshot
from device_adapters.storage import CopyTarget, StorageSpec, latest_state

STORAGE: tuple[StorageSpec, ...] = (
    # a redelivered or late 'update' never undoes an 'end'
    latest_state(CameraEvent, key="event_id", version="updated_at"),
    # a snapshot sent without a `ts` property takes the receive time, which differs on redelivery
    CopyTarget(CameraSnapshot, CameraSnapshot.table, ("event_id", "media_sha256"), ("device_id",)),
    # Frigate's snapshots are retained: the same bytes come again on every reconnect; the first is kept
    CopyTarget(LabelSnapshot, LabelSnapshot.table, ("device_id", "label", "media_sha256")),
)
