"""Karroad's storage: an event's latest state (upserted), snapshots keyed on event and image."""

from __future__ import annotations

from device_adapters.karroad.records import CameraEvent, CameraSnapshot
from device_adapters.storage import CopyTarget, StorageSpec, Upsert

# Only a newer state replaces an event (a redelivered or late 'update' never undoes an 'end').
UPSERT_CAMERA_EVENT = """
INSERT INTO camera_events (event_id, device_id, source, event_type, updated_at, label, score, box, zone,
                           start_time, end_time, stationary, has_snapshot)
VALUES (%(event_id)s, %(device_id)s, %(source)s, %(event_type)s, %(updated_at)s, %(label)s, %(score)s,
        %(box)s, %(zone)s, %(start_time)s, %(end_time)s, %(stationary)s, %(has_snapshot)s)
ON CONFLICT (event_id) DO UPDATE SET
    event_type = EXCLUDED.event_type, updated_at = EXCLUDED.updated_at, label = EXCLUDED.label,
    score = EXCLUDED.score, box = EXCLUDED.box, zone = EXCLUDED.zone, end_time = EXCLUDED.end_time,
    stationary = EXCLUDED.stationary, has_snapshot = EXCLUDED.has_snapshot
WHERE camera_events.updated_at < EXCLUDED.updated_at AND camera_events.device_id = EXCLUDED.device_id
"""

STORAGE: tuple[StorageSpec, ...] = (
    Upsert(CameraEvent, UPSERT_CAMERA_EVENT),
    # a snapshot sent without a `ts` property takes the receive time, which differs on redelivery
    CopyTarget(CameraSnapshot, CameraSnapshot.table, ("event_id", "media_sha256"), ("device_id",)),
)
