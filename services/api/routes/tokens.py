"""API credentials (admin only): list, issue (the secret is shown once), revoke."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response
from pydantic import BaseModel, Field

from services.api.deps import ConnDep
from services.api.schemas import Text
from services.auth.roles import Role
from services.auth.tokens import create_token, list_tokens, revoke_token

router = APIRouter(prefix="/tokens", tags=["credentials"])


class TokenInfo(BaseModel):
    id: int
    name: str
    roles: list[Role]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenRequest(BaseModel):
    model_config = {"extra": "forbid"}
    name: Text = Field(min_length=1, max_length=100, description="Who or what uses it.")
    roles: list[Role] = Field(min_length=1, max_length=len(Role))
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class IssuedToken(BaseModel):
    id: int
    name: str
    roles: list[Role]
    token: str = Field(description="Shown once: only its hash is stored.")


@router.get("", summary="Every API token (never the secrets)")
def get_tokens(conn: ConnDep) -> list[TokenInfo]:
    return [TokenInfo(**row) for row in list_tokens(conn)]


@router.post("", status_code=201, summary="Issue a token; the response is the only time the secret is shown")
def post_token(conn: ConnDep, request: TokenRequest) -> IssuedToken:
    expires = None if request.expires_in_days is None else timedelta(days=request.expires_in_days)
    issued = create_token(conn, request.name, request.roles, expires)
    return IssuedToken(id=issued.id, name=issued.name, roles=list(issued.roles), token=issued.token)


@router.delete("/{token_id}", status_code=204, summary="Revoke a token (it stops working at once)")
def delete_token(conn: ConnDep, token_id: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> Response:
    if not revoke_token(conn, token_id):
        raise HTTPException(404, f"no active token {token_id}")
    return Response(status_code=204)
