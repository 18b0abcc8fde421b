"""What a dumping camera sees: a street with the dumped object in its box."""

from __future__ import annotations

import random
from datetime import datetime

import cv2
import numpy as np

from device_adapters.images import encode_jpeg

WIDTH, HEIGHT = 640, 480
JOINT_SPACING_M = 2.0  # concrete pipe sections are typically 2 m long


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
    return encode_jpeg(img)
