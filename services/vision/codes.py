"""The EN 13508-2 main codes the vision finds, named in French for the staff who read alerts and reports: the
names of the standard's French edition (core/en13508.py, the standard's tables as data)."""

from __future__ import annotations

from core.en13508 import MAIN_CODES

# what the vision looks for (services/vision/: cracks, deformation, roots, deposits, obstacles, water, lost view)
FOUND = ("BAA", "BAB", "BBA", "BBB", "BBC", "BBE", "BDD", "BDG")
FRENCH = {code: MAIN_CODES[code][1] for code in FOUND}


def french(code: str) -> str:
    """``Fissure (BAB)``: the French name and the code (the code alone when the standard has no such code)."""
    name = MAIN_CODES[code][1] if code in MAIN_CODES else None
    return f"{name} ({code})" if name else code
