"""How far the vision's automatic findings can be trusted, code by code: the precision measured on real
footage (issue 21, item 3; docs/vision.md, "Trusted or suggested").

An analysis (``Analysis.model``: the classical detectors' version, with a trained model's identity and mode
when one is configured) earns trust per EN 13508-2 code from a measurement on labelled real frames
(``tlab bench vision --real``, docs/vision-real-frames.md): the code's precision at frame level on the set's
``holdout`` split, the frames nothing was tuned on. A code measured at or above the bar
(``TLAB_VISION_TRUST_BAR``, 0.7) on at least ``MIN_REPORTS`` reports is **trusted**: its automatic
observations act as found (a settled grade 4 raises the sanitation alert). Any other code, measured below the
bar, on too few reports or not at all, is **suggested**: shown for review, counted unreviewed in the report,
never raising the alert until a person confirms or recodes it. BDD and BDG follow the same rule (their grades
never reach 4: trust only decides whether they are counted as waiting for a review).

Where the measurements are, by the analysis's exact name (never another's):
- ``trust.toml`` beside this module: written by ``tlab bench trust`` (or ``tlab bench vision --real DIR
  --write-trust``) from a run's figures, never typed by hand; the classical detectors' entries;
- a trained model's sidecar ``[trust]`` table (``trained.py``), written from a run of ``tlab bench vision
  --real DIR --model PATH`` on the city's own labelled frames: it names the analysis it measured, the model
  with the classical detectors in its mode. A trained model never inherits the classical detectors' trust,
  and a table measured for another analysis (another classical version, another mode, another model file)
  is not used: every code is then suggested.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

logger = logging.getLogger(__name__)
TRUST_FILE = Path(__file__).resolve().parent / "trust.toml"
SPLIT = "holdout"  # the split a precision is taken from: the set's frames nothing was tuned on
# a precision on fewer reports is not a measurement: 2 right of 3 says nothing of the next hundred
MIN_REPORTS = 20
DEFAULT_BAR = 0.7
Level = Literal["trusted", "suggested"]


class TrustFileError(ValueError):
    """The trust file (or a sidecar's ``[trust]`` table) does not say what a measurement must."""


class CodeFigures(BaseModel):
    """One code's figures on the split, as the benchmark wrote them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tp: int = Field(ge=0, description="Frames where the code was found and is present.")
    fp: int = Field(ge=0, description="Frames where the code was found and is absent.")
    frames: int = Field(ge=0, description="Frames whose label settles the code.")
    precision: float | None = Field(None, ge=0, le=1, description="tp / (tp + fp); none when never found.")

    @model_validator(mode="after")
    def _consistent(self) -> CodeFigures:
        reports = self.tp + self.fp
        if reports == 0 and self.precision is not None:
            raise ValueError("a precision without a single report")
        if reports and (self.precision is None or abs(self.precision - self.tp / reports) > 0.0005):
            raise ValueError(f"precision {self.precision} is not tp / (tp + fp) = {self.tp}/{reports}")
        return self

    @property
    def reports(self) -> int:
        return self.tp + self.fp


class Measurement(BaseModel):
    """Where and how one analysis was measured, and its figures per code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    analysis: str = Field(min_length=1, max_length=200, description="The analysis measured (Analysis.model).")
    manifest_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the real set's manifest.jsonl.")
    split: str = Field(pattern=r"^(dev|holdout|all)$", description="The set's split the figures are from.")
    date: dt.date = Field(description="When the benchmark ran.")
    frames: int = Field(gt=0, description="Frames in that split.")
    results: str = Field(min_length=1, description="The benchmark's figures (JSON), as written by it.")
    see: str = Field("docs/benchmarks.md", description="Where the figures are discussed.")
    codes: dict[str, CodeFigures] = Field(description="Per EN 13508-2 code measured.")


@dataclass(frozen=True)
class Standing:
    """A code's trust for one analysis, with what it rests on (stored with each observation)."""

    trust: Level
    precision: float | None
    basis: dict[str, Any]  # the bar, and the measurement's figures and provenance when there is one


@dataclass(frozen=True)
class Trust:
    """An analysis's trust, code by code, at a bar."""

    bar: float
    measurement: Measurement | None = None

    def of(self, code: str) -> Standing:
        basis: dict[str, Any] = {"bar": self.bar, "min_reports": MIN_REPORTS}
        figures = self.measurement.codes.get(code) if self.measurement is not None else None
        if self.measurement is None or figures is None:
            return Standing("suggested", None, basis)
        m = self.measurement
        basis |= {"analysis": m.analysis, "manifest_sha256": m.manifest_sha256, "split": m.split,
                  "date": m.date.isoformat(), "frames": m.frames, "results": m.results, "see": m.see,
                  "tp": figures.tp, "fp": figures.fp}  # fmt: skip
        earned = figures.precision is not None and figures.reports >= MIN_REPORTS and figures.precision >= self.bar
        return Standing("trusted" if earned else "suggested", figures.precision, basis)


def read(path: Path = TRUST_FILE) -> dict[str, Measurement]:
    """The trust file's measurements by analysis name; ``TrustFileError`` says what is wrong."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TrustFileError(f"trust file {path}: {exc}") from None
    unknown = sorted(set(raw) - {"measurement"})
    if unknown:
        raise TrustFileError(f"trust file {path}: unknown keys {', '.join(unknown)} (only [[measurement]] tables)")
    out: dict[str, Measurement] = {}
    for i, entry in enumerate(raw.get("measurement", []), start=1):
        try:
            measured = Measurement.model_validate(entry)
        except ValidationError as exc:
            raise TrustFileError(f"trust file {path}, measurement {i}: {problems(exc)}") from None
        if measured.analysis in out:
            raise TrustFileError(f"trust file {path}: {measured.analysis!r} is measured twice")
        out[measured.analysis] = measured
    return out


def for_analysis(model: str, bar: float, sidecar: Measurement | None = None, path: Path = TRUST_FILE) -> Trust:
    """The trust of the analysis named ``model`` at ``bar``: a trained model's sidecar table when it measured
    this very analysis, else the trust file's entry of that name; neither: every code suggested."""
    if sidecar is not None:
        if sidecar.analysis == model:
            return Trust(bar, sidecar)
        logger.warning("vision trust: the trained model's [trust] table measured %r, not this analysis %r: not "
                       "used (every code of the model suggested until it is measured again)", sidecar.analysis,
                       model)  # fmt: skip
    return Trust(bar, read(path).get(model))


def problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'table'}: {e['msg'].removeprefix('Value error, ')}"
        for e in exc.errors()
    )


HEADER = """\
# How far the pipe vision's automatic findings can be trusted, per analysis and code (services/vision/trust.py,
# docs/vision.md "Trusted or suggested"). GENERATED by `tlab bench trust RESULTS.json` (or `tlab bench vision
# --real DIR --write-trust`) from the benchmark's figures on labelled real frames: do not edit by hand.
# Per code: tp, fp (frames where the code was found, present or absent), frames (whose label settles it),
# precision = tp / (tp + fp), on the split named. A code is trusted at or above TLAB_VISION_TRUST_BAR on at
# least 20 reports (tp + fp); otherwise its observations are suggestions for review.
"""


def dumps(measurements: dict[str, Measurement]) -> str:
    """The trust file's text (one ``[[measurement]]`` per analysis, sorted by name)."""
    return HEADER + "".join("\n" + table(m, "measurement", array=True) for _, m in sorted(measurements.items()))


def table(m: Measurement, name: str, *, array: bool = False) -> str:
    """One measurement as a TOML table named ``name`` (``[[name]]`` when ``array``), codes sorted."""
    lines = [f"[[{name}]]" if array else f"[{name}]"]
    fields = m.model_dump(mode="json", exclude={"codes"})
    lines += [f"{key} = {_value(fields[key])}" for key in Measurement.model_fields if key != "codes"]
    lines.append(f"[{name}.codes]")
    for code, figures in sorted(m.codes.items()):
        parts = [f"{k} = {_value(v)}" for k, v in figures.model_dump().items() if v is not None]
        lines.append(f"{code} = {{ {', '.join(parts)} }}")
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string: JSON's escapes are TOML's
