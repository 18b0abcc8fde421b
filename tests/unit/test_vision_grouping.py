"""Per-frame detections grouped into observations: continuous or point, whatever the frames' order,
duplicates or gaps; the water level as a continuous measurement."""

from __future__ import annotations

import random

from services.vision.detections import Detection
from services.vision.grades import grade
from services.vision.grouping import FrameResult, _clock_span, group


def crack(clock: tuple[int, int] = (1, 2), confidence: float = 0.8, letter: str = "A") -> Detection:
    return Detection("BAB", clock[0], clock[1], 1.0, confidence, letter)


def frames(*items: tuple[float, tuple[Detection, ...]]) -> list[FrameResult]:
    return [FrameResult(f"f{c:.2f}", c, d) for c, d in items]


def test_a_crack_seen_over_three_metres_is_one_continuous_observation() -> None:
    seen = frames(*[(10 + 0.5 * i, (crack(),)) for i in range(7)])  # 10.0 .. 13.0 m
    (obs,) = group(seen)
    assert (obs.code, obs.chainage_start_m, obs.chainage_end_m) == ("BAB", 11.0, 14.0)  # + 1 m ahead
    assert (obs.clock_from, obs.clock_to, obs.frames) == (1, 2, 7)


def test_a_short_defect_is_a_point_at_its_best_frame() -> None:
    (obs,) = group(frames((20.0, (crack(confidence=0.5),)), (20.5, (crack(confidence=0.9),))))
    assert obs.chainage_start_m == 21.5 and obs.chainage_end_m is None and obs.best_frame_id == "f20.50"


def test_order_duplicates_and_a_missing_frame_change_nothing() -> None:
    seen = frames(*[(10 + 0.5 * i, (crack(),)) for i in range(8) if i != 3])  # the frame at 11.5 m is lost
    expected = group(seen)
    shuffled = seen + seen[:3]
    random.Random(3).shuffle(shuffled)
    assert group(shuffled) == expected and len(expected) == 1


def test_two_cracks_apart_in_chainage_or_clock_are_two_observations() -> None:
    seen = frames((10.0, (crack((1, 2)),)), (10.5, (crack((1, 2)), crack((7, 8)))), (15.0, (crack((1, 2)),)))
    found = [(o.chainage_start_m, o.clock_from) for o in group(seen, min_frames=1)]
    assert found == [(11.0, 1), (11.5, 7), (16.0, 1)]


def test_a_detection_in_a_single_frame_is_noise_but_a_blind_frame_is_not() -> None:
    blind = Detection("BDG", 12, 12, None, 0.9, "Z")
    found = group(frames((10.0, (crack(),)), (20.0, (blind,))))
    assert [o.code for o in found] == ["BDG"]


def test_a_wide_false_sighting_does_not_swallow_a_crack_beside_it() -> None:
    seen = frames((9.5, (crack((8, 12)),)), (10.0, (crack((8, 12)), crack((1, 2)))), (10.5, (crack((1, 2)),)))
    found = [(o.clock_from, o.clock_to, o.frames) for o in group(seen)]
    assert sorted(found) == [(1, 2, 2), (8, 12, 2)]


def test_the_water_level_starts_a_new_observation_when_it_moves() -> None:
    level = lambda pct: Detection("BDD", 4, 8, pct, 0.9)  # noqa: E731
    seen = frames(*[(float(c), (level(pct),)) for c, pct in [(0, 20), (1, 22), (2, 19), (3, 45), (4, 47)]])
    found = [(o.chainage_start_m, o.chainage_end_m, o.quantification) for o in group(seen)]
    assert found == [(1.0, 3.0, 20.0), (4.0, 5.0, 46.0)]


def test_a_crack_seen_in_pieces_is_not_complex_and_clock_spans_cross_twelve() -> None:
    """Issue 21, item 6: a longitudinal piece in one frame and a circumferential one in the next tied and read
    as complex (grade 4, a critical alert). A tie goes to the surer sighting, then to the least severe."""
    (obs,) = group(frames((5.0, (crack((11, 12), letter="A"),)), (5.5, (crack((12, 1), letter="B"),))))
    assert obs.characterisation == "A" and (obs.clock_from, obs.clock_to) == (11, 1)
    assert grade("BAB", obs.quantification, obs.characterisation) < 4
    surer = Detection("BAB", 12, 1, 0.5, 0.95, "B")
    (obs,) = group(frames((5.0, (crack((11, 12), letter="A"),)), (5.5, (surer,))))
    assert obs.characterisation == "B"
    read_complex = frames(*[(5.0 + 0.5 * i, (crack(letter=letter),)) for i, letter in enumerate("CAC")])
    assert group(read_complex)[0].characterisation == "C"  # what the frames read most is said
    assert _clock_span({11, 12, 1, 2}) == (11, 2) and _clock_span({3}) == (3, 3)


def standing(code: str, clock: tuple[int, int] = (2, 4), share: float = 8.0) -> Detection:
    return Detection(code, clock[0], clock[1], share, 0.8)


def test_one_thing_read_differently_frame_by_frame_is_one_observation_of_the_majority_code() -> None:
    seen = frames((20.0, (standing("BBE"),)), (20.5, (standing("BBA"),)), (21.0, (standing("BBE"),)))
    (obs,) = group(seen)
    assert (obs.code, obs.frames, obs.quantification) == ("BBE", 3, 8.0)


def test_what_stands_out_over_more_than_two_metres_is_attached_deposits() -> None:
    # the start of a long crust has a near face like an obstacle's: frame by frame it reads as one
    seen = frames(*[(20.0 + 0.5 * i, (standing("BBE" if i < 4 else "BBB", share=20.0 - i),)) for i in range(6)])
    (obs,) = group(seen)
    assert (obs.code, obs.chainage_start_m, obs.chainage_end_m) == ("BBB", 21.0, 23.5)
    assert obs.quantification == 15.5  # the median of the estimates of the frames that read it as such


def test_a_deformation_seen_at_joints_two_metres_apart_is_one_observation() -> None:
    squeezed = Detection("BAA", 12, 12, 12.0, 0.9, "A")
    seen = frames((9.0, (squeezed,)), (9.5, (squeezed,)), (11.0, (squeezed,)), (11.5, (squeezed,)))
    (obs,) = group(seen)
    assert (obs.code, obs.chainage_start_m, obs.chainage_end_m) == ("BAA", 10.0, 12.5)


def test_an_observation_is_provisional_while_the_drone_is_over_it() -> None:
    """Seen on `./lab run` (issue 19, item 16): a crack read "L" in one frame and "C" in the next tied as
    complex (grade 4, a critical alert; since issue 21 a tie is no longer complex) and read "L" (grade 2,
    retracted) a frame later. What the drone is
    still over may change with the next frame: it is settled only once the drone is more than the gap past
    it (a later frame closes its group), or the mission has ended."""
    over = frames((5.0, (crack(letter="A"),)), (5.5, (crack(letter="C"),)))
    (tie,) = group(over)
    assert tie.characterisation == "A" and not tie.settled  # a tie is not complex, and not yet said
    third = [*over, *frames((6.0, (crack(letter="A"),)))]
    (read,) = group(third)
    assert read.characterisation == "A" and not read.settled
    past = [*third, *frames((7.0, ()), (7.5, ()))]  # 8.5 m ahead vs its last at 7.0 m: 1.5 m > GAP_M
    (done,) = group(past)
    assert done.characterisation == "A" and done.settled and done == group(past + third)[0]
    assert not group(past[:-1])[0].settled  # 8.0 m: 1.0 m past it, within the gap: it may still grow
    assert group(third, ended=True)[0].settled  # the mission is over: nothing more will come


def test_an_intrusion_is_settled_only_once_its_code_cannot_change() -> None:
    """The other flap of item 16: an obstacle (BBE) seen over 2 m becomes attached deposits (BBB)."""
    seen = frames(*[(20.0 + 0.5 * i, (standing("BBE", share=15.0),)) for i in range(5)])
    (early,) = group(seen[:3])
    assert (early.code, early.settled) == ("BBE", False)
    (long,) = group(seen)
    assert (long.code, long.settled) == ("BBB", False)
    (passed,) = group([*seen, *frames((23.5, ()))])
    assert (passed.code, passed.settled) == ("BBB", True)


def test_a_deformation_waits_for_its_longer_gap() -> None:
    squeezed = Detection("BAA", 12, 12, 12.0, 0.9, "A")
    seen = frames((9.0, (squeezed,)), (9.5, (squeezed,)), (12.0, ()))
    assert not group(seen)[0].settled  # 2.5 m past: a joint 2.6 m on may still show it
    assert group([*seen, *frames((12.5, ()))])[0].settled


def test_nothing_is_placed_past_the_inspected_length() -> None:
    """Issue 21, item 6: a frame's detections are placed a metre ahead of it; at the pipe's end that metre
    is past the downstream manhole, and an observation ended past the inspected length."""
    seen = frames(*[(58.0 + 0.5 * i, (crack(),)) for i in range(5)])  # the drone's last frames, 58-60 m
    (free,) = group(seen, ended=True)
    assert free.chainage_end_m == 61.0  # before: a crack ending a metre past the 60 m pipe
    (held,) = group(seen, ended=True, inspected_m=60.0)
    assert (held.chainage_start_m, held.chainage_end_m) == (59.0, 60.0)
    (short,) = group(frames((59.5, (crack(),)), (60.0, (crack(),))), ended=True, inspected_m=60.0)
    assert short.chainage_start_m <= 60.0 and short.chainage_end_m is None
