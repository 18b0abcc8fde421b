"""Privacy masks applied before an image is stored (docs/incidents.md): a device's masks are blacked out
of every image it sends, so no stored copy (the original police see included) shows a private window.

The masks are read whole at the start of every batch (one row per masked camera: a fraction of a
millisecond): a mask takes effect from the next batch on. (A cache with a time to live let the first
images after a new mask through unmasked: seen in tests/integration/test_evidence.py.) A device without
masks costs a dict lookup. A masked image is decoded and encoded again (tens of milliseconds for a
full-HD frame); its hash changes, and the records that name it are rewritten to the new one. An image of a
masked camera that cannot be placed in the camera's frame (a Frigate crop of an object whose snapshot box
is unknown) is blacked out whole: what the mask hides must never be stored, and the loss is logged.

Dead letters too (issue 19 item 4b): a masked camera's refused image (retained, a foreign event, a time in the
future) is kept masked, as it would have been stored (so a replay stores what would have been stored anyway);
a payload of such a camera that cannot be masked (not a decodable JPEG, an image in a text payload, a
gateway's image whose camera is unknown) is not kept at all: its size and hash are.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import psycopg

from core.privacy_masks import WHOLE_FRAME, all_masks, image_region
from device_adapters.contract import Decoded, MediaBlob, Rejection
from device_adapters.masking import WHOLE_IMAGE, Point, mask_jpeg, polygons_in
from device_adapters.validation import JPEG_SOI, jpeg_blob

logger = logging.getLogger(__name__)


BASE64_JPEG = b"/9j/"  # how every JPEG starts once base64-encoded (FF D8 FF)


@dataclass(frozen=True)
class KeptPayload:
    """What a dead letter keeps of a masked camera's payload: ``data`` (masked, or nothing), the size and
    SHA-256 it describes, and what was done, for the letter's reason."""

    data: bytes
    size: int
    sha256: str
    note: str


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

    def has_masks(self, device_id: str | None) -> bool:
        return device_id is not None and bool(self._masks.get(device_id))

    def for_letter(
        self,
        conn: psycopg.Connection[Any],
        payload: bytes,
        family: str | None,
        device_id: str | None,
        decoded: Decoded | None,
    ) -> KeptPayload | None:
        """What a dead letter of ``device_id`` (the topic's device, or a gateway) may keep of ``payload``;
        None: the payload as it is (no masks apply, or no pixels in it). ``decoded``: the message's records
        when it was decoded (their images already masked)."""
        if not self._masks:
            return None
        cameras = [device_id] if device_id else []
        if decoded is not None:
            cameras.append(decoded.device_id)
        behind = _cameras_behind(conn, device_id) if device_id else []
        if not any(self.has_masks(c) for c in [*cameras, *behind]):
            return None
        if not payload.startswith(JPEG_SOI):
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError:
                return self._withheld(payload, "a payload that is not text and not a JPEG")
            if BASE64_JPEG in payload:
                return self._withheld(payload, "a text payload that may carry an image")
            return None
        blobs = [r for r in decoded.records if isinstance(r, MediaBlob)] if decoded is not None else []
        if len(blobs) == 1:  # the message's own image, masked when it was decoded
            return _kept(blobs[0].data, "the image kept with the camera's privacy masks applied")
        try:
            blob = jpeg_blob(payload)
        except Rejection:
            return self._withheld(payload, "an image that cannot be decoded to apply them")
        if behind and not self.has_masks(device_id):  # a gateway's image: whose camera is unknown here
            self.blanked += 1
            return _kept(mask_jpeg(blob, [list(WHOLE_IMAGE)]).data, "a gateway's image of a masked camera kept black")
        own = self.apply(conn, Decoded(family or "", device_id or "", (blob,)))
        return _kept(own.records[0].data, "the image kept with the camera's privacy masks applied")

    @staticmethod
    def _withheld(payload: bytes, what: str) -> KeptPayload:
        return KeptPayload(
            b"",
            len(payload),
            hashlib.sha256(payload).hexdigest(),
            f"payload not kept: the camera has privacy masks and this is {what}",
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


def _kept(data: bytes, note: str) -> KeptPayload:
    return KeptPayload(data, len(data), hashlib.sha256(data).hexdigest(), note)


def _cameras_behind(conn: psycopg.Connection[Any], device_id: str) -> list[str]:
    """The cameras a gateway speaks for (none for a camera): only read for dead letters of masked fleets."""
    rows = conn.execute("SELECT device_id FROM gateway_cameras WHERE gateway_id = %s", (device_id,)).fetchall()
    return [r["device_id"] for r in rows]
