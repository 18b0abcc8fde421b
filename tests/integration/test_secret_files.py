"""The run command's admin token is private from the moment it exists (issue 19, item 13)."""

from __future__ import annotations

import os
import stat

import pytest

pytestmark = pytest.mark.integration


def test_the_demo_admin_token_is_never_readable_by_others(stack, monkeypatch) -> None:
    from tlab.supervisor import _demo_admin_token

    seen: dict[str, int] = {}
    real_chmod = os.chmod

    def chmod(path: object, mode: int, *args: object, **kwargs: object) -> None:
        seen[str(path)] = stat.S_IMODE(os.stat(path).st_mode)  # type: ignore[arg-type]
        real_chmod(path, mode, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "chmod", chmod)
    previous = os.umask(0)  # a file made by a plain open() would be 0666 until its chmod
    try:
        token = _demo_admin_token(stack)
    finally:
        os.umask(previous)
    path = stack.state_dir / "admin.token"
    assert path.read_text().strip() == token and stat.S_IMODE(path.stat().st_mode) == 0o600
    leaked = {p: oct(m) for p, m in seen.items() if m & 0o077}
    assert not leaked, f"the admin token was readable by others before its chmod: {leaked}"
