"""Default rule packs, loaded when ``tlab alerts`` starts: each family's ``alerts.toml`` (in its folder), each
capability's (``device_adapters/capabilities/<capability>/alerts.toml``) and the platform's (``platform.toml``
here).

A family's pack is scoped to the family (source ``pack:<family>``). A capability's pack holds the rules that
come with what a family provides (an incident's ``dumping_suspected``, a pipe defect, the gases in a pipe):
it is expanded once per providing family, scoped to that family (source ``pack:<capability>``), so a second
camera vendor or inspection drone gets them by declaring the capability. Names stay unique (the rules table
keys rules on them, silences and alerts name them): a family's copy keeps the name the database already
has for it; a new copy takes the pack's name if no rule holds it, ``<name>@<family>`` otherwise
(``rule_names``). A pack rule a person has since edited (its ``source`` is no longer the pack's) is left as
edited (services/alerts/store.py: ``save_pack``).

Every pack rule must pass the API's checks (the evaluator can run it, its service may read its family's data):
a pack that fails them stops the start, loudly. For a capability's rule that means a providing family whose
readers exclude the rule's service stops ``tlab alerts`` (fail closed; docs/alerts.md, "Default packs").
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from pydantic import TypeAdapter

from device_adapters import capabilities
from device_adapters.capabilities import Capability
from device_adapters.family import Family
from device_adapters.registry import FAMILIES, providing
from services.alerts.rules import AnyRule, Rule
from services.alerts.store import save_pack
from services.alerts.validation import problem_of
from services.auth.readers import EVERY_FAMILY, reader_roles, routing_problem
from services.auth.roles import Role

logger = logging.getLogger(__name__)

RULES = TypeAdapter(list[Rule])
PACK_FILE = "alerts.toml"
PLATFORM_PACK = Path(__file__).resolve().parent / "platform.toml"
CAPABILITIES = Path(capabilities.__file__).resolve().parent
FAMILY_MARK = "@"  # <capability rule>@<family>: the copy of a family that did not get the pack's own name


def family_pack(family: Family) -> list[AnyRule]:
    """The rules of the family's own ``alerts.toml``."""
    path = family.folder / PACK_FILE
    return _checked(path, _scoped(_entries(path), family.name), family)


def platform_pack() -> list[AnyRule]:
    """The platform's own rules (every family's devices), routed to the operator."""
    return _checked(PLATFORM_PACK, _scoped(_entries(PLATFORM_PACK), EVERY_FAMILY), None)


def capability_pack_file(capability: Capability) -> Path:
    return CAPABILITIES / capability.value / PACK_FILE


def capability_source(capability: Capability) -> str:
    return f"pack:{capability.value}"


@dataclass(frozen=True)
class StoredName:
    """A rule name in the rules table: the family its scope names, and who wrote it (``source``)."""

    family: str | None
    source: str


def capability_pack(
    capability: Capability,
    stored: Mapping[str, StoredName] | None = None,
    providers: Sequence[Family] | None = None,
) -> list[AnyRule]:
    """The capability's rules, one copy per providing family, scoped to it. ``stored``: the rules table's names
    (``stored_names``), so that each family's copy keeps its name (``rule_names``); none: as on a new
    database. A rule on a metric a family does not measure (a drone without a gas sensor declares the
    telemetry metrics it fills in) has nothing to watch there: that family gets no copy."""
    path = capability_pack_file(capability)
    families = providing(capability) if providers is None else tuple(providers)
    rules: list[AnyRule] = []
    for entry in _entries(path):
        name = str(entry.get("name", ""))
        if "family" in entry.get("scope", {}):
            raise ValueError(f"{path}: rule {name!r}: a capability's rule is scoped to each family that provides it")
        metric = entry.get("metric")
        measuring = [f for f in families if metric is None or metric in {m.name for m in f.adapter.metrics}]
        for skipped in (f for f in families if f not in measuring):
            logger.info(
                "alerts: a capability's rule has nothing to watch in a family",
                extra={"rule": name, "family": skipped.name, "metric": metric, "capability": capability.value},
            )
        names = rule_names(name, [f.name for f in measuring], stored or {}, capability_source(capability))
        for family in measuring:
            copy = {**entry, "name": names[family.name], "scope": {**entry.get("scope", {}), "family": family.name}}
            try:
                rules += _checked(path, [copy], family)
            except ValueError as exc:
                raise ValueError(f"{exc} (family {family.name} provides {capability.value})") from exc
    return rules


def rule_names(name: str, families: Sequence[str], stored: Mapping[str, StoredName], source: str) -> dict[str, str]:
    """The name of each family's copy of the pack rule ``name`` (the pack's ``source``).

    A family's copy keeps the name the database has for it: the pack's own name if that row is scoped to the
    family, ``name@family`` if that row exists. The pack's own name, if no family holds it so, goes to the
    first family without a copy (in registry order) when no row has it, or when a person made that row
    theirs (edited, whatever its scope now: it stands for that family's copy, left as edited, as before
    capability packs); a row the pack wrote for a family that no longer provides the capability keeps it.
    Every other family: ``name@family``. So deployed databases' copies keep their names whatever families are
    registered since, or in which order, and a new family's copy never takes a name another row holds."""
    held = stored.get(name)
    names: dict[str, str] = {}
    for family in families:
        if held is not None and held.family == family:
            names[family] = name
        elif f"{name}{FAMILY_MARK}{family}" in stored:
            names[family] = f"{name}{FAMILY_MARK}{family}"
    free = name not in names.values() and (held is None or held.source != source)
    for family in (f for f in families if f not in names):
        names[family] = name if free else f"{name}{FAMILY_MARK}{family}"
        free = False
    return names


def default_rules(family: Family) -> list[AnyRule]:
    """The default rules ``family`` gets: its own pack's and its capabilities' copies for it (names as on a
    new database)."""
    found = family_pack(family)
    for capability in sorted(family.provides):
        found += [r for r in capability_pack(capability) if r.scope.family == family.name]
    return found


def stored_names(conn: psycopg.Connection[Any]) -> dict[str, StoredName]:
    """Every rule's name in the rules table, with its scope's family and its source (``rule_names``)."""
    rows = conn.execute("SELECT name, definition->'scope'->>'family' AS family, source FROM alert_rules").fetchall()
    return {r["name"]: StoredName(r["family"], r["source"]) for r in rows}


def all_packs(stored: Mapping[str, StoredName] | None = None) -> list[tuple[str, list[AnyRule]]]:
    """Every default pack as (source, rules); raises if two packs name the same rule (the second would
    never be written: the name is taken)."""
    packs = [(f"pack:{f.name}", family_pack(f)) for f in FAMILIES]
    packs += [(capability_source(c), capability_pack(c, stored)) for c in Capability if providing(c)]
    packs.append(("pack:platform", platform_pack()))
    _refuse_duplicates(packs)
    return packs


def load_packs(conn: psycopg.Connection[Any]) -> int:
    """Write every default pack; returns how many rules were inserted or updated."""
    return sum(save_pack(conn, rules, source=source) for source, rules in all_packs(stored_names(conn)))


def _refuse_duplicates(packs: Iterable[tuple[str, list[AnyRule]]]) -> None:
    seen: dict[str, str] = {}
    for source, rules in packs:
        for rule in rules:
            if rule.name in seen:
                raise ValueError(f"rule {rule.name!r} is in two default packs ({seen[rule.name]}, {source})")
            seen[rule.name] = source


def _entries(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    entries: list[dict[str, Any]] = tomllib.loads(path.read_text()).get("rule", [])
    return entries


def _scoped(entries: list[dict[str, Any]], family: str) -> list[dict[str, Any]]:
    return [{"scope": {"family": family}, **entry} for entry in entries]


def _checked(path: Path, entries: list[dict[str, Any]], family: Family | None) -> list[AnyRule]:
    """The pack's rules, once the API's checks pass: ``family`` is the one they watch (None: every family)."""
    for entry in entries:
        entry.setdefault("kind", "threshold")
    try:
        rules: list[AnyRule] = RULES.validate_python(entries)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    for rule in rules:  # a pack rule the evaluator cannot run, or whose alerts would leak, stops the start
        problem = problem_of(rule)
        if problem is not None:
            raise ValueError(f"{path}: rule {rule.name!r}: {problem.field}: {problem.message}")
        unreadable = _routing_problem(rule, family)
        if unreadable is not None:
            raise ValueError(f"{path}: rule {rule.name!r}: service: {unreadable}")
    return rules


def _routing_problem(rule: AnyRule, family: Family | None) -> str | None:
    """The API's routing check (services/auth/readers.py), on the readers ``family`` declares."""
    if family is None or rule.scope.family != family.name:
        return routing_problem(rule.service, rule.scope.family)
    readers = reader_roles(family)
    if Role(rule.service) in readers:  # problem_of has checked that it is a role
        return None
    names = ", ".join(sorted(r.value for r in readers)) or "none"
    return (
        f"service {rule.service!r} may not read {family.name} data, and its alerts would show it: route the rule "
        f"to a reader of {family.name} data ({names}), or let the service read the family (its Readers)"
    )
