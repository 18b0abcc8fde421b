"""``tlab bench real-set build``: the real-frame set rebuilt from local mirrors of its sources, deterministically.

Every image of every source (``sources.REPOSITORIES``, each at its pinned commit) is read from its mirror; an
image whose bytes were already taken (SHA-256) or that is a re-encoding of one (their 32x32 grey thumbnails
differ by less than ``NEAR_DUPLICATE`` grey levels on average: the gap between such copies and distinct
frames is wide, docs/vision-real-frames.md) is recorded where it was also found, not taken twice. What is not
JPEG is re-encoded as JPEG, the only format a drone may send. Frames are split dev / holdout by group (a
video, a site, a run of numbered frames) so near-identical frames never straddle the split: in each class the
groups are ranked by the hash of their name and every third is holdout.

Nothing is fetched: a missing mirror is named with the ``fetch`` to run. The images go to a directory outside
the repository's tracked files (default ``.state/real-frames``, git-ignored): their licences are unclear.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from benchmarks.real_frames import manifest
from benchmarks.real_frames.manifest import Frame, Source
from benchmarks.real_frames.sources import REPOSITORIES, Candidate, Mirror, MissingMirror, Repository, clock_box

logger = logging.getLogger(__name__)
NEAR_DUPLICATE = 3.0  # mean absolute difference of 32x32 grey thumbnails; re-encodings < 1, distinct frames > 14
JPEG_QUALITY = 95
HOLDOUT_EVERY = 3
MAGIC = ((b"\x89PNG", "png"), (b"BM", "bmp"))  # what a file is, whatever its name says


@dataclass
class _Taken:
    frame: Frame
    thumb: np.ndarray
    label_key: tuple[frozenset[str], frozenset[str]]
    also: list[Source] = field(default_factory=list)


@dataclass(frozen=True)
class BuildReport:
    directory: Path
    frames: int
    identical: int  # images skipped as byte-identical to one taken
    near_duplicates: int  # skipped as re-encodings of one taken
    unreadable: int
    counts: dict[str, dict[str, int]]


def build(out: Path, mirrors: Path, repositories: tuple[Repository, ...] = REPOSITORIES) -> BuildReport:
    _check_out(out)
    missing = []
    opened = []
    for repo in repositories:
        try:
            mirror = Mirror(mirrors, repo.name)
        except MissingMirror as exc:
            missing.append(str(exc))
            continue
        if not mirror.has(repo.commit):
            missing.append(f"{repo.name}: commit {repo.commit[:12]} not in {mirror.git_dir} (fetch github:{repo.name})")
            continue
        opened.append((repo, mirror))
    if missing:
        raise MissingMirror("; ".join(missing))
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    taken: list[_Taken] = []
    by_sha: dict[str, _Taken] = {}
    identical = near = unreadable = 0
    for repo, mirror in opened:
        for candidate in repo.candidates(mirror, repo.commit):
            data = mirror.read(candidate.blob)
            original = hashlib.sha256(data).hexdigest()
            source = Source(repo.name, repo.commit, candidate.path, original, candidate.label)
            if original in by_sha:
                by_sha[original].also.append(source)
                identical += 1
                continue
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            if image is None:
                logger.warning("unreadable image skipped: %s %s", repo.name, candidate.path)
                unreadable += 1
                continue
            thumb = cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), (32, 32), interpolation=cv2.INTER_AREA)
            twin = _near(taken, thumb.astype(np.int16))
            if twin is not None:
                twin.also.append(source)
                _merge_label(twin, candidate)
                by_sha[original] = twin
                near += 1
                continue
            stored, converted = _as_jpeg(data, image, candidate.path)
            digest = hashlib.sha256(stored).hexdigest()
            name = f"images/{digest[:24]}.jpg"
            (out / name).write_bytes(stored)
            height, width = image.shape[:2]
            frame = Frame(
                file=name,
                sha256=digest,
                source=source,
                codes=candidate.codes,
                unsure=candidate.unsure,
                group=f"{repo.name}:{candidate.group}",
                boxes=tuple(clock_box(label, code, xyxy, width, height) for label, code, xyxy in candidate.boxes),
                converted=converted,
                note=candidate.note,
            )
            entry = _Taken(frame, thumb.astype(np.int16), (candidate.codes, candidate.unsure))
            taken.append(entry)
            by_sha[original] = entry
    frames = _split([replace(t.frame, also_at=tuple(t.also)) for t in taken])
    listed = {f.file for f in frames}
    for stale in images.iterdir():  # images of an earlier build no longer in the set
        if f"images/{stale.name}" not in listed:
            stale.unlink()
    manifest.write(out, frames)
    counts = manifest.Counts.of(frames).by_class
    summary = {
        "frames": len(frames),
        "identical_skipped": identical,
        "near_duplicates_skipped": near,
        "unreadable": unreadable,
        "sources": [{"repository": r.name, "commit": r.commit, "licence": r.licence} for r, _ in opened],
        "by_class": counts,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return BuildReport(out, len(frames), identical, near, unreadable, counts)


def _check_out(out: Path) -> None:
    """Refuse a directory that holds something else than a set: rebuilding deletes stale images."""
    if out.exists() and any(out.iterdir()) and not (out / manifest.MANIFEST).is_file():
        raise FileExistsError(f"{out} is not empty and holds no {manifest.MANIFEST}: not overwriting it")


def _near(taken: list[_Taken], thumb: np.ndarray) -> _Taken | None:
    for entry in taken:
        if float(np.abs(entry.thumb - thumb).mean()) < NEAR_DUPLICATE:
            return entry
    return None


def _merge_label(twin: _Taken, candidate: Candidate) -> None:
    """A copy labelled otherwise: what the two labels disagree on becomes unsure on the frame kept."""
    codes, unsure = twin.label_key
    if (candidate.codes, candidate.unsure) == (codes, unsure):
        return
    disputed = (codes ^ candidate.codes) | unsure | candidate.unsure
    note = f"{twin.frame.note}; a copy at {candidate.path} is labelled {candidate.label!r}".lstrip("; ")
    twin.frame = replace(twin.frame, codes=codes - disputed, unsure=frozenset(disputed), note=note)
    twin.label_key = (twin.frame.codes, twin.frame.unsure)


def _as_jpeg(data: bytes, image: np.ndarray, path: str) -> tuple[bytes, str]:
    if data[:3] == b"\xff\xd8\xff":
        return data, ""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # pragma: no cover - OpenCV's JPEG encoder does not fail on a decoded BGR image
        raise RuntimeError(f"could not re-encode {path} as JPEG")
    kind = next((k for magic, k in MAGIC if data.startswith(magic)), path.rsplit(".", 1)[-1].lower())
    return buf.tobytes(), f"{kind} -> jpeg q{JPEG_QUALITY}"


def _split(frames: list[Frame]) -> list[Frame]:
    """dev / holdout by group, within each (repository, label) class: every third group, ranked by the
    SHA-256 of its name, is holdout (stable when frames or sources are added elsewhere)."""
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for f in frames:
        groups[(f.source.repository, f.source.label)].add(f.group)
    holdout = set()
    for names in groups.values():
        ranked = sorted(names, key=lambda g: hashlib.sha256(g.encode()).hexdigest())
        holdout |= {g for i, g in enumerate(ranked) if i % HOLDOUT_EVERY == HOLDOUT_EVERY - 1}
    return [replace(f, split="holdout" if f.group in holdout else "dev") for f in frames]
