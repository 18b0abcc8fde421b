"""``tlab bench evidence``: what privacy costs per image, at three camera resolutions.

- ingest: checking a JPEG (``jpeg_blob``: header, decode) - what every snapshot costs already - and
  blacking out two masks on top (``mask_jpeg``: decode, fill, encode), paid only by masked cameras;
- the evidence worker: the privacy copy (masks, three boxes, both Haar cascades) and its lossless encoding;
- storage: the copy's bytes (PNG) next to the original's (JPEG).

Images are generated (a textured street with shapes, seeded); each figure is the median of ``repeat``
timed passes over ``images`` images, on one core. Compare the ratios, not the absolute times, across
machines (docs/benchmarks.md).
"""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from benchmarks.results import write_results
from device_adapters.masking import mask_jpeg
from device_adapters.validation import jpeg_blob
from services.evidence.privacy import encode_copy, privacy_copy

SIZES = ((640, 480), (1280, 720), (1920, 1080), (4096, 3072))  # the last: the largest image ingest accepts
MASKS = [[(0.0, 0.0), (0.2, 0.0), (0.2, 0.25), (0.0, 0.25)], [(0.6, 0.3), (0.7, 0.3), (0.7, 0.45), (0.6, 0.45)]]


def street(width: int, height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.normal(128, 40, (height // 8, width // 8, 3)).clip(0, 255).astype(np.uint8)
    image = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(12):
        x, y = int(rng.integers(0, width - 60)), int(rng.integers(0, height - 60))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(image, (x, y), (x + int(rng.integers(20, 200)), y + int(rng.integers(20, 150))), colour, -1)
    return image


def boxes(width: int, height: int) -> list[tuple[int, int, int, int]]:
    return [
        (int(width * 0.1), int(height * 0.4), int(width * 0.18), int(height * 0.9)),  # a person
        (int(width * 0.45), int(height * 0.5), int(width * 0.8), int(height * 0.85)),  # a van
        (int(width * 0.85), int(height * 0.45), int(width * 0.9), int(height * 0.75)),  # a passer-by
    ]


def timed(run: Callable[[], Any], items: int, repeat: int) -> float:
    """Median milliseconds per item over ``repeat`` passes."""
    passes = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        passes.append((time.perf_counter() - start) * 1000 / items)
    return statistics.median(passes)


def main(images: int, repeat: int) -> dict[str, Any]:
    cv2.setNumThreads(1)
    rows = []
    for width, height in SIZES:
        frames = [street(width, height, seed) for seed in range(images)]
        jpegs = [cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes() for f in frames]
        blobs = [jpeg_blob(j) for j in jpegs]
        check = timed(lambda: [jpeg_blob(j) for j in jpegs], images, repeat)  # noqa: B023
        mask = timed(lambda: [mask_jpeg(b, MASKS) for b in blobs], images, repeat)  # noqa: B023
        copies: list[bytes] = []

        def copy_all(
            frames: list[np.ndarray] = frames, w: int = width, h: int = height, copies: list[bytes] = copies
        ) -> None:
            copies.clear()
            for frame in frames:
                out, _ = privacy_copy(frame, boxes=boxes(w, h), masks=MASKS)
                copies.append(encode_copy(out))

        copy = timed(copy_all, images, repeat)
        jpeg_kb = statistics.median(len(j) for j in jpegs) / 1024
        png_kb = statistics.median(len(c) for c in copies) / 1024
        rows.append(
            {
                "size": f"{width}x{height}",
                "ingest_check_ms": round(check, 2),
                "ingest_mask_ms": round(mask, 2),
                "mask_over_check": round(mask / check, 2),
                "privacy_copy_ms": round(copy, 1),
                "copies_per_s_per_core": round(1000 / copy, 1),
                "original_jpeg_kb": round(jpeg_kb, 1),
                "copy_png_kb": round(png_kb, 1),
                "copy_over_original_bytes": round(png_kb / jpeg_kb, 1),
            }
        )
    header = list(rows[0])
    print(" | ".join(header))
    for row in rows:
        print(" | ".join(str(row[k]) for k in header))
    result = {
        "images_per_size": images,
        "repeat": repeat,
        "opencv": cv2.__version__,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "rows": rows,
    }
    write_results("evidence", result)
    return result
