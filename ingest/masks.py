"""Privacy masks applied before an image is stored (docs/incidents.md): a device's masks are blacked out
of every image it sends, so no stored copy (the original police see included) shows a private window.

The masks are read whole at the start of every batch (one row per masked camera: a fraction of a
millisecond): a mask takes effect from the next batch on. (A cache with a time to live let the first
images after a new mask through unmasked: seen in tests/integration/test_evidence.py.) A device without
masks costs a dict lookup. A masked image is decoded and encoded again (tens of milliseconds for a
full-HD frame); its hash changes, and the records that name it are rewritten to the new one. An image of a
masked camera that cannot be placed in the camera's frame (a Frigate crop of an object whose snapshot box
is unknown) is blacked out whole: what the mask hides must never be stored, and the loss is logged.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import psycopg

from core.privacy_masks import WHOLE_FRAME, all_masks, image_region
from device_adapters.contract import Decoded, MediaBlob
from device_adapters.masking import WHOLE_IMAGE, Point, mask_jpeg, polygons_in

logger = logging.getLogger(__name__)


class MaskDirectory:
    def __init__(self) -> None:
        self._masks: dict[str, list[list[Point]]] = {}
        self.masked = 0  # images masked
        self.blanked = 0  # images of a masked camera that could not be placed: blacked out whole

    def load(self, conn: psycopg.Connection[Any]) -> None:
        """Read every device's masks (at the start of each batch)."""
        self._masks = all_masks(conn)

    def apply(self, conn: psycopg.Connection[Any], decoded: Decoded) -> Decoded:
        masks = self._masks.get(decoded.device_id)
        if not masks or not any(isinstance(r, MediaBlob) for r in decoded.records):
            return decoded
        renamed: dict[str, str] = {}
        records: list[Any] = []
        for record in decoded.records:
            if isinstance(record, MediaBlob) and record.content_type == "image/jpeg":
                masked = mask_jpeg(record, self._placed(conn, decoded, record, masks))
                renamed[record.sha256] = masked.sha256
                self.masked += 1
                record = masked
            records.append(record)
        return dataclasses.replace(
            decoded,
            records=tuple(
                dataclasses.replace(r, media_sha256=renamed[r.media_sha256])
                if getattr(r, "media_sha256", None) in renamed
                else r
                for r in records
            ),
        )

    def _placed(
        self, conn: psycopg.Connection[Any], decoded: Decoded, blob: MediaBlob, masks: list[list[Point]]
    ) -> list[list[Point]]:
        """The masks in the image's own fractions."""
        label = next((getattr(r, "label", None) for r in decoded.records if hasattr(r, "media_sha256")), None)
        region, frame = image_region(conn, decoded.device_id, label, (blob.width or 1, blob.height or 1))
        if region == WHOLE_FRAME:
            return masks
        if region is None or frame is None:
            self.blanked += 1
            logger.warning(
                "image of a masked camera not placed in its frame: blacked out whole (a gateway's camera: map it "
                "with its detect size, tlab devices map-camera ... --detect WxH)",
                extra={"device_id": decoded.device_id, "label": label, "sha256": blob.sha256},
            )
            return [list(WHOLE_IMAGE)]
        return polygons_in(region, frame, masks)
