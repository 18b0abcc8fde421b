"""The EN 13508-2 main codes the vision finds, named in French for the staff who read alerts and reports
(NF EN 13508-2 uses these names; the report of issue 23 checks them against the standard's text)."""

from __future__ import annotations

FRENCH = {
    "BAA": "Déformation",
    "BAB": "Fissure",
    "BBA": "Racines",
    "BBB": "Dépôts adhérents",
    "BBC": "Dépôts sédimentés",
    "BBE": "Autres obstacles",
    "BDD": "Niveau d'eau",
    "BDG": "Perte de vue de la caméra",
}


def french(code: str) -> str:
    """``Fissure (BAB)``: the French name and the code (the code alone when it has no name here)."""
    return f"{FRENCH[code]} ({code})" if code in FRENCH else code
