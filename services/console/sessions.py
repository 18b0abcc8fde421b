"""Console sign-in sessions: a token presented once, then a random session id in an HttpOnly cookie.

The browser never keeps the API token: the cookie holds a 256-bit random session id, stored here as its
SHA-256 beside the token it stands for (as tokens themselves are stored). Every console page re-checks the
session *and its token* (revoked or expired: the session is over), its absolute life
(``console_session_hours``) and its idle limit (``console_idle_minutes``). Each session has its own
anti-forgery value, put in every form and compared on every POST (docs/console.md).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg

from core.settings import Settings
from core.storable import storable_text
from services.auth.roles import Role
from services.auth.tokens import Principal, verify_token

COOKIE = "tlab_console"
MAX_AGENT_CHARS = 512


@dataclass(frozen=True)
class Session:
    principal: Principal
    csrf: str
    expires_at: Any


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(
    conn: psycopg.Connection[Any], settings: Settings, token: str, user_agent: str | None
) -> tuple[str, Principal] | None:
    """A new session for a valid token: (the cookie's value, who it is); None for a token the API would refuse."""
    principal = verify_token(conn, token.strip())
    if principal is None or principal.token_id is None:
        return None
    session_id = secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO console_sessions (id_sha256, token_id, csrf, expires_at, user_agent) "
        "VALUES (%s, %s, %s, now() + %s, %s)",
        (
            _digest(session_id),
            principal.token_id,
            secrets.token_urlsafe(32),
            timedelta(hours=settings.console_session_hours),
            None if user_agent is None else storable_text(user_agent, MAX_AGENT_CHARS),
        ),
    )
    return session_id, principal


def current_session(conn: psycopg.Connection[Any], settings: Settings, session_id: str | None) -> Session | None:
    """The session a cookie names, if it is still valid (its token too); its idle clock restarts."""
    if not session_id or len(session_id) > 64:
        return None
    row = conn.execute(
        """
        UPDATE console_sessions s SET last_seen_at = now()
        FROM api_tokens t
        WHERE s.id_sha256 = %s AND t.id = s.token_id
          AND s.ended_at IS NULL AND s.expires_at > now() AND s.last_seen_at > now() - %s
          AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
        RETURNING t.id AS token_id, t.name, t.roles, s.csrf, s.expires_at
        """,
        (_digest(session_id), timedelta(minutes=settings.console_idle_minutes)),
    ).fetchone()
    if row is None:
        return None
    principal = Principal(row["name"], frozenset(Role(r) for r in row["roles"]), row["token_id"])
    return Session(principal, row["csrf"], row["expires_at"])


def end_session(conn: psycopg.Connection[Any], session_id: str | None) -> None:
    if session_id and len(session_id) <= 64:
        conn.execute(
            "UPDATE console_sessions SET ended_at = now(), ended_why = 'signed_out' "
            "WHERE id_sha256 = %s AND ended_at IS NULL",
            (_digest(session_id),),
        )
