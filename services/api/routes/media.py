"""Media download by content hash (frames, snapshots)."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from device_adapters.registry import FAMILIES
from services.api.deps import ConnDep, MediaDep, PrincipalDep, require_family_reader
from services.api.schemas import ErrorMessage, invalid

router = APIRouter(prefix="/media", tags=["media"])
PERSONAL = frozenset(family.name for family in FAMILIES if family.personal_images)
NON_PERSONAL_MAX_AGE_S = 86_400
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@router.get(
    "/{sha256}",
    summary="The bytes of a stored image, with its content type",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}, 410: {"model": ErrorMessage, "description": "File gone"}},
)
def get_media(conn: ConnDep, media: MediaDep, principal: PrincipalDep, request: Request, sha256: str) -> FileResponse:
    if not SHA256.fullmatch(sha256):
        raise invalid("path", "sha256", "sha256 must be 64 lowercase hexadecimal characters", sha256)
    row = conn.execute(
        "SELECT m.content_type, m.family, m.personal, c.copy_sha256 FROM media m "
        "LEFT JOIN evidence_copies c ON c.original_sha256 = m.sha256 WHERE m.sha256 = %s",
        (sha256,),
    ).fetchone()
    if row is None:
        raise HTTPException(404, f"no media {sha256}")
    require_family_reader(request, principal, row["family"])
    if row["personal"]:  # an original that shows people: police only, through its incident
        copy = (
            f"its privacy copy is /v1/media/{row['copy_sha256']}"
            if row["copy_sha256"]
            else "its privacy copy is not made yet"
        )
        raise HTTPException(
            403,
            f"media {sha256} is a camera original (personal data): {copy}; police view originals through the "
            "incident they are evidence of (GET /v1/incidents/{id}, original_url)",
        )
    path = media.open(sha256)
    if path is None:
        raise HTTPException(410, f"media {sha256} is registered but its file is gone (retention or loss)")
    return FileResponse(path, media_type=row["content_type"], headers={"Cache-Control": cache_control(row["family"])})


def cache_control(family: str | None) -> str:
    """How long a client may keep an image. A family's personal images (a camera's privacy copies) fall
    under its retention (30 days) and may be purged or re-made (a new mask, a new box) any day: no cache
    keeps them (``no-store``: not a browser's, not a shared one; they were ``immutable`` for a year).
    Other media are kept privately, for a day at most."""
    if family in PERSONAL:
        return "private, no-store"
    return f"private, max-age={NON_PERSONAL_MAX_AGE_S}"
