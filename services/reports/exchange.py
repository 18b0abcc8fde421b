"""EN 13508-2 exchange files (issue 23, item 1; docs/exchange.md): what a sanitation service's asset software and GIS
load after an inspection, in the standard's Annex B transfer format, both forms.

- **Text**: a file header ``#A1`` (character set), ``#A2`` (language), ``#A3`` (field separator), ``#A4``
  (decimal separator), ``#A5`` (text delimiter), ``#A6`` (the standard's version year); per inspection a
  ``#B01=`` line naming the header codes then a line of their values, ``#C=`` naming the observation fields
  then one line per observation, and ``#Z``.
- **XML**: root ``DATA``, the file header ``ZA`` (``A1``…``A6``), one ``ZB`` per inspection holding its header
  codes as elements (``AAA``…``ADE``, in the standard's order) and its observations ``ZC`` (fields ``A``…``N``).

Observation fields: A main code, B and C characterisations, D and E quantifications, F remark, G and H clock
positions, I distance (m), J continuous-defect mark (``S01`` where it starts, ``F01`` where it finishes: a
continuous defect is two lines), K at a joint (``A``), M photo reference, N video reference. Header codes the
drone knows are filled (pipe, nodes, direction, shape, size, material, date, time, operator); what it does not
know (street ``AAJ``, town ``AAN``, weather, cleaning, the anticipated length ``ABQ``) is left out, never
invented. An imported inspection is written back as it came (``from_mission``).

``read`` takes a file as received (text decoded as its ``#A1`` says; XML with any DTD refused), ``parse_text``
and ``parse_xml`` either form, into the same structure (a round trip is exact); a contractor's file as well
(other header codes, German or French text, comma decimals), which ``importing.py`` checks and stores.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring

from core.french import PARIS
from services.reports.labels import french_remark

STANDARD = "EN 13508-2:2003+A1:2011"
VERSION_YEAR = "2011"
OBSERVATION_FIELDS = ("I", "A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "M", "N")
XML_FIELD_ORDER = tuple("ABCDEFGHIJKLMN")
# header codes in the order of the standard's tables (A: location, B: inspection, C: pipe, D: other)
HEADER_ORDER = (
    "AAA", "AAB", "AAC", "AAD", "AAE", "AAF", "AAG", "AAH", "AAI", "AAJ", "AAK", "AAL", "AAM", "AAN", "AAO", "AAP",
    "AAQ", "AAT", "AAU", "AAV", "ABA", "ABB", "ABC", "ABD", "ABE", "ABF", "ABG", "ABH", "ABI", "ABJ", "ABK", "ABL",
    "ABM", "ABN", "ABO", "ABP", "ABQ", "ABR", "ABS", "ACA", "ACB", "ACC", "ACD", "ACE", "ACF", "ACG", "ACH", "ACI",
    "ACJ", "ACK", "ACL", "ACM", "ACN", "ADA", "ADB", "ADC", "ADD", "ADE",
)  # fmt: skip
# the values of header code ACD (NF EN 13508-2 table C4, core/en13508.py) for the materials drones name
MATERIAL_CODES = {
    "concrete": "AG", "reinforced concrete": "AH", "cast iron": "AM", "grey cast iron": "AN", "ductile iron": "AO",
    "vitrified clay": "AE", "clay": "AE", "brick": "AD", "brickwork": "AD", "pvc": "AX", "pvc-u": "AX",
    "pe": "AV", "hdpe": "AV", "polyethylene": "AV", "polypropylene": "AW", "pp": "AW", "steel": "AP",
    "asbestos cement": "AA", "grp": "AL", "fibre cement": "AK", "masonry": "AR",
}  # fmt: skip
# a continuous defect's mark (field J): a letter and a number, the letter by the file's language: S(tart) F(inish)
# in English, A(nfang) B (Ende) in German (as KWB's example file), D(ébut) F(in) in French
STARTS, FINISHES = frozenset("SAD"), frozenset("FBE")


@dataclass
class Inspection:
    header: dict[str, str] = field(default_factory=dict)  # header code -> value, as text
    observations: list[dict[str, str]] = field(default_factory=list)  # field letter -> value, as text


@dataclass
class ExchangeFile:
    language: str = "fr"
    inspections: list[Inspection] = field(default_factory=list)
    charset: str = "UTF-8"
    separator: str = ";"
    decimal: str = ","
    delimiter: str = '"'
    version: str = VERSION_YEAR


def _number(value: float | None, decimal: str = ".") -> str:
    if value is None:
        return ""
    return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", decimal) if value != int(value) else str(int(value))


def from_mission(mission: dict[str, Any], observations: list[dict[str, Any]], language: str = "fr") -> Inspection:
    """A mission and its kept observations (rejected and withdrawn left out) as an EN 13508-2 inspection; numbers
    are written with a decimal point here and converted by the writer.

    An inspection imported from a file (``mission["exchange_header"]``) keeps the header it came with, and each of
    its observations no one has changed since (confirmed as imported, no note) its row(s) as they came: the
    platform exports back what it imported. ``ABQ`` (the anticipated length) is not the drone's: it is left out.
    """
    if mission.get("exchange_header"):
        return Inspection(dict(mission["exchange_header"]), _rows(observations, language, None))
    started = mission.get("started_at")
    if started is not None:  # the date and time of the inspection where it took place (a French file: Paris)
        started = started.astimezone(PARIS)
    direction = {"downstream": "A", "upstream": "B"}.get(mission.get("direction") or "")
    material = MATERIAL_CODES.get((mission.get("material") or "").strip().lower())
    header = {
        "AAA": mission.get("pipe_id"), "AAD": mission.get("start_manhole"), "AAF": mission.get("end_manhole"),
        "AAK": direction, "ABA": STANDARD, "ABC": "A",  # distances measured from node 1 (AAD)
        "ABF": started.date().isoformat() if started else None, "ABG": started.strftime("%H:%M") if started else None,
        "ABH": mission.get("operator"),
        "ACA": "A" if mission.get("diameter_mm") else None,  # circular
        "ACB": str(mission["diameter_mm"]) if mission.get("diameter_mm") else None,
        "ACC": str(mission["diameter_mm"]) if mission.get("diameter_mm") else None, "ACD": material,
    }  # fmt: skip
    return Inspection({k: v for k, v in header.items() if v}, _rows(observations, language, mission.get("started_at")))


def _imported_rows(o: dict[str, Any]) -> list[tuple[int, dict[str, str]]] | None:
    """An imported observation's rows as they came, with their places in the file (None: not imported), and
    whatever a person changed since written over them (the code, the clock positions; the reviewer's note after
    the contractor's remark): an unchanged one exports as it came, a reviewed one keeps its other fields
    (characterisation 2, at a joint, photo, video time)."""
    fields = o.get("exchange_fields") or {}
    if not fields.get("rows"):
        return None
    note = (o.get("review_note") or "").replace("\n", " ").strip()
    clock_from, clock_to = o.get("clock_from"), o.get("clock_to")
    out = []
    for line, row in zip(fields.get("lines", []), fields["rows"], strict=False):
        r = dict(row)
        r["A"] = o["code"]
        if clock_from and (clock_from, clock_to) != (_hour(r.get("G")), _hour(r.get("H") or r.get("G"))):
            r["G"], r["H"] = str(clock_from), str(clock_to) if clock_to != clock_from else ""
        if note:
            r["F"] = f"{r['F']} ; {note}" if r.get("F") else note
        out.append((line, {k: v for k, v in r.items() if v}))
    return out


def _hour(value: str | None) -> int | None:
    """A clock field as the import reads it (``0`` is noon): the rows keep their text, the observation its hour."""
    return (int(value) or 12) if value and value.isascii() and value.isdigit() else None


def _mark_number(row: dict[str, str]) -> int:
    mark = row.get("J", "")
    return int(mark[1:]) if mark[1:].isdigit() else 0


def _video_counter(seen_at: datetime | None, started: datetime | None) -> str:
    """N, the video reference: where in the mission's recording the observation's best frame is, as the time since
    the mission's start (``00:02:10``), what a CCTV video counter shows; empty when either time is unknown."""
    if seen_at is None or started is None:
        return ""
    seconds = int((seen_at - started).total_seconds())
    if not 0 <= seconds < 100 * 3600:
        return ""
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _rows(
    observations: list[dict[str, Any]], language: str = "fr", started: datetime | None = None
) -> list[dict[str, str]]:
    rows: list[tuple[float, float, dict[str, str]]] = []  # (distance, place in the file it came from, row)
    kept = {id(o): _imported_rows(o) for o in observations}
    continuous = max((_mark_number(r) for k in kept.values() if k for _, r in k), default=0)
    for i, o in enumerate(observations, start=1):
        if (imported := kept[id(o)]) is not None:
            rows.extend((float(r.get("I") or 0), line, r) for line, r in imported)
            continue
        base = {
            "A": o["code"], "B": o.get("characterisation") or "", "D": _number(o.get("quantification")),
            # the vision's remarks in the file's language (a person's note as written)
            "F": (o.get("review_note") or (french_remark(o.get("remark") or "") if language == "fr"
                                           else o.get("remark") or "")).replace("\n", " "),  # fmt: skip
            "G": str(o["clock_from"]) if o.get("clock_from") else "",
            "H": str(o["clock_to"]) if o.get("clock_to") and o.get("clock_to") != o.get("clock_from") else "",
            "M": o.get("photo") or f"P{i:03d}", "N": _video_counter(o.get("best_frame_time"), started),
        }  # fmt: skip
        last = float("inf")  # rows written here come after the file's at the same distance
        if o.get("chainage_end_m") is not None:
            continuous += 1
            rows.append((o["chainage_start_m"], last, {**base, "I": _number(o["chainage_start_m"]),
                                                       "J": f"S{continuous:02d}"}))  # fmt: skip
            rows.append((o["chainage_end_m"], last, {**base, "I": _number(o["chainage_end_m"]),
                                                     "J": f"F{continuous:02d}", "M": "", "N": ""}))  # fmt: skip
        else:
            rows.append((o["chainage_start_m"], last, {**base, "I": _number(o["chainage_start_m"])}))
    rows.sort(key=lambda r: (r[0], r[1]))  # the standard's order: along the pipe (stable: the file's at a tie)
    return [{k: v for k, v in r.items() if v} for _, _, r in rows]


# --- the text form ------------------------------------------------------------------------------------------


def _quoted(value: str, f: ExchangeFile) -> str:
    if any(c in value for c in (f.separator, f.delimiter, "\n", "\r")):
        return f.delimiter + value.replace(f.delimiter, f.delimiter * 2) + f.delimiter
    return value


# the fields that hold numbers (a quantification D may also be a node's reference: only a number is converted)
DECIMAL_FIELDS = frozenset({"I", "D", "E", "ABQ", "ACB", "ACC"})
# a decimal number as the standard writes one (digits, a point, a sign: never ``nan``, ``1e400``, ``١٢``)
DECIMAL = re.compile(r"[+-]?[0-9]{1,9}(\.[0-9]{1,9})?|[+-]?\.[0-9]{1,9}")


def shown(value: str, limit: int = 40) -> str:
    """A value of the file quoted in a refusal as the file wrote it: between quotes, cut at ``limit`` characters
    (a refusal names the fault; it never echoes a field of 800 KB)."""
    return f"'{value[:limit]}…'" if len(value) > limit else f"'{value}'"


def _decimal_out(code: str, value: str, f: ExchangeFile) -> str:
    """Numbers (distances, quantifications, sizes) take the file's decimal separator."""
    if code in DECIMAL_FIELDS and f.decimal != "." and DECIMAL.fullmatch(value):
        return value.replace(".", f.decimal)
    return value


def to_text(f: ExchangeFile) -> str:
    lines = [f"#A1={f.charset}", f"#A2={f.language}", f"#A3={f.separator}", f"#A4={f.decimal}",
             f"#A5={f.delimiter}", f"#A6={f.version}"]  # fmt: skip
    for inspection in f.inspections:
        codes = [c for c in HEADER_ORDER if c in inspection.header] + sorted(
            c for c in inspection.header if c not in HEADER_ORDER
        )
        lines.append("#B01=" + f.separator.join(codes))
        lines.append(f.separator.join(_quoted(_decimal_out(c, inspection.header[c], f), f) for c in codes))
        lines.append("#C=" + f.separator.join(OBSERVATION_FIELDS))
        for row in inspection.observations:
            lines.append(f.separator.join(_quoted(_decimal_out(k, row.get(k, ""), f), f) for k in OBSERVATION_FIELDS))
        lines.append("#Z")
    return "\n".join(lines) + "\n"


class Refusal(ValueError):
    """A file refused, and why: ``str()`` in English (the API's clients), ``french`` the same for the console's
    staff."""

    def __init__(self, english: str, french: str) -> None:
        super().__init__(english)
        self.french = french


class ExchangeError(Refusal):
    """A file that is not an EN 13508-2 exchange file, with the line at fault."""


HEADER_CODE = re.compile(r"[A-Z]{3}")
# control characters and line breaks: no field of the standard holds one (its text form is a line per row; an XML
# value's line break would not come back), and PostgreSQL refuses NUL in text
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")  # line breaks too: a field is one line
FIELD_LETTERS = frozenset(XML_FIELD_ORDER)


def _checked(f: ExchangeFile) -> ExchangeFile:
    """The file's own rules, whichever form it came in: one-character separators, a point or a comma for decimals,
    header codes of three capital letters, observation fields A to N, no control character in any value."""
    if len(f.separator) != 1 or len(f.delimiter) > 1 or f.decimal not in (".", ","):
        raise ExchangeError("the field separator (A3) and text delimiter (A5) are one character, the decimal "
                            "separator (A4) a point or a comma",
                            "le séparateur de champs (A3) et le délimiteur de texte (A5) sont d'un caractère, le "
                            "séparateur décimal (A4) un point ou une virgule")  # fmt: skip
    for n, inspection in enumerate(f.inspections, start=1):
        for code, value in inspection.header.items():
            if not HEADER_CODE.fullmatch(code):
                raise ExchangeError(f"inspection {n}: header code {shown(code, 20)} is not three capital letters (AAA)",
                                    f"inspection {n} : le code d'en-tête {shown(code, 20)} n'est pas de trois "
                                    "majuscules (AAA)")  # fmt: skip
            if CONTROL.search(value):
                raise ExchangeError(f"inspection {n}: {code} holds a control character or a line break",
                                    f"inspection {n} : {code} contient un caractère de contrôle ou un saut de "
                                    "ligne")  # fmt: skip
        for row_number, row in enumerate(inspection.observations, start=1):
            for letter, value in row.items():
                if letter not in FIELD_LETTERS:
                    raise ExchangeError(f"inspection {n}, observation row {row_number}: field {shown(letter, 20)} is "
                                        "not one of the standard's A to N",
                                        f"inspection {n}, ligne d'observation {row_number} : le champ "
                                        f"{shown(letter, 20)} n'est pas l'un des champs A à N de la norme")  # fmt: skip
                if CONTROL.search(value):
                    raise ExchangeError(f"inspection {n}, observation row {row_number}: field {letter} holds a "
                                        "control character or a line break",
                                        f"inspection {n}, ligne d'observation {row_number} : le champ {letter} "
                                        "contient un caractère de contrôle ou un saut de ligne")  # fmt: skip
    return f


def _split(line: str, f: ExchangeFile, number: int = 0) -> list[str]:
    """Fields of a line: the separator outside the text delimiter, a doubled delimiter is one; the spaces
    around a field dropped (as the XML form's reader does)."""
    if not f.delimiter or f.delimiter not in line:  # most lines: nothing quoted
        return [v.strip() for v in line.split(f.separator)]
    fields, current, quoted, i = [], [], False, 0
    while i < len(line):
        c = line[i]
        if quoted:
            if c == f.delimiter and line[i + 1 : i + 2] == f.delimiter:
                current.append(c)
                i += 1
            elif c == f.delimiter:
                quoted = False
            else:
                current.append(c)
        elif c == f.delimiter:
            quoted = True
        elif c == f.separator:
            fields.append("".join(current))
            current = []
        else:
            current.append(c)
        i += 1
    if quoted:
        raise ExchangeError(
            f"line {number}: a quoted field is not closed ({f.delimiter})",
            f"ligne {number} : un champ entre délimiteurs n'est pas fermé ({f.delimiter})",
        )
    fields.append("".join(current))
    return [v.strip() for v in fields]


def _decimal_in(code: str, value: str, f: ExchangeFile) -> str:
    """A number written with the file's decimal comma, with a point; anything else as the file wrote it (a node's
    reference, or a value the import will refuse, quoting it as written)."""
    if code in DECIMAL_FIELDS and f.decimal != ".":
        converted = value.replace(f.decimal, ".")
        return converted if DECIMAL.fullmatch(converted) else value
    return value


def _n(count: int, english: str, french: str) -> tuple[str, str]:
    """``1 value`` / ``2 values``, ``1 valeur`` / ``2 valeurs``."""
    plural = "s" if count > 1 else ""
    return f"{count} {english}{plural}", f"{count} {french}{plural}"


def _no_repeats(names: list[str], number: int, what: tuple[str, str]) -> list[str]:
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        named = ", ".join(repeated)[:60]
        en, fr = what
        if len(repeated) > 1:  # "header codes AAA, AAB named twice", "codes d'en-tête AAA, AAB en double"
            en, fr = en + "s", fr.replace(" ", "s ", 1)
        raise ExchangeError(f"line {number}: {en} {named} named twice",
                            f"ligne {number} : {fr} {named} en double")  # fmt: skip
    return names


LINE_BREAK = re.compile(r"\r\n|\r|\n")  # only these: str.splitlines() also splits at NEL, U+2028, FS, VT…


def parse_text(text: str) -> ExchangeFile:
    """The text form. An inspection's header may come in several blocks (``#B01=`` codes then their values,
    ``#B02=`` more codes then theirs…), one line of values each; its observations follow ``#C=``."""
    f = ExchangeFile(inspections=[])
    header_codes: list[str] | None = None  # the codes of the header block waiting for its line of values
    fields: list[str] | None = None
    current: Inspection | None = None
    for number, raw in enumerate(LINE_BREAK.split(text), start=1):
        line = raw
        if not line.strip():
            continue
        if line.startswith("#A"):
            key, _, value = line.partition("=")
            setattr(f, {"#A1": "charset", "#A2": "language", "#A3": "separator", "#A4": "decimal",
                        "#A5": "delimiter", "#A6": "version"}.get(key, "_ignored"), value)  # fmt: skip
        elif re.match(r"#B[0-9]{2}=", line):
            if len(f.separator) != 1 or len(f.delimiter) > 1 or f.decimal not in (".", ","):
                raise ExchangeError(f"line {number}: #A3 (separator) and #A5 (text delimiter) are one character, "
                                    "#A4 (decimal separator) a point or a comma",
                                    f"ligne {number} : #A3 (séparateur) et #A5 (délimiteur de texte) sont d'un "
                                    "caractère, #A4 (séparateur décimal) un point ou une virgule")  # fmt: skip
            if line.startswith("#B01="):
                current, fields = Inspection(), None
                f.inspections.append(current)
            elif current is None or fields is not None:
                raise ExchangeError(f"line {number}: {line[:4]} outside an inspection's header (#B01 … #C)",
                                    f"ligne {number} : {line[:4]} hors de l'en-tête d'une inspection "
                                    "(#B01 … #C)")  # fmt: skip
            header_codes = _no_repeats([c.strip() for c in line[5:].split(f.separator)], number,
                                       ("header code", "code d'en-tête"))  # fmt: skip
        elif line.startswith("#C="):
            if current is None:
                raise ExchangeError(
                    f"line {number}: #C outside an inspection (#B01 … #Z)",
                    f"ligne {number} : #C hors d'une inspection (#B01 … #Z)",
                )
            fields = _no_repeats([c.strip() for c in line[3:].split(f.separator)], number,
                                 ("observation field", "champ d'observation"))  # fmt: skip
            header_codes = None
        elif line.startswith("#Z"):
            header_codes = fields = None
            current = None
        elif line.startswith("#"):
            raise ExchangeError(f"line {number}: {shown(line, 10)} is not a line of the standard's text form",
                                f"ligne {number} : {shown(line, 10)} n'est pas une ligne du format texte de la "
                                "norme")  # fmt: skip
        elif current is not None and header_codes is not None:
            values = _split(line, f, number)
            if len(values) != len(header_codes):
                given, named = _n(len(values), "header value", "valeur"), _n(len(header_codes), "code", "code")
                raise ExchangeError(f"line {number}: {given[0]} for {named[0]}",
                                    f"ligne {number} : {given[1]} d'en-tête pour {named[1]}")  # fmt: skip
            for code, value in zip(header_codes, values, strict=True):
                if code in current.header:
                    raise ExchangeError(
                        f"line {number}: header code {code[:20]} given twice",
                        f"ligne {number} : le code d'en-tête {code[:20]} est donné deux fois",
                    )
                if value:
                    current.header[code] = _decimal_in(code, value, f)
            header_codes = None  # one line of values per block: a second one is data outside it
        elif current is not None and fields is not None:
            values = _split(line, f, number)
            if len(values) != len(fields):
                given, named = _n(len(values), "value", "valeur"), _n(len(fields), "observation field", "champ")
                raise ExchangeError(f"line {number}: {given[0]} for {named[0]}",
                                    f"ligne {number} : {given[1]} pour {named[1]} d'observation")  # fmt: skip
            current.observations.append({k: _decimal_in(k, v, f) for k, v in zip(fields, values, strict=True) if v})
        else:
            raise ExchangeError(f"line {number}: data outside an inspection (#B01 … #Z) or a second line of "
                                "header values",
                                f"ligne {number} : des données hors d'une inspection (#B01 … #Z), ou une seconde "
                                "ligne de valeurs d'en-tête")  # fmt: skip
    return _checked(f)


# --- the XML form -------------------------------------------------------------------------------------------


def to_xml(f: ExchangeFile) -> str:
    root = ET.Element("DATA")
    za = ET.SubElement(root, "ZA")
    for key, value in (("A1", f.charset), ("A2", f.language), ("A3", f.separator), ("A4", f.decimal),
                       ("A5", f.delimiter), ("A6", f.version)):  # fmt: skip
        ET.SubElement(za, key).text = value
    for inspection in f.inspections:
        zb = ET.SubElement(root, "ZB")
        codes = [c for c in HEADER_ORDER if c in inspection.header] + sorted(
            c for c in inspection.header if c not in HEADER_ORDER
        )
        for code in codes:
            ET.SubElement(zb, code).text = _decimal_out(code, inspection.header[code], f)
        for row in inspection.observations:
            zc = ET.SubElement(zb, "ZC")
            for key in XML_FIELD_ORDER:
                if key in row:
                    ET.SubElement(zc, key).text = _decimal_out(key, row[key], f)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def parse_xml(text: str | bytes) -> ExchangeFile:
    """The XML form; bytes are decoded as their XML declaration says. A DTD (and so any entity: the "billion
    laughs", an external file) is refused: the standard's files have none."""
    try:
        root = safe_fromstring(text, forbid_dtd=True)
    except ET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise ExchangeError(f"not well-formed XML: {str(exc)[:120]}",
                            f"XML mal formé (ligne {line}, colonne {column})") from exc  # fmt: skip
    except DefusedXmlException as exc:
        raise ExchangeError(
            "a DTD or entity declaration is refused in an exchange file",
            "une DTD ou une déclaration d'entité est refusée dans un fichier d'échange",
        ) from exc
    except (LookupError, ValueError) as exc:  # an encoding expat does not know or cannot read
        raise ExchangeError(
            f"the XML declaration names an encoding this platform cannot read ({str(exc)[:80]})",
            "la déclaration XML nomme un encodage que la plateforme ne sait pas lire",
        ) from exc
    if root.tag != "DATA":
        raise ExchangeError(
            f"the root element is {shown(root.tag, 20)}, not DATA",
            f"l'élément racine est {shown(root.tag, 20)}, et non DATA",
        )
    f = ExchangeFile(inspections=[])
    za = root.find("ZA")
    if za is not None:
        for key, attr in (("A1", "charset"), ("A2", "language"), ("A3", "separator"), ("A4", "decimal"),
                          ("A5", "delimiter"), ("A6", "version")):  # fmt: skip
            element = za.find(key)
            if element is not None and element.text is not None:
                setattr(f, attr, element.text)
    for zb in root.findall("ZB"):
        inspection = Inspection()
        for child in zb:
            if child.tag == "ZC":
                inspection.observations.append(
                    {c.tag: _decimal_in(c.tag, (c.text or "").strip(), f) for c in child if (c.text or "").strip()}
                )
            elif (child.text or "").strip():
                inspection.header[child.tag] = _decimal_in(child.tag, child.text.strip(), f)  # type: ignore[union-attr]
        f.inspections.append(inspection)
    return _checked(f)


# --- a file as received ---------------------------------------------------------------------------------


UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def read(data: bytes) -> tuple[ExchangeFile, str]:
    """A received file, text or XML (by its first character), as ``(file, "en13508-txt" | "en13508-xml")``. A
    text file is decoded as its ``#A1`` line says (ISO-8859-1 in many German and French files), UTF-8 when it
    says nothing; a UTF-8 or UTF-16 byte order mark says the file's encoding itself."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith(UTF16_BOMS):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise ExchangeError(f"the file begins as UTF-16 but is not (byte {exc.start})",
                                f"le fichier commence comme de l'UTF-16 mais n'en est pas (octet "
                                f"{exc.start})") from exc  # fmt: skip
        data = re.sub(rb"^(\s*<\?xml[^>]*?encoding=)[\"']utf-16[\"']", rb'\1"UTF-8"', data, flags=re.IGNORECASE)
        data = re.sub(rb"^#A1=[^\r\n]*", b"#A1=UTF-8", data)
    start = data.lstrip()[:1]
    if start == b"<":
        return parse_xml(data), "en13508-xml"
    if start != b"#":
        raise ExchangeError("neither an EN 13508-2 text file (it begins with #A1=) nor its XML form (<DATA>)",
                            "ce n'est ni un fichier texte NF EN 13508-2 (qui commence par #A1=), ni sa forme XML "
                            "(<DATA>)")  # fmt: skip
    first = re.split(rb"[\r\n]", data, maxsplit=1)[0].strip()[:40].decode("ascii", "replace")
    charset = first[4:] if first.startswith("#A1=") else "UTF-8"
    try:
        if not codecs.lookup(charset)._is_text_encoding:
            raise LookupError(charset)
        text = data.decode(charset)
    except (LookupError, ValueError) as exc:
        if isinstance(exc, UnicodeDecodeError):
            raise ExchangeError(f"the file is not in {charset}, as its #A1 line says (byte {exc.start})",
                                f"le fichier n'est pas en {charset}, comme le dit sa ligne #A1 (octet "
                                f"{exc.start})") from exc  # fmt: skip
        raise ExchangeError(
            f"#A1={charset}: not a character set this platform knows",
            f"#A1={charset} : un jeu de caractères que la plateforme ne connaît pas",
        ) from exc
    return parse_text(text), "en13508-txt"
