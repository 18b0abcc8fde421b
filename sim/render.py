"""Synthetic images drawn with OpenCV: the inside of a sewer pipe and a street corner with a dumping.

They are real JPEGs with real structure (perspective rings at pipe joints, water, cracks, roots; a
pile of waste on a pavement) so that the vision issues have something meaningful to work on.
"""

from __future__ import annotations

import random
from datetime import datetime

import cv2
import numpy as np

WIDTH, HEIGHT = 640, 480
JOINT_SPACING_M = 2.0  # concrete pipe sections are typically 2 m long


def _encode(image: np.ndarray, quality: int = 80) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV's JPEG encoder does not fail on uint8 BGR images
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def pipe_frame(
    chainage_m: float,
    water_level_pct: float,
    rng: random.Random,
    *,
    crack: bool = False,
    roots: bool = False,
    label: str = "",
) -> bytes:
    """A 640x480 view down a pipe, as a CCTV crawler or drone camera sees it."""
    img: np.ndarray = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    cx, cy = WIDTH // 2, HEIGHT // 2
    # wall: concentric ellipses darkening towards the vanishing point
    for r in range(360, 8, -6):
        shade = int(25 + 150 * (r / 360) ** 1.5)
        cv2.ellipse(img, (cx, cy), (r, int(r * 0.92)), 0, 0, 360, (shade - 10, shade, shade + 8), -1)
    # joints: rings at the distance of the next pipe sections
    offset = chainage_m % JOINT_SPACING_M
    for k in range(1, 6):
        dist = k * JOINT_SPACING_M - offset
        r = int(300 / (1 + dist * 0.8))
        if r > 6:
            cv2.ellipse(img, (cx, cy), (r, int(r * 0.92)), 0, 0, 360, (40, 45, 50), 2)
    # water: a flat band at the bottom, its height by level
    level_y = int(HEIGHT - (water_level_pct / 100) * HEIGHT * 0.9)
    water = img.copy()
    cv2.rectangle(water, (0, level_y), (WIDTH, HEIGHT), (70, 90, 60), -1)
    img = cv2.addWeighted(water, 0.6, img, 0.4, 0)
    if crack:
        x, y = rng.randint(120, 520), rng.randint(40, 200)
        for _ in range(rng.randint(4, 8)):
            nx, ny = x + rng.randint(-40, 40), y + rng.randint(10, 35)
            cv2.line(img, (x, y), (nx, ny), (15, 15, 15), 3)
            x, y = nx, ny
    if roots:
        for _ in range(rng.randint(6, 12)):
            x0 = rng.randint(200, 440)
            pts = np.array([[x0 + rng.randint(-60, 60), rng.randint(0, 150)] for _ in range(4)], np.int32)
            cv2.polylines(img, [pts], False, (30, 80, 110), 2)
    grain = np.random.default_rng(rng.getrandbits(32)).normal(0, 6, img.shape)  # sensor noise, seeded
    img = np.clip(img.astype(np.float32) + grain, 0, 255).astype(np.uint8)
    cv2.putText(
        img,
        f"CH {chainage_m:7.2f} m  {label}",
        (12, 28),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.7,
        (255, 255, 255),
        2,
        cv2.LINE_AA,
    )
    return _encode(img)


def street_snapshot(
    camera_id: str, when: datetime, rng: random.Random, *, box: tuple[int, int, int, int] | None = None
) -> bytes:
    """A 640x480 street corner; if ``box`` is given, a pile of bags and bulky waste inside it."""
    img = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    img[:] = (200, 190, 170)  # sky / facade
    cv2.rectangle(img, (0, 120), (WIDTH, 300), (120, 130, 150), -1)  # wall
    for x in range(20, WIDTH, 110):
        cv2.rectangle(img, (x, 150), (x + 60, 230), (80, 70, 60), -1)  # windows
    cv2.rectangle(img, (0, 300), (WIDTH, 360), (160, 160, 160), -1)  # pavement
    cv2.rectangle(img, (0, 360), (WIDTH, HEIGHT), (70, 70, 70), -1)  # road
    for x in range(0, WIDTH, 80):
        cv2.line(img, (x, 420), (x + 40, 420), (230, 230, 230), 3)
    if box is not None:
        x1, y1, x2, y2 = box
        for _ in range(rng.randint(4, 9)):
            w, h = rng.randint(20, max(21, (x2 - x1) // 2)), rng.randint(15, max(16, (y2 - y1) // 2))
            x, y = rng.randint(x1, max(x1, x2 - w)), rng.randint(y1, max(y1, y2 - h))
            color = rng.choice([(20, 20, 20), (40, 90, 40), (200, 200, 210), (30, 60, 120), (90, 60, 40)])
            cv2.ellipse(img, (x + w // 2, y + h // 2), (w // 2, h // 2), 0, 0, 360, color, -1)
        cv2.rectangle(img, (x1 + 10, y1 + 5), (x1 + (x2 - x1) // 2, y2 - 5), (60, 100, 150), -1)  # old mattress
    cv2.putText(
        img,
        f"{camera_id}  {when:%Y-%m-%d %H:%M:%S}",
        (10, 470),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.55,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    return _encode(img)
