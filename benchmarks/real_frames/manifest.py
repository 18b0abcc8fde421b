"""The real-frame set's manifest: ``manifest.jsonl`` beside the images, one frame a line (docs/vision-real-frames.md).

Each line says which file, where it came from (repository, commit, path), the dataset's own label, and what
that label asserts in EN 13508-2 main codes: ``codes`` are present, ``unsure`` are neither asserted nor ruled
out (not scored on that frame), every other supported code is asserted absent. A bad line is refused with its
line number: a set scored on misread truth would give figures that look right and are not.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "manifest.jsonl"
# what the vision reports (docs/vision.md); the codes a manifest may name
SUPPORTED = ("BAA", "BAB", "BBA", "BBB", "BBC", "BBE", "BDD", "BDG")
# a defect, as opposed to a measurement (BDD, the water level) or a gap in the inspection (BDG): what a frame
# without a supported defect must not be reported with (the false-alarm rate)
DEFECTS = frozenset({"BAA", "BAB", "BBA", "BBB", "BBC", "BBE"})
SPLITS = ("dev", "holdout")


class ManifestError(ValueError):
    """A manifest line that cannot be scored as it stands."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path, self.line, self.reason = path, line, reason


@dataclass(frozen=True)
class Source:
    repository: str  # owner/name on GitHub
    commit: str
    path: str
    sha256: str  # of the bytes at that path (the stored file may be a JPEG re-encoding of them)
    label: str = ""  # the dataset's own class, as it names it


@dataclass(frozen=True)
class Box:
    """A labelled region: the dataset's label, its code (None: not a supported code, e.g. a joint or a
    connection), corners as fractions of the width and height, and the clock range it covers seen from the
    frame's centre (a hint: the pipe's axis is not always at the centre)."""

    label: str
    code: str | None
    xyxy: tuple[float, float, float, float]
    clock_from: int
    clock_to: int


@dataclass(frozen=True)
class Frame:
    file: str  # relative to the set's directory
    sha256: str  # of the stored file
    source: Source
    codes: frozenset[str]
    unsure: frozenset[str] = frozenset()
    split: str = "dev"
    group: str = ""  # frames of one group (one video, one site, near-duplicates) are in one split
    boxes: tuple[Box, ...] = ()
    judgeable: bool | None = None  # a person's expectation (None: not said); the vision's own verdict is scored
    also_at: tuple[Source, ...] = ()  # the same image (or a re-encoding of it) elsewhere in the sources
    converted: str = ""  # e.g. "png -> jpeg q95": the drone sends JPEG, ingest refuses anything else
    note: str = ""

    @property
    def scored(self) -> frozenset[str]:
        """The codes this frame's label settles, present or absent."""
        return frozenset(SUPPORTED) - self.unsure

    @property
    def without_defect(self) -> bool:
        """Its label says it shows no supported defect (a clean pipe, a joint, a connection...)."""
        return not (self.codes | self.unsure) & DEFECTS

    @property
    def defects_unknown(self) -> bool:
        """Its label says nothing of any defect (a dataset of connections only, say)."""
        return self.unsure >= DEFECTS

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["codes"], out["unsure"] = sorted(self.codes), sorted(self.unsure)
        return out


def write(directory: Path, frames: Iterable[Frame]) -> Path:
    out = directory / MANIFEST
    lines = [json.dumps(f.as_json(), ensure_ascii=False, sort_keys=True) for f in frames]
    out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return out


def read(directory: Path) -> list[Frame]:
    """The frames of ``directory/manifest.jsonl``, each file checked to exist inside ``directory``."""
    path = directory / MANIFEST
    if not path.is_file():
        raise ManifestError(path, 0, "no manifest here (build a set with `tlab bench real-set build`)")
    frames: list[Frame] = []
    seen: set[str] = set()
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            frame = _frame(json.loads(text))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ManifestError(path, number, f"{type(exc).__name__}: {exc}") from exc
        where = (directory / frame.file).resolve()
        if not where.is_relative_to(directory.resolve()):
            raise ManifestError(path, number, f"file {frame.file!r} is outside the set's directory")
        if not where.is_file():
            raise ManifestError(path, number, f"file {frame.file!r} is missing")
        if frame.file in seen:
            raise ManifestError(path, number, f"file {frame.file!r} is listed twice")
        seen.add(frame.file)
        frames.append(frame)
    if not frames:
        raise ManifestError(path, 0, "the manifest lists no frame")
    return frames


def _frame(raw: dict[str, Any]) -> Frame:
    codes, unsure = frozenset(raw["codes"]), frozenset(raw.get("unsure", ()))
    unknown = (codes | unsure) - set(SUPPORTED)
    if unknown:
        raise ValueError(f"codes not supported by the vision: {sorted(unknown)} (supported: {', '.join(SUPPORTED)})")
    if codes & unsure:
        raise ValueError(f"codes both present and unsure: {sorted(codes & unsure)}")
    if raw.get("split", "dev") not in SPLITS:
        raise ValueError(f"split {raw.get('split')!r} is not one of {SPLITS}")
    if not isinstance(raw["file"], str) or not raw["file"]:
        raise ValueError("file must be a non-empty path")
    judgeable = raw.get("judgeable")
    if judgeable not in (True, False, None):
        raise ValueError(f"judgeable must be true, false or null, not {judgeable!r}")
    boxes = tuple(_box(b) for b in raw.get("boxes", ()))
    return Frame(
        file=raw["file"],
        sha256=raw.get("sha256", ""),
        source=Source(**raw["source"]),
        codes=codes,
        unsure=unsure,
        split=raw.get("split", "dev"),
        group=raw.get("group", ""),
        boxes=boxes,
        judgeable=judgeable,
        also_at=tuple(Source(**s) for s in raw.get("also_at", ())),
        converted=raw.get("converted", ""),
        note=raw.get("note", ""),
    )


def _box(raw: dict[str, Any]) -> Box:
    if raw.get("code") is not None and raw["code"] not in SUPPORTED:
        raise ValueError(f"box code {raw['code']!r} is not supported")
    x0, y0, x1, y1 = (float(v) for v in raw["xyxy"])
    if not 0 <= x0 <= x1 <= 1 or not 0 <= y0 <= y1 <= 1:
        raise ValueError(f"box {raw['xyxy']} is not (x0, y0, x1, y1) in fractions of the frame")
    return Box(raw["label"], raw.get("code"), (x0, y0, x1, y1), int(raw["clock_from"]), int(raw["clock_to"]))


@dataclass
class Counts:
    """How many frames, by (source repository, label) and split: what a figure was measured on."""

    by_class: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, frames: Iterable[Frame]) -> Counts:
        counts = cls()
        for f in frames:
            row = counts.by_class.setdefault(f"{f.source.repository}: {f.source.label}", {s: 0 for s in SPLITS})
            row[f.split] += 1
        counts.by_class = dict(sorted(counts.by_class.items()))
        return counts
