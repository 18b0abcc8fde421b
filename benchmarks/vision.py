"""Vision benchmark (issue 11): frames per second per core for the whole analysis at 640x480, peak memory,
and precision / recall per code on a fixed set of rendered missions.

Run: ``tlab bench vision [--missions 24] [--repeat 3]``. Each mission is a scene of
``device_adapters/bathy/scene.py`` drawn from a seed (pipe diameter and wall look, light, tilt, water, JPEG
quality, noise; one to three defects of any code, apart), flown 30 m with a frame every
0.5 m. Every frame is JPEG-encoded and decoded as the worker gets it, analysed (timed, one process, one
core), the mission's detections are grouped into observations and scored against the scene's truth. The
speed is the median of ``repeat`` passes over all frames (the analysis alone: decoding included,
rendering not).
"""

from __future__ import annotations

import os
import platform
import random
import resource
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from benchmarks.results import write_results
from device_adapters.bathy.scene import Conditions, Scene, random_defect, render, visible
from device_adapters.images import encode_jpeg
from services.vision.analysis import MODEL, assess, decode
from services.vision.grouping import NEAR_RING_MEAN_M, FrameResult, group
from services.vision.scoring import CHAINAGE_TOLERANCE_M, Located, score
from services.vision.shortlist import CONDITIONS, ScoredFrame, frame_codes, frame_score, rank

LENGTH_M, STEP_M = 30.0, 0.5
SHORTLIST_SHARES = (0.05, 0.10)
# what a frame shows a reviewer of the pipe ahead, for the shortlist's figure: a crack 1 m ahead (the near ring the
# detectors look at) is 15-42 px long on the renderer's 300-1000 mm pipes, 2 m ahead 6-11 px, 3 m ahead 1-5 px
VIEW_AHEAD_M = 2.0
T0 = datetime(2026, 1, 1, tzinfo=UTC)  # the shortlist ranks by score and chainage: the frames' times do not matter
WALLS = ((128, 132, 136), (70, 100, 150), (180, 180, 175), (60, 70, 85))


def mission_scene(seed: int) -> Scene:
    rng = random.Random(seed)
    water = rng.choice([0, 5, 10, 20, 30])
    slots = rng.sample(range(4), rng.randint(1, 3))  # 4 stretches of 6 m from 4 m on: defects apart
    defects = [random_defect(rng, 4 + 6 * slot + rng.uniform(0.5, 1.5), water) for slot in sorted(slots)]
    look = Conditions(
        diameter_mm=rng.choice([300, 400, 600, 800, 1000]),
        wall_bgr=rng.choice(WALLS),
        light=rng.uniform(0.5, 1.2),
        tilt_px=(rng.randint(-25, 25), rng.randint(-20, 20)),
        water_level_pct=water,
        jpeg_quality=rng.choice([40, 60, 80, 90]),
        noise_sigma=rng.uniform(2, 9),
    )
    return Scene(look, tuple(defects), seed=seed)


def truth_of(scene: Scene) -> list[Located]:
    found = [
        Located(d.code, d.chainage_start_m, d.chainage_end_m, d.clock_from, d.clock_to)
        for d in scene.defects
        if visible(d, scene.conditions)  # a crack under the water cannot be seen: not counted as missed
    ]
    if scene.conditions.water_level_pct > 0:
        # the water is seen where settled deposits above it do not hide it
        start = NEAR_RING_MEAN_M
        for d in sorted((d for d in scene.defects if d.code == "BBC"), key=lambda d: d.chainage_start_m):
            found.append(Located("BDD", start, d.chainage_start_m, 5, 7))
            start = d.end
        found.append(Located("BDD", start, LENGTH_M + NEAR_RING_MEAN_M, 5, 7))
    return found


def run(missions: int, repeat: int) -> dict[str, Any]:
    prepared = []
    for seed in range(1, missions + 1):
        scene = mission_scene(seed)
        jpegs = [
            (i * STEP_M, encode_jpeg(render(scene, i * STEP_M)[0], scene.conditions.jpeg_quality))
            for i in range(int(LENGTH_M / STEP_M) + 1)
        ]
        prepared.append((scene, jpegs))
    frames = sum(len(j) for _, j in prepared)
    print(f"{missions} missions, {frames} frames of 640x480", flush=True)
    passes, observations = [], {}
    not_judged: dict[str, int] = {}
    ranked: dict[int, list[ScoredFrame]] = {}
    for _ in range(repeat):
        started = time.process_time()
        for seed, (scene, jpegs) in enumerate(prepared, start=1):
            analyses = [assess(decode(jpeg), scene.conditions.diameter_mm) for _, jpeg in jpegs]
            results = [
                FrameResult(f"{seed}-{k}", chainage, tuple(a.detections))
                for k, ((chainage, _), a) in enumerate(zip(jpegs, analyses, strict=True))
            ]
            observations[seed] = group(results)
            ranked[seed] = [
                ScoredFrame(
                    T0,
                    chainage,
                    frame_score(a.detections) if a.not_judged is None else 0.0,
                    frame_codes(a.detections),
                    "",
                )  # fmt: skip
                for (chainage, _), a in zip(jpegs, analyses, strict=True)
            ]
            for a in analyses:  # the renderer's frames are all in what the detectors assume: none expected
                if a.not_judged is not None:
                    not_judged[a.not_judged] = not_judged.get(a.not_judged, 0) + 1
        passes.append(frames / (time.process_time() - started))
    per_mission = [score(_located(observations[s]), truth_of(scene)) for s, (scene, _) in enumerate(prepared, 1)]
    merged: dict[str, dict[str, int]] = {}
    for result in per_mission:
        for code, s in result.by_code.items():
            m = merged.setdefault(code, {"tp": 0, "fp": 0, "fn": 0})
            m["tp"] += s.true_positives
            m["fp"] += s.false_positives
            m["fn"] += s.false_negatives
    scores = {
        code: {**m, "precision": round(m["tp"] / (m["tp"] + m["fp"]), 3) if m["tp"] + m["fp"] else None,
               "recall": round(m["tp"] / (m["tp"] + m["fn"]), 3) if m["tp"] + m["fn"] else None}
        for code, m in sorted(merged.items())
    }  # fmt: skip
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "model": MODEL,
        "missions": missions,
        "frames": frames,
        "frames_per_second_per_core": round(statistics.median(passes), 1),
        "passes": [round(p, 1) for p in passes],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "not_judged": {reason: n // repeat for reason, n in sorted(not_judged.items())},
        "scores": scores,
        "shortlist": {
            f"{share:.2f}": shortlist_recall(
                ranked, {s: truth_of(scene) for s, (scene, _) in enumerate(prepared, 1)}, share
            )
            for share in SHORTLIST_SHARES
        },  # fmt: skip
    }


def shortlist_recall(
    ranked: dict[int, list[ScoredFrame]], truths: dict[int, list[Located]], share: float
) -> dict[str, Any]:
    """Of the defects a mission shows (its water level left out: a condition along the pipe, not a place), the
    share a reviewer finds by looking at the mission's shortlist (``shortlist.rank``) only: a defect is found when a
    listed frame shows it, its extent (within ``CHAINAGE_TOLERANCE_M``) meeting the ``VIEW_AHEAD_M`` ahead of the
    frame's chainage."""
    found = total = listed = 0
    for seed, frames in ranked.items():
        shown = rank(frames, share=share)
        listed += len(shown)
        for d in truths[seed]:
            if d.code in CONDITIONS:
                continue
            total += 1
            start = d.chainage_start_m - CHAINAGE_TOLERANCE_M
            end = (d.chainage_end_m if d.chainage_end_m is not None else d.chainage_start_m) + CHAINAGE_TOLERANCE_M
            found += any(start <= f.chainage_m + VIEW_AHEAD_M and f.chainage_m <= end for f in shown)
    return {"defects": total, "found": found, "recall": round(found / total, 3) if total else None,
            "frames_listed": listed, "frames": sum(len(f) for f in ranked.values())}  # fmt: skip


def _located(observations: list[Any]) -> list[Located]:
    return [Located(o.code, o.chainage_start_m, o.chainage_end_m, o.clock_from, o.clock_to) for o in observations]


def main(missions: int, repeat: int) -> dict[str, Any]:
    result = run(missions, repeat)
    print(f"\n{result['frames']} frames, model {result['model']}")
    print(f"analysis: {result['frames_per_second_per_core']} frames/s per core (passes {result['passes']}; goal >= 50)")
    print(f"peak RSS of the process (frames held in memory included): {result['peak_rss_mb']} MB")
    print(f"frames not judged (the renderer's frames should all be): {result['not_judged'] or 'none'}")
    for code, s in result["scores"].items():
        print(f"  {code}: precision {s['precision']}  recall {s['recall']}  (tp {s['tp']}, fp {s['fp']}, fn {s['fn']})")
    for share, s in result["shortlist"].items():
        print(f"shortlist of {float(share):.0%} of each mission's frames ({s['frames_listed']} of {s['frames']} "
              "listed): "
              f"{s['found']} of {s['defects']} defects seen in a listed frame (recall {s['recall']})")  # fmt: skip
    write_results("vision", result)
    return result
