"""Alert rules: what is watched, when it is a problem, how bad, and which service acts on it.

Rules are data (pydantic models, unknown keys refused, as Frigate's config is): the default packs are
loaded at start and editable over the API. A rule is a discriminated union on ``kind``; this module has
the kinds the engine evaluates on a device's stored series (``threshold``, ``absent``); the others
(rate of change, device offline, dead-letter surge, domain events) join it with their evaluation.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Scope(BaseModel):
    """Which devices a rule watches: a family, and optionally a list of devices (empty: every device of
    the family). Devices by label (a garden, a sewer sector) come with device labels in the registry."""

    model_config = ConfigDict(extra="forbid")
    family: str = Field(description='A family, or "*" for every family (platform rules).')
    devices: list[str] = Field(default_factory=list, max_length=10_000)


class RuleBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    description: str = Field("", max_length=2000)
    scope: Scope
    severity: Severity
    service: str = Field(description="The role the alert is routed to (sanitation, green_spaces, operator...).")


class Threshold(RuleBase):
    """A metric beyond ``fire`` for at least ``for_`` (event time) fires; the alert clears only when a
    reading is back past ``clear`` (hysteresis: a value hovering around ``fire`` does not flap).

    ``direction="above"``: breach when value >= fire, clear when value < clear (clear <= fire).
    ``direction="below"``: breach when value <= fire, clear when value > clear (clear >= fire).
    ``max_gap``: a silence between two readings longer than this breaks the continuity a ``for`` needs
    (no evidence the condition held); default: the ``for`` itself, at least 5 minutes.
    """

    kind: Literal["threshold"] = "threshold"
    metric: str
    direction: Literal["above", "below"]
    fire: float
    clear: float
    for_: timedelta = Field(timedelta(0), alias="for", ge=timedelta(0), le=timedelta(days=30))
    max_gap: timedelta | None = Field(None, gt=timedelta(0), le=timedelta(days=30))

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _hysteresis_points_back(self) -> Threshold:
        if self.direction == "above" and self.clear > self.fire:
            raise ValueError(f"clear ({self.clear}) must be <= fire ({self.fire}) for a rule on values above")
        if self.direction == "below" and self.clear < self.fire:
            raise ValueError(f"clear ({self.clear}) must be >= fire ({self.fire}) for a rule on values below")
        return self

    @property
    def gap_limit(self) -> timedelta:
        return self.max_gap or max(self.for_, timedelta(minutes=5))

    def breaches(self, value: float) -> bool:
        return value >= self.fire if self.direction == "above" else value <= self.fire

    def clears(self, value: float) -> bool:
        return value < self.clear if self.direction == "above" else value > self.clear

    def worse(self, a: float, b: float) -> float:
        return max(a, b) if self.direction == "above" else min(a, b)


class Absent(RuleBase):
    """A device's ``metric`` (or any reading, when ``metric`` is None) not seen for ``for_``: a sensor gone
    silent. Fires ``for_`` after the last reading; clears at the next one."""

    kind: Literal["absent"] = "absent"
    metric: str | None = None
    for_: timedelta = Field(alias="for", gt=timedelta(0), le=timedelta(days=30))

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Offline(RuleBase):
    """A device that said it went offline (its status topic, or the last will the broker sent for it)
    and has not come back for ``for_``. Fires ``for_`` after it went offline; clears when it is back.
    Its scope may be every family (``family = "*"``)."""

    kind: Literal["offline"] = "offline"
    for_: timedelta = Field(alias="for", gt=timedelta(0), le=timedelta(days=30))

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DeadLetterSurge(RuleBase):
    """More than ``threshold`` refused messages from one device within ``window`` (receive time): a
    misconfigured device or a firmware that no longer speaks its contract. Clears when the window holds
    ``threshold`` or fewer again. A letter repeated with the same bytes counts at its first and its last
    arrival (the store keeps those and the count, not every arrival)."""

    kind: Literal["dead_letter_surge"] = "dead_letter_surge"
    threshold: int = Field(ge=1, le=100_000)
    window: timedelta = Field(gt=timedelta(0), le=timedelta(days=1))


Rule = Annotated[Threshold | Absent | Offline | DeadLetterSurge, Field(discriminator="kind")]
