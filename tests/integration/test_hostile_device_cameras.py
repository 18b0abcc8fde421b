"""Issue 19: what a hostile camera (or a camera in an order MQTT allows) did to other cameras' evidence, to
retention and to privacy masks. Through the real broker, ingest and database, like test_hostile_device.py.

- item 5: snapshots joined events by event_id alone: camera P sent a snapshot for an event id camera Q then
  used, and P's image became Q's evidence;
- item 4a: a snapshot dead-lettered after its file was written left the file in the media store, named by no
  row (404 on /v1/media, never purged);
- item 4b: a masked camera's dead letters kept the unmasked image.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest

from core.db import connect
from core.media_store import MediaStore
from core.privacy_masks import set_masks
from core.replay_requests import ReplayFilter
from ingest.replay import replay_dead_letters
from sim.publisher import OutboundMessage
from tests.conftest import count, wait_for
from tests.integration.helpers import keyring, publish_all

pytestmark = pytest.mark.integration

LEFT_HALF = [[[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]]


def _jpeg(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    """A bright, textured image (a masked region shows as black in it), unique per seed."""
    rng = np.random.default_rng(seed)
    image = rng.integers(128, 256, (size[1], size[0], 3), dtype=np.uint8)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return encoded.tobytes()


def _seed(uid: str, n: int = 0) -> int:
    return int(uid, 16) + n


def _event(camera: str, event_id: str, kind: str = "new", *, start: datetime | None = None) -> OutboundMessage:
    start = start or datetime(2026, 11, 29, 4, 0, tzinfo=UTC)
    ts = start + timedelta(seconds={"new": 0, "update": 5, "end": 10}[kind])
    body = {
        "event_id": event_id,
        "type": kind,
        "ts": ts.isoformat(),
        "label": "mattress",
        "score": 0.9,
        "box": [10, 10, 40, 40],
        "zone": None,
        "start_time": start.isoformat(),
        "end_time": ts.isoformat() if kind == "end" else None,
        "stationary": kind != "new",
        "has_snapshot": True,
    }
    return OutboundMessage(f"karroad/{camera}/events", json.dumps(body).encode())


def _snapshot(camera: str, event_id: str, jpeg: bytes, ts: str = "2026-11-29T04:00:03Z", **kw) -> OutboundMessage:
    return OutboundMessage(f"karroad/{camera}/snapshots/{event_id}", jpeg, (("ts", ts),), **kw)


def _images(db, event_id: str) -> set[str]:
    rows = db.execute("SELECT media_sha256 FROM camera_event_images WHERE event_id = %s", (event_id,)).fetchall()
    return {r["media_sha256"] for r in rows}


def _letter(db, camera: str, code: str) -> dict | None:
    return db.execute(
        "SELECT id, reason, payload, payload_size, payload_sha256 FROM dead_letters "
        "WHERE device_id = %s AND reason_code = %s ORDER BY id DESC LIMIT 1",
        (camera, code),
    ).fetchone()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- item 5: images keyed by (camera, event) -------------------------------------------------------------
def test_a_camera_cannot_plant_a_snapshot_in_another_cameras_event(stack, ingest, db, uid):
    planter, victim = f"p{uid}", f"q{uid}"
    keyring(stack).ensure({planter: "karroad", victim: "karroad"})
    event_id = f"ev-{uid}"
    planted, own = _jpeg(_seed(uid, 1)), _jpeg(_seed(uid, 2))
    publish_all(stack, [_snapshot(planter, event_id, planted)])  # before the event exists
    wait_for(lambda: count(db, "SELECT count(*) FROM media WHERE sha256 = %s", _sha(planted)), what="P's image")
    publish_all(stack, [_event(victim, event_id), _snapshot(victim, event_id, own), _event(victim, event_id, "end")])
    wait_for(
        lambda: count(db, "SELECT count(*) FROM camera_events WHERE event_id = %s AND event_type = 'end'", event_id),
        what="Q's event stored: the id is Q's",
    )
    wait_for(lambda: _sha(own) in _images(db, event_id), what="Q's own snapshot among its images")
    assert _images(db, event_id) == {_sha(own)}, "P's image is shown as Q's evidence"
    # now the event is Q's: P's further snapshots and events for that id are refused with a reason
    late = _jpeg(_seed(uid, 3))
    publish_all(stack, [_snapshot(planter, event_id, late), _event(planter, event_id, "update")])
    wait_for(
        lambda: (
            count(
                db, "SELECT count(*) FROM dead_letters WHERE device_id = %s AND reason_code = 'foreign_object'", planter
            )
            == 2
        ),
        what="P's later snapshot and event refused",
    )
    assert _images(db, event_id) == {_sha(own)}
    assert db.execute("SELECT device_id FROM camera_events WHERE event_id = %s", (event_id,)).fetchone() == {
        "device_id": victim
    }


ORDERS = list(itertools.permutations(["new", "snapshot", "end"]))


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(o) for o in ORDERS])
def test_every_order_mqtt_allows_between_event_and_snapshot_keeps_the_image(stack, ingest, db, uid, order):
    """MQTT orders messages per topic only: a snapshot may arrive before its event, or after its end."""
    camera, event_id = f"c{uid}", f"ev-{uid}"
    jpeg = _jpeg(_seed(uid))
    by_name = {
        "new": _event(camera, event_id),
        "end": _event(camera, event_id, "end"),
        "snapshot": _snapshot(camera, event_id, jpeg),
    }
    for name in order:
        publish_all(stack, [by_name[name]])
    wait_for(
        lambda: count(db, "SELECT count(*) FROM camera_events WHERE event_id = %s AND event_type = 'end'", event_id),
        what="the event's end",
    )
    wait_for(lambda: _images(db, event_id) == {_sha(jpeg)}, what="the event's image, whatever the order")
    assert count(db, "SELECT count(*) FROM dead_letters WHERE device_id = %s", camera) == 0


# ---- item 4a: no file left behind by a dead-lettered snapshot --------------------------------------------
def test_a_dead_lettered_snapshot_leaves_no_file_in_the_media_store(stack, ingest, db, uid):
    owner, stranger = f"o{uid}", f"s{uid}"
    keyring(stack).ensure({owner: "karroad", stranger: "karroad"})
    event_id = f"ev-{uid}"
    publish_all(stack, [_event(owner, event_id)])
    wait_for(lambda: count(db, "SELECT count(*) FROM camera_events WHERE event_id = %s", event_id), what="the event")
    foreign = _jpeg(_seed(uid, 7))
    publish_all(stack, [_snapshot(stranger, event_id, foreign)])
    wait_for(lambda: _letter(db, stranger, "foreign_object"), what="the foreign snapshot's dead letter")
    assert count(db, "SELECT count(*) FROM media WHERE sha256 = %s", _sha(foreign)) == 0
    assert MediaStore(stack.media_path).open(_sha(foreign)) is None, "a file nothing names, never purged"


# ---- item 4b: a masked camera's dead letters hold the masked image only -----------------------------------
def _left_half_black(jpeg: bytes) -> bool:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    w = image.shape[1]
    return float(image[:, : w // 2 - 2].mean()) < 12 and float(image[:, w // 2 + 2 :].mean()) > 100


def test_a_masked_cameras_dead_letters_keep_only_the_masked_image(stack, ingest, db, uid):
    camera, other = f"m{uid}", f"n{uid}"
    keyring(stack).ensure({camera: "karroad", other: "karroad"})
    with connect(stack.database_url) as conn:
        set_masks(conn, camera, LEFT_HALF)
    foreign_event = f"ev-o{uid}"
    publish_all(stack, [_event(other, foreign_event)])
    wait_for(
        lambda: count(db, "SELECT count(*) FROM camera_events WHERE event_id = %s", foreign_event), what="Q's event"
    )
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    images = {
        code: _jpeg(_seed(uid, n))
        for n, code in enumerate(("retained_not_allowed", "timestamp_in_future", "foreign_object"))
    }
    publish_all(
        stack,
        [
            _snapshot(camera, f"ev-r{uid}", images["retained_not_allowed"], retain=True),
            _snapshot(camera, f"ev-f{uid}", images["timestamp_in_future"], ts=future),
            _snapshot(camera, foreign_event, images["foreign_object"]),
        ],
    )
    for code, original in images.items():
        letter = wait_for(lambda code=code: _letter(db, camera, code), what=f"the {code} dead letter")
        kept = bytes(letter["payload"])
        assert kept != original and _left_half_black(kept), f"{code}: the letter keeps the unmasked image"
        assert letter["payload_sha256"] == _sha(kept) and letter["payload_size"] == len(kept)
    # replayable: the retained one, replayed, stores the masked image (what would have been stored anyway)
    letter = _letter(db, camera, "retained_not_allowed")
    report = replay_dead_letters(stack, ReplayFilter(ids=(letter["id"],)))
    assert report.stored == 1, report.as_dict()
    stored = db.execute(
        "SELECT media_sha256 FROM camera_snapshots WHERE device_id = %s AND event_id = %s", (camera, f"ev-r{uid}")
    ).fetchone()
    path = MediaStore(stack.media_path).open(stored["media_sha256"])
    assert path is not None and _left_half_black(path.read_bytes())


def test_a_masked_cameras_image_that_cannot_be_masked_is_not_kept_in_its_letter(stack, ingest, db, uid):
    """Fail closed: a masked camera's payload that is not a decodable JPEG (a truncated one may still show
    most of the scene to a lenient decoder) is not kept; its size and hash are."""
    camera = f"m{uid}"
    keyring(stack).ensure({camera: "karroad"})
    with connect(stack.database_url) as conn:
        set_masks(conn, camera, LEFT_HALF)
    truncated = _jpeg(_seed(uid))[:-200]
    publish_all(stack, [_snapshot(camera, f"ev-{uid}", truncated)])
    letter = wait_for(lambda: _letter(db, camera, "truncated_jpeg"), what="the truncated image's letter")
    assert bytes(letter["payload"]) == b"" and letter["payload_size"] == len(truncated)
    assert letter["payload_sha256"] == _sha(truncated) and "privacy mask" in letter["reason"]


def test_the_sweep_deletes_old_files_no_row_names_and_only_those(stack, ingest, db, uid):
    """What a crash leaves between a file's write and its COMMIT (a killed worker): a file no row names,
    which only a sweep can find. Young files (a write about to be committed) and named files stay."""
    import os
    import time

    from ingest.media_sweeper import MediaSweeper

    camera = f"c{uid}"
    named = _jpeg(_seed(uid, 1))
    publish_all(stack, [_snapshot(camera, f"ev-{uid}", named)])
    wait_for(lambda: count(db, "SELECT count(*) FROM media WHERE sha256 = %s", _sha(named)), what="a named file")
    media = MediaStore(stack.media_path)
    old_orphan, young_orphan = _jpeg(_seed(uid, 2)), _jpeg(_seed(uid, 3))
    media.put(_sha(old_orphan), old_orphan)
    media.put(_sha(young_orphan), young_orphan)
    stale = media.path_for(_sha(old_orphan)).parent / ".incoming-crashed"
    stale.write_bytes(b"half a write")
    long_ago = time.time() - 7200
    for path in (media.path_for(_sha(old_orphan)), media.path_for(_sha(named)), stale):
        os.utime(path, (long_ago, long_ago))
    sweeper = MediaSweeper(stack.database_url, media, grace_s=3600)
    assert sweeper.sweep_once() is not None
    assert media.open(_sha(old_orphan)) is None and not stale.exists()
    assert media.open(_sha(named)) is not None, "a file a row names was deleted"
    assert media.open(_sha(young_orphan)) is not None, "a young file (its COMMIT may be coming) was deleted"


def test_an_image_whose_records_the_database_refuses_leaves_no_file(stack, ingest, db, uid):
    """Batch isolation: a frame whose `seq` overflows the column fails its batch; the batch is retried
    message by message and the frame dead-lettered (`database_rejected`). Its file, written in both attempts,
    is named by no row: it must not stay. The good frame of the same batch keeps its file."""
    drone = f"d{uid}"
    bad, good = _jpeg(_seed(uid, 1)), _jpeg(_seed(uid, 2))

    def frame(jpeg: bytes, ts: str, seq: str) -> OutboundMessage:
        props = (("mission_id", f"m{uid}"), ("ts", ts), ("chainage_m", "1"), ("seq", seq))
        return OutboundMessage(f"bathy/{drone}/frame", jpeg, props)

    publish_all(stack, [frame(bad, "2026-11-29T04:00:00Z", str(2**40)), frame(good, "2026-11-29T04:00:01Z", "2")])
    wait_for(lambda: _letter(db, drone, "database_rejected"), what="the overflowing frame's dead letter")
    wait_for(
        lambda: count(db, "SELECT count(*) FROM drone_frames WHERE device_id = %s", drone) == 1, what="the good one"
    )
    media = MediaStore(stack.media_path)
    assert media.open(_sha(good)) is not None
    assert count(db, "SELECT count(*) FROM media WHERE sha256 = %s", _sha(bad)) == 0
    assert media.open(_sha(bad)) is None, "a file nothing names, never purged"
