"""Ptipot' permaculture garden sensors. Contract: README.md beside this file."""

from __future__ import annotations

from pydantic import Field, model_validator

from device_adapters.contract import Decoded, InboundMessage, MetricSpec
from device_adapters.ptipot.records import GardenReading
from device_adapters.validation import (
    StrictPayload,
    Timestamp,
    check_time,
    device_id_from,
    parse_json,
    topic_parts,
    topic_pattern,
)

TABLE = GardenReading.table
METRICS = (
    MetricSpec("soil_vwc_pct", TABLE, "soil_vwc_pct", "%", "Soil volumetric water content", "Humidité du sol"),
    MetricSpec("soil_temp_c", TABLE, "soil_temp_c", "°C", "Soil temperature", "Température du sol"),
    MetricSpec("air_temp_c", TABLE, "air_temp_c", "°C", "Air temperature", "Température de l'air"),
    MetricSpec("air_rh_pct", TABLE, "air_rh_pct", "%", "Air relative humidity", "Humidité de l'air"),
    MetricSpec("light_lux", TABLE, "light_lux", "lx", "Illuminance", "Luminosité"),
    MetricSpec("rain_mm", TABLE, "rain_mm", "mm", "Rain since the previous reading", "Pluie"),
)


class GardenPayload(StrictPayload):
    ts: Timestamp
    soil_vwc_pct: float | None = Field(None, ge=0, le=100)
    soil_temp_c: float | None = Field(None, ge=-40, le=80)
    air_temp_c: float | None = Field(None, ge=-50, le=70)
    air_rh_pct: float | None = Field(None, ge=0, le=100)
    light_lux: float | None = Field(None, ge=0, le=200_000)
    rain_mm: float | None = Field(None, ge=0, le=500)

    @model_validator(mode="after")
    def _at_least_one_value(self) -> GardenPayload:
        if all(getattr(self, m.column) is None for m in METRICS):
            raise ValueError("at least one measurement is required")
        return self


SHAPE = "ptipot/<device_id>/readings"
TOPIC = topic_pattern(SHAPE)


class PtipotAdapter:
    family = "ptipot"
    topic_root = "ptipot"
    topic_shapes: tuple[str, ...] = (SHAPE,)
    metrics: tuple[MetricSpec, ...] = METRICS

    def decode(self, message: InboundMessage) -> Decoded:
        match = TOPIC.fullmatch(message.topic)
        device_id = match.group(1) if match else device_id_from(topic_parts(message.topic, self.topic_root, SHAPE)[1])
        body = parse_json(GardenPayload, message.payload)
        time = check_time("ts", body.ts, message.received_at)
        values = {m.column: getattr(body, m.column) for m in METRICS}
        return Decoded(self.family, device_id, (GardenReading(time=time, device_id=device_id, **values),))
