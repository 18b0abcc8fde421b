"""Two inspections of one pipe compared through the API (issue 23, item 4), on the real database: this year's
drone mission (downstream) against last year's survey run upstream, turned to the drone's direction."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_two_inspections_of_a_pipe_compared_with_the_other_run_turned(api, db, uid, issue_token) -> None:
    drone = f"cmp{uid}"
    db.execute("INSERT INTO devices (device_id, family) VALUES (%s, 'bathy') ON CONFLICT DO NOTHING", (drone,))
    for mission, direction, year in ((f"now-{uid}", "downstream", 2026), (f"before-{uid}", "upstream", 2025)):
        db.execute(
            "INSERT INTO missions (mission_id, device_id, started_at, ended_at, status, pipe_id, direction, "
            "distance_m) VALUES (%s, %s, %s, %s, 'completed', %s, %s, 40.0)",
            (mission, drone, f"{year}-06-01T10:00:00Z", f"{year}-06-01T11:00:00Z", f"BET-{uid}", direction),
        )

    def observation(mission: str, code: str, start: float, clocks: tuple[int, int], state: str = "automatic",
                    finish: float | None = None) -> int:  # fmt: skip
        row = db.execute(
            "INSERT INTO observations (mission_id, code, chainage_start_m, chainage_end_m, clock_from, clock_to, "
            "grade, confidence, frames, model, state) VALUES (%s, %s, %s, %s, %s, %s, 3, 0.8, 2, 'test', %s) "
            "RETURNING id",
            (mission, code, start, finish, clocks[0], clocks[1], state),
        ).fetchone()
        return int(row["id"])

    crack = observation(f"now-{uid}", "BAB", 7.5, (2, 3))
    deposit = observation(f"now-{uid}", "BBC", 10.0, (5, 7), finish=14.0)
    new_root = observation(f"now-{uid}", "BBA", 20.0, (12, 12))
    observation(f"now-{uid}", "BAB", 30.0, (6, 6), state="rejected")  # thrown out by a reviewer: not found
    old_crack = observation(f"before-{uid}", "BAB", 32.3, (9, 10))  # from the other end, the wall mirrored
    old_deposit = observation(f"before-{uid}", "BBC", 26.0, (5, 7), finish=30.0)
    gone = observation(f"before-{uid}", "BBE", 5.0, (6, 6))  # an obstacle since removed
    observation(f"before-{uid}", "BAB", 10.0, (6, 6))  # the rejected one's place, after turning: 30 m

    sanitation = {"Authorization": f"Bearer {issue_token('sanitation')}"}
    answer = api.get(f"/v1/missions/now-{uid}/comparison", params={"with": f"before-{uid}"}, headers=sanitation)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["same_pipe"] is True and body["other_turned_to_mission_direction"] is True
    pairs = {(m["mission"]["id"], m["other"]["id"]) for m in body["matched"]}
    assert pairs == {(crack, old_crack), (deposit, old_deposit)}
    assert [o["id"] for o in body["only_mission"]] == [new_root]
    assert {o["id"] for o in body["only_other"]} == {gone, old_crack + 3}  # the obstacle, the crack at 30 m
    assert body["summary"] == {"found_by_both": 2, "only_mission": 1, "only_other": 2,
                               "share_of_other_found_by_mission": 0.5}  # fmt: skip
    turned = next(m["other"] for m in body["matched"] if m["mission"]["id"] == crack)
    assert (turned["start_m"], turned["clock_from"], turned["clock_to"]) == (7.7, 2, 3)

    tight = api.get(f"/v1/missions/now-{uid}/comparison", params={"with": f"before-{uid}", "tolerance_m": 0.1},
                    headers=sanitation).json()  # fmt: skip
    assert tight["summary"]["found_by_both"] == 1  # the crack is 0.2 m off
    assert api.get(f"/v1/missions/now-{uid}/comparison", params={"with": "nope"}, headers=sanitation).status_code == 404
    assert api.get(f"/v1/missions/now-{uid}/comparison", headers=sanitation).status_code == 422
    bad = api.get(f"/v1/missions/now-{uid}/comparison", params={"with": f"before-{uid}", "tolerance_m": "nan"})
    assert bad.status_code == 422
    green = {"Authorization": f"Bearer {issue_token('green_spaces')}"}
    assert (
        api.get(f"/v1/missions/now-{uid}/comparison", params={"with": f"before-{uid}"}, headers=green).status_code
        == 403
    )
