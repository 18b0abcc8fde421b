"""Fault injection for every simulator: malformed payloads, duplicates, late data, clock skew.

Applied by the runner to whatever a simulator publishes, drawn from a seeded generator so a run is
reproducible. Disconnects are the runner's (``disconnect_every``): they exercise the MQTT sessions.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sim.publisher import OutboundMessage

MALFORMATIONS = (
    lambda body: body[: max(1, len(body) // 2)],  # truncated JSON
    lambda body: body.replace(b":", b"=", 1),  # not JSON at all
    lambda body: b"\xff\xfe" + body,  # not UTF-8
    lambda body: body.replace(b"}", b', "unexpected_field": 1}', 1),  # unknown field
    lambda body: json.dumps({**json.loads(body), "ts": "yesterday"}).encode(),  # wrong type
)


@dataclass
class FaultInjector:
    rng: random.Random
    malformed: float = 0.0  # share of messages replaced by a malformed payload
    duplicate: float = 0.0  # share of messages sent twice
    late: float = 0.0  # share of messages whose `ts` is moved `late_hours` into the past
    late_hours: float = 3.0
    clock_skew_s: float = 0.0  # every JSON `ts` shifted by this (a device clock that is off)

    @property
    def active(self) -> bool:
        return bool(self.malformed or self.duplicate or self.late or self.clock_skew_s)

    def apply(self, message: OutboundMessage) -> list[OutboundMessage]:
        out = message
        if self.clock_skew_s and out.payload.startswith(b"{"):
            out = _shift_ts(out, timedelta(seconds=self.clock_skew_s))
        if self.late and self.rng.random() < self.late and out.payload.startswith(b"{"):
            out = _shift_ts(out, -timedelta(hours=self.late_hours))
        if self.malformed and self.rng.random() < self.malformed and out.payload.startswith(b"{"):
            broken = self.rng.choice(MALFORMATIONS)(out.payload)
            out = OutboundMessage(out.topic, broken, out.user_properties, out.qos)
        if self.duplicate and self.rng.random() < self.duplicate:
            return [out, out]
        return [out]


def _shift_ts(message: OutboundMessage, delta: timedelta) -> OutboundMessage:
    body = json.loads(message.payload)
    if "ts" not in body:
        return message
    body["ts"] = (datetime.fromisoformat(body["ts"]) + delta).isoformat()
    return OutboundMessage(message.topic, json.dumps(body).encode(), message.user_properties, message.qos)
