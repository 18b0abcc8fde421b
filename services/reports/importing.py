"""Inspections imported from EN 13508-2 exchange files (issue 23; docs/exchange.md): a contractor's CCTV survey of
the city's pipes lands beside the drone's missions, so that the lab can ask whether the drone finds what the
contractor found (``services/reports/comparison.py``), report it and export it back.

Each inspection of a file (``#B01`` … ``#Z``, or a ``ZB``) becomes a mission with no device (``source =
'import'``, id ``itv-<import>-<n>``) and each observation (two rows for a continuous defect) an observation
confirmed by the file's inspector (``ABH``). A file is checked whole before anything is stored: one fault
refuses it, naming the inspection, the row and the field, the way a sanitation service sends a contractor's
file back. What the platform cannot judge does not refuse a file but is reported with it: a node the city's
manholes do not list, a main code outside the standard's tables, a code the platform's grade table does not
grade (stored ungraded, never given a grade the file did not carry).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal

import psycopg
from psycopg.types.json import Jsonb

from core.en13508 import MAIN_CODES, MATERIAL_VALUES, SHAPE_VALUES
from core.french import PARIS
from core.french import number as number_fr
from services.reports.exchange import DECIMAL, FINISHES, STARTS, ExchangeError, ExchangeFile, Refusal, read, shown
from services.vision.grades import family_of, grade

MAX_INSPECTIONS = 1000
MAX_ROWS = 50_000  # observation rows in a file (a big contractor's delivery: a few thousand)
MAX_TEXT = 2000  # characters in one field
CODE = re.compile(r"[A-Z]{3}")
MAX_WARNINGS = 100
MAX_ROWS_PER_INSPECTION = 5000  # a long pipe's: a few hundred
FIRST_YEAR = 1950  # CCTV inspection began in the 1960s; a year before is a typing error
MARK = re.compile(r"([A-Z])(\d{1,3})")
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%Y%m%d")
TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%H.%M", "%H%M")
# the codes that mark where the inspection ends: their distance is the inspected length
ENDS = ("BCE", "BDC")


class ImportRefused(Refusal):
    """A file the platform will not take, with where the fault is (in English and in French)."""


Where = tuple[str, str]  # where in the file, in English and in French


def _at(number: int, row: int | None = None) -> Where:
    if row is None:
        return f"inspection {number}", f"inspection {number}"
    return f"inspection {number}, observation row {row}", f"inspection {number}, ligne d'observation {row}"


@dataclass
class Observation:
    code: str
    characterisation: str
    start_m: float
    end_m: float | None
    clock_from: int | None
    clock_to: int | None
    quantification: float | None
    remark: str
    grade: int | None
    rows: list[dict[str, str]]  # as they came (one, or two for a continuous defect)
    lines: list[int]  # their places among the inspection's rows


@dataclass
class Inspection:
    number: int
    header: dict[str, str]
    mission: dict[str, Any]  # the mission's columns
    observations: list[Observation] = field(default_factory=list)


WarningCode = Literal[
    "unknown_node", "no_asset_base", "unknown_code", "ungraded", "unknown_value", "no_pipe_reference",
    "already_imported", "more_warnings",
]  # fmt: skip


@dataclass
class FileWarning:
    inspection: int
    code: WarningCode  # the API's answer lists exactly these (services/api/routes/inspection_imports.py)
    field: str
    value: str
    message: str


def _fault(where: Where, english: str, french: str) -> ImportRefused:
    return ImportRefused(f"{where[0]}: {english}", f"{where[1]} : {french}")


def _decimal(value: str) -> float | None:
    """A decimal number as the standard writes one (digits, a point, a sign: never ``nan``, ``1e400``, ``١٢``)."""
    return float(value) if DECIMAL.fullmatch(value.strip()) else None


def _number(value: str, where: Where, name: tuple[str, str]) -> float:
    """``value`` as a number (the reader converted a decimal comma; what is not a number it left as written)."""
    number = _decimal(value)
    if number is None:
        raise _fault(
            where, f"{name[0]} {shown(value)} is not a number", f"{name[1]} {shown(value)} n'est pas un nombre"
        )
    return number


def _clock(value: str | None, where: Where, name: str) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > 12:
        raise _fault(where, f"clock position {name}={shown(value)}: an hour from 1 to 12",
                     f"position horaire {name}={shown(value)} : une heure de 1 à 12")  # fmt: skip
    return int(value) or 12  # some files write noon as 0


def _when(header: dict[str, str], where: Where) -> datetime | None:
    """ABF (date) and ABG (time) where the inspection took place (Paris), as an instant; a time is checked even
    without a date (it stays in the header, and in the export)."""
    at = time(0, 0)
    if header.get("ABG"):
        clock = next((t for f in TIME_FORMATS if (t := _parsed(header["ABG"], f)) is not None), None)
        if clock is None:
            raise _fault(where, f"ABG={shown(header['ABG'])}: a time of day is written 09:40",
                         f"ABG={shown(header['ABG'])} : une heure s'écrit 09:40")  # fmt: skip
        at = clock.time()
    if "ABF" not in header:
        return None
    day = next((d for f in DATE_FORMATS if (d := _parsed(header["ABF"], f)) is not None), None)
    if day is None:
        raise _fault(where, f"ABF={shown(header['ABF'])}: a date is written 2026-03-12, 12.03.2026 or 12/03/2026",
                     f"ABF={shown(header['ABF'])} : une date s'écrit 2026-03-12, 12.03.2026 ou 12/03/2026")  # fmt: skip
    if day.year < FIRST_YEAR or day.date() > (datetime.now(PARIS) + timedelta(days=1)).date():
        raise _fault(where, f"ABF={shown(header['ABF'])}: an inspection from {FIRST_YEAR} to today",
                     f"ABF={shown(header['ABF'])} : une inspection de {FIRST_YEAR} à aujourd'hui")  # fmt: skip
    return datetime.combine(day.date() if isinstance(day, datetime) else day, at, tzinfo=PARIS)


def _parsed(text: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(text.strip(), fmt)
    except ValueError:
        return None


def _mission(number: int, header: dict[str, str]) -> dict[str, Any]:
    where = _at(number)
    for code, value in header.items():
        if len(value) > MAX_TEXT:
            raise _fault(where, f"{code} is longer than {MAX_TEXT} characters",
                         f"{code} dépasse {number_fr(MAX_TEXT)} caractères")  # fmt: skip
    direction = header.get("AAK")
    if direction not in (None, "A", "B"):
        raise _fault(
            where,
            f"AAK={shown(direction)}: A (inspected with the flow) or B (against it)",
            f"AAK={shown(direction)} : A (inspecté dans le sens de l'écoulement) ou B (à contre-sens)",
        )
    diameter = None
    if header.get("ACB"):
        height = _number(header["ACB"], where, ("ACB (height, mm)", "ACB (hauteur, mm)"))
        if not 0 < height < 100_000:
            raise _fault(where, f"ACB={shown(header['ACB'])}: a height in millimetres",
                         f"ACB={shown(header['ACB'])} : une hauteur en millimètres")  # fmt: skip
        diameter = round(height)
    material = header.get("ACD")
    if material in MATERIAL_VALUES:
        material = MATERIAL_VALUES[material][0].lower()
    return {
        "pipe_id": header.get("AAA"), "start_manhole": header.get("AAD") or header.get("AAB"),
        "end_manhole": header.get("AAF"), "direction": {"A": "downstream", "B": "upstream"}.get(direction or ""),
        "diameter_mm": diameter, "material": material, "operator": header.get("ABH"), "notes": header.get("ADE"),
        "started_at": _when(header, where),
    }  # fmt: skip


def _observations(number: int, rows: list[dict[str, str]], decimal: str = ".") -> list[Observation]:
    if len(rows) > MAX_ROWS_PER_INSPECTION:
        raise _fault(_at(number), f"{len(rows)} observation rows: at most {MAX_ROWS_PER_INSPECTION}",
                     f"{number_fr(len(rows))} lignes d'observation : au plus "
                     f"{number_fr(MAX_ROWS_PER_INSPECTION)}")  # fmt: skip
    found: list[Observation] = []
    open_marks: dict[int, Observation] = {}
    for line, row in enumerate(rows, start=1):
        where = _at(number, line)
        if any(len(v) > MAX_TEXT for v in row.values()):
            raise _fault(where, f"a field is longer than {MAX_TEXT} characters",
                         f"un champ dépasse {number_fr(MAX_TEXT)} caractères")  # fmt: skip
        code = row.get("A", "")
        if not code:
            raise _fault(where, "no main code (A)", "pas de code principal (A)")
        if not CODE.fullmatch(code):
            raise _fault(where, f"main code (A) {shown(code)}: three capital letters (BAB)",
                         f"code principal (A) {shown(code)} : trois majuscules (BAB)")  # fmt: skip
        if "I" not in row:
            raise _fault(where, "no distance (I)", "pas de distance (I)")
        distance = _number(row["I"], where, ("distance (I)", "distance (I)"))
        if not 0 <= distance <= 10_000:
            written = row["I"].replace(".", decimal)  # a number: the reader only turned the file's comma into a point
            raise _fault(where, f"distance (I) {shown(written)}: metres from 0 to 10000",
                         f"distance (I) {shown(written)} : des mètres, de 0 à {number_fr(10_000)}")  # fmt: skip
        mark = row.get("J", "")
        if mark:
            m = MARK.fullmatch(mark)
            if m is None:
                raise _fault(
                    where,
                    f"continuous-defect mark (J) {shown(mark)}: a letter and a number (S01, F01)",
                    f"repère de défaut continu (J) {shown(mark)} : une lettre et un nombre (S01, F01)",
                )
            letter, n = m.group(1), int(m.group(2))
            if letter in FINISHES and n in open_marks:
                started = open_marks.pop(n)
                if started.code != code:
                    raise _fault(
                        where,
                        f"{mark} finishes a continuous {started.code} (from {started.start_m} m) but is coded {code}",
                        f"{mark} termine un {started.code} continu (depuis {number_fr(started.start_m)} m) mais est "
                        f"codé {code}",
                    )
                if distance < started.start_m:
                    raise _fault(where, f"{mark} finishes at {distance} m, before it started ({started.start_m} m)",
                                 f"{mark} se termine à {number_fr(distance)} m, avant son début "
                                 f"({number_fr(started.start_m)} m)")  # fmt: skip
                started.end_m = distance
                started.rows.append(row)
                started.lines.append(line)
                continue
            if letter in FINISHES:
                raise _fault(where, f"{mark} finishes a continuous defect that was not started",
                             f"{mark} termine un défaut continu qui n'a pas commencé")  # fmt: skip
            if letter in STARTS and n in open_marks:
                raise _fault(where, f"{mark} starts continuous defect {n} again before it finished",
                             f"{mark} recommence le défaut continu {n} avant sa fin")  # fmt: skip
        # a text quantification (a node's reference) stays in the row as it came
        quantification = _decimal(row["D"]) if row.get("D") else None
        clock_from = _clock(row.get("G"), where, "G")
        clock_to = _clock(row.get("H"), where, "H") or clock_from
        observed = Observation(
            code=code, characterisation=row.get("B", ""), start_m=distance, end_m=None, clock_from=clock_from,
            clock_to=clock_to, quantification=quantification, remark=row.get("F", ""),
            grade=grade(code, quantification, row.get("B", "")) if family_of(code) or code == "BDG" else None,
            rows=[row], lines=[line],
        )  # fmt: skip
        if mark and MARK.fullmatch(mark) and mark[0] in STARTS:
            open_marks[int(mark[1:])] = observed
        found.append(observed)
    if open_marks:
        n, started = next(iter(open_marks.items()))
        raise _fault(_at(number), f"continuous defect {n} ({started.code} from {started.start_m} m) never finishes",
                     f"le défaut continu {n} ({started.code} depuis {number_fr(started.start_m)} m) ne se termine "
                     "jamais")  # fmt: skip
    return found


def inspections_of(exchange: ExchangeFile) -> tuple[list[Inspection], list[FileWarning]]:
    """The file's inspections as missions and observations, checked whole; what cannot be judged, as warnings."""
    if not exchange.inspections:
        raise ImportRefused(
            "the file holds no inspection (#B01 … #Z, or ZB)",
            "le fichier ne contient aucune inspection (#B01 … #Z, ou ZB)",
        )
    if len(exchange.inspections) > MAX_INSPECTIONS:
        raise ImportRefused(
            f"{len(exchange.inspections)} inspections: at most {MAX_INSPECTIONS} in one file",
            f"{number_fr(len(exchange.inspections))} inspections : au plus {number_fr(MAX_INSPECTIONS)} par fichier",
        )
    if sum(len(i.observations) for i in exchange.inspections) > MAX_ROWS:
        raise ImportRefused(
            f"more than {MAX_ROWS} observation rows in one file",
            f"plus de {number_fr(MAX_ROWS)} lignes d'observation dans un fichier",
        )
    found: list[Inspection] = []
    warnings: list[FileWarning] = []  # of one inspection
    odd_values: dict[tuple[str, str], list[int]] = {}  # (ACA or ACD, value) -> the inspections giving it
    for number, raw in enumerate(exchange.inspections, start=1):
        if not raw.header and not raw.observations:
            raise _fault(_at(number), "empty: no header code, no observation", "vide : aucun code d'en-tête, aucune "
                         "observation")  # fmt: skip
        inspection = Inspection(number, dict(raw.header), _mission(number, raw.header))
        for code, values in (("ACA", SHAPE_VALUES), ("ACD", MATERIAL_VALUES)):  # kept as given, and said
            if raw.header.get(code) and raw.header[code] not in values:
                odd_values.setdefault((code, raw.header[code]), []).append(number)
        if not (raw.header.get("AAA") or (raw.header.get("AAD") and raw.header.get("AAF"))):
            unplaced = "no pipe reference (AAA) nor both nodes (AAD, AAF): it cannot be placed"
            warnings.append(FileWarning(number, "no_pipe_reference", "AAA", "", unplaced))
        inspection.observations = _observations(number, raw.observations, exchange.decimal)
        ends = [o.start_m for o in inspection.observations if o.code in ENDS]
        inspection.mission["distance_m"] = max(ends) if ends else max(
            (o.end_m or o.start_m for o in inspection.observations), default=None)  # fmt: skip
        found.append(inspection)
    # what the platform cannot judge, once per file (a delivery of 400 pipes has the same few everywhere), first
    whole_file: list[FileWarning] = []
    for (field_code, value), givers in sorted(odd_values.items()):
        said = f"{field_code}={shown(value)}: not a value of the standard's list, in {len(givers)} inspection(s) " \
               f"(first: {givers[0]})"  # fmt: skip
        whole_file.append(FileWarning(0, "unknown_value", field_code, value[:40], said))
    where: dict[str, set[int]] = {}
    for inspection in found:
        for o in inspection.observations:
            where.setdefault(o.code, set()).add(inspection.number)
    for code, numbers in sorted(where.items()):
        seen_in = f"in {len(numbers)} inspection(s) (first: {min(numbers)})"
        if code not in MAIN_CODES:
            whole_file.append(FileWarning(0, "unknown_code", "A", code,
                                        f"{code} is not a main code of NF EN 13508-2's tables, {seen_in}"))  # fmt: skip
        elif code.startswith(("BA", "BB")) and family_of(code) is None:
            whole_file.append(FileWarning(0, "ungraded", "A", code,
                                        f"{code} ({MAIN_CODES[code][0]}) is not in the platform's grade table, "
                                        f"{seen_in}: stored without a grade"))  # fmt: skip
    return found, bounded(whole_file + warnings)


def bounded(warnings: list[FileWarning]) -> list[FileWarning]:
    """The first ``MAX_WARNINGS`` and how many more (a file of 3,000 unknown codes: the first ones say enough)."""
    others = [w for w in warnings if w.code != "more_warnings"]
    more = sum(int(w.value) for w in warnings if w.code == "more_warnings") + max(0, len(others) - MAX_WARNINGS)
    if not more:
        return warnings
    return others[:MAX_WARNINGS] + [
        FileWarning(0, "more_warnings", "", str(more), f"{more} more warnings of the same kinds")
    ]


@dataclass
class Imported:
    id: int
    sha256: str
    missions: list[str]
    warnings: list[FileWarning]


class AlreadyImported(ValueError):
    def __init__(self, import_id: int) -> None:
        super().__init__(f"this file was imported already (import {import_id})")
        self.import_id = import_id


def _node_warnings(conn: psycopg.Connection[Any], inspections: list[Inspection]) -> list[FileWarning]:
    """Nodes (AAD, AAF) the city's manholes do not list; nothing to check against before any is placed."""
    nodes = {(i.number, code, i.header[code]) for i in inspections for code in ("AAD", "AAF") if i.header.get(code)}
    if not nodes:
        return []
    row = conn.execute("SELECT count(*) AS n FROM manholes").fetchone()
    if not row or not row["n"]:
        return [FileWarning(0, "no_asset_base", "AAD", "", "the platform lists no manhole yet: nodes not checked")]
    known = {r["ref"] for r in conn.execute("SELECT ref FROM manholes WHERE ref = ANY(%s)",
                                            ([n for _, _, n in nodes],))}  # fmt: skip
    return [FileWarning(number, "unknown_node", code, ref, f"node {ref} ({code}) is not among the city's manholes")
            for number, code, ref in sorted(nodes) if ref not in known]  # fmt: skip


def _imported_before(conn: psycopg.Connection[Any], inspections: list[Inspection]) -> list[FileWarning]:
    """An inspection of the same pipe at the same date and time imported already (the same survey delivered
    again in another file: other line endings, a re-export): taken, and said."""
    found = []
    for i in inspections:
        if i.mission["pipe_id"] and i.mission["started_at"]:
            row = conn.execute(
                "SELECT mission_id FROM missions WHERE source = 'import' AND pipe_id = %s AND started_at = %s "
                "ORDER BY mission_id LIMIT 1",
                (i.mission["pipe_id"], i.mission["started_at"]),
            ).fetchone()
            if row:
                found.append(FileWarning(i.number, "already_imported", "AAA", i.mission["pipe_id"],
                                         f"pipe {i.mission['pipe_id']} inspected at this date and time was imported "
                                         f"already ({row['mission_id']})"))  # fmt: skip
    return found


def store(conn: psycopg.Connection[Any], data: bytes, filename: str | None, imported_by: str) -> Imported:
    """Read ``data``, check it whole, and store it in one transaction: the file, its inspections as missions and
    their observations. Raises ImportRefused (the file's fault), AlreadyImported (the same bytes again)."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        exchange, form = read(data)
    except ExchangeError as exc:
        raise ImportRefused(str(exc), exc.french) from exc
    inspections, warnings = inspections_of(exchange)
    with conn.transaction():
        seen = conn.execute("SELECT id FROM inspection_imports WHERE sha256 = %s", (digest,)).fetchone()
        if seen is not None:
            raise AlreadyImported(seen["id"])
        warnings = bounded(warnings + _node_warnings(conn, inspections) + _imported_before(conn, inspections))
        row = conn.execute(
            "INSERT INTO inspection_imports (sha256, filename, format, language, version, size_bytes, content, "
            "imported_by, inspections, observations, warnings) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (sha256) DO NOTHING RETURNING id",
            (digest, filename, form, exchange.language, exchange.version, len(data), data, imported_by,
             len(inspections), sum(len(i.observations) for i in inspections),
             Jsonb([vars(w) for w in warnings])),
        ).fetchone()  # fmt: skip
        if row is None:  # the same file, imported by another request at the same instant
            other = conn.execute("SELECT id FROM inspection_imports WHERE sha256 = %s", (digest,)).fetchone()
            raise AlreadyImported(other["id"] if other else 0)
        import_id = row["id"]
        missions = []
        for inspection in inspections:
            mission_id = f"itv-{import_id}-{inspection.number}"
            missions.append(mission_id)
            m = inspection.mission
            conn.execute(
                "INSERT INTO missions (mission_id, device_id, source, import_id, exchange_header, started_at, "
                "status, pipe_id, start_manhole, end_manhole, direction, diameter_mm, material, operator, notes, "
                "distance_m) VALUES (%s, NULL, 'import', %s, %s, %s, 'completed', %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (mission_id, import_id, Jsonb(inspection.header), m["started_at"], m["pipe_id"], m["start_manhole"],
                 m["end_manhole"], m["direction"], m["diameter_mm"], m["material"], m["operator"], m["notes"],
                 m["distance_m"]),
            )  # fmt: skip
            with conn.cursor().copy(
                "COPY observations (mission_id, code, characterisation, chainage_start_m, chainage_end_m, clock_from, "
                "clock_to, quantification, grade, frames, remark, model, state, reviewed_by, reviewed_at, source, "
                "exchange_fields) FROM STDIN"
            ) as copy:
                for o in inspection.observations:
                    copy.write_row((
                        mission_id, o.code, o.characterisation, o.start_m, o.end_m, o.clock_from, o.clock_to,
                        o.quantification, o.grade, 0, o.remark, "import", "confirmed",
                        m["operator"] or imported_by, m["started_at"] or datetime.now(PARIS), "import",
                        Jsonb({"rows": o.rows, "lines": o.lines}),
                    ))  # fmt: skip
    return Imported(import_id, digest, missions, warnings)
