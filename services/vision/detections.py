"""What a detector reports for one frame: a code where it was seen, how much, how sure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Detection:
    code: str  # EN 13508-2 main code: BAB, BAA, BBA, BBB, BBC, BBE, BDG, BDD
    clock_from: int
    clock_to: int
    quantification: float | None  # the code's unit (%, or None where it has none)
    confidence: float  # 0-1
    characterisation: str = ""  # EN 13508-2's letter (BDG: C steam, Z other), or a remark for the report
    remark: str = ""
    # where it is in the frame, as a polygon of (x, y) pixels (empty: the whole frame); drawn on the
    # observation's annotated copy of its best frame, never on the frame itself
    outline: tuple[tuple[int, int], ...] = ()
