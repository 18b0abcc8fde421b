"""Small checks on local processes and ports, shared by the stack, the supervisor and the benchmarks."""

from __future__ import annotations

import os
import socket
import time
import urllib.request
from pathlib import Path


def pid_alive(pid_file: Path) -> int | None:
    """The pid in ``pid_file`` if that process runs, else None."""
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return pid


def port_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def wait_http(url: str, timeout: float) -> bool:
    """Poll ``url`` until it answers 200 or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our own loopback URL
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False
