from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from core.media_store import MediaStore, MediaStoreError


def test_put_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    data = b"\xff\xd8\xff jpeg bytes \xff\xd9"
    sha = hashlib.sha256(data).hexdigest()
    path = store.put(sha, data)
    assert path == tmp_path / "sha256" / sha[:2] / sha[2:4] / sha
    assert path.read_bytes() == data
    inode = path.stat().st_ino
    # not written again (same file); its time is refreshed, so the orphan sweep sees it as young until the
    # writer that found it names it (core/media_store.py: sweep_orphans)
    assert store.put(sha, data) == path and path.stat().st_ino == inode
    assert store.add(sha, data) is False
    assert store.open(sha) == path
    assert not list(path.parent.glob(".incoming-*"))


def test_put_refuses_bytes_that_do_not_match_the_hash(tmp_path: Path) -> None:
    with pytest.raises(MediaStoreError, match="does not hash"):
        MediaStore(tmp_path).put("0" * 64, b"other")


def test_path_rejects_traversal(tmp_path: Path) -> None:
    with pytest.raises(MediaStoreError):
        MediaStore(tmp_path).path_for("../../etc/passwd")
    assert MediaStore(tmp_path).open("a" * 64) is None
