"""Devices: where they are (a map), whether they are online, when they were last heard; provisioning for
admins (the device's MQTT password is shown once, as the API returns it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from device_adapters.registry import FAMILIES
from services.console.drawings import MapPoint, point_map
from services.console.web import api_failed, posted_form, render, signed_in

router = APIRouter()
MAP_STATE = {"online": "ok", "offline": "hors_ligne"}
DEVICE_STATES = {"ok": "En ligne", "hors_ligne": "Hors ligne", "inconnu": "État non signalé"}


def _points(devices: list[dict[str, Any]]) -> list[MapPoint]:
    return [
        MapPoint(
            id=d["device_id"],
            lat=d["position"]["lat"],
            lon=d["position"]["lon"],
            label=d["device_id"],
            state=MAP_STATE.get(d.get("status") or "", "inconnu"),
            href=None,
        )  # fmt: skip
        for d in devices
        if d.get("position")
    ]


async def _page(request: Request, person: Any, **extra: Any) -> Response:
    answer = await person.api.get("/v1/devices", {"limit": 500})
    if not answer.ok:
        return api_failed(request, person, answer)
    devices = answer.json()["items"]
    measured = await person.api.get("/v1/data-completeness")  # the last 24 hours, families with a cadence
    completeness = {c["device_id"]: c for c in measured.json()["devices"]} if measured.ok else {}
    return render(
        request, person, "appareils.html", active="appareils", devices=devices, completeness=completeness,
        map_svg=point_map("Appareils sur la carte", _points(devices), names=DEVICE_STATES),
        may_provision=person.may("POST", "/v1/devices"), families=[f.name for f in FAMILIES], **extra,
    )  # fmt: skip


@router.get("/appareils")
async def device_list(request: Request) -> Response:
    return await _page(request, await signed_in(request))


@router.post("/appareils")
async def provision(request: Request) -> Response:
    person, form = await posted_form(request)
    body: dict[str, Any] = {"device_id": form.get("device_id", "").strip(), "family": form.get("family", "")}
    for field in ("location", "description"):
        if form.get(field, "").strip():
            body[field] = form[field].strip()
    lat, lon = form.get("lat", "").strip().replace(",", "."), form.get("lon", "").strip().replace(",", ".")
    if lat or lon:
        try:
            body["position"] = {"lat": float(lat), "lon": float(lon)}
        except ValueError:
            return await _page(request, person, refused="Latitude et longitude : deux nombres (par ex. 50,53 et 2,64).")
    answer = await person.api.post("/v1/devices", body)
    if answer.status == 403:
        return api_failed(request, person, answer, back="/console/appareils")
    if not answer.ok:
        return await _page(request, person, refused=f"Appareil non créé : {answer.detail}")
    return await _page(request, person, issued=answer.json())
