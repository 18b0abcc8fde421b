"""Karroad dumping cameras: each event goes new (with a snapshot) -> update(s) -> end, like Frigate's."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime

from device_adapters.contract import OutboundMessage
from device_adapters.karroad.render import street_snapshot

LABELS = ("waste", "waste", "mattress", "rubble", "appliance", "bag")
ZONES = ("pavement", "kerb", "recycling_point")


@dataclass
class _Event:
    event_id: str
    label: str
    zone: str
    box: tuple[int, int, int, int]
    start: datetime
    updates_left: int


@dataclass
class CameraFleet:
    devices: int = 2
    seed: int = 42
    events: int = 0  # events per camera, 0 = forever
    prefix: str = "sim-cam"
    name: str = "camera"
    _rng: random.Random = field(init=False)
    _open: dict[str, _Event] = field(init=False, default_factory=dict)
    _started: dict[str, int] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._cameras = [f"{self.prefix}-{i + 1:02d}" for i in range(self.devices)]

    @property
    def done(self) -> bool:
        return (
            bool(self.events) and not self._open and all(self._started.get(c, 0) >= self.events for c in self._cameras)
        )

    def _event_message(self, camera: str, ev: _Event, kind: str, now: datetime) -> OutboundMessage:
        body = {
            "event_id": ev.event_id,
            "type": kind,
            "ts": now.isoformat(timespec="microseconds"),
            "label": ev.label,
            "score": round(self._rng.uniform(0.62, 0.97), 3),
            "box": list(ev.box),
            "zone": ev.zone,
            "start_time": ev.start.isoformat(timespec="microseconds"),
            "end_time": now.isoformat(timespec="microseconds") if kind == "end" else None,
            "stationary": kind != "new",
            "has_snapshot": True,
        }
        return OutboundMessage(f"karroad/{camera}/events", json.dumps(body).encode())

    def device_families(self) -> dict[str, str]:
        return dict.fromkeys(self._cameras, "karroad")

    def tick(self, n: int, now: datetime) -> list[OutboundMessage]:
        rng = self._rng
        out: list[OutboundMessage] = []
        for camera in self._cameras:
            ev = self._open.get(camera)
            if ev is None:
                if self.events and self._started.get(camera, 0) >= self.events:
                    continue
                x1, y1 = rng.randint(40, 380), rng.randint(250, 300)
                box = (x1, y1, x1 + rng.randint(120, 220), y1 + rng.randint(80, 150))
                ev = _Event(
                    f"{now.timestamp():.3f}-{camera}-{rng.randint(0, 10**6):06d}",
                    rng.choice(LABELS),
                    rng.choice(ZONES),
                    box,
                    now,
                    rng.randint(1, 3),
                )
                self._open[camera] = ev
                self._started[camera] = self._started.get(camera, 0) + 1
                out.append(self._event_message(camera, ev, "new", now))
                snapshot = street_snapshot(camera, now, rng, box=ev.box)
                out.append(
                    OutboundMessage(
                        f"karroad/{camera}/snapshots/{ev.event_id}",
                        snapshot,
                        (("ts", now.isoformat(timespec="microseconds")),),
                    )
                )
            elif ev.updates_left > 0:
                ev.updates_left -= 1
                out.append(self._event_message(camera, ev, "update", now))
            else:
                out.append(self._event_message(camera, ev, "end", now))
                del self._open[camera]
        return out
