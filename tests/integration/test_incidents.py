"""Incidents from a Frigate gateway's events, through the real broker, ingest and database (issue 12,
item 2): one incident per object whatever the duplicates, redeliveries and track splits; its domain event
for the alerts; cleared when the object is gone; withdrawn when the camera takes it for a false positive."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from core.db import connect
from core.gateways import map_camera
from services.incidents.worker import IncidentWorker
from sim.publisher import OutboundMessage
from tests.conftest import count, wait_for
from tests.integration.helpers import keyring, publish_all

pytestmark = pytest.mark.integration

SAMPLE = Path(__file__).parents[1] / "fixtures" / "frigate" / "events_end.json"


def state(
    gateway: str,
    object_id: str,
    kind: str,
    *,
    began_ago: float,
    seen_ago: float,
    ended: bool = False,
    box: list[int] | None = None,
    label: str = "couch",
    false_positive: bool = False,
) -> OutboundMessage:
    """A Frigate `events` message for one object of camera `rue_des_fleurs`, times relative to now."""
    message = json.loads(SAMPLE.read_text())
    now = time.time()
    for s in (message["before"], message["after"]):
        s.update(id=object_id, camera="rue_des_fleurs", label=label, start_time=now - began_ago,
                 frame_time=now - seen_ago, end_time=now - seen_ago if ended else None,
                 false_positive=false_positive, box=box or s["box"])  # fmt: skip
    message["type"] = kind
    return OutboundMessage(f"karroad/{gateway}/events", json.dumps(message).encode())


def test_one_object_is_one_incident_raised_cleared_or_withdrawn(stack, ingest, db, uid) -> None:
    gateway, camera = f"fg{uid}", f"fc{uid}"
    keyring(stack).ensure({gateway: "karroad", camera: "karroad"})
    with connect(stack.database_url) as conn:
        map_camera(conn, gateway, "rue_des_fleurs", camera)
    couch, couch_again, bag = f"1795.1-{uid}", f"1795.2-{uid}", f"1795.3-{uid}"
    van = f"1795.0-{uid}"
    still = state(gateway, couch, "update", began_ago=600, seen_ago=5)
    publish_all(
        stack,
        [
            state(gateway, van, "end", began_ago=700, seen_ago=640, ended=True, label="car", box=[300, 280, 700, 560]),
            still, still,  # a duplicate
            # the tracker loses the couch and starts a second track on the same spot
            state(gateway, couch_again, "update", began_ago=300, seen_ago=5, box=[612, 392, 798, 540]),
            state(gateway, bag, "update", began_ago=400, seen_ago=5, label="bag", box=[10, 10, 60, 70]),
        ],
    )  # fmt: skip
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", camera) == 4, what="4 tracks")
    worker = IncidentWorker(stack)
    with connect(stack.database_url) as conn:
        worker.work_once(conn)  # other tests' cameras may have incidents too: this camera's are checked
        assert worker.work_once(conn) == {"new": 0, "updated": 0, "cleared": 0, "withdrawn": 0, "reopened": 0}
    assert count(db, "SELECT count(*) FROM incidents WHERE device_id = %s", camera) == 2
    rows = db.execute(
        "SELECT id, key, tracks, context, state, zone FROM incidents WHERE device_id = %s ORDER BY began_at", (camera,)
    ).fetchall()
    couch_incident = next(r for r in rows if r["key"] == couch)
    assert couch_incident["tracks"] == [couch, couch_again] and couch_incident["context"] == [van]
    assert couch_incident["state"] == "suspected" and couch_incident["zone"] == "collection_point"
    event = db.execute(
        "SELECT device_id, ended_at, withdrawn FROM domain_events WHERE type = 'dumping_suspected' AND key = %s",
        (f"incident:{couch_incident['id']}",),
    ).fetchone()
    assert event == {"device_id": camera, "ended_at": None, "withdrawn": False}

    # redelivered, the couch's tracks end (it was taken away); the bag turns out a false positive
    publish_all(
        stack,
        [
            still,
            state(gateway, couch, "end", began_ago=600, seen_ago=3, ended=True),
            state(gateway, couch_again, "end", began_ago=300, seen_ago=2, ended=True, box=[612, 392, 798, 540]),
            state(gateway, bag, "update", began_ago=400, seen_ago=1, label="bag", box=[10, 10, 60, 70],
                  false_positive=True),
        ],
    )  # fmt: skip
    wait_for(
        lambda: (
            count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s AND end_time IS NOT NULL", camera) == 3
        ),
        what="the couch's tracks ended",
    )
    wait_for(
        lambda: count(db, "SELECT count(*) FROM camera_events WHERE event_id = %s AND false_positive", bag),
        what="the bag marked a false positive",
    )
    with connect(stack.database_url) as conn:
        second = worker.work_once(conn)
    assert second["cleared"] >= 1 and second["withdrawn"] >= 1 and second["new"] == 0
    assert count(db, "SELECT count(*) FROM incidents WHERE device_id = %s", camera) == 2
    states = {
        r["key"]: r["state"] for r in db.execute("SELECT key, state FROM incidents WHERE device_id = %s", (camera,))
    }
    assert states == {couch: "cleared", bag: "dismissed"}
    events = {
        r["key"]: (r["ended_at"] is not None, r["withdrawn"])
        for r in db.execute("SELECT key, ended_at, withdrawn FROM domain_events WHERE device_id = %s", (camera,))
    }
    assert sorted(events.values()) == [(False, True), (True, False)]  # the bag's withdrawn, the couch's ended
    kinds = [r["kind"] for r in db.execute(
        "SELECT kind FROM incident_timeline WHERE incident_id = %s ORDER BY id", (couch_incident["id"],)
    )]  # fmt: skip
    assert kinds == ["suspected", "cleared"]


def test_agents_decide_incidents_through_the_api_and_others_may_not(stack, ingest, api, issue_token, db, uid) -> None:
    gateway, camera = f"ag{uid}", f"ac{uid}"
    keyring(stack).ensure({gateway: "karroad", camera: "karroad"})
    with connect(stack.database_url) as conn:
        map_camera(conn, gateway, "rue_des_fleurs", camera)
    couch, van = f"1796.1-{uid}", f"1796.0-{uid}"
    publish_all(
        stack,
        [
            state(gateway, van, "end", began_ago=700, seen_ago=640, ended=True, label="car", box=[300, 280, 700, 560]),
            state(gateway, couch, "update", began_ago=600, seen_ago=5),
        ],
    )
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", camera) == 2, what="tracks")
    with connect(stack.database_url) as conn:
        IncidentWorker(stack).work_once(conn)
    (incident,) = db.execute("SELECT id FROM incidents WHERE device_id = %s", (camera,)).fetchall()
    path = f"/v1/incidents/{incident['id']}"
    as_role = lambda role: {"Authorization": f"Bearer {issue_token(role)}"}  # noqa: E731
    cleanliness, police, gardens = as_role("cleanliness"), as_role("police"), as_role("green_spaces")

    assert api.get("/v1/incidents", headers=gardens).status_code == 403
    listed = api.get(f"/v1/incidents?device_id={camera}", headers=cleanliness).json()
    assert [i["id"] for i in listed["items"]] == [incident["id"]] and listed["items"][0]["state"] == "suspected"
    detail = api.get(path, headers=police).json()
    assert {(e["event_id"], e["role"]) for e in detail["events"]} == {(couch, "object"), (van, "context")}
    assert [t["kind"] for t in detail["timeline"]] == ["suspected"]
    assert api.post(f"{path}/confirm", headers=police, json={}).status_code == 403  # police read, agents decide

    confirmed = api.post(f"{path}/confirm", headers=cleanliness, json={"note": "seen on site"})
    assert confirmed.status_code == 200 and confirmed.json()["state"] == "confirmed"
    again = api.post(f"{path}/confirm", headers=cleanliness, json={})
    assert again.status_code == 409 and "is confirmed" in again.json()["detail"]
    assert api.post(f"{path}/dismiss", headers=cleanliness, json={"note": "  "}).status_code == 422
    assert api.post(f"{path}/dismiss", headers=cleanliness, json={}).status_code == 422
    cleared = api.post(f"{path}/clear", headers=cleanliness, json={"note": "crew took it at 11:20"}).json()
    assert cleared["state"] == "cleared" and cleared["time_to_clearance_s"] > 590
    closed = api.post(f"{path}/close", headers=cleanliness).json()
    assert closed["state"] == "closed"
    assert [t["kind"] for t in closed["timeline"]] == ["suspected", "confirmed", "cleared", "closed"]
    assert {t["actor"] for t in closed["timeline"][1:]} == {closed["timeline"][1]["actor"]} != {"rule"}
    assert api.post(f"{path}/clear", headers=cleanliness, json={}).status_code == 409
    assert api.get("/v1/incidents/999999999", headers=cleanliness).status_code == 404
    event = db.execute(
        "SELECT ended_at FROM domain_events WHERE type = 'dumping_suspected' AND key = %s",
        (f"incident:{incident['id']}",),
    ).fetchone()
    assert event["ended_at"] is not None  # cleared: its alert clears


def test_an_object_back_after_its_incident_cleared_reopens_it_and_alerts_again(stack, ingest, db, uid) -> None:
    """Issue 19: the tracker lost the couch, its track ended and the incident was stored cleared; the
    successor track (same spot, begun 30 s after the first ended: the same object) arrived only then (a
    gateway reconnecting, ingest behind). It joined the cleared incident with a "joined" line and nothing
    else: the couch was back and nobody was told. It reopens the incident and raises its event again, as a
    new alert (the cleared one stays what it was)."""
    from device_adapters.registry import family
    from services.alerts.evaluator import AlertEvaluator
    from services.alerts.packs import default_rules
    from services.alerts.store import save_pack

    gateway, camera = f"rg{uid}", f"rc{uid}"
    keyring(stack).ensure({gateway: "karroad", camera: "karroad"})
    (rule,) = [r for r in default_rules(family("karroad")) if r.kind == "event"]  # its camera capability's
    scoped = rule.model_copy(update={"name": f"{rule.name}-{uid}", "scope": rule.scope.model_copy(
        update={"devices": [camera]})})  # fmt: skip
    with connect(stack.database_url) as conn:
        map_camera(conn, gateway, "rue_des_fleurs", camera)
        save_pack(conn, [scoped], source="test")
    couch, successor = f"1797.1-{uid}", f"1797.2-{uid}"
    worker, evaluator = IncidentWorker(stack), AlertEvaluator(stack)

    def cycle() -> None:
        with connect(stack.database_url) as conn:
            worker.work_once(conn)
        with connect(stack.database_url) as conn:
            evaluator.evaluate_events(conn)

    publish_all(stack, [state(gateway, couch, "end", began_ago=600, seen_ago=120, ended=True)])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", camera) == 1, what="track")
    cycle()
    (incident,) = db.execute("SELECT id, state, cleared_at FROM incidents WHERE device_id = %s", (camera,)).fetchall()
    assert incident["state"] == "cleared"
    subject = f"dumping_suspected:incident:{incident['id']}"
    alerts = "SELECT state, resolution, began_at FROM alerts WHERE subject = %s ORDER BY id"
    assert [(a["state"], a["resolution"]) for a in db.execute(alerts, (subject,))] == [("resolved", "cleared")]

    publish_all(stack, [state(gateway, successor, "update", began_ago=90, seen_ago=5, box=[612, 392, 798, 540])])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", camera) == 2, what="track")
    cycle()
    reopened = db.execute("SELECT state, tracks, cleared_at FROM incidents WHERE id = %s", (incident["id"],)).fetchone()
    assert reopened["state"] == "suspected" and reopened["tracks"] == [couch, successor]
    assert reopened["cleared_at"] is None
    kinds = [r["kind"] for r in db.execute(
        "SELECT kind FROM incident_timeline WHERE incident_id = %s ORDER BY id", (incident["id"],))]  # fmt: skip
    assert kinds == ["suspected", "cleared", "joined", "reopened"]
    event = db.execute(
        "SELECT ended_at, withdrawn, occurred_at FROM domain_events WHERE type = 'dumping_suspected' AND key = %s",
        (f"incident:{incident['id']}",),
    ).fetchone()
    assert event["ended_at"] is None and not event["withdrawn"] and event["occurred_at"] >= incident["cleared_at"]
    told = [(a["state"], a["resolution"]) for a in db.execute(alerts, (subject,))]
    assert told == [("resolved", "cleared"), ("firing", None)]  # the object is back: staff are told

    cycle()  # nothing new: nothing more
    assert len(db.execute(alerts, (subject,)).fetchall()) == 2
    publish_all(
        stack, [state(gateway, successor, "end", began_ago=90, seen_ago=2, ended=True, box=[612, 392, 798, 540])]
    )
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_events WHERE event_id = %s AND end_time IS NOT NULL",
                           successor), what="the successor ended")  # fmt: skip
    cycle()
    assert db.execute("SELECT state FROM incidents WHERE id = %s", (incident["id"],)).fetchone()["state"] == "cleared"
    assert [(a["state"], a["resolution"]) for a in db.execute(alerts, (subject,))] == [("resolved", "cleared")] * 2
