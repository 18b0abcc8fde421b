"""Detectors on rendered frames with ground truth (device_adapters/bathy/scene.py): loss of vision and water
level, across pipe sizes, wall looks, camera tilt, JPEG quality and noise; clean frames yield nothing."""

from __future__ import annotations

import pytest

from device_adapters.bathy.scene import Conditions, Defect, Scene, frame_truth, render
from services.vision.geometry import clock_of, locate
from services.vision.quality import loss_of_vision
from services.vision.water import water_level

LOOKS = {
    "concrete 600": Conditions(),
    "clay 1000, tilted, poor JPEG": Conditions(
        diameter_mm=1000, wall_bgr=(70, 100, 150), tilt_px=(25, -20), jpeg_quality=30, noise_sigma=9
    ),
    "PVC 300, dim, tilted": Conditions(diameter_mm=300, wall_bgr=(180, 180, 175), tilt_px=(-30, 10), light=0.5),
}
CHAINAGES = (10.0, 11.3, 12.6)


def frames(conditions: Conditions, **changes: object):
    scene = Scene(Conditions(**{**conditions.__dict__, **changes}), seed=5)
    for chainage in CHAINAGES:
        yield render(scene, chainage)[0], scene.conditions.diameter_mm


@pytest.mark.parametrize("look", LOOKS)
@pytest.mark.parametrize("level", [5.0, 25.0, 40.0, 60.0])
def test_the_water_level_is_read_within_six_points(look: str, level: float) -> None:
    for image, diameter in frames(LOOKS[look], water_level_pct=level):
        found = water_level(image, locate(image, diameter))
        assert found is not None and found.code == "BDD"
        assert abs(found.quantification - level) <= 6.0, (look, level, found)  # type: ignore[operator]
        assert found.clock_from in (2, 3, 4, 5) and found.clock_to in (7, 8, 9, 10)


@pytest.mark.parametrize("look", ["concrete 600", "PVC 300, dim, tilted"])
def test_a_dry_pipe_has_no_water_level(look: str) -> None:
    for image, diameter in frames(LOOKS[look], water_level_pct=0.0):
        assert water_level(image, locate(image, diameter)) is None


@pytest.mark.parametrize("look", LOOKS)
def test_clean_frames_are_not_a_loss_of_vision(look: str) -> None:
    for image, _ in frames(LOOKS[look]):
        assert loss_of_vision(image) is None


@pytest.mark.parametrize(("changes", "characterisation"), [({"light": 0.08}, "Z"), ({"fog": 0.7}, "C")])
def test_a_dark_or_fogged_frame_is_a_loss_of_vision(changes: dict, characterisation: str) -> None:
    for image, _ in frames(Conditions(), **changes):
        found = loss_of_vision(image)
        assert found is not None and found.code == "BDG" and found.characterisation == characterisation


def test_the_vanishing_point_is_found_where_the_camera_looks() -> None:
    for image, diameter in frames(Conditions(tilt_px=(-30, 10), water_level_pct=0.0)):
        geometry = locate(image, diameter)
        assert abs(geometry.cx - 290) <= 4 and abs(geometry.cy - 250) <= 4


def test_every_frame_comes_with_the_truth_of_its_near_ring() -> None:
    scene = Scene(Conditions(water_level_pct=20), (Defect("BAB", 30.0, 31.0, 1, 2, kind="longitudinal"),))
    assert [t.code for t in frame_truth(scene, 29.0)] == ["BAB", "BDD"]  # 30-31 m is 1-2 m ahead
    assert [t.code for t in frame_truth(scene, 27.0)] == ["BDD"]  # 3 m ahead: not yet in the near ring
    assert [t.code for t in frame_truth(scene, 31.0)] == ["BDD"]  # passed


def test_clock_positions_round_to_the_hour_with_twelve_at_the_crown() -> None:
    assert [clock_of(a) for a in (0, 14, 16, 90, 180, 270, 345, 359)] == [12, 12, 1, 3, 6, 9, 12, 12]


CRACKED = (
    Defect("BAB", 20.5, 22.5, 1, 2, kind="longitudinal"),
    Defect("BAB", 25.0, 25.0, 9, 11, kind="circumferential"),
)
CRACK_LOOKS = {
    "concrete 600": Conditions(water_level_pct=15),
    "PVC 300, dim, tilted": Conditions(
        diameter_mm=300, wall_bgr=(180, 180, 175), tilt_px=(-30, 10), light=0.5, water_level_pct=10
    ),
}


def found_cracks(conditions: Conditions, chainage: float):
    from services.vision.cracks import cracks
    from services.vision.water import water_wedge

    image, truth = render(Scene(conditions, CRACKED, seed=5), chainage)
    geometry = locate(image, conditions.diameter_mm)
    return cracks(image, geometry, water_wedge(water_level(image, geometry))), truth


@pytest.mark.parametrize("look", CRACK_LOOKS)
def test_clean_wall_with_joints_and_water_has_no_crack(look: str) -> None:
    for chainage in (15.0, 16.3, 17.1, 18.2):  # joints pass through the near ring here
        found, truth = found_cracks(CRACK_LOOKS[look], chainage)
        assert found == [] and "BAB" not in [t.code for t in truth], (look, chainage, found)


@pytest.mark.parametrize("look", CRACK_LOOKS)
def test_a_longitudinal_crack_is_found_at_its_clock_position(look: str) -> None:
    found, _ = found_cracks(CRACK_LOOKS[look], 20.5)
    assert [(d.clock_from, d.clock_to, d.characterisation) for d in found] == [(1, 2, "A")]


def test_a_circumferential_crack_is_found_over_its_arc() -> None:
    found, _ = found_cracks(CRACK_LOOKS["concrete 600"], 24.0)
    (crack,) = found
    assert crack.characterisation == "B" and crack.clock_from in (8, 9) and crack.clock_to in (11, 12)
    assert 2.0 <= crack.quantification <= 4.0  # hours of arc  # type: ignore[operator]


LARGE = {
    "concrete 1000": Conditions(diameter_mm=1000),
    "clay 1000, tilted, poor JPEG": LOOKS["clay 1000, tilted, poor JPEG"],
}


@pytest.mark.parametrize("look", LARGE)
@pytest.mark.parametrize(("water", "frames_allowed"), [(10.0, 0), (45.0, 0), (60.0, 1)])
def test_the_joints_of_a_large_pipe_are_not_cracks(look: str, water: float, frames_allowed: int) -> None:
    """Near the crown of a large pipe a joint stands out of the vignetted wall by little more than a crack's
    contrast: its ring, seen in arcs, read as circumferential cracks (10-28 false cracks in 20 frames before
    issue 21, item 6), and more with a high water line (the vanishing point up to 21 px off). At 60 % water a
    frame may still show an arc: a defect seen in one frame only is no observation (grouping.MIN_FRAMES)."""
    conditions = Conditions(**{**LARGE[look].__dict__, "water_level_pct": water})
    flagged = []
    for chainage in [10.0 + 0.5 * k for k in range(17)]:  # the cracks of CRACKED begin at 20.5 m
        found, truth = found_cracks(conditions, chainage)
        assert "BAB" not in [t.code for t in truth]
        if found:
            flagged.append(chainage)
    assert len(flagged) <= frames_allowed, flagged
    assert all(b - a > 0.5 for a, b in zip(flagged, flagged[1:], strict=False))  # never two frames in a row


@pytest.mark.parametrize("look", LARGE)
def test_cracks_in_a_large_pipe_with_high_water_are_still_found(look: str) -> None:
    conditions = Conditions(**{**LARGE[look].__dict__, "water_level_pct": 45.0})
    longitudinal, _ = found_cracks(conditions, 20.5)
    assert [(d.clock_from, d.characterisation) for d in longitudinal] in ([(1, "A")], [(2, "A")])
    circumferential, _ = found_cracks(conditions, 24.0)
    assert circumferential and all(d.clock_from in (8, 9, 10) and d.clock_to in (10, 11) for d in circumferential)


def test_a_large_frame_is_analysed_at_the_detectors_scale_and_reads_the_same() -> None:
    import cv2

    from device_adapters.images import encode_jpeg
    from services.vision.analysis import ANALYSIS_WIDTH, analyse, decode

    image, _ = render(Scene(Conditions(water_level_pct=30), seed=2), 10.0)
    big = cv2.resize(image, (4096, 3072), interpolation=cv2.INTER_CUBIC)  # the largest ingest lets through
    decoded = decode(encode_jpeg(big, 90))
    assert decoded.shape[1] == ANALYSIS_WIDTH
    small, large = analyse(decode(encode_jpeg(image, 90)), 600), analyse(decoded, 600)
    assert [d.code for d in small] == [d.code for d in large] == ["BDD"]
    assert abs(small[0].quantification - large[0].quantification) <= 2  # type: ignore[operator]


def test_what_is_not_an_image_is_an_unreadable_frame() -> None:
    from services.vision.analysis import UnreadableFrame, decode

    for junk in (b"", b"\xff\xd8\xff\xe0 not really", bytes(5000)):
        with pytest.raises(UnreadableFrame):
            decode(junk)


def test_clean_frames_of_another_look_have_no_crack() -> None:
    """Frames drawn by another renderer (tests/fixtures/other_look.py: a horizontal water band the water
    detector does not recognise, joints cut by it, a text overlay): the joints, seen in part, are still not
    cracks. Before the joint test accepted rings spread over three quarters, 4 of these 36 frames gave 24
    false cracks."""
    import random

    from services.vision.analysis import analyse, decode
    from tests.fixtures.other_look import pipe_frame

    rng = random.Random(3)
    for level in (10, 22, 40):
        for chainage in [10 + 0.5 * i for i in range(12)]:
            found = analyse(decode(pipe_frame(chainage, level, rng, label="M-X")), 600)
            assert [d for d in found if d.code == "BAB"] == [], (level, chainage)


def test_cracks_of_another_look_are_found() -> None:
    import random

    from services.vision.analysis import analyse, decode
    from tests.fixtures.other_look import pipe_frame

    rng = random.Random(3)
    seen = sum(
        any(d.code == "BAB" for d in analyse(decode(pipe_frame(10 + 0.5 * i, 22, rng, crack=True)), 600))
        for i in range(12)
    )
    assert seen >= 9  # a crack drawn anew in every frame (this renderer's way), found in most of them


@pytest.mark.parametrize("diameter", [300, 600, 1000])
def test_burned_in_text_adds_no_crack(diameter: int) -> None:
    """The drone writes its chainage and mission on every frame, as CCTV cameras do: the gaps between the
    white letters are thin dark lines. Seen on `./lab run`: one circumferential "crack" at 11-1 o'clock
    over a whole 60 m mission; before the text was left out, these frames gave 9 (600 mm) and 13 (1000 mm)
    more cracks with the text than without."""
    import cv2

    from services.vision.analysis import analyse

    scene = Scene(Conditions(diameter_mm=diameter, water_level_pct=20), seed=4)
    for chainage in (10.0, 10.5, 11.0, 11.5, 12.0):
        image, _ = render(scene, chainage)
        cracks = lambda frame: [(d.clock_from, d.clock_to, d.characterisation)  # noqa: E731
                                for d in analyse(frame, diameter) if d.code == "BAB"]  # fmt: skip
        without = cracks(image.copy())
        text = f"CH {chainage:7.2f} m  sim-bathy-01-20261129T131957-374"
        cv2.putText(image, text, (12, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
        assert cracks(image) == without, chainage


def test_a_crack_in_a_dark_cast_iron_pipe_is_found() -> None:
    """Two frames of `./lab run`'s simulated drone (tests/fixtures/frames/: a 600 mm cast-iron pipe, a dark
    wall) over a circumferential crack at 7.5 m, 1-4 o'clock: the crack's black-hat stayed under the 18
    grey levels asked of cracks on lit walls in one frame, it was seen in one frame only and dropped. The
    threshold now follows the wall's own (smooth, dim) black-hat: one observation."""
    from pathlib import Path

    import cv2

    from services.vision.analysis import analyse
    from services.vision.grouping import FrameResult, group
    from services.vision.scoring import clock_hours

    frames = []
    for chainage in (6.0, 6.5):
        image = cv2.imread(str(Path(__file__).parents[1] / f"fixtures/frames/cast-iron-600-ch{chainage:.1f}.jpg"))
        frames.append(FrameResult(str(chainage), chainage, tuple(analyse(image, 600))))
    (crack,) = [o for o in group(frames) if o.code == "BAB"]
    assert crack.chainage_end_m is None and 7.0 <= crack.chainage_start_m <= 7.5
    assert clock_hours(crack.clock_from, crack.clock_to) & {1, 2, 3, 4}
