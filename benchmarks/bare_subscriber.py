"""The ceiling: a bare paho-mqtt QoS 1 subscriber that only counts (auto-ack on return).

Run as ``python -m benchmarks.bare_subscriber HOST PORT N TIMEOUT``, logged in as the platform's service
account (BENCH_MQTT_USER and BENCH_MQTT_PASSWORD in the environment); prints ``ready`` once subscribed,
then one JSON line with the count and the first/last receive times (epoch seconds).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from device_adapters.registry import TOPIC_FILTERS


def main() -> None:
    host, port, expected, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    state: dict[str, float] = {"n": 0, "first": 0.0, "last": 0.0}
    done, subscribed = threading.Event(), threading.Event()

    def on_message(_c: mqtt.Client, _u: object, _m: mqtt.MQTTMessage) -> None:
        now = time.time()
        state["n"] += 1
        state["first"] = state["first"] or now
        state["last"] = now
        if state["n"] >= expected:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-bare-{time.time_ns()}", protocol=mqtt.MQTTv5)
    client.username_pw_set(os.environ["BENCH_MQTT_USER"], os.environ["BENCH_MQTT_PASSWORD"])
    client.on_message = on_message
    mount = os.environ.get("BENCH_MQTT_MOUNT", "")
    client.on_connect = lambda c, *_: c.subscribe([(f"{mount}{f}", 1) for f in TOPIC_FILTERS])
    client.on_subscribe = lambda *_: subscribed.set()
    client.connect(host, port)
    client.loop_start()
    subscribed.wait(10)
    print("ready", flush=True)
    done.wait(timeout)
    client.disconnect()
    client.loop_stop()
    print(json.dumps(state), flush=True)


if __name__ == "__main__":
    main()
