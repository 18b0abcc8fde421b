"""Default rule packs: each family's ``alerts.toml`` (in its folder), loaded when ``tlab alerts`` starts.

A pack's rules get the family as their scope; a rule of the pack that a person has since edited (its
``source`` is no longer the pack's) is left as edited (services/alerts/store.py: ``save_pack``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import psycopg
from pydantic import TypeAdapter

from device_adapters.family import Family
from device_adapters.registry import FAMILIES
from services.alerts.rules import Absent, Rule, Threshold
from services.alerts.store import save_pack

RULES = TypeAdapter(list[Rule])
PACK_FILE = "alerts.toml"


def family_pack(family: Family) -> list[Threshold | Absent]:
    path: Path = family.folder / PACK_FILE
    if not path.exists():
        return []
    entries: list[dict[str, Any]] = tomllib.loads(path.read_text()).get("rule", [])
    for entry in entries:
        entry.setdefault("kind", "threshold")
        entry.setdefault("scope", {"family": family.name})
    try:
        return RULES.validate_python(entries)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def load_packs(conn: psycopg.Connection[Any]) -> int:
    """Write every family's pack; returns how many rules were inserted or updated."""
    return sum(save_pack(conn, family_pack(f), source=f"pack:{f.name}") for f in FAMILIES)
