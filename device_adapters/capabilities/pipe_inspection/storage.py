"""How a pipe inspection is stored, whichever drone flew it: telemetry and frames are series; a mission is
state merged from its start and end. A family providing ``Capability.PIPE_INSPECTION`` stores its records
with ``STORAGE`` (its ``Family.storage``), into the tables of ``migrations/`` beside this file."""

from __future__ import annotations

from device_adapters.capabilities.pipe_inspection.records import DroneFrame, DroneTelemetry, MissionEnd, MissionStart
from device_adapters.storage import StorageSpec, Upsert, time_series


def mission_status(mission: str = "missions") -> str:
    """SQL: the status of the mission row ``mission`` (a table name or alias) as read. A mission the drone never
    ended (killed, out of battery) reads ``interrupted`` while the drone is offline (its link's last will) or
    once it has started another mission; the drone's own word wins when it comes (online again: running; its
    end: completed, aborted or failed). Derived on read: nothing to reconcile. The API's mission routes and the
    inspection report read it alike."""
    return (
        f"CASE WHEN {mission}.status = 'running' AND ("
        f"EXISTS (SELECT 1 FROM devices d WHERE d.device_id = {mission}.device_id AND d.online = false) "
        f"OR EXISTS (SELECT 1 FROM missions n WHERE n.device_id = {mission}.device_id "
        f"AND n.started_at > {mission}.started_at)) THEN 'interrupted' ELSE {mission}.status END"
    )


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

STORAGE: tuple[StorageSpec, ...] = (
    time_series(DroneTelemetry),
    time_series(DroneFrame),
    Upsert(MissionStart, UPSERT_MISSION_START),
    Upsert(MissionEnd, UPSERT_MISSION_END),
)
