"""A family is its folder: the fixture family (tests/fixtures/families/beehive), registered by one line
(TLAB_EXTRA_FAMILIES, tests/conftest.py) and named nowhere else, flows simulator -> broker -> ingest ->
TimescaleDB -> API with its declared reader policy. This test names it only as data."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from device_adapters.contract import OutboundMessage
from device_adapters.registry import FAMILIES, family
from sim.credentials import ApiProvisioner, DeviceKeyring
from sim.runner import run_simulator
from tests.conftest import count, wait_for
from tests.integration.helpers import publish_all
from tlab.cli import app

pytestmark = pytest.mark.integration
NAME = "beehive"


def test_the_fixture_family_is_registered_from_its_folder_alone() -> None:
    fixture = family(NAME)
    assert fixture in FAMILIES and "tests/fixtures/families" in str(fixture.folder)
    assert NAME in CliRunner().invoke(app, ["sim", "--help"]).output
    assert "--hives" in CliRunner().invoke(app, ["run", "--help"]).output


def test_the_fixture_family_flows_to_the_api_with_its_reader_policy(stack, ingest, api, db, uid, issue_token) -> None:
    fixture = family(NAME)
    assert fixture.simulator is not None
    options = {**fixture.simulator.defaults(), "devices": 2, "count": 5, "rate": 20.0, "prefix": f"h{uid}"}
    fleet = fixture.simulator.build(**options)
    keyring = DeviceKeyring(stack, ApiProvisioner(api))  # provisioned as a device maker would be
    assert run_simulator(fleet, stack, rate=20.0, keyring=keyring, stop=threading.Event()) == 0

    table = fixture.tables[0]
    device = f"h{uid}-01"
    wait_for(lambda: count(db, f"SELECT count(*) FROM {table} WHERE device_id LIKE %s", f"h{uid}-%") == 10, what="10")
    publish_all(
        stack, [OutboundMessage(f"{NAME}/{device}/weight", json.dumps({"ts": "2026-11-28T10:00:00Z"}).encode())]
    )
    wait_for(
        lambda: count(db, "SELECT count(*) FROM dead_letters WHERE device_id = %s AND family = %s", device, NAME) == 1,
        what="the dead letter of a weighing without a weight",
    )

    readings = f"/v1/devices/{device}/readings"
    since = (datetime.now(UTC) - timedelta(days=30)).isoformat()  # the simulator stamps the current time
    params = {"metric": "weight_kg", "start": since}
    allowed = api.get(readings, params=params, headers={"Authorization": f"Bearer {issue_token('green_spaces')}"})
    assert allowed.status_code == 200, allowed.text
    assert len(allowed.json()["items"]) == 5
    for role in ("viewer", "sanitation", "police"):
        refused = api.get(readings, params=params, headers={"Authorization": f"Bearer {issue_token(role)}"})
        assert refused.status_code == 403, (role, refused.text)
    metrics = api.get("/v1/metrics").json()
    assert {"family": NAME, "name": "weight_kg"}.items() <= next(m for m in metrics if m["family"] == NAME).items()
    audited = count(db, "SELECT count(*) FROM audit_log WHERE path = %s", readings)
    assert audited >= 4  # the family declares its data audited: every read, allowed or refused
