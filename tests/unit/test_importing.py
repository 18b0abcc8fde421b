"""A contractor's EN 13508-2 file read into inspections and checked whole (services/reports/importing.py): the
files written from the standard for these tests (tests/fixtures/en13508/, KWB's layout for the German one), the
faults a sanitation service sends a file back for, and the attacks an XML parser invites."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from core.french import PARIS
from services.reports.exchange import ExchangeFile, from_mission, read, to_text, to_xml
from services.reports.importing import FileWarning, ImportRefused, bounded, inspections_of

FIXTURES = Path(__file__).parents[1] / "fixtures" / "en13508"
CONTRACTOR = (FIXTURES / "contractor-BET-7.txt").read_bytes()
# KWB's example layout (kwb.en13508.2, inst/extdata/example_13508_2.txt): ISO-8859-1, German, commas between
# fields and a decimal point, continuous defects marked A1 (Anfang) … B1 (Ende); written here from the standard
GERMAN = """#A1=ISO-8859-1
#A2=de
#A3=,
#A4=.
#A5="
#A6=2011
#B01=AAA,AAD,AAF,AAK,AAJ,ABF,ABG,ABH,ACB,ACD
H-17,S12,S13,B,Müllerstraße,05.07.2018,08:15,Kanal-TV Süd,300,AE
#C=I,A,B,C,D,G,H,J,F
0,BCD,A,,S12,,,,
2.5,BBF,A,,,12,,A1,
4.0,BAJ,A,,20,,,,Muffe verschoben
6.25,BBF,A,,,12,,B1,
31.2,BCE,A,,S13,,,,
#Z
""".encode("iso-8859-1")


def one(data: bytes):  # type: ignore[no-untyped-def]
    exchange, _ = read(data)
    found, warnings = inspections_of(exchange)
    return found, warnings


def test_the_contractor_s_file_becomes_a_mission_and_its_observations() -> None:
    (inspection,), warnings = one(CONTRACTOR)
    assert inspection.mission == {
        "pipe_id": "BET-7", "start_manhole": "R101", "end_manhole": "R102", "direction": "downstream",
        "diameter_mm": 600, "material": "concrete", "operator": "Dupont, ITV Nord", "notes": None,
        "started_at": datetime(2026, 3, 12, 9, 40, tzinfo=PARIS), "distance_m": 10.4,
    }  # fmt: skip
    seen = [(o.code, o.start_m, o.end_m, o.clock_from, o.clock_to, o.quantification, o.grade)
            for o in inspection.observations]  # fmt: skip
    assert seen == [
        ("BCD", 0.0, None, None, None, None, None),  # the start node: its reference in D, no clock, no grade
        ("BDD", 1.0, 9.8, 4, 8, 20.0, 1),  # a continuous water level, S01 … F01: one observation
        ("BAB", 7.6, None, 1, 3, 2.0, 3),  # a 2 mm circumferential crack: graded by the platform's table
        ("BCE", 10.4, None, None, None, None, None),
    ]
    bdd = inspection.observations[1]
    assert [r["J"] for r in bdd.rows] == ["S01", "F01"] and bdd.lines == [2, 4]
    assert inspection.observations[2].remark == 'Fissure circulaire, "fine"'
    assert warnings == []  # every code is the standard's, every defect graded


def test_a_german_file_in_latin_1_with_kwb_s_marks_is_read() -> None:
    (inspection,), warnings = one(GERMAN)
    assert inspection.header["AAJ"] == "Müllerstraße" and inspection.mission["operator"] == "Kanal-TV Süd"
    assert inspection.mission["direction"] == "upstream" and inspection.mission["material"] == "clay"
    assert inspection.mission["started_at"] == datetime(2018, 7, 5, 8, 15, tzinfo=PARIS)
    infiltration = inspection.observations[1]
    assert (infiltration.code, infiltration.start_m, infiltration.end_m) == ("BBF", 2.5, 6.25)
    assert inspection.mission["distance_m"] == 31.2  # the finish node's distance
    # infiltration and a displaced joint: the standard's codes, which the platform's grade table does not grade
    assert {(w.code, w.value) for w in warnings} == {("ungraded", "BAJ"), ("ungraded", "BBF")}
    assert all(o.grade is None for o in inspection.observations)


def _file(rows: str, header: str = "AAA;AAD;AAF\nP1;N1;N2") -> bytes:
    head, values = header.split("\n")
    return (f"#A1=UTF-8\n#A2=fr\n#A3=;\n#A4=,\n#A5=\"\n#A6=2011\n#B01={head}\n{values}\n#C=I;A;B;D;G;H;J\n"
            f"{rows}\n#Z\n").encode()  # fmt: skip


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "neither an EN 13508-2 text file"),
        (b"\x89PNG\r\n\x1a\n", "neither an EN 13508-2 text file"),
        (b"#A1=rot13\n#B01=AAA\nx\n#Z\n", "#A1=rot13: not a character set"),
        (b"#A1=UTF-8\n#B01=AAA\n\xff\xfe\n#Z\n", "not in UTF-8"),
        (b'#A1=UTF-8\n#A2=fr\n#A3=;\n#A4=,\n#A5="\n#A6=2011\n', "holds no inspection"),
        (_file("1;bab;;;;;"), "inspection 1, observation row 1: main code (A) 'bab'"),
        (_file(";BAB;;;;;"), "no distance (I)"),
        (_file("x;BAB;;;;;"), "distance (I) 'x' is not a number"),
        (_file("nan;BAB;;;;;"), "is not a number"),
        (_file("-1;BAB;;;;;"), "metres from 0 to 10000"),
        (_file("1;BAB;;;13;;"), "clock position G='13'"),
        (_file("1;BAB;;;1;;S01"), "continuous defect 1 (BAB from 1.0 m) never finishes"),
        (_file("1;BAB;;;1;;F01"), "F01 finishes a continuous defect that was not started"),
        (_file("1;BDD;;;1;;S01\n2;BAB;;;1;;F01"), "F01 finishes a continuous BDD (from 1.0 m) but is coded BAB"),
        (_file("1;BAB;;;²;;"), "clock position G='²'"),
        (_file("١٢;BAB;;;;;"), "distance (I) '١٢' is not a number"),
        (_file("1e400;BAB;;;;;"), "is not a number"),
        (_file("1;BAB;;;;;", "AAA;ABF\nP1;01.01.0001"), "an inspection from 1950 to today"),
        (_file("1;BAB;;;;;", "AAA;ABF\nP1;31.12.9999"), "an inspection from 1950 to today"),
        (_file("1;BAB;;;;;", "AAA;AAD\nP1;R\x001"), "AAD holds a control character"),
        (_file("1;BAB;;;;;", "AAA;aaa\nP1;x"), "header code 'aaa' is not three capital letters"),
        (_file("\n".join(["1;BAB;;;;;"] * 5001)), "5001 observation rows: at most 5000"),
        (b"#A1=UTF-8\r#A2=fr\r" + b"x" * 100_000, "line 3: data outside an inspection"),
        (b'<?xml version="1.0" encoding="x-klingon"?><DATA/>', "names an encoding this platform cannot read"),
        (b"<DATA><ZA><A4>1</A4></ZA><ZB><AAA>P</AAA></ZB></DATA>", "the decimal separator (A4) a point or a comma"),
        (b'<DATA xmlns:n="urn:x"><ZB><n:AAA>P</n:AAA></ZB></DATA>', "is not three capital letters"),
        (_file("5;BDD;;;1;;S01\n2;BDD;;;1;;F01"), "before it started"),
        (_file("1;BDD;;;1;;S01\n2;BDD;;;1;;S01"), "starts continuous defect 1 again"),
        (_file("1;BDD;;;1;;X"), "continuous-defect mark (J) 'X'"),
        (_file("1;BAB;;;;;", "AAA;AAK\nP1;Z"), "AAK='Z'"),
        (_file("1;BAB;;;;;", "AAA;ABF\nP1;12 mars"), "ABF='12 mars': a date is written 2026-03-12"),
        (_file("1;BAB;;;;;", "AAA;ABF;ABG\nP1;2026-03-12;midi"), "ABG='midi': a time of day is written 09:40"),
        (_file("1;BAB;;;;;", "AAA;ACB\nP1;grand"), "ACB (height, mm) 'grand' is not a number"),
        # a refusal quotes at most 40 characters of a value, however long (an 800 KB code, a 200,000-character root)
        (_file(f"1;{'<b>x</b>' * 100_000};;;;;"), "a field is longer than 2000 characters"),
        (_file(f"1;{'<b>x</b>' * 200};;;;;"), "main code (A) '<b>x</b><b>x</b><b>x</b><b>x</b><b>x</b>…'"),
        (f"<{'R' * 200_000}/>".encode(), "the root element is 'RRRRRRRRRRRRRRRRRRRR…', not DATA"),
        (_file("1;BAB;;;;;", "AAA;ACB\nP1;0"), "a height in millimetres"),
        (_file("1;BAB;;;;;", f"AAA;ADE\nP1;{'x' * 2001}"), "ADE is longer than 2000 characters"),
        (b"<DATA><ZB><ZC><A>BAB</A></ZC></ZB></DATA>", "no distance (I)"),
        (b"<DATA><ZB>", "not well-formed XML"),
        (b"<RAPPORT/>", "the root element is 'RAPPORT', not DATA"),
    ],
)
def test_a_faulty_file_is_refused_whole_saying_where(data: bytes, words: str) -> None:
    with pytest.raises((ImportRefused, ValueError)) as refused:
        one(data)
    assert words in str(refused.value)
    assert len(str(refused.value)) < 400  # the message names the fault; it never echoes the file
    french = refused.value.french  # type: ignore[attr-defined]  # the same, for the console's staff
    assert french and french != str(refused.value) and len(french) < 450


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (_file("7,6x;BAB;;;;;"), "inspection 1, ligne d'observation 1 : distance (I) '7,6x' n'est pas un nombre"),
        (_file("10000,5;BAB;;;;;"), "distance (I) '10000,5' : des mètres, de 0 à 10\u202f000"),
        (_file("1.234,5;BAB;;;;;"), "distance (I) '1.234,5' n'est pas un nombre"),  # as written, not '1,234,5'
        (_file("1;BAB;;;;;", "AAA;ABF\nP1;31.02.2026"), "ABF='31.02.2026' : une date s'écrit 2026-03-12, 12.03.2026"),
        (_file("1;BAB;;;;;", "AAA;ABG\nP1;9 h 40"), "ABG='9 h 40' : une heure s'écrit 09:40"),
        (_file("1;BAB;;;;;", "AAA;ACB\nP1;grand"), "ACB (hauteur, mm) 'grand' n'est pas un nombre"),
        (_file("1;;;;;;"), "inspection 1, ligne d'observation 1 : pas de code principal (A)"),
        (b"<DATA><ZB/></DATA>", "inspection 1 : vide : aucun code d'en-tête, aucune observation"),
        (b"%PDF-1.7", "ce n'est ni un fichier texte NF EN 13508-2"),
        (_file("1;BAB;;;;13;"), "position horaire H='13' : une heure de 1 à 12"),
        (b"#A1=UTF-8\n#B01=AAA;AAA\nP;P\n#Z\n", "ligne 2 : code d'en-tête AAA en double"),
        (b"<RAPPORT/>", "l'élément racine est 'RAPPORT', et non DATA"),
        (b"#A1=UTF-8\n#B01=AAA;AAB;AAA;AAB\nP;P;P;P\n#Z\n", "ligne 2 : codes d'en-tête AAA, AAB en double"),
        (b"#A1=UTF-8\n#B01=AAA;AAD\nP\n#Z\n", "ligne 3 : 1 valeur d'en-tête pour 2 codes"),
        (b"<DATA><ZB>", "XML mal formé (ligne 1, colonne 10)"),  # no English from the parser
    ],
)
def test_a_refusal_says_it_in_french_with_the_value_as_the_file_wrote_it(data: bytes, words: str) -> None:
    with pytest.raises((ImportRefused, ValueError)) as refused:
        one(data)
    assert words in refused.value.french  # type: ignore[attr-defined]


def test_a_quantification_that_is_not_a_decimal_stays_in_its_row_as_it_came() -> None:
    (inspection,), _ = one(_file("1;BAB;;nan;;;\n2;BAB;;1e400;;;\n3;BCD;;R12;;;"))
    assert [o.quantification for o in inspection.observations] == [None, None, None]
    assert [o.rows[0]["D"] for o in inspection.observations] == ["nan", "1e400", "R12"]


def test_a_utf_16_file_with_its_byte_order_mark_is_read() -> None:
    for text in (GERMAN.decode("iso-8859-1").replace("#A1=ISO-8859-1", "#A1=UTF-16"),
                 '<?xml version="1.0" encoding="UTF-16"?><DATA><ZB><AAA>Straße</AAA><ZC><I>1</I><A>BAB</A></ZC>'
                 "</ZB></DATA>"):  # fmt: skip
        (inspection,), _ = one(text.encode("utf-16"))
        assert inspection.header["AAA"] in ("H-17", "Straße")


@pytest.mark.parametrize(
    "xml",
    [
        # the billion laughs: entities expanding to gigabytes
        '<?xml version="1.0"?><!DOCTYPE DATA [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><DATA><ZB><AAA>&c;</AAA></ZB></DATA>',
        # an external entity: the server's own files read into the inspection
        '<?xml version="1.0"?><!DOCTYPE DATA [<!ENTITY x SYSTEM "file:///etc/passwd">]><DATA><ZB><AAA>&x;</AAA>'
        "</ZB></DATA>",
        '<?xml version="1.0"?><!DOCTYPE DATA SYSTEM "http://example.invalid/en13508.dtd"><DATA/>',
    ],
)
def test_an_xml_file_with_a_dtd_is_refused_before_any_entity_is_read(xml: str) -> None:
    with pytest.raises(ValueError, match="DTD or entity declaration is refused"):
        read(xml.encode())


def test_the_platform_s_own_files_read_back_as_the_same_inspection() -> None:
    mission = {"mission_id": "m", "pipe_id": "BET-9", "start_manhole": "R1", "end_manhole": "R2",
               "direction": "downstream", "diameter_mm": 400, "material": "PVC", "operator": "drone",
               "started_at": datetime(2026, 12, 6, 10, 0, tzinfo=PARIS)}  # fmt: skip
    observations = [
        {"code": "BAB", "characterisation": "A", "quantification": 0.5, "clock_from": 12, "clock_to": 12,
         "chainage_start_m": 3.25, "chainage_end_m": None, "remark": "fine", "photo": "P001"},
        {"code": "BBC", "characterisation": "", "quantification": 12.0, "clock_from": 5, "clock_to": 7,
         "chainage_start_m": 4.0, "chainage_end_m": 6.5, "remark": "", "photo": "P002"},
    ]  # fmt: skip
    exchange = ExchangeFile(inspections=[from_mission(mission, observations)])
    for written in (to_text(exchange), to_xml(exchange)):
        (inspection,), _ = one(written.encode())
        assert inspection.mission["material"] == "pvc-u" and inspection.mission["diameter_mm"] == 400
        assert [(o.code, o.start_m, o.end_m, o.clock_from, o.clock_to, o.quantification, o.remark)
                for o in inspection.observations] == [("BAB", 3.25, None, 12, 12, 0.5, "fine"),
                                                      ("BBC", 4.0, 6.5, 5, 7, 12.0, "")]  # fmt: skip


def test_an_inspection_s_header_in_several_blocks_is_read_whole_and_padding_dropped() -> None:
    text = b"#A1=UTF-8\n#A3=;\n#B01=AAA;AAD\n BET-9 ;R1\n#B02=AAF;ABH\nR2; Dupont \n#C=I;A\n1;BAB\n#Z\n"
    (inspection,), _ = one(text)
    assert inspection.header == {"AAA": "BET-9", "AAD": "R1", "AAF": "R2", "ABH": "Dupont"}


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"#A3=;\n#B01=AAA\nA\nB\n#C=I;A\n1;BAB\n#Z\n", "line 4: data outside an inspection (#B01 … #Z) or a second"),
        (b"#A3=;\n#B01=AAA;AAA\nA;B\n#Z\n", "header code AAA named twice"),
        (b"#A3=;\n#B01=AAA\nA\n#B02=AAA\nB\n#Z\n", "header code AAA given twice"),
        (b"#A3=;\n#B01=AAA\nA\n#C=I;A;A\n1;BAB;BAC\n#Z\n", "observation field A named twice"),
        (b'#A3=;\n#A5="\n#B01=AAA\nA\n#C=I;A;F\n1;BAB;"open\n#Z\n', "a quoted field is not closed"),
        (b"#A3=;\n#B01=AAA\nA\n#C=I;A;F\n1;BAB;a\xc2\x85b\n#Z\n", "holds a control character or a line break"),
        (b"#A3=;\n#B01=AAA\nA\n#C=I;A;F\n1;BAB;a\xe2\x80\xa8b\n#Z\n", "holds a control character or a line break"),
        (b"<DATA><ZB><AAA>P</AAA><ZC><I>1</I><A>BAB</A><F>two\nlines</F></ZC></ZB></DATA>", "or a line break"),
        (b"#A3=;\n#B07=AAA\nA\n#Z\n", "#B07 outside an inspection's header"),
        (b"#A3=;\n#B01=AAA\nA\n#X=1\n#Z\n", "is not a line of the standard's text form"),
    ],
)
def test_a_header_or_a_row_that_would_be_read_wrong_is_refused(data: bytes, words: str) -> None:
    with pytest.raises(ValueError) as refused:
        one(data)
    assert words in str(refused.value)


def test_warnings_stop_at_a_hundred_and_say_how_many_more() -> None:
    rows = "\n".join(f"1;Z{chr(65 + i // 26)}{chr(65 + i % 26)};;;;;" for i in range(300))
    _, warnings = one(_file(rows))
    assert len(warnings) == 101 and warnings[-1].code == "more_warnings" and warnings[-1].value == "200"


def test_a_decimal_comma_is_read_in_every_number_of_the_file_and_written_back() -> None:
    """ACB (height) and ACC (width) are numbers too: ``152,4`` in a file whose #A4 is a comma is 152.4 mm."""
    (inspection,), _ = one(_file("1,5;BAB;;;;;", "AAA;ACB;ACC\nP1;152,4;300,5"))
    assert inspection.mission["diameter_mm"] == 152 and inspection.observations[0].start_m == 1.5
    assert inspection.header["ACC"] == "300.5"


def test_a_shape_or_material_outside_the_standard_s_lists_is_kept_and_said() -> None:
    (inspection,), warnings = one(_file("1;BAB;;;;;", "AAA;ACA;ACD\nP1;Q;=SUM(1)"))
    assert inspection.header["ACA"] == "Q"
    assert [(w.code, w.field, w.value) for w in warnings if w.code == "unknown_value"] == [
        ("unknown_value", "ACA", "Q"), ("unknown_value", "ACD", "=SUM(1)")]  # fmt: skip


def test_the_file_s_own_warnings_come_first_and_the_bound_holds_after_more_are_added() -> None:
    """150 inspections of an unknown shape and an unknown code: two warnings for the file (each once, with a count),
    not 150 that push the code's out; warnings added later (the nodes') keep the bound and the count right."""
    blocks = "".join(f"#B01=AAA;ACA\nP{i};Q\n#C=I;A\n1;BXX\n#Z\n" for i in range(150))
    _, warnings = one(f"#A1=UTF-8\n#A3=;\n#A4=,\n{blocks}".encode())
    assert [(w.code, w.value) for w in warnings] == [("unknown_value", "Q"), ("unknown_code", "BXX")]
    assert "in 150 inspection(s)" in warnings[0].message
    many = [FileWarning(i, "unknown_node", "AAD", f"N{i}", "") for i in range(150)]
    first = bounded(many)
    assert len(first) == 101 and first[-1].value == "50"
    again = bounded(first + [FileWarning(1, "already_imported", "AAA", "P", "")])
    assert len(again) == 101 and again[-1].code == "more_warnings" and again[-1].value == "51"
