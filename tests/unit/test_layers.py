"""The layers hold: import-linter's contracts (pyproject.toml) are checked by the test command too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core.settings import REPO_ROOT


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout
