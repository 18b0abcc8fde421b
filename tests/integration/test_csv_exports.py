"""CSV exports people open (issue 22, item 3), through the real broker, ingest, database and API: readings of
several metrics a row per time, alerts and incidents, in the standard dialect and in French Excel's (semicolon,
decimal comma, UTF-8 with BOM, Europe/Paris times); the unit in every header; what a device names itself
cannot become a spreadsheet formula; each export is read by the roles the list is."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from services.alerts.store import save_pack
from tests.conftest import count, wait_for
from tests.integration.helpers import garden, publish_all
from tests.integration.test_alerts import evaluate, frost_rule

pytestmark = pytest.mark.integration
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 10:00 in Paris


def read(response, dialect: str) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    body = response.content
    if dialect == "excel-fr":
        assert body.startswith(b"\xef\xbb\xbf")  # the BOM French Excel needs to read UTF-8
    else:
        assert not body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert "\r\n" in text
    return list(csv.reader(io.StringIO(text), delimiter=";" if dialect == "excel-fr" else ","))


@pytest.fixture
def garden_device(stack, ingest, db, uid) -> str:
    device = f"csv{uid}"
    messages = [
        garden(device, (T0 + timedelta(minutes=10 * i)).isoformat(), air_temp_c=0.25 + i, soil_vwc_pct=31.5,
               rain_mm=0.00001 if i == 1 else 0)
        for i in range(3)
    ]  # fmt: skip
    publish_all(stack, messages)
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 3, what="3")
    return device


def test_readings_of_several_metrics_a_row_per_time_in_both_dialects(api, garden_device) -> None:
    params = {"metric": ["air_temp_c", "rain_mm"], "start": "2026-12-01T08:00:00Z", "end": "2026-12-01T12:00:00Z"}
    path = f"/v1/devices/{garden_device}/readings.csv"
    rows = read(api.get(path, params=params), "standard")
    assert rows[0] == ["time (UTC, ISO 8601)", "air_temp_c (°C)", "rain_mm (mm)"]
    assert rows[1:] == [
        ["2026-12-01T09:00:00Z", "0.25", "0.0"],
        ["2026-12-01T09:10:00Z", "1.25", "0.00001"],  # in full: no exponent a spreadsheet would read as text
        ["2026-12-01T09:20:00Z", "2.25", "0.0"],
    ]
    fr = read(api.get(path, params={**params, "dialect": "excel-fr"}), "excel-fr")
    assert fr[0] == ["heure (Europe/Paris)", "Température de l'air (°C)", "Pluie (mm)"]  # French names
    assert fr[1] == ["01/12/2026 10:00:00", "0,25", "0,0"] and fr[2][2] == "0,00001"
    # aggregated per bucket: one row per hour, the averages
    hourly = read(api.get(path, params={**params, "metric": ["air_temp_c", "soil_vwc_pct"], "bucket": "1h"}),
                  "standard")  # fmt: skip
    assert hourly == [["bucket (UTC, ISO 8601)", "air_temp_c (°C)", "soil_vwc_pct (%)"],
                      ["2026-12-01T09:00:00Z", "1.25", "31.5"]]  # fmt: skip


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"metric": "no_such_metric"}, "'no_such_metric' do not exist for ptipot devices"),
        ({}, "metric"),
        ({"metric": "air_temp_c", "dialect": "excel"}, "standard"),
        ({"metric": "air_temp_c", "start": "2026-12-01T00:00:00"}, "needs a time zone"),
        ({"metric": "air_temp_c", "start": "2026-01-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"}, "31"),
    ],
)
def test_a_bad_export_request_is_a_422_that_says_why(api, garden_device, params, words) -> None:
    response = api.get(f"/v1/devices/{garden_device}/readings.csv", params=params)
    assert response.status_code == 422, response.text
    assert words in response.text


def test_readings_of_a_family_the_role_may_not_read_are_refused(api, db, uid, issue_token) -> None:
    drone = f"drone{uid}"  # pipe maps are sensitive infrastructure: the drone's data is sanitation's
    db.execute("INSERT INTO devices (device_id, family) VALUES (%s, 'bathy') ON CONFLICT DO NOTHING", (drone,))
    police = {"Authorization": f"Bearer {issue_token('police')}"}
    response = api.get(f"/v1/devices/{drone}/readings.csv", params={"metric": "h2s_ppm"}, headers=police)
    assert response.status_code == 403 and "may not read bathy data" in response.text
    sanitation = {"Authorization": f"Bearer {issue_token('sanitation')}"}
    allowed = api.get(f"/v1/devices/{drone}/readings.csv", params={"metric": "h2s_ppm"}, headers=sanitation)
    assert read(allowed, "standard") == [["time (UTC, ISO 8601)", "h2s_ppm (ppm)"]]  # no readings yet: a header


def test_alerts_export_is_the_caller_s_service_with_the_unit_and_no_formula(
    stack, ingest, api, db, uid, issue_token
) -> None:
    device = f"al{uid}"
    save_pack(db, [frost_rule(device)], source="test")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    publish_all(stack, [garden(device, (now - timedelta(minutes=m)).isoformat(), air_temp_c=v)
                        for m, v in ((40, 0.5), (30, 0.4), (20, 3.5))])  # fmt: skip
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 3, what="3")
    evaluate(stack)
    # a person's name cannot become a formula in a spreadsheet
    db.execute("UPDATE alerts SET assignee = %s WHERE subject = %s", ('=HYPERLINK("http://x")', device))

    def export(role: str, **params: object):
        return api.get("/v1/alerts.csv", params={"device_id": device, **params},
                       headers={"Authorization": f"Bearer {issue_token(role)}"})  # fmt: skip

    header, *rows = read(export("green_spaces", dialect="excel-fr"), "excel-fr")
    (row,) = rows
    line = dict(zip(header, row, strict=True))
    assert line["mesure"] == "air_temp_c" and line["unité"] == "°C" and line["état"] == "résolue"
    assert line["service"] == "espaces verts" and line["issue"] == "revenue à la normale"
    assert line["valeur la plus critique"] == "0,4" and line["valeur au déclenchement"] == "0,4"
    assert line["assignée à"] == '\'=HYPERLINK("http://x")'
    fired = line["déclenchement (Europe/Paris)"]
    assert fired.count("/") == 2 and "Z" not in fired
    standard = dict(zip(*read(export("green_spaces"), "standard"), strict=True))  # a script's field names
    assert standard["state"] == "resolved" and standard["resolution"] == "cleared"
    assert read(export("sanitation"), "standard")[1:] == []  # not its service: nothing, not an error
    assert len(read(export("operator"), "standard")) == 2
    assert export("green_spaces", state="bogus").status_code == 422


def test_incidents_export_with_the_camera_s_place_for_the_roles_that_read_incidents(api, db, uid, issue_token) -> None:
    camera = f"cam{uid}"
    db.execute(
        "INSERT INTO devices (device_id, family, location) VALUES (%s, 'karroad', %s) ON CONFLICT DO NOTHING",
        (camera, "-rue des Lilas, Metz"),
    )
    began = datetime.now(UTC) - timedelta(hours=3)
    db.execute(
        "INSERT INTO incidents (key, device_id, label, zone, tracks, began_at, suspected_at, cleared_at, state) "
        "VALUES (%s, %s, 'dumping', 'trottoir', '{t1}', %s, %s, %s, 'cleared')",
        (f"k{uid}", camera, began, began + timedelta(minutes=5), began + timedelta(minutes=95)),
    )
    cleanliness = {"Authorization": f"Bearer {issue_token('cleanliness')}"}
    header, *rows = read(api.get("/v1/incidents.csv", params={"device_id": camera, "dialect": "excel-fr"},
                                 headers=cleanliness), "excel-fr")  # fmt: skip
    (row,) = rows
    line = dict(zip(header, row, strict=True))
    assert line["lieu"] == "'-rue des Lilas, Metz"  # a leading minus would be a formula
    assert line["délai d'enlèvement (min)"] == "95,0" and line["scellé"] == "non" and line["zone"] == "trottoir"
    assert line["état"] == "enlevé" and line["objet"] == "dumping"
    green = {"Authorization": f"Bearer {issue_token('green_spaces')}"}
    assert api.get("/v1/incidents.csv", headers=green).status_code == 403


def test_daily_averages_follow_paris_days_for_french_excel_and_are_rounded(stack, ingest, api, db, uid) -> None:
    """23:30 UTC on 1 December is 00:30 on the 2nd in Paris: French Excel's daily rows are Paris days; an
    average is written to 6 decimals (0.15, not 0.15000000000000002)."""
    device = f"day{uid}"
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    publish_all(stack, [garden(device, T0.isoformat(), air_temp_c=5.0),
                        garden(device, late.isoformat(), air_temp_c=0.1),
                        garden(device, (late + timedelta(minutes=10)).isoformat(), air_temp_c=0.2)])  # fmt: skip
    wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", device) == 3, what="3")
    params = {"metric": "air_temp_c", "start": "2026-11-30T00:00:00Z", "end": "2026-12-03T00:00:00Z", "bucket": "1d"}
    path = f"/v1/devices/{device}/readings.csv"
    fr = read(api.get(path, params={**params, "dialect": "excel-fr"}), "excel-fr")
    assert fr[1:] == [["01/12/2026 00:00:00", "5,0"], ["02/12/2026 00:00:00", "0,15"]]
    utc = read(api.get(path, params=params), "standard")
    assert utc[1:] == [["2026-12-01T00:00:00Z", "1.766667"]]  # one UTC day: (5 + 0.1 + 0.2) / 3
