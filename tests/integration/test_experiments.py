"""Experiments and their KPIs (issue 22, item 1) through the real API and database: declared by the lab's staff,
computed over the period and the baseline from rows written here, each value checked against a count made by
hand; JSON and French CSV; who may declare and who may read."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import count

pytestmark = pytest.mark.integration
START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 29, tzinfo=UTC)  # four weeks
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def kpis_of(body: dict) -> dict[str, tuple[float | None, float | None]]:
    return {k["key"]: (k["value"], k["baseline"]) for k in body["kpis"]}


def test_a_camera_pilot_s_kpis_against_its_baseline(api, db, uid, issue_token) -> None:
    cams = [f"ex{uid}a", f"ex{uid}b"]
    for cam in cams:
        db.execute("INSERT INTO devices (device_id, family) VALUES (%s, 'karroad') ON CONFLICT DO NOTHING", (cam,))

    def incident(n: int, began: datetime, cleared_min: float | None, decided: str | None, cam: str) -> None:
        row = db.execute(
            "INSERT INTO incidents (key, device_id, label, tracks, began_at, suspected_at, cleared_at, state) "
            "VALUES (%s, %s, 'bag', '{t}', %s, %s, %s, %s) RETURNING id",
            (f"x{uid}-{n}", cam, began, began + timedelta(minutes=5),
             began + timedelta(minutes=cleared_min) if cleared_min is not None else None,
             {"confirmed": "confirmed", "dismissed": "dismissed"}.get(decided or "", "suspected")),
        ).fetchone()  # fmt: skip
        if decided:
            db.execute("INSERT INTO incident_timeline (incident_id, at, kind, actor) VALUES (%s, now(), %s, 'agent')",
                       (row["id"], decided))  # fmt: skip

    day = timedelta(days=1)
    incident(1, START + day, 30, "confirmed", cams[0])
    incident(2, START + 2 * day, 90, "confirmed", cams[0])
    incident(3, START + 3 * day, 60, "dismissed", cams[1])
    incident(4, START + 4 * day, None, None, cams[1])
    incident(5, BASE + day, 120, "confirmed", cams[0])  # the baseline: one incident
    incident(6, END + day, 10, "confirmed", cams[0])  # after the period: not counted
    body = {"name": f"Caméras {uid}", "capability": "camera_detections", "devices": cams,
            "starts_at": START.isoformat(), "ends_at": END.isoformat(),
            "baseline": {"starts_at": BASE.isoformat(), "ends_at": (BASE + 28 * day).isoformat()}}  # fmt: skip
    created = api.post("/v1/experiments", json=body)
    assert created.status_code == 201, created.text
    eid = created.json()["id"]
    assert api.post("/v1/experiments", json=body).status_code == 409  # the name is taken
    cleanliness = {"Authorization": f"Bearer {issue_token('cleanliness')}"}
    got = api.get(f"/v1/experiments/{eid}/kpis", headers=cleanliness)
    assert got.status_code == 200, got.text
    k = kpis_of(got.json())
    assert k["devices"] == (2, 2)
    assert k["incidents_suspected"] == (4, 1) and k["incidents_confirmed"] == (2, 1)
    assert k["incidents_dismissed"] == (1, 0)
    assert k["detection_precision"] == (round(100 * 2 / 3, 3), 100.0)
    assert k["median_minutes_to_clearance"] == (60.0, 120.0)  # 30, 90, 60 -> 60
    assert k["incidents_per_site_per_week"] == (0.5, 0.125)  # 4 / 2 cameras / 4 weeks; 1 / 2 / 4
    # the same, as French Excel opens it
    sheet = api.get(f"/v1/experiments/{eid}/kpis", params={"format": "csv", "dialect": "excel-fr"},
                    headers=cleanliness)  # fmt: skip
    rows = list(csv.reader(io.StringIO(sheet.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["clé de l'indicateur", "indicateur", "unité", "période", "référence", "définition (anglais)"]
    line = {r[0]: r for r in rows[1:]}
    assert line["detection_precision"][1:5] == ["Précision de détection", "%", "66,667", "100,0"]
    assert line["incidents_suspected"][3:5] == ["4", "1"]  # counts stay whole numbers
    sanitation = {"Authorization": f"Bearer {issue_token('sanitation')}"}
    assert api.get(f"/v1/experiments/{eid}/kpis", headers=sanitation).status_code == 403  # camera data
    assert api.get(f"/v1/experiments/{eid}", headers=sanitation).status_code == 200  # its declaration: everyone's


def test_a_pipe_pilot_s_kpis_match_the_missions_and_reviews(api, db, uid, issue_token) -> None:
    drone = f"exd{uid}"
    db.execute("INSERT INTO devices (device_id, family) VALUES (%s, 'bathy') ON CONFLICT DO NOTHING", (drone,))
    missions = [("completed", 120.0, START + timedelta(days=1)), ("aborted", 80.0, START + timedelta(days=2)),
                ("completed", None, START + timedelta(days=3))]  # fmt: skip
    for n, (status, metres, at) in enumerate(missions):
        db.execute(
            "INSERT INTO missions (mission_id, device_id, started_at, ended_at, status, distance_m) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (f"EXM{uid}-{n}", drone, at, at + timedelta(hours=1), status, metres),
        )
    # the third mission said no distance: its furthest telemetry chainage counts (50 m)
    db.execute("INSERT INTO drone_telemetry (time, device_id, mission_id, chainage_m) VALUES (%s, %s, %s, 50.0)",
               (START + timedelta(days=3, minutes=10), drone, f"EXM{uid}-2"))  # fmt: skip
    reviewed = START + timedelta(days=1, hours=3)  # two hours after the first mission ended

    def observation(mission: int, grade: int, state: str, recoded: int | None = None) -> None:
        db.execute(
            "INSERT INTO observations (mission_id, code, chainage_start_m, clock_from, clock_to, grade, confidence, "
            "frames, model, state, reviewed_at, recoded_grade) VALUES (%s, 'BAB', 1.0, 1, 2, %s, 0.9, 2, 'm', %s, "
            "%s, %s)",
            (f"EXM{uid}-{mission}", grade, state, reviewed if state != "automatic" else None, recoded),
        )

    observation(0, 4, "confirmed")
    observation(0, 2, "rejected")
    observation(0, 3, "recoded", recoded=4)
    observation(1, 2, "automatic")
    created = api.post("/v1/experiments", json={"name": f"Drone {uid}", "capability": "pipe_inspection",
                                                "family": "bathy", "devices": [drone], "starts_at": START.isoformat(),
                                                "ends_at": END.isoformat()})  # fmt: skip
    assert created.status_code == 201, created.text
    sanitation = {"Authorization": f"Bearer {issue_token('sanitation')}"}
    k = kpis_of(api.get(f"/v1/experiments/{created.json()['id']}/kpis", headers=sanitation).json())
    assert k["metres_inspected"] == (250.0, None)  # 120 + 80 + 50
    assert (k["missions_completed"][0], k["missions_aborted"][0], k["missions_unfinished"][0]) == (2, 1, 0)
    # grade 4: the confirmed one and the one recoded to 4 (2 per 250 m); grade 2: the automatic one (the
    # rejected one left out)
    assert k["observations_per_100m_grade_4"][0] == 0.8 and k["observations_per_100m_grade_2"][0] == 0.4
    assert k["observations_per_100m_grade_3"][0] == 0.0
    assert k["production_precision"][0] == round(100 / 3, 3)  # 1 confirmed of 3 decided
    assert k["hours_to_reviewed_report"][0] == 2.0  # the only mission fully reviewed: ended 1 h, reviewed 3 h


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"ends_at": "2026-02-01T00:00:00Z"}, "before ends_at"),
        ({"starts_at": "2026-03-01T00:00:00"}, "timezone"),
        ({"capability": "teleportation"}, "capability"),
        ({"family": "karroad"}, "does not provide pipe_inspection"),
        ({"devices": ["nobody-at-all"]}, "not registered: nobody-at-all"),
        ({"ends_at": "2030-01-01T00:00:00Z"}, "three years"),
        ({"surprise": 1}, "extra"),
        ({"name": "   "}, "not blank"),
        # stored, then unreadable by Python (a probe found the list broken for every role by one such row)
        ({"starts_at": "9999-12-31T20:00:00-12:00", "ends_at": "9999-12-31T23:00:00-12:00"}, "between 2000 and 2100"),
        ({"starts_at": "0001-01-01T00:00:00+14:00"}, "between 2000 and 2100"),
    ],
)
def test_a_bad_declaration_is_a_422_that_says_why(api, uid, changes, words) -> None:
    body = {"name": f"bad {uid} {words}", "capability": "pipe_inspection", "starts_at": START.isoformat(),
            "ends_at": END.isoformat(), **changes}  # fmt: skip
    before = api.get("/v1/experiments").json()
    refused = api.post("/v1/experiments", json=body)
    assert refused.status_code == 422, refused.text
    assert words in refused.text
    assert api.get("/v1/experiments").json() == before  # nothing stored, the list still answers


def test_an_experiment_takes_only_devices_of_its_pilot(api, db, uid) -> None:
    """A garden sensor in a drone pilot would count in its KPIs, and a camera in a garden pilot would show
    the cleanliness service's alerts to every role that reads gardens."""
    garden, camera = f"exg{uid}", f"exc{uid}"
    db.execute("INSERT INTO devices (device_id, family) VALUES (%s, 'ptipot'), (%s, 'karroad') ON CONFLICT DO "
               "NOTHING", (garden, camera))  # fmt: skip
    span = {"starts_at": START.isoformat(), "ends_at": END.isoformat()}
    drone = api.post("/v1/experiments", json={"name": f"d{uid}", "capability": "pipe_inspection",
                                              "devices": [garden], **span})  # fmt: skip
    assert drone.status_code == 422 and f"not of a family providing pipe_inspection: {garden}" in drone.text
    gardens = api.post("/v1/experiments", json={"name": f"g{uid}", "capability": "readings", "family": "ptipot",
                                                "devices": [garden, camera], **span})  # fmt: skip
    assert gardens.status_code == 422 and f"not of family ptipot: {camera}" in gardens.text
    fine = api.post("/v1/experiments", json={"name": f"ok{uid}", "capability": "readings", "family": "ptipot",
                                             "devices": [garden], **span})  # fmt: skip
    assert fine.status_code == 201, fine.text


def test_only_the_lab_s_staff_declare_experiments(api, uid, issue_token) -> None:
    body = {"name": f"x{uid}", "capability": "readings", "starts_at": START.isoformat(), "ends_at": END.isoformat()}
    for role in ("green_spaces", "viewer", "police"):
        refused = api.post("/v1/experiments", json=body, headers={"Authorization": f"Bearer {issue_token(role)}"})
        assert refused.status_code == 403
    operator = {"Authorization": f"Bearer {issue_token('operator')}"}
    assert api.post("/v1/experiments", json=body, headers=operator).status_code == 201
    green = {"Authorization": f"Bearer {issue_token('green_spaces')}"}
    listed = api.get("/v1/experiments", headers=green).json()
    assert f"x{uid}" in {e["name"] for e in listed}
    assert api.get("/v1/experiments/999999999", headers=green).status_code == 404
    # a garden pilot's KPIs are the gardens' data: green_spaces reads them; without a family, the readings of
    # every family (a drone's telemetry too) narrow them to the roles that read them all
    garden = api.post("/v1/experiments", headers=operator,
                      json={**body, "name": f"jardins {uid}", "family": "ptipot"}).json()  # fmt: skip
    assert api.get(f"/v1/experiments/{garden['id']}/kpis", headers=green).status_code == 200
    unnamed = next(e for e in listed if e["name"] == f"x{uid}")
    refused = api.get(f"/v1/experiments/{unnamed['id']}/kpis", headers=green)
    assert refused.status_code == 403 and "may not read readings data" in refused.text


def test_the_city_s_own_records_stand_for_the_dumping_pilot_s_baseline(api, db, uid, issue_token) -> None:
    cam = f"exr{uid}"
    db.execute("INSERT INTO devices (device_id, family) VALUES (%s, 'karroad') ON CONFLICT DO NOTHING", (cam,))
    db.execute(
        "INSERT INTO incidents (key, device_id, label, tracks, began_at, suspected_at) VALUES (%s, %s, 'bag', '{t}', "
        "%s, %s)",
        (f"r{uid}", cam, START + timedelta(days=2), START + timedelta(days=2, minutes=5)),
    )
    created = api.post("/v1/experiments", json={
        "name": f"Registre {uid}", "capability": "camera_detections", "devices": [cam],
        "starts_at": START.isoformat(), "ends_at": END.isoformat(),
        "baseline": {"starts_at": BASE.isoformat(), "ends_at": (BASE + timedelta(days=28)).isoformat()},
    }).json()  # fmt: skip
    path = f"/v1/experiments/{created['id']}/baseline-records"
    # as the city's services export it from French Excel: BOM, semicolons, decimal comma, JJ/MM/AAAA
    sheet = ("\ufeffdate;place;volume (m³)\r\n03/01/2026;rue des Lilas;1,5\r\n10/01/2026;rue des Lilas;0,5\r\n"
             "2026-01-20;place du Marché;\r\n15/02/2026;hors période;9\r\n")  # fmt: skip
    imported = api.put(path, content=sheet.encode(), headers={"Content-Type": "text/csv"})
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"records": 4, "places": 3, "first_day": "2026-01-03", "last_day": "2026-02-15"}
    body = api.get(f"/v1/experiments/{created['id']}/kpis").json()
    assert body["baseline_source"] == "city_records"
    k = kpis_of(body)
    # three records in the four baseline weeks (the February one is after it), at two places
    assert k["incidents_suspected"] == (1, 3) and k["incidents_per_site_per_week"] == (0.25, 0.375)
    assert k["city_recorded_volume_m3"] == (None, 2.0)
    # a file with one wrong line is refused whole, naming the line; the records imported before stay
    bad = api.put(path, content=b"date;place;volume\n03/01/2026;ici;2\n31/02/2026;la;1\n")
    assert bad.status_code == 422 and "line 3" in bad.text and "date" in bad.text
    assert kpis_of(api.get(f"/v1/experiments/{created['id']}/kpis").json())["incidents_suspected"] == (1, 3)
    for junk, words in (
        (b"\xff\xfe\x00", "UTF-8"),
        (b"jour;lieu\n1/1/2026;x\n", "header"),
        (b"date,place,volume\n2026-01-01,x,-4\n", "between 0"),
        (b"date;place;volume\n", "no record"),
    ):
        refused = api.put(path, content=junk)
        assert refused.status_code == 422 and words in refused.text, (junk, refused.text)
    green = {"Authorization": f"Bearer {issue_token('green_spaces')}"}
    assert api.put(path, content=sheet.encode(), headers=green).status_code == 403
    pipe = api.post("/v1/experiments", json={"name": f"pipe records {uid}", "capability": "pipe_inspection",
                                             "starts_at": START.isoformat(),
                                             "ends_at": END.isoformat()}).json()  # fmt: skip
    assert api.put(f"/v1/experiments/{pipe['id']}/baseline-records", content=sheet.encode()).status_code == 409


def test_a_running_experiment_is_measured_until_now_and_names_are_unique_whatever_their_case(api, db, uid) -> None:
    cam = f"exn{uid}"
    db.execute("INSERT INTO devices (device_id, family) VALUES (%s, 'karroad') ON CONFLICT DO NOTHING", (cam,))
    now = datetime.now(UTC)
    db.execute(
        "INSERT INTO incidents (key, device_id, label, tracks, began_at, suspected_at) VALUES (%s, %s, 'bag', '{t}', "
        "%s, %s)",
        (f"n{uid}", cam, now - timedelta(days=1), now - timedelta(days=1) + timedelta(minutes=5)),
    )
    span = {"starts_at": (now - timedelta(days=2)).isoformat(), "ends_at": (now + timedelta(days=12)).isoformat()}
    created = api.post("/v1/experiments", json={"name": f"En cours {uid}", "capability": "camera_detections",
                                                "devices": [cam], **span})  # fmt: skip
    assert created.status_code == 201, created.text
    body = api.get(f"/v1/experiments/{created.json()['id']}/kpis").json()
    measured = datetime.fromisoformat(body["measured_until"])
    assert now <= measured <= datetime.now(UTC)
    # one incident in the two days elapsed: 3.5 a week (not 0.5 over the fourteen days declared)
    assert kpis_of(body)["incidents_per_site_per_week"][0] == pytest.approx(3.5, rel=0.01)
    again = api.post("/v1/experiments", json={"name": f"  EN COURS {uid} ", "capability": "camera_detections",
                                              **span})  # fmt: skip
    assert again.status_code == 409 and "already named" in again.text


def test_a_garden_pilot_s_uptime_completeness_and_dry_soil_hours_match_a_count_by_hand(api, db, uid) -> None:
    """Two garden sensors over a 10-hour period, their statuses written by ingest's own statement (the trigger
    keeps the history) and their readings by hand; each figure recomputed in the comments."""
    from ingest.statements import UPDATE_DEVICE_STATUS

    t0 = datetime(2026, 4, 1, 8, tzinfo=UTC)
    a, b, silent = f"ga{uid}", f"gb{uid}", f"gs{uid}"
    for device, first_seen in ((a, t0 - timedelta(days=1)), (b, t0 + timedelta(hours=5)), (silent, t0)):
        db.execute(
            "INSERT INTO devices (device_id, family, first_seen, last_seen) VALUES (%s, 'ptipot', %s, %s)",
            (device, first_seen, first_seen),
        )
    db.execute('UPDATE devices SET labels = \'{"soil_dry_below_pct": "30"}\' WHERE device_id = %s', (b,))
    hour = timedelta(hours=1)
    for device, online, at in (
        (a, True, t0 - hour), (a, False, t0 + 6 * hour), (a, True, t0 + 8 * hour),  # up 6 h + 2 h of 10 h: 80 %
        (b, True, t0 + 5 * hour),  # known from 5 h, up all of it: 100 %
        (b, True, t0 + 6 * hour),  # the same status again: no change, no row
    ):  # fmt: skip
        db.execute(UPDATE_DEVICE_STATUS, {"device_id": device, "online": online, "time": at})
    assert count(db, "SELECT count(*) FROM device_status_changes WHERE device_id = ANY(%s)", [a, b]) == 4

    slot = timedelta(minutes=15)
    rows = []
    for k in range(40):  # a: 40 slots in the period, readings in 30 of them (the last 10 missing): 75 %
        if k < 30:  # soil at 10 % (below 15) in slots 0-7: 8 x 15 min = 2 h dry; 20 % after
            rows.append((t0 + k * slot, a, 10.0 if k < 8 else 20.0))
    for k in range(20, 40):  # b: first seen at 5 h, 20 slots expected, all there: 100 %
        rows.append((t0 + k * slot + timedelta(minutes=1), b, 25.0))  # below its own 30 in 20 slots: 5 h dry
        rows.append((t0 + k * slot + timedelta(minutes=2), b, 25.0))  # two in a slot count once
    for time, device, soil in rows:
        db.execute(
            "INSERT INTO garden_readings (time, device_id, soil_vwc_pct) VALUES (%s, %s, %s)", (time, device, soil)
        )

    created = api.post("/v1/experiments", json={
        "name": f"jardins {uid}", "capability": "readings", "family": "ptipot", "devices": [a, b, silent],
        "starts_at": t0.isoformat(), "ends_at": (t0 + 10 * hour).isoformat(),
    })  # fmt: skip
    assert created.status_code == 201, created.text
    kpis = kpis_of(api.get(f"/v1/experiments/{created.json()['id']}/kpis").json())
    assert kpis["uptime_share"][0] == 90.0 and kpis["uptime_share_lowest"][0] == 80.0  # silent: no status, left out
    # silent: first seen at t0, no reading in 40 slots: 0 %; mean (75 + 100 + 0) / 3
    assert kpis["data_completeness"][0] == 58.3 and kpis["data_completeness_lowest"][0] == 0.0
    # counted in the gardens' 15-minute slots holding a reading below: a has 8 (2 h), b 20 below its own 30 (5 h),
    # silent none; per device of the experiment: (2 + 5) / 3
    assert kpis["hours_soil_dry_per_device"][0] == round(7 / 3, 3)
    span = {"start": t0.isoformat(), "end": (t0 + 10 * hour).isoformat()}
    listed = api.get("/v1/data-completeness", params=span)
    assert listed.status_code == 200, listed.text
    shares = {d["device_id"]: (d["slots_with_data"], d["slots_expected"], d["share"]) for d in listed.json()["devices"]}
    assert shares[a] == (30, 40.0, 0.75) and shares[b] == (20, 20.0, 1.0) and shares[silent] == (0, 40.0, 0.0)
    too_long = api.get("/v1/data-completeness", params={"start": "2026-01-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"})
    assert too_long.status_code == 422
