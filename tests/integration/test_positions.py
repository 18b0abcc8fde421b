"""Positions and maps (issue 22, item 2) through the real API and database: a device placed at provisioning
and moved, shown in WGS 84 and Lambert-93; manholes placed by sanitation; GeoJSON of devices, incidents and
inspected pipe segments checked against RFC 7946's rules; what a role may not see or change."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

pytestmark = pytest.mark.integration
METZ = {"lat": 49.1193, "lon": 6.1757}


def check_rfc7946(collection: dict[str, Any]) -> list[dict[str, Any]]:
    """RFC 7946's rules on what the API sends: a FeatureCollection without ``crs`` (§4: WGS 84 only), each
    Feature with a geometry and a properties object, positions [longitude, latitude] in range (§3.1.1), a
    LineString of two positions or more (§3.1.4), ids strings or numbers (§3.2)."""
    assert collection["type"] == "FeatureCollection" and "crs" not in collection
    assert isinstance(collection["features"], list)
    for feature in collection["features"]:
        assert feature["type"] == "Feature" and isinstance(feature["properties"], dict)
        assert isinstance(feature.get("id"), str | int)
        geometry = feature["geometry"]
        points = [geometry["coordinates"]] if geometry["type"] == "Point" else geometry["coordinates"]
        assert geometry["type"] in ("Point", "LineString") and (geometry["type"] == "Point" or len(points) >= 2)
        for lon, lat in points:
            assert -180 <= lon <= 180 and -90 <= lat <= 90
    return collection["features"]


def test_a_device_is_placed_at_provisioning_moved_and_shown_in_both_systems(api, uid, issue_token) -> None:
    device = f"pos{uid}"
    created = api.post("/v1/devices", json={"device_id": device, "family": "ptipot", "position": METZ})
    assert created.status_code == 201, created.text
    placed = api.get(f"/v1/devices/{device}").json()["position"]
    assert (placed["lat"], placed["lon"], placed["source"]) == (METZ["lat"], METZ["lon"], "provisioning")
    x, y = placed["lambert93"]["x"], placed["lambert93"]["y"]
    assert 931_000 < x < 933_000 and 6_895_000 < y < 6_897_000  # Metz in Lambert-93
    moved = api.put(f"/v1/devices/{device}/position", json={"lat": 46.5, "lon": 3.0})
    assert moved.status_code == 200 and moved.json()["source"] == "api"
    # Lambert-93's origin (46.5° N, 3° E) is its false easting and northing
    assert moved.json()["lambert93"] == {"x": 700000.0, "y": 6600000.0}
    abroad = api.put(f"/v1/devices/{device}/position", json={"lat": 40.7, "lon": -74.0}).json()
    assert abroad["lambert93"] is None  # outside metropolitan France: no Lambert-93 to show
    features = check_rfc7946(api.get("/v1/devices.geojson").json())
    (mine,) = [f for f in features if f["id"] == device]
    assert mine["geometry"]["coordinates"] == [-74.0, 40.7]  # longitude first
    assert api.delete(f"/v1/devices/{device}/position").status_code == 204
    assert api.get(f"/v1/devices/{device}").json()["position"] is None
    assert device not in {f["id"] for f in check_rfc7946(api.get("/v1/devices.geojson").json())}


@pytest.mark.parametrize(
    "body",
    [
        {"lat": 91, "lon": 0},
        {"lat": 0, "lon": 181},
        {"lat": "nan", "lon": 0},
        {"lat": 1},
        {"lat": 1, "lon": 2, "z": 3},
        {"lat": "48,85", "lon": 2},
        {"lat": "48.85", "lon": 2},  # a string, not a number (strict)
        {"lat": True, "lon": 2},
    ],  # fmt: skip
)
def test_a_position_out_of_range_or_malformed_is_a_422(api, uid, body) -> None:
    device = f"bad{uid}"
    api.post("/v1/devices", json={"device_id": device, "family": "ptipot"})
    refused = api.put(f"/v1/devices/{device}/position", json=body)
    assert refused.status_code == 422, refused.text


@pytest.mark.parametrize("raw", [b'{"lat": NaN, "lon": 2}', b'{"lat": Infinity, "lon": 2}', b'{"lat": 1e309}'])
def test_a_number_json_has_no_word_for_is_a_422_not_a_500(api, uid, raw) -> None:
    """Python's JSON reader takes NaN and Infinity; quoting them back in the 422 broke the answer into a 500
    (found by a probe, on every route with a number: an alert's assignee too)."""
    device = f"nan{uid}"
    api.post("/v1/devices", json={"device_id": device, "family": "ptipot"})
    headers = {"Content-Type": "application/json"}
    refused = api.put(f"/v1/devices/{device}/position", content=raw, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["input"] in ("nan", "inf")
    assigned = api.post("/v1/alerts/1/assign", content=b'{"assignee": NaN}', headers=headers)
    assert assigned.status_code == 422, assigned.text
    assert api.put("/v1/devices/nobody-here/position", json=METZ).status_code == 404


def test_roles_place_only_what_is_theirs(api, uid, issue_token) -> None:
    device = f"role{uid}"
    api.post("/v1/devices", json={"device_id": device, "family": "ptipot"})
    green = {"Authorization": f"Bearer {issue_token('green_spaces')}"}
    assert api.put(f"/v1/devices/{device}/position", json=METZ, headers=green).status_code == 403
    assert api.put(f"/v1/manholes/R{uid}", json=METZ, headers=green).status_code == 403
    assert api.get("/v1/manholes", headers=green).status_code == 403  # pipe maps: the pipe readers'
    assert api.get("/v1/missions.geojson", headers=green).status_code == 403
    assert api.get("/v1/incidents.geojson", headers=green).status_code == 403
    assert api.get("/v1/devices.geojson", headers=green).status_code == 200


def test_an_inspected_segment_is_drawn_between_its_placed_manholes(api, db, uid, issue_token) -> None:
    sanitation = {"Authorization": f"Bearer {issue_token('sanitation')}"}
    start, end = f"R{uid}-1", f"R{uid}-2"
    assert api.put(f"/v1/manholes/{start}", json={**METZ, "description": "angle rue Serpenoise"},
                   headers=sanitation).status_code == 200  # fmt: skip
    drone = f"dr{uid}"
    db.execute("INSERT INTO devices (device_id, family) VALUES (%s, 'bathy') ON CONFLICT DO NOTHING", (drone,))
    db.execute(
        "INSERT INTO missions (mission_id, device_id, started_at, status, pipe_id, start_manhole, end_manhole, "
        "diameter_mm) VALUES (%s, %s, now(), 'completed', 'BET-1', %s, %s, 600)",
        (f"M{uid}", drone, start, end),
    )
    drawn = {f["id"] for f in check_rfc7946(api.get("/v1/missions.geojson", headers=sanitation).json())}
    assert f"M{uid}" not in drawn  # its end manhole has no position yet: no line to draw
    placed = api.put(f"/v1/manholes/{end}", json={"lat": 49.1203, "lon": 6.1771}, headers=sanitation).json()
    assert placed["updated_by"] and placed["lambert93"]["x"] > 900_000
    features = check_rfc7946(api.get("/v1/missions.geojson", headers=sanitation).json())
    (segment,) = [f for f in features if f["id"] == f"M{uid}"]
    assert segment["geometry"] == {"type": "LineString", "coordinates": [[6.1757, 49.1193], [6.1771, 49.1203]]}
    assert segment["properties"]["start_manhole"] == start and segment["properties"]["observations"] == 0
    refs = {m["ref"] for m in api.get("/v1/manholes", headers=sanitation).json()}
    assert {start, end} <= refs
    assert api.put("/v1/manholes/%20bad", json=METZ, headers=sanitation).status_code == 422


def test_incidents_are_drawn_at_their_camera(api, db, uid, issue_token) -> None:
    camera = f"cam{uid}"
    db.execute(
        "INSERT INTO devices (device_id, family, location, lat, lon, position_source, position_at) "
        "VALUES (%s, 'karroad', 'place Saint-Louis', 49.1166, 6.1777, 'api', now())",
        (camera,),
    )
    began = datetime.now(UTC) - timedelta(hours=1)
    db.execute(
        "INSERT INTO incidents (key, device_id, label, tracks, began_at, suspected_at) VALUES (%s, %s, 'couch', "
        "'{t}', %s, %s)",
        (f"g{uid}", camera, began, began + timedelta(minutes=5)),
    )
    cleanliness = {"Authorization": f"Bearer {issue_token('cleanliness')}"}
    response = api.get("/v1/incidents.geojson", headers=cleanliness)
    assert response.headers["content-type"].startswith("application/geo+json")
    (mine,) = [f for f in check_rfc7946(response.json()) if f["properties"]["device_id"] == camera]
    assert mine["geometry"]["coordinates"] == [6.1777, 49.1166] and mine["properties"]["label"] == "couch"
    assert mine["properties"]["location"] == "place Saint-Louis"


def test_a_device_reports_its_own_position_and_staff_placement_is_kept_over_it(stack, ingest, api, db, uid) -> None:
    """On the position topic every family shares, through the broker with the device's own login (its ACL grants
    the topic), as ingest stores it; a bad fix is dead-lettered with its reason."""
    from sim.publisher import OutboundMessage
    from tests.conftest import count, wait_for
    from tests.integration.helpers import publish_all

    device = f"gps{uid}"
    topic = f"ptipot/{device}/position"

    def fix(body: dict[str, Any]) -> OutboundMessage:
        return OutboundMessage(topic, json.dumps(body).encode())

    now = datetime.now(UTC).replace(microsecond=0)
    publish_all(stack, [fix({"lat": 50.5303, "lon": 2.6408, "ts": now.isoformat(), "accuracy_m": 4.5})])
    shown = wait_for(lambda: api.get(f"/v1/devices/{device}").json().get("position"), what="the device's fix")
    assert (shown["lat"], shown["lon"], shown["source"], shown["accuracy_m"]) == (50.5303, 2.6408, "device", 4.5)
    assert shown["lambert93"]["x"] == pytest.approx(675_200, abs=2_000)

    older = (now - timedelta(minutes=5)).isoformat()
    bad = [
        {"lat": 91, "lon": 2.6}, {"lat": "50.5", "lon": 2.6}, {"lat": 50.5}, {"lat": 50.5, "lon": 2.6, "alt": 3},
    ]  # fmt: skip
    publish_all(stack, [fix({"lat": 48.85, "lon": 2.35, "ts": older}), *[fix(b) for b in bad]])
    wait_for(
        lambda: (
            count(db, "SELECT count(*) FROM dead_letters WHERE topic = %s AND reason_code = 'invalid_field'", topic)
            == len(bad)
        ),
        what="each bad fix dead-lettered",
    )
    assert api.get(f"/v1/devices/{device}").json()["position"]["lat"] == 50.5303  # an older fix moves nothing

    pinned = api.put(f"/v1/devices/{device}/position", json={"lat": 50.52, "lon": 2.65})
    assert pinned.status_code == 200 and pinned.json()["source"] == "api"
    publish_all(stack, [fix({"lat": 50.60, "lon": 2.70})])  # a later fix: staff's placement is kept
    wait_for(lambda: count(db, "SELECT count(*) FROM devices WHERE device_id = %s AND last_seen > %s", device, now),
             what="the later fix received")  # fmt: skip
    assert api.get(f"/v1/devices/{device}").json()["position"]["source"] == "api"
    assert api.delete(f"/v1/devices/{device}/position").status_code == 204
    publish_all(stack, [fix({"lat": 50.61, "lon": 2.71})])  # unpinned: the device's word again
    moved = wait_for(lambda: (api.get(f"/v1/devices/{device}").json().get("position") or {}).get("lat") == 50.61,
                     what="the device's fix after the pin was removed")  # fmt: skip
    assert moved
