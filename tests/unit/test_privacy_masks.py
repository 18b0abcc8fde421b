"""Privacy masks and Frigate's snapshot crop, as pure functions (docs/incidents.md)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from core.settings import Settings
from device_adapters.capabilities.camera_detections.geometry import snapshot_region
from device_adapters.masking import MaskError, black_out, mask_jpeg, parse_polygon, polygons_in
from device_adapters.validation import jpeg_blob
from services.evidence.copies import _to_image


def test_frigate_crop_is_calculate_region_with_its_snapshot_arguments() -> None:
    # Frigate's calculate_region(frame_shape, *box, 300, multiplier=1.1), worked by hand:
    # longest side 151 x 1.1 = 166.1 -> 164 (multiple of 4) -> 300 (the minimum), centred on the box
    assert snapshot_region(1280, 720, (612, 388, 801, 540)) == (556, 314, 856, 614)
    # a large object: 500 x 1.1 = 550 -> 548; pushed back inside the frame at the right edge
    assert snapshot_region(1280, 720, (900, 100, 1270, 600)) == (732, 76, 1280, 624)
    # a frame smaller than the region: the slice stops at the frame's edges
    assert snapshot_region(320, 240, (10, 10, 50, 50)) == (0, 0, 300, 240)


def test_boxes_and_masks_follow_the_image_into_the_crop() -> None:
    region = (556, 314, 856, 614)  # 300 px square, shown at 270 px
    assert _to_image((612, 388, 801, 540), region, (1280, 720), (270, 270)) == (50, 67, 220, 203)
    assert _to_image((0, 0, 640, 360), None, (1280, 720), (640, 360)) == (0, 0, 320, 180)  # a resized frame
    assert _to_image((5, 6, 7, 8), None, None, (640, 360)) == (5, 6, 7, 8)  # a native camera's own pixels
    (polygon,) = polygons_in(region, (1280, 720), [[(0.5, 0.5), (0.6, 0.5), (0.6, 0.6)]])
    assert polygon[0] == pytest.approx(((640 - 556) / 300, (360 - 314) / 300))


def test_masks_parse_frigate_syntax_and_refuse_nonsense() -> None:
    assert parse_polygon("0,0,0.2,0,0.2,0.25") == ((0.0, 0.0), (0.2, 0.0), (0.2, 0.25))
    for bad, words in [("0,0,1,1", "3 to"), ("0,0,1,1,2,2", "0 to 1"), ("a,b,c", "numbers"),
                       ("0,0,1,1,1", "as many y")]:  # fmt: skip
        with pytest.raises(MaskError, match=words):
            parse_polygon(bad)


def test_a_masked_jpeg_is_black_inside_and_close_outside() -> None:
    image = np.full((120, 160, 3), 200, np.uint8)
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    blob = jpeg_blob(buf.tobytes())
    assert mask_jpeg(blob, []) is blob  # no masks: the very same bytes
    masked = mask_jpeg(blob, [[(0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (0.0, 0.5)]])
    assert masked.sha256 != blob.sha256 and (masked.width, masked.height) == (160, 120)
    decoded = cv2.imdecode(np.frombuffer(masked.data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded[5:55, 5:75].max() < 12 and abs(int(decoded[90:, 100:].mean()) - 200) < 3
    assert black_out(image, [[(-0.1, -0.1), (1.1, -0.1), (1.1, 1.1)]]).max(axis=2)[0].max() == 0  # clipped fill


def test_retention_above_thirty_days_is_refused_with_the_law() -> None:
    assert Settings(camera_retention_days=30).camera_retention_days == 30
    with pytest.raises(ValidationError, match="L.252-3"):
        Settings(camera_retention_days=31)
