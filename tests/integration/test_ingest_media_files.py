"""Issue 19 item 4a: deleting a file no row names never races a writer of the same image (core/media_store.py).

A deletion claims the image's hash by inserting its media row in a transaction it rolls back; a writer inserts
that row before writing the file. The row's unique index orders them, on the real database."""

from __future__ import annotations

import hashlib
import threading

import psycopg
import pytest

from core.media_store import MediaStore, delete_if_unnamed
from tests.conftest import wait_for

pytestmark = pytest.mark.integration


def test_a_deletion_waits_for_a_writer_in_flight_and_keeps_what_it_names(stack, uid):
    media = MediaStore(stack.media_path)
    data = f"image {uid}".encode()
    sha = hashlib.sha256(data).hexdigest()
    media.put(sha, data)
    outcome: list[bool] = []
    with (
        psycopg.connect(stack.database_url, autocommit=True) as writer,
        psycopg.connect(stack.database_url, autocommit=True) as deleter,
    ):
        with writer.transaction():
            writer.execute(
                "INSERT INTO media (sha256, content_type, size_bytes) VALUES (%s, 'image/jpeg', %s)", (sha, len(data))
            )
            thread = threading.Thread(target=lambda: outcome.append(delete_if_unnamed(deleter, media, sha)))
            thread.start()
            wait_for(
                lambda: writer.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid = %s",
                    (deleter.info.backend_pid,),
                ).fetchone()[0],
                what="the deletion waiting for the writer's COMMIT",
            )
        thread.join(10)
    assert outcome == [False] and media.open(sha) is not None


def test_a_file_no_row_names_is_deleted(stack, uid):
    media = MediaStore(stack.media_path)
    data = f"orphan {uid}".encode()
    sha = hashlib.sha256(data).hexdigest()
    media.put(sha, data)
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        assert delete_if_unnamed(conn, media, sha) is True
        assert conn.execute("SELECT count(*) FROM media WHERE sha256 = %s", (sha,)).fetchone()[0] == 0
    assert media.open(sha) is None
