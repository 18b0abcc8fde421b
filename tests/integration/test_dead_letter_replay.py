"""Dead-letter replay after an adapter fix: stores what now decodes, once; records what still fails."""

from __future__ import annotations

import json

import pytest

from device_adapters import registry
from device_adapters.contract import Decoded, InboundMessage
from device_adapters.ptipot import PtipotAdapter
from ingest import ReplayFilter, replay_dead_letters
from sim.publisher import OutboundMessage
from tests.conftest import count, wait_for
from tests.integration.helpers import publish_all

pytestmark = pytest.mark.integration


class PtipotWithLegacyField(PtipotAdapter):
    """The 'fix': firmware 1.x sends `soil_moisture`; accept it as `soil_vwc_pct`."""

    def decode(self, message: InboundMessage) -> Decoded:
        body = json.loads(message.payload)
        if "soil_moisture" in body:
            body["soil_vwc_pct"] = body.pop("soil_moisture")
        fixed = InboundMessage(message.topic, json.dumps(body).encode(), message.received_at, message.user_properties)
        return super().decode(fixed)


def test_replay_after_an_adapter_fix(stack, ingest, api, db, uid, monkeypatch) -> None:
    device = f"r{uid}"
    legacy = [
        OutboundMessage(
            f"ptipot/{device}/readings", json.dumps({"ts": f"2026-11-28T10:00:0{i}Z", "soil_moisture": 20 + i}).encode()
        )
        for i in range(3)
    ]
    still_bad = OutboundMessage(f"ptipot/{device}/readings", b'{"ts": "2026-11-28T10:00:09Z", "soil_moisture": NaN}')
    publish_all(stack, [*legacy, still_bad])
    wait_for(lambda: count(db, "SELECT count(*) FROM dead_letters WHERE device_id = %s", device) == 4, what="4 letters")
    ids = tuple(r["id"] for r in db.execute("SELECT id FROM dead_letters WHERE device_id = %s ORDER BY id", (device,)))

    before = replay_dead_letters(stack, ReplayFilter(ids=ids), dry_run=True)
    assert before.stored == 0 and before.still_rejected == {"invalid_field": 4}

    monkeypatch.setitem(registry.ADAPTERS, "ptipot", PtipotWithLegacyField())
    dry = replay_dead_letters(stack, ReplayFilter(ids=ids), dry_run=True)
    assert dry.stored == 3 and count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 0

    report = replay_dead_letters(stack, ReplayFilter(ids=ids))
    assert report.examined == 4 and report.stored == 3
    assert dict(report.still_rejected) == {"invalid_field": 1}  # NaN is still not a number
    rows = db.execute("SELECT soil_vwc_pct FROM garden_readings WHERE device_id = %s ORDER BY time", (device,))
    assert [r["soil_vwc_pct"] for r in rows] == [20.0, 21.0, 22.0]
    letters = db.execute(
        "SELECT resolved_at, replay_attempts, last_replay_code FROM dead_letters WHERE device_id = %s ORDER BY id",
        (device,),
    ).fetchall()
    assert [bool(r["resolved_at"]) for r in letters] == [True, True, True, False]  # kept, marked resolved
    assert letters[3]["replay_attempts"] == 1 and letters[3]["last_replay_code"] == "invalid_field"

    # over HTTP the request is recorded and an ingest worker runs it; idempotent: resolved letters are skipped
    asked = api.post("/v1/dead-letters/replay", json={"ids": list(ids)})
    assert asked.status_code == 202, asked.text
    assert asked.json()["state"] in ("queued", "running", "done") and asked.json()["requested_by"] == "test"
    status_url = asked.json()["status_url"]
    done = wait_for(lambda: (r := api.get(status_url).json())["state"] == "done" and r, what="the replay's report")
    assert done["claimed_by"] == stack.ingest_client_id
    assert done["report"]["examined"] == 1 and done["report"]["stored"] == 0
    assert count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 3
    listed = api.get("/v1/dead-letters", params={"device_id": device, "resolved": "false"}).json()["items"]
    assert [item["id"] for item in listed] == [ids[3]]
    assert listed[0]["replay_attempts"] == 2


def test_replay_request_is_validated(api) -> None:
    assert api.post("/v1/dead-letters/replay", json={"limit": 0}).status_code == 422
    assert api.post("/v1/dead-letters/replay", json={"ids": [-1]}).status_code == 422
    assert api.post("/v1/dead-letters/replay", json={"unknown": 1}).status_code == 422
    assert (
        api.post(
            "/v1/dead-letters/replay", content=b"not json", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )


def test_an_interrupted_replay_request_is_taken_over(stack, ingest, api, db) -> None:
    """A worker killed mid-replay leaves its request 'running'; once its lease is over, a worker runs it."""
    asked = api.post("/v1/dead-letters/replay", json={"ids": [2**62], "dry_run": True})
    request_id = asked.json()["id"]
    wait_for(lambda: api.get(asked.json()["status_url"]).json()["state"] == "done", what="the first run")
    db.execute(
        "UPDATE replay_requests SET state = 'running', claimed_by = 'killed-worker', claimed_at = now() - "
        "interval '1 hour', report = NULL WHERE id = %s",
        (request_id,),
    )
    db.execute("NOTIFY tlab_replay_requests")
    done = wait_for(lambda: (r := api.get(asked.json()["status_url"]).json())["state"] == "done" and r, what="rerun")
    assert done["claimed_by"] == stack.ingest_client_id and done["attempts"] == 2
    assert done["report"] == {"examined": 0, "stored": 0, "still_rejected": {}, "dry_run": True, "stored_ids": []}
    assert api.get("/v1/dead-letters/replays/999999999").status_code == 404
