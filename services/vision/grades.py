"""Condition grades (1-5) of observations: the table of docs/vision.md, as data.

Structural codes (BA*) feed a pipe's structural grade, service codes (BB*, BDD) its service grade; BDG is
informational. The version is printed on reports: grades change only with it.
"""

from __future__ import annotations

VERSION = "tlab-grades-2026.11"
STRUCTURAL = frozenset({"BAB", "BAA"})
SERVICE = frozenset({"BBA", "BBB", "BBC", "BBE", "BDD"})
REDUCTION = ((5.0, 2), (10.0, 3), (25.0, 4))  # (below this %, grade); above the last: 5


def grade(code: str, quantification: float | None, characterisation: str = "") -> int:
    if code == "BAB":
        if characterisation == "C":
            return 4
        return 2 if (quantification or 0.0) <= 1.0 else 3
    if code in ("BAA", "BBA", "BBB", "BBC", "BBE"):
        value = quantification or 0.0
        found = next((g for limit, g in REDUCTION if value < limit), 5)
        return max(found, 3) if code == "BBE" else found
    if code == "BDD":
        value = quantification or 0.0
        return 1 if value < 25 else 2 if value <= 50 else 3
    return 1  # BDG and anything informational


def carries_grade(code: str) -> bool:
    """A defect or a condition that has a grade (the standard's BA and BB codes, the vision's water level and lost
    view); a node, a connection, a remark or a photograph (BC, BD codes) has none."""
    return code.startswith(("BA", "BB")) or code in ("BDD", "BDG")


def family_of(code: str) -> str | None:
    """ "structural", "service" or None (not graded into the pipe's grades)."""
    return "structural" if code in STRUCTURAL else "service" if code in SERVICE else None
