"""A Frigate server as the platform sees it over MQTT (``tlab sim camera --scenario frigate``): one gateway
login speaking Frigate's topics and fields for its cameras (docs/incidents.md has the source each is
read from).

Each camera plays the same six-minute scene, staggered: a van stops at the collection point (taken for a
false positive for its first frames, as Frigate does; a plate read), a person unloads, a couch is left and
stays four minutes (long enough to be suspected), then is taken away; meanwhile a bag the detector never
confirms (a false positive throughout: Frigate sends no ``end`` for it) and a passer-by on the pavement.
Updates go out every few seconds, as Frigate's do; snapshots are Frigate's default crops around the
object, retained. Pure: the runner gives the time.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime

import cv2
import numpy as np

from device_adapters.capabilities.camera_detections.geometry import snapshot_region
from device_adapters.contract import OutboundMessage
from device_adapters.images import encode_jpeg
from device_adapters.karroad.render import HEIGHT, WIDTH, street_snapshot

CYCLE_S = 360.0
UPDATE_EVERY_S = 5.0  # Frigate publishes an update at most every 5 s unless something significant changed
SNAPSHOT_HEIGHT = 270  # Frigate's mqtt.snapshot height


@dataclass(frozen=True)
class Role:
    """One object of the scene: when it appears and goes (seconds into the cycle), where, what it is."""

    key: str
    label: str
    box: tuple[int, int, int, int]
    start: float
    end: float
    zone: str = "collection_point"
    false_positive_until: float = 0.0  # seconds after its start during which Frigate still doubts it
    never_confirmed: bool = False  # a false positive throughout
    plate: bool = False
    stationary_after: float = 8.0
    snapshot_at: float | None = None


SCENE = (
    Role("van", "car", (330, 260, 600, 420), 0, 70, false_positive_until=2, plate=True, snapshot_at=12),
    Role("person", "person", (300, 230, 350, 370), 15, 60, snapshot_at=20),
    Role("couch", "couch", (150, 300, 300, 380), 30, 270, snapshot_at=40),
    Role("bag", "bag", (560, 330, 600, 370), 40, 80, never_confirmed=True),
    Role("passer", "person", (40, 250, 80, 380), 120, 135, zone="pavement", stationary_after=1e9),
)


@dataclass
class FrigateGateway:
    devices: int = 1
    seed: int = 42
    prefix: str = "sim-frigate"
    scenes: int = 0  # scenes per camera, 0 = forever
    name: str = "camera-frigate"
    _rng: random.Random = field(init=False)
    _origin: float | None = field(init=False, default=None)
    _sent: dict[tuple[str, int, str], float] = field(init=False, default_factory=dict)
    _ids: dict[tuple[str, int, str], str] = field(init=False, default_factory=dict)
    _now: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.gateway = f"{self.prefix}-gw"
        self._cameras = {f"cam_{i + 1:02d}": f"{self.prefix}-{i + 1:02d}" for i in range(self.devices)}
        self._plates = {name: self._plate() for name in self._cameras}

    def _plate(self) -> str:
        letters = "ABCDEFGHJKLMNPQRSTVWXYZ"
        pick = lambda n: "".join(self._rng.choice(letters) for _ in range(n))  # noqa: E731
        return f"{pick(2)}-{self._rng.randint(100, 999)}-{pick(2)}"  # a fictional plate, French format

    @property
    def done(self) -> bool:
        last_camera_ends = self.scenes * CYCLE_S + 20.0 * (self.devices - 1)
        return bool(self.scenes) and self._origin is not None and self._now - self._origin >= last_camera_ends

    def device_families(self) -> dict[str, str]:
        return {self.gateway: "karroad", **dict.fromkeys(self._cameras.values(), "karroad")}

    def gateway_cameras(self) -> dict[str, dict[str, tuple[str, tuple[int, int]]]]:
        """gateway -> its camera names -> (registered camera, detect resolution): what ``tlab devices
        map-camera`` records for a real Frigate."""
        return {self.gateway: {name: (device, (WIDTH, HEIGHT)) for name, device in self._cameras.items()}}

    def tick(self, n: int, now: datetime) -> list[OutboundMessage]:
        t = now.timestamp()
        if self._origin is None:
            self._origin = t
        self._now = t
        out: list[OutboundMessage] = []
        if n == 0:
            out.append(OutboundMessage(f"karroad/{self.gateway}/available", b"online", retain=True))
        for index, name in enumerate(self._cameras):
            elapsed = t - self._origin - 20.0 * index
            if elapsed < 0 or (self.scenes and elapsed >= self.scenes * CYCLE_S):
                continue
            cycle, into = int(elapsed // CYCLE_S), elapsed % CYCLE_S
            base = t - into  # the cycle's start, epoch seconds
            for role in SCENE:
                out.extend(self._role(name, cycle, base, into, role, t))
        return out

    def _role(self, camera: str, cycle: int, base: float, into: float, role: Role, t: float) -> list[OutboundMessage]:
        key = (camera, cycle, role.key)
        if into < role.start:
            return []
        last = self._sent.get(key)
        ended = into >= role.end
        if ended and (last is None or last >= base + role.end or role.never_confirmed):
            return []  # gone before we saw it, already ended, or never confirmed (no 'end' for those)
        if not ended and last is not None and t - last < UPDATE_EVERY_S:
            return []
        object_id = self._ids.setdefault(key, f"{base + role.start:.6f}-{self._rng.randrange(36**6):06x}")
        doubted = role.never_confirmed or into - role.start < role.false_positive_until
        was_doubted = last is None or role.never_confirmed or last - (base + role.start) < role.false_positive_until
        kind = "end" if ended else "new" if was_doubted and not doubted else "update"
        frame_time = base + role.end if ended else t
        after = self._state(camera, object_id, role, base, frame_time, doubted, ended)
        before = {**after, "end_time": None, "frame_time": last or after["start_time"]}
        self._sent[key] = base + role.end if ended else t
        out = [
            OutboundMessage(
                f"karroad/{self.gateway}/events",
                json.dumps({"type": kind, "before": before, "after": after}).encode(),
            )
        ]
        due = role.snapshot_at is not None and last is not None and last < base + role.start + role.snapshot_at <= t
        if due and not doubted:
            out.append(self._snapshot(camera, role, t, t - base))
        return out

    def _state(
        self, camera: str, object_id: str, role: Role, base: float, frame_time: float, doubted: bool, ended: bool
    ) -> dict:
        """``TrackedObject.to_dict`` (frigate/track/tracked_object.py): the fields Frigate sends."""
        x1, y1, x2, y2 = role.box
        seen = frame_time - (base + role.start)
        stationary = seen >= role.stationary_after
        region = list(snapshot_region(WIDTH, HEIGHT, role.box))
        area = (x2 - x1) * (y2 - y1)
        score = round(0.55 + 0.4 * min(1.0, seen / 30.0), 3)
        return {
            "id": object_id,
            "camera": camera,
            "frame_time": frame_time,
            "snapshot": {
                "frame_time": frame_time,
                "box": list(role.box),
                "area": area,
                "region": region,
                "score": score,
                "attributes": [],
            },  # fmt: skip
            "label": role.label,
            "sub_label": None,
            "top_score": score,
            "false_positive": doubted,
            "start_time": base + role.start,
            "end_time": frame_time if ended else None,
            "score": score,
            "box": list(role.box),
            "area": area,
            "ratio": round((x2 - x1) / (y2 - y1), 3),
            "region": region,
            "active": not stationary,
            "stationary": stationary,
            "motionless_count": int(max(0.0, seen - role.stationary_after) * 5),
            "position_changes": 1,
            "current_zones": [] if ended else [role.zone],
            "entered_zones": [role.zone],
            "has_clip": False,
            "has_snapshot": role.snapshot_at is not None,
            "attributes": {},
            "current_attributes": [],
            "pending_loitering": False,
            "max_severity": "alert" if role.label in ("person", "car") else "detection",
            "recognized_license_plate": self._plates[camera] if role.plate and not doubted else None,
            "recognized_license_plate_score": 0.91 if role.plate and not doubted else None,
        }

    def _snapshot(self, camera: str, role: Role, t: float, into: float) -> OutboundMessage:
        """Frigate's default MQTT snapshot: the frame cropped around the object, 270 px high, retained."""
        when = datetime.fromtimestamp(t).astimezone()
        frame = cv2.imdecode(
            np.frombuffer(street_snapshot(self._cameras[camera], when, self._rng, box=None), np.uint8),
            cv2.IMREAD_COLOR,
        )
        assert frame is not None  # our own JPEG
        colours = {"person": (40, 40, 120), "couch": (70, 110, 160), "car": (180, 180, 190), "bag": (30, 30, 30)}
        for other in SCENE:  # what is in the scene at that moment, drawn where Frigate's boxes say
            if other.start <= into < other.end:
                x1, y1, x2, y2 = other.box
                cv2.rectangle(frame, (x1, y1), (x2, y2), colours[other.label], -1)
        x1, y1, x2, y2 = snapshot_region(WIDTH, HEIGHT, role.box)
        crop = frame[y1:y2, x1:x2]
        width = SNAPSHOT_HEIGHT * crop.shape[1] // crop.shape[0]
        image = cv2.resize(crop, (width, SNAPSHOT_HEIGHT), interpolation=cv2.INTER_AREA)
        return OutboundMessage(
            f"karroad/{self.gateway}/{camera}/{role.label}/snapshot", encode_jpeg(image), retain=True
        )
