"""A paced QoS 1 load for latency runs: garden readings whose ``ts`` is the moment they are handed to
the publisher.

The publishing itself is done by ``mosquitto_pub -l`` (C): a Python publisher costs about as much CPU
per message as the ingest worker it loads, and on a small machine it would steal the headroom that a
half-load latency measurement is meant to leave. This process only writes timestamped lines to the C
publisher's stdin, every 5 ms.

``python -m benchmarks.paced_publisher HOST PORT DEVICE RATE SECONDS`` prints one JSON line; the device's
MQTT password comes in the environment (BENCH_MQTT_PASSWORD), not on a command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

TICK_S = 0.005


def line_publisher(host: str, port: str | int, topic: str, username: str, password: str) -> list[str]:
    """``mosquitto_pub`` publishing each stdin line as one QoS 1 MQTT v5 message (the C load generator),
    logged in as the device (its client id is its username, as the simulators do)."""
    return [
        "mosquitto_pub", "-h", host, "-p", str(port), "-V", "mqttv5", "-q", "1", "-l", "-t", topic,
        "-i", username, "-u", username, "-P", password,
    ]  # fmt: skip


def main() -> None:
    host, port, device, rate, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
    pub = subprocess.Popen(
        line_publisher(host, port, f"ptipot/{device}/readings", device, os.environ["BENCH_MQTT_PASSWORD"]),
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert pub.stdin is not None
    total = int(rate * seconds)
    sent = 0
    started = time.monotonic()
    while sent < total:
        due = min(total, int((time.monotonic() - started) * rate) + 1)
        lines = []
        while sent < due:
            ts = datetime.now(UTC).isoformat(timespec="microseconds")
            lines.append(json.dumps({"ts": ts, "soil_vwc_pct": float(sent % 100)}))
            sent += 1
        if lines:
            pub.stdin.write(("\n".join(lines) + "\n").encode())
            pub.stdin.flush()
        time.sleep(TICK_S)
    publishing = time.monotonic() - started
    pub.stdin.close()
    err = pub.stderr.read() if pub.stderr else b""
    pub.wait(120)
    report = {
        "device": device,
        "sent": sent,
        "failed": int(pub.returncode != 0 or bool(err)),
        "publish_seconds": round(publishing, 3),
        "achieved_rate": sent / publishing,
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
