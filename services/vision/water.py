"""BDD, water level: the wedge of the near ring the water covers, as % of the pipe's height.

Unrolled around the vanishing point, each clock angle of the near ring is wall or water. Water sits at the
bottom: the angles around 6 o'clock are compared with those around 12 (always wall unless the pipe runs
full) on colour and texture; where they differ, each angle is classed by the nearer of the two, and the
contiguous run of water angles through 6 o'clock gives the half-angle alpha, hence the level
(1 - cos alpha) / 2 (docs/vision.md). The same holds for a horizontal water line (a camera tilted down):
the level is the one the near ring's cross-section shows.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from services.vision.detections import Detection
from services.vision.geometry import (
    ANGLE_BINS,
    FrameGeometry,
    clock_of,
    inside_image,
    level_from_half_angle,
    sector,
    unroll,
)

MIN_SEPARATION = 6.0  # feature distance between the bottom and the crown, in units of their own variation
MAX_TILT_DEG = 25  # the drone's roll tilts the wedge; more than this is not water
BOTTOM = range(165, 196)  # degrees from 12: around 6 o'clock
CROWN = [*range(0, 16), *range(345, 360)]


def angular_features(image: np.ndarray, geometry: FrameGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Per clock angle (one row per degree): mean L, a, b and texture over the near ring's cells inside the
    image; and whether the angle had any such cell."""
    lab = cv2.cvtColor(image, cv2.COLOR_BGR2LAB).astype(np.float32)
    gray = lab[..., 0]
    texture = np.abs(gray - cv2.GaussianBlur(gray, (0, 0), 2.0))
    stack = np.dstack([lab, texture[..., None]])
    polar = np.nan_to_num(unroll(stack, geometry))
    valid = inside_image(geometry, image.shape, polar.shape[1])
    weight = valid.astype(np.float32)
    count = weight.sum(axis=1)
    features = (polar * weight[..., None]).sum(axis=1) / np.maximum(count, 1)[:, None]
    return features, count > polar.shape[1] * 0.2


def water_level(image: np.ndarray, geometry: FrameGeometry) -> Detection | None:
    features, seen = angular_features(image, geometry)
    if not seen[list(BOTTOM)].all() or not seen[CROWN].any():
        return None  # the near ring's bottom is out of the frame: no reading
    features = cv2.GaussianBlur(features, (1, 5), 0)  # along the angle only
    crown = [a for a in CROWN if seen[a]]
    # in units of the features' variation *within* the two references (a floor of 1 for flat renders)
    spread = np.maximum((features[list(BOTTOM)].std(axis=0) + features[crown].std(axis=0)) / 2, 1.0)
    norm = features / spread
    water_ref = norm[list(BOTTOM)].mean(axis=0)
    wall_ref = norm[crown].mean(axis=0)
    separation = float(np.linalg.norm(water_ref - wall_ref))
    if separation < MIN_SEPARATION:
        return None  # the bottom looks like the crown: no water (or the pipe runs full)
    is_water = np.linalg.norm(norm - water_ref, axis=1) < np.linalg.norm(norm - wall_ref, axis=1)
    right = left = 180
    while right > 0 and is_water[right - 1]:
        right -= 1
    while left < ANGLE_BINS - 1 and is_water[left + 1]:
        left += 1
    if left - right >= 300:
        return None  # "water" within 30 degrees of the crown (above ~93 %): a full pipe is BDG A, not a level
    if abs((left + right) / 2 - 180) > MAX_TILT_DEG:
        return None  # water lies level: a "wedge" leaning far from 6 o'clock is something else
    half = math.radians((left - right) / 2)
    level = level_from_half_angle(half)
    confidence = float(min(1.0, separation / (2 * MIN_SEPARATION)))
    inner, outer = geometry.near_ring
    return Detection("BDD", clock_of(right), clock_of(left), round(level, 1), confidence,
                     outline=sector(geometry, right, left, inner, outer))  # fmt: skip


def water_wedge(level: Detection | None, margin_deg: int = 10) -> tuple[int, int] | None:
    """The clock angles (degrees from 12) a water level covers, with a margin: what other detectors skip."""
    if level is None or level.quantification is None:
        return None
    alpha = math.degrees(math.acos(1 - 2 * level.quantification / 100))
    return int(180 - alpha - margin_deg), int(math.ceil(180 + alpha + margin_deg))
