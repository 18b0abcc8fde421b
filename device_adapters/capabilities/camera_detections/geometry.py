"""Where a snapshot lies in its camera's frame: what ``CameraEvent.snapshot_box`` means.

A snapshot is the whole frame, or a crop around an object as Frigate cuts its MQTT snapshots (the rule
every camera family that sends crops follows: its events carry the object's ``snapshot_box``, and this
module places the crop in the frame). The privacy masks (``core/privacy_masks.py``, ingest) and the privacy
copy (``services/evidence``) map masks and boxes into the crop with it. Pure arithmetic.
"""

from __future__ import annotations

SNAPSHOT_MODEL_SIZE = 300  # calculate_region's smallest region for MQTT snapshots (frigate/util/image.py)
SNAPSHOT_MULTIPLIER = 1.1


def snapshot_region(frame_width: int, frame_height: int, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The part of the detect frame a cropped MQTT snapshot shows, as Frigate computes it
    (``get_snapshot_bytes`` -> ``calculate_region(frame_shape, *snapshot.box, 300, multiplier=1.1)``: a
    square of the box's longest side x 1.1, rounded down to a multiple of 4 and at least 300 px, centred on
    the box and pushed back inside the frame; the slice then stops at the frame's edge). The snapshot is
    that region resized to the configured height, aspect kept."""
    x1, y1, x2, y2 = box
    size = max(int((max(x2 - x1, y2 - y1) * SNAPSHOT_MULTIPLIER) // 4 * 4), SNAPSHOT_MODEL_SIZE)
    x_offset = int((x2 - x1) / 2.0 + x1 - size / 2.0)
    x_offset = 0 if x_offset < 0 else min(x_offset, max(0, frame_width - size))
    y_offset = int((y2 - y1) / 2.0 + y1 - size / 2.0)
    y_offset = 0 if y_offset < 0 else min(y_offset, max(0, frame_height - size))
    return x_offset, y_offset, min(x_offset + size, frame_width), min(y_offset + size, frame_height)
