"""The audit log (admin only, read-only: the table refuses updates and deletes)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from services.api.deps import ConnDep
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


@router.get("", summary="Audited calls, newest first")
def get_audit(
    conn: ConnDep, principal: str | None = None, path_prefix: str | None = None, limit: Limit = 100, offset: Offset = 0
) -> Page[AuditEntry]:
    rows = conn.execute(
        "SELECT id, at, principal, token_id, roles, method, path, query, status, client, user_agent FROM audit_log "
        "WHERE (%(p)s::text IS NULL OR principal = %(p)s) AND (%(pp)s::text IS NULL OR starts_with(path, %(pp)s)) "
        "ORDER BY id DESC LIMIT %(limit)s OFFSET %(offset)s",
        {"p": principal, "pp": path_prefix, "limit": limit, "offset": offset},
    ).fetchall()
    return page([AuditEntry(**r) for r in rows], limit, offset)
