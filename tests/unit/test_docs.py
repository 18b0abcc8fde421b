"""Documentation that is generated must match what generates it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from typer.testing import CliRunner

from core.settings import REPO_ROOT
from tlab.cli import app


def test_readme_configuration_table_matches_the_settings() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    table = re.search(r"<!-- config:start -->\n(.*?)<!-- config:end -->", readme, re.S)
    assert table, "README lacks the config markers"
    rows = [line for line in table.group(1).splitlines() if line.startswith("| `")]
    generated = CliRunner().invoke(app, ["config", "--markdown"]).output.splitlines()
    assert rows == generated, "run `tlab config --markdown` and paste it into README.md"


def test_readme_role_matrix_matches_the_policy() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    table = re.search(r"<!-- policy:start -->\n(.*?)<!-- policy:end -->", readme, re.S)
    assert table, "README lacks the policy markers"
    # the README documents the built-in families: without the suite's fixture family
    env = {**os.environ, "TLAB_EXTRA_FAMILIES": ""}
    generated = subprocess.run(
        [sys.executable, "-m", "tlab.cli", "policy", "--markdown"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert table.group(1) == generated, "run `tlab policy --markdown` and paste it into README.md"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert "./lab test" in readme
    ci = (REPO_ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == "exec ./lab test"
