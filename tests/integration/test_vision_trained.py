"""A deployment's trained model (TLAB_VISION_MODEL; services/vision/trained.py) in the real vision worker: a
drone mission through the real broker and ingest, its frames analysed with a tiny ONNX model built here
(tests/fixtures/tiny_yolo.py); the model's crack reaches the API as an observation naming the model, in place
of the classical detector's, and is reviewed like any other."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.db import connect
from device_adapters.bathy.scene import Conditions, Defect, Scene, render
from device_adapters.contract import OutboundMessage
from device_adapters.images import encode_jpeg
from services.vision.analysis import MODEL
from services.vision.worker import VisionWorker
from tests.conftest import count, wait_for
from tests.fixtures.tiny_yolo import frame_row, model_bytes, to_input, write_model
from tests.integration.helpers import publish_all

pytestmark = pytest.mark.integration
# the classical detector finds this crack at 1-2 o'clock; the model finds another, at 10 o'clock, in the frames
# that carry its marker (a red square in a corner) at 2.0-5.0 m, so 3.0-6.0 m along the pipe
SCENE = Scene(Conditions(water_level_pct=15), (Defect("BAB", 4.5, 6.5, 1, 2, kind="longitudinal"),), seed=7)
STEP_M = 0.5
LENGTH_M = 8.0
MARKED = (2.0, 5.0)
MARKER = tuple(int(v) for v in (*to_input(12, 12), *to_input(28, 28)))
TEN_O_CLOCK = (320 - 150 * math.sin(math.radians(60)), 240 - 150 * math.cos(math.radians(60)))


def mission_messages(device: str, mission: str) -> list[OutboundMessage]:
    start = datetime.now(UTC) - timedelta(minutes=5)
    body = {"mission_id": mission, "ts": start.isoformat(), "operator": "test",
            "pipe": {"pipe_id": "BET-11", "start_manhole": "R1", "end_manhole": "R2", "direction": "downstream",
                     "diameter_mm": 600, "material": "concrete"}}  # fmt: skip
    out = [OutboundMessage(f"bathy/{device}/mission/start", json.dumps(body).encode())]
    for i in range(int(LENGTH_M / STEP_M) + 1):
        chainage = i * STEP_M
        image = render(SCENE, chainage)[0].copy()
        if MARKED[0] <= chainage <= MARKED[1]:
            image[8:32, 8:32] = (0, 0, 255)
        props = (("mission_id", mission), ("ts", (start + timedelta(seconds=2 * i + 1)).isoformat()),
                 ("chainage_m", f"{chainage:.3f}"), ("seq", str(i)))  # fmt: skip
        out.append(OutboundMessage(f"bathy/{device}/frame", encode_jpeg(image, 85), props))
    return out


def test_a_trained_model_s_observation_reaches_the_api(
    stack, api, db, ingest, uid, issue_token, tmp_path: Path
) -> None:
    device, mission = f"dv{uid}", f"M-{uid}"
    publish_all(stack, mission_messages(device, mission))
    frames = int(LENGTH_M / STEP_M) + 1
    wait_for(lambda: count(db, "SELECT count(*) FROM drone_frames WHERE mission_id = %s", mission) == frames,
             what="every frame stored")  # fmt: skip
    path = write_model(tmp_path, model_bytes([frame_row(TEN_O_CLOCK, 40, (0.9, 0.0, 0.0), marker=MARKER)]))
    worker = VisionWorker(stack.model_copy(update={"vision_model": path}), batch=8)
    assert worker.model.startswith(f"{MODEL}+onnx-") and worker.model.endswith("@test-1/replace")
    with connect(stack.database_url) as conn:
        while worker.work_once(conn):
            pass
    assert count(db, "SELECT count(*) FROM frame_analyses WHERE mission_id = %s AND model = %s", mission,
                 worker.model) == frames  # fmt: skip

    sanitation = {"Authorization": f"Bearer {issue_token('sanitation')}"}
    found = api.get(f"/v1/missions/{mission}/observations", headers=sanitation)
    assert found.status_code == 200, found.text
    by_code: dict[str, list[dict]] = {}
    for o in found.json():
        by_code.setdefault(o["code"], []).append(o)
    (crack,) = by_code["BAB"]  # the model's: the classical detector's crack at 1-2 o'clock is replaced
    assert (crack["clock_from"], crack["clock_to"]) == (10, 10)
    assert (crack["chainage_start_m"], crack["chainage_end_m"]) == (3.0, 6.0)
    assert crack["model"] == worker.model and crack["remark"].endswith("), trained model test-1")
    assert crack["grade"] == 2 and crack["state"] == "automatic" and crack["annotated_url"]
    assert crack["trust"] == "suggested" and crack["trust_precision"] is None  # its sidecar measured nothing
    assert set(by_code) == {"BAB", "BDD"}  # the classical water level, kept
    assert by_code["BDD"][0]["model"] == worker.model  # one analysis: the observations name it whole

    review = api.post(f"/v1/observations/{crack['id']}/review", json={"decision": "confirm"}, headers=sanitation)
    assert review.status_code == 200 and review.json()["state"] == "confirmed"
