"""A deployment's trained model (services/vision/trained.py) behind the classical detectors' interface: tiny
YOLO-style ONNX models built here (tests/fixtures/tiny_yolo.py), run by OpenCV's DNN module on rendered
frames, their boxes placed on the pipe, thresholded, suppressed, grouped; models and sidecars outside the
contract refused at load with a message."""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydantic
import pytest

from core.settings import Settings
from device_adapters.bathy.scene import Conditions, Defect, Scene, render
from services.vision.analysis import MODEL, Analysis, configured
from services.vision.grades import grade
from services.vision.grouping import FrameResult, group
from services.vision.trained import ModelRefused, load
from tests.fixtures.tiny_yolo import SIDECAR, Row, frame_row, model_bytes, to_input, write_model

REPO_ROOT = Path(__file__).resolve().parents[2]
DRY = Scene(Conditions(water_level_pct=15), seed=7)  # a clean pipe: the classical detectors find its water only
CRACKED = Scene(Conditions(water_level_pct=15), (Defect("BAB", 4.5, 6.5, 1, 2, kind="longitudinal"),), seed=7)
MARK = (8, 8, 32, 32)  # frame pixels of the red square a marked frame carries (a corner: no detector looks there)
MARKER = tuple(int(v) for v in (*to_input(12, 12), *to_input(28, 28)))  # inside it, in the model's input


def at(hour: float, radius: float = 150.0) -> tuple[float, float]:
    """The frame pixel at a clock position, ``radius`` px from the vanishing point (the frame's centre, within
    2 px on these renders); 150 px is the middle of a 600 mm pipe's near ring (74-221 px)."""
    angle = math.radians(hour * 30)
    return 320 + radius * math.sin(angle), 240 - radius * math.cos(angle)


def frame(scene: Scene = DRY, chainage: float = 2.0, marked: bool = True) -> np.ndarray:
    image = render(scene, chainage)[0].copy()
    if marked:
        x0, y0, x1, y1 = MARK
        image[y0:y1, x0:x1] = (0, 0, 255)  # BGR: pure red
    return image


def found(model_path: Path, image: np.ndarray, mode: str = "replace") -> list[tuple[str, int, int]]:
    """(code, clock from, clock to) of what the analysis with the model finds, the water level (BDD) aside."""
    detections = Analysis(load(model_path), mode)(image, 600).detections  # type: ignore[arg-type]
    return sorted((d.code, d.clock_from, d.clock_to) for d in detections if d.code != "BDD")


@pytest.mark.parametrize("layout", ["yolov5", "yolov8"])
def test_a_box_is_found_at_its_clock_position_in_either_layout(tmp_path: Path, layout: str) -> None:
    path = write_model(tmp_path, model_bytes([frame_row(at(10), 40, (0.9, 0.05, 0.05), marker=MARKER)], layout=layout))
    model = load(path)
    assert model.output.layout == layout  # told from the output's shape
    detections = Analysis(model)(frame(), 600).detections
    (crack,) = [d for d in detections if d.code == "BAB"]
    assert (crack.clock_from, crack.clock_to) == (10, 10)
    assert crack.confidence == pytest.approx(0.9, abs=0.02)  # the red square's redness x the class score
    assert crack.quantification == pytest.approx(0.7, abs=0.15)  # ~21 degrees of the clock: its length in hours
    assert crack.remark.startswith("crack (0.9") and "test-1" in crack.remark
    xs = [x for x, _ in crack.outline]
    assert min(xs) == pytest.approx(at(10)[0] - 20, abs=2) and max(xs) == pytest.approx(at(10)[0] + 20, abs=2)
    assert [d.code for d in detections if d is not crack] == ["BDD"]  # the classical water level, kept
    # the model reads the frame it is given: without the red square, no box
    assert found(path, frame(marked=False)) == []


def test_each_class_has_its_score_threshold(tmp_path: Path) -> None:
    rows = [
        frame_row(at(2), 40, (0.0, 0.55, 0.0)),  # roots at 0.55: under the class's own 0.6
        frame_row(at(11), 40, (0.0, 0.65, 0.0)),  # roots at 0.65
        frame_row(at(10), 40, (0.35, 0.0, 0.0)),  # a crack at 0.35: over the default 0.3
        frame_row(at(1), 40, (0.25, 0.0, 0.0)),  # a crack at 0.25
    ]
    path = write_model(tmp_path, model_bytes(rows))
    assert found(path, frame()) == [("BAB", 10, 10), ("BBA", 11, 11)]


def test_overlapping_boxes_of_one_code_are_one(tmp_path: Path) -> None:
    x, y = at(10)
    rows = [
        frame_row((x, y), 40, (0.8, 0.0, 0.0)),
        frame_row((x + 6, y + 4), 40, (0.9, 0.0, 0.0)),  # the same crack, surer: kept
        frame_row((x + 3, y), 40, (0.0, 0.9, 0.0)),  # roots in the same place: another code, kept
        frame_row(at(2), 40, (0.7, 0.0, 0.0)),  # another crack
    ]
    detections = Analysis(load(write_model(tmp_path, model_bytes(rows))))(frame(), 600).detections
    cracks = sorted((d.clock_from, d.confidence) for d in detections if d.code == "BAB")
    assert cracks == [(2, pytest.approx(0.7)), (10, pytest.approx(0.9))]
    assert [d.code for d in detections if d.code == "BBA"] == ["BBA"]


def test_a_class_mapped_to_nothing_is_ignored(tmp_path: Path) -> None:
    rows = [
        frame_row(at(10), 40, (0.4, 0.0, 0.9)),  # a joint (its best class), though its crack score passes
        frame_row(at(2), 40, (0.0, 0.0, 0.95)),
    ]
    assert found(write_model(tmp_path, model_bytes(rows)), frame()) == []


def test_only_a_box_in_the_near_ring_is_reported(tmp_path: Path) -> None:
    rows = [
        frame_row(at(10, 30), 20, (0.9, 0.0, 0.0)),  # near the far end: further ahead, a later frame places it
        frame_row((40, 440), 40, (0.9, 0.0, 0.0)),  # the bottom-left corner: passed already
        frame_row(at(2), 40, (0.9, 0.0, 0.0)),
    ]
    assert found(write_model(tmp_path, model_bytes(rows)), frame()) == [("BAB", 2, 2)]


def test_a_box_around_the_far_end_is_all_round_the_pipe(tmp_path: Path) -> None:
    path = write_model(tmp_path, model_bytes([frame_row((320, 240), 300, (0.0, 0.9, 0.0))]))
    (roots,) = [d for d in Analysis(load(path))(frame(), 600).detections if d.code == "BBA"]
    assert (roots.clock_from, roots.clock_to) == (12, 11)
    assert roots.quantification is not None and roots.quantification > 90  # it hides the whole section


def test_the_model_replaces_the_classical_detector_of_its_codes_or_adds_to_it(tmp_path: Path) -> None:
    path = write_model(tmp_path, model_bytes([frame_row(at(10), 40, (0.9, 0.0, 0.0))]))
    image = frame(CRACKED, 4.5)
    assert ("BAB", 1, 2) in found(path, image, "add")  # the classical detector's crack, and the model's
    assert ("BAB", 10, 10) in found(path, image, "add")
    assert found(path, image, "replace") == [("BAB", 10, 10)]  # the model's crack alone


def test_what_stands_out_of_the_wall_is_replaced_as_one_detector(tmp_path: Path) -> None:
    """BBA, BBB and BBE are one classical detector's readings of one thing: a model of roots replaces the
    three (an obstacle the classical detector reads would otherwise join the model's roots in the grouping)."""
    scene = Scene(Conditions(), (Defect.intrusion("BBE", 20.0, 20.3, 0.45, 2, 4),), seed=7)
    image = frame(scene, 19.0)
    path = write_model(tmp_path, model_bytes([Row((10, 10, 4, 4), (0.0, 0.9, 0.0), objectness=0.0)]))
    assert {"BBB", "BBE"} & {code for code, _, _ in found(path, image, "add")}
    assert not {"BBA", "BBB", "BBE"} & {code for code, _, _ in found(path, image, "replace")}


def test_a_model_s_defect_seen_along_the_pipe_is_one_observation(tmp_path: Path) -> None:
    analysis = Analysis(load(write_model(tmp_path, model_bytes([frame_row(at(10), 40, (0.9, 0.0, 0.0),
                                                                          marker=MARKER)]))))  # fmt: skip
    frames = [
        FrameResult(
            f"f{i}", chainage, tuple(analysis(frame(DRY, chainage, marked=bool(chainage <= 4.0)), 600).detections)
        )
        for i, chainage in enumerate(np.arange(0.0, 8.01, 0.5))
    ]
    (crack,) = [o for o in group(frames, ended=True) if o.code == "BAB"]
    assert (crack.chainage_start_m, crack.chainage_end_m) == (1.0, 5.0)  # the frames' chainage + the near ring's 1 m
    assert (crack.clock_from, crack.clock_to) == (10, 10) and crack.frames == 9
    assert grade(crack.code, crack.quantification, crack.characterisation) == 2


def test_the_model_s_identity_names_the_analysis(tmp_path: Path) -> None:
    data = model_bytes([frame_row(at(10), 40, (0.9, 0.0, 0.0))])
    path = write_model(tmp_path, data)
    digest = hashlib.sha256(data).hexdigest()[:12]
    assert Analysis(load(path)).model == f"{MODEL}+onnx-{digest}@test-1/replace"
    assert Analysis(load(path), "add").model.endswith("/add")
    assert Analysis().model == MODEL
    other = write_model(tmp_path, model_bytes([frame_row(at(2), 40, (0.9, 0.0, 0.0))]), name="other")
    assert Analysis(load(other)).model != Analysis(load(path)).model  # another file: another model


def test_the_deployment_configures_it(tmp_path: Path) -> None:
    path = write_model(tmp_path, model_bytes([frame_row(at(10), 40, (0.9, 0.0, 0.0))]))
    analysis = configured(Settings(vision_model=path, vision_model_mode="add"))
    assert analysis.trained is not None and analysis.trained.path == path and analysis.mode == "add"
    assert configured(Settings()).trained is None
    with pytest.raises(pydantic.ValidationError, match="vision_model_mode"):
        Settings(vision_model_mode="instead")


def _three_rows() -> list[Row]:
    return [frame_row(at(h), 40, (0.9, 0.0, 0.0)) for h in (1, 2, 10)]


REFUSED = {
    "no model file": (None, None, "no such file"),
    "no sidecar": (_three_rows, "", "sidecar"),
    "a sidecar that is not TOML": (_three_rows, "version = [", "not TOML"),
    "an unknown key": (_three_rows, SIDECAR.replace("score = 0.3", "threshold = 0.3"), "threshold: Extra inputs"),
    "a code a box cannot place": (_three_rows, SIDECAR.replace('crack = "BAB"', 'crack = "BDD"'),
                                  "'BDD' is not a code a box can place"),
    "a mapping of a class the model lacks": (_three_rows, SIDECAR + 'deposit = "BBC"\n',
                                             "deposit not among the model's classes"),
    "nothing mapped": (_three_rows, SIDECAR.split("[codes]")[0] + "[codes]\n", "no class is mapped"),
    "a bad version": (_three_rows, SIDECAR.replace('"test-1"', '"test 1; DROP"'), "version"),
    "not an ONNX file": (lambda: b"PK\x03\x04 not a model", SIDECAR, "OpenCV cannot load it as ONNX"),
    "two classes where the sidecar says three": (
        lambda: model_bytes([frame_row(at(1), 40, (0.9, 0.1))]), SIDECAR,
        "has shape [1, 1, 7]; the contract wants [1, N, 8] (YOLOv5: box, objectness, 3 class scores) or [1, 7, N]"),
    "two outputs": (lambda: model_bytes(_three_rows(), outputs=2), SIDECAR,
                    "2 outputs (output0, output1): name the detections' one in the sidecar's `output`"),
    "an output that is not there": (_three_rows, 'output = "boxes"\n' + SIDECAR, "no output named 'boxes'"),
    # 7 rows of 3 classes: [1, 7, 8] reads as 7 YOLOv5 rows and as 8 YOLOv8 columns
    "a shape both layouts read": (lambda: model_bytes(_three_rows() * 2 + _three_rows()[:1]), SIDECAR,
                                  "reads as YOLOv5 and as YOLOv8: set the sidecar's `layout`"),
    "a declared layout the output is not": (_three_rows, 'layout = "yolov8"\n' + SIDECAR, "the contract wants"),
}  # fmt: skip


@pytest.mark.parametrize("case", REFUSED)
def test_a_model_outside_the_contract_is_refused_at_load_with_a_message(tmp_path: Path, case: str) -> None:
    make, sidecar, message = REFUSED[case]
    path = tmp_path / "pipes.onnx"
    if make is not None:
        made = make()
        path = write_model(tmp_path, made if isinstance(made, bytes) else model_bytes(made), sidecar or "")
        if sidecar == "":
            path.with_suffix(".toml").unlink()
    with pytest.raises(ModelRefused) as refused:
        load(path)
    assert message in str(refused.value)
    at_fault = (f"trained model {path}: ", f"trained model's sidecar {path.with_suffix('.toml')}: ")
    assert str(refused.value).startswith(at_fault)  # the message names the file at fault


@pytest.mark.parametrize("layout", ["yolov5", "yolov8"])
def test_the_sidecar_settles_what_the_model_leaves_open(tmp_path: Path, layout: str) -> None:
    data = model_bytes(_three_rows() * 2 + _three_rows()[:1], outputs=2)  # two outputs, a shape both layouts read
    model = load(write_model(tmp_path, data, f'output = "output0"\nlayout = "{layout}"\n' + SIDECAR))
    assert (model.output.name, model.output.layout) == ("output0", layout)


def test_the_worker_does_not_start_with_a_refused_model(tmp_path: Path) -> None:
    path = write_model(tmp_path, model_bytes(_three_rows()), SIDECAR.replace('crack = "BAB"', 'crack = "BDD"'))
    env = {**os.environ, "TLAB_VISION_MODEL": str(path), "TLAB_STATE_DIR": str(tmp_path / "state")}
    run = subprocess.run([sys.executable, "-m", "tlab.cli", "vision"], env=env, cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith("tlab vision: trained model's sidecar") and "'BDD'" in run.stderr
