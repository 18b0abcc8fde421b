"""Domain events and device labels through the real database (and broker, for labelled devices' readings):
one alert per event however often it is raised, cleared when it ends, retracted when withdrawn or no
longer matching; rules, silences and the alert list select devices by label."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from core.domain_events import DomainEventError, end_event, raise_event, withdraw_event
from services.alerts.evaluator import AlertEvaluator
from services.alerts.packs import default_rules
from services.alerts.rules import Threshold
from services.alerts.store import save_pack
from tests.conftest import count, wait_for
from tests.integration.helpers import garden, publish_all

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)


def evaluate_events(stack, evaluator: AlertEvaluator | None = None) -> AlertEvaluator:
    evaluator = evaluator or AlertEvaluator(stack)
    with psycopg.connect(stack.database_url, autocommit=True, row_factory=dict_row) as conn:
        evaluator.evaluate_events(conn)
    return evaluator


def alerts_about(db: psycopg.Connection[Any], subject: str) -> list[dict]:
    return db.execute(
        "SELECT id, state, resolution, began_at, cleared_at, worst_value, device_id, service, summary, rule_name "
        "FROM alerts WHERE subject = %s ORDER BY id",
        (subject,),
    ).fetchall()


def timeline(db: psycopg.Connection[Any], alert_id: int) -> list[str]:
    return [r["kind"] for r in db.execute("SELECT kind FROM alert_events WHERE alert_id = %s ORDER BY id", (alert_id,))]


@pytest.fixture
def defect_rule(db, uid) -> str:
    """The pipe inspection pack's grade >= 4 rule (the drone's copy), scoped to this test's drone."""
    from device_adapters.registry import family

    (rule,) = [r for r in default_rules(family("bathy")) if r.kind == "event"]
    drone = f"ev{uid}"
    mine = rule.model_copy(
        update={"name": f"{rule.name}-{uid}", "scope": rule.scope.model_copy(update={"devices": [drone]})}
    )
    save_pack(db, [mine], source="test")
    return drone


def defect(db, drone: str, key: str, grade: object, at: datetime = NOW) -> None:
    raise_event(
        db, type="pipe_defect", key=key, device_id=drone, family="bathy", occurred_at=at,
        summary=f"BAB crack of grade {grade} at 12.4 m", attributes={"grade": grade, "code": "BAB"}, raised_by="test",
    )  # fmt: skip


def test_an_event_raised_twice_is_one_alert_that_clears_when_it_ends(stack, db, defect_rule, uid) -> None:
    drone = defect_rule
    defect(db, drone, f"obs-{uid}-1", 4)
    defect(db, drone, f"obs-{uid}-1", 4)  # raised again (a redelivered frame analysed twice)
    evaluator = evaluate_events(stack)
    evaluate_events(stack)  # and a second worker
    (alert,) = alerts_about(db, f"pipe_defect:obs-{uid}-1")
    assert alert["state"] == "firing" and alert["service"] == "sanitation" and alert["device_id"] == drone
    assert alert["began_at"] == NOW and alert["worst_value"] == 4 and "BAB crack" in alert["summary"]

    assert end_event(db, type="pipe_defect", key=f"obs-{uid}-1", ended_at=NOW + timedelta(days=3))  # repaired
    evaluate_events(stack, evaluator)
    (cleared,) = alerts_about(db, f"pipe_defect:obs-{uid}-1")
    assert cleared["id"] == alert["id"] and cleared["resolution"] == "cleared"
    assert cleared["cleared_at"] == NOW + timedelta(days=3)
    assert timeline(db, alert["id"]) == ["fired", "cleared"]


def test_a_withdrawn_or_downgraded_event_retracts_its_alert_and_a_minor_one_raises_none(
    stack, db, defect_rule, uid
) -> None:
    drone = defect_rule
    defect(db, drone, f"obs-{uid}-2", 5)
    defect(db, drone, f"obs-{uid}-3", 4)
    defect(db, drone, f"obs-{uid}-4", 3)  # grade 3: below the rule
    evaluator = evaluate_events(stack)
    assert len(alerts_about(db, f"pipe_defect:obs-{uid}-2")) == 1
    assert alerts_about(db, f"pipe_defect:obs-{uid}-4") == []

    assert withdraw_event(db, type="pipe_defect", key=f"obs-{uid}-2")  # a reviewer rejected it
    defect(db, drone, f"obs-{uid}-3", 2)  # a reviewer recoded it to grade 2
    evaluate_events(stack, evaluator)
    for key in (f"obs-{uid}-2", f"obs-{uid}-3"):
        (alert,) = alerts_about(db, f"pipe_defect:{key}")
        assert alert["resolution"] == "retracted", key
        assert timeline(db, alert["id"]) == ["fired", "retracted"]


def test_a_malformed_event_is_refused_before_it_is_stored(db) -> None:
    before = count(db, "SELECT count(*) FROM domain_events")
    for bad in (
        {"type": "Pipe Defect"},
        {"key": ""},
        {"attributes": {"x": "y" * 9000}},
        {"attributes": {"x": float("nan")}},
    ):
        fields = {"type": "pipe_defect", "key": "k", "device_id": "d", "family": "bathy", "occurred_at": NOW,
                  "summary": "s", "attributes": {}, "raised_by": "test", **bad}  # fmt: skip
        with pytest.raises(DomainEventError):
            raise_event(db, **fields)
    assert count(db, "SELECT count(*) FROM domain_events") == before


def frost_by_label(uid: str) -> Threshold:
    return Threshold.model_validate(
        {"name": f"frost-nord-{uid}", "scope": {"family": "ptipot", "labels": {"garden": f"nord-{uid}"}},
         "severity": "warning", "service": "green_spaces", "metric": "air_temp_c", "direction": "below",
         "fire": 1.0, "clear": 3.0, "for": "PT0S"}
    )  # fmt: skip


def test_rules_silences_and_lists_select_devices_by_label(stack, ingest, api, db, uid, issue_token) -> None:
    labelled, other = f"lb{uid}", f"ln{uid}"
    created = api.post("/v1/devices", json={"device_id": labelled, "family": "ptipot", "labels": {"garden": "x"}})
    assert created.status_code == 201, created.text
    assert api.post("/v1/devices", json={"device_id": other, "family": "ptipot"}).status_code == 201
    labels = {"garden": f"nord-{uid}", "bed": "b2"}
    operator = {"Authorization": f"Bearer {issue_token('operator')}"}
    assert api.put(f"/v1/devices/{labelled}/labels", json={"labels": labels}, headers=operator).status_code == 200
    viewer = {"Authorization": f"Bearer {issue_token('viewer')}"}
    assert api.put(f"/v1/devices/{labelled}/labels", json={"labels": {}}, headers=viewer).status_code == 403
    assert api.put(f"/v1/devices/{labelled}/labels", json={"labels": {"Bad Key": "v"}}).status_code == 422
    assert api.put("/v1/devices/nobody-here/labels", json={"labels": {}}).status_code == 404
    listed = api.get("/v1/devices", params={"label": f"garden=nord-{uid}"}).json()["items"]
    assert [d["device_id"] for d in listed] == [labelled] and listed[0]["labels"] == labels
    assert api.get("/v1/devices", params={"label": "garden"}).status_code == 422

    save_pack(db, [frost_by_label(uid)], source="test")
    silence = {"labels": {"bed": "b2"}, "service": "green_spaces", "comment": "bed b2 being rebuilt",
               "ends_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}  # fmt: skip
    made = api.post("/v1/silences", json=silence)
    assert made.status_code == 201, made.text
    cold = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    publish_all(stack, [garden(labelled, cold, air_temp_c=0.2), garden(other, cold, air_temp_c=0.2)])
    stored = "SELECT count(*) FROM garden_readings WHERE device_id = ANY(%s)"
    wait_for(lambda: count(db, stored, [labelled, other]) == 2, what="both readings")
    with psycopg.connect(stack.database_url, autocommit=True, row_factory=dict_row) as conn:
        AlertEvaluator(stack).evaluate_changed(conn)

    (alert,) = db.execute("SELECT id, subject, labels FROM alerts WHERE rule_name = %s", (f"frost-nord-{uid}",))
    assert alert["subject"] == labelled and alert["labels"] == labels  # the unlabelled device: no alert
    outbox = db.execute("SELECT silenced_by FROM alert_outbox WHERE alert_id = %s", (alert["id"],)).fetchone()
    assert outbox["silenced_by"] == made.json()["id"]
    by_label = api.get("/v1/alerts", params={"label": ["bed=b2", f"garden=nord-{uid}"]}).json()["items"]
    assert [a["id"] for a in by_label] == [alert["id"]]
    assert api.get("/v1/alerts", params={"label": ["bed=b3", f"garden=nord-{uid}"]}).json()["items"] == []
    assert api.post(f"/v1/silences/{made.json()['id']}/expire").status_code == 200


def test_a_labelled_device_gets_its_own_threshold(stack, ingest, api, db, uid) -> None:
    """The dry-soil rule's per-garden threshold: a sensor labelled soil_dry_below_pct = 25 fires at 20 %,
    an unlabelled one at the same moisture (above the default 15 %) does not."""
    from device_adapters.registry import family

    own, default = f"sd{uid}", f"sn{uid}"
    assert api.post("/v1/devices", json={"device_id": own, "family": "ptipot",
                                         "labels": {"soil_dry_below_pct": "25"}}).status_code == 201  # fmt: skip
    (dry,) = [r for r in default_rules(family("ptipot")) if r.name == "garden-soil-dry"]
    scope = dry.scope.model_copy(update={"devices": [own, default]})
    save_pack(db, [dry.model_copy(update={"name": f"dry-{uid}", "scope": scope, "for_": timedelta(0)})], source="test")
    at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    publish_all(stack, [garden(own, at, soil_vwc_pct=20.0), garden(default, at, soil_vwc_pct=20.0)])
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = ANY(%s)", [own, default]) == 2,
             what="both readings")  # fmt: skip
    with psycopg.connect(stack.database_url, autocommit=True, row_factory=dict_row) as conn:
        AlertEvaluator(stack).evaluate_changed(conn)
    fired = db.execute("SELECT subject, summary FROM alerts WHERE rule_name = %s", (f"dry-{uid}",)).fetchall()
    assert [r["subject"] for r in fired] == [own] and "≤ 25\u202f%" in fired[0]["summary"]  # its own threshold
