"""The privacy copy's plan fails closed (issue 19, item 3): a picture of a person or vehicle whose box cannot be
placed is blurred whole, whatever the boxes a gateway sends (outside the frame, slivers, another label's);
a copy made again keeps what the previous one hid. Pure functions, property-based with bounded examples, and
the blur checked by pixels (Laplacian variance)."""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from services.evidence.copies import PRIVATE_LABELS, Plan, context_plan, mostly_inside
from services.evidence.privacy import privacy_copy

sizes = st.tuples(st.integers(32, 1920), st.integers(32, 1080))
coords = st.integers(-3000, 5000)
boxes = st.tuples(coords, coords, coords, coords).map(
    lambda b: (min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3]))
)
labels = st.sampled_from([*PRIVATE_LABELS, "couch", "bag", "cat"])


@settings(max_examples=200, deadline=None)
@given(size=sizes, label=st.sampled_from(PRIVATE_LABELS), found=st.lists(st.tuples(labels, boxes), max_size=6))
def test_a_private_subject_is_blurred_whole_unless_its_box_is_placed(size, label, found) -> None:
    blurred, whole = context_plan(label, True, found, size)
    placed = any(other == label and mostly_inside(b, size) for other, b in found)
    assert whole is not placed
    for b in blurred:  # every box kept is inside the image and not empty
        assert 0 <= b[0] < b[2] <= size[0] and 0 <= b[1] < b[3] <= size[1]
    if placed:  # the subject's box, clipped, is among those blurred
        subject = next(b for other, b in found if other == label and mostly_inside(b, size))
        clip = (max(0, subject[0]), max(0, subject[1]), min(size[0], subject[2]), min(size[1], subject[3]))
        assert clip in blurred


@settings(max_examples=100, deadline=None)
@given(size=sizes, label=st.one_of(st.none(), labels), found=st.lists(st.tuples(labels, boxes), max_size=4))
def test_an_image_that_cannot_be_placed_or_whose_subject_is_unknown_fails_closed(size, label, found) -> None:
    _, whole = context_plan(label, False, found, size)
    assert whole is (label is None or label in PRIVATE_LABELS or bool(found))
    _, whole = context_plan(None, True, found, size)
    assert whole  # a snapshot naming an event that is not stored: nothing says what it shows


def test_boxes_outside_the_frame_or_slivers_do_not_place_a_person() -> None:
    size = (640, 480)
    for box in ((700, 500, 800, 600), (-200, -200, -1, -1), (630, 0, 900, 480), (0, 0, 1, 480), (10, 10, 10, 200)):
        assert context_plan("person", True, [("person", box)], size)[1], box
    assert context_plan("person", True, [("car", (100, 100, 300, 300))], size)[1]  # another label's box
    assert not context_plan("person", True, [("person", (100, 100, 300, 300))], size)[1]


@settings(max_examples=50, deadline=None)
@given(
    size=sizes,
    old=st.lists(boxes, max_size=4),
    new=st.lists(boxes, max_size=4),
    old_whole=st.booleans(),
    new_whole=st.booleans(),
)
def test_a_copy_made_again_keeps_what_the_previous_one_hid(size, old, new, old_whole, new_whole) -> None:
    previous = Plan(size, frozenset(old), frozenset({((0.0, 0.0), (0.5, 0.0), (0.5, 0.5))}), old_whole)
    assert Plan.from_json(previous.to_json()) == previous
    merged = Plan(size, frozenset(new), whole=new_whole).merged(previous)
    assert merged.boxes >= previous.boxes | frozenset(new) and merged.masks >= previous.masks
    assert merged.whole is new_whole  # a subject placed since lifts the whole-image blur, never a box
    assert (merged == previous) is (frozenset(new) <= previous.boxes and new_whole is old_whole)
    other = Plan((size[0] + 1, size[1]), frozenset(new))
    assert other.merged(previous) == other  # another size: another image, nothing carried over


def sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


@settings(max_examples=12, deadline=None)
@given(width=st.integers(64, 900), height=st.integers(64, 700), seed=st.integers(0, 2**16))
def test_an_image_blurred_whole_loses_its_detail(width, height, seed) -> None:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    for x in range(0, width, 6):  # a striped figure everywhere: detail a blur must remove
        image[:, x : x + 2] = 20
    plan = Plan((width, height), whole=True)
    copy, _ = privacy_copy(image, boxes=plan.blurred())
    assert sharpness(copy) < 0.05 * sharpness(image)
