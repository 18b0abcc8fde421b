"""The audit log (admin only, read-only: the table refuses updates and deletes)."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi import APIRouter
from psycopg import sql
from pydantic import BaseModel

from services.api.deps import ConnDep
from services.api.pagination import Cursor, after, decode_cursor, next_cursor
from services.api.schemas import Limit, Offset, Page, page

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditEntry(BaseModel):
    id: int
    at: datetime
    principal: str
    token_id: int | None
    roles: list[str]
    method: str
    path: str
    query: str | None
    status: int
    client: str | None
    user_agent: str | None
    subject: str | None = None  # what the call was about (incident:<id>)
    detail: dict | None = None  # what a job did (a retention purge's counts)


@router.get("", summary="Audited calls, newest first")
def get_audit(
    conn: ConnDep,
    principal: str | None = None,
    path_prefix: str | None = None,
    subject: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> Page[AuditEntry]:
    key = decode_cursor(cursor, (int,), offset)
    keyset, key_params = after(("id",), key, descending=True)
    filters = [("principal = %(p)s", principal), ("path LIKE %(pp)s", path_prefix), ("subject = %(s)s", subject)]
    where = sql.SQL(" AND ").join([sql.SQL("true"), *(sql.SQL(f) for f, v in filters if v is not None)])
    query = sql.SQL(
        "SELECT id, at, principal, token_id, roles, method, path, query, status, client, user_agent, subject, detail "
        "FROM audit_log "
        "WHERE {where}{keyset} ORDER BY id DESC LIMIT %(limit)s OFFSET %(offset)s"
    ).format(where=where, keyset=keyset)
    # a prefix as a LIKE pattern (its own % and _ escaped): the path index (text_pattern_ops) serves it
    pattern = None if path_prefix is None else re.sub(r"([\\%_])", r"\\\1", path_prefix) + "%"
    params = {"p": principal, "pp": pattern, "s": subject, "limit": limit, "offset": offset, **key_params}
    rows = conn.execute(query, params).fetchall()
    return page(
        [AuditEntry(**r) for r in rows], limit, offset, next_cursor(rows, limit, ("id",)), by_cursor=key is not None
    )
