"""Default rule packs: each family's ``alerts.toml`` (in its folder) and the platform's (``platform.toml``
here), loaded when ``tlab alerts`` starts.

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
from services.alerts.rules import AnyRule, Rule
from services.alerts.store import save_pack
from services.alerts.validation import problem_of

RULES = TypeAdapter(list[Rule])
PACK_FILE = "alerts.toml"
PLATFORM_PACK = Path(__file__).resolve().parent / "platform.toml"


def family_pack(family: Family) -> list[AnyRule]:
    return _pack(family.folder / PACK_FILE, family.name)


def platform_pack() -> list[AnyRule]:
    """The platform's own rules (every family's devices), routed to the operator."""
    return _pack(PLATFORM_PACK, "*")


def _pack(path: Path, family: str) -> list[AnyRule]:
    if not path.exists():
        return []
    entries: list[dict[str, Any]] = tomllib.loads(path.read_text()).get("rule", [])
    for entry in entries:
        entry.setdefault("kind", "threshold")
        entry.setdefault("scope", {"family": family})
    try:
        rules: list[AnyRule] = RULES.validate_python(entries)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    for rule in rules:  # the API's check too: a pack rule the evaluator cannot run stops the start, loudly
        problem = problem_of(rule)
        if problem is not None:
            raise ValueError(f"{path}: rule {rule.name!r}: {problem.field}: {problem.message}")
    return rules


def load_packs(conn: psycopg.Connection[Any]) -> int:
    """Write every family's pack; returns how many rules were inserted or updated."""
    written = sum(save_pack(conn, family_pack(f), source=f"pack:{f.name}") for f in FAMILIES)
    return written + save_pack(conn, platform_pack(), source="pack:platform")
