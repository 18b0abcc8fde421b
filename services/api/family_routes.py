"""The families' own routes, mounted from their folders (``Family.api``), and which family each serves."""

from __future__ import annotations

import importlib

from fastapi import APIRouter

from device_adapters.family import Family
from device_adapters.registry import FAMILIES
from services.api.kit import KIT


def _build() -> list[tuple[Family, APIRouter]]:
    routers = []
    for family in FAMILIES:
        if family.api:
            router: APIRouter = importlib.import_module(family.api).routes(KIT)
            routers.append((family, router))
    return routers


FAMILY_ROUTERS: list[tuple[Family, APIRouter]] = _build()


def family_of_routes() -> dict[tuple[str, str], Family]:
    """(method, /v1 template) -> the family whose data the route serves."""
    served: dict[tuple[str, str], Family] = {}
    for family, router in FAMILY_ROUTERS:
        for route in router.routes:
            for method in getattr(route, "methods", ()):
                served[(method, f"/v1{route.path}")] = family  # type: ignore[attr-defined]
    return served
