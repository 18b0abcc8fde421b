"""The one place where cross-cutting concerns enter a route: database, media store, settings, identity.

Every /v1 route goes through :func:`authorize`: a bearer token (401 without a valid one), then the
route's declared policy (403 for a role it does not list; a route without a policy refuses everyone).
The policy also says whether the call is audited; the audit middleware writes the row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.api.policy import UNDECLARED, match_request
from services.api.resources import ConnDep, MediaDep, SettingsDep, get_conn
from services.api.schemas import invalid, unstorable
from services.auth.policy import family_readers
from services.auth.roles import Role
from services.auth.tokens import IN_PROCESS_PRINCIPAL, Principal, presented_token_id, verify_token

bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer tlab_<id>_<secret>`.")


def _names(roles: Iterable[Role]) -> str:
    return ", ".join(sorted(r.value for r in roles)) or "none"


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """The caller's principal, from the request's headers alone (401/403 otherwise). Run by the guard
    (``services/api/guard.py``) before any body is read; what it sets on ``request.state`` is what the
    audit row records."""
    template, policy = match_request(request.method, request.url.path)
    request.state.audit = policy.audit
    unauthenticated = {"WWW-Authenticate": "Bearer"}
    handed = request.scope.get(IN_PROCESS_PRINCIPAL)
    if isinstance(handed, Principal):  # the console's call, for a session it verified (no request can set it)
        request.state.presented_token_id = handed.token_id
        request.state.principal = principal = handed
    elif credentials is None:
        raise HTTPException(401, "a bearer token is required (Authorization: Bearer <token>)", headers=unauthenticated)
    else:
        request.state.presented_token_id = presented_token_id(credentials.credentials)
        with request.app.state.pool.connection() as conn:
            verified = verify_token(conn, credentials.credentials)
        if verified is None:
            raise HTTPException(401, "the token is invalid, expired or revoked", headers=unauthenticated)
        request.state.principal = principal = verified
    if policy is UNDECLARED:
        raise HTTPException(403, f"no access policy is declared for {request.method} {template}")
    if not principal.roles & policy.roles:
        raise HTTPException(
            403,
            f"roles {_names(principal.roles)} may not {request.method} {template} (allowed: {_names(policy.roles)})",
        )
    request.state.authorized = principal
    return principal


def authorize(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    """The router-level dependency of /v1: the guard's verdict when it ran (it always does in the app),
    else the same check now."""
    decided = getattr(request.state, "authorized", None)
    if isinstance(decided, Principal):
        return decided
    return authenticate(request, credentials)


def require_family_reader(request: Request, principal: Principal, family: str | None) -> None:
    """403 unless ``principal`` may read ``family``'s data (the policy's FAMILY_READERS): the check of
    every route that serves several families. Such a read is audited when the family's data is."""
    readers = family_readers(family)
    request.state.audit = request.state.audit or readers.audit
    if not principal.roles & readers.roles:
        raise HTTPException(
            403, f"roles {_names(principal.roles)} may not read {family} data (allowed: {_names(readers.roles)})"
        )


def storable_parameters(request: Request) -> None:
    """Every string parameter reaches SQL: refuse what PostgreSQL cannot store with a 422, not a 500."""
    values = [("query", k, v) for k, v in request.query_params.multi_items()]
    values += [("path", "path", request.url.path)]
    for where, name, value in values:
        problem = unstorable(value)
        if problem:
            raise invalid(where, name, problem, value.encode("utf-8", "backslashreplace").decode())


def known_parameters(request: Request) -> None:
    """A query parameter the route does not take is refused (422, naming those it takes), never ignored: a
    client that filters on a misspelt name (``?camera=`` for ``?device_id=``) would otherwise get every row
    back and take it for the filtered list."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    taken: set[str] = set()
    pending = [dependant]
    while pending:  # the route's own parameters and its dependencies' (paging, time ranges)
        current = pending.pop()
        taken.update(param.alias for param in current.query_params)
        pending.extend(current.dependencies)
    for name in dict.fromkeys(request.query_params.keys()):
        if name not in taken:
            message = f"unknown query parameter; this route takes: {', '.join(sorted(taken)) or 'none'}"
            raise invalid("query", name, message, request.query_params[name])


PrincipalDep = Annotated[Principal, Depends(authorize)]

__all__ = [
    "ConnDep",
    "MediaDep",
    "PrincipalDep",
    "SettingsDep",
    "authenticate",
    "authorize",
    "get_conn",
    "known_parameters",
    "require_family_reader",
]
