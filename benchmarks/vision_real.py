"""Vision benchmark on labelled real frames (issue 21, item 1): ``tlab bench vision --real DIR``.

DIR holds a set built by ``tlab bench real-set build`` (or any set with the same manifest format,
docs/vision-real-frames.md). Each frame is handled as the ``tlab vision`` worker handles a drone's frames:
its JPEG bytes decoded (``analysis.decode``), analysed (``analysis.analyse``, the mission's diameter unknown)
and the mission's analyses grouped into observations (``grouping.group``). A defect seen in one frame only is
noise to the grouping, and a drone's frames are 0.5 m apart, so every defect is in two of them: each real
frame is sent twice, as the two consecutive frames of a mission of its own, and analysed both times. The
observations' codes are the frame's verdict, scored per split (``real_frames.scoring``). One process, CPU
time; one pass.
"""

from __future__ import annotations

import hashlib
import os
import platform
import resource
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.real_frames import manifest
from benchmarks.real_frames.scoring import Verdict, score_splits
from benchmarks.results import write_results
from services.vision.analysis import MODEL, Analysis, FrameAnalysis, assess, decode
from services.vision.grades import grade
from services.vision.grouping import FrameResult, group
from services.vision.shortlist import frame_score

STEP_M = 0.5  # the drone's distance between frames (docs/vision.md)
SENT = 2  # times each real frame is sent along its mission
Analyse = Callable[[np.ndarray, int | None], FrameAnalysis]  # a frame and its mission's diameter -> its analysis


def declared_not_judged(analyses: list[FrameAnalysis]) -> str:
    """Why the vision said it could not judge the frame (``FrameAnalysis.not_judged``: a loss of vision, or the
    gate's reason), every time it was sent; "" when it judged it."""
    reasons = {a.not_judged for a in analyses}
    (reason,) = reasons if len(reasons) == 1 else (None,)
    return reason or ""


def verdict_of(jpeg: bytes, mission: str, analyse_frame: Analyse = assess) -> Verdict:
    analyses = [analyse_frame(decode(jpeg), None) for _ in range(SENT)]
    results = [FrameResult(f"{mission}-{k}", k * STEP_M, tuple(a.detections)) for k, a in enumerate(analyses)]
    observations = group(results, ended=True)
    grades = [grade(o.code, o.quantification, o.characterisation) for o in observations]
    reason = declared_not_judged(analyses)
    score = None if reason else frame_score(analyses[0].detections)
    return Verdict(frozenset(o.code for o in observations), bool(reason), max(grades, default=0), reason, score)


def run(directory: Path, analyse_frame: Analyse = assess, model: str = MODEL) -> dict[str, Any]:
    """``analyse_frame``: what the worker runs on each frame (the classical analysis; a deployment's
    configured one, trained model included, is passed here with its ``model`` name)."""
    frames = manifest.read(directory)
    print(f"{len(frames)} real frames in {directory}, each sent {SENT} times", flush=True)
    verdicts: dict[str, Verdict] = {}
    cpu = 0.0
    for frame in frames:
        jpeg = (directory / frame.file).read_bytes()
        started = time.process_time()
        verdicts[frame.file] = verdict_of(jpeg, frame.file, analyse_frame)
        cpu += time.process_time() - started
    text = (directory / manifest.MANIFEST).read_bytes()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "model": model,
        "set": {
            "directory": str(directory),
            "manifest_sha256": hashlib.sha256(text).hexdigest(),
            "by_class": manifest.Counts.of(frames).by_class,
        },
        "frames": len(frames),
        "analyses": len(frames) * SENT,
        "frames_per_second_per_core": round(len(frames) * SENT / cpu, 1) if cpu else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "splits": score_splits(frames, verdicts),
    }


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main(directory: Path, analysis: Analysis | None = None) -> dict[str, Any]:
    """``analysis``: a deployment's (a trained model with the classical detectors); default the classical one."""
    result = run(directory) if analysis is None else run(directory, analysis, analysis.model)
    print(f"\nmodel {result['model']}: {result['frames_per_second_per_core']} frames/s per core "
          f"({result['analyses']} analyses, decoding and grouping included)")  # fmt: skip
    for split, s in result["splits"].items():
        alarms, judged = s["false_alarms"], s["not_judged"]
        print(f"\n[{split}] {s['frames']} frames; not judged: {judged['frames']} ({_figure(judged['share'])}), "
              f"by reason {judged['by_reason']}; on frames with a labelled defect: {judged['defect_frames']} of "
              f"{judged['of_defect_frames']} ({_figure(judged['defect_share'])})")  # fmt: skip
        print(f"  false alarms: {alarms['with_a_defect_reported']} of {alarms['frames_without_defect']} frames "
              f"without a supported defect ({_figure(alarms['rate'])}), by code {alarms['by_code']}; "
              f"grade >= 4 on {alarms['with_grade_4_or_more']}")  # fmt: skip
        unknown = s["defects_unknown"]
        if unknown["frames"]:
            print(f"  frames whose defects are unknown: a defect reported on {unknown['with_a_defect_reported']} "
                  f"of {unknown['frames']}")  # fmt: skip
        for code, c in s["codes"].items():
            print(f"  {code}: precision {_figure(c['precision'])}  recall {_figure(c['recall'])}  "
                  f"(tp {c['tp']}, fp {c['fp']}, fn {c['fn']}; {c['frames']} frames settle it)")  # fmt: skip
        ranked = s["shortlist"]
        print(f"  shortlist: a defect frame outranks a frame without one with probability "
              f"{_figure(ranked['auc']['without_defect'])} ({ranked['defect_frames']} against "
              f"{ranked['frames_without_defect']}; within one source: "
              f"{ {k: v['auc'] for k, v in ranked['auc_within_a_source'].items()} }), a frame of unknown defects "
              f"{_figure(ranked['auc']['defects_unknown'])}")  # fmt: skip
        for share, r in ranked["recall"].items():
            print(f"    the best {float(share):.0%} of a mission with {ranked['prevalence']:.0%} defect frames hold "
                  f"{_figure(r['without_defect'])} of them ({_figure(r['defects_unknown'])} against frames of "
                  "unknown defects)")  # fmt: skip
    print("\nby class (all splits): frames, expected code(s) found, any defect reported, not judged")
    for name, row in result["splits"]["all"]["by_class"].items():
        print(f"  {name}: {row['frames']}, {row['expected_found']}, {row['any_defect']}, {row['not_judged']}  "
              f"{row['codes']}")  # fmt: skip
    write_results("vision-real", result)
    return result
