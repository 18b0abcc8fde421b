"""Dead letters: every rejected message with its reason and raw bytes."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response
from psycopg import sql

from core.replay_requests import ReplayFilter, request_replay
from device_adapters.registry import FAMILIES
from services.api.deps import ConnDep, PrincipalDep
from services.api.pagination import Cursor, after, decode_cursor, next_cursor
from services.api.schemas import (
    PAYLOAD_PREVIEW_BYTES,
    DeadLetter,
    DeadLetterDetail,
    Limit,
    Offset,
    Page,
    ReplayRequest,
    ReplayStatus,
    page,
)

router = APIRouter(prefix="/dead-letters", tags=["dead letters"])
DeadLetterId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Dead letter id.")]

LIST_KEY = ("last_received_at", "id")  # the list's order, unique: its keyset
COLUMNS = (
    "id, first_received_at, last_received_at, occurrences, topic, family, device_id, reason_code, reason, "
    "payload_size, payload_sha256, octet_length(payload) AS payload_kept, octet_length(payload) < payload_size "
    "AS payload_truncated, user_properties, resolved_at, replay_attempts, last_replay_at, last_replay_code, "
    "last_replay_reason"
)


@router.get("", summary="Rejected messages, most recent first")
def list_dead_letters(
    conn: ConnDep,
    reason_code: str | None = None,
    topic: str | None = None,
    device_id: str | None = None,
    resolved: bool | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> Page[DeadLetter]:
    key = decode_cursor(cursor, (datetime, int), offset)
    keyset, key_params = after(LIST_KEY, key, descending=True)
    filters = [
        ("reason_code = %(r)s", reason_code),
        ("topic = %(t)s", topic),
        ("device_id = %(d)s", device_id),
        ("(resolved_at IS NOT NULL) = %(res)s", resolved),
    ]
    where = sql.SQL(" AND ").join([sql.SQL("true"), *(sql.SQL(f) for f, v in filters if v is not None)])
    query = sql.SQL(
        "SELECT {columns} FROM dead_letters WHERE {where}{keyset} "
        "ORDER BY last_received_at DESC, id DESC LIMIT %(limit)s OFFSET %(offset)s"
    ).format(columns=sql.SQL(COLUMNS), where=where, keyset=keyset)
    params = {"r": reason_code, "t": topic, "d": device_id, "res": resolved, "limit": limit, "offset": offset}
    rows = conn.execute(query, {**params, **key_params}).fetchall()
    items = [DeadLetter(**r) for r in rows]
    return page(items, limit, offset, next_cursor(rows, limit, LIST_KEY), by_cursor=key is not None)


def _row(conn: ConnDep, dead_letter_id: DeadLetterId, payload_sql: str) -> dict[str, Any]:
    row = conn.execute(
        f"SELECT {COLUMNS}, {payload_sql} AS payload FROM dead_letters WHERE id = %s", (dead_letter_id,)
    ).fetchone()
    if row is None:
        raise HTTPException(404, f"dead letter {dead_letter_id} not found")
    return row


# Families whose messages are personal data (a camera's images, the plates in its events): their refused
# payloads are kept for replay but never served, whole or previewed (docs/incidents.md)
PERSONAL = frozenset(family.name for family in FAMILIES if family.personal_images)
WITHHELD = (
    "this payload is personal data (a camera's image or event, which may show people or a plate): it is kept "
    "for replay but not served; the reason says what was wrong"
)


@router.get("/{dead_letter_id}", summary="One dead letter with a preview of its payload")
def get_dead_letter(conn: ConnDep, dead_letter_id: DeadLetterId) -> DeadLetterDetail:
    # only the preview leaves the database: a letter's detail never costs the size of its payload
    row = _row(conn, dead_letter_id, f"substring(payload FROM 1 FOR {PAYLOAD_PREVIEW_BYTES})")
    withheld = row["family"] in PERSONAL
    preview = b"" if withheld else bytes(row["payload"])
    row.pop("payload")
    text = None if withheld else _utf8_prefix(preview, cut=len(preview) < row["payload_kept"])
    return DeadLetterDetail(
        **row,
        payload_preview_base64=base64.b64encode(preview).decode(),
        payload_preview_text=text,
        payload_url=f"/v1/dead-letters/{dead_letter_id}/payload",
        payload_withheld=WITHHELD if withheld else None,
    )


def _utf8_prefix(data: bytes, *, cut: bool) -> str | None:
    """``data`` as text if it is UTF-8; when it was cut from a longer payload, a character split by the
    cut (at most 3 bytes) is dropped."""
    for drop in range(4 if cut else 1):
        try:
            return data[: len(data) - drop].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None


@router.get(
    "/{dead_letter_id}/payload",
    summary="The kept payload's raw bytes (the whole payload unless payload_truncated)",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def get_dead_letter_payload(conn: ConnDep, dead_letter_id: DeadLetterId) -> Response:
    row = _row(conn, dead_letter_id, "''::bytea")
    if row["family"] in PERSONAL:
        raise HTTPException(403, WITHHELD)
    row = _row(conn, dead_letter_id, "payload")
    headers = {"X-Payload-Size": str(row["payload_size"]), "X-Payload-SHA256": row["payload_sha256"]}
    return Response(bytes(row["payload"]), media_type="application/octet-stream", headers=headers)


REPLAY_COLUMNS = (
    "id, requested_at, requested_by, selection, dry_run, state, attempts, claimed_by, claimed_at, finished_at, "
    "report, error"
)
ReplayId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Replay request id.")]


@router.post(
    "/replay",
    status_code=202,
    summary="Ask for unresolved dead letters to be run through the adapters again (after a fix)",
    description="The request is recorded and run by an ingest worker; follow it at `status_url`.",
)
def replay(conn: ConnDep, principal: PrincipalDep, request: ReplayRequest) -> ReplayStatus:
    selection = ReplayFilter(
        ids=tuple(request.ids),
        reason_code=request.reason_code,
        topic=request.topic,
        family=request.family,
        limit=request.limit,
    )
    request_id = request_replay(conn, selection, dry_run=request.dry_run, requested_by=principal.name)
    return _replay_status(conn, request_id)


@router.get("/replays/{replay_id}", summary="A replay request: its state and, once done, its report")
def get_replay(conn: ConnDep, replay_id: ReplayId) -> ReplayStatus:
    return _replay_status(conn, replay_id)


def _replay_status(conn: ConnDep, replay_id: int) -> ReplayStatus:
    row = conn.execute(f"SELECT {REPLAY_COLUMNS} FROM replay_requests WHERE id = %s", (replay_id,)).fetchone()
    if row is None:
        raise HTTPException(404, f"replay request {replay_id} not found")
    return ReplayStatus(**row, status_url=f"/v1/dead-letters/replays/{replay_id}")
