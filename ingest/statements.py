"""How records are written: each family's storage specs (device_adapters/<family>/storage.py, gathered from
the registry) and the statements of what every family shares (devices, media, statuses, dead letters).
Bulk series go through COPY into a per-session staging table and one ``INSERT … SELECT … ON CONFLICT DO
NOTHING``; low-rate state is upserted row by row because its conflict rules merge states.
"""

from __future__ import annotations

from device_adapters.contract import DevicePosition, DeviceStatus
from device_adapters.registry import FAMILIES
from device_adapters.storage import CopyTarget, Upsert

# data_changed_at: the database's clock at each batch that wrote the device's data (a replay too, whose
# receive times are old): the alert evaluator re-evaluates the devices changed since it last looked.
# data_late_*: rows stamped more than 4 s before the batch (migration 0015): the evaluator reads only the
# readings stamped since its last pass minus 5 s (TAIL_MARGIN in services/alerts/evaluator.py) unless these
# say older ones just arrived, and from how far back (the oldest over 10-second spans, two spans kept).
UPSERT_DEVICE = """
INSERT INTO devices (device_id, family, first_seen, last_seen, data_changed_at,
                     data_late_at, data_late_from, data_late_since)
SELECT %(device_id)s, %(family)s, %(seen)s, %(seen)s, now(), late.at, late.from_, late.at
FROM (SELECT CASE WHEN %(oldest)s::timestamptz < now() - interval '4 seconds' THEN now() END AS at,
             CASE WHEN %(oldest)s::timestamptz < now() - interval '4 seconds' THEN %(oldest)s::timestamptz END
             AS from_) late
ON CONFLICT (device_id) DO UPDATE SET last_seen = GREATEST(devices.last_seen, EXCLUDED.last_seen),
    data_changed_at = now(),
    data_late_prev = CASE WHEN EXCLUDED.data_late_at IS NOT NULL
        AND NOT devices.data_late_since > now() - interval '10 seconds'
        THEN devices.data_late_from ELSE devices.data_late_prev END,
    data_late_from = CASE WHEN EXCLUDED.data_late_at IS NULL THEN devices.data_late_from
        WHEN devices.data_late_since > now() - interval '10 seconds'
        THEN LEAST(devices.data_late_from, EXCLUDED.data_late_from) ELSE EXCLUDED.data_late_from END,
    data_late_since = CASE WHEN EXCLUDED.data_late_at IS NULL THEN devices.data_late_since
        WHEN devices.data_late_since > now() - interval '10 seconds' THEN devices.data_late_since
        ELSE now() END,
    data_late_at = COALESCE(EXCLUDED.data_late_at, devices.data_late_at)
"""

INSERT_MEDIA = """
INSERT INTO media (sha256, content_type, size_bytes, width, height, family, device_id, personal, copy_pending)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (sha256) DO NOTHING
"""


# A device's own status messages. status_at is when the status *changed*: the same status again (a
# retained message re-delivered when a worker subscribes) changes nothing, and an older message (out
# of order across workers) never overwrites a newer one.
UPDATE_DEVICE_STATUS = """
UPDATE devices SET online = %(online)s, status_at = %(time)s
WHERE device_id = %(device_id)s AND online IS DISTINCT FROM %(online)s
  AND (status_at IS NULL OR status_at <= %(time)s)
"""

# A device's own position fix (device_adapters/position.py): the latest fix wins over an older one and over
# the provisioning guess; a position staff set through the API ('api') is kept until they remove it.
UPDATE_DEVICE_POSITION = """
UPDATE devices SET lat = %(lat)s, lon = %(lon)s, position_source = 'device', position_at = %(time)s,
                   position_accuracy_m = %(accuracy_m)s
WHERE device_id = %(device_id)s AND position_source IS DISTINCT FROM 'api'
  AND (position_source IS DISTINCT FROM 'device' OR position_at <= %(time)s)
"""

# Families whose images show people: their media rows are personal (served to police only, via incidents).
PERSONAL_IMAGES = frozenset(family.name for family in FAMILIES if family.personal_images)

# Every family's specs, from the registry: ingest has no line per family.
COPY_TARGETS: tuple[CopyTarget, ...] = tuple(
    spec for family in FAMILIES for spec in family.storage if isinstance(spec, CopyTarget)
)
UPSERTS: dict[type, str] = {
    DeviceStatus: UPDATE_DEVICE_STATUS,
    DevicePosition: UPDATE_DEVICE_POSITION,
    **{spec.record_type: spec.sql for family in FAMILIES for spec in family.storage if isinstance(spec, Upsert)},
}

UPSERT_DEAD_LETTER = """
INSERT INTO dead_letters (first_received_at, last_received_at, topic, topic_sha256, family, device_id, reason_code,
                          reason, payload, payload_size, payload_sha256, user_properties, properties_sha256)
VALUES (%(received_at)s, %(received_at)s, %(topic)s, %(topic_sha256)s, %(family)s, %(device_id)s, %(reason_code)s,
        %(reason)s, %(payload)s, %(payload_size)s, %(payload_sha256)s, %(user_properties)s,
        encode(sha256(convert_to(%(user_properties)s::jsonb::text, 'UTF8')), 'hex'))
ON CONFLICT (topic_sha256, payload_sha256, properties_sha256) DO UPDATE SET
    occurrences = dead_letters.occurrences + 1,
    last_received_at = GREATEST(dead_letters.last_received_at, EXCLUDED.last_received_at),
    reason_code = EXCLUDED.reason_code, reason = EXCLUDED.reason
"""
