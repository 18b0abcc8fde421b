"""The families' own routes, mounted from their folders (``Family.api``), and which family each serves; the
capabilities' routes (``capabilities.API_MODULES``), mounted once each while a family provides it."""

from __future__ import annotations

import importlib

from fastapi import APIRouter

from device_adapters.capabilities import API_MODULES, Capability
from device_adapters.family import Family
from device_adapters.registry import FAMILIES, providing
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


def _build_capabilities() -> list[tuple[Capability, APIRouter]]:
    return [
        (capability, importlib.import_module(module).routes(KIT))
        for capability, module in API_MODULES.items()
        if providing(capability)
    ]


CAPABILITY_ROUTERS: list[tuple[Capability, APIRouter]] = _build_capabilities()


def capability_of_routes() -> dict[tuple[str, str], Capability]:
    """(method, /v1 template) -> the capability whose data the route serves."""
    served: dict[tuple[str, str], Capability] = {}
    for capability, router in CAPABILITY_ROUTERS:
        for route in router.routes:
            for method in getattr(route, "methods", ()):
                served[(method, f"/v1{route.path}")] = capability  # type: ignore[attr-defined]
    return served
