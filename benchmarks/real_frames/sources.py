"""Where the real frames come from, and what each dataset's label says in EN 13508-2 codes.

Each source is a public GitHub repository pinned to a commit, read from a local bare mirror (the session's
``fetch`` puts one at ``<mirrors>/<owner>+<name>/repo``): nothing here touches the network. The mapping
from a dataset's class to the codes the vision supports, and its doubts, are documented in
docs/vision-real-frames.md; a class label names a frame's main defect, so every supported code it does not
name is taken as absent unless listed ``unsure`` (precision on such sets is a lower bound).
"""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from benchmarks.real_frames.manifest import SUPPORTED, Box

EVERYTHING = tuple(SUPPORTED)
RawBox = tuple[str, str | None, tuple[float, float, float, float]]  # the dataset's label, its code, corners


class MissingMirror(RuntimeError):
    """A source's mirror, or its pinned commit, is not on this machine."""


@dataclass(frozen=True)
class Label:
    codes: tuple[str, ...]
    unsure: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class Candidate:
    """One image of a source, before deduplication and split."""

    path: str
    blob: str  # git object id
    label: str
    codes: frozenset[str]
    unsure: frozenset[str]
    group: str
    boxes: tuple[RawBox, ...] = ()
    note: str = ""


class Mirror:
    """A bare git mirror read with git's plumbing (ls-tree, cat-file)."""

    def __init__(self, root: Path, repository: str) -> None:
        self.repository = repository
        self.git_dir = root / repository.replace("/", "+") / "repo"
        if not (self.git_dir / "HEAD").is_file():
            raise MissingMirror(f"{repository}: no mirror at {self.git_dir} (fetch github:{repository} first)")

    def _git(self, *args: str, data: bytes | None = None) -> bytes:
        done = subprocess.run(["git", "-C", str(self.git_dir), *args], input=data, capture_output=True)
        if done.returncode:
            raise MissingMirror(f"{self.repository}: git {' '.join(args[:2])} failed: {done.stderr.decode()[:300]}")
        return done.stdout

    def has(self, commit: str) -> bool:
        probe = subprocess.run(["git", "-C", str(self.git_dir), "cat-file", "-e", f"{commit}^{{commit}}"])
        return probe.returncode == 0

    def files(self, commit: str, under: str) -> dict[str, str]:
        """path -> blob id, for every file under ``under`` at ``commit``."""
        out = self._git("ls-tree", "-r", "-z", commit, "--", under)
        found = {}
        for entry in out.decode("utf-8").split("\0"):
            if entry:
                meta, path = entry.split("\t", 1)
                found[path] = meta.split()[2]
        return found

    def read(self, blob: str) -> bytes:
        return self._git("cat-file", "blob", blob)


@dataclass(frozen=True)
class Repository:
    name: str  # owner/name
    commit: str
    licence: str  # what the repository says of it, as found
    candidates: Callable[[Mirror, str], Iterator[Candidate]]


# -- NUAAXQ/SewerDefectDetection: data/examples/<class>/<n>.<ext>, four frames a class (China; CJJ 181 classes)

NUAAXQ = {
    "normal": Label((), ("BDD",), "no defect; water not labelled"),
    "barrier": Label(("BBE",), ("BBC", "BDD"), "an obstacle (CJJ 181 ZW); a rubble heap may be hard settled deposits"),
    "deposition": Label(("BBC",), ("BBB", "BDD"), "settled deposits (CJJ 181 CJ); a crust on the wall is BBB"),
    "fracture": Label(("BAB",), ("BAA", "BDD"), "CJJ 181 PL, crack to collapse: breaks (BAC, unsupported) as BAB"),
    "disjunction": Label((), ("BDD",), "an open joint (BAJ, not supported): no supported defect"),
    "stagger": Label((), ("BDD",), "a displaced joint (BAJ, not supported): no supported defect"),
    "high level water": Label(("BDD",), ("BBA", "BBB", "BBC"), "high water; strands hanging in two: roots or crust"),
}
NUAAXQ_FRAMES = {  # what the class does not say of one frame, seen on it
    "data/examples/disjunction/2.JPG": (("BBA",), "fine strands at 10-11 o'clock: roots or cobweb"),
}


def _nuaaxq(mirror: Mirror, commit: str) -> Iterator[Candidate]:
    for path, blob in sorted(mirror.files(commit, "data/examples").items()):
        label = PurePosixPath(path).parent.name
        mapping = NUAAXQ[label]
        extra, seen = NUAAXQ_FRAMES.get(path, ((), ""))
        note = "; ".join(n for n in (mapping.note, seen) if n)
        yield Candidate(path, blob, label, frozenset(mapping.codes), frozenset(mapping.unsure + extra), path, note=note)


# -- G-BZhang/PipeDefect-CR: only the fGBA deposition folder's images are in the history (the zips are not)

PDCR_FOLDER = "PipeDefect-CR dataset/fGBA/0 CJ-Deposition 274"
PDCR = Label(("BBC",), ("BBB", "BDD"), "settled deposits (CJJ 181 CJ, Greater Bay Area municipal inspections)")


def _pdcr(mirror: Mirror, commit: str) -> Iterator[Candidate]:
    for path, blob in sorted(mirror.files(commit, PDCR_FOLDER).items()):
        if path.lower().endswith((".jpeg", ".jpg")):
            yield Candidate(path, blob, "CJ-Deposition", frozenset(PDCR.codes), frozenset(PDCR.unsure), path,
                            note=PDCR.note)  # fmt: skip


# -- Co-UDlabs/sewer_defects: Sewer-ML frames (Denmark) with YOLO boxes of joints and obstacles, in its history

COUD_ROOT = "coudlabs/data/coudlab_example"
COUD_CLASSES = {0: ("joint", None), 1: ("obstacle", "BBE")}


def _coud(mirror: Mirror, commit: str) -> Iterator[Candidate]:
    files = mirror.files(commit, COUD_ROOT)
    for path, blob in sorted(files.items()):
        if "/images/" not in path:
            continue
        label_path = re.sub(r"\.\w+$", ".txt", path.replace("/images/", "/labels/"))
        boxes = _yolo_boxes(mirror.read(files[label_path]).decode(), COUD_CLASSES) if label_path in files else ()
        obstacle = any(code == "BBE" for _, code, _ in boxes)
        number = int(PurePosixPath(path).stem)
        yield Candidate(
            path,
            blob,
            "obstacle" if obstacle else "joint only",
            frozenset({"BBE"} if obstacle else ()),
            frozenset(EVERYTHING) - {"BBE"},
            f"sewer-ml-{number // 1000}",  # consecutive numbers are consecutive frames of one video
            boxes,
            "labelled for joints and obstacles only: other codes unknown",
        )


# -- Adheeba-Salam/SEWERVISION: a Roboflow "Sewer CCTV" export (Public Domain) of connections ('pipe' boxes),
# mixed with unrelated photos (food, people, vehicles): only the images with a 'pipe' label are sewer frames

SEWERVISION_CLASSES = {0: ("pipe", None)}


def _sewervision(mirror: Mirror, commit: str) -> Iterator[Candidate]:
    for part in ("train", "valid"):
        files = mirror.files(commit, f"{part}/")
        labels = {p: b for p, b in files.items() if p.startswith(f"{part}/labels/")}
        for path, blob in sorted(files.items()):
            if not path.startswith(f"{part}/images/"):
                continue
            label_path = f"{part}/labels/{PurePosixPath(path).stem}.txt"
            if label_path not in labels:
                continue
            boxes = _yolo_boxes(mirror.read(labels[label_path]).decode(), SEWERVISION_CLASSES)
            if not boxes:
                continue
            note = "connections (BAG/BAH, not supported) boxed; defects unknown: not a clean frame"
            yield Candidate(
                path, blob, "pipe (connection)", frozenset(), frozenset(EVERYTHING), _sv_group(path), boxes, note
            )


def _sv_group(path: str) -> str:
    stem = PurePosixPath(path).name.split(".rf.")[0]
    numbered = re.match(r"(l|LP)[-_]0*(\d+)", stem)
    if numbered:  # frames numbered in sequence: neighbours are likely one survey's
        prefix, n = numbered.group(1), int(numbered.group(2))
        return f"{prefix}-{n // (20 if prefix == 'l' else 50)}"
    return stem


def _yolo_boxes(text: str, classes: Mapping[int, tuple[str, str | None]]) -> tuple[RawBox, ...]:
    """YOLO lines, boxes (class cx cy w h) or polygons (class x1 y1 x2 y2 ...), as labelled corners."""
    boxes: list[RawBox] = []
    for line in text.splitlines():
        values = line.split()
        if not values or int(values[0]) not in classes:
            continue
        numbers = [min(max(float(v), 0.0), 1.0) for v in values[1:]]
        if len(numbers) == 4:
            cx, cy, w, h = numbers
            xyxy = (max(cx - w / 2, 0.0), max(cy - h / 2, 0.0), min(cx + w / 2, 1.0), min(cy + h / 2, 1.0))
        elif len(numbers) >= 6 and len(numbers) % 2 == 0:
            xs, ys = numbers[0::2], numbers[1::2]
            xyxy = (min(xs), min(ys), max(xs), max(ys))
        else:
            continue
        label, code = classes[int(values[0])]
        x0, y0, x1, y1 = (round(v, 4) for v in xyxy)
        boxes.append((label, code, (x0, y0, x1, y1)))
    return tuple(boxes)


def clock_box(label: str, code: str | None, xyxy: tuple[float, float, float, float], width: int, height: int) -> Box:
    """The box with the clock range it covers seen from the frame's centre (12 at the top, 3 on the right)."""
    x0, y0, x1, y1 = (xyxy[0] * width, xyxy[1] * height, xyxy[2] * width, xyxy[3] * height)
    cx, cy = width / 2, height / 2
    if x0 <= cx <= x1 and y0 <= cy <= y1:
        return Box(label, code, xyxy, 12, 11)
    steps = [i / 8 for i in range(9)]
    edge = [(x0 + (x1 - x0) * t, y) for t in steps for y in (y0, y1)] + [(x, y0 + (y1 - y0) * t) for t in steps
                                                                         for x in (x0, x1)]  # fmt: skip
    hours = {round(math.degrees(math.atan2(x - cx, cy - y)) % 360 / 30) % 12 or 12 for x, y in edge}
    ordered = sorted(hours)
    gaps = [((ordered[(i + 1) % len(ordered)] - h) % 12 or 12, i) for i, h in enumerate(ordered)]
    _, widest = max(gaps)
    return Box(label, code, xyxy, ordered[(widest + 1) % len(ordered)], ordered[widest])


REPOSITORIES = (
    Repository("NUAAXQ/SewerDefectDetection", "d6390689b413e7b2d4425e37dee603de0d4269f8", "none stated", _nuaaxq),
    Repository("G-BZhang/PipeDefect-CR", "de51e3bffcc17135d3e2c95a0ac3db87fabe1908", "none stated", _pdcr),
    Repository("Co-UDlabs/sewer_defects", "83636f490efd3b79e834ac7b8e2b1d3c4cdfb6e1",
               "code GPL-3.0; the frames are Sewer-ML's (its own terms)", _coud),
    Repository("Adheeba-Salam/SEWERVISION", "182bffe9ea3073477fcadef912b74a7076ff05d1",
               "Public Domain (README.dataset.txt, Roboflow export)", _sewervision),
)  # fmt: skip
