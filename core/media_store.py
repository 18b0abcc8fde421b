"""Content-addressed media store: files named by the SHA-256 of their bytes.

``<root>/sha256/ab/cd/abcd…`` — the same image sent twice is stored once, a file never changes once
written, and a write is crash-safe (temp file, fsync, rename, fsync of the folder), so ingest can write
the file *before* committing its metadata row and acknowledge the message only after both.
An S3-compatible store can replace this class behind the same methods.

A file is named by a ``media`` row. Ingest writes a file inside its transaction, *after* inserting the row
that names it; deleting a file no row names (``delete_if_unnamed``) first claims its hash by inserting that
row itself, in a transaction it rolls back. The row's unique index orders the two: a writer whose row is in
flight makes the claim wait for its COMMIT (then the file is named and stays) or its rollback; a claim in
flight makes the writer wait, and the writer then writes the file again. So a committed row never names a
file a deletion removed, per hash, with no lock shared by every writer.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

logger = logging.getLogger(__name__)

INCOMING_PREFIX = ".incoming-"  # a file being written, renamed to its hash once whole
_HEX64 = re.compile(r"[0-9a-f]{64}")
# a deletion's claim on a hash: the media row it names, inserted in a transaction that is rolled back
CLAIM = """
INSERT INTO media (sha256, content_type, size_bytes) VALUES (%s, 'application/x-tlab-deletion', 0)
ON CONFLICT (sha256) DO NOTHING RETURNING 1
"""


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
        self.add(sha256, data)
        return self.path_for(sha256)

    def add(self, sha256: str, data: bytes) -> bool:
        """Store ``data`` under its hash (checked); True if this call created the file, False if it was there."""
        if hashlib.sha256(data).hexdigest() != sha256:
            raise MediaStoreError(f"content does not hash to {sha256}")
        path = self.path_for(sha256)
        if path.exists():
            try:  # found again: young for ``sweep_orphans`` until the writer that found it names it
                os.utime(path)
            except FileNotFoundError:
                return self.add(sha256, data)
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=INCOMING_PREFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)
        return True

    def remove(self, sha256: str) -> bool:
        """Delete the file of ``sha256`` (the caller made sure nothing names it); True if there was one."""
        path = self.path_for(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True

    def files(self) -> Iterator[Path]:
        """Every file of the store (named by a hash, or a write in progress), folder by folder."""
        top = self.root / "sha256"
        if not top.is_dir():
            return
        for first in sorted(top.iterdir()):
            if not first.is_dir():
                continue
            for second in sorted(first.iterdir()):
                if not second.is_dir():
                    continue
                for entry in os.scandir(second):
                    if entry.is_file() and (_HEX64.fullmatch(entry.name) or entry.name.startswith(INCOMING_PREFIX)):
                        yield Path(entry.path)

    def open(self, sha256: str) -> Path | None:
        path = self.path_for(sha256)
        return path if path.is_file() else None


def _fsync_dir(folder: Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# ---- files no row names ------------------------------------------------------------------------------------
SWEEP_CHUNK = 1000


class _Rollback(Exception):
    """Ends a claim's transaction (psycopg rolls back on an exception)."""


def delete_if_unnamed(
    conn: psycopg.Connection[Any], media: MediaStore, sha256: str, *, cutoff: float | None = None
) -> bool:
    """Delete the file of ``sha256`` unless a media row names it (or, with ``cutoff``, unless it was written or
    found again since); True if deleted. One hash per transaction: a claim never waits while holding another."""
    deleted = False
    try:
        with conn.transaction():
            if conn.execute(CLAIM, (sha256,)).fetchone() is not None:  # no row names it, none is in flight
                path = media.path_for(sha256)
                try:
                    young = cutoff is not None and path.stat().st_mtime >= cutoff
                except FileNotFoundError:
                    young = True
                deleted = not young and media.remove(sha256)
            raise _Rollback
    except _Rollback:
        pass
    return deleted


def sweep_orphans(conn: psycopg.Connection[Any], media: MediaStore, older_than_s: float) -> int:
    """Delete the files older than ``older_than_s`` that no ``media`` row names, and temporary files a crash
    left mid-write; returns how many were deleted.

    Ingest deletes at once the files of messages that ended without a row (ingest/writer.py); what only this
    finds is what a *crash* left between a file's write and its COMMIT (a killed worker, a power loss): an
    unnamed file, never a row without a file. Every writer of the store names its files in ``media`` within
    seconds of writing them (ingest, the vision's annotated frames, the privacy copies; a writer that finds a
    file already there makes it young again), so a file older than the grace period that no row names is
    garbage; each is claimed (``delete_if_unnamed``) and its age read again just before it goes."""
    cutoff = time.time() - older_than_s
    deleted = 0
    chunk: list[str] = []
    for path in media.files():
        try:
            old = path.stat().st_mtime < cutoff
        except FileNotFoundError:
            continue
        if not old:
            continue
        if path.name.startswith(INCOMING_PREFIX):  # a write a crash interrupted: never renamed, never named
            path.unlink(missing_ok=True)
            deleted += 1
            continue
        chunk.append(path.name)
        if len(chunk) >= SWEEP_CHUNK:
            deleted += _delete_unnamed(conn, media, chunk, cutoff)
            chunk = []
    if chunk:
        deleted += _delete_unnamed(conn, media, chunk, cutoff)
    return deleted


def _delete_unnamed(conn: psycopg.Connection[Any], media: MediaStore, shas: list[str], cutoff: float) -> int:
    named = {r["sha256"] for r in conn.execute("SELECT sha256 FROM media WHERE sha256 = ANY(%s)", (shas,))}
    deleted = 0
    for sha in shas:
        if sha not in named and delete_if_unnamed(conn, media, sha, cutoff=cutoff):
            logger.info("file no row names deleted from the media store", extra={"sha256": sha})
            deleted += 1
    return deleted
