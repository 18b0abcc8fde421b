"""No rule can stop the alert evaluator (issue 19, item 2): the API refuses a rule the evaluator cannot run,
and a rule stored before that check (or by hand) fails alone, visibly (``last_error`` on the rule), while
the other rules' alerts still fire through the real evaluator loop."""

from __future__ import annotations

import threading

import pytest
from psycopg.types.json import Jsonb

from services.alerts.evaluator import AlertEvaluator
from services.alerts.store import save_pack
from tests.conftest import count, wait_for
from tests.integration.helpers import publish_all
from tests.integration.test_alerts import alerts_of, frost_rule, readings

pytestmark = pytest.mark.integration


def absent_on(family: str, devices: list[str], name: str) -> dict:
    return {"kind": "absent", "name": name, "scope": {"family": family, "devices": devices},
            "severity": "critical", "service": "operator", "for": "PT1S"}  # fmt: skip


def test_the_api_refuses_a_rule_the_evaluator_cannot_run(api, uid) -> None:
    """Seen probing the platform: an absence rule on the cameras (no metric to watch) was accepted (201)."""
    created = api.post("/v1/alert-rules", json=absent_on("karroad", [], f"cam-silent-{uid}"))
    assert created.status_code == 422, created.text
    assert "no metric" in created.text
    frost = frost_rule(f"x{uid}").model_dump(mode="json", by_alias=True)
    ok = api.post("/v1/alert-rules", json=frost)
    assert ok.status_code == 201 and ok.json()["last_error"] is None
    refused = api.put(f"/v1/alert-rules/{ok.json()['id']}", json=absent_on("karroad", [], frost["name"]))
    assert refused.status_code == 422 and "no metric" in refused.text
    assert api.post("/v1/alert-rules", json=absent_on("*", [], f"all-silent-{uid}")).status_code == 422


def test_a_stored_rule_the_evaluator_cannot_run_stops_no_other(stack, ingest, api, db, uid) -> None:
    """Rules an older version stored (an absence with nothing to watch, a definition that no longer parses)
    are in the database; the evaluator loop runs several ticks over them, then a garden's frost still fires,
    and each bad rule says why it is not evaluated."""
    camera, garden_id = f"rc{uid}", f"rg{uid}"
    assert api.post("/v1/devices", json={"device_id": camera, "family": "karroad"}).status_code == 201
    bad = absent_on("karroad", [camera], f"cam-silent-{uid}")
    broken = {"kind": "threshold", "name": f"broken-{uid}", "scope": {"family": "ptipot", "devices": [garden_id]}}
    ids = [
        db.execute(
            "INSERT INTO alert_rules (name, kind, definition, source) VALUES (%s, %s, %s, 'api') RETURNING id",
            (d["name"], d["kind"], Jsonb(d)),
        ).fetchone()["id"]
        for d in (bad, broken)
    ]
    save_pack(db, [frost_rule(garden_id)], source="test")
    evaluator = AlertEvaluator(stack, tick_s=0.1)
    stop = threading.Event()
    thread = threading.Thread(target=evaluator.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(evaluator.ready.is_set, what="the evaluator connected")
        wait_for(lambda: evaluator.stats.errors >= 3 or not thread.is_alive(), what="ticks over the bad rules")
        publish_all(stack, readings(garden_id, (40, 0.5), (30, 0.4)))
        wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", garden_id) == 2,
                 what="2 readings")  # fmt: skip
        (alert,) = wait_for(lambda: alerts_of(db, garden_id), timeout=15, what="the frost alert")
        assert alert["state"] == "firing"
        assert thread.is_alive(), "the evaluator loop died"
        listed = {r["id"]: r for r in api.get("/v1/alert-rules").json()}
        assert "no metric" in listed[ids[0]]["last_error"] and listed[ids[0]]["last_error_at"]
        assert "definition" in listed[ids[1]]["last_error"]
        frost_id = db.execute("SELECT id FROM alert_rules WHERE name = %s", (f"frost-{garden_id}",)).fetchone()["id"]
        assert listed[frost_id]["last_error"] is None
    finally:
        stop.set()
        thread.join(15)
        db.execute("UPDATE alert_rules SET enabled = false WHERE id = ANY(%s)", (ids,))


def test_a_time_rule_failing_at_run_time_fails_alone(stack, ingest, db, uid, monkeypatch) -> None:
    """The isolation covers a time rule's look at its devices (``time_candidates``, outside any subject's
    evaluation): a fault injected there for one rule leaves the other time rule firing, the loop alive, and
    the fault written on its rule."""
    from device_adapters.contract import OutboundMessage
    from services.alerts import evaluator as module
    from services.alerts.rules import Offline
    from tests.integration.helpers import garden
    from tests.integration.test_alerts import minutes_ago

    device = f"tf{uid}"
    rules = [
        Offline.model_validate(
            {
                "name": f"{name}-{device}",
                "scope": {"family": "*", "devices": [device]},
                "severity": "warning",
                "service": "operator",
                "for": "PT1S",
            }
        )  # fmt: skip
        for name in ("faulty", "offline")
    ]
    save_pack(db, rules, source="test")
    real = module.time_candidates

    def faulty(conn, rule, subjects, now):  # type: ignore[no-untyped-def]
        if rule.name.startswith("faulty-"):
            raise RuntimeError("injected fault")
        return real(conn, rule, subjects, now)

    monkeypatch.setattr(module, "time_candidates", faulty)
    publish_all(stack, [garden(device, minutes_ago(1))])
    publish_all(stack, [OutboundMessage(f"ptipot/{device}/status", b"offline", retain=True)])
    wait_for(lambda: count(db, "SELECT count(*) FROM devices WHERE device_id = %s AND NOT online", device) == 1,
             what="offline")  # fmt: skip
    evaluator = AlertEvaluator(stack, tick_s=0.1)
    evaluator._ticked = True  # past the first tick: the time rules look at their candidates only
    stop = threading.Event()
    thread = threading.Thread(target=evaluator.run, args=(stop,), daemon=True)
    thread.start()
    try:
        fired = lambda: db.execute(  # noqa: E731
            "SELECT rule_name FROM alerts WHERE subject = %s", (device,)
        ).fetchall()
        assert wait_for(fired, timeout=15, what="the offline alert") == [{"rule_name": f"offline-{device}"}]
        assert thread.is_alive()
        error = db.execute("SELECT last_error FROM alert_rules WHERE name = %s", (f"faulty-{device}",)).fetchone()
        assert error["last_error"] == "injected fault"
    finally:
        stop.set()
        thread.join(15)
