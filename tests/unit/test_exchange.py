"""EN 13508-2 exchange files (services/reports/exchange.py): both forms written from a mission, read back
identically, checked against the standard's structure, and a contractor's file (written by hand from the
standard for this test, tests/fixtures/en13508/) read."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.reports.exchange import (
    HEADER_ORDER,
    XML_FIELD_ORDER,
    ExchangeError,
    ExchangeFile,
    from_mission,
    parse_text,
    parse_xml,
    to_text,
    to_xml,
)

CONTRACTOR = Path(__file__).parents[1] / "fixtures" / "en13508" / "contractor-BET-7.txt"
MISSION = {
    "mission_id": "m1", "pipe_id": "BET-7", "start_manhole": "R101", "end_manhole": "R102",
    "direction": "downstream", "diameter_mm": 600, "material": "concrete", "operator": "drone; équipe 2",
    "started_at": datetime(2026, 12, 6, 9, 5, tzinfo=UTC), "distance_m": 10.0,
}  # fmt: skip
OBSERVATIONS = [
    {"code": "BAB", "characterisation": "B", "quantification": None, "clock_from": 1, "clock_to": 3,
     "chainage_start_m": 7.5, "chainage_end_m": None, "remark": 'vue "nette"; à revoir', "photo": "P002",
     "best_frame_time": datetime(2026, 12, 6, 9, 7, 10, tzinfo=UTC)},
    {"code": "BDD", "characterisation": "", "quantification": 22.5, "clock_from": 4, "clock_to": 8,
     "chainage_start_m": 1.0, "chainage_end_m": 9.5, "remark": "", "photo": "P001"},
]  # fmt: skip


def exchange() -> ExchangeFile:
    return ExchangeFile(inspections=[from_mission(MISSION, OBSERVATIONS)])


def test_a_mission_maps_to_the_header_codes_it_knows_and_nothing_invented() -> None:
    header = exchange().inspections[0].header
    assert header == {
        "AAA": "BET-7", "AAD": "R101", "AAF": "R102", "AAK": "A", "ABA": "EN 13508-2:2003+A1:2011", "ABC": "A",
        "ABF": "2026-12-06", "ABG": "10:05", "ABH": "drone; équipe 2", "ACA": "A", "ACB": "600",
        "ACC": "600", "ACD": "AG",
    }  # fmt: skip
    # ABG: 09:05 UTC is 10:05 in Paris, where the inspection took place
    assert "AAJ" not in header and "AAN" not in header and "ADA" not in header  # street, town, weather: unknown
    assert "ABQ" not in header  # the anticipated length of the inspection (table C2): not the drone's to say
    # ACD: table C4's value for concrete (AG), as KWB's transcription of the standard lists it


def test_a_continuous_defect_is_two_lines_and_lines_run_along_the_pipe() -> None:
    rows = exchange().inspections[0].observations
    assert [(r["I"], r["A"], r.get("J")) for r in rows] == [("1", "BDD", "S01"), ("7.5", "BAB", None),
                                                            ("9.5", "BDD", "F01")]  # fmt: skip
    assert rows[1] == {"I": "7.5", "A": "BAB", "B": "B", "F": 'vue "nette"; à revoir', "G": "1", "H": "3",
                       "M": "P002", "N": "00:02:10"}  # fmt: skip  # its best frame 2 min 10 s into the mission


def test_the_text_form_reads_back_identically_with_its_separators_escaped() -> None:
    written = exchange()
    text = to_text(written)
    lines = text.splitlines()
    assert lines[:6] == ["#A1=UTF-8", "#A2=fr", "#A3=;", "#A4=,", '#A5="', "#A6=2011"]
    assert lines[6].startswith("#B01=AAA;AAD;AAF;AAK;ABA") and lines[-1] == "#Z"
    assert '"drone; équipe 2"' in lines[7] and lines[7].endswith(";A;600;600;AG")
    assert '7,5;BAB;B;;;;"vue ""nette""; à revoir";1;3;;;P002;00:02:10' in text  # decimal comma, quotes doubled
    assert parse_text(text) == written


def test_the_xml_form_has_the_standard_s_structure_and_reads_back_identically() -> None:
    written = exchange()
    xml = to_xml(written)
    root = ET.fromstring(xml)
    assert root.tag == "DATA" and [c.tag for c in root] == ["ZA", "ZB"]
    assert [c.tag for c in root.find("ZA")] == ["A1", "A2", "A3", "A4", "A5", "A6"]
    zb = root.find("ZB")
    codes = [c.tag for c in zb if c.tag != "ZC"]
    assert codes == sorted(codes, key=HEADER_ORDER.index)  # the standard's order
    for zc in zb.findall("ZC"):
        tags = [c.tag for c in zc]
        assert tags == sorted(tags, key=XML_FIELD_ORDER.index)
    assert zb.find("ZC/I").text == "1"
    assert parse_xml(xml) == written


def test_a_contractor_s_text_file_is_read() -> None:
    read = parse_text(CONTRACTOR.read_text(encoding="utf-8"))
    (inspection,) = read.inspections
    assert read.language == "fr" and read.decimal == ","
    assert inspection.header["AAJ"] == "Rue de la Gare; côté pair" and inspection.header["AAN"] == "Béthune"
    assert inspection.header["ABQ"] == "10.4" and inspection.header["ABH"] == "Dupont, ITV Nord"
    codes = [(o["I"], o["A"], o.get("J")) for o in inspection.observations]
    assert codes == [("0", "BCD", None), ("1", "BDD", "S01"), ("7.6", "BAB", None), ("9.8", "BDD", "F01"),
                     ("10.4", "BCE", None)]  # fmt: skip
    crack = inspection.observations[2]
    assert crack["F"] == 'Fissure circulaire, "fine"' and crack["K"] == "A" and crack["N"] == "00:02:10"
    assert parse_text(to_text(read)) == read and parse_xml(to_xml(read)) == read  # both forms, both ways


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("#A1=UTF-8\n#A3=;\n#B01=AAA;AAD\nBET-7\n#Z\n", "1 header value for 2 codes"),
        ("#A1=UTF-8\n#A3=;\nBET-7;R1\n", "outside an inspection"),
        ("#A3=;\n#B01=AAA\nX\n#C=I;A\n1;BAB;extra\n#Z\n", "3 values for 2 observation fields"),
    ],
)
def test_a_broken_text_file_says_which_line(text: str, words: str) -> None:
    with pytest.raises(ExchangeError, match=words):
        parse_text(text)


def test_a_broken_xml_file_is_refused() -> None:
    with pytest.raises(ExchangeError, match="not DATA"):
        parse_xml("<ROOT/>")
    with pytest.raises(ExchangeError, match="well-formed"):
        parse_xml("<DATA><ZB></DATA>")


def test_the_video_counter_is_the_time_since_the_mission_s_start_or_nothing() -> None:
    from services.reports.exchange import _video_counter

    start = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    assert _video_counter(datetime(2026, 12, 6, 10, 2, 5, tzinfo=UTC), start) == "01:02:05"
    assert _video_counter(start, start) == "00:00:00"
    assert _video_counter(datetime(2026, 12, 6, 8, 59, tzinfo=UTC), start) == ""  # before the start: no position
    assert _video_counter(None, start) == "" and _video_counter(start, None) == ""


def test_sizes_with_a_decimal_comma_read_and_write_back_identically() -> None:
    """ACB and ACC (height, width) are numbers: a comma in the file, a point in the platform, a comma again out; a
    quantification that is a node's reference (``R1.2``) stays as written."""
    text = (
        '#A1=UTF-8\n#A2=fr\n#A3=;\n#A4=,\n#A5="\n#A6=2011\n#B01=AAA;ACB;ACC\nP1;152,4;300,5\n'
        "#C=I;A;B;C;D;E;F;G;H;J;K;M;N\n0;BCD;A;;R1.2;;;;;;;;\n1,5;BAB;A;A;0,5;;;1;3;;;P01;00:00:42\n#Z\n"
    )
    read = parse_text(text)
    assert read.inspections[0].header == {"AAA": "P1", "ACB": "152.4", "ACC": "300.5"}
    assert read.inspections[0].observations[0]["D"] == "R1.2" and read.inspections[0].observations[1]["D"] == "0.5"
    assert to_text(read) == text
