"""Content-addressed media store: files named by the SHA-256 of their bytes.

``<root>/sha256/ab/cd/abcd…`` — the same image sent twice is stored once, a file never changes once
written, and a write is crash-safe (temp file, fsync, rename, fsync of the folder), so ingest can write
the file *before* committing its metadata row and acknowledge the message only after both.
An S3-compatible store can replace this class behind the same two methods.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class MediaStoreError(RuntimeError):
    pass


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise MediaStoreError(f"not a lowercase hex SHA-256: {sha256!r}")
        return self.root / "sha256" / sha256[:2] / sha256[2:4] / sha256

    def put(self, sha256: str, data: bytes) -> Path:
        """Store ``data`` under its hash (checked); a no-op when it is already there."""
        if hashlib.sha256(data).hexdigest() != sha256:
            raise MediaStoreError(f"content does not hash to {sha256}")
        path = self.path_for(sha256)
        if path.exists():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return path

    def open(self, sha256: str) -> Path | None:
        path = self.path_for(sha256)
        return path if path.is_file() else None
