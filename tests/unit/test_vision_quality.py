"""The gate before the detectors (issue 21, item 2): each reason a frame is not judged, on a frame drawn for it
(tests/fixtures/unjudgeable.py); the renderer's missions and another renderer's frames stay judged; a camera's
burned-in text (white, yellow, half-transparent grey, with a shadow) on a rendered pipe adds no defect."""

from __future__ import annotations

import random

import numpy as np
import pytest

import services.vision.analysis as analysis_module
import services.vision.features as features_module
from benchmarks.vision import mission_scene
from device_adapters.bathy.scene import Conditions, Scene, render
from device_adapters.images import encode_jpeg
from services.vision.analysis import FrameAnalysis, assess, decode
from services.vision.geometry import far_end
from services.vision.overlay import Overlay, overlay
from services.vision.quality import REASONS
from tests.fixtures import unjudgeable
from tests.fixtures.other_look import pipe_frame


def seen(image: np.ndarray, diameter: int = 600) -> FrameAnalysis:
    """What the worker makes of the frame: JPEG-encoded as a drone sends it, decoded, analysed."""
    return assess(decode(encode_jpeg(image, 80)), diameter)


@pytest.mark.parametrize(
    ("frame", "reason", "codes"),
    [
        (lambda: np.zeros((480, 640, 3), np.uint8), "dark", ["BDG"]),
        (lambda: render(Scene(Conditions(fog=0.8), seed=3), 2.0)[0], "fog", ["BDG"]),
        (unjudgeable.overexposed, "overexposed", []),
        (unjudgeable.title_card, "text", []),
        (lambda: unjudgeable.turned(280), "no_vanishing_point", []),  # the far end at the frame's edge
        (lambda: unjudgeable.turned(340), "no_vanishing_point", []),  # out of it: only the wall
    ],
    ids=["dark", "fog", "overexposed", "text", "far end at the edge", "no far end"],
)
def test_a_frame_outside_what_the_detectors_assume_is_not_judged_with_its_reason(frame, reason, codes) -> None:  # type: ignore[no-untyped-def]
    found = seen(frame())
    assert found.not_judged == reason and reason in REASONS
    assert [d.code for d in found.detections] == codes  # no defect; a loss of vision is BDG, the honest code


def test_the_renderer_s_missions_are_judged() -> None:
    """Every look of the synthetic benchmark's missions (`tlab bench vision`): sizes, walls, light, tilt, water,
    JPEG, noise; a start, a middle and an end of each."""
    for seed in range(1, 25):
        scene = mission_scene(seed)
        for chainage in (0.0, 13.5, 29.0):
            found = seen(render(scene, chainage)[0], scene.conditions.diameter_mm)
            assert found.not_judged is None, (seed, chainage, found)


def test_another_renderer_s_frames_are_judged() -> None:
    rng = random.Random(4)
    for k in range(10):
        found = assess(decode(pipe_frame(3.0 + 1.7 * k, rng.choice([0, 15, 35]), rng, label="M-7")), 600)
        assert found.not_judged is None, (k, found)


def test_a_dark_caption_panel_is_not_taken_for_the_far_end() -> None:
    """A flat panel painted over the camera's text (a redacted frame, tests/fixtures: the real set's SEWERVISION
    frames) can be darker than the far end: without the overlay mask the far end is found on it."""
    image = render(unjudgeable.CLEAN, 2.0)[0].copy()
    image[100:140, 120:300] = (60, 0, 0)  # dark blue, at the top band's edge, in the window the far end is sought in
    image = decode(encode_jpeg(image, 90))
    truth = (320, 240)
    masked = far_end(image, overlay(image).mask)
    assert abs(masked.x - truth[0]) < 10 and abs(masked.y - truth[1]) < 10
    bare = far_end(image)
    assert abs(bare.x - truth[0]) > 50  # the panel would have been the far end


@pytest.mark.parametrize("wall", [(128, 132, 136), (70, 100, 150), (180, 180, 175), (60, 70, 85)])
def test_burned_in_text_on_a_rendered_pipe_adds_no_defect(wall: tuple[int, int, int], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """White, yellow and half-transparent grey text with a shadow, at the top (over the near ring) and the
    bottom: no crack, nothing standing on the wall; the same frames without the overlay mask did report
    something there (what this test guards)."""
    scene = Scene(Conditions(water_level_pct=10, wall_bgr=wall), seed=5)
    frames = [decode(encode_jpeg(unjudgeable.with_overlay(render(scene, c)[0], c), 80)) for c in (1.0, 2.5, 5.0)]
    for image in frames:
        found = assess(image, 600)
        assert found.not_judged is None
        assert [d.code for d in found.detections] == ["BDD"], found  # the water level only
    monkeypatch.setattr(analysis_module, "overlay", lambda image: Overlay(np.zeros(image.shape[:2], np.uint8), 0.0))
    monkeypatch.setattr(features_module, "overlay_mask", lambda half: np.zeros(half.shape[:2], np.float32))
    assert any({d.code for d in assess(image, 600).detections} - {"BDD"} for image in frames)


def test_the_overlay_covers_the_text_and_not_the_wall() -> None:
    image = decode(encode_jpeg(unjudgeable.with_overlay(render(unjudgeable.CLEAN, 2.5)[0], 2.5), 80))
    found = overlay(image)
    assert found.mask[452:468, 30:300].mean() > 0.9  # the date, bottom left
    assert found.mask[60:110, 140:500].mean() > 0.6  # the half-transparent rows over the wall
    assert found.mask[150:400, 100:540].mean() < 0.02  # the pipe itself
    assert 0.1 < found.text_rows < 0.4  # a camera's usual overlay, not a title card
