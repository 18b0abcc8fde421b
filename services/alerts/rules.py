"""Alert rules: what is watched, when it is a problem, how bad, and which service acts on it.

Rules are data (pydantic models, unknown keys refused, as Frigate's config is): the default packs are
loaded at start and editable over the API. A rule is a discriminated union on ``kind``: ``threshold`` and
``rate`` on a device's stored series, ``absent`` and ``offline`` on time passing, ``dead_letter_surge``
on refused messages, ``event`` on domain events other parts of the platform raise (core/domain_events.py).
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


LABEL_KEY = r"^[a-z][a-z0-9_.-]{0,62}$"
LabelKey = Annotated[str, Field(pattern=LABEL_KEY)]
LabelValue = Annotated[str, Field(min_length=1, max_length=200)]


class Scope(BaseModel):
    """Which devices a rule watches: a family (or every family), narrowed by a list of devices and by
    labels (every given ``key: value`` must be on the device: ``garden = "jardin-des-plantes"``,
    ``sector = "nord-3"``). Empty lists and maps narrow nothing."""

    model_config = ConfigDict(extra="forbid")
    family: str = Field(description='A family, or "*" for every family (platform rules).')
    devices: list[str] = Field(default_factory=list, max_length=10_000)
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=20)

    def covers(self, device_id: str, family: str, labels: dict[str, str]) -> bool:
        return (
            self.family in ("*", family)
            and (not self.devices or device_id in self.devices)
            and all(labels.get(k) == v for k, v in self.labels.items())
        )


class RuleBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # `<name>@<family>`: a family's copy of a capability's default rule (services/alerts/packs.py)
    name: str = Field(min_length=1, max_length=120, pattern=r"^[a-z0-9][a-z0-9_.-]*(@[a-z0-9][a-z0-9_.-]*)?$")
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
    fire_label: str | None = Field(
        None,
        pattern=LABEL_KEY,
        description="A device label whose value, a number, replaces `fire` for that device (a garden's own "
        "soil); `clear` keeps its distance from `fire`. A device without it, or with a value that is not a "
        "number, gets `fire`.",
    )

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def for_device(self, labels: dict[str, str]) -> Threshold:
        """The rule as it applies to a device with ``labels`` (its own threshold, if it has one)."""
        if self.fire_label is None or self.fire_label not in labels:
            return self
        try:
            fire = float(labels[self.fire_label])
        except ValueError:
            return self
        if fire != fire or fire in (float("inf"), float("-inf")):
            return self
        return self.model_copy(update={"fire": fire, "clear": self.clear + (fire - self.fire)})

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


class RateOfChange(RuleBase):
    """A metric that moves by at least ``by`` within ``window`` (event time): a sewer filling after a
    storm, a soil drying out in hours. At each reading the change is measured against the lowest
    (``rise``) or highest (``fall``) value of the trailing window; the alert fires at the first reading
    where it reaches ``by`` and clears at the first where it is back under ``clear`` (default ``by``).
    Readings further apart than the window show no change: a rate needs two readings inside it."""

    kind: Literal["rate"] = "rate"
    metric: str
    direction: Literal["rise", "fall"]
    by: float = Field(gt=0)
    window: timedelta = Field(gt=timedelta(0), le=timedelta(days=7))
    clear: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _clear_below_by(self) -> RateOfChange:
        if self.clear is not None and self.clear > self.by:
            raise ValueError(f"clear ({self.clear}) must be <= by ({self.by})")
        return self

    def as_threshold(self) -> Threshold:
        """The rule on the change series: above ``by``, cleared under ``clear``, no ``for``."""
        clear = self.by if self.clear is None else self.clear
        return Threshold.model_validate(
            {"name": self.name, "scope": self.scope, "severity": self.severity, "service": self.service,
             "metric": self.metric, "direction": "above", "fire": self.by, "clear": clear, "for": timedelta(0),
             "max_gap": self.window}
        )  # fmt: skip


class Condition(BaseModel):
    """One test on a domain event's attribute (``grade >= 4``). A missing attribute fails every test."""

    model_config = ConfigDict(extra="forbid")
    attribute: str = Field(min_length=1, max_length=100)
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte"]
    value: float | bool | str

    def holds(self, attributes: dict[str, object]) -> bool:
        if self.attribute not in attributes:
            return False
        actual = attributes[self.attribute]
        if self.op == "eq":
            return actual == self.value
        if self.op == "ne":
            return actual != self.value
        if isinstance(actual, bool) or not isinstance(actual, int | float) or isinstance(self.value, bool | str):
            return False  # an order needs two numbers
        return {"gt": actual > self.value, "gte": actual >= self.value, "lt": actual < self.value,
                "lte": actual <= self.value}[self.op]  # fmt: skip


class DomainEventRule(RuleBase):
    """A domain event of type ``event`` (raised by the vision worker, the incident detector...) whose
    attributes pass every condition in ``when``: one alert per event, firing when it occurred, cleared when
    its raiser says it ended, retracted if it is withdrawn or no longer passes (a reviewer recoded it)."""

    kind: Literal["event"] = "event"
    event: str = Field(min_length=1, max_length=100, pattern=r"^[a-z][a-z0-9_.-]*$")
    when: list[Condition] = Field(default_factory=list, max_length=20)

    def matches(self, attributes: dict[str, object]) -> bool:
        return all(c.holds(attributes) for c in self.when)


AnyRule: TypeAlias = Threshold | RateOfChange | Absent | Offline | DeadLetterSurge | DomainEventRule


def for_device(rule: AnyRule, labels: dict[str, str]) -> AnyRule:
    """``rule`` as it applies to a device with ``labels`` (only thresholds have per-device values)."""
    return rule.for_device(labels) if isinstance(rule, Threshold) else rule


Rule = Annotated[AnyRule, Field(discriminator="kind")]
