"""Bathy drone: inspection missions along a pipe segment, telemetry at each tick and a video frame
every ``frame_every`` ticks. Gas readings rise near a simulated defect; the frames show it."""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass, field
from datetime import datetime

import cv2

from device_adapters.bathy.scene import Conditions, Scene, random_defect, render
from device_adapters.contract import OutboundMessage
from device_adapters.images import encode_jpeg

SCENARIOS = ("", "gas-pocket", "surge", "low-battery")
MATERIALS = ("concrete", "vitrified clay", "PVC", "cast iron")
WALLS = {"concrete": (128, 132, 136), "vitrified clay": (70, 100, 150), "PVC": (180, 180, 175),
         "cast iron": (60, 70, 85)}  # fmt: skip


@dataclass
class DroneMission:
    device_id: str = "sim-bathy-01"
    seed: int = 42
    length_m: float = 60.0
    speed_mps: float = 0.5
    rate_hz: float = 5.0
    frame_every: int = 5
    missions: int = 0  # 0 = fly missions forever
    # "gas-pocket": the middle third of each pipe holds H2S, methane and little oxygen;
    # "surge": over the last third the water rises by 40 points of the diameter (a storm reaching the sewer);
    # "low-battery": the battery starts the mission at 22 % and is at 12 % a fifth of the way along
    scenario: str = ""
    name: str = "drone"
    _rng: random.Random = field(init=False)
    _flown: int = field(init=False, default=0)
    _mission: dict | None = field(init=False, default=None)
    _chainage: float = field(init=False, default=0.0)
    _ticks_in_mission: int = field(init=False, default=0)
    _defects: list[tuple[float, str]] = field(init=False, default_factory=list)
    _scene: Scene = field(init=False, default_factory=Scene)

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise ValueError(f"scenario {self.scenario!r}: one of {', '.join(s for s in SCENARIOS if s)}")
        self._rng = random.Random(self.seed)

    @property
    def done(self) -> bool:
        return self.missions > 0 and self._flown >= self.missions and self._mission is None

    def _start(self, now: datetime) -> OutboundMessage:
        rng = self._rng
        n = rng.randint(100, 999)
        mission_id = f"{self.device_id}-{now:%Y%m%dT%H%M%S}-{n}"
        self._mission = {"mission_id": mission_id}
        self._chainage, self._ticks_in_mission = 0.0, 0
        self._defects = sorted(
            (5 + i * (self.length_m - 10) / 3 + rng.uniform(0, 2), "defect") for i in range(rng.randint(1, 3))
        )
        pipe = {
            "pipe_id": f"BET-{rng.randint(1000, 9999)}",
            "start_manhole": f"R{rng.randint(100, 499)}",
            "end_manhole": f"R{rng.randint(500, 999)}",
            "direction": "downstream",
            "diameter_mm": rng.choice([300, 400, 600, 800, 1000]),
            "material": rng.choice(MATERIALS),
        }
        self._scene = self._scene_of(pipe)
        body = {"mission_id": mission_id, "ts": now.isoformat(timespec="microseconds"), "pipe": pipe, "operator": "sim"}
        return OutboundMessage(f"bathy/{self.device_id}/mission/start", json.dumps(body).encode())

    def _scene_of(self, pipe: dict) -> Scene:
        """What the camera sees along this pipe: its look, and its defects (of any code the vision finds)
        where the mission put them (``device_adapters/bathy/scene.py``: every frame comes with its ground
        truth)."""
        rng = self._rng
        defects = [random_defect(rng, at, water=30.0) for at, _ in self._defects]  # above the water's ~22 %
        look = Conditions(
            diameter_mm=pipe["diameter_mm"],
            wall_bgr=WALLS[pipe["material"]],
            tilt_px=(rng.randint(-15, 15), rng.randint(-10, 10)),
        )
        return Scene(look, tuple(defects), seed=rng.randint(0, 2**31))

    def _near_defect(self) -> str | None:
        return next((kind for at, kind in self._defects if abs(at - self._chainage) < 0.8), None)

    def _telemetry(self, now: datetime) -> OutboundMessage:
        rng = self._rng
        defect = self._near_defect()
        # the gas pocket: a third of the pipe, long enough at 0.5 m/s for the 30 s rules to fire
        pocket = self.scenario == "gas-pocket" and self.length_m / 3 <= self._chainage <= 2 * self.length_m / 3
        body = {
            "mission_id": self._mission["mission_id"],  # type: ignore[index]
            "ts": now.isoformat(timespec="microseconds"),
            "chainage_m": round(self._chainage, 3),
            "speed_mps": round(self.speed_mps + rng.gauss(0, 0.03), 3),
            "heading_deg": round((92 + rng.gauss(0, 1.5)) % 360, 1),
            "pitch_deg": round(rng.gauss(0, 1.2), 2),
            "roll_deg": round(rng.gauss(0, 2.0), 2),
            "water_level_pct": round(max(0.0, 22 + self._surge() + rng.gauss(0, 1.5)), 1),
            "water_temp_c": round(13 + rng.gauss(0, 0.1), 2),
            "air_temp_c": round(15 + rng.gauss(0, 0.2), 2),
            "h2s_ppm": round(max(0.0, (14 if pocket else 9 if defect else 1.5) + rng.gauss(0, 0.5)), 2),
            "ch4_pct_lel": round(max(0.0, (24 if pocket else 2) + rng.gauss(0, 0.4)), 2),
            "o2_pct": round((18.4 if pocket else 20.6) + rng.gauss(0, 0.05), 2),
            "battery_pct": round(self._battery(), 2),
            "rssi_dbm": round(-60 - self._chainage * 0.4 + rng.gauss(0, 2), 1),
        }
        return OutboundMessage(f"bathy/{self.device_id}/telemetry", json.dumps(body).encode())

    def _battery(self) -> float:
        if self.scenario == "low-battery":
            return 22 - 10 * min(1.0, self._chainage / (self.length_m / 5))
        return max(0.0, 100 - self._ticks_in_mission * 0.02)

    def _surge(self) -> float:
        """Water added by the surge scenario: none before the last third, 40 points at its end."""
        if self.scenario != "surge":
            return 0.0
        return 40 * max(0.0, self._chainage - 2 * self.length_m / 3) / (self.length_m / 3)

    def _frame(self, now: datetime, water_level_pct: float) -> OutboundMessage:
        mission_id = self._mission["mission_id"] if self._mission else ""
        scene = self._scene
        scene = dataclasses.replace(
            scene, conditions=dataclasses.replace(scene.conditions, water_level_pct=water_level_pct)
        )
        image, _ = render(scene, self._chainage)
        overlay = f"CH {self._chainage:7.2f} m  {mission_id}"  # as CCTV cameras burn it in
        cv2.putText(image, overlay, (12, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA)
        jpeg = encode_jpeg(image)
        props = (
            ("mission_id", mission_id),
            ("ts", now.isoformat(timespec="microseconds")),
            ("chainage_m", f"{self._chainage:.3f}"),
            ("seq", str(self._ticks_in_mission // self.frame_every)),
        )
        return OutboundMessage(f"bathy/{self.device_id}/frame", jpeg, props)

    def device_families(self) -> dict[str, str]:
        return {self.device_id: "bathy"}

    def tick(self, n: int, now: datetime) -> list[OutboundMessage]:
        if self._mission is None:
            if self.missions and self._flown >= self.missions:
                return []
            return [self._start(now)]
        out = [self._telemetry(now)]
        if self._ticks_in_mission % self.frame_every == 0:
            out.append(self._frame(now, 22.0 + self._surge()))
        self._ticks_in_mission += 1
        self._chainage = self._ticks_in_mission * self.speed_mps / self.rate_hz  # exact, not accumulated
        if self._chainage >= self.length_m:
            end = {
                "mission_id": self._mission["mission_id"],
                "ts": now.isoformat(timespec="microseconds"),
                "status": "completed",
                "distance_m": round(self._chainage, 2),
            }
            out.append(OutboundMessage(f"bathy/{self.device_id}/mission/end", json.dumps(end).encode()))
            self._mission = None
            self._flown += 1
        return out
