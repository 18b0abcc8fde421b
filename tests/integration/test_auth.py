"""Who may do what on the HTTP API: 401 without a credential, 403 with the wrong role, a role matrix
generated from the app itself, fail-closed for undeclared routes, and the append-only audit log."""

from __future__ import annotations

import re

import psycopg
import pytest

from services.api.policy import POLICIES, UNDECLARED, policy_for
from services.auth.policy import NARROWED_BY_SUBJECT
from services.auth.roles import Role

pytestmark = pytest.mark.integration


def operations(api) -> list[tuple[str, str]]:
    paths = api.get("/openapi.json").json()["paths"]
    return sorted((method.upper(), path) for path, ops in paths.items() if path.startswith("/v1") for method in ops)


# endless routes, bounded for the matrix: the stream answers for a second, then ends
BOUNDED = {"/v1/alerts/stream": "?max_seconds=1"}


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path) + BOUNDED.get(path, "")


BODIES = {
    ("POST", "/v1/devices"): {"device_id": "matrix-device", "family": "ptipot"},
    ("POST", "/v1/dead-letters/replay"): {"dry_run": True, "ids": [1]},
    ("POST", "/v1/tokens"): {"name": "matrix", "roles": ["viewer"]},
}


def test_every_route_declares_a_policy_and_no_policy_is_stale(api) -> None:
    ops = set(operations(api))
    assert ops - set(POLICIES) == set(), "declare these routes in services/auth/policy.py"
    assert set(POLICIES) - ops == set(), "these policies name routes that no longer exist"
    assert policy_for("GET", "/v1/not-declared") is UNDECLARED and not UNDECLARED.roles


def test_no_credential_or_a_bad_one_is_a_401_everywhere(api) -> None:
    anonymous = {"Authorization": ""}
    for method, path in operations(api):
        for headers in (
            anonymous,
            {"Authorization": "Bearer nonsense"},
            {"Authorization": "Bearer tlab_1_" + "x" * 43},
            {"Authorization": "Basic dXNlcjpwYXNz"},
        ):
            response = api.request(method, concrete(path), headers=headers, json=BODIES.get((method, path)))
            assert response.status_code == 401, f"{method} {path} with {headers} -> {response.status_code}"
            assert response.headers.get("www-authenticate") == "Bearer"
    assert api.get("/health", headers=anonymous).status_code == 200


@pytest.mark.parametrize("role", list(Role))
def test_role_matrix(api, issue_token, role: Role) -> None:
    """For each role and each operation of the app: 403 exactly when the policy does not list the role."""
    headers = {"Authorization": f"Bearer {issue_token(role.value, name=f'matrix-{role}')}"}
    for method, path in operations(api):
        response = api.request(method, concrete(path), headers=headers, json=BODIES.get((method, path)))
        allowed = role in POLICIES[(method, path)].roles
        if allowed and path in NARROWED_BY_SUBJECT and response.status_code == 403:
            assert "may not read" in response.json()["detail"]  # narrowed to the subject's readers: said so
        elif allowed:
            assert response.status_code not in (401, 403), f"{role} refused {method} {path}: {response.text}"
        else:
            assert response.status_code == 403, f"{role} was let into {method} {path} ({response.status_code})"
            assert "may not" in response.json()["detail"]


def test_revoked_and_expired_tokens_stop_working(api, issue_token, stack) -> None:
    token = issue_token("viewer", name="short-lived")
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/v1/devices", headers=headers).status_code == 200
    token_id = int(token.split("_")[1])
    assert api.delete(f"/v1/tokens/{token_id}").status_code == 204
    assert api.get("/v1/devices", headers=headers).status_code == 401
    assert api.delete(f"/v1/tokens/{token_id}").status_code == 404

    other = issue_token("viewer", name="expiring")
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = %s", (int(other.split("_")[1]),)
        )
    assert api.get("/v1/devices", headers={"Authorization": f"Bearer {other}"}).status_code == 401


def test_tokens_are_stored_hashed_and_shown_once(api, stack) -> None:
    issued = api.post("/v1/tokens", json={"name": "integrator", "roles": ["green_spaces"]})
    assert issued.status_code == 201
    token = issued.json()["token"]
    listed = api.get("/v1/tokens").json()
    assert token not in str(listed) and any(t["name"] == "integrator" for t in listed)
    with psycopg.connect(stack.database_url) as conn:
        stored = conn.execute("SELECT secret_sha256 FROM api_tokens WHERE id = %s", (issued.json()["id"],)).fetchone()
    assert token.split("_", 2)[2] not in stored[0] and len(stored[0]) == 64
    assert api.get("/v1/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert api.post("/v1/tokens", json={"name": "x", "roles": ["emperor"]}).status_code == 422


def test_sensitive_reads_writes_and_refusals_are_audited(api, issue_token, stack) -> None:
    viewer = issue_token("viewer", name="curious-viewer")
    assert api.get("/v1/dead-letters", headers={"Authorization": f"Bearer {viewer}"}).status_code == 403
    assert api.get("/v1/dead-letters?limit=1").status_code == 200
    assert api.get("/v1/devices").status_code == 200  # not sensitive: not audited
    entries = api.get("/v1/audit", params={"limit": 50}).json()["items"]
    refused = next(e for e in entries if e["principal"] == "curious-viewer")
    assert refused["status"] == 403 and refused["path"] == "/v1/dead-letters" and refused["roles"] == ["viewer"]
    allowed = next(e for e in entries if e["path"] == "/v1/dead-letters" and e["status"] == 200)
    assert allowed["principal"] == "test" and allowed["query"] == "limit=1" and allowed["client"]
    assert not any(e["path"] == "/v1/devices" and e["method"] == "GET" for e in entries)

    # the role the platform logs in as may only append and read: it does not own the table, so it cannot
    # disable the trigger or drop the table either (issue 8, defect 10)
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        for statement in (
            "UPDATE audit_log SET status = 200",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update",
            "ALTER TABLE audit_log OWNER TO CURRENT_USER",
            "DROP TABLE audit_log",
            "DROP TRIGGER audit_log_no_update ON audit_log",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    # even the schema owner, which migrates, is refused by the trigger
    with psycopg.connect(stack.owner_database_url, autocommit=True) as conn:
        for statement in ("UPDATE audit_log SET status = 200", "DELETE FROM audit_log", "TRUNCATE audit_log"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement)


def test_generic_readings_route_keeps_each_familys_policy(stack, ingest, api, issue_token, db, uid) -> None:
    """A viewer reads garden data through /readings but not a drone's telemetry (pipe data)."""
    from sim.publisher import OutboundMessage
    from tests.conftest import wait_for
    from tests.integration.helpers import garden, publish_all

    drone = f"d{uid}"
    telemetry = b'{"mission_id": "m1", "ts": "2026-11-28T10:00:00Z", "chainage_m": 1.0}'
    publish_all(
        stack, [garden(f"g{uid}", "2026-11-28T10:00:00Z"), OutboundMessage(f"bathy/{drone}/telemetry", telemetry)]
    )
    wait_for(lambda: db.execute("SELECT 1 FROM drone_telemetry WHERE device_id = %s", (drone,)).fetchone(), what="row")
    viewer = {"Authorization": f"Bearer {issue_token('viewer')}"}
    sanitation = {"Authorization": f"Bearer {issue_token('sanitation', name='agent-assainissement')}"}
    params = {"metric": "chainage_m", "start": "2026-11-28T00:00:00Z"}
    assert (
        api.get(f"/v1/devices/g{uid}/readings", params={**params, "metric": "soil_vwc_pct"}, headers=viewer).status_code
        == 200
    )
    refused = api.get(f"/v1/devices/{drone}/readings", params=params, headers=viewer)
    assert refused.status_code == 403 and "may not read bathy data" in refused.json()["detail"]
    assert (
        api.get(f"/v1/devices/{drone}/readings", params=params, headers=sanitation).json()["items"][0]["value"] == 1.0
    )
    audited = api.get("/v1/audit", params={"path_prefix": f"/v1/devices/{drone}"}).json()["items"]
    assert {e["status"] for e in audited} == {200, 403}
