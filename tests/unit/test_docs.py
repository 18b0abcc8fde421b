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


def test_the_lock_files_pin_every_declared_dependency() -> None:
    """requirements.lock (runtime, the Docker image) and requirements-dev.lock (./lab: runtime, test, dev)
    pin what pyproject.toml declares; regenerate them with the commands in the README when it changes."""
    import tomllib

    def names(lines: list[str]) -> set[str]:
        return {re.split(r"[\[<>=!~ ;]", line.strip(), maxsplit=1)[0].lower().replace("_", "-") for line in lines}

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    runtime = names(project["dependencies"])
    extras = names([d for group in project["optional-dependencies"].values() for d in group])

    def pinned(lock: str) -> set[str]:
        text = (REPO_ROOT / lock).read_text()
        return {line.split("==")[0].lower().replace("_", "-") for line in text.splitlines() if "==" in line}

    assert runtime <= pinned("requirements.lock"), runtime - pinned("requirements.lock")
    assert runtime | extras <= pinned("requirements-dev.lock"), (runtime | extras) - pinned("requirements-dev.lock")
