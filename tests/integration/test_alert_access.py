"""Alerts never show a service data it may not read (issue 19, item 9): a rule may be routed only to a
service that reads its family (422 at creation and update), and an alert's detail shows the readings around
its trigger only to the family's readers, audited as the readings route audits them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from device_adapters.contract import OutboundMessage
from services.alerts.rules import Threshold
from services.alerts.store import save_pack
from tests.conftest import count, wait_for
from tests.integration.helpers import publish_all
from tests.integration.test_alerts import evaluate, frost_rule

pytestmark = pytest.mark.integration


def h2s_rule(name: str, service: str, devices: list[str] | None = None) -> dict:
    return {
        "kind": "threshold", "name": name, "scope": {"family": "bathy", "devices": devices or []},
        "severity": "critical", "service": service, "metric": "h2s_ppm", "direction": "above", "fire": 10,
        "clear": 8, "for": "PT0S",
    }  # fmt: skip


def refused_for(response, family: str, service: str) -> None:
    assert response.status_code == 422, response.text
    message = json.dumps(response.json())
    assert family in message and service in message


def test_a_rule_is_routed_only_to_a_service_that_may_read_its_family(api, uid) -> None:
    refused_for(api.post("/v1/alert-rules", json=h2s_rule(f"leak-{uid}", "green_spaces")), "bathy", "green_spaces")
    created = api.post("/v1/alert-rules", json=h2s_rule(f"ok-{uid}", "sanitation"))
    assert created.status_code == 201, created.text
    rule_id = created.json()["id"]
    moved = api.put(f"/v1/alert-rules/{rule_id}", json=h2s_rule(f"ok-{uid}", "cleanliness"))
    refused_for(moved, "bathy", "cleanliness")
    (stored,) = [r for r in api.get("/v1/alert-rules").json() if r["id"] == rule_id]
    assert stored["definition"]["service"] == "sanitation"  # unchanged
    camera = {
        "kind": "event", "name": f"dump-{uid}", "scope": {"family": "karroad"}, "severity": "warning",
        "service": "sanitation", "event": "dumping_suspected",
    }  # fmt: skip
    refused_for(api.post("/v1/alert-rules", json=camera), "karroad", "sanitation")
    garden = frost_rule(f"g{uid}").model_dump(mode="json", by_alias=True)
    assert api.post("/v1/alert-rules", json={**garden, "service": "sanitation"}).status_code == 201  # open data


def minutes_ago(m: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=m)).isoformat()


def test_the_alert_detail_shows_readings_only_to_the_familys_readers_and_is_audited(
    stack, ingest, api, db, uid, issue_token
) -> None:
    drone = f"ac{uid}"
    # a rule stored before routing was checked (or written to the database by hand): green_spaces on sewer gas
    save_pack(db, [Threshold.model_validate(h2s_rule(f"old-{drone}", "green_spaces", [drone]))], source="test")
    telemetry = [
        OutboundMessage(
            f"bathy/{drone}/telemetry",
            json.dumps({"mission_id": f"m{uid}", "ts": minutes_ago(m), "chainage_m": 10.0 - m, "h2s_ppm": v}).encode(),
        )
        for m, v in ((6, 2.0), (5, 15.0), (4, 16.0))
    ]
    publish_all(stack, telemetry)
    wait_for(lambda: count(db, "SELECT count(*) FROM drone_telemetry WHERE device_id = %s", drone) == 3, what="3")
    evaluate(stack)
    (alert,) = db.execute(
        "SELECT id, service FROM alerts WHERE subject = %s AND rule_name = %s", (drone, f"old-{drone}")
    ).fetchall()
    assert alert["service"] == "green_spaces"
    path = f"/v1/alerts/{alert['id']}"

    green = api.get(path, headers={"Authorization": f"Bearer {issue_token('green_spaces', name='gs-probe')}"})
    assert green.status_code == 200  # the alert itself is theirs...
    assert green.json()["readings_around_trigger"] == []  # ...the sewer readings are not
    assert "bathy" in green.json()["readings_withheld"]
    acted = api.post(f"{path}/ack", json={}, headers={"Authorization": f"Bearer {issue_token('green_spaces')}"})
    assert acted.status_code == 200 and acted.json()["readings_around_trigger"] == []  # nor through an action
    staff = api.get(path)  # the admin may read pipe data: the readings are there
    assert len(staff.json()["readings_around_trigger"]) == 3 and staff.json()["readings_withheld"] is None

    audited = db.execute(
        "SELECT principal, status, subject FROM audit_log WHERE path = %s AND method = 'GET' ORDER BY id", (path,)
    ).fetchall()
    assert [(a["principal"], a["status"]) for a in audited] == [("gs-probe", 200), ("test", 200)]
    assert count(db, "SELECT count(*) FROM audit_log WHERE path = %s AND method = 'POST'", f"{path}/ack") == 1
    assert {a["subject"] for a in audited} == {f"alert:{alert['id']}"}
