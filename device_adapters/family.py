"""A device family, as the registry knows it: everything about it lives in its folder, and this
descriptor is what the rest of the platform reads (ingest, storage, migrations, the API's reader
policy, the ``tlab sim`` commands, ``./lab run`` and the tests).

Adding a family: a folder ``device_adapters/<family>/`` whose ``__init__.py`` exports ``FAMILY``, and
one line in ``device_adapters/registry.py`` (docs/adding-a-device.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from device_adapters.capabilities import Capability
from device_adapters.contract import DeviceAdapter
from device_adapters.simulation import SimulatorSpec
from device_adapters.storage import StorageSpec

EVERY_ROLE = "*"


@dataclass(frozen=True)
class Readers:
    """Which API roles may read the family's data (readings, media, its own routes), by role name
    (services/auth/roles.py). ``audited``: every read goes to the audit log (personal or sensitive data)."""

    roles: tuple[str, ...]
    audited: bool = False

    @classmethod
    def everyone(cls) -> Readers:
        return cls((EVERY_ROLE,))


@dataclass(frozen=True)
class TimeBelow:
    """A KPI of the family's experiments (docs/experiments.md): how long its devices' ``metric`` stayed below
    ``threshold`` over the period (a garden's dry soil), in hours per device, counted in slots of the family's
    cadence (``Family.reports_every``) holding a reading below: a slot without a reading says nothing. A device's
    label ``per_device_label`` (a number) overrides the threshold for it, as it does for the family's alert
    rule."""

    key: str
    label_fr: str
    metric: str
    threshold: float
    per_device_label: str | None = None


@dataclass(frozen=True)
class Family:
    adapter: DeviceAdapter
    storage: tuple[StorageSpec, ...]
    readers: Readers
    folder: Path
    simulator: SimulatorSpec | None = None
    # module with ``routes(kit) -> fastapi.APIRouter`` (device_adapters/api.py), by name: imported by the
    # API only, so the family's pure parts never load the web framework
    api: str | None = None
    # what it provides to the services (device_adapters/capabilities): they select on these, never on names
    provides: frozenset[Capability] = frozenset()
    # how often a healthy device sends a reading, at least, as its contract (README) promises: the experiments'
    # data completeness counts the slots of this length that hold one; None: no cadence (events, missions)
    reports_every: timedelta | None = None
    # the family's own "time below a threshold" KPIs (a garden's dry soil)
    time_below: tuple[TimeBelow, ...] = ()

    def __post_init__(self) -> None:
        # the services build a family's topics from its name (a gateway's retained snapshots: migration
        # camera_detections_0009), so the name is the first topic level
        if self.adapter.topic_root != self.adapter.family:
            raise ValueError(f"family {self.name!r}: its topic root must be its name, not {self.adapter.topic_root!r}")
        if self.time_below and self.reports_every is None:
            raise ValueError(f"family {self.name!r}: its time_below KPIs count slots of its reports_every")
        if self.adapter.metrics and Capability.READINGS not in self.provides:
            raise ValueError(f"family {self.name!r} declares metrics: it provides Capability.READINGS")

    @property
    def personal_images(self) -> bool:
        """Its images show people (a street camera): personal data; the original is served to police only,
        through an incident, everyone else gets the privacy copy (services/evidence, docs/incidents.md)."""
        return Capability.PERSONAL_IMAGES in self.provides

    @property
    def name(self) -> str:
        return self.adapter.family

    @property
    def migrations(self) -> Path:
        """Its tables, as yoyo migrations (ids prefixed with the family's name, depending on the core's)."""
        return self.folder / "migrations"

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables its records land in, in declaration order (for live counts)."""
        return tuple(dict.fromkeys(spec.record_type.table for spec in self.storage))  # type: ignore[attr-defined]
