"""A drone mission through the real broker, ingest and vision worker: frames rendered with ground truth
(device_adapters/bathy/scene.py) become observations in the API; a vision worker SIGKILLed mid-mission
leaves nothing half-done and its successor duplicates nothing; people review; a grade-4 defect raises the
domain event its alert rule waits for."""

from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import psycopg
import pytest

from core.db import connect, scalar
from device_adapters.bathy.scene import Conditions, Defect, Scene, render
from device_adapters.contract import OutboundMessage
from device_adapters.images import encode_jpeg
from services.vision.analysis import MODEL
from services.vision.trust import read as read_trust
from services.vision.worker import VisionWorker
from tests.conftest import count, wait_for
from tests.integration.helpers import REPO_ROOT, publish_all, worker_env

pytestmark = pytest.mark.integration
SCENE = Scene(
    Conditions(water_level_pct=15),
    (Defect("BAB", 4.5, 6.5, 1, 2, kind="longitudinal"),),
    seed=7,
)
STEP_M = 0.5
LENGTH_M = 10.0


def mission_messages(device: str, mission: str) -> list[OutboundMessage]:
    start = datetime.now(UTC) - timedelta(minutes=5)
    body = {"mission_id": mission, "ts": start.isoformat(), "operator": "test",
            "pipe": {"pipe_id": "BET-7", "start_manhole": "R1", "end_manhole": "R2", "direction": "downstream",
                     "diameter_mm": 600, "material": "concrete"}}  # fmt: skip
    out = [OutboundMessage(f"bathy/{device}/mission/start", json.dumps(body).encode())]
    for i in range(int(LENGTH_M / STEP_M) + 1):
        chainage = i * STEP_M
        image, _ = render(SCENE, chainage)
        props = (("mission_id", mission), ("ts", (start + timedelta(seconds=2 * i + 1)).isoformat()),
                 ("chainage_m", f"{chainage:.3f}"), ("seq", str(i)))  # fmt: skip
        out.append(OutboundMessage(f"bathy/{device}/frame", encode_jpeg(image, 85), props))
        at = (start + timedelta(seconds=2 * i)).isoformat()
        h2s = 1.5 + (3 if 4 <= chainage <= 6 else 0)  # a little gas at the crack, for the report's strip
        telemetry = {"mission_id": mission, "ts": at, "chainage_m": chainage, "water_level_pct": 16.0,
                     "h2s_ppm": h2s, "o2_pct": 20.6, "ch4_pct_lel": 2.0}  # fmt: skip
        out.append(OutboundMessage(f"bathy/{device}/telemetry", json.dumps(telemetry).encode()))
    return out


def analyse_all(stack) -> VisionWorker:
    worker = VisionWorker(stack, batch=4)
    with connect(stack.database_url) as conn:
        while worker.work_once(conn):
            pass
    return worker


@pytest.fixture
def mission(stack, ingest, db, uid) -> str:
    device, mission_id = f"dv{uid}", f"M-{uid}"
    publish_all(stack, mission_messages(device, mission_id))
    frames = int(LENGTH_M / STEP_M) + 1
    wait_for(lambda: count(db, "SELECT count(*) FROM drone_frames WHERE mission_id = %s", mission_id) == frames,
             what="every frame stored")  # fmt: skip
    wait_for(lambda: count(db, "SELECT count(*) FROM drone_telemetry WHERE mission_id = %s", mission_id) == frames,
             what="every telemetry reading stored")  # fmt: skip
    return mission_id


def test_a_mission_s_frames_become_observations_in_the_api(stack, api, db, mission, issue_token) -> None:
    analyse_all(stack)
    sanitation = {"Authorization": f"Bearer {issue_token('sanitation')}"}
    found = api.get(f"/v1/missions/{mission}/observations", headers=sanitation)
    assert found.status_code == 200, found.text
    by_code = {}
    for o in found.json():
        by_code.setdefault(o["code"], []).append(o)
    (crack,) = by_code["BAB"]
    assert crack["chainage_start_m"] <= 5.0 and crack["chainage_end_m"] >= 6.0  # the crack: 4.5-6.5 m
    assert (crack["clock_from"], crack["clock_to"]) == (1, 2) and crack["characterisation"] in ("A", "C")
    assert crack["state"] == "automatic" and crack["media_url"].startswith("/v1/media/")
    original = api.get(crack["media_url"], headers=sanitation).content
    annotated = api.get(crack["annotated_url"], headers=sanitation).content
    assert hashlib.sha256(original).hexdigest() == crack["media_url"].rsplit("/", 1)[1]  # the frame, untouched
    drawn, frame = (cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR) for b in (annotated, original))
    assert drawn.shape == frame.shape
    amber = (drawn[..., 2] > 200) & (drawn[..., 1] > 180) & (drawn[..., 0] < 80)  # the outline's colour
    ys, xs = np.nonzero(amber)
    assert amber.sum() > 200 and xs.mean() > 320 and ys.mean() < 240  # around the crack at 1-2 o'clock
    (water,) = by_code["BDD"]
    assert abs(water["quantification"] - 15) <= 5 and water["chainage_end_m"] is not None  # along the pipe
    assert water["remark"] == "the drone's sensor says 16 %"  # cross-checked with the drone's own sensor
    assert set(by_code) == {"BAB", "BDD"}  # nothing else on a clean wall
    assert api.get(f"/v1/missions/{mission}/observations", headers={
        "Authorization": f"Bearer {issue_token('green_spaces')}"}).status_code == 403  # fmt: skip
    assert api.get(f"/v1/missions/{mission}/observations", params={"min_grade": 6}).status_code == 422
    assert api.get("/v1/missions/nope/observations").status_code == 404
    again = analyse_all(stack)  # everything analysed already: nothing more
    assert again.stats.frames == 0
    assert count(db, "SELECT count(*) FROM observations WHERE mission_id = %s", mission) == 2

    # the drone's sensor disagrees (it said 40 %): re-analysed, the same observation says so, less sure
    db.execute("UPDATE drone_telemetry SET water_level_pct = 40 WHERE mission_id = %s", (mission,))
    db.execute("DELETE FROM frame_analyses WHERE mission_id = %s", (mission,))  # what `tlab vision --reanalyse` does
    analyse_all(stack)
    doubted = api.get(f"/v1/observations/{water['id']}", headers=sanitation).json()
    assert doubted["remark"] == "the drone's sensor says 40 %: they disagree"
    assert doubted["confidence"] == round(water["confidence"] / 2, 2)


def test_the_shortlist_puts_the_crack_first_and_folds_its_neighbours(stack, api, db, mission, issue_token) -> None:
    """A reviewer's shortlist (issue 21, item 4): the frames that see the crack rank first, one per place."""
    analyse_all(stack)
    sanitation = {"Authorization": f"Bearer {issue_token('sanitation')}"}
    found = api.get(f"/v1/missions/{mission}/shortlist", params={"share": 0.2}, headers=sanitation)
    assert found.status_code == 200, found.text
    body = found.json()
    frames = int(LENGTH_M / STEP_M) + 1
    assert (body["model"], body["frames"], body["scored"], body["not_judged"]) == (MODEL, frames, frames, {})
    listed = body["shortlist"]
    assert 1 <= len(listed) <= int(0.2 * frames)
    best = listed[0]
    assert "BAB" in best["codes"] and 3.0 <= best["chainage_m"] <= 6.5  # it sees the crack (4.5-6.5 m) ahead
    assert [f["score"] for f in listed] == sorted((f["score"] for f in listed), reverse=True)
    assert all(f["score"] > 0 for f in listed)
    # one frame per place: no two listed frames within 1 m see the same code
    assert not any(
        abs(a["chainage_m"] - b["chainage_m"]) <= 1.0 and set(a["codes"]) & set(b["codes"])
        for i, a in enumerate(listed)
        for b in listed[i + 1 :]
    )
    stored = db.execute(
        "SELECT defect_score FROM frame_analyses WHERE mission_id = %s AND chainage_m = %s",
        (mission, best["chainage_m"]),
    ).fetchone()
    assert stored["defect_score"] == pytest.approx(best["score"])
    assert api.get(best["media_url"], headers=sanitation).status_code == 200
    # the default: 5 % of 21 frames is one frame, the best
    (only,) = api.get(f"/v1/missions/{mission}/shortlist", headers=sanitation).json()["shortlist"]
    assert only == best
    # a frame 0.5 m from a better one is the same place: with no spacing the neighbours come back
    close = api.get(f"/v1/missions/{mission}/shortlist", params={"share": 0.2, "spacing_m": 0}, headers=sanitation)
    assert min(abs(a["chainage_m"] - b["chainage_m"]) for a in close.json()["shortlist"][:2] for b in [best]) <= 0.5
    green = {"Authorization": f"Bearer {issue_token('green_spaces')}"}
    assert api.get(f"/v1/missions/{mission}/shortlist", headers=green).status_code == 403
    for bad in ({"share": 0}, {"share": 0.9}, {"spacing_m": -1}, {"share": "beaucoup"}):
        refused = api.get(f"/v1/missions/{mission}/shortlist", params=bad, headers=sanitation)
        assert refused.status_code == 422, (bad, refused.text)
    assert api.get("/v1/missions/nope/shortlist", headers=sanitation).status_code == 404


def test_a_killed_worker_leaves_nothing_half_done_and_its_successor_duplicates_nothing(stack, db, mission) -> None:
    env = worker_env(stack, "unused")
    proc = subprocess.Popen([sys.executable, "-m", "tlab.cli", "vision"], env=env, cwd=REPO_ROOT,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        analysed = "SELECT count(*) FROM frame_analyses WHERE mission_id = %s"
        wait_for(lambda: count(db, analysed, mission) >= 4, timeout=60, what="a first batch analysed")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    analyse_all(stack)
    assert count(db, analysed, mission) == 21
    assert count(db, f"SELECT count(*) FROM ({analysed.replace('count(*)', 'DISTINCT device_id, time')}) x",
                 mission) == 21  # fmt: skip
    codes = db.execute(
        "SELECT code, count(*) AS n FROM observations WHERE mission_id = %s AND state <> 'withdrawn' GROUP BY code",
        (mission,),
    ).fetchall()
    assert {r["code"]: r["n"] for r in codes} == {"BAB": 1, "BDD": 1}


def test_people_review_and_a_grade_4_defect_raises_its_event(stack, api, db, mission, issue_token) -> None:
    analyse_all(stack)
    (crack,) = api.get(f"/v1/missions/{mission}/observations", params={"code": "BAB"}).json()
    sanitation = {"Authorization": f"Bearer {issue_token('sanitation', name='agent-s')}"}
    viewer = {"Authorization": f"Bearer {issue_token('viewer')}"}
    review = f"/v1/observations/{crack['id']}/review"
    assert api.post(review, json={"decision": "confirm"}, headers=viewer).status_code == 403
    assert api.post(review, json={"decision": "recode"}, headers=sanitation).status_code == 422
    assert api.post(review, json={"decision": "confirm", "grade": 3}, headers=sanitation).status_code == 422
    recoded = api.post(review, json={"decision": "recode", "grade": 5, "note": "open joint"}, headers=sanitation)
    assert recoded.status_code == 200, recoded.text
    body = recoded.json()
    assert body["state"] == "recoded" and body["recoded_grade"] == 5 and body["reviewed_by"] == "agent-s"
    event = db.execute(
        "SELECT attributes, withdrawn FROM domain_events WHERE type = 'pipe_defect' AND key = %s",
        (f"observation:{crack['id']}",),
    ).fetchone()
    assert event["attributes"]["grade"] == 5 and not event["withdrawn"]

    rejected = api.post(review, json={"decision": "reject", "note": "a shadow"}, headers=sanitation).json()
    assert rejected["state"] == "rejected"
    withdrawn = db.execute("SELECT withdrawn FROM domain_events WHERE key = %s", (f"observation:{crack['id']}",))
    assert withdrawn.fetchone()["withdrawn"]
    analyse_all(stack)  # a later pass keeps the person's decision
    assert api.get(f"/v1/observations/{crack['id']}").json()["state"] == "rejected"
    assert count(db, "SELECT count(*) FROM frame_analyses WHERE model = %s AND mission_id = %s", MODEL, mission) == 21


def test_frames_the_vision_cannot_judge_are_recorded_with_their_reason(stack, ingest, db, uid) -> None:
    """A mission whose drone filmed a title card at the start and went blind once (issue 21, item 2): those
    frames are stored with why they were not judged, and give no observation but the loss of vision."""
    from tests.fixtures.unjudgeable import title_card

    device, mission_id = f"dv{uid}", f"M-{uid}"
    shown = {"0": encode_jpeg(title_card(), 85), "6": encode_jpeg(np.zeros((480, 640, 3), np.uint8), 85)}
    messages = [
        OutboundMessage(m.topic, shown.get(dict(m.user_properties).get("seq", ""), m.payload), m.user_properties)
        if m.topic.endswith("/frame") else m
        for m in mission_messages(device, mission_id)
    ]  # fmt: skip
    publish_all(stack, messages)
    frames = int(LENGTH_M / STEP_M) + 1
    wait_for(lambda: count(db, "SELECT count(*) FROM drone_frames WHERE mission_id = %s", mission_id) == frames,
             what="every frame stored")  # fmt: skip
    worker = analyse_all(stack)
    rows = db.execute(
        "SELECT f.seq, a.not_judged, a.detections FROM frame_analyses a JOIN drone_frames f "
        "ON f.device_id = a.device_id AND f.time = a.time WHERE a.mission_id = %s AND a.model = %s ORDER BY f.seq",
        (mission_id, MODEL),
    ).fetchall()
    assert {r["seq"]: r["not_judged"] for r in rows if r["not_judged"]} == {0: "text", 6: "dark"}
    assert rows[0]["detections"] == [] and [d["code"] for d in rows[6]["detections"]] == ["BDG"]
    assert worker.stats.not_judged >= 2 and len(rows) == frames
    codes = {r["code"] for r in db.execute("SELECT code FROM observations WHERE mission_id = %s", (mission_id,))}
    assert "BAB" in codes and not codes - {"BAB", "BDD", "BDG"}  # the crack is still found, nothing more
    # the report says how many frames were judged, and why the others were not
    from services.reports.inspection import build

    summary = build(db, mission_id).summary  # type: ignore[union-attr]
    assert (summary["frames_analysed"], summary["frames_not_judged"]) == (frames, 2)
    assert summary["not_judged_by_reason"] == {"text": 1, "dark": 1}
    # the shortlist counts them apart: no score, never listed (a person looks at them too)
    from services.vision.shortlist import mission_shortlist

    listed = mission_shortlist(db, mission_id, 0.5, 1.0)
    assert (listed.frames, listed.scored, listed.not_judged) == (frames, frames - 2, {"text": 1, "dark": 1})
    assert listed.ranked and all(f.chainage_m not in (0.0, 3.0) for f in listed.ranked)


def test_the_not_judged_column_rolls_back_and_refuses_what_is_not_a_reason(stack) -> None:
    migrations = REPO_ROOT / "core" / "migrations"
    with connect(stack.owner_database_url) as conn, conn.transaction(force_rollback=True):
        conn.execute((migrations / "0035_frame_not_judged.rollback.sql").read_text())
        columns = (
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'frame_analyses' AND column_name = %s"
        )
        assert scalar(conn, columns, ("not_judged",)) == 0
        conn.execute((migrations / "0035_frame_not_judged.sql").read_text().split("\n", 1)[1])
        assert scalar(conn, columns, ("not_judged",)) == 1
        with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
            conn.execute(
                "INSERT INTO frame_analyses (device_id, time, model, mission_id, chainage_m, media_sha256, not_judged) "
                "VALUES ('d', now(), 'm', 'M', 0, 'x', 'Trop sombre !')"
            )


def test_an_undecodable_frame_is_recorded_with_its_error_not_retried(stack, db, mission) -> None:
    # a frame whose medium is registered but whose file is gone (a store restored from an old backup)
    db.execute(
        "INSERT INTO media (sha256, content_type, size_bytes) VALUES (%s, 'image/jpeg', 1) ON CONFLICT DO NOTHING",
        ("0" * 64,),
    )
    db.execute("UPDATE drone_frames SET media_sha256 = %s WHERE mission_id = %s AND seq = 3", ("0" * 64, mission))
    worker = analyse_all(stack)
    assert worker.stats.errors == 1
    (row,) = db.execute(
        "SELECT error FROM frame_analyses WHERE mission_id = %s AND error IS NOT NULL", (mission,)
    ).fetchall()
    assert "not in the store" in row["error"]
    assert analyse_all(stack).stats.frames == 0  # recorded once, not retried at every pass


def test_the_report_in_each_format_says_what_was_found_and_who_confirmed_it(
    stack, api, db, mission, issue_token
) -> None:
    import csv
    import io
    import re

    analyse_all(stack)
    (crack,) = api.get(f"/v1/missions/{mission}/observations", params={"code": "BAB"}).json()
    sanitation = {"Authorization": f"Bearer {issue_token('sanitation', name='agent-r')}"}
    assert api.post(f"/v1/observations/{crack['id']}/review", json={"decision": "confirm", "note": "=HYPERLINK(1)"},
                    headers=sanitation).status_code == 200  # fmt: skip

    data = api.get(f"/v1/missions/{mission}/report", headers=sanitation).json()
    assert data["mission"]["pipe_id"] == "BET-7" and data["summary"]["observations"] == 2
    assert data["summary"]["confirmed"] == 1 and data["summary"]["automatic"] == 1
    assert data["summary"]["suggested"] == 1 and data["summary"]["trusted"] == 0  # the water level: not trusted
    assert [o["trust"] for o in data["observations"]] == ["suggested", "confirmed"]
    measured = [m["analysis"] for m in data["trust"]["measurements"]]  # the trust file's, if it measures MODEL
    assert data["trust"]["bars"] == [0.7] and measured == ([MODEL] if MODEL in read_trust() else [])
    assert data["summary"]["structural_grade"] >= 2 and data["summary"]["length_inspected_m"] == 10.0
    # condition ratings (PACP): the confirmed crack alone, then with the suggested water level; by hand from the
    # observations' grades and lengths (a continuous one counts once per started 1.524 m)
    observed = {o["code"]: o for o in data["observations"]}
    crack_n = math.ceil((observed["BAB"]["chainage_end_m"] - observed["BAB"]["chainage_start_m"]) / 1.524)
    water = observed["BDD"]
    water_n = math.ceil((water["chainage_end_m"] - water["chainage_start_m"]) / 1.524) if water["chainage_end_m"] else 1
    ratings = data["summary"]["ratings"]
    assert ratings["confirmed"]["structural"]["rating"] == observed["BAB"]["grade"] * crack_n
    assert ratings["confirmed"]["structural"]["quick"] == f"{observed['BAB']['grade']}{crack_n}00"
    assert ratings["confirmed"]["service"]["quick"] == "0000" and ratings["with_trusted"] == ratings["confirmed"]
    assert ratings["with_suggestions"]["service"]["rating"] == water["grade"] * water_n

    text = api.get(f"/v1/missions/{mission}/report", params={"format": "csv"}, headers=sanitation).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["code"] for r in rows] == ["BDD", "BAB"]
    bab = rows[1]
    assert bab["pipe_id"] == "BET-7" and bab["diameter_mm"] == "600" and bab["continuous_defect"] == "S02/F02"
    assert float(bab["finish_chainage_m"]) > float(bab["chainage_m"]) and bab["reviewed"] == "confirmée par agent-r"
    assert bab["trust"] == "confirmed" and rows[0]["trust"] == "suggested"
    assert rows[0]["reviewed"].startswith("suggestion à vérifier (précision ")  # and why: its figure, or none
    english = api.get(f"/v1/missions/{mission}/report", params={"format": "csv", "lang": "en"}, headers=sanitation)
    en_rows = list(csv.DictReader(io.StringIO(english.text)))  # the review sentence in the language asked for
    assert en_rows[1]["reviewed"] == "confirmed by agent-r" and en_rows[0]["reviewed"].startswith(
        "suggestion to review"
    )
    assert bab["remark"] == "'=HYPERLINK(1)"  # a note cannot run as a spreadsheet formula

    html = api.get(f"/v1/missions/{mission}/report", params={"format": "html"}, headers=sanitation)
    assert html.headers["content-type"].startswith("text/html")
    assert "BET-7" in html.text and "confirmée par agent-r" in html.text and "suggestion à vérifier" in html.text
    assert html.text.count("data:image/jpeg;base64,") == 2 and html.text.count("<polyline") == 4  # the strip
    assert "=HYPERLINK(1)" in html.text and "<script" not in html.text
    # in French by default (what a French sanitation service files), in English on request
    assert "Rapport d&#39;inspection télévisée" in html.text and 'lang="fr"' in html.text
    assert "Fissure" in html.text and "Regard de départ" in html.text and "o&#39;clock" not in html.text
    assert "Notes d&#39;état du tronçon" in html.text and "PACP (NASSCO), annexe C" in html.text
    assert "NF EN 13508-2+A1 (2011)" in html.text and "inspection télévisée par drone" in html.text
    assert html.text.count("non renseigné") == 2  # the street and the cleaning: the drone does not know them
    # the CSV as French Excel opens it: semicolons, BOM, decimal commas
    fr = api.get(f"/v1/missions/{mission}/report", params={"format": "csv", "dialect": "excel-fr"}, headers=sanitation)
    assert fr.content.startswith(b"\xef\xbb\xbf")
    fr_rows = list(csv.DictReader(io.StringIO(fr.content.decode("utf-8-sig")), delimiter=";"))
    assert fr_rows[1]["distance (m)"] == bab["chainage_m"].replace(".", ",") and "," in fr_rows[1]["distance (m)"]
    assert fr_rows[1]["forme (ACA)"] == "circulaire" and fr_rows[1]["état"] == "confirmée"  # said in French
    english = api.get(f"/v1/missions/{mission}/report", params={"format": "html", "lang": "en"}, headers=sanitation)
    assert "Sewer inspection report" in english.text and "Crack" in english.text
    assert "confirmed by agent-r" in english.text
    assert api.get(f"/v1/missions/{mission}/report", params={"lang": "de"}, headers=sanitation).status_code == 422
    # the EN 13508-2 exchange file of the same observations, both forms, read back as the standard lays them out
    from services.reports.exchange import parse_text, parse_xml

    for form, parse in (("en13508-txt", parse_text), ("en13508-xml", parse_xml)):
        # by default what a person confirmed or the vision is trusted for: the water level is a suggestion
        coded = api.get(f"/v1/missions/{mission}/report", params={"format": form}, headers=sanitation)
        assert {o["A"] for o in parse(coded.text).inspections[0].observations} == {"BAB"}
        got = api.get(f"/v1/missions/{mission}/report", params={"format": form, "include_suggestions": "true"},
                      headers=sanitation)  # fmt: skip
        assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
        (inspection,) = parse(got.text).inspections
        assert inspection.header["AAA"] == "BET-7" and inspection.header["ABA"].startswith("EN 13508-2")
        assert {o["A"] for o in inspection.observations} == {"BAB", "BDD"}
        marks = [o["J"] for o in inspection.observations if "J" in o]  # both are continuous: a start, a finish
        assert sorted(marks) == ["F01", "F02", "S01", "S02"] and marks.index("S01") < marks.index("F01")
        # the video reference (N): the best frame's time since the mission's start, on a defect's first row only
        starts = [o for o in inspection.observations if o.get("J", "").startswith("S")]
        assert all(re.fullmatch(r"\d\d:[0-5]\d:[0-5]\d", o.get("N", "")) for o in starts), starts
        assert not [o for o in inspection.observations if o.get("J", "").startswith("F") and "N" in o]

    pdf = api.get(f"/v1/missions/{mission}/report", params={"format": "pdf"}, headers=sanitation)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-") and len(pdf.content) > 20_000
    assert api.get(f"/v1/missions/{mission}/report", params={"format": "docx"}).status_code == 422
    assert api.get("/v1/missions/nope/report").status_code == 404
    green = {"Authorization": f"Bearer {issue_token('green_spaces')}"}
    assert api.get(f"/v1/missions/{mission}/report", headers=green).status_code == 403


def test_a_detector_failing_on_one_frame_does_not_stall_the_others(stack, db, mission, monkeypatch) -> None:
    """A latent bug in a detector, triggered by one odd frame (simulated: the analysis raises on the first
    frame it is given), is recorded on that frame; every other frame is analysed, and the worker goes on."""
    import services.vision.analysis as analysis_module

    real = analysis_module.assess
    calls = {"n": 0}

    def flaky(image, diameter, *args):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise ZeroDivisionError("a detector's bug")
        return real(image, diameter, *args)

    monkeypatch.setattr(analysis_module, "assess", flaky)  # what the worker's Analysis calls on each frame
    failures = "SELECT count(*) FROM frame_analyses WHERE error LIKE 'analysis failed: ZeroDivisionError%%'"
    before = count(db, failures)
    worker = analyse_all(stack)  # (it also takes frames other tests' drones left, if any)
    assert worker.stats.errors == 1 and count(db, failures) == before + 1
    assert worker.stats.frames >= 21 and calls["n"] == worker.stats.frames  # it went on after the failure
    assert count(db, "SELECT count(*) FROM frame_analyses WHERE mission_id = %s", mission) == 21
