"""What the API serves as files (images, CSV, a report, GeoJSON), fetched for the signed-in browser.

``GET /console/api/v1/<path>`` is the API's ``GET /v1/<path>`` made as the person (their session stands for
the bearer token an ``<img>`` or a download link cannot send): the same policy, narrowing and audit. The
console adds its own security headers: what comes back is shown, never run (services/console/app.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console.web import api_failed, signed_in

router = APIRouter()
PASSED_ON = ("content-type", "content-disposition", "etag", "last-modified")


@router.get("/api/v1/{path:path}")
async def api_file(request: Request, path: str) -> Response:
    person = await signed_in(request)
    if path.startswith("alerts/stream"):  # streamed: /console/alertes/flux relays it
        return Response("use /console/alertes/flux", status_code=404, media_type="text/plain")
    answer = await person.api.get(f"/v1/{path}", list(request.query_params.multi_items()))
    if not answer.ok and "application/json" in answer.headers.get("content-type", ""):
        return api_failed(request, person, answer)
    headers = {k: v for k, v in answer.headers.items() if k in PASSED_ON}
    return Response(answer.body, status_code=answer.status, headers=headers)
