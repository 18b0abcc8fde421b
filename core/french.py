"""How staff-facing text writes numbers, durations and times in French (alert texts, incidents, reports).

The API's field names and messages stay in English; what a person of the city reads (an alert's summary, a
webhook's text, the console, a report) is French: a decimal comma, a narrow no-break space before a unit
and in large numbers (French typography), hours as ``10 h 05``, dates ``06/12/2026``, in Europe/Paris.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.en13508 import MATERIAL_VALUES

PARIS = ZoneInfo("Europe/Paris")
NNBSP = "\u202f"  # espace fine insécable: 1 234,5 and 0,5 °C


def number(value: float, digits: int = 2) -> str:
    """``0.5`` -> ``0,5``; ``1234.56`` -> ``1 234,56`` (at most ``digits`` decimals, trailing zeros dropped)."""
    text = f"{value:,.{digits}f}"
    if digits:
        text = text.rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    return text.replace(",", NNBSP).replace(".", ",")


def quantity(value: float, unit: str, digits: int = 2) -> str:
    """``0,5 °C``, ``12 %`` (a unit-less value: the number alone)."""
    return f"{number(value, digits)}{NNBSP}{unit}" if unit else number(value, digits)


def duration(span: timedelta) -> str:
    """``45 s``, ``10 min``, ``2 h``, ``1 h 30 min``, ``3 j``, ``1 j 6 h``: the two largest units."""
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [(days, "j"), (hours, "h"), (minutes, "min")]
    shown = [f"{n} {u}" for n, u in parts if n][:2]
    return " ".join(shown)


def clock(at: datetime) -> str:
    """``10 h 05`` in Paris."""
    local = at.astimezone(PARIS)
    return f"{local.hour} h {local.minute:02d}"


def date_time(at: datetime) -> str:
    """``06/12/2026 à 10 h 05`` in Paris: a date and time in a table or a page (the console, the report)."""
    local = at.astimezone(PARIS)
    return f"{local:%d/%m/%Y} à {clock(at)}"


def moment(at: datetime, now: datetime | None = None) -> str:
    """``à 10 h 05`` the same day in Paris as ``now``, ``le 05/12/2026 à 22 h 40`` otherwise."""
    local = at.astimezone(PARIS)
    today = (now or datetime.now(PARIS)).astimezone(PARIS).date()
    if local.date() == today:
        return f"à {clock(at)}"
    return f"le {local:%d/%m/%Y} à {clock(at)}"


def since(at: datetime, now: datetime | None = None) -> str:
    """``depuis 10 h 05`` the same day in Paris, ``depuis le 05/12/2026 à 22 h 40`` otherwise."""
    said = moment(at, now)
    return f"depuis {said.removeprefix('à ')}" if said.startswith("à ") else f"depuis {said}"


# The objects cameras name (COCO labels, which Frigate and most detectors use), as staff call them
OBJECT_NAMES = {
    "person": "personne", "car": "voiture", "truck": "camion", "bus": "bus", "motorcycle": "moto",
    "bicycle": "vélo", "couch": "canapé", "mattress": "matelas", "bed": "lit", "chair": "chaise",
    "refrigerator": "réfrigérateur", "suitcase": "valise", "backpack": "sac à dos", "handbag": "sac",
    "bag": "sac", "box": "carton", "tire": "pneu", "tv": "téléviseur", "bottle": "bouteille",
}  # fmt: skip


def object_name(label: str) -> str:
    """``couch`` -> ``canapé``; a label not listed is said as the camera named it."""
    return OBJECT_NAMES.get(label, label)


# Pipe materials as drones and contractors name them (EN 13508-2's header code ACA lists them), in French
MATERIALS = {
    "concrete": "béton", "reinforced concrete": "béton armé", "cast iron": "fonte", "ductile iron": "fonte ductile",
    "vitrified clay": "grès", "clay": "grès", "brick": "brique", "pvc": "PVC", "pe": "PE", "hdpe": "PEHD",
    "steel": "acier", "masonry": "maçonnerie", "asbestos cement": "amiante-ciment", "grp": "PRV",
}  # fmt: skip


# and by the names of the standard's table C4 (an imported file's ACD: ``AE`` is read as ``clay``)
STANDARD_MATERIALS = {english.lower(): french for english, french in MATERIAL_VALUES.values()}


def material_name(material: str | None) -> str:
    """``cast iron`` -> ``fonte``; a material not listed is said as given; none -> ``—``."""
    if not material:
        return "—"
    key = material.strip().lower()
    return MATERIALS.get(key) or STANDARD_MATERIALS.get(key, material)


# The city's services (the API's roles, services/auth/roles.py), as staff name them
SERVICE_NAMES = {
    "admin": "administration", "operator": "exploitation de la plateforme", "viewer": "consultation",
    "sanitation": "assainissement", "cleanliness": "propreté", "green_spaces": "espaces verts",
    "police": "police municipale",
}  # fmt: skip
