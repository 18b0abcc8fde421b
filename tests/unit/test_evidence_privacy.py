"""Privacy copies of snapshots (services/evidence/privacy.py), with real OpenCV on generated images: the
pixels inside a person box and a mask change, outside they do not; the Haar cascades load and run."""

from __future__ import annotations

import cv2
import numpy as np

from services.evidence.privacy import CASCADES, black_out, blur_boxes, encode_copy, find, privacy_copy


def scene(seed: int = 1) -> np.ndarray:
    """A street-like frame with detail everywhere (blurring a flat area would change nothing)."""
    rng = np.random.default_rng(seed)
    image = cv2.GaussianBlur(rng.integers(0, 256, (360, 640, 3), dtype=np.uint8), (0, 0), 1.0)
    cv2.rectangle(image, (420, 120), (470, 300), (40, 40, 200), -1)  # someone in a red coat
    cv2.putText(image, "AB-123-CD", (100, 330), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
    return image


def outside(mask_shape: tuple[int, int], *rects: tuple[int, int, int, int]) -> np.ndarray:
    keep = np.ones(mask_shape, bool)
    for x1, y1, x2, y2 in rects:
        keep[y1:y2, x1:x2] = False
    return keep


def test_inside_a_person_box_changes_outside_stays_exactly() -> None:
    original = scene()
    person = (410, 110, 480, 310)
    copy = blur_boxes(original, [person], pad=0.0)
    x1, y1, x2, y2 = person
    inside = np.abs(copy[y1:y2, x1:x2].astype(int) - original[y1:y2, x1:x2].astype(int)).mean()
    assert inside > 10, inside  # the detail is gone
    keep = outside(original.shape[:2], person)
    assert np.array_equal(copy[keep], original[keep])


def test_a_privacy_mask_is_black_in_the_copy_and_nothing_else_changes() -> None:
    original = scene(2)
    window = [(0.0, 0.0), (0.25, 0.0), (0.25, 0.3), (0.0, 0.3)]  # a private window, top left
    copy = black_out(original, [window])
    assert copy[:100, :155].max() == 0
    keep = outside(original.shape[:2], (0, 0, 161, 109))
    assert np.array_equal(copy[keep], original[keep])


def test_the_copy_keeps_the_untouched_pixels_through_its_encoding() -> None:
    original = scene(3)
    copy, report = privacy_copy(original, boxes=[(410, 110, 480, 310)], masks=[[(0.9, 0.9), (1, 0.9), (1, 1)]])
    decoded = cv2.imdecode(np.frombuffer(encode_copy(copy), np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(decoded, copy)  # lossless: a pixel comparison with the original shows what changed
    assert report.boxes == 1 and report.masked == 1 and set(report.found) == set(CASCADES)


def drawn_face(size: int = 180) -> np.ndarray:
    """A face drawn with OpenCV (skin, eyes, brows, nose, mouth): enough for the frontal-face cascade to
    find it from about 140 px high (a generated image, no photo of anyone)."""
    image = np.full((360, 640, 3), 90, np.uint8)
    cx, cy, k = 320, 180, size / 160
    cv2.ellipse(image, (cx, cy), (int(60 * k), int(80 * k)), 0, 0, 360, (150, 180, 220), -1)
    for dx in (-25, 25):
        cv2.ellipse(image, (cx + int(dx * k), cy - int(15 * k)), (int(12 * k), int(6 * k)), 0, 0, 360, (40, 40, 40), -1)
        brow = ((cx + int((dx - 14) * k), cy - int(30 * k)), (cx + int((dx + 14) * k), cy - int(32 * k)))
        cv2.line(image, *brow, (30, 30, 30), int(4 * k))
    cv2.line(image, (cx, cy - int(5 * k)), (cx - int(6 * k), cy + int(20 * k)), (110, 130, 170), int(3 * k))
    cv2.ellipse(image, (cx, cy + int(40 * k)), (int(22 * k), int(8 * k)), 0, 0, 360, (60, 60, 140), -1)
    return cv2.GaussianBlur(image, (0, 0), 1.5)


def test_a_face_no_box_covered_is_found_and_blurred_and_no_longer_found() -> None:
    original = drawn_face()
    (face,) = find(original, "face")
    assert 200 <= (face[0] + face[2]) / 2 <= 440  # around the drawn face
    copy, report = privacy_copy(original)
    assert report.found["face"] == [face]
    assert find(copy, "face") == []  # what the copy shows is no longer a face to the detector either
    x1, y1, x2, y2 = face
    assert not np.array_equal(copy[y1:y2, x1:x2], original[y1:y2, x1:x2])
    assert np.array_equal(copy[:, :150], original[:, :150])  # far from it: untouched


def test_a_face_in_a_twelve_megapixel_image_is_found_through_the_scaled_down_look() -> None:
    """The largest image a camera may send is looked at scaled down (the cascades' cost is bounded): a face
    there is still found, in the full image's pixels, and blurred."""
    # a street-like gradient (a flat grey this size makes histogram equalisation wash the drawn face out)
    x = np.linspace(0, 255, 4096, dtype=np.float32)[None, :, None]
    big = np.broadcast_to(x, (2304, 4096, 3)).astype(np.uint8).copy()
    k = 4096 / 1920  # the face drawn where the scaled-down look sees it at the size it is drawn for
    big[1000 : 1000 + round(360 * k), 2000 : 2000 + round(640 * k)] = cv2.resize(
        drawn_face(180), (round(640 * k), round(360 * k)), interpolation=cv2.INTER_CUBIC
    )
    (found,) = find(big, "face")
    assert 2000 + 200 * k <= (found[0] + found[2]) / 2 <= 2000 + 440 * k  # where it is, in full-size pixels
    assert found[3] - found[1] > 150 * k
    copy, report = privacy_copy(big)
    assert report.found["face"] == [found] and find(copy, "face") == []


def test_a_face_the_blur_left_recognisable_is_filled_flat(monkeypatch) -> None:
    """The copy is checked: were the blur ever too weak for a face (here: no blur at all), the cascade still
    finds it there, and the region is filled with its mean colour."""
    import services.evidence.privacy as privacy

    monkeypatch.setattr(privacy, "blur_boxes", lambda image, boxes, pad=0.0: image.copy())
    original = drawn_face()
    copy, report = privacy.privacy_copy(original)
    (face,) = report.found["face"]
    assert find(copy, "face") == []
    x1, y1, x2, y2 = face
    assert len(np.unique(copy[y1:y2, x1:x2].reshape(-1, 3), axis=0)) == 1  # one flat colour
    assert np.array_equal(copy[:, :150], original[:, :150])
