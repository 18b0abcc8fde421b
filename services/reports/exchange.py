"""EN 13508-2 exchange files (issue 23, item 1, begun): what a sanitation service's asset software and GIS load
after an inspection, in the standard's Annex B transfer format, both forms.

- **Text**: a file header ``#A1`` (character set), ``#A2`` (language), ``#A3`` (field separator), ``#A4``
  (decimal separator), ``#A5`` (text delimiter), ``#A6`` (the standard's version year); per inspection a
  ``#B01=`` line naming the header codes then a line of their values, ``#C=`` naming the observation fields
  then one line per observation, and ``#Z``.
- **XML**: root ``DATA``, the file header ``ZA`` (``A1``…``A6``), one ``ZB`` per inspection holding its header
  codes as elements (``AAA``…``ADE``, in the standard's order) and its observations ``ZC`` (fields ``A``…``N``).

Observation fields: A main code, B and C characterisations, D and E quantifications, F remark, G and H clock
positions, I distance (m), J continuous-defect mark (``S01`` where it starts, ``F01`` where it finishes: a
continuous defect is two lines), K at a joint (``A``), M photo reference, N video reference. Header codes the
drone knows are filled (pipe, nodes, direction, shape, size, material, date, time, operator, length); what it
does not know (street ``AAJ``, town ``AAN``, weather, cleaning) is left out, never invented.

``parse_text`` and ``parse_xml`` read either form back into the same structure (a round trip is exact); they
take a contractor's file as well (other header codes, German or French text, comma decimals), which a later
step lands beside the drone's missions to compare them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from core.french import PARIS

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
# the standard's material codes for the materials drones and contractors name
MATERIAL_CODES = {
    "concrete": "CO", "reinforced concrete": "RC", "cast iron": "CI", "ductile iron": "DI", "vitrified clay": "VC",
    "clay": "VC", "brick": "BR", "pvc": "PVC", "pe": "PE", "hdpe": "PE", "steel": "ST", "asbestos cement": "AC",
    "grp": "GRP",
}  # fmt: skip


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


def from_mission(mission: dict[str, Any], observations: list[dict[str, Any]]) -> Inspection:
    """A mission and its kept observations (rejected and withdrawn left out) as an EN 13508-2 inspection; numbers
    are written with a decimal point here and converted by the writer."""
    started = mission.get("started_at")
    if started is not None:  # the date and time of the inspection where it took place (a French file: Paris)
        started = started.astimezone(PARIS)
    direction = {"downstream": "A", "upstream": "B"}.get(mission.get("direction") or "")
    material = MATERIAL_CODES.get((mission.get("material") or "").strip().lower())
    length = mission.get("distance_m") or mission.get("inspected_m")
    header = {
        "AAA": mission.get("pipe_id"), "AAD": mission.get("start_manhole"), "AAF": mission.get("end_manhole"),
        "AAK": direction, "ABA": STANDARD, "ABC": "A",  # distances measured from node 1 (AAD)
        "ABF": started.date().isoformat() if started else None, "ABG": started.strftime("%H:%M") if started else None,
        "ABH": mission.get("operator"), "ABQ": _number(length) if length else None,
        "ACA": "A" if mission.get("diameter_mm") else None,  # circular
        "ACB": str(mission["diameter_mm"]) if mission.get("diameter_mm") else None,
        "ACC": str(mission["diameter_mm"]) if mission.get("diameter_mm") else None, "ACD": material,
    }  # fmt: skip
    rows: list[dict[str, str]] = []
    continuous = 0
    for i, o in enumerate(observations, start=1):
        base = {
            "A": o["code"], "B": o.get("characterisation") or "", "D": _number(o.get("quantification")),
            "F": (o.get("review_note") or o.get("remark") or "").replace("\n", " "),
            "G": str(o["clock_from"]) if o.get("clock_from") else "",
            "H": str(o["clock_to"]) if o.get("clock_to") and o.get("clock_to") != o.get("clock_from") else "",
            "M": o.get("photo") or f"P{i:03d}",
        }  # fmt: skip
        if o.get("chainage_end_m") is not None:
            continuous += 1
            rows.append({**base, "I": _number(o["chainage_start_m"]), "J": f"S{continuous:02d}"})
            rows.append({**base, "I": _number(o["chainage_end_m"]), "J": f"F{continuous:02d}", "M": ""})
        else:
            rows.append({**base, "I": _number(o["chainage_start_m"])})
    rows.sort(key=lambda r: float(r["I"] or 0))  # the standard's order: along the pipe
    return Inspection({k: v for k, v in header.items() if v}, [{k: v for k, v in r.items() if v} for r in rows])


# --- the text form ------------------------------------------------------------------------------------------


def _quoted(value: str, f: ExchangeFile) -> str:
    if any(c in value for c in (f.separator, f.delimiter, "\n", "\r")):
        return f.delimiter + value.replace(f.delimiter, f.delimiter * 2) + f.delimiter
    return value


def _decimal_out(code: str, value: str, f: ExchangeFile) -> str:
    """Numbers (distances, quantifications, sizes) take the file's decimal separator."""
    if code in ("I", "D", "E", "ABQ") and f.decimal != ".":
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


class ExchangeError(ValueError):
    """A file that is not an EN 13508-2 exchange file, with the line at fault."""


def _split(line: str, f: ExchangeFile) -> list[str]:
    """Fields of a line: the separator outside the text delimiter, a doubled delimiter is one."""
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
    fields.append("".join(current))
    return fields


def _decimal_in(code: str, value: str, f: ExchangeFile) -> str:
    if code in ("I", "D", "E", "ABQ") and f.decimal != ".":
        return value.replace(f.decimal, ".")
    return value


def parse_text(text: str) -> ExchangeFile:
    f = ExchangeFile(inspections=[])
    header_codes: list[str] | None = None
    fields: list[str] | None = None
    current: Inspection | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        if line.startswith("#A"):
            key, _, value = line.partition("=")
            setattr(f, {"#A1": "charset", "#A2": "language", "#A3": "separator", "#A4": "decimal",
                        "#A5": "delimiter", "#A6": "version"}.get(key, "_ignored"), value)  # fmt: skip
        elif line.startswith("#B01="):
            header_codes = line[5:].split(f.separator)
            current = Inspection()
            f.inspections.append(current)
        elif line.startswith("#C="):
            fields = line[3:].split(f.separator)
        elif line.startswith("#Z"):
            header_codes = fields = None
            current = None
        elif line.startswith("#"):
            continue  # other header lines (#B02…) are not read yet
        elif current is not None and header_codes is not None and fields is None:
            values = _split(line, f)
            if len(values) != len(header_codes):
                raise ExchangeError(f"line {number}: {len(values)} header values for {len(header_codes)} codes")
            current.header = {c: _decimal_in(c, v, f) for c, v in zip(header_codes, values, strict=True) if v}
        elif current is not None and fields is not None:
            values = _split(line, f)
            if len(values) != len(fields):
                raise ExchangeError(f"line {number}: {len(values)} values for {len(fields)} observation fields")
            current.observations.append({k: _decimal_in(k, v, f) for k, v in zip(fields, values, strict=True) if v})
        else:
            raise ExchangeError(f"line {number}: data outside an inspection (#B01 … #Z)")
    return f


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


def parse_xml(text: str) -> ExchangeFile:
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DTD or entity is expanded by ElementTree's parser
    except ET.ParseError as exc:
        raise ExchangeError(f"not well-formed XML: {exc}") from exc
    if root.tag != "DATA":
        raise ExchangeError(f"the root element is {root.tag!r}, not DATA")
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
    return f
