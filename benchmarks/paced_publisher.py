"""A paced QoS 1 publisher for latency runs: garden readings whose ``ts`` is the publish time.

``python -m benchmarks.paced_publisher HOST PORT DEVICE RATE SECONDS`` prints one JSON line of counts.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime

from sim.publisher import CountingPublisher, OutboundMessage


def main() -> None:
    host, port, device, rate, seconds = (
        sys.argv[1],
        int(sys.argv[2]),
        sys.argv[3],
        float(sys.argv[4]),
        float(sys.argv[5]),
    )
    publisher = CountingPublisher(host, port, f"bench-paced-{device}", max_queued=100_000)
    publisher.connect()
    total = int(rate * seconds)
    started = time.monotonic()
    for i in range(total):
        ts = datetime.now(UTC).isoformat(timespec="microseconds")
        body = json.dumps({"ts": ts, "soil_vwc_pct": float(i % 100)}).encode()
        publisher.publish(OutboundMessage(f"ptipot/{device}/readings", body))
        delay = started + (i + 1) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    publisher.flush(60)
    publisher.close()
    print(
        json.dumps({"device": device, **publisher.counts.as_dict(), "seconds": time.monotonic() - started}), flush=True
    )


if __name__ == "__main__":
    main()
