"""Device registry and per-metric readings (raw or time_bucket aggregates)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from psycopg import sql

from device_adapters.registry import ADAPTERS, metric_catalog
from services.api.csv_export import Column, Dialect, DialectQuery, csv_response, time_column
from services.api.deps import ConnDep, PrincipalDep, require_family_reader
from services.api.limits import MAX_BUCKETED_SPAN, MAX_RAW_SPAN
from services.api.pagination import Cursor, after, decode_cursor, next_cursor
from services.api.schemas import (
    BucketedReading,
    Device,
    DeviceDetail,
    Limit,
    Metric,
    Offset,
    Page,
    Reading,
    invalid,
    label_filter,
    page,
    parse_bucket,
    position_of,
    time_range,
)

router = APIRouter(tags=["devices"])

DEVICE_COLUMNS = """device_id, family, pilot, location, description, labels, first_seen, last_seen,
    CASE WHEN online IS NULL THEN 'unknown' WHEN online THEN 'online' ELSE 'offline' END AS status, status_at,
    CASE WHEN mqtt_password_hash IS NOT NULL THEN 'active' WHEN revoked_at IS NOT NULL THEN 'revoked'
         ELSE 'none' END AS credentials, lat, lon, position_source, position_at, position_accuracy_m"""


def _metrics_of(family: str) -> list[Metric]:
    adapter = next((a for a in ADAPTERS.values() if a.family == family), None)
    metrics = adapter.metrics if adapter else ()
    return [Metric(family=family, name=m.name, unit=m.unit, description=m.description) for m in metrics]


@router.get("/metrics", summary="Every numeric series the platform stores, by device family")
def list_metrics() -> list[Metric]:
    return [
        Metric(family=fam, name=m.name, unit=m.unit, description=m.description)
        for (fam, _), m in metric_catalog().items()
    ]


@router.get("/devices", summary="The device registry (online/offline, last seen), most recently seen first")
def list_devices(
    conn: ConnDep,
    family: str | None = None,
    status: Annotated[Literal["online", "offline", "unknown"] | None, Query(description="Link status.")] = None,
    label: Annotated[
        list[str] | None, Query(max_length=20, description="`key=value`, repeatable: all must be on the device.")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[Device]:
    rows = conn.execute(
        f"SELECT * FROM (SELECT {DEVICE_COLUMNS} FROM devices) d "
        "WHERE (%(family)s::text IS NULL OR family = %(family)s) AND (%(status)s::text IS NULL OR status = %(status)s) "
        "AND (%(labels)s::jsonb IS NULL OR labels @> %(labels)s) "
        "ORDER BY last_seen DESC NULLS LAST, device_id LIMIT %(limit)s OFFSET %(offset)s",
        {"family": family, "status": status, "labels": label_filter(label), "limit": limit, "offset": offset},
    ).fetchall()
    return page([Device(position=position_of(r), **r) for r in rows], limit, offset)  # position_of takes its keys


def _device(conn: ConnDep, device_id: str) -> dict:
    row = conn.execute(f"SELECT {DEVICE_COLUMNS} FROM devices WHERE device_id = %s", (device_id,)).fetchone()
    if row is None:
        raise HTTPException(404, f"device {device_id!r} not found")
    return row


@router.get("/devices/{device_id}", summary="One device with the metrics it can have")
def get_device(conn: ConnDep, device_id: str) -> DeviceDetail:
    row = _device(conn, device_id)
    position = position_of(row)
    return DeviceDetail(**row, position=position, metrics=_metrics_of(row["family"]))


@router.get(
    "/devices/{device_id}/readings",
    summary="One metric of one device over a time range; with `bucket`, aggregated by time_bucket",
    response_model=Page[BucketedReading] | Page[Reading],
)
def get_readings(
    conn: ConnDep,
    principal: PrincipalDep,
    request: Request,
    device_id: str,
    metric: Annotated[str, Query(description="Metric name, see /v1/metrics (e.g. soil_vwc_pct).")],
    start: Annotated[
        datetime | None,
        Query(description="Inclusive start; default end - 24 h. At most 31 days before end (366 with `bucket`)."),
    ] = None,
    end: Annotated[datetime | None, Query(description="Exclusive end; default now.")] = None,
    bucket: Annotated[str | None, Query(description="Aggregate per interval: 30s, 15m, 1h, 1d.")] = None,
    limit: Limit = 1000,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> Page[BucketedReading] | Page[Reading]:
    family = _device(conn, device_id)["family"]
    require_family_reader(request, principal, family)
    spec = metric_catalog().get((family, metric))
    if spec is None:
        known = ", ".join(m.name for m in _metrics_of(family)) or "none"
        raise HTTPException(404, f"metric {metric!r} does not exist for {family} devices (known: {known})")
    start, end = time_range(start, end, timedelta(hours=24), MAX_RAW_SPAN if bucket is None else MAX_BUCKETED_SPAN)
    # the cursor is the time of the page's last point (or bucket): the next page starts after it
    key = decode_cursor(cursor, (datetime,), offset)
    params = {"device": device_id, "start": start, "end": end, "limit": limit, "offset": offset}
    column, table = sql.Identifier(spec.column), sql.Identifier(spec.table)
    if bucket is None:
        keyset, key_params = after(("time",), key, descending=False)
        query = sql.SQL(
            "SELECT time, {col} AS value FROM {tab} WHERE device_id = %(device)s AND time >= %(start)s "
            "AND time < %(end)s AND {col} IS NOT NULL{keyset} ORDER BY time LIMIT %(limit)s OFFSET %(offset)s"
        ).format(col=column, tab=table, keyset=keyset)
        rows = conn.execute(query, {**params, **key_params}).fetchall()
        following = next_cursor(rows, limit, ("time",))
        return page([Reading(**r) for r in rows], limit, offset, following, by_cursor=key is not None)
    params["width"] = parse_bucket(bucket)
    if key is not None:  # buckets are aligned: the next one starts a width after the last one shown
        params["start"] = max(start, key[0] + params["width"])
    query = sql.SQL(
        "SELECT time_bucket(%(width)s, time) AS bucket, avg({col}) AS avg, min({col}) AS min, "
        "max({col}) AS max, count({col}) AS count FROM {tab} WHERE device_id = %(device)s "
        "AND time >= %(start)s AND time < %(end)s AND {col} IS NOT NULL "
        "GROUP BY bucket ORDER BY bucket LIMIT %(limit)s OFFSET %(offset)s"
    ).format(col=column, tab=table)
    rows = conn.execute(query, params).fetchall()
    following = next_cursor(rows, limit, ("bucket",))
    return page([BucketedReading(**r) for r in rows], limit, offset, following, by_cursor=key is not None)


CSV_ROWS = 100_000  # rows of one export: a month of one-minute readings is 44,640


@router.get(
    "/devices/{device_id}/readings.csv",
    summary="Several metrics of one device as a CSV file, a row per time (or per bucket), the unit in each header",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_readings(
    conn: ConnDep,
    principal: PrincipalDep,
    request: Request,
    device_id: str,
    metric: Annotated[list[str], Query(min_length=1, max_length=20, description="Metric names (repeat).")],
    dialect: DialectQuery = Dialect.STANDARD,
    start: Annotated[
        datetime | None,
        Query(description="Inclusive start; default end - 24 h. At most 31 days before end (366 with `bucket`)."),
    ] = None,
    end: Annotated[datetime | None, Query(description="Exclusive end; default now.")] = None,
    bucket: Annotated[str | None, Query(description="Average per interval: 30s, 15m, 1h, 1d.")] = None,
) -> Response:
    family = _device(conn, device_id)["family"]
    require_family_reader(request, principal, family)
    catalog = metric_catalog()
    unknown = [m for m in metric if (family, m) not in catalog]
    if unknown:
        known = ", ".join(m.name for m in _metrics_of(family)) or "none"
        message = f"metric(s) {', '.join(map(repr, unknown))} do not exist for {family} devices (known: {known})"
        raise invalid("query", "metric", message, unknown)
    specs = [catalog[(family, m)] for m in dict.fromkeys(metric)]
    start, end = time_range(start, end, timedelta(hours=24), MAX_RAW_SPAN if bucket is None else MAX_BUCKETED_SPAN)
    width = parse_bucket(bucket) if bucket is not None else None
    rows: dict[datetime, list[Any]] = {}
    for table in dict.fromkeys(s.table for s in specs):  # a family's metrics share a table: one query per table
        mine = [(i, s) for i, s in enumerate(specs) if s.table == table]
        values = [
            # an average to 6 decimals: 0.25, not 0.25000000000000006 (a spreadsheet shows every digit)
            sql.SQL("round(avg({c})::numeric, 6)::float8 AS {a}" if width else "{c} AS {a}").format(
                c=sql.Identifier(s.column), a=sql.Identifier(f"v{i}")
            )
            for i, s in mine
        ]  # fmt: skip
        # buckets start at midnight where the file is read: Paris days for French Excel, UTC days otherwise
        when = sql.SQL("time_bucket(%(width)s, time, %(zone)s)" if width else "time")
        query = sql.SQL(
            "SELECT {when} AS t, {values} FROM {table} WHERE device_id = %(device)s AND time >= %(start)s "
            "AND time < %(end)s {group} ORDER BY 1 LIMIT %(cap)s"
        ).format(when=when, values=sql.SQL(", ").join(values), table=sql.Identifier(table),
                 group=sql.SQL("GROUP BY 1" if width else ""))  # fmt: skip
        found = conn.execute(
            query,
            {
                "device": device_id,
                "start": start,
                "end": end,
                "width": width,
                "cap": CSV_ROWS + 1,
                "zone": "Europe/Paris" if dialect is Dialect.EXCEL_FR else "UTC",
            },  # fmt: skip
        ).fetchall()
        for r in found:
            row = rows.setdefault(r["t"], [None] * len(specs))
            for i, _ in mine:
                row[i] = r[f"v{i}"]
        if len(found) > CSV_ROWS or len(rows) > CSV_ROWS:
            too_many = f"more than {CSV_ROWS} rows: narrow start/end or aggregate with bucket"
            raise invalid("query", "start", too_many, None)
    columns = [time_column("bucket" if width else "time", dialect),
               *(Column(s.name, s.unit, title_fr=s.label_fr or None) for s in specs)]  # fmt: skip
    lines = ([t, *values] for t, values in sorted(rows.items()) if any(v is not None for v in values))
    return csv_response(columns, lines, dialect, f"{device_id}-readings.csv")
