"""The pipe vision's trust, written from a benchmark run on labelled real frames (issue 21, item 3).

``tlab bench vision --real DIR --write-trust`` (after its run) and ``tlab bench trust RESULTS.json`` (from a
run's saved figures) turn the figures ``benchmarks/vision_real.py`` wrote into the measurement of the analysis
that ran (services/vision/trust.py): per code tp, fp, frames and precision on the ``holdout`` split, with the
set's manifest SHA-256, the date, the split's frames and the figures' file. The trust file is therefore never
typed by hand, and a unit test checks each of its entries against the figures it names.

- The classical analysis: its entry in ``services/vision/trust.toml`` is replaced (the others kept: stored
  observations of an older version still name theirs). A run's figures are first kept beside the
  documentation's (``docs/benchmarks-data/vision-real-<date>.json``), the file the entry names.
- An analysis with a trained model: its ``[trust]`` table is printed and written to
  ``benchmarks/results/vision-real-trust.toml``, to be added to the model's sidecar (the deployment's file:
  the benchmark does not rewrite it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.results import RESULTS
from core.settings import REPO_ROOT
from services.vision.trust import SPLIT, TRUST_FILE, CodeFigures, Measurement, TrustFileError, dumps, read, table

KEPT = REPO_ROOT / "docs" / "benchmarks-data"


def measurement(result: dict[str, Any], results: str, split: str = SPLIT) -> Measurement:
    """The measurement a run's figures (``vision_real.run``'s result) make, naming ``results`` as their file."""
    try:
        figures = result["splits"][split]
        return Measurement(
            analysis=result["model"],
            manifest_sha256=result["set"]["manifest_sha256"],
            split=split,
            date=result["date"][:10],
            frames=figures["frames"],
            results=results,
            codes={
                code: CodeFigures(tp=c["tp"], fp=c["fp"], frames=c["frames"], precision=c["precision"])
                for code, c in figures["codes"].items()
            },
        )
    except (KeyError, TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        raise TrustFileError(f"{results}: not the figures of `tlab bench vision --real` ({exc})") from None


def shown(path: Path) -> str:
    """``path`` as an entry names it: relative to the repository when inside it."""
    path = path.resolve()
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def keep(result: dict[str, Any]) -> Path:
    """The run's figures beside the documentation's, named by its date (``-b``, ``-c``... when that name holds
    another run's); the same figures already kept are not copied twice."""
    text = json.dumps(result, indent=2) + "\n"
    stem = f"vision-real-{result['date'][:10]}"
    for suffix in ("", *(f"-{c}" for c in "bcdefghijklmnopqrstuvwxyz")):
        path = KEPT / f"{stem}{suffix}.json"
        if not path.exists():
            path.write_text(text)
            return path
        if json.loads(path.read_text()) == result:
            return path
    raise FileExistsError(f"{KEPT}: 26 runs of {result['date'][:10]} kept already")


def write(result: dict[str, Any], results: Path, trust_file: Path = TRUST_FILE) -> Path:
    """Write the measurement of ``result`` (whose figures are the file ``results``); returns the file written."""
    measured = measurement(result, shown(results))
    if "+" in measured.analysis:  # a trained model's: its sidecar's table
        out = RESULTS / "vision-real-trust.toml"
        RESULTS.mkdir(exist_ok=True)
        text = table(measured, "trust")
        out.write_text(text)
        print(f"\nadd this table to the trained model's sidecar (<model>.toml):\n\n{text}\nwritten to {out}")
        return out
    entries = read(trust_file) if trust_file.exists() else {}
    entries[measured.analysis] = measured
    trust_file.write_text(dumps(entries))
    print(f"trust of {measured.analysis} ({measured.split}, {measured.frames} frames, {measured.results}) "
          f"written to {shown(trust_file)}")  # fmt: skip
    return trust_file


def write_from(results: Path, trust_file: Path = TRUST_FILE) -> Path:
    """``tlab bench trust RESULTS.json``: a saved run's figures."""
    try:
        result = json.loads(results.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise TrustFileError(f"{results}: {exc}") from None
    return write(result, results, trust_file)
