"""A contractor's EN 13508-2 file imported through the API beside a drone mission the real vision worker analysed,
on the real database (issue 23, items 1 and 4): the drone's inspection compared with the contractor's, the
report showing it, the platform's own exports imported back and exported again identically, roles, a second
import of the same file, a faulty file, removal."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from services.reports.exchange import read
from tests.integration.scenes import inspected_mission

pytestmark = pytest.mark.integration


def contractor_file(pipe: str, start: str, end: str) -> bytes:
    """What a CCTV contractor delivers for the scene's pipe (scenes.CRACKED: a crack over the crown at 4.5 m of a
    10 m pipe), written from the standard: nodes, the crack a little off (4.6 m, 11 h to 1 h), a displaced
    joint and a connection the drone's vision does not look for. In ISO-8859-1, as many contractors' software
    writes it."""
    return f"""#A1=ISO-8859-1
#A2=fr
#A3=;
#A4=,
#A5="
#A6=2011
#B01=AAA;AAD;AAF;AAJ;AAK;AAN;ABA;ABE;ABF;ABG;ABH;ACA;ACB;ACD;ACM
{pipe};{start};{end};Rue des Écoles;A;Béthune;EN 13508-2:2003+A1:2011;A;2026-03-12;09:40;ITV Nord (É. Dupont);A;600;AG;A
#C=I;A;B;C;D;G;H;J;K;F;M
0;BCD;A;;{start};;;;;;P01
2,1;BAJ;A;;15;;;;;joint décalé;P02
4,6;BAB;A;A;1;11;1;;;fissure circulaire;P03
7,8;BCA;A;A;150;3;;;;branchement;P04
10;BCE;A;;{end};;;;;;P05
#Z
""".encode("iso-8859-1")


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_contractor_s_file_lands_beside_the_drone_s_mission_and_the_two_are_compared(
    stack: Any, db: Any, uid: str, api: Any, issue_token: Any
) -> None:
    drone_mission = inspected_mission(stack, db, uid)
    pipe = db.execute("SELECT pipe_id FROM missions WHERE mission_id = %s", (drone_mission,)).fetchone()["pipe_id"]
    start, end = f"R1-{uid}", f"R2-{uid}"
    db.execute("UPDATE missions SET start_manhole = %s, end_manhole = %s WHERE mission_id = %s",
               (start, end, drone_mission))  # fmt: skip
    sanitation = headers(issue_token("sanitation"))
    assert api.put(f"/v1/manholes/{start}", json={"lat": 50.53, "lon": 2.64}, headers=sanitation).status_code == 200
    data = contractor_file(pipe, start, end)

    gardener = headers(issue_token("green_spaces"))
    refused = api.post("/v1/inspection-imports", content=data, headers=gardener)
    assert refused.status_code == 403
    posted = api.post("/v1/inspection-imports", params={"filename": "ITV-Nord lot 3.txt"}, content=data,
                      headers={**sanitation, "Content-Type": "text/plain"})  # fmt: skip
    assert posted.status_code == 201, posted.text
    imported = posted.json()
    assert posted.headers["Location"] == f"/v1/inspection-imports/{imported['id']}"
    assert (imported["format"], imported["filename"], imported["inspections"], imported["observations"]) == (
        "en13508-txt",
        "ITV-Nord lot 3.txt",
        1,
        5,
    )
    (inspection,) = imported["missions"]
    mission = inspection["mission_id"]
    assert mission == f"itv-{imported['id']}-1" and inspection["drone_missions"] == [drone_mission]
    assert inspection["ungraded"] == 1  # the displaced joint: the standard's code, not in the grade table
    warned = {(w["code"], w["value"]) for w in imported["warnings"]}
    assert warned == {("unknown_node", end), ("ungraded", "BAJ")}  # the start node is placed, the end one not

    again = api.post("/v1/inspection-imports", content=data, headers=sanitation)
    assert again.status_code == 409 and again.headers["Location"] == posted.headers["Location"]
    # the same survey in other bytes (Windows line endings): taken, and said
    crlf = api.post("/v1/inspection-imports", content=data.replace(b"\n", b"\r\n"), headers=sanitation)
    assert crlf.status_code == 201, crlf.text
    assert ("already_imported", pipe) in {(w["code"], w["value"]) for w in crlf.json()["warnings"]}
    assert api.delete(f"/v1/inspection-imports/{crlf.json()['id']}", headers=sanitation).status_code == 204

    listed = api.get("/v1/missions", params={"pipe_id": pipe}, headers=sanitation).json()["items"]
    assert {(m["mission_id"], m["source"], m["device_id"]) for m in listed} == {
        (drone_mission, "drone", f"bd{uid}"), (mission, "import", None)}  # fmt: skip
    stored = api.get(f"/v1/missions/{mission}/observations", headers=sanitation).json()
    crack = next(o for o in stored if o["code"] == "BAB")
    assert (crack["state"], crack["source"], crack["reviewed_by"], crack["grade"], crack["confidence"]) == (
        "confirmed",
        "import",
        "ITV Nord (É. Dupont)",
        2,
        None,
    )  # a 1 mm crack: grade 2
    assert next(o for o in stored if o["code"] == "BCD")["clock_from"] is None

    compared = api.get(f"/v1/missions/{drone_mission}/comparison", params={"with": mission}, headers=sanitation)
    assert compared.status_code == 200, compared.text
    body = compared.json()
    assert body["same_pipe"] is True
    assert [(m["mission"]["code"], m["other"]["start_m"]) for m in body["matched"]] == [("BAB", 4.6)]
    assert {o["code"] for o in body["only_other"]} == {"BCD", "BAJ", "BCA", "BCE"}
    assert body["summary"]["only_contractor_outside_the_drone_codes"] == 4
    assert body["summary"]["share_of_contractor_found_by_drone_among_its_codes"] == 1.0
    assert body["outside_the_drone_codes"] == ["BAJ", "BCA", "BCD", "BCE"]

    page = api.get(f"/v1/missions/{drone_mission}/report", params={"format": "html", "compare_with": mission},
                   headers=sanitation)  # fmt: skip
    assert page.status_code == 200, page.text
    assert (
        f"Comparaison avec l&#39;inspection {mission}" in page.text
        or f"Comparaison avec l'inspection {mission}" in page.text
    )
    assert "Part des observations du prestataire retrouvées par le drone" in page.text
    # where each lies, as the matching judged it: along the pipe and around it (the contractor's crack, 11 h to 1 h)
    assert "<td>4,6 m, 11–1 h</td>" in page.text and "<td>7,8 m, 3 h</td>" in page.text
    theirs = api.get(f"/v1/missions/{mission}/report", params={"format": "html"}, headers=sanitation).text
    assert "fichier NF EN 13508-2 importé" in theirs and "Rue des Écoles, Béthune" in theirs
    assert "Déplacement d&#39;assemblage" in theirs and "non notée" in theirs  # BAJ by the standard's French name
    assert "<td>P03</td>" in theirs  # the contractor's own photo reference, which names the picture they delivered
    assert api.get(f"/v1/missions/{drone_mission}/report", params={"compare_with": "nope"},
                   headers=sanitation).status_code == 404  # fmt: skip

    # the file as it came, byte for byte (ISO-8859-1)
    original = api.get(f"/v1/inspection-imports/{imported['id']}/file", headers=sanitation)
    assert original.status_code == 200 and original.content == data
    # exported back as it came: the contractor's header codes and rows, field for field (in UTF-8 and the
    # platform's order of the fields: the standard fixes none)
    exported = api.get(f"/v1/missions/{mission}/report", params={"format": "en13508-txt"}, headers=sanitation)
    theirs, ours = read(data)[0].inspections, read(exported.content)[0].inspections
    assert ours == theirs and exported.text.startswith("#A1=UTF-8\n")

    # a reviewer may correct the contractor (recode, note): no alert is raised for a past survey, and the export
    # writes that observation as it now stands
    joint = next(o for o in stored if o["code"] == "BAJ")
    recoded = api.post(f"/v1/observations/{joint['id']}/review", json={"decision": "recode", "grade": 3,
                       "note": "vu sur la vidéo"}, headers=sanitation)  # fmt: skip
    assert recoded.status_code == 200, recoded.text
    assert db.execute("SELECT count(*) AS n FROM domain_events WHERE key = %s",
                      (f"observation:{joint['id']}",)).fetchone()["n"] == 0  # fmt: skip
    again = read(api.get(f"/v1/missions/{mission}/report", params={"format": "en13508-txt"},
                         headers=sanitation).content)[0].inspections[0]  # fmt: skip
    # the contractor's fields kept, the reviewer's note after their remark
    assert next(r for r in again.observations if r["A"] == "BAJ") == {
        "I": "2.1", "A": "BAJ", "B": "A", "D": "15", "F": "joint décalé ; vu sur la vidéo", "M": "P02"}  # fmt: skip
    # the contractor's codes are the standard's: listed by them, and a reviewer may recode to any of them
    listed = api.get(f"/v1/missions/{mission}/observations", params={"code": "BCA"}, headers=sanitation)
    assert listed.status_code == 200 and [o["code"] for o in listed.json()] == ["BCA"]
    assert api.get(f"/v1/missions/{mission}/observations", params={"code": "BZZ"},
                   headers=sanitation).status_code == 422  # fmt: skip
    connection = next(o for o in stored if o["code"] == "BCA")
    to_bag = api.post(f"/v1/observations/{connection['id']}/review", json={"decision": "recode", "code": "BAG"},
                      headers=sanitation)  # fmt: skip
    assert to_bag.status_code == 200 and to_bag.json()["recoded_code"] == "BAG", to_bag.text
    crack = next(o for o in stored if o["code"] == "BAB")  # graded: a code without a grade would keep its grade
    to_node = api.post(f"/v1/observations/{crack['id']}/review", json={"decision": "recode", "code": "BCA"},
                       headers=sanitation)  # fmt: skip
    assert to_node.status_code == 422 and "BCA n'a pas de gravité" in to_node.json()["detail"][0]["msg_fr"]
    assert api.get(f"/v1/observations/{crack['id']}", headers=sanitation).json()["state"] == "confirmed"
    assert [r for r in again.observations if r["A"] != "BAJ"] == [r for r in theirs[0].observations
                                                                  if r["A"] != "BAJ"]  # fmt: skip

    assert api.delete(f"/v1/inspection-imports/{imported['id']}", headers=gardener).status_code == 403
    assert api.delete(f"/v1/inspection-imports/{imported['id']}", headers=sanitation).status_code == 204
    assert api.get(f"/v1/missions/{mission}", headers=sanitation).status_code == 404
    assert db.execute("SELECT count(*) AS n FROM observations WHERE mission_id = %s", (mission,)).fetchone()["n"] == 0
    assert api.get(f"/v1/inspection-imports/{imported['id']}", headers=sanitation).status_code == 404


def test_the_platform_s_exports_import_back_and_export_again_identically(
    db: Any, uid: str, api: Any, issue_token: Any
) -> None:
    drone = f"rt{uid}"
    db.execute("INSERT INTO devices (device_id, family) VALUES (%s, 'bathy')", (drone,))
    original = f"rt-{uid}"
    db.execute(
        "INSERT INTO missions (mission_id, device_id, started_at, ended_at, status, pipe_id, start_manhole, "
        "end_manhole, direction, diameter_mm, material, operator, distance_m) VALUES (%s, %s, "
        "'2026-11-30T08:05:00Z', '2026-11-30T08:30:00Z', 'completed', %s, 'R7', 'R8', 'upstream', 800, "
        "'vitrified clay', 'équipe \"drone\"; 2', 42.0)",
        (original, drone, f"RT-{uid}"),
    )
    for code, start, finish, clocks, state, note in (
        ("BAB", 3.25, None, (11, 1), "confirmed", "vu; net"), ("BBC", 10.0, 15.5, (5, 7), "automatic", None),
        ("BBA", 20.0, None, (12, 12), "rejected", None), ("BDD", 0.5, 41.0, (4, 8), "automatic", None),
    ):  # fmt: skip
        db.execute(
            "INSERT INTO observations (mission_id, code, characterisation, chainage_start_m, chainage_end_m, "
            "clock_from, clock_to, quantification, grade, confidence, frames, model, state, review_note) "
            "VALUES (%s, %s, 'A', %s, %s, %s, %s, 12.5, 3, 0.8, 2, 'test', %s, %s)",
            (original, code, start, finish, clocks[0], clocks[1], state, note),
        )
    sanitation = headers(issue_token("sanitation"))
    db.execute("UPDATE observations SET trust = 'trusted' WHERE mission_id = %s AND code = 'BBC'", (original,))
    for form in ("en13508-txt", "en13508-xml"):
        # the vision's suggestions (the water level here) are left out unless asked for: round trip of both
        plain = api.get(f"/v1/missions/{original}/report", params={"format": form}, headers=sanitation)
        assert "BDD" not in plain.text and "BBC" in plain.text
        assert "1 observation(s) automatique(s) non revue(s) omise(s)" in plain.text  # ADE says so
        first = api.get(f"/v1/missions/{original}/report", params={"format": form, "include_suggestions": "true"},
                        headers=sanitation)  # fmt: skip
        assert first.status_code == 200, first.text
        posted = api.post("/v1/inspection-imports", content=first.content, headers=sanitation)
        assert posted.status_code == 201, posted.text
        (inspection,) = posted.json()["missions"]
        assert inspection["observations"] == 3  # the rejected root left out
        assert inspection["drone_missions"] == [original]
        again = api.get(f"/v1/missions/{inspection['mission_id']}/report", params={"format": form},
                        headers=sanitation)  # fmt: skip
        assert again.text == first.text, form
        # and the observations themselves, as the platform reads them
        theirs = [(o["code"], o["chainage_start_m"], o["chainage_end_m"], o["clock_from"], o["clock_to"],
                   o["quantification"]) for o in api.get(f"/v1/missions/{inspection['mission_id']}/observations",
                                                         headers=sanitation).json()]  # fmt: skip
        assert sorted(theirs) == [("BAB", 3.25, None, 11, 1, 12.5), ("BBC", 10.0, 15.5, 5, 7, 12.5),
                                  ("BDD", 0.5, 41.0, 4, 8, 12.5)]  # fmt: skip
        turned = api.get(f"/v1/missions/{original}/comparison", params={"with": inspection["mission_id"]},
                         headers=sanitation).json()  # fmt: skip
        assert turned["summary"]["found_by_both"] == 3 and turned["other_turned_to_mission_direction"] is False
    # two different pipes: nothing to compare (a share of found defects would mean nothing)
    db.execute("INSERT INTO missions (mission_id, device_id, started_at, status, pipe_id) VALUES (%s, %s, now(), "
               "'completed', %s)", (f"elsewhere-{uid}", drone, f"ELSEWHERE-{uid}"))  # fmt: skip
    apart = api.get(f"/v1/missions/{original}/comparison", params={"with": f"elsewhere-{uid}"}, headers=sanitation)
    assert apart.status_code == 409 and "two inspections of one pipe" in apart.json()["detail"]
    itself = api.get(f"/v1/missions/{original}/comparison", params={"with": original}, headers=sanitation)
    assert itself.status_code == 409
    # without a pipe reference, the same two nodes (either way round) make one pipe; others do not
    for mission, nodes in ((f"nodes-a-{uid}", ("R7", "R8")), (f"nodes-b-{uid}", ("R8", "R7")),
                           (f"nodes-c-{uid}", ("R7", "R9"))):  # fmt: skip
        db.execute("INSERT INTO missions (mission_id, device_id, started_at, status, start_manhole, end_manhole) "
                   "VALUES (%s, %s, now(), 'completed', %s, %s)", (mission, drone, *nodes))  # fmt: skip
    same = api.get(f"/v1/missions/nodes-a-{uid}/comparison", params={"with": f"nodes-b-{uid}"}, headers=sanitation)
    assert same.status_code == 200, same.text
    other = api.get(f"/v1/missions/nodes-a-{uid}/comparison", params={"with": f"nodes-c-{uid}"}, headers=sanitation)
    assert other.status_code == 409
    assert api.get(f"/v1/missions/{original}/report", params={"format": "pdf", "compare_with": f"elsewhere-{uid}"},
                   headers=sanitation).status_code == 409  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "words", "mots"),
    [
        (b"", 422, "the body is empty", "le fichier envoyé est vide"),
        (b"%PDF-1.7 not an exchange file", 422, "neither an EN 13508-2 text file", "ni un fichier texte NF EN 13508-2"),
        (
            b'<?xml version="1.0"?><!DOCTYPE DATA [<!ENTITY x SYSTEM "file:///etc/passwd">]><DATA>&x;</DATA>',
            422,
            "DTD or entity declaration is refused",
            "une DTD ou une déclaration d'entité est refusée",
        ),
        (
            b"#A1=UTF-8\n#A3=;\n#B01=AAA\nP\n#C=I;A;J\n1;BDD;S01\n#Z\n",
            422,
            "never finishes",
            "inspection 1 : le défaut continu 1 (BDD depuis 1 m) ne se termine jamais",
        ),
        (b"#" + b"x" * (8 * 1024 * 1024), 413, "", None),
    ],
)
def test_a_faulty_file_gets_a_clear_refusal_and_nothing_is_stored(
    db: Any, api: Any, issue_token: Any, body: bytes, status: int, words: str, mots: str | None
) -> None:
    """Refused in English for the API's clients, and in French (``msg_fr``) for the console's staff."""
    before = db.execute("SELECT count(*) AS n FROM inspection_imports").fetchone()["n"]
    answer = api.post("/v1/inspection-imports", content=body, headers=headers(issue_token("sanitation")))
    assert answer.status_code == status, answer.text
    assert words in answer.text
    if mots is not None:
        assert mots in answer.json()["detail"][0]["msg_fr"]
    assert db.execute("SELECT count(*) AS n FROM inspection_imports").fetchone()["n"] == before


@pytest.mark.parametrize(
    ("aca", "french", "english", "in_csv"),
    [("C", "ovoïde", "egg-shaped", "ovoïde"), ("", "non renseigné", "", ""), ("Q", "Q", "Q", "Q")],
)
def test_the_report_gives_the_pipe_s_shape_as_the_file_says_it_and_never_invents_one(
    api: Any, issue_token: Any, uid: str, aca: str, french: str, english: str, in_csv: str
) -> None:
    """An egg-shaped pipe (ACA=C) is said to be one, in the page and in both CSV dialects (the French one in
    French: its columns, the direction, the material, the state, the date); a file without ACA says nothing of the
    shape, rather than the drone's "circular"; a letter outside the standard's list is shown as given, and warned
    about (the import and its list answer with that warning: they once failed on it)."""
    data = (
        '#A1=UTF-8\n#A2=fr\n#A3=;\n#A4=,\n#A5="\n#A6=2011\n#B01=AAA;AAK;ABF;ACA;ACD\n'
        f"S-{uid}-{aca or 'none'};B;12.03.2026;{aca};AE\n#C=I;A;B;C;D\n0;BCD;A;;X1\n3,5;BAF;A;B;\n#Z\n"
    ).encode()
    sanitation = headers(issue_token("sanitation"))
    posted = api.post("/v1/inspection-imports", content=data, headers=sanitation)
    assert posted.status_code == 201, posted.text
    (mission,) = [m["mission_id"] for m in posted.json()["missions"]]
    odd = [(w["code"], w["field"], w["value"]) for w in posted.json()["warnings"] if w["code"] == "unknown_value"]
    assert odd == ([("unknown_value", "ACA", "Q")] if aca == "Q" else [])
    listed = api.get("/v1/inspection-imports", headers=sanitation)
    assert listed.status_code == 200 and posted.json()["id"] in [i["id"] for i in listed.json()]
    assert api.get(f"/v1/inspection-imports/{posted.json()['id']}", headers=sanitation).status_code == 200
    page = api.get(f"/v1/missions/{mission}/report", params={"format": "html"}, headers=sanitation).text
    assert f"<td>Forme</td><td>{french}</td>" in page
    assert "circulaire" not in page
    standard = api.get(f"/v1/missions/{mission}/report", params={"format": "csv"}, headers=sanitation)
    (row,) = [r for r in csv.DictReader(io.StringIO(standard.text)) if r["code"] == "BAF"]
    assert row["shape"] == english and row["direction"] == "upstream" and row["date"] == "2026-03-12"  # Paris
    fr = api.get(f"/v1/missions/{mission}/report", params={"format": "csv", "dialect": "excel-fr"}, headers=sanitation)
    assert fr.content.startswith(b"\xef\xbb\xbf")
    (ligne,) = [r for r in csv.DictReader(io.StringIO(fr.content.decode("utf-8-sig")), delimiter=";")
                if r["code"] == "BAF"]  # fmt: skip
    assert ligne["forme (ACA)"] == in_csv and ligne["sens d'inspection (AAK)"] == "vers l'amont"
    assert ligne["matériau (ACD)"] == "grès" and ligne["date (Europe/Paris)"] == "12/03/2026"
    assert ligne["distance (m)"] == "3,50" and ligne["état"] == "confirmée"
