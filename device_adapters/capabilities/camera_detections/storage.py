"""How the camera detections' records are stored, for every camera family: a family that provides the
capability declares ``storage=STORAGE`` (the specs of the records it sends; extra specs for records of
its own). An event's latest state replaces the older one (no SQL of its own); snapshots are keyed on
event, camera and image (an event's images are its own camera's only: migration karroad_0007)."""

from __future__ import annotations

from device_adapters.capabilities.camera_detections.records import CameraEvent, CameraSnapshot, LabelSnapshot
from device_adapters.storage import CopyTarget, StorageSpec, latest_state

STORAGE: tuple[StorageSpec, ...] = (
    # a redelivered or late 'update' never undoes an 'end'
    latest_state(CameraEvent, key="event_id", version="updated_at"),
    # a snapshot sent without a time of its own takes the receive time, which differs on redelivery; another
    # camera's snapshot under the same event id is its own row, never one of that event's images
    CopyTarget(CameraSnapshot, CameraSnapshot.table, ("event_id", "device_id", "media_sha256")),
    # a gateway's label snapshots are retained: the same bytes come again on every reconnect; the first is kept
    CopyTarget(LabelSnapshot, LabelSnapshot.table, ("device_id", "label", "media_sha256")),
)
