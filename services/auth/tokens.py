"""API tokens: ``tlab_<id>_<secret>``, the secret shown once and stored as its SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg

from core.db import scalar
from services.auth.roles import Role

TOKEN = re.compile(r"^tlab_(\d{1,18})_([A-Za-z0-9_-]{43})$")


# The ASGI scope key under which an in-process caller (the console, services/console/) hands the API a principal
# it has verified itself (a signed-in session whose token is valid). Only code in the API's process can set a
# scope key: no header, path or body of an HTTP request reaches it.
IN_PROCESS_PRINCIPAL = "tlab.principal"


@dataclass(frozen=True)
class Principal:
    name: str
    roles: frozenset[Role]
    token_id: int | None = None


@dataclass(frozen=True)
class IssuedToken:
    id: int
    name: str
    roles: tuple[Role, ...]
    token: str  # shown once


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    conn: psycopg.Connection[Any], name: str, roles: list[Role], expires_in: timedelta | None = None
) -> IssuedToken:
    if not roles:
        raise ValueError("a token needs at least one role")
    secret = secrets.token_urlsafe(32)
    expires = None if expires_in is None else scalar(conn, "SELECT now() + %s", (expires_in,))
    token_id = scalar(
        conn,
        "INSERT INTO api_tokens (name, secret_sha256, roles, expires_at) VALUES (%s, %s, %s, %s) RETURNING id",
        (name, _digest(secret), sorted({str(r) for r in roles}), expires),
    )
    return IssuedToken(token_id, name, tuple(roles), f"tlab_{token_id}_{secret}")


def presented_token_id(token: str) -> int | None:
    """The id a presented token claims (``tlab_<id>_…``), whether or not it is valid: the audit log
    names what was tried, a revoked token's id included."""
    match = TOKEN.fullmatch(token)
    return int(match.group(1)) if match else None


def verify_token(conn: psycopg.Connection[Any], token: str) -> Principal | None:
    """The principal of a valid, unexpired, unrevoked token; None otherwise (never says which)."""
    match = TOKEN.fullmatch(token)
    if not match:
        return None
    token_id, secret = int(match.group(1)), match.group(2)
    row = conn.execute(
        "SELECT name, secret_sha256, roles, last_used_at < now() - interval '1 minute' AS stale FROM api_tokens "
        "WHERE id = %s AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())",
        (token_id,),
    ).fetchone()
    if row is None or not hmac.compare_digest(row["secret_sha256"], _digest(secret)):
        return None
    if row["stale"] is not False:  # NULL (never used) or over a minute old: a write per minute, not per request
        conn.execute("UPDATE api_tokens SET last_used_at = now() WHERE id = %s", (token_id,))
    return Principal(row["name"], frozenset(Role(r) for r in row["roles"]), token_id)


def token_is_valid(conn: psycopg.Connection[Any], token_id: int) -> bool:
    """Whether the token with this id is still valid (neither revoked nor expired)."""
    row = conn.execute(
        "SELECT 1 FROM api_tokens WHERE id = %s AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())",
        (token_id,),
    ).fetchone()
    return row is not None


def revoke_token(conn: psycopg.Connection[Any], token_id: int) -> bool:
    """Revoke a token and end the console sessions opened with it (they would be refused anyway: a session
    is checked against its token on every page; this records why they ended)."""
    cur = conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL", (token_id,))
    conn.execute(
        "UPDATE console_sessions SET ended_at = now(), ended_why = 'token_revoked' "
        "WHERE token_id = %s AND ended_at IS NULL",
        (token_id,),
    )
    return cur.rowcount == 1


def list_tokens(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT id, name, roles, created_at, expires_at, revoked_at, last_used_at FROM api_tokens ORDER BY id"
    ).fetchall()
