"""Response models of the HTTP API and the query parameters shared by several routes."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from psycopg.types.json import Jsonb
from pydantic import AfterValidator, BaseModel, Field

from core.geo import Position
from services.api.limits import MAX_BUCKETED_SPAN, MAX_LIMIT, MAX_OFFSET

T = TypeVar("T")


def unstorable(value: str) -> str | None:
    """Why PostgreSQL could not store this text (NUL characters; lone surrogates from JSON escapes)."""
    if "\x00" in value:
        return f"NUL characters are not allowed (position {value.index(chr(0))})"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"not valid Unicode text at position {exc.start}"
    return None


ECHO_CHARS = 200  # of a refused value, what an error message quotes back


def encodable(value: Any) -> Any:
    """``value`` (an error's detail) with every text made encodable: lone surrogates and undecodable bytes
    escaped (``\\udc80``, ``\\xff``), so that no input can turn its own refusal into a 500 (a JSON body
    that UTF-8 cannot carry)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8") if unstorable(value) else value
    if isinstance(value, dict):
        return {encodable(k): encodable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encodable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):  # NaN, Infinity: JSON has no word for them
        return repr(value)
    return value


def echoed(errors: Sequence[Any]) -> list[Any]:
    """Validation errors as a 422 body may quote them: encodable, each refused input cut to
    ``ECHO_CHARS`` (a 16 KiB body is not sent back)."""
    cut = []
    for error in errors:
        error = dict(error)
        value = error.get("input")
        if isinstance(value, bytes):
            value = error["input"] = value.decode("utf-8", "backslashreplace")
        if isinstance(value, str) and len(value) > ECHO_CHARS:
            error["input"] = value[:ECHO_CHARS] + "…"
        elif isinstance(value, dict | list) and len(json.dumps(value, default=str)) > ECHO_CHARS:
            error["input"] = f"({type(value).__name__} of {len(value)} items, not repeated)"
        cut.append(encodable(error))
    return cut


def _encodable(value: str) -> str:
    problem = unstorable(value)
    if problem:
        raise ValueError(problem)
    return value


Text = Annotated[str, AfterValidator(_encodable)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")]
Offset = Annotated[
    int,
    Query(ge=0, le=MAX_OFFSET, description=f"Items to skip (at most {MAX_OFFSET}; deeper, follow `next_cursor`)."),
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page, null on the last page.")
    next_cursor: str | None = Field(
        None, description="Cursor of the next page (pass it as `cursor`), null on the last page or where unsupported."
    )


def page(items: list[T], limit: int, offset: int, cursor: str | None = None, *, by_cursor: bool = False) -> Page[T]:
    """A page; ``cursor`` is the next page's cursor on lists that have one (services/api/pagination.py);
    a page reached by cursor has no ``next_offset`` (the two do not mix)."""
    more = len(items) == limit and not by_cursor
    return Page[T](
        items=items, limit=limit, offset=offset, next_offset=offset + limit if more else None, next_cursor=cursor
    )


class PositionIn(BaseModel):
    """A position as a client gives it: WGS 84 degrees (what a GPS or a web map gives)."""

    model_config = {"extra": "forbid"}
    # strict: a number, not "48.85" nor true (a probe found both taken as positions)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False, strict=True, description="WGS 84 latitude, degrees.")
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False, strict=True, description="WGS 84 longitude, degrees.")


class Lambert93(BaseModel):
    x: float = Field(description="Easting, metres (EPSG:2154).")
    y: float = Field(description="Northing, metres (EPSG:2154).")


class DevicePosition(BaseModel):
    lat: float = Field(description="WGS 84 latitude, degrees.")
    lon: float = Field(description="WGS 84 longitude, degrees.")
    lambert93: Lambert93 | None = Field(description="The same place in Lambert-93; none outside metropolitan France.")
    source: Literal["provisioning", "api", "device"] = Field(
        description="Where it came from: given at provisioning, set by staff through the API (kept over the "
        "device's own fixes until removed), or reported by the device itself on its position topic."
    )
    at: datetime | None
    accuracy_m: float | None = Field(None, description="The radius of the device's own fix, metres, if it said.")


def position_of(row: dict[str, Any]) -> DevicePosition | None:
    """A device row's position (its ``lat``, ``lon``, ``position_source``, ``position_at`` columns, taken out of
    ``row``), with Lambert-93 computed."""
    lat, lon, source, at = (row.pop(k, None) for k in ("lat", "lon", "position_source", "position_at"))
    accuracy = row.pop("position_accuracy_m", None)
    if lat is None or lon is None:
        return None
    l93 = Position(lat, lon).lambert93
    return DevicePosition(lat=lat, lon=lon, lambert93=Lambert93(x=l93[0], y=l93[1]) if l93 else None,
                          source=source, at=at, accuracy_m=accuracy)  # fmt: skip


class Device(BaseModel):
    device_id: str
    family: str
    pilot: str | None
    location: str | None
    description: str | None
    labels: dict[str, str] = Field(description="key = value pairs that alert rules and silences select on.")
    first_seen: datetime
    last_seen: datetime | None = Field(description="Receive time of the device's latest accepted message.")
    status: Literal["online", "offline", "unknown"] = Field(
        description="From the device's status topic (its last will says offline); unknown if it never said."
    )
    status_at: datetime | None = Field(description="When the status last changed.")
    credentials: Literal["active", "revoked", "none"] = Field(description="MQTT credentials in the registry.")
    position: DevicePosition | None = Field(None, description="Where it is (none: not said yet).")


class Metric(BaseModel):
    family: str
    name: str
    unit: str
    description: str


class DeviceDetail(Device):
    metrics: list[Metric]


class Reading(BaseModel):
    time: datetime
    value: float


class BucketedReading(BaseModel):
    bucket: datetime
    avg: float | None
    min: float | None
    max: float | None
    count: int


class DeadLetter(BaseModel):
    id: int
    first_received_at: datetime
    last_received_at: datetime
    occurrences: int
    topic: str
    family: str | None
    device_id: str | None
    reason_code: str
    reason: str
    payload_size: int = Field(description="Size in bytes of the whole payload the device sent.")
    payload_sha256: str = Field(description="SHA-256 of the whole payload the device sent.")
    payload_kept: int = Field(description="Bytes of the payload kept (a prefix when the payload was larger).")
    payload_truncated: bool = Field(description="Only a prefix of the payload is kept: it cannot be replayed.")
    user_properties: dict[str, str]
    resolved_at: datetime | None = Field(description="When a replay stored it (the letter is kept).")
    replay_attempts: int
    last_replay_at: datetime | None
    last_replay_code: str | None
    last_replay_reason: str | None


PAYLOAD_PREVIEW_BYTES = 4096


class DeadLetterDetail(DeadLetter):
    """A letter with a preview of its payload; the bytes themselves are served by ``…/payload``."""

    payload_preview_base64: str = Field(description=f"The first {PAYLOAD_PREVIEW_BYTES} bytes of the kept payload.")
    payload_preview_text: str | None = Field(
        description="The same preview as text when it is valid UTF-8 (a cut character at its end is dropped)."
    )
    payload_url: str = Field(description="Where the kept payload's raw bytes are served.")
    payload_withheld: str | None = Field(
        None, description="Why the payload is not shown (a camera's message is personal data); null when it is."
    )


class ErrorMessage(BaseModel):
    """Body of every 4xx/5xx other than 422 (whose body is FastAPI's list of validation errors)."""

    detail: str


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorMessage, "description": "No valid bearer token"},
    403: {"model": ErrorMessage, "description": "The token's roles may not call this route"},
    404: {"model": ErrorMessage, "description": "No such resource"},
    413: {"model": ErrorMessage, "description": "The request body is larger than the route takes"},
    503: {"model": ErrorMessage, "description": "The database is unavailable, or the query ran past its time limit"},
}


def invalid(where: str, name: str, message: str, value: object, french: str | None = None) -> RequestValidationError:
    """A 422 in the same shape as FastAPI's own validation errors, so clients parse one format; ``french``, where
    given, is the same message in French (``msg_fr``: the console shows it to staff)."""
    error: dict[str, object] = {"type": "value_error", "loc": (where, name), "msg": message, "input": value}
    if french is not None:
        error["msg_fr"] = french
    return RequestValidationError([error])


# ---- shared query parsing ---------------------------------------------------------------------------
_INTERVAL = re.compile(r"^(\d{1,6})(s|m|h|d)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def label_filter(pairs: list[str] | None) -> Jsonb | None:
    """``["garden=jardin-des-plantes", "bed=north"]`` -> a JSON object to test labels against with ``@>``."""
    if not pairs:
        return None
    found = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            raise invalid("query", "label", f"label {pair[:100]!r}: expected key=value", pair[:100])
        found[key] = value
    return Jsonb(found)


def parse_bucket(text: str) -> timedelta:
    """'30s', '15m', '1h', '1d' -> timedelta (1 second to 366 days)."""
    match = _INTERVAL.fullmatch(text)
    if not match:
        raise invalid("query", "bucket", f"bucket {text!r}: use a number and a unit s, m, h or d (e.g. 15m)", text)
    delta = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if not timedelta(seconds=1) <= delta <= timedelta(days=366):
        raise invalid("query", "bucket", f"bucket {text!r} must be between 1s and 366d", text)
    return delta


def zoned(name: str, value: datetime | None) -> datetime | None:
    """``value`` if it says its time zone; a 422 naming the parameter otherwise (a zone-less time would be
    read in the database server's zone)."""
    if value is not None and value.tzinfo is None:
        raise invalid("query", name, f"{name} needs a time zone (e.g. 2026-11-28T10:00:00Z)", value.isoformat())
    return value


def ordered(start: datetime | None, end: datetime | None) -> None:
    """A 422 unless ``start`` is before ``end`` (either may be open)."""
    zoned("start", start)
    zoned("end", end)
    if start is not None and end is not None and start >= end:
        raise invalid(
            "query", "start", f"start ({start.isoformat()}) must be before end ({end.isoformat()})", start.isoformat()
        )


def time_range(
    start: datetime | None, end: datetime | None, default: timedelta, max_span: timedelta = MAX_BUCKETED_SPAN
) -> tuple[datetime, datetime]:
    """[start, end) with its defaults; a 422 for a zone-less time, an empty range or one longer than
    ``max_span`` (a query's span is what bounds its cost: services/api/limits.py)."""
    zoned("start", start)
    zoned("end", end)
    end = end or datetime.now(UTC)
    try:
        start = start or end - default
    except OverflowError:  # end in year 1: its default start is before the calendar's (a 500 schemathesis found)
        raise invalid("query", "end", f"end is too early for the default span of {default}", end.isoformat()) from None
    ordered(start, end)
    if end - start > max_span:
        raise invalid(
            "query",
            "start",
            f"the span from start to end may be at most {max_span.days} days here (asked: {end - start}); "
            "ask for it in several parts",
            start.isoformat(),
        )
    return start, end


class ReplayRequest(BaseModel):
    """Which unresolved dead letters to replay; no filter means all of them (up to ``limit``)."""

    model_config = {"extra": "forbid"}
    ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(default_factory=list, max_length=10_000)
    reason_code: Text | None = None
    topic: Text | None = None
    family: Text | None = None
    limit: int = Field(1000, ge=1, le=100_000)
    dry_run: bool = Field(False, description="Decode only; store and mark nothing.")


class ReplayReport(BaseModel):
    examined: int
    stored: int
    still_rejected: dict[str, int]
    dry_run: bool
    stored_ids: list[int]


class ReplayStatus(BaseModel):
    """A replay request: queued, running (claimed by an ingest worker), done (with its report) or failed."""

    id: int
    requested_at: datetime
    requested_by: str | None
    selection: dict[str, Any]
    dry_run: bool
    state: Literal["queued", "running", "done", "failed"]
    attempts: int
    claimed_by: str | None
    claimed_at: datetime | None
    finished_at: datetime | None
    report: ReplayReport | None
    error: str | None
    status_url: str
