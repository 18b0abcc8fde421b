"""The pipe-inspection capability (device_adapters/capabilities/pipe_inspection) owns what inspection drones
share: its tables' migrations, applied whatever families are registered, under the ids deployed databases
recorded when they were a family's; the records and storage its providers use."""

from __future__ import annotations

from pathlib import Path

from core.migrate import CAPABILITIES_DIR, migration_sources
from device_adapters.capabilities import Capability
from device_adapters.capabilities.pipe_inspection import storage
from device_adapters.registry import providing

FOLDER = CAPABILITIES_DIR / Capability.PIPE_INSPECTION.value
# applied by every database deployed before the capability existed: the files moved, the ids must not
DEPLOYED_IDS = ("bathy_0001_missions_telemetry_frames", "bathy_0002_mission_list_index")


def _ids(folder: Path) -> set[str]:
    return {p.name.removesuffix(".sql") for p in folder.glob("*.sql") if not p.name.endswith(".rollback.sql")}


def test_the_tables_migrations_kept_their_deployed_ids_and_are_always_applied() -> None:
    assert set(DEPLOYED_IDS) <= _ids(FOLDER / "migrations")
    assert str(FOLDER / "migrations") in migration_sources()
    for name in DEPLOYED_IDS:
        assert (FOLDER / "migrations" / f"{name}.rollback.sql").is_file(), name
    every = [i for source in migration_sources() for i in _ids(Path(source))]
    assert len(every) == len(set(every)), "a migration id is in two folders"


def test_every_provider_stores_the_capability_s_records_into_its_tables() -> None:
    tables = {"missions", "drone_telemetry", "drone_frames"}
    created = "".join(p.read_text() for p in (FOLDER / "migrations").glob("*.sql"))
    assert all(f"CREATE TABLE IF NOT EXISTS {t} (" in created for t in tables)
    assert providing(Capability.PIPE_INSPECTION), "no family provides the pipe inspection"
    for family in providing(Capability.PIPE_INSPECTION):
        assert set(storage.STORAGE) <= set(family.storage), family.name
        assert set(family.tables) >= tables, family.name
