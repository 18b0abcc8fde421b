"""Ptipot' garden sensor fleet: soil moisture drying out between rains, diurnal temperature and light."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from device_adapters.contract import OutboundMessage

# frost: air below 1 degC; drought: soil below 15 %, with 7 h of history so the 6-hour rule fires at once;
# silent: 1 h of readings ending 3 h ago, then nothing (the 2-hour silence rule)
SCENARIOS = ("", "frost", "drought", "silent")
HISTORY = {"frost": timedelta(minutes=30), "drought": timedelta(hours=7), "silent": timedelta(hours=1)}
HISTORY_STEP = timedelta(minutes=5)


@dataclass
class _Plot:
    device_id: str
    vwc: float
    clock_skew: timedelta


@dataclass
class GardenFleet:
    devices: int = 5
    seed: int = 42
    clock_skew_s: float = 0.0
    prefix: str = "sim-garden"
    readings: int = 0  # readings per device, 0 = forever
    scenario: str = ""  # frost | drought | silent (see SCENARIOS)
    name: str = "garden"
    _ticks: int = field(init=False, default=0)
    _plots: list[_Plot] = field(init=False)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise ValueError(f"scenario {self.scenario!r}: one of {', '.join(s for s in SCENARIOS if s)}")
        self._rng = random.Random(self.seed)
        self._plots = [
            _Plot(
                f"{self.prefix}-{i + 1:02d}",
                self._rng.uniform(18, 35),
                timedelta(seconds=self._rng.uniform(-self.clock_skew_s, self.clock_skew_s)),
            )
            for i in range(self.devices)
        ]

    def reading(self, plot: _Plot, now: datetime) -> dict[str, object]:
        rng = self._rng
        hour = now.hour + now.minute / 60
        daylight = max(0.0, math.sin((hour - 6) / 12 * math.pi))
        rain = rng.choice([0.0] * 30 + [rng.uniform(0.2, 6)])
        plot.vwc = min(45.0, max(5.0, plot.vwc - 0.02 + rain * 1.5))
        air = 6 + 8 * daylight + rng.gauss(0, 0.4)
        if self.scenario == "frost":
            air = rng.uniform(-1.5, 0.8)
        if self.scenario == "drought":
            plot.vwc = rng.uniform(8.0, 12.0)
        return {
            "ts": (now + plot.clock_skew).isoformat(timespec="microseconds"),
            "soil_vwc_pct": round(plot.vwc, 2),
            "soil_temp_c": round(air - 1.5 + rng.gauss(0, 0.2), 2),
            "air_temp_c": round(air, 2),
            "air_rh_pct": round(min(100.0, max(20.0, 85 - 30 * daylight + rng.gauss(0, 2))), 1),
            "light_lux": round(60_000 * daylight * rng.uniform(0.4, 1.0), 0),
            "rain_mm": round(rain, 2),
        }

    def _history(self, now: datetime, span: timedelta) -> list[OutboundMessage]:
        """What the sensors sent before the simulator started (every 5 min over ``span``: closer than the
        rules' largest gap), so that rules with a long ``for`` (6 h of dry soil) fire in a demo: readings
        judged at their own time."""
        out = []
        end = now - (timedelta(hours=3) if self.scenario == "silent" else timedelta(minutes=1))
        steps = int(span / HISTORY_STEP)
        for k in range(steps, -1, -1):
            at = end - k * HISTORY_STEP
            for plot in self._plots:
                body = json.dumps(self.reading(plot, at)).encode()
                out.append(OutboundMessage(f"ptipot/{plot.device_id}/readings", body))
        return out

    @property
    def done(self) -> bool:
        return bool(self.readings) and self._ticks >= self.readings

    def device_families(self) -> dict[str, str]:
        return {plot.device_id: "ptipot" for plot in self._plots}

    def tick(self, n: int, now: datetime) -> list[OutboundMessage]:
        out: list[OutboundMessage] = []
        if n == 0 and self.scenario in HISTORY:
            out += self._history(now, HISTORY[self.scenario])
        if self.scenario == "silent":
            self._ticks += 1
            return out  # its history ended hours ago: nothing now
        self._ticks += 1
        for plot in self._plots:
            body = json.dumps(self.reading(plot, now)).encode()
            out.append(OutboundMessage(f"ptipot/{plot.device_id}/readings", body))
        return out
