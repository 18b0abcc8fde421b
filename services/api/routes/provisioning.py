"""Device provisioning over HTTP (admin only): issue, rotate and revoke MQTT credentials.

The API writes the registry only: each change notifies the broker files' one owner through the database
(``tlab broker-credentials``, beside the broker; core/broker_credentials.py), which rewrites them and makes
the broker reload, so this works the same when the API runs on another host. An answer that issues,
rotates or revokes credentials comes once the broker has taken the change (the owner confirms each reload
with a login, core/broker_credentials.py), at most TLAB_MQTT_CREDENTIALS_WAIT_S later: ``broker: ready``
(the ``Broker-Credentials`` header on a revocation), or ``pending`` when it has not confirmed by then
(no owner running, the broker down): the change is stored and reaches the broker when it can.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, HTTPException, Path, Response
from pydantic import BaseModel, Field, JsonValue, field_validator

from core.broker_credentials import wait_applied
from core.device_registry import Credentials, RegistryError, provision, revoke, rotate, set_labels
from core.geo import Position
from core.privacy_masks import masks_of, set_masks
from core.settings import Settings
from device_adapters.masking import MAX_POINTS, MAX_POLYGONS
from device_adapters.registry import ADAPTERS
from device_adapters.validation import DEVICE_ID
from services.alerts.rules import LabelKey, LabelValue
from services.api.deps import ConnDep, SettingsDep
from services.api.schemas import ErrorMessage, PositionIn, Text

router = APIRouter(prefix="/devices", tags=["provisioning"])
FAMILIES = sorted(a.family for a in ADAPTERS.values())
_FAMILY_ENUM: list[JsonValue] = [*FAMILIES]  # the schema lists the families the registry knows today
DeviceId = Annotated[str, Path(pattern=DEVICE_ID.pattern)]
Labels = dict[LabelKey, LabelValue]
LABELS_HELP = "key = value pairs (a garden, a sewer sector) that alert rules and silences select on."


class LabelsRequest(BaseModel):
    model_config = {"extra": "forbid"}
    labels: Labels = Field(max_length=20, description=LABELS_HELP)


class ProvisionRequest(BaseModel):
    model_config = {"extra": "forbid"}
    device_id: str = Field(pattern=DEVICE_ID.pattern)
    family: str = Field(json_schema_extra={"enum": _FAMILY_ENUM}, description="A registered device family.")
    pilot: Text | None = Field(None, max_length=100)
    location: Text | None = Field(None, max_length=200)
    description: Text | None = Field(None, max_length=2000)
    labels: Labels = Field(default_factory=dict, max_length=20, description=LABELS_HELP)
    position: PositionIn | None = Field(None, description="Where it is (WGS 84); also PUT …/position later.")

    @field_validator("family")
    @classmethod
    def _known_family(cls, value: str) -> str:
        if value not in FAMILIES:
            raise ValueError(f"unknown family {value!r} (known: {', '.join(FAMILIES)})")
        return value


BrokerState = Literal["ready", "pending"]
BROKER_HEADER = "Broker-Credentials"


class DeviceCredentials(BaseModel):
    device_id: str
    family: str
    mqtt_username: str
    mqtt_password: str = Field(description="Shown once: only its hash is stored.")
    publish_topics: str
    broker: BrokerState = Field(
        description="`ready`: the broker has taken these credentials, the device can log in now. `pending`: it "
        "had not confirmed within TLAB_MQTT_CREDENTIALS_WAIT_S (the change is stored and reaches it when it can)."
    )


def _broker_state(conn: psycopg.Connection[Any], settings: Settings, generation: int) -> BrokerState:
    """Wait (bounded) until the broker has the registry's ``generation``: its files rewritten and reloaded."""
    return "ready" if wait_applied(conn, generation, settings.mqtt_credentials_wait_s) else "pending"


def _answer(creds: Credentials, broker: BrokerState) -> DeviceCredentials:
    return DeviceCredentials(
        device_id=creds.device_id,
        family=creds.family,
        mqtt_username=creds.username,
        mqtt_password=creds.password,
        publish_topics=f"{creds.family}/{creds.device_id}/#",
        broker=broker,
    )


@router.post(
    "",
    status_code=201,
    summary="Register a device and issue its MQTT credentials",
    responses={409: {"model": ErrorMessage, "description": "The device already has credentials (rotate them)"}},
)
def post_device(conn: ConnDep, settings: SettingsDep, request: ProvisionRequest) -> DeviceCredentials:
    try:
        creds = provision(
            conn,
            request.device_id,
            request.family,
            pilot=request.pilot,
            location=request.location,
            description=request.description,
            labels=request.labels,
            position=Position(request.position.lat, request.position.lon) if request.position else None,
        )
    except RegistryError as exc:
        raise HTTPException(409, str(exc)) from exc
    return _answer(creds, _broker_state(conn, settings, creds.generation))


@router.post("/{device_id}/credentials", summary="Rotate a device's MQTT password (the old one stops working)")
def rotate_credentials(conn: ConnDep, settings: SettingsDep, device_id: DeviceId) -> DeviceCredentials:
    try:
        creds = rotate(conn, device_id)
    except RegistryError as exc:
        raise HTTPException(404, str(exc)) from exc
    return _answer(creds, _broker_state(conn, settings, creds.generation))


@router.delete(
    "/{device_id}/credentials",
    status_code=204,
    summary="Revoke a device: the broker refuses it",
    responses={
        204: {
            "description": "Revoked. Header `Broker-Credentials`: `ready` (the broker refuses the device now) or "
            "`pending` (not confirmed within TLAB_MQTT_CREDENTIALS_WAIT_S)",
            "headers": {BROKER_HEADER: {"schema": {"type": "string", "enum": ["ready", "pending"]}}},
        }
    },
)
def revoke_credentials(conn: ConnDep, settings: SettingsDep, device_id: DeviceId) -> Response:
    try:
        generation = revoke(conn, device_id)
    except RegistryError as exc:
        raise HTTPException(404, str(exc)) from exc
    return Response(status_code=204, headers={BROKER_HEADER: _broker_state(conn, settings, generation)})


@router.put(
    "/{device_id}/labels",
    summary="Replace a device's labels",
    responses={404: {"model": ErrorMessage, "description": "No such device"}},
)
def put_labels(conn: ConnDep, device_id: DeviceId, request: LabelsRequest) -> LabelsRequest:
    if not set_labels(conn, device_id, request.labels):
        raise HTTPException(404, f"device {device_id!r} not found")
    return request


Point = Annotated[list[Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]], Field(min_length=2, max_length=2)]


class PrivacyMasks(BaseModel):
    model_config = {"extra": "forbid"}
    polygons: list[Annotated[list[Point], Field(min_length=3, max_length=MAX_POINTS)]] = Field(
        max_length=MAX_POLYGONS,
        description="Polygons over what the camera must not show (a neighbour's window, a garden), as [x, y] "
        "points in fractions of the frame (Frigate's mask coordinates). Blacked out of every image the device "
        "sends from now on, before it is stored. An empty list removes them.",
    )


@router.get(
    "/{device_id}/privacy-masks",
    summary="A device's privacy masks",
    responses={404: {"model": ErrorMessage, "description": "No such device"}},
)
def get_privacy_masks(conn: ConnDep, device_id: DeviceId) -> PrivacyMasks:
    if not conn.execute("SELECT 1 FROM devices WHERE device_id = %s", (device_id,)).fetchone():
        raise HTTPException(404, f"device {device_id!r} not found")
    return PrivacyMasks(polygons=[[list(p) for p in polygon] for polygon in masks_of(conn, device_id)])


@router.put(
    "/{device_id}/privacy-masks",
    summary="Replace a device's privacy masks",
    responses={404: {"model": ErrorMessage, "description": "No such device"}},
)
def put_privacy_masks(conn: ConnDep, device_id: DeviceId, request: PrivacyMasks) -> PrivacyMasks:
    try:
        set_masks(conn, device_id, request.polygons)
    except LookupError as exc:
        raise HTTPException(404, f"device {device_id!r} not found") from exc
    return get_privacy_masks(conn, device_id)
