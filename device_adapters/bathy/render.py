"""What the drone's camera sees: a pipe interior with joints, water and the simulated defects."""

from __future__ import annotations

import random

import cv2
import numpy as np

from device_adapters.images import encode_jpeg

WIDTH, HEIGHT = 640, 480
JOINT_SPACING_M = 2.0  # concrete pipe sections are typically 2 m long


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
    return encode_jpeg(img)
