"""Alert webhooks per service (admin): register an endpoint, see its delivery log, remove it. The
deliveries themselves are made by `tlab deliveries` (services/alerts/webhooks.py), never by this API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Response
from psycopg import sql
from pydantic import AnyHttpUrl, BaseModel, Field

from services.alerts.egress import DestinationRefused, check_url, parse_allow
from services.alerts.signing import new_secret
from services.api.deps import ConnDep, PrincipalDep, SettingsDep
from services.api.pagination import Cursor, after, decode_cursor, next_cursor
from services.api.schemas import Limit, Page, invalid, page
from services.auth.roles import Role

router = APIRouter(prefix="/webhooks", tags=["alerts"])
WebhookId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Webhook id.")]
SERVICES = sorted(r.value for r in Role if r not in (Role.ADMIN, Role.VIEWER))


class WebhookRequest(BaseModel):
    model_config = {"extra": "forbid"}
    service: Literal[tuple(SERVICES)] = Field(description="Whose alerts it receives.")  # type: ignore[valid-type]
    url: AnyHttpUrl = Field(description="http(s) endpoint; it gets a POST per alert event.")


class Webhook(BaseModel):
    id: int
    service: str
    url: str
    enabled: bool
    delivered_through: int = Field(description="The last outbox event delivered (or given up).")
    created_by: str | None
    created_at: datetime


class NewWebhook(Webhook):
    secret: str = Field(description="whsec_... to verify the signatures (Standard Webhooks); shown once.")


class Delivery(BaseModel):
    id: int
    outbox_id: int
    message_id: str
    attempt: int
    at: datetime
    status: int | None
    error: str | None
    duration_ms: float
    outcome: Literal["delivered", "retrying", "gave_up"]


COLUMNS = "id, service, url, enabled, delivered_through, created_by, created_at"


@router.post("", status_code=201, summary="Register a webhook for a service's alerts (its secret is shown once)")
def create_webhook(
    conn: ConnDep, principal: PrincipalDep, settings: SettingsDep, request: WebhookRequest
) -> NewWebhook:
    secret = new_secret()
    url = str(request.url)
    if len(url) > 2000:
        raise invalid("body", "url", "at most 2000 characters", url[:100])
    try:  # an inside address is refused here, and again by `tlab deliveries` at every connection
        check_url(url, parse_allow(settings.webhook_allow))
    except DestinationRefused as exc:
        raise invalid("body", "url", str(exc), url[:100]) from exc
    # new events only: a webhook starts at the newest outbox event, like a new stream
    row = conn.execute(
        f"INSERT INTO alert_webhooks (service, url, secret, created_by, delivered_through) "
        f"VALUES (%s, %s, %s, %s, (SELECT coalesce(max(id), 0) FROM alert_outbox)) RETURNING {COLUMNS}",
        (request.service, url, secret, principal.name),
    ).fetchone()
    assert row is not None
    return NewWebhook(**row, secret=secret)


@router.get("", summary="Registered webhooks (without their secrets)")
def list_webhooks(conn: ConnDep) -> list[Webhook]:
    return [Webhook(**r) for r in conn.execute(f"SELECT {COLUMNS} FROM alert_webhooks ORDER BY id").fetchall()]


@router.delete("/{webhook_id}", status_code=204, summary="Remove a webhook (its delivery log goes with it)")
def delete_webhook(conn: ConnDep, webhook_id: WebhookId) -> Response:
    if conn.execute("DELETE FROM alert_webhooks WHERE id = %s", (webhook_id,)).rowcount != 1:
        raise HTTPException(404, f"webhook {webhook_id} not found")
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", summary="Every delivery attempt of a webhook, newest first")
def list_deliveries(conn: ConnDep, webhook_id: WebhookId, limit: Limit = 100, cursor: Cursor = None) -> Page[Delivery]:
    if conn.execute("SELECT 1 FROM alert_webhooks WHERE id = %s", (webhook_id,)).fetchone() is None:
        raise HTTPException(404, f"webhook {webhook_id} not found")
    key = decode_cursor(cursor, (int,))
    keyset, key_params = after(("id",), key, descending=True)
    query = sql.SQL(
        "SELECT id, outbox_id, message_id, attempt, at, status, error, duration_ms, outcome "
        "FROM alert_webhook_deliveries WHERE webhook_id = %(w)s{keyset} ORDER BY id DESC LIMIT %(limit)s"
    ).format(keyset=keyset)
    rows = conn.execute(query, {"w": webhook_id, "limit": limit, **key_params}).fetchall()
    return page([Delivery(**r) for r in rows], limit, 0, next_cursor(rows, limit, ("id",)), by_cursor=True)
