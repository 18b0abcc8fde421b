"""Alerts from readings through the real broker, ingest and TimescaleDB: one alert per problem whatever the
arrival order, the duplicates and the number of evaluators; a late reading retracts an alert it disproves;
the worker wakes on ingest's notification."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from core.db import scalar
from core.french import clock
from device_adapters.contract import OutboundMessage
from services.alerts.evaluator import AlertEvaluator
from services.alerts.rules import Threshold
from services.alerts.store import save_pack
from tests.conftest import count, wait_for
from tests.integration.helpers import garden, publish_all

pytestmark = pytest.mark.integration


def frost_rule(device: str) -> Threshold:
    return Threshold.model_validate(
        {
            "name": f"frost-{device}",
            "scope": {"family": "ptipot", "devices": [device]},
            "severity": "warning",
            "service": "green_spaces",
            "metric": "air_temp_c",
            "direction": "below",
            "fire": 1.0,
            "clear": 3.0,
            "for": timedelta(minutes=10),
        }
    )


_anchor: list[datetime] = []


@pytest.fixture(autouse=True)
def one_clock_per_test() -> Any:
    """Every "minutes ago" in a test counts from one minute, taken when the test starts.

    Read afresh each time, a test that crossed a minute boundary between publishing and asserting
    compared times one minute apart (seen once in CI).
    """
    _anchor.append(datetime.now(UTC).replace(second=0, microsecond=0))
    yield
    _anchor.clear()


def minutes_ago(m: float) -> str:
    # a test of another module that borrows these helpers has no anchor of its own: its times count from now
    anchor = _anchor[-1] if _anchor else datetime.now(UTC).replace(second=0, microsecond=0)
    return (anchor - timedelta(minutes=m)).isoformat()


def readings(device: str, *points: tuple[float, float]) -> list:
    """(minutes ago, air temperature) pairs, as the garden sensor sends them."""
    return [garden(device, minutes_ago(m), air_temp_c=v) for m, v in points]


def alerts_of(db: psycopg.Connection[Any], device: str) -> list[dict]:
    return db.execute(
        "SELECT id, state, resolution, began_at, fired_at, cleared_at, worst_value, service FROM alerts "
        "WHERE subject = %s ORDER BY began_at",
        (device,),
    ).fetchall()


def evaluate(stack) -> AlertEvaluator:
    evaluator = AlertEvaluator(stack)
    with psycopg.connect(stack.database_url, autocommit=True, row_factory=dict_row) as conn:
        evaluator.evaluate_changed(conn)
    return evaluator


@pytest.fixture
def rule(db, uid) -> str:
    device = f"al{uid}"
    save_pack(db, [frost_rule(device)], source="test")
    return device


def evaluate_concurrently(stack, workers: int = 3) -> None:
    threads = [threading.Thread(target=evaluate, args=(stack,)) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)


def test_a_frost_fires_once_and_clears_past_the_hysteresis(stack, ingest, db, rule) -> None:
    device = rule
    cold = [(60, 4.0), (50, 0.8), (45, 0.5), (40, 0.2), (35, 2.0), (30, 0.4), (25, 2.5)]
    publish_all(stack, readings(device, *cold))
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 7, what="7")
    evaluate_concurrently(stack)  # three evaluators at once: one alert, fired once
    (firing,) = alerts_of(db, device)
    assert firing["state"] == "firing"
    assert count(db, "SELECT count(*) FROM alert_events WHERE alert_id = %s", firing["id"]) == 1

    warm = [(20, 3.4), (15, 4.0)]
    publish_all(stack, readings(device, *warm))
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 9, what="9")
    evaluate_concurrently(stack)  # and it clears once
    frost = cold + warm
    (alert,) = alerts_of(db, device)
    assert alert["id"] == firing["id"]
    began = datetime.fromisoformat(minutes_ago(50))
    assert alert["began_at"] == began and alert["fired_at"] == began + timedelta(minutes=10)
    assert alert["state"] == "resolved" and alert["resolution"] == "cleared"
    assert alert["cleared_at"] == datetime.fromisoformat(minutes_ago(20)) and alert["worst_value"] == 0.2
    assert alert["service"] == "green_spaces"
    kinds = [
        r["kind"] for r in db.execute("SELECT kind FROM alert_events WHERE alert_id = %s ORDER BY id", (alert["id"],))
    ]
    assert kinds == ["fired", "cleared"]
    assert count(db, "SELECT count(*) FROM alert_outbox WHERE alert_id = %s", alert["id"]) == 2

    # redelivered readings and more evaluators change nothing
    publish_all(stack, readings(device, *frost))
    evaluate_concurrently(stack)
    assert [a["id"] for a in alerts_of(db, device)] == [alert["id"]]
    assert count(db, "SELECT count(*) FROM alert_events WHERE alert_id = %s", alert["id"]) == 2


def test_a_late_reading_retracts_the_alert_it_disproves(stack, ingest, db, rule) -> None:
    device = rule
    publish_all(stack, readings(device, (40, 0.5), (35, 0.5), (25, 0.5), (20, 0.5)))
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 4, what="4")
    evaluate(stack)
    (alert,) = alerts_of(db, device)
    assert alert["state"] == "firing"

    publish_all(stack, readings(device, (30, 2.0)))  # late: between the others, not below the threshold
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 5, what="5")
    evaluate(stack)
    (retracted,) = alerts_of(db, device)
    assert retracted["id"] == alert["id"] and retracted["resolution"] == "retracted"
    kinds = [
        r["kind"] for r in db.execute("SELECT kind FROM alert_events WHERE alert_id = %s ORDER BY id", (alert["id"],))
    ]
    assert kinds == ["fired", "retracted"]

    # a retracted alert stands for nothing: a real frost after it is an alert of its own
    publish_all(stack, readings(device, (15, 0.5), (10, 0.5), (5, 0.5)))
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 8, what="8")
    evaluate(stack)
    retracted_again, real = alerts_of(db, device)
    assert retracted_again["id"] == alert["id"] and retracted_again["resolution"] == "retracted"
    assert real["state"] == "firing" and real["began_at"] == datetime.fromisoformat(minutes_ago(25))


def test_a_late_reading_that_shows_an_earlier_start_keeps_one_alert(stack, ingest, db, rule) -> None:
    """A firing alert whose problem, a late reading shows, began earlier stays the one alert (its start
    moves back and the timeline says so): not a second open alert, not a crash on the one-open index."""
    device = rule
    publish_all(stack, readings(device, (30, 0.5), (25, 0.5), (20, 0.5), (15, 0.5)))
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 4, what="4")
    evaluate(stack)
    (alert,) = alerts_of(db, device)
    assert alert["began_at"] == datetime.fromisoformat(minutes_ago(30)) and alert["state"] == "firing"

    publish_all(stack, readings(device, (35, 0.4)))  # late, and colder: the frost began 5 minutes earlier
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 5, what="5")
    evaluate(stack)
    (moved,) = alerts_of(db, device)
    assert moved["id"] == alert["id"] and moved["state"] == "firing"
    assert moved["began_at"] == datetime.fromisoformat(minutes_ago(35))
    assert moved["fired_at"] == datetime.fromisoformat(minutes_ago(25)) and moved["worst_value"] == 0.4
    # its text says the new start and the worst value (it was written when the alert fired)
    text = scalar(db, "SELECT summary FROM alerts WHERE id = %s", (alert["id"],))
    assert f"depuis {clock(moved['began_at'])}" in text and "0,4\u202f°C" in text, text
    kinds = [
        r["kind"] for r in db.execute("SELECT kind FROM alert_events WHERE alert_id = %s ORDER BY id", (alert["id"],))
    ]
    assert kinds == ["fired", "began_earlier"]


def test_the_worker_wakes_on_ingest_and_an_interrupted_evaluation_leaves_nothing(stack, ingest, db, rule) -> None:
    device = rule
    # an evaluation killed mid-way: its transaction (lock held, alert half-written) dies with its connection
    dying = psycopg.connect(stack.database_url, autocommit=True)
    dying.execute("BEGIN")
    dying.execute("SELECT pg_advisory_xact_lock(1::int, hashtext('x'))")
    dying.close()

    evaluator = AlertEvaluator(stack, tick_s=3600)
    stop = threading.Event()
    worker = threading.Thread(target=evaluator.run, args=(stop,), daemon=True)
    worker.start()
    try:
        assert evaluator.ready.wait(10)
        publish_all(stack, readings(device, (30, 0.1), (25, 0.1), (19, 0.1)))
        alert = wait_for(lambda: alerts_of(db, device), timeout=15, what="the alert, from the notification")
        assert len(alert) == 1 and alert[0]["state"] == "firing"
    finally:
        stop.set()
        worker.join(10)


def test_each_service_sees_its_own_alerts_with_their_timeline(stack, ingest, api, db, rule, issue_token) -> None:
    device = rule
    publish_all(stack, readings(device, (40, 0.5), (30, 0.4), (20, 3.5)))
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 3, what="3")
    evaluate(stack)
    (alert,) = alerts_of(db, device)

    def as_role(role: str, path: str, **params: object):
        return api.get(path, params=params, headers={"Authorization": f"Bearer {issue_token(role)}"})

    mine = as_role("green_spaces", "/v1/alerts", device_id=device).json()["items"]
    assert [a["id"] for a in mine] == [alert["id"]] and mine[0]["service"] == "green_spaces"
    assert as_role("sanitation", "/v1/alerts", device_id=device).json()["items"] == []
    assert as_role("sanitation", f"/v1/alerts/{alert['id']}").status_code == 404  # not theirs: as if absent
    assert [a["id"] for a in as_role("operator", "/v1/alerts", device_id=device).json()["items"]] == [alert["id"]]

    detail = as_role("green_spaces", f"/v1/alerts/{alert['id']}").json()
    assert [e["kind"] for e in detail["timeline"]] == ["fired", "cleared"]
    assert [r["value"] for r in detail["readings_around_trigger"]] == [0.5, 0.4, 3.5]
    assert detail["state"] == "resolved" and detail["resolution"] == "cleared"
    assert api.get("/v1/alerts", params={"state": "bogus"}).status_code == 422


def test_people_acknowledge_assign_and_resolve_and_a_resolved_episode_stays_closed(
    stack, ingest, api, db, rule, issue_token
) -> None:
    device = rule
    publish_all(stack, readings(device, (50, 0.5), (45, 0.4), (38, 0.3)))
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 3, what="3")
    evaluate(stack)
    (alert,) = alerts_of(db, device)
    path = f"/v1/alerts/{alert['id']}"

    def post(role: str, action: str, body: dict):
        return api.post(
            f"{path}/{action}", json=body, headers={"Authorization": f"Bearer {issue_token(role, name=role)}"}
        )

    assert post("viewer", "ack", {}).status_code == 403
    assert post("sanitation", "ack", {}).status_code == 404  # another service's alert
    acked = post("green_spaces", "ack", {"note": "on my way"})
    assert acked.status_code == 200 and acked.json()["state"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == "green_spaces"
    assert post("green_spaces", "ack", {}).status_code == 409  # once
    assert post("green_spaces", "assign", {"assignee": "équipe nord"}).json()["assignee"] == "équipe nord"
    assert post("green_spaces", "assign", {"assignee": "x\u0000"}).status_code == 422
    resolved = post("green_spaces", "resolve", {"note": "covered the beds"})
    assert resolved.json()["state"] == "resolved" and resolved.json()["resolution"] == "by_hand"
    assert post("green_spaces", "resolve", {}).status_code == 409
    assert [e["kind"] for e in resolved.json()["timeline"]] == ["fired", "acknowledged", "assigned", "resolved_by_hand"]
    assert resolved.json()["timeline"][1]["detail"] == {"note": "on my way"}

    # the condition still holds: the same episode does not open a new alert...
    publish_all(stack, readings(device, (30, 0.2)))
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 4, what="4")
    evaluate(stack)
    assert [a["id"] for a in alerts_of(db, device)] == [alert["id"]]
    # ...a new one needs the condition to clear and come back
    publish_all(stack, readings(device, (25, 4.0), (20, 0.1), (15, 0.1), (8, 0.1)))
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 8, what="8")
    evaluate(stack)
    first, second = alerts_of(db, device)
    assert first["id"] == alert["id"] and first["cleared_at"] is not None and second["state"] == "firing"
    audited = count(db, "SELECT count(*) FROM audit_log WHERE path LIKE %s AND method = 'POST'", f"{path}/%")
    assert audited >= 8  # every attempt, allowed or refused


def read_stream(api, token: str, last_event_id: int, max_events: int) -> list[dict]:
    """The SSE stream as a client reads it: (id, event, data) of each event."""
    headers = {"Authorization": f"Bearer {token}", "Last-Event-ID": str(last_event_id)}
    with api.stream("GET", "/v1/alerts/stream", params={"max_events": max_events}, headers=headers) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        return server_sent_events(response.iter_lines())


def server_sent_events(lines) -> list[dict]:
    events, current = [], {}
    for line in lines:
        if not line:
            if "id" in current:
                events.append(current)
            current = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(": ")
            current[field] = value
    return events


def read_stream_of(api, token: str, last_event_id: int, subjects: set[str], count: int) -> list[dict]:
    """The first ``count`` events about ``subjects`` after ``last_event_id``, read as a client resuming after each
    event would: the database is the test process's, and earlier tests' alerts may change in between."""
    ours: list[dict] = []
    for _ in range(200):
        (event,) = read_stream(api, token, last_event_id, max_events=1)
        last_event_id = int(event["id"])
        if json.loads(event["data"])["alert"]["subject"] in subjects:
            ours.append(event)
            if len(ours) == count:
                return ours
    raise AssertionError(f"fewer than {count} events about {subjects} in 200")


def test_the_stream_resumes_from_last_event_id_without_gap_or_duplicate(
    stack, ingest, api, db, rule, uid, issue_token
) -> None:
    device = rule
    drone = f"dr{uid}"
    save_pack(
        db,
        [Threshold.model_validate({
            "name": f"h2s-{drone}", "scope": {"family": "bathy", "devices": [drone]}, "severity": "critical",
            "service": "sanitation", "metric": "h2s_ppm", "direction": "above", "fire": 10, "clear": 8, "for": "PT0S",
        })],
        source="test",
    )  # fmt: skip
    start = count(db, "SELECT coalesce(max(id), 0) FROM alert_outbox")
    telemetry = OutboundMessage(
        f"bathy/{drone}/telemetry",
        json.dumps({"mission_id": f"m{uid}", "ts": minutes_ago(5), "chainage_m": 1.0, "h2s_ppm": 15.0}).encode(),
    )
    publish_all(stack, [telemetry, *readings(device, (40, 0.5), (30, 0.4), (20, 3.5))])
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 3, what="3")
    wait_for(lambda: count(db, "SELECT count(*) FROM drone_telemetry WHERE device_id = %s", drone) == 1, what="1")
    evaluate(stack)

    green = issue_token("green_spaces")
    ours = {device, drone}
    both = read_stream_of(api, green, start, ours, 2)
    assert [e["event"] for e in both] == ["alert.fired", "alert.cleared"]
    assert {json.loads(e["data"])["alert"]["subject"] for e in both} == {device}  # not the drone's
    resumed = read_stream_of(api, green, int(both[0]["id"]), ours, 1)
    assert resumed == both[1:]  # after the first: exactly the second, nothing skipped, nothing twice
    drone_events = read_stream_of(api, issue_token("sanitation"), start, ours, 1)
    assert json.loads(drone_events[0]["data"])["alert"]["subject"] == drone
    bad = api.get("/v1/alerts/stream", headers={"Last-Event-ID": "abc"})
    assert bad.status_code == 422


def test_a_silence_keeps_the_alert_but_not_its_delivery_and_says_so(stack, ingest, api, db, rule, issue_token) -> None:
    device = rule
    green = {"Authorization": f"Bearer {issue_token('green_spaces', name='gs')}"}
    sanitation = {"Authorization": f"Bearer {issue_token('sanitation', name='san')}"}
    window = {"device_id": device, "ends_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(), "comment": "works"}
    assert api.post("/v1/silences", json={**window, "service": "green_spaces"}, headers=sanitation).status_code == 403
    assert api.post("/v1/silences", json={"comment": "x", "ends_at": window["ends_at"]}).status_code == 422
    created = api.post("/v1/silences", json={**window, "service": "green_spaces"}, headers=green)
    assert created.status_code == 201, created.text
    silence = created.json()
    active = [s["id"] for s in api.get("/v1/silences", params={"active": True}, headers=green).json()]
    assert silence["id"] in active  # (other tests' silences may be active too: the database is the session's)
    theirs = api.get("/v1/silences", params={"active": True}, headers=sanitation).json()
    assert silence["id"] not in [s["id"] for s in theirs]  # not the sanitation service's

    start = count(db, "SELECT coalesce(max(id), 0) FROM alert_outbox")
    publish_all(stack, readings(device, (40, 0.5), (30, 0.4)))
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 2, what="2")
    evaluate(stack)
    (alert,) = alerts_of(db, device)
    assert alert["state"] == "firing"  # the alert exists...
    detail = api.get(f"/v1/alerts/{alert['id']}", headers=green).json()
    assert detail["timeline"][0]["detail"]["silenced_by"] == silence["id"]  # ...says why it was not sent...
    headers = {**green, "Last-Event-ID": str(start)}
    with api.stream("GET", "/v1/alerts/stream", params={"max_seconds": 1}, headers=headers) as response:
        delivered = server_sent_events(response.iter_lines())
    assert not [e for e in delivered if json.loads(e["data"])["alert"]["subject"] == device]  # ...and was not sent

    expired = api.post(f"/v1/silences/{silence['id']}/expire", headers=green).json()
    assert datetime.fromisoformat(expired["ends_at"]) <= datetime.now(UTC)
    publish_all(stack, readings(device, (20, 3.5)))  # the clearing, after the silence: delivered
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 3, what="3")
    evaluate(stack)
    (event,) = read_stream_of(api, issue_token("green_spaces"), start, {device}, 1)
    assert event["event"] == "alert.cleared"  # the firing, silenced, was not in the stream


def test_rules_over_http_take_effect_and_a_disabled_rule_fires_no_more(stack, ingest, api, db, uid) -> None:
    device = f"ru{uid}"
    rule = frost_rule(device).model_dump(mode="json", by_alias=True)
    assert api.post("/v1/alert-rules", json={**rule, "metric": "nope"}).status_code == 422
    assert api.post("/v1/alert-rules", json={**rule, "clear": 0.0}).status_code == 422  # hysteresis backwards
    assert api.post("/v1/alert-rules", json={**rule, "scope": {"family": "weather"}}).status_code == 422
    created = api.post("/v1/alert-rules", json=rule)
    assert created.status_code == 201 and created.json()["source"] == "api"
    assert api.post("/v1/alert-rules", json=rule).status_code == 409
    rule_id = created.json()["id"]

    publish_all(stack, readings(device, (40, 0.5), (30, 0.4), (20, 3.5)))
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 3, what="3")
    evaluate(stack)
    assert len(alerts_of(db, device)) == 1

    stricter = api.put(f"/v1/alert-rules/{rule_id}", json={**rule, "fire": 0.45, "clear": 2.0})
    assert stricter.status_code == 200 and stricter.json()["definition"]["fire"] == 0.45
    assert api.delete(f"/v1/alert-rules/{rule_id}").status_code == 204
    assert [r["enabled"] for r in api.get("/v1/alert-rules").json() if r["id"] == rule_id] == [False]
    publish_all(stack, readings(device, (15, 0.1), (10, 0.1), (4, 0.1)))
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 6, what="6")
    evaluate(stack)
    assert len(alerts_of(db, device)) == 1  # disabled: the new frost fires nothing


def test_a_device_that_goes_offline_and_stays_away_is_an_operator_alert(stack, ingest, db, uid) -> None:
    from services.alerts.rules import Offline

    device = f"of{uid}"
    rule = Offline.model_validate(
        {"name": f"offline-{device}", "scope": {"family": "*", "devices": [device]}, "severity": "warning",
         "service": "operator", "for": "PT1S"}
    )  # fmt: skip
    save_pack(db, [rule], source="test")
    evaluator = AlertEvaluator(stack)

    def tick() -> list[dict]:
        with psycopg.connect(stack.database_url, autocommit=True, row_factory=dict_row) as conn:
            evaluator.evaluate_absences(conn)
        return alerts_of(db, device)

    def online() -> bool | None:
        return db.execute("SELECT online FROM devices WHERE device_id = %s", (device,)).fetchone()["online"]

    publish_all(stack, [garden(device, minutes_ago(1))])
    publish_all(stack, [OutboundMessage(f"ptipot/{device}/status", b"offline", retain=True)])
    wait_for(lambda: online() is False, what="the offline status")
    (alert,) = wait_for(tick, timeout=10, what="the offline alert once it lasted its second")
    assert alert["state"] == "firing" and alert["service"] == "operator"

    publish_all(stack, [OutboundMessage(f"ptipot/{device}/status", b"online", retain=True)])
    wait_for(online, what="the online status")
    (back,) = tick()
    assert back["id"] == alert["id"] and back["resolution"] == "cleared"


def test_each_scenario_fires_its_default_rules(stack, ingest, db, uid) -> None:
    """The simulators' scenarios against the default packs (scoped to this test's devices)."""
    from device_adapters.bathy.simulator import DroneMission
    from device_adapters.ptipot.simulator import GardenFleet
    from device_adapters.registry import family
    from services.alerts.packs import default_rules
    from sim.runner import run_simulator
    from tests.integration.helpers import keyring

    fleets = {
        "drought": GardenFleet(devices=1, readings=2, prefix=f"dr{uid}", scenario="drought"),
        "frost": GardenFleet(devices=1, readings=2, prefix=f"fr{uid}", scenario="frost"),
        "gas-pocket": DroneMission(device_id=f"gp{uid}", length_m=6.0, rate_hz=50, missions=1, scenario="gas-pocket"),
        "surge": DroneMission(device_id=f"su{uid}", length_m=6.0, rate_hz=50, missions=1, scenario="surge"),
        # 10 m: the battery rule's 10 s must pass in the simulator's wall-clock time (1,000 ticks at 50 Hz)
        "low-battery": DroneMission(
            device_id=f"lb{uid}", length_m=10.0, rate_hz=50, missions=1, scenario="low-battery"
        ),
        "silent": GardenFleet(devices=1, readings=1, prefix=f"sl{uid}", scenario="silent"),
    }
    devices = {name: next(iter(f.device_families())) for name, f in fleets.items()}
    mine = {"devices": list(devices.values())}
    rules = [
        rule.model_copy(update={"name": f"{rule.name}-{uid}", "scope": rule.scope.model_copy(update=mine)})
        for name in ("ptipot", "bathy")
        for rule in default_rules(family(name))  # the family's own and its capabilities' (the drone's gases)
    ]
    save_pack(db, rules, source="test")
    # side by side, as devices publish (the drones' missions run in wall-clock time: 12, 12 and 20 s)
    with ThreadPoolExecutor(max_workers=len(fleets)) as pool:
        done = list(pool.map(lambda f: run_simulator(f, stack, rate=50, keyring=keyring(stack),
                                                     stop=threading.Event()), fleets.values()))  # fmt: skip
    assert done == [0] * len(fleets)

    def stored(table: str, device: str) -> int:
        return count(db, f"SELECT count(*) FROM {table} WHERE device_id = %s", device)

    wait_for(lambda: stored("drone_telemetry", devices["gas-pocket"]) == 600, what="the drone's mission")
    wait_for(lambda: stored("drone_telemetry", devices["surge"]) == 600, what="the surge mission")
    wait_for(lambda: stored("drone_telemetry", devices["low-battery"]) == 1000, what="the low-battery mission")
    wait_for(lambda: stored("garden_readings", devices["silent"]) == 13, what="1 h of readings ending 3 h ago")
    wait_for(lambda: stored("garden_readings", devices["drought"]) == 85 + 2, what="7 h of history and 2 now")
    wait_for(lambda: stored("garden_readings", devices["frost"]) == 7 + 2, what="30 min of history and 2 now")
    evaluate(stack)

    def fired(device: str) -> set[str]:
        rows = db.execute("SELECT rule_name FROM alerts WHERE subject = %s", (device,)).fetchall()
        return {r["rule_name"].removesuffix(f"-{uid}") for r in rows}

    assert "garden-soil-dry" in fired(devices["drought"])
    assert "garden-frost" in fired(devices["frost"])
    assert {"drone-h2s-short-term", "drone-ch4-lel-10", "drone-ch4-lel-20", "drone-o2-low"} <= fired(
        devices["gas-pocket"]
    )
    assert "drone-water-rising" in fired(devices["surge"])  # (its H2S near a defect may pass 10 ppm too)
    assert "drone-water-rising" not in fired(devices["gas-pocket"])  # its level only has noise
    assert "drone-battery-low" in fired(devices["low-battery"])
    with psycopg.connect(stack.database_url, autocommit=True, row_factory=dict_row) as conn:
        AlertEvaluator(stack).evaluate_absences(conn)
    assert "garden-sensor-silent" in fired(devices["silent"])


@pytest.mark.parametrize("family_name", ["bathy", "karroad", "ptipot"])
def test_a_silent_device_of_any_family_is_an_offline_alert(stack, ingest, db, uid, family_name) -> None:
    """`tlab sim <family> --scenario silent`: the devices send once and go offline; the platform pack's
    offline rule (its 15 minutes shortened to 1 s here, nothing else changed) fires for each of them."""
    from device_adapters.registry import family
    from services.alerts.packs import platform_pack
    from sim.runner import run_simulator
    from tests.integration.helpers import keyring

    spec = family(family_name).simulator
    assert spec is not None
    prefix = {"bathy": "device", "karroad": "prefix", "ptipot": "prefix"}[family_name]
    options = {**spec.defaults(), prefix: f"si{uid}" + ("-01" if prefix == "device" else ""), "count": 1}
    if "devices" in options:
        options["devices"] = 2
    silent = spec.build_scenario("silent", **options)
    devices = list(silent.device_families())
    (offline,) = [r for r in platform_pack() if r.kind == "offline"]
    quick = offline.model_copy(update={"name": f"offline-{uid}", "for_": timedelta(seconds=1),
                                       "scope": offline.scope.model_copy(update={"devices": devices})})  # fmt: skip
    save_pack(db, [quick], source="test")
    assert run_simulator(silent, stack, rate=50, keyring=keyring(stack), stop=threading.Event()) == 0
    evaluator = AlertEvaluator(stack)

    def offline_alerts() -> set[str]:
        with psycopg.connect(stack.database_url, autocommit=True, row_factory=dict_row) as conn:
            evaluator.evaluate_absences(conn)
        rows = db.execute("SELECT subject FROM alerts WHERE rule_name = %s AND state = 'firing'", (quick.name,))
        return {r["subject"] for r in rows}

    assert wait_for(lambda: offline_alerts() == set(devices), timeout=15, what="an offline alert per device")


def test_a_device_sending_garbage_raises_a_dead_letter_surge(stack, ingest, db, uid) -> None:
    from services.alerts.rules import DeadLetterSurge

    device = f"gb{uid}"
    rule = DeadLetterSurge.model_validate(
        {"name": f"surge-{device}", "scope": {"family": "*", "devices": [device]}, "severity": "warning",
         "service": "operator", "threshold": 10, "window": "PT5M"}
    )  # fmt: skip
    save_pack(db, [rule], source="test")
    garbage = [OutboundMessage(f"ptipot/{device}/readings", f'{{"ts": "nope-{i}"}}'.encode()) for i in range(12)]
    publish_all(stack, garbage)
    wait_for(lambda: count(db, "SELECT count(*) FROM dead_letters WHERE device_id = %s", device) == 12, what="12")
    evaluator = AlertEvaluator(stack)
    with psycopg.connect(stack.database_url, autocommit=True, row_factory=dict_row) as conn:
        evaluator.evaluate_absences(conn)
    (alert,) = alerts_of(db, device)
    assert alert["state"] == "firing" and alert["service"] == "operator"


def test_a_quiet_device_costs_no_locked_evaluation_and_a_breach_still_does(stack, ingest, db, rule) -> None:
    """The evaluator's pass reads many devices' samples at once and takes a subject's lock only when its
    stored alerts do not already say what its readings show (most devices, most of the time)."""
    device = rule
    publish_all(stack, readings(device, (30, 8.0), (25, 9.0)))
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 2, what="2")
    quiet = evaluate(stack)
    assert quiet.stats.skipped >= 1 and alerts_of(db, device) == []
    publish_all(stack, readings(device, (20, 0.5), (10, 0.5)))
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 4, what="4")
    breached = evaluate(stack)
    assert breached.stats.evaluations >= 1 and [a["state"] for a in alerts_of(db, device)] == ["firing"]
    settled_now = evaluate(stack)  # the alert says it all: open alerts are always re-evaluated (they may clear)
    assert settled_now.stats.evaluations >= 1 and len(alerts_of(db, device)) == 1


def test_a_running_evaluator_reads_only_the_tail_and_still_catches_late_readings(stack, ingest, db, uid) -> None:
    """After its first pass, a worker reads the readings stamped since its last pass. Older ones (a device
    flushing its buffer) are flagged by ingest (devices.data_late_at) and evaluated over the whole
    look-back at the next pass; if that cue is lost, the periodic re-check still finds them."""
    flushed, unflagged = f"fl{uid}", f"uf{uid}"
    save_pack(db, [frost_rule(flushed), frost_rule(unflagged)], source="test")
    evaluator = AlertEvaluator(stack, recheck_every=timedelta(0))  # queue the changed devices at every pass

    def evaluate_again(*, recheck: bool) -> None:
        with psycopg.connect(stack.database_url, autocommit=True, row_factory=dict_row) as conn:
            evaluator.evaluate_changed(conn)
            if recheck:
                evaluator.recheck_late(conn)

    def buffer_then_live(device: str) -> list:
        live = garden(device, datetime.now(UTC).replace(microsecond=0).isoformat(), air_temp_c=4.0)
        return [*readings(device, (40, 0.5), (35, 0.5), (30, 0.5), (25, 0.5)), live]

    def stored(device: str) -> int:
        return count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device)

    evaluate_again(recheck=False)  # the first pass: the whole look-back, nothing of these devices yet
    publish_all(stack, buffer_then_live(flushed))
    wait_for(lambda: stored(flushed) == 5, what="5")
    evaluate_again(recheck=False)
    (late,) = alerts_of(db, flushed)  # a frost from 40 to 25 minutes ago, cleared by the live reading
    assert late["began_at"] == datetime.fromisoformat(minutes_ago(40)) and late["resolution"] == "cleared"

    publish_all(stack, buffer_then_live(unflagged))
    wait_for(lambda: stored(unflagged) == 5, what="5")
    db.execute("UPDATE devices SET data_late_at = NULL WHERE device_id = %s", (unflagged,))  # the cue lost
    evaluate_again(recheck=False)
    assert alerts_of(db, unflagged) == []  # the tail holds one warm reading: nothing could fire there
    evaluate_again(recheck=True)
    (found,) = alerts_of(db, unflagged)
    assert found["began_at"] == datetime.fromisoformat(minutes_ago(40)) and found["resolution"] == "cleared"


def test_after_its_first_tick_a_time_rule_looks_only_at_devices_that_could_be_in_an_episode(
    stack, ingest, db, uid
) -> None:
    from services.alerts.rules import Offline

    steady, leaving = f"st{uid}", f"lv{uid}"
    rule = Offline.model_validate(
        {"name": f"offline-pair-{uid}", "scope": {"family": "*", "devices": [steady, leaving]},
         "severity": "warning", "service": "operator", "for": "PT1S"}
    )  # fmt: skip
    save_pack(db, [rule], source="test")
    publish_all(stack, [garden(steady, minutes_ago(1)), garden(leaving, minutes_ago(1))])
    publish_all(stack, [OutboundMessage(f"ptipot/{d}/status", b"online", retain=True) for d in (steady, leaving)])
    wait_for(lambda: count(db, "SELECT count(*) FROM devices WHERE device_id = ANY(%s) AND online", [steady, leaving])
             == 2, what="both online")  # fmt: skip
    evaluator = AlertEvaluator(stack)

    def tick() -> None:
        with psycopg.connect(stack.database_url, autocommit=True, row_factory=dict_row) as conn:
            evaluator.evaluate_absences(conn)

    tick()  # the first tick: every device of every time rule
    skipped = evaluator.stats.skipped
    publish_all(stack, [OutboundMessage(f"ptipot/{leaving}/status", b"offline", retain=True)])
    wait_for(lambda: count(db, "SELECT count(*) FROM devices WHERE device_id = %s AND NOT online", leaving) == 1,
             what="offline")  # fmt: skip

    def fired() -> list[dict]:
        tick()
        return alerts_of(db, leaving)

    (alert,) = wait_for(fired, timeout=10, what="the offline alert")
    assert alert["state"] == "firing" and alerts_of(db, steady) == []
    assert evaluator.stats.skipped > skipped  # the steady device: not evaluated after the first tick


def test_a_rate_rule_with_no_reading_in_the_tail_is_skipped_not_a_crash(stack, ingest, db, uid) -> None:
    """Seen on `./lab run` (2026-11-29): the evaluator died on a rate rule's subject with no reading since
    the tail ('RateOfChange' object has no attribute 'for_device'), and the supervisor kept restarting it."""
    from services.alerts.rules import RateOfChange
    from services.alerts.store import StoredRule, Subject

    device = f"rt{uid}"
    publish_all(stack, [garden(device, minutes_ago(30))])  # its only reading: long before the tail
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device), what="reading")
    rule = RateOfChange.model_validate(
        {"name": f"drying-{device}", "scope": {"family": "ptipot", "devices": [device]}, "severity": "warning",
         "service": "green_spaces", "metric": "soil_vwc_pct", "direction": "fall", "by": 10, "window": "PT5M"}
    )  # fmt: skip
    save_pack(db, [rule], source="test")
    rule_id = db.execute("SELECT id FROM alert_rules WHERE name = %s", (rule.name,)).fetchone()["id"]
    evaluator = AlertEvaluator(stack)
    now = datetime.now(UTC)
    with psycopg.connect(stack.database_url, autocommit=True, row_factory=dict_row) as conn:
        done = evaluator.evaluate_tail(
            conn, StoredRule(rule_id, rule), [Subject(device, device, "ptipot", {})], now, now
        )
    assert done == 1 and evaluator.stats.skipped == 1  # handled, and skipped: nothing could fire
    assert alerts_of(db, device) == []
