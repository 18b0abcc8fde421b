"""Drive a simulator at a fixed rate and report what was published.

A simulator is anything with ``name``, ``done``, ``device_families()`` and ``tick(n, now) -> list[OutboundMessage]``;
the runner gets its devices' credentials (``DeviceKeyring``: from the admin API, as a device maker does),
opens one MQTT connection per device, calls
``tick`` ``rate`` times per second (each device of a fleet sends once per tick) and exits when ``done``
turns true, after ``count`` ticks, or on SIGTERM/SIGINT.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from datetime import UTC, datetime

import psycopg

from core.db import connect
from core.gateways import map_camera
from core.settings import Settings
from device_adapters.simulation import Simulator
from sim.connections import DeviceConnections
from sim.credentials import DeviceKeyring, KeyringError
from sim.faults import FaultInjector

logger = logging.getLogger(__name__)


def map_gateway_cameras(sim: Simulator, settings: Settings) -> None:
    """A simulated gateway (Frigate) speaks for cameras: map them in the registry, as an integrator would
    with ``tlab devices map-camera`` (needs the database; a simulator elsewhere says what to run)."""
    wanted: dict[str, dict[str, tuple[str, tuple[int, int]]]] = getattr(sim, "gateway_cameras", dict)()
    if not wanted:
        return
    try:
        with connect(settings.database_url, connect_timeout=5) as conn:
            for gateway, cameras in wanted.items():
                for name, (device, size) in cameras.items():
                    map_camera(conn, gateway, name, device, size)
    except psycopg.Error as exc:
        commands = "; ".join(
            f"tlab devices map-camera {g} {n} {d} --detect {w}x{h}"
            for g, cams in wanted.items()
            for n, (d, (w, h)) in cams.items()
        )
        logger.warning("gateway cameras not mapped", extra={"error": str(exc).strip(), "run": commands})


def run_simulator(
    sim: Simulator,
    settings: Settings,
    *,
    rate: float,
    count: int = 0,
    stop: threading.Event | None = None,
    faults: FaultInjector | None = None,
    disconnect_every: int = 0,
    keyring: DeviceKeyring | None = None,
) -> int:
    """Publish until done; print a JSON line of counts; return 0 if every publish was acknowledged."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    devices = sim.device_families()
    try:
        secrets = (keyring or DeviceKeyring(settings)).ensure(devices)
        map_gateway_cameras(sim, settings)
        publisher = DeviceConnections(settings, devices, secrets)
        publisher.connect()
    except (ConnectionError, KeyringError) as exc:
        logger.error("cannot publish", extra={"simulator": sim.name, "error": str(exc)})
        print(f"{sim.name}: {exc} (is the platform up? `./lab run`)", flush=True)
        return 2
    period = 1.0 / rate if rate > 0 else 0.0
    started = time.monotonic()
    n = 0
    while not stop.is_set() and not sim.done and (count == 0 or n < count):
        for message in sim.tick(n, datetime.now(UTC)):
            for out in faults.apply(message) if faults else [message]:
                publisher.publish(out)
        n += 1
        if disconnect_every and n % disconnect_every == 0:
            publisher.reconnect()  # fault injection: the device drops its link and comes back
        # schedule against the start time so the rate does not drift with publish time
        delay = started + n * period - time.monotonic()
        if delay > 0:
            stop.wait(delay)
    flushed = publisher.flush()
    publisher.close()
    counts = publisher.counts
    report = {
        "simulator": sim.name,
        "reconnects": publisher.reconnects,
        "ticks": n,
        **counts.as_dict(),
        "errors": counts.errors,
        "seconds": round(time.monotonic() - started, 2),
    }
    print(json.dumps(report), flush=True)
    ok = flushed and counts.failed == 0 and counts.acked == counts.sent
    if not ok:
        logger.error("not every publish was acknowledged", extra=report)
    return 0 if ok else 1
