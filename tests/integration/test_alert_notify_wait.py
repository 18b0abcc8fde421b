"""Notifications do not flap (issue 19, item 16): a new alert is held back for the notify wait, and one
retracted or resolved within it never reaches the webhooks (nor does its resolution), while the API lists it
as it happened and an alert that lasts is delivered once the wait is over."""

from __future__ import annotations

import json
import threading

import psycopg
import pytest
from psycopg.rows import dict_row

from services.alerts.mqtt_channel import MqttAlertChannel
from services.alerts.store import save_pack
from services.alerts.webhooks import WebhookDeliverer
from tests.conftest import count, wait_for
from tests.integration.helpers import publish_all
from tests.integration.test_alert_webhooks import AlertDisplay, Receiver
from tests.integration.test_alerts import alerts_of, evaluate, frost_rule, readings

pytestmark = pytest.mark.integration


def test_an_alert_over_within_the_wait_is_never_sent_and_one_that_lasts_is(stack, ingest, api, db, uid) -> None:
    flapping, lasting = f"fl{uid}", f"ls{uid}"
    save_pack(db, [frost_rule(flapping), frost_rule(lasting)], source="test")
    # one evaluator for the test, its first pass before the channel starts: what earlier tests of this process
    # left (their devices' recent data, their rules) is evaluated then, not counted among this test's events
    evaluator = evaluate(stack)

    def again() -> None:
        with psycopg.connect(stack.database_url, autocommit=True, row_factory=dict_row) as conn:
            evaluator.evaluate_changed(conn)

    receiver = Receiver([200])
    settings = stack.model_copy(update={"webhook_allow": ["127.0.0.1/32"], "alert_notify_wait_s": 3.0})
    hook = db.execute(
        "INSERT INTO alert_webhooks (service, url, secret, created_by, delivered_through) VALUES ('green_spaces', "
        "%s, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'test', (SELECT coalesce(max(id), 0) FROM alert_outbox)) "
        "RETURNING id",
        (receiver.url,),
    ).fetchone()["id"]
    stop = threading.Event()
    display = AlertDisplay(stack, uid)  # what an MQTT subscriber is told
    deliverer = WebhookDeliverer(settings, refresh_s=0.2, timeout_s=2.0, max_backoff_s=0.2, poll_s=0.05)
    channel = MqttAlertChannel(settings, poll_s=0.05, client_id=f"tlab-alerts-mqtt-{uid}")
    threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in (deliverer, channel)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: count(db, "SELECT count(*) FROM alert_channels WHERE name = 'mqtt'") == 1, what="cursor")
        publish_all(stack, readings(flapping, (40, 0.5), (30, 0.4)))
        wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", flapping) == 2,
                 what="2")  # fmt: skip
        again()
        (fired,) = alerts_of(db, flapping)
        assert fired["state"] == "firing"
        publish_all(stack, readings(flapping, (1, 3.5)))  # warm again at once: cleared within the wait
        wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", flapping) == 3,
                 what="3")  # fmt: skip
        again()
        (cleared,) = alerts_of(db, flapping)
        assert cleared["state"] == "resolved" and cleared["resolution"] == "cleared"

        publish_all(stack, readings(lasting, (40, 0.5), (30, 0.4)))
        wait_for(lambda: count(db, "SELECT count(*) FROM garden_readings WHERE device_id = %s", lasting) == 2,
                 what="2")  # fmt: skip
        again()
        subjects = lambda: [json.loads(r["body"])["alert"]["subject"] for r in receiver.received]  # noqa: E731
        wait_for(lambda: lasting in subjects(), timeout=15, what="the lasting alert, once the wait is over")
        assert flapping not in subjects()  # neither its firing nor its clearing
        last = count(db, "SELECT max(o.id) FROM alert_outbox o JOIN alerts a ON a.id = o.alert_id WHERE a.subject = %s",
                     lasting)  # fmt: skip
        wait_for(lambda: count(db, "SELECT delivered_through FROM alert_channels WHERE name = 'mqtt'") >= last,
                 timeout=15, what="the MQTT channel past the lasting alert")  # fmt: skip
        ours = count(db, "SELECT count(*) FROM alert_outbox o JOIN alerts a ON a.id = o.alert_id "
                         "WHERE a.subject = ANY(%s)", [flapping, lasting])  # fmt: skip
        assert ours == 3  # fired and cleared (flapping), fired (lasting)
        # of those 3 events, MQTT told the lasting one only (earlier tests of this process may add their own)
        ((_, told),) = wait_for(lambda: display.of(lasting), timeout=10, what="the lasting alert on MQTT")
        assert told["event"] == "fired" and display.of(flapping) == []
        listed = api.get("/v1/alerts", params={"state": "resolved"}).json()["items"]
        assert [a["subject"] for a in listed if a["subject"] == flapping] == [flapping]  # the API tells it all
    finally:
        stop.set()
        for thread in threads:
            thread.join(20)
        receiver.close()
        display.close()
        db.execute("DELETE FROM alert_webhooks WHERE id = %s", (hook,))
