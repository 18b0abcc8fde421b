"""Outside its own folder and its registration, no production file names a device family (issue 20, item 2):
the services select on what families provide (device_adapters/capabilities), so a second camera vendor or
inspection drone is a folder and a registry line, and a family renamed or removed touches nothing else.

Every registered family is checked (the suite's fixture families too) against every production source file
outside that family's folder (other families' folders included: a family never imports another). Excepted:
the registry's import line and its ``BUILT_IN`` entries, and migrations (their SQL, and their ids wherever
they are cited: deployed databases recorded them, they keep the family's prefix after the files move). What
else must name a family is listed below, each with its reason: the list is the count, and it only shrinks.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from device_adapters.family import Family
from device_adapters.registry import FAMILIES

REPO = Path(__file__).resolve().parents[2]
ROOTS = ("core", "services", "ingest", "tlab", "sim", "deploy", "device_adapters", "benchmarks")
SOURCES = ("*.py", "*.toml", "*.html", "*.sh", "*.conf")
REGISTRY = "device_adapters/registry.py"

# (file, family) -> why that file must name that family. Benchmarks that publish or render a family's own
# wire format measure that family; nothing else belongs here.
ALLOWED: dict[tuple[str, str], str] = {
    ("benchmarks/ingest.py", "ptipot"): "the measured mix publishes each built-in family's own payloads",
    ("benchmarks/ingest.py", "bathy"): "the measured mix publishes each built-in family's own payloads",
    ("benchmarks/ingest.py", "karroad"): "the measured mix publishes each built-in family's own payloads",
    ("benchmarks/alerts.py", "ptipot"): "drives the garden's readings (its payload, its rule scope) through the rules",
    ("benchmarks/alerts.py", "bathy"): "the ingest bench it extends counts each built-in family's messages (0 here)",
    ("benchmarks/alerts.py", "karroad"): "the ingest bench it extends counts each built-in family's messages (0 here)",
    ("benchmarks/fleet_load.py", "ptipot"): "publishes the garden's readings at fleet scale",
    ("benchmarks/paced_publisher.py", "ptipot"): "publishes the garden's readings at a paced rate",
    ("benchmarks/vision.py", "bathy"): "renders its frames with the drone simulator's scenes (ground truth)",
    ("benchmarks/list_routes.py", "ptipot"): "fills each built-in family's tables to time the list routes",
    ("benchmarks/list_routes.py", "bathy"): "fills each built-in family's tables to time the list routes",
    ("benchmarks/list_routes.py", "karroad"): "fills each built-in family's tables to time the list routes",
}


def _word(name: str) -> re.Pattern[str]:
    # a name between non-alphanumerics: `sim-bathy-01`, `device_adapters.bathy`, `'bathy'`, `bathy_records`;
    # not a migration's id (`bathy_0002_...`): ids stay as deployed databases recorded them
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])(?!_[0-9]{{4}})", re.IGNORECASE)


def _registration(line: str) -> bool:
    return line.startswith("from device_adapters import ") or re.fullmatch(r"\s+\w+\.FAMILY,", line) is not None


def _production_files() -> list[Path]:
    files = {p for root in ROOTS for pattern in SOURCES for p in (REPO / root).rglob(pattern)}
    return sorted(p for p in files if "migrations" not in p.relative_to(REPO).parts and "__pycache__" not in p.parts)


def _lines(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    if path.relative_to(REPO).as_posix() == REGISTRY:
        return [line for line in lines if not _registration(line)]
    return lines


def naming(family: Family) -> dict[str, list[str]]:
    """Files outside ``family``'s folder that name it: {path: ['line: text', ...]}."""
    word, own = _word(family.name), family.folder.resolve()
    found: dict[str, list[str]] = {}
    for path in _production_files():
        if path.resolve().is_relative_to(own):
            continue
        hits = [f"{n}: {line.strip()}" for n, line in enumerate(_lines(path), 1) if word.search(line)]
        if hits:
            found[path.relative_to(REPO).as_posix()] = hits
    return found


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_no_production_file_names_the_family_outside_its_folder(family: Family) -> None:
    found = naming(family)
    unexplained = {path: hits for path, hits in found.items() if (path, family.name) not in ALLOWED}
    assert not unexplained, (
        f"{family.name} named outside device_adapters/{family.name}/ (select on a capability, "
        f"device_adapters/capabilities, or derive it from the registry): {unexplained}"
    )


def test_every_allowed_entry_is_still_needed() -> None:
    """An entry whose file no longer names its family goes: the list is the visible count."""
    names = {f.name: f for f in FAMILIES}
    stale = [key for key in ALLOWED if key[1] not in names or key[0] not in naming(names[key[1]])]
    assert not stale, f"remove from ALLOWED: {stale}"


def test_the_scan_sees_a_family_named_where_it_must_not_be() -> None:
    """The matcher itself: a name as a word in code, a string, a comment, an identifier or a topic is found;
    a longer word that contains it is not."""
    word = _word("bathy")
    for text in ("from device_adapters.bathy import x", "family='bathy'", "# Bathy's drone", "bathy_records",
                 "sim-bathy-01", "f'bathy/{d}/frame'"):  # fmt: skip
        assert word.search(text), text
    for text in ("bathymetry", "subathy", "bathyscaphe", "migration bathy_0002_mission_list_index"):
        assert not word.search(text), text
    assert _registration("from device_adapters import bathy, karroad, ptipot")
    assert _registration("    bathy.FAMILY,") and not _registration("    family='bathy',")
