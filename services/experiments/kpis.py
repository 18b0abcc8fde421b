"""The KPIs an experiment is judged on, computed from the stored data over a period (docs/experiments.md).

Each KPI has a key (stable, for scripts), a French label and unit (for staff), and a definition (the API and
the docs show it); a value is None when the period holds nothing to compute it from (no mission, no
incident): "nothing happened" is not "0 %". Every query is one aggregate over the period's rows of the
experiment's devices, on indexed columns (time, device): a year of data is a read of that year's rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from device_adapters.capabilities import Capability
from device_adapters.family import Family, TimeBelow
from device_adapters.registry import FAMILIES, family_names, metric_catalog


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str  # French, for staff
    unit: str
    definition: str
    value: float | None


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400


def devices_of(
    conn: psycopg.Connection[Any], capability: Capability, family: str | None, chosen: Sequence[str]
) -> list[str]:
    """The experiment's devices: those it names, else its family's, else every device of a family that provides
    the capability."""
    if chosen:
        return sorted(chosen)
    families = [family] if family else list(family_names(capability))
    rows = conn.execute(  # a camera gateway (a Frigate server) speaks for cameras: it is no camera, nor a site
        "SELECT device_id FROM devices WHERE family = ANY(%s) "
        "AND device_id NOT IN (SELECT gateway_id FROM gateway_cameras) ORDER BY 1",
        (families,),
    ).fetchall()
    return [r["device_id"] for r in rows]


def _ratio(part: float | None, whole: float | None, times: float = 1.0) -> float | None:
    return round(times * part / whole, 3) if part is not None and whole else None


def _one(conn: psycopg.Connection[Any], query: str | sql.Composed, params: dict[str, Any]) -> dict[str, Any]:
    row = conn.execute(query, params).fetchone()
    assert row is not None  # an aggregate: one row
    return row


def pipe_inspection(conn: psycopg.Connection[Any], devices: list[str], period: Period) -> list[Kpi]:
    p = {"devices": devices, "start": period.start, "end": period.end}
    m = _one(
        conn,
        "WITH ms AS (SELECT m.mission_id, m.status, m.ended_at, coalesce(m.distance_m, (SELECT max(t.chainage_m) "
        "FROM drone_telemetry t WHERE t.mission_id = m.mission_id)) AS metres FROM missions m "
        "WHERE m.device_id = ANY(%(devices)s) AND m.started_at >= %(start)s AND m.started_at < %(end)s) "
        "SELECT count(*) AS missions, count(*) FILTER (WHERE status = 'completed') AS completed, "
        "count(*) FILTER (WHERE status = 'aborted') AS aborted, count(*) FILTER (WHERE status = 'failed') AS failed, "
        "count(*) FILTER (WHERE status = 'running') AS unfinished, sum(metres) AS metres FROM ms",
        p,
    )
    o = _one(
        conn,
        "WITH os AS (SELECT o.*, m.ended_at FROM observations o JOIN missions m ON m.mission_id = o.mission_id "
        "WHERE m.device_id = ANY(%(devices)s) AND m.started_at >= %(start)s AND m.started_at < %(end)s) "
        "SELECT " + ", ".join(
            f"count(*) FILTER (WHERE coalesce(recoded_grade, grade) = {g} AND state NOT IN ('rejected', "
            f"'withdrawn')) AS grade_{g}" for g in range(1, 6)
        ) + ", count(*) FILTER (WHERE state = 'confirmed') AS confirmed, "
        "count(*) FILTER (WHERE state IN ('confirmed', 'rejected', 'recoded')) AS reviewed, "
        "(SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FROM (SELECT extract(epoch FROM "
        "max(reviewed_at) - max(ended_at)) / 3600 AS hours FROM os GROUP BY mission_id HAVING max(ended_at) IS NOT "
        "NULL AND bool_and(state <> 'automatic')) r) AS review_hours FROM os",
        p,
    )  # fmt: skip
    metres = float(m["metres"]) if m["metres"] is not None else None
    per_grade = [
        Kpi(f"observations_per_100m_grade_{g}", f"Observations de gravité {g} pour 100 m", "/100 m",
            f"Observations of grade {g} (after review; rejected ones left out) per 100 m inspected.",
            _ratio(o[f"grade_{g}"], metres, 100))
        for g in range(1, 6)
    ]  # fmt: skip
    hours = o["review_hours"]
    return [
        Kpi("metres_inspected", "Mètres inspectés", "m",
            "Sum over the period's missions of their inspected length (the drone's distance, else its furthest "
            "chainage).", round(metres, 1) if metres is not None else 0.0),
        Kpi("missions_completed", "Missions terminées", "", "Missions started in the period that completed.",
            m["completed"]),
        Kpi("missions_aborted", "Missions abandonnées", "", "Missions the drone aborted.", m["aborted"]),
        Kpi("missions_failed", "Missions en échec", "", "Missions the drone reported failed.", m["failed"]),
        Kpi("missions_unfinished", "Missions non terminées", "",
            "Missions still running or interrupted (no end message).", m["unfinished"]),
        *per_grade,
        Kpi("production_precision", "Précision en production", "%",
            "Of the automatic observations a reviewer decided on, the share confirmed as found (recoded and "
            "rejected ones count against).", _ratio(o["confirmed"], o["reviewed"], 100)),
        Kpi("hours_to_reviewed_report", "Délai jusqu'au rapport revu (médiane)", "h",
            "Median, over missions ended and fully reviewed, of the time from the mission's end to its last "
            "review.", round(float(hours), 2) if hours is not None else None),
    ]  # fmt: skip


def camera_detections(conn: psycopg.Connection[Any], devices: list[str], period: Period) -> list[Kpi]:
    p = {"devices": devices, "start": period.start, "end": period.end}
    i = _one(
        conn,
        "WITH inc AS (SELECT i.id, i.state, i.began_at, i.cleared_at, i.device_id FROM incidents i "
        "WHERE i.device_id = ANY(%(devices)s) AND i.began_at >= %(start)s AND i.began_at < %(end)s), "
        "decided AS (SELECT t.incident_id, bool_or(t.kind = 'confirmed') AS was_confirmed, "
        "bool_or(t.kind = 'dismissed') AS was_dismissed FROM incident_timeline t JOIN inc ON inc.id = t.incident_id "
        "WHERE t.kind IN ('confirmed', 'dismissed') GROUP BY t.incident_id) "
        "SELECT count(*) AS suspected, count(*) FILTER (WHERE d.was_confirmed) AS confirmed, "
        "count(*) FILTER (WHERE d.was_dismissed) AS dismissed, count(*) FILTER (WHERE inc.state = 'dismissed' AND "
        "d.was_dismissed IS NOT TRUE) AS withdrawn, percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM "
        "inc.cleared_at - inc.began_at) / 60) FILTER (WHERE inc.cleared_at IS NOT NULL) AS clearance_min, "
        "count(DISTINCT inc.device_id) AS sites FROM inc LEFT JOIN decided d ON d.incident_id = inc.id",
        p,
    )
    weeks = period.days / 7  # 0 before the experiment starts: no rate
    median = i["clearance_min"]
    return [
        Kpi("incidents_suspected", "Dépôts suspectés", "", "Incidents the cameras raised in the period.",
            i["suspected"]),
        Kpi("incidents_confirmed", "Dépôts confirmés", "", "Of those, confirmed by an agent.", i["confirmed"]),
        Kpi("incidents_dismissed", "Dépôts écartés", "", "Of those, dismissed by an agent (not a dumping).",
            i["dismissed"]),
        Kpi("incidents_withdrawn", "Retirés par la caméra", "",
            "Of those, withdrawn by the camera itself (it took the object for a false positive).", i["withdrawn"]),
        Kpi("detection_precision", "Précision de détection", "%",
            "Confirmed / (confirmed + dismissed) among the incidents an agent decided on.",
            _ratio(i["confirmed"], i["confirmed"] + i["dismissed"], 100)),
        Kpi("median_minutes_to_clearance", "Délai médian d'enlèvement", "min",
            "Median time from an object's appearance to its clearance, over the cleared incidents.",
            round(float(median), 1) if median is not None else None),
        Kpi("incidents_per_site_per_week", "Dépôts par site et par semaine", "/site/semaine",
            "Incidents per camera of the experiment per week of the period.",
            _ratio(i["suspected"], len(devices) * weeks) if devices and weeks else None),
    ]  # fmt: skip


def families_of(conn: psycopg.Connection[Any], devices: list[str]) -> dict[str, list[str]]:
    """The devices by family name (registered families only)."""
    rows = conn.execute("SELECT device_id, family FROM devices WHERE device_id = ANY(%s)", (devices,)).fetchall()
    found: dict[str, list[str]] = {}
    for row in rows:
        if row["family"] in BY_NAME:
            found.setdefault(row["family"], []).append(row["device_id"])
    return found


BY_NAME = {f.name: f for f in FAMILIES}


def _readings_table(family: Family) -> str | None:
    metric = next(iter(family.adapter.metrics), None)
    return metric_catalog()[(family.name, metric.name)].table if metric is not None else None


# each device's status at the period's start (its last change before), then its changes within; each status
# lasts until the next change or the period's end: the online share of the time its status was known
UPTIME = """
WITH c AS (
    SELECT device_id, at, online FROM device_status_changes
    WHERE device_id = ANY(%(devices)s) AND at >= %(start)s AND at < %(end)s
    UNION ALL
    (SELECT DISTINCT ON (device_id) device_id, %(start)s::timestamptz, online FROM device_status_changes
     WHERE device_id = ANY(%(devices)s) AND at < %(start)s ORDER BY device_id, at DESC)
), spans AS (
    SELECT device_id, online, at, lead(at, 1, %(end)s::timestamptz) OVER (PARTITION BY device_id ORDER BY at) AS until
    FROM c
)
SELECT device_id, sum(extract(epoch FROM until - at)) FILTER (WHERE online) AS up,
       sum(extract(epoch FROM until - at)) AS known
FROM spans GROUP BY device_id
"""

# the cadence's slots with at least one reading, against the slots (clock-aligned, as time_bucket cuts them) from
# the device's first data on: its first message, or an earlier reading it uploaded from its buffer
COMPLETENESS = """
SELECT d.device_id,
       (SELECT count(DISTINCT time_bucket(%(slot)s, r.time)) FROM {table} r WHERE r.device_id = d.device_id
        AND r.time >= %(start)s AND r.time < %(end)s) AS slots,
       ceil(extract(epoch FROM %(end)s) / extract(epoch FROM %(slot)s))
       - floor(extract(epoch FROM greatest(%(start)s, d.since)) / extract(epoch FROM %(slot)s)) AS expected
FROM (
    SELECT device_id, least(first_seen, (SELECT min(r.time) FROM {table} r WHERE r.device_id = devices.device_id))
           AS since
    FROM devices WHERE device_id = ANY(%(devices)s)
) d
WHERE coalesce(d.since, %(start)s) < %(end)s
"""

# the device's cadence slots holding a reading below its threshold; per device along its (device, time) index, the
# slots come in order and count(DISTINCT) needs no sort (a GROUP BY of a year's slots spilled to disk: 3 s)
TIME_BELOW = r"""
SELECT coalesce(sum(b.slots), 0) * extract(epoch FROM %(slot)s) / 3600 AS hours
FROM (
    SELECT device_id, CASE WHEN labels ->> %(label)s ~ '^[0-9]{{1,3}}(\.[0-9]+)?$'
                           THEN (labels ->> %(label)s)::float ELSE %(threshold)s END AS threshold
    FROM devices WHERE device_id = ANY(%(devices)s)
) d, LATERAL (
    SELECT count(DISTINCT time_bucket(%(slot)s, r.time)) AS slots FROM {table} r
    WHERE r.device_id = d.device_id AND r.time >= %(start)s AND r.time < %(end)s AND r.{column} < d.threshold
) b
"""


def _percent_mean_and_lowest(shares: list[float]) -> tuple[float | None, float | None]:
    if not shares:
        return None, None
    return round(100 * sum(shares) / len(shares), 1), round(100 * min(shares), 1)


def _uptime(conn: psycopg.Connection[Any], devices: list[str], period: Period) -> list[float]:
    p = {"devices": devices, "start": period.start, "end": period.end}
    return [float(r["up"] or 0) / float(r["known"]) for r in conn.execute(UPTIME, p) if r["known"]]


@dataclass(frozen=True)
class Completeness:
    device_id: str
    family: str
    cadence_s: float
    slots_with_data: int
    slots_expected: float

    @property
    def share(self) -> float:
        return min(1.0, self.slots_with_data / self.slots_expected)


def completeness_by_device(
    conn: psycopg.Connection[Any], families: dict[str, list[str]], period: Period
) -> list[Completeness]:
    """Each device's cadence slots holding a reading over the period, for the families that declare a cadence
    (``Family.reports_every``), against the slots since its first data (left out: a device with no data before
    the period's end)."""
    found: list[Completeness] = []
    for name, devices in sorted(families.items()):
        family = BY_NAME[name]
        table = _readings_table(family)
        if family.reports_every is None or table is None:
            continue
        query = sql.SQL(COMPLETENESS).format(table=sql.Identifier(table))
        p = {"devices": devices, "start": period.start, "end": period.end, "slot": family.reports_every}
        cadence = family.reports_every.total_seconds()
        found += [
            Completeness(r["device_id"], family.name, cadence, r["slots"], float(r["expected"]))
            for r in conn.execute(query, p)
            if r["expected"] and r["expected"] >= 1
        ]
    return sorted(found, key=lambda c: c.device_id)


def _completeness(conn: psycopg.Connection[Any], families: dict[str, list[str]], period: Period) -> list[float]:
    return [c.share for c in completeness_by_device(conn, families, period)]


def _time_below(
    conn: psycopg.Connection[Any], below: TimeBelow, family: Family, devices: list[str], period: Period
) -> Kpi:
    spec = metric_catalog()[(family.name, below.metric)]
    assert family.reports_every is not None  # Family checks it
    query = sql.SQL(TIME_BELOW).format(table=sql.Identifier(spec.table), column=sql.Identifier(spec.column))
    p = {"devices": devices, "start": period.start, "end": period.end, "slot": family.reports_every,
         "threshold": below.threshold, "label": below.per_device_label or ""}  # fmt: skip
    hours = _one(conn, query, p)["hours"]
    own = f" (or the sensor's label {below.per_device_label})" if below.per_device_label else ""
    return Kpi(
        f"{below.key}_per_device", below.label_fr, "h",
        f"Hours in the {family.name} cadence's slots ({family.reports_every}) holding a reading of {below.metric} "
        f"below {below.threshold:g}{own}, per device of the experiment; a slot without a reading counts nothing.",
        _ratio(float(hours), len(devices)) if devices else None,
    )  # fmt: skip


def readings(conn: psycopg.Connection[Any], devices: list[str], period: Period) -> list[Kpi]:
    p = {"devices": devices, "start": period.start, "end": period.end}
    a = _one(
        conn,
        "SELECT count(*) AS raised, count(*) FILTER (WHERE acknowledged_at IS NOT NULL OR resolution = 'by_hand') "
        "AS acknowledged FROM alerts WHERE device_id = ANY(%(devices)s) AND fired_at >= %(start)s "
        "AND fired_at < %(end)s AND resolution IS DISTINCT FROM 'retracted'",
        p,
    )
    return [
        Kpi("alerts_raised", "Alertes levées", "", "Alerts fired for the experiment's sensors (retracted ones left "
            "out).", a["raised"]),
        Kpi("alerts_acknowledged_share", "Part des alertes prises en charge", "%",
            "Of those, the share a person acknowledged or resolved.", _ratio(a["acknowledged"], a["raised"], 100)),
    ] + [  # the families' own (a garden's dry soil): device_adapters/<family>/__init__.py
        _time_below(conn, below, BY_NAME[name], members, period)
        for name, members in sorted(families_of(conn, devices).items())
        for below in BY_NAME[name].time_below
    ]  # fmt: skip


def every_pilot(conn: psycopg.Connection[Any], devices: list[str], period: Period) -> list[Kpi]:
    d = _one(
        conn,
        "SELECT coalesce(sum(occurrences), 0) AS refused FROM dead_letters WHERE device_id = ANY(%(devices)s) "
        "AND last_received_at >= %(start)s AND last_received_at < %(end)s",
        {"devices": devices, "start": period.start, "end": period.end},
    )
    uptime, uptime_lowest = _percent_mean_and_lowest(_uptime(conn, devices, period))
    complete, complete_lowest = _percent_mean_and_lowest(_completeness(conn, families_of(conn, devices), period))
    return [
        Kpi("devices", "Équipements", "", "Devices in the experiment.", len(devices)),
        Kpi("uptime_share", "Disponibilité des équipements (moyenne)", "%",
            "Per device, the share of the period it was online by its own status topic (online, then offline or "
            "its last will), over the time its status was known; the mean over the devices that told one.", uptime),
        Kpi("uptime_share_lowest", "Disponibilité de l'équipement le moins disponible", "%",
            "The lowest of those shares.", uptime_lowest),
        Kpi("data_completeness", "Complétude des données (moyenne)", "%",
            "Per device of a family with a cadence (its contract: a garden sensor reads at least every 15 min), "
            "the share of the cadence's slots since it was first seen that hold a reading; the mean over them "
            "(none for missions and camera events, which have no cadence).", complete),
        Kpi("data_completeness_lowest", "Complétude du capteur le moins complet", "%",
            "The lowest of those shares.", complete_lowest),
        Kpi("dead_letters_per_device_per_day", "Messages refusés par équipement et par jour", "/jour",
            "Messages refused by ingest (dead-lettered: malformed, out of range, unknown topic) per device per "
            "day of the period.", _ratio(d["refused"], len(devices) * period.days) if devices else None),
    ]  # fmt: skip


BY_CAPABILITY: dict[Capability, Callable[[psycopg.Connection[Any], list[str], Period], list[Kpi]]] = {
    Capability.PIPE_INSPECTION: pipe_inspection,
    Capability.CAMERA_DETECTIONS: camera_detections,
    Capability.READINGS: readings,
}


def compute(conn: psycopg.Connection[Any], capability: Capability, devices: list[str], period: Period) -> list[Kpi]:
    return every_pilot(conn, devices, period) + BY_CAPABILITY[capability](conn, devices, period)


CITY_VOLUME = Kpi("city_recorded_volume_m3", "Volume déposé (registre de la ville)", "m³",
                  "The volume of the dumps in the city's own records imported as the baseline (the cameras do not "
                  "measure one: no value for the period).", None)  # fmt: skip


def city_baseline(
    conn: psycopg.Connection[Any], experiment_id: int, baseline: Period | None
) -> dict[str, float | None] | None:
    """The dumping pilot's baseline from the city's imported records (``records.py``), within the baseline
    period when the experiment has one; None without records. Each record is an incident the city saw."""
    row = _one(
        conn,
        "SELECT count(*) AS records, count(DISTINCT place) AS places, sum(volume_m3) AS volume, min(day) AS first, "
        "max(day) AS last FROM experiment_baseline_records WHERE experiment_id = %(id)s "
        "AND (%(start)s::timestamptz IS NULL OR (day >= (%(start)s AT TIME ZONE 'Europe/Paris')::date "
        "AND day < (%(end)s AT TIME ZONE 'Europe/Paris')::date))",
        {"id": experiment_id, "start": baseline.start if baseline else None, "end": baseline.end if baseline else None},
    )
    if not row["records"]:
        return None
    days = baseline.days if baseline else (row["last"] - row["first"]).days + 1
    weeks = days / 7
    return {
        "incidents_suspected": row["records"],
        "incidents_per_site_per_week": _ratio(row["records"], row["places"] * weeks) if weeks else None,
        CITY_VOLUME.key: round(float(row["volume"]), 3) if row["volume"] is not None else None,
    }
