"""Files that are private from the moment they exist: secrets (tokens, passwords, keys) and the broker's files.

``Path.write_text`` then ``chmod(0o600)`` leaves a window in which the file has the umask's mode (0644:
readable by every local user) and a reader can open it then and keep the descriptor. Here the file is a
new temporary created with ``O_CREAT | O_EXCL`` and mode 0600 (never someone else's file or a symlink
planted in its place), written, fsynced, given its owner, widened only if asked (a certificate), then
renamed over the target: readers see the old file or the new one, never a partial or an open one.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

logger = logging.getLogger(__name__)

PRIVATE = 0o600


def write_private(path: Path, data: str | bytes, *, mode: int = PRIVATE, owner: tuple[int, int] | None = None) -> None:
    """Replace ``path`` atomically with ``data``; the file is 0600 from its creation and ends with
    ``mode`` (only ever widened after it is written, for files that hold no secret) and ``owner`` (uid, gid)."""
    payload = data.encode() if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, PRIVATE)
    try:
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            if owner is not None:
                os.fchown(fd, *owner)
            if mode != PRIVATE:
                os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_or_create_secret(path: Path, make: str) -> str:
    """The secret kept in ``path``, or ``make`` written there (privately) when the file is missing or empty."""
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        if path.stat().st_mode & 0o077:  # written by an older version: private from now on
            path.chmod(PRIVATE)
        return existing
    write_private(path, make + "\n")
    return make
