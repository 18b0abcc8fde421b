"""The login probe of the broker files' writer (core/broker_credentials.py): one real MQTT login on the
device listener, to know when Mosquitto has reloaded its files after a SIGHUP (it does so at its own
pace). The core speaks no MQTT, so the probe lives here and registers itself when imported (by the local
stack, the CLI and the benchmarks: every process that runs the writer)."""

from __future__ import annotations

import logging
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from core.broker_credentials import use_login_probe
from core.settings import Settings

logger = logging.getLogger(__name__)

ANSWER_TIMEOUT_S = 2.0


def mqtt_login_accepted(settings: Settings, username: str, secret: str) -> bool:
    """Whether the device listener accepts ``username``/``secret`` now (CONNACK 0); then disconnects."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"{username}-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv311
    )
    client.username_pw_set(username, secret)
    answers: list[bool] = []
    client.on_connect = lambda _c, _u, _f, reason, _p: answers.append(not reason.is_failure)
    try:
        client.connect(settings.mqtt_host, settings.mqtt_port, keepalive=5)
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while not answers and time.monotonic() < deadline:
            client.loop(0.02)
    except OSError as exc:
        logger.debug("broker probe: no connection", extra={"error": str(exc)})
        return False
    finally:
        client.disconnect()
    return bool(answers and answers[0])


use_login_probe(mqtt_login_accepted)
