"""How each record type is written. Bulk series go through COPY into a per-session staging table and
one ``INSERT … SELECT … ON CONFLICT DO NOTHING``; low-rate state (missions, events) is upserted row by
row because its conflict rules merge states.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

from device_adapters.contract import (
    CameraEvent,
    CameraSnapshot,
    DeviceStatus,
    DroneFrame,
    DroneTelemetry,
    GardenReading,
    MissionEnd,
    MissionStart,
)


@dataclass(frozen=True)
class CopyTarget:
    """A table filled by COPY through a staging table, deduplicated on its unique ``key``.

    A staged row whose key is already stored is a *duplicate* when its ``compared`` columns are equal
    (a redelivery: dropped) and a *conflict* when they differ (two different readings claiming the same
    instant: the message is dead-lettered, never silently dropped). ``msg`` in the staging table maps
    a row back to its message in the batch.
    """

    record_type: type
    table: str
    key: tuple[str, ...]
    compared: tuple[str, ...] = ()

    @functools.cached_property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self.record_type))

    @property
    def stage(self) -> str:
        return f"stage_{self.table}"

    def create_stage_sql(self) -> str:
        return (
            f"CREATE TEMP TABLE IF NOT EXISTS {self.stage} "
            f"(LIKE {self.table} INCLUDING DEFAULTS, msg integer NOT NULL) ON COMMIT DELETE ROWS"
        )

    def copy_sql(self) -> str:
        return f"COPY {self.stage} ({', '.join(self.columns)}, msg) FROM STDIN"

    def merge_sql(self) -> str:
        cols = ", ".join(self.columns)
        return f"INSERT INTO {self.table} ({cols}) SELECT {cols} FROM {self.stage} ON CONFLICT DO NOTHING"

    def conflicts_sql(self) -> str:
        """Staged rows whose key is stored with other values (run after the merge)."""
        on = " AND ".join(f"t.{k} = s.{k}" for k in self.key)
        left = ", ".join(f"t.{c}" for c in self.compared)
        right = ", ".join(f"s.{c}" for c in self.compared)
        keys = ", ".join(f"s.{k}" for k in self.key)
        return (
            f"SELECT DISTINCT s.msg, {keys} FROM {self.stage} s JOIN {self.table} t ON {on} "
            f"WHERE ROW({left}) IS DISTINCT FROM ROW({right})"
        )

    def row(self, record: Any, msg: int) -> tuple[Any, ...]:
        return (*(getattr(record, c) for c in self.columns), msg)

    def __hash__(self) -> int:  # cached_property needs a __dict__; frozen dataclasses keep hashing by fields
        return hash((self.record_type, self.table, self.key, self.compared))


def _others(record_type: type, *key: str) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(record_type) if f.name not in key)


COPY_TARGETS: tuple[CopyTarget, ...] = (
    CopyTarget(GardenReading, GardenReading.table, ("device_id", "time"), _others(GardenReading, "device_id", "time")),
    CopyTarget(
        DroneTelemetry, DroneTelemetry.table, ("device_id", "time"), _others(DroneTelemetry, "device_id", "time")
    ),
    CopyTarget(DroneFrame, DroneFrame.table, ("device_id", "time"), _others(DroneFrame, "device_id", "time")),
    # a snapshot sent without a `ts` property takes the receive time, which differs on redelivery
    CopyTarget(CameraSnapshot, CameraSnapshot.table, ("event_id", "media_sha256"), ("device_id",)),
)

UPSERT_DEVICE = """
INSERT INTO devices (device_id, family, first_seen, last_seen) VALUES (%s, %s, %s, %s)
ON CONFLICT (device_id) DO UPDATE SET last_seen = GREATEST(devices.last_seen, EXCLUDED.last_seen)
"""

INSERT_MEDIA = """
INSERT INTO media (sha256, content_type, size_bytes, width, height, family, device_id)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (sha256) DO NOTHING
"""

# A mission row may be created by its end message if that arrives first (late or out-of-order data);
# the start message then fills in the header without touching the end.
UPSERT_MISSION_START = """
INSERT INTO missions (mission_id, device_id, started_at, pipe_id, start_manhole, end_manhole, direction,
                      diameter_mm, material, operator, notes)
VALUES (%(mission_id)s, %(device_id)s, %(started_at)s, %(pipe_id)s, %(start_manhole)s, %(end_manhole)s,
        %(direction)s, %(diameter_mm)s, %(material)s, %(operator)s, %(notes)s)
ON CONFLICT (mission_id) DO UPDATE SET
    started_at = EXCLUDED.started_at, pipe_id = EXCLUDED.pipe_id, start_manhole = EXCLUDED.start_manhole,
    end_manhole = EXCLUDED.end_manhole, direction = EXCLUDED.direction, diameter_mm = EXCLUDED.diameter_mm,
    material = EXCLUDED.material, operator = EXCLUDED.operator, notes = EXCLUDED.notes
WHERE missions.started_at IS NULL AND missions.device_id = EXCLUDED.device_id
"""

UPSERT_MISSION_END = """
INSERT INTO missions (mission_id, device_id, ended_at, status, distance_m)
VALUES (%(mission_id)s, %(device_id)s, %(ended_at)s, %(status)s, %(distance_m)s)
ON CONFLICT (mission_id) DO UPDATE SET
    ended_at = EXCLUDED.ended_at, status = EXCLUDED.status, distance_m = EXCLUDED.distance_m
WHERE missions.ended_at IS DISTINCT FROM EXCLUDED.ended_at AND missions.device_id = EXCLUDED.device_id
"""

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

# A device's own status messages. status_at is when the status *changed*: the same status again (a
# retained message re-delivered when a worker subscribes) changes nothing, and an older message (out
# of order across workers) never overwrites a newer one.
UPDATE_DEVICE_STATUS = """
UPDATE devices SET online = %(online)s, status_at = %(time)s
WHERE device_id = %(device_id)s AND online IS DISTINCT FROM %(online)s
  AND (status_at IS NULL OR status_at <= %(time)s)
"""

UPSERTS: dict[type, str] = {
    MissionStart: UPSERT_MISSION_START,
    MissionEnd: UPSERT_MISSION_END,
    CameraEvent: UPSERT_CAMERA_EVENT,
    DeviceStatus: UPDATE_DEVICE_STATUS,
}

UPSERT_DEAD_LETTER = """
INSERT INTO dead_letters (first_received_at, last_received_at, topic, topic_sha256, family, device_id, reason_code,
                          reason, payload, payload_size, payload_sha256, user_properties)
VALUES (%(received_at)s, %(received_at)s, %(topic)s, %(topic_sha256)s, %(family)s, %(device_id)s, %(reason_code)s,
        %(reason)s, %(payload)s, %(payload_size)s, %(payload_sha256)s, %(user_properties)s)
ON CONFLICT (topic_sha256, payload_sha256) DO UPDATE SET
    occurrences = dead_letters.occurrences + 1,
    last_received_at = GREATEST(dead_letters.last_received_at, EXCLUDED.last_received_at),
    reason_code = EXCLUDED.reason_code, reason = EXCLUDED.reason
"""
