"""Privacy-safe evidence and retention, through the real broker, ingest, database, media store and API
(issue 12, items 3 and 4; docs/incidents.md).

A Frigate gateway's camera with two privacy masks (a window, a garden) sees a van with a plate drive off,
then a couch left at the collection point while a person walks by. Its snapshots are stored masked; the
privacy copy blurs the person (active when the image was taken) and not the van (gone by then), and
differs from the stored original nowhere else; police see the original through the incident (audited
with it) and the plate, others neither. The retention purge, run with a moved clock, deletes rows and
files except what a legal hold keeps."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from core.db import connect
from core.gateways import map_camera
from core.media_store import MediaStore
from core.privacy_masks import set_masks
from device_adapters.capabilities.camera_detections.geometry import snapshot_region
from device_adapters.masking import black_out
from services.evidence.copies import claim, pending
from services.evidence.retention import purge
from services.evidence.worker import EvidenceWorker
from services.incidents.worker import IncidentWorker
from sim.publisher import OutboundMessage
from tests.conftest import count, wait_for
from tests.integration.helpers import keyring, publish_all

pytestmark = pytest.mark.integration

SAMPLE = Path(__file__).parents[1] / "fixtures" / "frigate" / "events_end.json"
FRAME = (1280, 720)
WINDOW = [(0.0, 0.0), (0.2, 0.0), (0.2, 0.25), (0.0, 0.25)]  # x < 256, y < 180
GARDEN = [(0.625, 0.375), (0.664, 0.375), (0.664, 0.444), (0.625, 0.444)]  # x 800-850, y 270-320
PERSON = [700, 300, 780, 520]
COUCH = [610, 390, 800, 541]
VAN = [100, 400, 500, 700]


def frigate(gateway: str, object_id: str, label: str, box: list[int], *, began_ago: float, ended_ago: float | None,
            plate: str | None = None) -> OutboundMessage:  # fmt: skip
    message = json.loads(SAMPLE.read_text())
    now = time.time()
    seen = now - (ended_ago if ended_ago is not None else 2)
    for s in (message["before"], message["after"]):
        s.update(id=object_id, camera="rue_des_fleurs", label=label, box=box, start_time=now - began_ago,
                 frame_time=seen, end_time=None if ended_ago is None else seen, false_positive=False,
                 recognized_license_plate=plate, snapshot={"frame_time": seen, "box": box, "score": 0.8})  # fmt: skip
    message["type"] = "update" if ended_ago is None else "end"
    return OutboundMessage(f"karroad/{gateway}/events", json.dumps(message).encode())


def street(variant: int = 0) -> np.ndarray:
    """A generated street frame: a smooth gradient, a bright window (masked), a garden (masked), a striped
    figure where the person is, a couch and a van: every region has detail a blur would change."""
    w, h = FRAME
    x = np.linspace(60, 180, w, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 40, h, dtype=np.float32)[:, None, None]
    image = np.broadcast_to(x + y, (h, w, 3)).astype(np.uint8).copy()
    cv2.rectangle(image, (20, 20), (230, 160), (40, 220, 250), -1)  # the neighbour's window
    cv2.rectangle(image, (800, 270), (850, 320), (30, 200, 30), -1)  # the garden
    for i in range(PERSON[0], PERSON[2], 8):
        cv2.rectangle(image, (i, PERSON[1]), (i + 3, PERSON[3]), (20, 20, 90), -1)
    cv2.rectangle(image, tuple(COUCH[:2]), tuple(COUCH[2:]), (60, 90, 140), -1)
    for i in range(VAN[0], VAN[2], 10):
        cv2.line(image, (i, VAN[1]), (i, VAN[3] - 1), (230, 230, 230), 2)
    # a different image per variant: four bars of random colours (a colour one level apart did not survive
    # JPEG, and two "different" images became one file), bottom left: outside any crop, box or mask
    for i, colour in enumerate(np.random.default_rng(variant).integers(0, 256, (4, 3))):
        image[650:710, 10 + 20 * i : 30 + 20 * i] = colour
    return image


def jpeg(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return buf.tobytes()


def stored(stack: Any, sha: str) -> np.ndarray:
    path = MediaStore(stack.media_path).open(sha)
    assert path is not None, sha
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def scene(stack: Any, db: Any, gateway: str, camera: str, uid: str, variant: int = 0) -> tuple[int, dict[str, str]]:
    """Publish the scene; returns the couch's incident id and the object ids."""
    keyring(stack).ensure({gateway: "karroad", camera: "karroad"})
    with connect(stack.database_url) as conn:
        map_camera(conn, gateway, "rue_des_fleurs", camera, FRAME)
        set_masks(conn, camera, [WINDOW, GARDEN])
    ids = {"van": f"1797.0-{uid}", "couch": f"1797.1-{uid}", "person": f"1797.2-{uid}"}
    publish_all(
        stack,
        [
            frigate(gateway, ids["van"], "car", VAN, began_ago=700, ended_ago=640, plate="AB-123-CD"),
            frigate(gateway, ids["couch"], "couch", COUCH, began_ago=600, ended_ago=None),
            # a person who came just before the couch and is still there: context, blurred
            frigate(gateway, ids["person"], "person", PERSON, began_ago=650, ended_ago=None),
        ],
    )
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", camera) == 3, what="events")
    frame = street(variant)
    # Frigate with `crop: false`: the whole frame; and its default crop around the person, 270 px high
    x1, y1, x2, y2 = snapshot_region(*FRAME, tuple(PERSON))  # type: ignore[arg-type]
    crop = cv2.resize(frame[y1:y2, x1:x2], (270 * (x2 - x1) // (y2 - y1), 270), interpolation=cv2.INTER_AREA)
    publish_all(
        stack,
        [
            OutboundMessage(f"karroad/{gateway}/rue_des_fleurs/couch/snapshot", jpeg(frame), retain=True),
            OutboundMessage(f"karroad/{gateway}/rue_des_fleurs/person/snapshot", jpeg(crop), retain=True),
        ],
    )
    wait_for(
        lambda: count(db, "SELECT count(*) FROM camera_label_snapshots WHERE device_id = %s", camera) == 2,
        what="both snapshots stored",
    )
    with connect(stack.database_url) as conn:
        IncidentWorker(stack).work_once(conn)
        worker = EvidenceWorker(stack, settle_s=0)
        while worker.copy_once(conn):
            pass
    (incident,) = db.execute("SELECT id FROM incidents WHERE device_id = %s", (camera,)).fetchall()
    return incident["id"], ids


def test_masks_blur_and_roles_on_a_frigate_scene(stack, ingest, api, issue_token, db, uid) -> None:
    gateway, camera = f"eg{uid}", f"ec{uid}"
    incident, ids = scene(stack, db, gateway, camera, uid, variant=int(uid[:5], 16) * 64 + 60)
    snaps = {
        r["label"]: r["media_sha256"]
        for r in db.execute("SELECT label, media_sha256 FROM camera_label_snapshots WHERE device_id = %s", (camera,))
    }

    # masks were applied by ingest, before the image was stored: the original itself is black there
    full = stored(stack, snaps["couch"])
    assert full.shape[:2] == (FRAME[1], FRAME[0])
    assert full[25:155, 25:225].max() < 16 and full[275:315, 805:845].max() < 16
    assert street()[25:155, 25:225].min() > 30  # (it was a bright window)
    # ...and, in Frigate's crop around the person, the garden where the crop shows it
    crop = stored(stack, snaps["person"])
    x1, y1, x2, y2 = snapshot_region(*FRAME, tuple(PERSON))  # type: ignore[arg-type]
    scale = crop.shape[0] / (y2 - y1)
    gx1, gy1, gx2, gy2 = (round(v * scale) for v in (805 - x1, 275 - y1, 845 - x1, 315 - y1))
    assert crop[gy1:gy2, gx1:gx2].max() < 16
    assert crop[crop.shape[0] // 2 :, : crop.shape[1] // 4].min() > 30  # the rest of the crop is not masked

    # the privacy copy: the person (there when the image was taken) blurred, nothing else changed
    row = db.execute(
        "SELECT copy_sha256, boxes, faces, plates, masked FROM evidence_copies WHERE original_sha256 = %s",
        (snaps["couch"],),
    ).fetchone()
    assert row["copy_sha256"] and row["masked"] == 2 and row["faces"] == row["plates"] == 0
    copy = stored(stack, row["copy_sha256"])
    changed = np.any(copy != full, axis=2)
    px1, py1, px2, py2 = PERSON
    assert changed[py1:py2, px1:px2].mean() > 0.5  # the striped figure is a smear
    pad_x, pad_y = (px2 - px1) // 10 + 1, (py2 - py1) // 10 + 1
    changed[py1 - pad_y : py2 + pad_y, px1 - pad_x : px2 + pad_x] = False
    changed[black_out(np.full_like(full, 255), [WINDOW, GARDEN]).max(axis=2) == 0] = False  # masked: black anyway
    ys, xs = np.nonzero(changed)
    assert not changed.any(), ("the copy differs outside the person's box", xs.min(), xs.max(), ys.min(), ys.max())
    assert not np.any(copy[VAN[1] : VAN[3], VAN[0] : VAN[2]] != full[VAN[1] : VAN[3], VAN[0] : VAN[2]])  # van gone
    crop_copy = db.execute(
        "SELECT copy_sha256 FROM evidence_copies WHERE original_sha256 = %s", (snaps["person"],)
    ).fetchone()
    crop_changed = np.any(stored(stack, crop_copy["copy_sha256"]) != crop, axis=2)
    cx1, cy1, cx2, cy2 = (round(v * scale) for v in (px1 - x1, py1 - y1, px2 - x1, py2 - y1))  # the person, mapped
    assert crop_changed[cy1:cy2, cx1:cx2].mean() > 0.5
    crop_changed[cy1 - 25 : cy2 + 25, cx1 - 10 : cx2 + 10] = False
    ox1, oy1, ox2, oy2 = (round(v * scale) for v in (798 - x1, 268 - y1, 852 - x1, 322 - y1))  # the garden's edges
    crop_changed[oy1:oy2, ox1:ox2] = False  # masked in the crop too: black again in the copy
    assert not crop_changed.any()

    # roles: everyone reads the copy; the original and the plate are police's, through the incident
    as_role = lambda role: {"Authorization": f"Bearer {issue_token(role, name=f'{role}-{uid}')}"}  # noqa: E731
    police, cleanliness = as_role("police"), as_role("cleanliness")
    path = f"/v1/incidents/{incident}"
    seen = api.get(path, headers=cleanliness).json()
    by_id = {e["event_id"]: e for e in seen["events"]}
    assert by_id[ids["van"]]["plate_read"] is True and by_id[ids["van"]]["plate"] is None
    (evidence,) = by_id[ids["couch"]]["evidence"]
    assert evidence["privacy"] == "ready" and evidence["original_url"] is None
    assert evidence["url"] == f"/v1/media/{row['copy_sha256']}"
    served = api.get(evidence["url"], headers=cleanliness)
    assert served.status_code == 200 and hashlib.sha256(served.content).hexdigest() == row["copy_sha256"]
    for headers in (cleanliness, police):
        refused = api.get(f"/v1/media/{snaps['couch']}", headers=headers)
        assert refused.status_code == 403 and row["copy_sha256"] in refused.json()["detail"]

    police_view = api.get(path, headers=police).json()
    police_by_id = {e["event_id"]: e for e in police_view["events"]}
    assert police_by_id[ids["van"]]["plate"] == "AB-123-CD"
    original_url = police_by_id[ids["couch"]]["evidence"][0]["original_url"]
    assert original_url == f"{path}/evidence/{snaps['couch']}"
    original = api.get(original_url, headers=police)
    assert original.status_code == 200 and hashlib.sha256(original.content).hexdigest() == snaps["couch"]
    assert api.get(original_url, headers=cleanliness).status_code == 403
    assert api.get(f"{path}/evidence/{snaps['person']}", headers=police).status_code == 200  # the person: context
    stranger = db.execute(
        "SELECT sha256 FROM media WHERE personal AND sha256 <> ALL(%s) LIMIT 1", (list(snaps.values()),)
    )
    other = (stranger.fetchone() or {"sha256": "0" * 64})["sha256"]
    assert api.get(f"{path}/evidence/{other}", headers=police).status_code == 404  # another camera's image
    audit = db.execute(
        "SELECT principal, status FROM audit_log WHERE subject = %s AND path = %s ORDER BY id",
        (f"incident:{incident}", original_url),
    ).fetchall()
    assert [(a["principal"], a["status"]) for a in audit] == [(f"police-{uid}", 200), (f"cleanliness-{uid}", 403)]


def test_retention_purges_rows_and_files_and_keeps_what_a_hold_keeps(stack, ingest, api, issue_token, db, uid):
    kept_camera, purged_camera = f"hc{uid}", f"pc{uid}"
    # two cameras, two incidents; their crops around the person (context of both) are the same image: one
    # file named by both cameras' snapshots
    kept, _ = scene(stack, db, f"hg{uid}", kept_camera, uid + "k", variant=int(uid[:5], 16) * 64 + 1)
    purged, purged_ids = scene(stack, db, f"pg{uid}", purged_camera, uid + "p", variant=int(uid[:5], 16) * 64 + 2)
    police = {"Authorization": f"Bearer {issue_token('police')}"}
    cleanliness = {"Authorization": f"Bearer {issue_token('cleanliness')}"}
    later = db.execute("SELECT now() + interval '31 days' AS t").fetchone()["t"]
    store = MediaStore(stack.media_path)
    with connect(stack.database_url) as conn:  # incidents other tests of this process hold: spared as well
        others = purge(conn, store, later, 30, dry_run=True).held_incidents_spared
    assert api.post(f"/v1/incidents/{kept}/hold", headers=police, json={}).status_code == 422  # a hold says why
    assert api.post(f"/v1/incidents/{kept}/hold", headers=cleanliness, json={"note": "x"}).status_code == 403
    held = api.post(f"/v1/incidents/{kept}/hold", headers=police, json={"note": "PV 2026/1234, parquet de Lyon"})
    assert held.status_code == 200 and held.json()["legal_hold"]["note"] == "PV 2026/1234, parquet de Lyon"
    assert api.post(f"/v1/incidents/{kept}/hold", headers=police, json={"note": "again"}).status_code == 409

    def media_of(camera: str) -> list[str]:
        rows = db.execute(
            "SELECT media_sha256 AS s FROM camera_label_snapshots WHERE device_id = %(c)s UNION "
            "SELECT copy_sha256 FROM evidence_copies WHERE original_sha256 IN "
            "(SELECT media_sha256 FROM camera_label_snapshots WHERE device_id = %(c)s)",
            {"c": camera},
        ).fetchall()
        return [r["s"] for r in rows]

    kept_media, purged_media = media_of(kept_camera), media_of(purged_camera)
    shared = sorted(set(kept_media) & set(purged_media))
    purged_own = sorted(set(purged_media) - set(shared))
    # the crop and its copy are one file each for both cameras; the whole frames differ
    assert len(kept_media) == 4 and len(shared) == 2 and len(purged_own) == 2
    with connect(stack.database_url) as conn:
        early = purge(conn, store, later - timedelta(days=2), 30)  # 29 days on: today's data is not past retention
        assert count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", purged_camera) == 3
        assert early.held_incidents_spared == 0  # held, but nothing of it was due: the hold spared nothing yet
        dry = purge(conn, store, later, 30, dry_run=True)
        # a dry run counts the files that would go as a run does (it said 0 files beside 2+ media rows before)
        assert dry.events >= 3 and dry.media_rows >= 2 and dry.files >= 2 and dry.held_incidents_spared == others + 1
        assert all(store.open(s) for s in purged_media)
        assert count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", purged_camera) == 3
        report = purge(conn, store, later, 30)
    assert (report.events, report.media_rows, report.files) == (dry.events, dry.media_rows, dry.files)
    assert report.held_incidents_spared == others + 1 and not report.dry_run
    assert count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", purged_camera) == 0
    assert count(db, "SELECT count(*) FROM camera_label_snapshots WHERE device_id = %s", purged_camera) == 0
    assert count(db, "SELECT count(*) FROM media WHERE sha256 = ANY(%s)", purged_own) == 0
    assert not any(store.open(s) for s in purged_own)
    # the held incident's events, images and copies are all there, the shared crop with them
    assert count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", kept_camera) == 3
    assert all(store.open(s) for s in kept_media)
    assert count(db, "SELECT count(*) FROM media WHERE sha256 = ANY(%s)", kept_media) == 4
    # the purged incident stays, says its evidence went; the purge is in the audit log with its counts
    detail = api.get(f"/v1/incidents/{purged}", headers=cleanliness).json()
    assert detail["evidence_purged_at"] is not None and detail["events"] == []
    assert detail["timeline"][-1]["kind"] == "evidence_purged" and detail["timeline"][-1]["actor"] == "retention"
    audit = db.execute("SELECT detail FROM audit_log WHERE method = 'PURGE' ORDER BY id DESC LIMIT 1").fetchone()[
        "detail"
    ]
    # the audit row is written before the files go: it has no file count to get wrong (the report has it)
    assert audit["events"] == report.events and "files" not in audit and audit["held_incidents_spared"] == others + 1
    assert audit["cutoff"] == (later - timedelta(days=30)).isoformat()
    assert purged_ids["couch"] not in json.dumps(detail["events"])

    # released: the next purge takes it
    assert api.post(f"/v1/incidents/{kept}/release", headers=police, json={}).status_code == 200
    with connect(stack.database_url) as conn:
        assert purge(conn, store, later, 30).held_incidents_spared == others
    assert count(db, "SELECT count(*) FROM camera_events WHERE device_id = %s", kept_camera) == 0
    assert not any(store.open(s) for s in kept_media)
    kinds = [t["kind"] for t in api.get(f"/v1/incidents/{kept}", headers=police).json()["timeline"]]
    assert kinds[-3:] == ["held", "released", "evidence_purged"]


def test_two_evidence_workers_never_copy_the_same_image_twice(stack, ingest, db, uid) -> None:
    camera = f"wc{uid}"
    keyring(stack).ensure({camera: "karroad"})
    image = jpeg(street(int(uid[:5], 16) * 64 + 40))
    publish_all(stack, [OutboundMessage(f"karroad/{camera}/snapshots/e{uid}", image)])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_snapshots WHERE device_id = %s", camera) == 1)
    (original,) = [o for o in pending(db, 1000, settle_s=0) if o.device_id == camera]
    with connect(stack.database_url, autocommit=False) as first, connect(stack.database_url) as second:
        assert claim(first, original)  # the first worker holds it (its transaction is open)...
        EvidenceWorker(stack, settle_s=0, batch=1000).copy_once(second)  # ...the second skips it
        assert count(db, "SELECT count(*) FROM evidence_copies WHERE original_sha256 = %s", original.sha256) == 0
        first.rollback()  # the first worker died before copying: the image is free again
        EvidenceWorker(stack, settle_s=0, batch=1000).copy_once(second)
    assert count(db, "SELECT count(*) FROM evidence_copies WHERE original_sha256 = %s", original.sha256) == 1
    with connect(stack.database_url, autocommit=False) as late:
        assert not claim(late, original)  # copied: nothing left to claim


def test_privacy_masks_over_http(stack, ingest, api, issue_token, db, uid) -> None:
    camera = f"mc{uid}"
    keyring(stack).ensure({camera: "karroad"})
    operator = {"Authorization": f"Bearer {issue_token('operator')}"}
    path = f"/v1/devices/{camera}/privacy-masks"
    window = [[0.0, 0.0], [0.5, 0.0], [0.5, 0.5], [0.0, 0.5]]
    assert api.put(path, json={"polygons": [window]}, headers=operator).status_code == 403  # admin only
    for bad in ([[[0, 0], [1, 0]]], [[[0, 0], [1.5, 0], [1, 1]]], [[[0, 0, 0], [1, 0], [1, 1]]]):
        refused = api.put(path, json={"polygons": bad})
        assert refused.status_code == 422, (bad, refused.text)
    assert api.put("/v1/devices/nobody-here/privacy-masks", json={"polygons": [window]}).status_code == 404
    assert api.put(path, json={"polygons": [window]}).json() == {"polygons": [window]}
    assert api.get(path, headers=operator).json() == {"polygons": [window]}
    # the next image the camera sends is stored with the window black
    publish_all(
        stack, [OutboundMessage(f"karroad/{camera}/snapshots/e{uid}", jpeg(street(int(uid[:5], 16) * 64 + 50)))]
    )
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_snapshots WHERE device_id = %s", camera) == 1)
    sha = db.execute("SELECT media_sha256 FROM camera_snapshots WHERE device_id = %s", (camera,)).fetchone()
    image = stored(stack, sha["media_sha256"])
    assert image[5:355, 5:635].max() < 16 and image[400:, 700:].min() > 30
    assert api.put(path, json={"polygons": []}).json() == {"polygons": []}


def test_a_masked_gateway_camera_without_its_detect_size_is_stored_black(stack, ingest, db, uid) -> None:
    """Without the detect resolution a Frigate crop cannot be placed in the frame: the mask would land in
    the wrong place, so the image is stored black (and the log says to map the camera with --detect)."""
    gateway, camera = f"ng{uid}", f"nc{uid}"
    keyring(stack).ensure({gateway: "karroad", camera: "karroad"})
    with connect(stack.database_url) as conn:
        map_camera(conn, gateway, "rue_des_fleurs", camera)  # no --detect
        set_masks(conn, camera, [WINDOW])
    crop = cv2.resize(street()[260:560, 590:890], (270, 270))
    publish_all(stack, [OutboundMessage(f"karroad/{gateway}/rue_des_fleurs/person/snapshot", jpeg(crop), retain=True)])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_label_snapshots WHERE device_id = %s", camera) == 1)
    sha = db.execute("SELECT media_sha256 FROM camera_label_snapshots WHERE device_id = %s", (camera,)).fetchone()
    assert stored(stack, sha["media_sha256"]).max() == 0


def test_a_camera_flooding_images_does_not_hold_back_the_others_copies(stack, ingest, db, uid) -> None:
    """The copy queue is served one image per camera in turn: a camera that sends a burst does not make
    another camera's image wait behind all of it."""
    noisy, quiet = f"fa{uid}", f"fb{uid}"
    keyring(stack).ensure({noisy: "karroad", quiet: "karroad"})
    burst = [
        OutboundMessage(f"karroad/{noisy}/snapshots/e{uid}{i}", jpeg(street(int(uid[:5], 16) * 64 + 20 + i)))
        for i in range(6)
    ]
    publish_all(stack, burst)
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_snapshots WHERE device_id = %s", noisy) == 6)
    publish_all(stack, [OutboundMessage(f"karroad/{quiet}/snapshots/e{uid}", jpeg(street(int(uid[:5], 16) * 64 + 30)))])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_snapshots WHERE device_id = %s", quiet) == 1)
    with connect(stack.database_url) as conn:
        worker = EvidenceWorker(stack, settle_s=0, batch=50)  # more than the cameras waiting: one batch serves all
        assert worker.copy_once(conn)
        quiet_waiting = count(db, "SELECT count(*) FROM media WHERE device_id = %s AND copy_pending", quiet)
        waiting = count(db, "SELECT count(*) FROM media WHERE device_id = %s AND copy_pending", noisy)
        while worker.copy_once(conn):
            pass
    assert quiet_waiting == 0 and waiting == 5, "the quiet camera's image waited behind the burst"


def test_an_image_the_copy_fails_on_is_recorded_not_retried_for_ever(stack, ingest, db, uid, monkeypatch) -> None:
    """A bug or an OpenCV error on one image must not stop the worker (it would be restarted onto the same
    image again and again): the image is recorded as not copyable, with the reason, and the queue moves on."""
    import services.evidence.copies as copies

    camera = f"pp{uid}"
    keyring(stack).ensure({camera: "karroad"})
    publish_all(stack, [OutboundMessage(f"karroad/{camera}/snapshots/e{uid}", jpeg(street(int(uid[:5], 16) * 64 + 5)))])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_snapshots WHERE device_id = %s", camera) == 1)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise cv2.error("OpenCV(4.x) resize.cpp: error: (-215:Assertion failed) !ssize.empty()")

    monkeypatch.setattr(copies, "privacy_copy", broken)
    with connect(stack.database_url) as conn:
        worker = EvidenceWorker(stack, settle_s=0)
        while worker.copy_once(conn):
            pass
    row = db.execute(
        "SELECT c.copy_sha256, c.error FROM evidence_copies c JOIN camera_snapshots s "
        "ON s.media_sha256 = c.original_sha256 WHERE s.device_id = %s",
        (camera,),
    ).fetchone()
    assert row["copy_sha256"] is None and "Assertion failed" in row["error"]
    monkeypatch.undo()  # fixed: queued again, copied
    with connect(stack.database_url) as conn:
        assert copies.retry_failed(conn) >= 1
        while worker.copy_once(conn):
            pass
    assert count(db, "SELECT count(*) FROM media WHERE device_id = %s AND copy_pending", camera) == 0
    done = db.execute(
        "SELECT c.copy_sha256 FROM evidence_copies c JOIN camera_snapshots s ON s.media_sha256 = c.original_sha256 "
        "WHERE s.device_id = %s",
        (camera,),
    ).fetchone()
    assert done["copy_sha256"] is not None


def test_a_failing_purge_does_not_stop_the_copies(stack, ingest, db, uid, monkeypatch) -> None:
    import services.evidence.purge_runs as purge_runs

    camera = f"pf{uid}"
    keyring(stack).ensure({camera: "karroad"})
    publish_all(stack, [OutboundMessage(f"karroad/{camera}/snapshots/e{uid}", jpeg(street(int(uid[:5], 16) * 64 + 9)))])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_snapshots WHERE device_id = %s", camera) == 1)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the purge")

    monkeypatch.setattr(purge_runs, "purge", broken)
    worker = EvidenceWorker(stack, settle_s=0)
    with connect(stack.database_url) as conn:
        while worker._cycle(conn):  # the first cycle runs the (failing) purge, then copies
            pass
    assert count(db, "SELECT count(*) FROM media WHERE device_id = %s AND copy_pending", camera) == 0


def test_a_cameras_dead_letters_do_not_serve_its_images_or_plates(stack, ingest, api, issue_token, db, uid) -> None:
    """A refused camera message is personal data too (an image, a plate in an event): its reason and size
    are shown to the staff who fix integrations, its bytes are not (they stay for replay)."""
    gateway = f"dg{uid}"
    keyring(stack).ensure({gateway: "karroad"})
    snapshot = jpeg(street(int(uid[:5], 16) * 64 + 11))
    publish_all(stack, [OutboundMessage(f"karroad/{gateway}/jardin_prive/person/snapshot", snapshot, retain=True)])
    wait_for(lambda: count(db, "SELECT count(*) FROM dead_letters WHERE device_id = %s", gateway) == 1)
    (letter,) = db.execute("SELECT id, reason_code FROM dead_letters WHERE device_id = %s", (gateway,)).fetchall()
    assert letter["reason_code"] == "unknown_camera"
    operator = {"Authorization": f"Bearer {issue_token('operator')}"}
    detail = api.get(f"/v1/dead-letters/{letter['id']}", headers=operator).json()
    assert detail["reason_code"] == "unknown_camera" and detail["payload_size"] == len(snapshot)
    assert detail["payload_preview_base64"] == "" and detail["payload_preview_text"] is None
    refused = api.get(f"/v1/dead-letters/{letter['id']}/payload", headers=operator)
    assert refused.status_code == 403 and "personal data" in refused.json()["detail"]
    kept = db.execute("SELECT payload FROM dead_letters WHERE id = %s", (letter["id"],)).fetchone()["payload"]
    assert bytes(kept) == snapshot  # kept for the replay once the camera is mapped
