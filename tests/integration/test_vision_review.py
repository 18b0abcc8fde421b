"""A person's review of a pipe observation (services/vision/review.py), called by the API's review route.

The review moved out of its HTTP handler (issue 20): these pin what the handler did (404 for no such
observation, 409 for a withdrawn one, left as it was) and the review on a connection of core.db's (dict rows,
as the API's pool gives), outside any route."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from core.db import connect
from core.settings import Settings
from services.vision.review import NotReviewable, Review, review


def _observation(db: psycopg.Connection[Any], mission: str, state: str = "automatic", grade: int = 2) -> int:
    row = db.execute(
        "INSERT INTO observations (mission_id, code, chainage_start_m, clock_from, clock_to, grade, confidence, "
        "frames, model, state) VALUES (%s, 'BAB', 12.5, 2, 4, %s, 0.8, 3, 'test', %s) RETURNING id",
        (mission, grade, state),
    ).fetchone()
    assert row is not None
    return int(row["id"])


def test_the_review_route_keeps_its_answers(api, db, uid, issue_token) -> None:
    sanitation = {"Authorization": f"Bearer {issue_token('sanitation')}"}
    missing = api.post("/v1/observations/999999999999/review", json={"decision": "confirm"}, headers=sanitation)
    assert missing.status_code == 404 and "not found" in missing.json()["detail"]

    withdrawn = _observation(db, f"m-{uid}", state="withdrawn")
    refused = api.post(f"/v1/observations/{withdrawn}/review", json={"decision": "confirm"}, headers=sanitation)
    assert refused.status_code == 409 and "withdrew" in refused.json()["detail"]
    row = db.execute("SELECT state, reviewed_by FROM observations WHERE id = %s", (withdrawn,)).fetchone()
    assert row == {"state": "withdrawn", "reviewed_by": None}

    automatic = _observation(db, f"m-{uid}")
    done = api.post(
        f"/v1/observations/{automatic}/review", json={"decision": "recode", "clock_from": 3, "clock_to": 5},
        headers=sanitation,
    )  # fmt: skip
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["state"] == "recoded" and (body["recoded_clock_from"], body["recoded_clock_to"]) == (3, 5)


def test_a_review_outside_the_route(stack: Settings, db, uid) -> None:
    observation = _observation(db, f"m-{uid}", grade=4)
    with connect(stack.database_url) as conn:
        assert review(conn, observation, "agent-r", Review("reject", note="a shadow")) is True
        assert review(conn, observation + 10**12, "agent-r", Review("confirm")) is False  # no such one
        withdrawn = _observation(db, f"m-{uid}", state="withdrawn")
        with pytest.raises(NotReviewable):
            review(conn, withdrawn, "agent-r", Review("confirm"))
    row = db.execute("SELECT state, reviewed_by, review_note FROM observations WHERE id = %s", (observation,))
    assert row.fetchone() == {"state": "rejected", "reviewed_by": "agent-r", "review_note": "a shadow"}
