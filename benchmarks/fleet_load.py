"""A paced QoS 1 load spread over a fleet of garden devices, for the alerts benchmark's latency run.

``mosquitto_pub -l`` (the other benchmarks' C load) publishes to one topic; a fleet of 1,000 devices needs
1,000 topics, so this is a Python paho client on a benchmark service account of the broker's service
listener, publishing round-robin to ``<mount>ptipot/<device>/readings`` (what the device listener would
hand the platform). It costs CPU that ingest and the evaluator then do not have: the benchmark reports it.

``python -m benchmarks.fleet_load HOST PORT MOUNT PREFIX DEVICES RATE SECONDS`` prints one JSON line; the
account comes in the environment (BENCH_MQTT_USER, BENCH_MQTT_PASSWORD).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from datetime import UTC, datetime

import paho.mqtt.client as mqtt

TICK_S = 0.005


def reading(i: int) -> bytes:
    """An ordinary reading: nothing in it breaches the garden rules."""
    ts = datetime.now(UTC).isoformat(timespec="microseconds")
    return json.dumps({"ts": ts, "soil_vwc_pct": 25.0 + i % 7, "air_temp_c": 11.0 + i % 5}).encode()


def main() -> None:
    host, port, mount, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    devices, rate, seconds = int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{os.environ['BENCH_MQTT_USER']}-load")
    client.username_pw_set(os.environ["BENCH_MQTT_USER"], os.environ["BENCH_MQTT_PASSWORD"])
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    acked = 0
    lock = threading.Lock()

    def on_publish(*_: object) -> None:
        nonlocal acked
        with lock:
            acked += 1

    connected = threading.Event()
    client.on_publish = on_publish
    client.on_connect = lambda _c, _u, _f, rc, _p: connected.set() if not rc.is_failure else None
    deadline = time.monotonic() + 15  # the broker may still be reloading its accounts
    client.connect_async(host, port)
    client.loop_start()
    if not connected.wait(max(0.0, deadline - time.monotonic())):
        print(json.dumps({"error": "not connected to the broker within 15 s"}), flush=True)
        sys.exit(2)
    total = int(rate * seconds)
    sent = failed = 0
    started = time.monotonic()
    while sent < total:
        due = min(total, int((time.monotonic() - started) * rate) + 1)
        while sent < due:
            topic = f"{mount}ptipot/{prefix}{sent % devices:04d}/readings"
            if client.publish(topic, reading(sent), qos=1).rc != mqtt.MQTT_ERR_SUCCESS:
                failed += 1  # counted, never ignored
            sent += 1
        time.sleep(TICK_S)
    publishing = time.monotonic() - started
    deadline = time.monotonic() + 60
    while acked < sent - failed and time.monotonic() < deadline:
        time.sleep(0.05)
    client.loop_stop()
    client.disconnect()
    cpu = time.process_time()
    print(json.dumps({"sent": sent, "acked": acked, "failed": failed, "achieved_rate": sent / publishing,
                      "cpu_seconds": round(cpu, 2)}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
