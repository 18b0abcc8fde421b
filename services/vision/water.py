"""BDD, water level (and BBC, settled deposits): the wedge of the near ring the water covers, as % of the pipe's height.

Unrolled around the vanishing point, each clock angle of the near ring is wall or water. Water sits at the
bottom: the angles around 6 o'clock are compared with those around 12 (always wall unless the pipe runs
full) on colour and texture; where they differ, each angle is classed by the nearer of the two, and the
contiguous run of water angles through 6 o'clock gives the half-angle alpha, hence the level
(1 - cos alpha) / 2 (docs/vision.md). The same holds for a horizontal water line (a camera tilted down):
the level is the one the near ring's cross-section shows. Water is smooth: a level surface rougher than
the wall is sand and grit settled on the invert, BBC, quantified by the cross-section it takes.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from services.vision.detections import Detection
from services.vision.features import feature_stack, on_stack
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
UPPER = [*range(0, 121), *range(240, 360)]  # all but the bottom third
SIDES = (CROWN, range(20, 41), range(320, 341))  # the crown, 1 and 11 o'clock
DEPOSIT_TEXTURE = 1.6  # a level surface this many times as textured as the wall is settled deposits, not water


def angular_features(
    image: np.ndarray, geometry: FrameGeometry, stack: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per clock angle (one row per degree): mean L, a, b and texture over the near ring's cells inside the
    image; and whether the angle had any such cell. ``stack``: the frame's ``feature_stack``, if made."""
    stack = feature_stack(image) if stack is None else stack
    geometry = on_stack(geometry, image, stack)
    polar = np.nan_to_num(unroll(stack, geometry))
    valid = inside_image(geometry, stack.shape, polar.shape[1]) & (polar[..., 4] < 0.1)  # text is not the pipe
    polar = polar[..., :4]
    weight = valid.astype(np.float32)
    count = weight.sum(axis=1)
    features = (polar * weight[..., None]).sum(axis=1) / np.maximum(count, 1)[:, None]
    return features, count > polar.shape[1] * 0.2


def water_level(image: np.ndarray, geometry: FrameGeometry, stack: np.ndarray | None = None) -> Detection | None:
    features, seen = angular_features(image, geometry, stack)
    if not seen[list(BOTTOM)].all() or not seen[CROWN].any():
        return None  # the near ring's bottom is out of the frame: no reading
    features = cv2.GaussianBlur(features, (1, 5), 0)  # along the angle only
    crown = [a for a in CROWN if seen[a]]
    upper = [a for a in UPPER if seen[a]]
    # in units of the features' variation *within* the two references (a floor of 1 for flat renders)
    spread = np.maximum((features[list(BOTTOM)].std(axis=0) + features[crown].std(axis=0)) / 2, 1.0)
    norm = features / spread
    water_ref = norm[list(BOTTOM)].mean(axis=0)
    # the wall's reference is whichever of these looks most like the bottom (the bottom is water only when
    # it differs from them all): the median of all but the bottom third (roots or an encrustation at the
    # crown do not make it), and the crown, 1 and 11 o'clock (a pipe squeezed from above brings its crown
    # and its bottom nearer the lamp alike, lit brighter than its sides)
    candidates = [np.median(norm[upper], axis=0)] + [
        norm[[a for a in around if seen[a]]].mean(axis=0) for around in SIDES if any(seen[a] for a in around)
    ]
    wall_ref = min(candidates, key=lambda ref: float(np.linalg.norm(water_ref - ref)))
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
    outline = sector(geometry, right, left, inner, outer)
    surface = float(features[right : left + 1, 3].mean())
    wall = float(np.median(features[upper, 3]))
    if surface > DEPOSIT_TEXTURE * wall + 1.0:
        # water is smooth; sand and grit on the invert are rougher than the wall: the same level surface
        reduction = 100 * (half - math.sin(half) * math.cos(half)) / math.pi
        return Detection("BBC", clock_of(right), clock_of(left), round(reduction, 1), confidence, "",
                         f"settled deposits {level:.0f} % of the height", outline)  # fmt: skip
    return Detection("BDD", clock_of(right), clock_of(left), round(level, 1), confidence, outline=outline)


def water_wedge(level: Detection | None, margin_deg: int = 10) -> tuple[int, int] | None:
    """The clock angles (degrees from 12) a water level covers, with a margin: what other detectors skip."""
    if level is None or level.quantification is None:
        return None
    if level.code == "BBC":  # its quantification is the cross-section share: back to the level's half-angle
        share, low, high = level.quantification / 100, 0.0, math.pi
        for _ in range(30):
            mid = (low + high) / 2
            low, high = (mid, high) if (mid - math.sin(mid) * math.cos(mid)) / math.pi < share else (low, mid)
        alpha = math.degrees(low)
    else:
        alpha = math.degrees(math.acos(1 - 2 * level.quantification / 100))
    return int(180 - alpha - margin_deg), int(math.ceil(180 + alpha + margin_deg))
