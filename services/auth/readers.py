"""Who may read a family's data, and so which service a rule on that family may alert.

A family declares its readers (``device_adapters/<family>/__init__.py``: ``Readers``); the API's policy
(services/auth/policy.py) narrows its data routes to them. An alert shows its family's data too (its trigger
value, the readings around the trigger), so a rule may be routed only to a service that reads its family:
found probing the platform (issue 19), a rule on sewer gas routed to green_spaces gave green_spaces H2S
readings that ``/readings`` refused it. This module imports nothing of the web layer, so the alert worker
and the rule checks can use it as the API does.
"""

from __future__ import annotations

from device_adapters.family import EVERY_ROLE, Family
from device_adapters.registry import FAMILIES
from services.auth.roles import ALL_ROLES, Role
from services.auth.tokens import Principal

# Data whose family is not known (a medium stored before families were recorded): the platform's staff.
STAFF = frozenset({Role.ADMIN, Role.OPERATOR})
EVERY_FAMILY = "*"


def reader_roles(family: Family) -> frozenset[Role]:
    """The roles that may read ``family``'s data, as the family declares them."""
    roles = family.readers.roles
    return ALL_ROLES if EVERY_ROLE in roles else frozenset(Role(r) for r in roles)


def readers_of(family: str) -> frozenset[Role]:
    """The roles that may read ``family``'s data; for ``"*"`` (a rule on every family), those that may read
    every family's; for a family the platform does not know, its staff."""
    readers = {f.name: reader_roles(f) for f in FAMILIES}
    if family == EVERY_FAMILY:
        return frozenset.intersection(ALL_ROLES, *readers.values())
    return readers.get(family, STAFF)


def visible_services(principal: Principal) -> list[str] | None:
    """The services whose alerts (and silences) ``principal`` sees: a role is a service; None: all of them
    (admin, operator). One rule for the alert list, its stream and the silences."""
    if principal.roles & {Role.ADMIN, Role.OPERATOR}:
        return None
    return sorted(r.value for r in principal.roles)


def _names(roles: frozenset[Role]) -> str:
    return ", ".join(sorted(r.value for r in roles)) or "none"


def routing_problem(service: str, family: str) -> str | None:
    """Why alerts on ``family`` may not be routed to ``service`` (a sentence naming both), or None.
    A service that is not a role is not this check's to judge (the rule checks refuse it)."""
    try:
        role = Role(service)
    except ValueError:
        return None
    readers = readers_of(family)
    if role in readers:
        return None
    if family == EVERY_FAMILY:
        unread = sorted(f.name for f in FAMILIES if role not in reader_roles(f))
        return (
            f"service {service!r} may not read {', '.join(unread)} data, and a rule on every family ('*') shows "
            f"every family's data: route it to a service that reads them all ({_names(readers)})"
        )
    return (
        f"service {service!r} may not read {family} data, and its alerts would show it: route the rule to a "
        f"reader of {family} data ({_names(readers)})"
    )
