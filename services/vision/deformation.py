"""BAA, deformation: the ovality of a joint's ring in the near ring.

A joint is a cross-section of the pipe drawn on its wall (a dark ring all round). Seen from the pipe's
axis, a round pipe's joint is a circle around the vanishing point; a pipe squeezed by d (its radius
``R (1 - d cos 2(phi - theta))``, the vertical dimension reduced by d when theta is 12 o'clock) draws an
ellipse whose radius varies the same way. Unrolled around the vanishing point, the joint is a curve
``r(phi)``: fitted with a constant, the first harmonic (the vanishing point found a few pixels off shifts
a circle, it does not squeeze it) and the second harmonic, the second harmonic's amplitude over the
constant is the deformation, and where it is smallest the side that gave way.

Only a joint shows it: a deformation between two joints is not seen (docs/vision.md). The fit is trimmed
(the points furthest from it are dropped, twice) and kept only when most of the dry wall's angles agree
with it, so a crack, a root or a second joint in the same radius band do not make an ellipse.
"""

from __future__ import annotations

import math

import numpy as np

from services.vision.detections import Detection
from services.vision.features import dark_lines
from services.vision.geometry import FrameGeometry, clock_of, inside_image, unroll

MIN_CONTRAST = 9  # 8-bit, at least: a joint is darker than the wall around it by this...
NOISE_TIMES = 5.0  # ...and by this many times the wall's median black-hat
BAND_M = (0.4, 2.2)  # the joint is looked for this far ahead: at most one joint of a 2 m pipe length, and
# in a wide pipe, a ring whole in the frame
RADIUS_BINS = 160
MIN_ANGLES = 100  # a joint seen around at least this many degrees
MIN_INLIERS = 0.7  # of the angles where a dark line was found
MAX_RESIDUAL = 0.025  # of the ring's radius
MIN_DEFORMATION_PCT = 6.0  # below this: a round pipe through JPEG and noise, or drawn a little flat (a
# renderer or a lens whose pixels are not square: 0.92 high for 1 wide reads 4.2 %)


def deformation(
    image: np.ndarray,
    geometry: FrameGeometry,
    water: tuple[int, int] | None = None,
    lines: np.ndarray | None = None,
) -> Detection | None:
    """The ovality of the joint in the band, if one is there; ``water``: the clock angles (degrees from 12) the
    water covers, left out; ``lines``: the frame's ``dark_lines``, if made."""
    blackhat = dark_lines(image) if lines is None else lines
    radii = (geometry.radius_at(BAND_M[1]), geometry.radius_at(BAND_M[0]))
    polar = unroll(blackhat, geometry, RADIUS_BINS, radii=radii).astype(np.float32)
    valid = inside_image(geometry, image.shape, polar.shape[1], radii=radii)
    polar[~valid] = 0
    if water is not None:
        polar[max(0, water[0]) : min(360, water[1] + 1)] = 0
    strongest = polar.argmax(axis=1)
    # a dim frame's joints are faint, and so is everything else in it: the threshold follows the wall's own
    # black-hat (its noise and mottling), with a floor
    seen = polar[polar > 0]
    threshold = max(MIN_CONTRAST, NOISE_TIMES * float(np.median(seen))) if seen.size else MIN_CONTRAST
    found = polar[np.arange(360), strongest] >= threshold
    if found.sum() < MIN_ANGLES:
        return None
    angles = np.radians(np.arange(360))[found]
    r = radii[0] + strongest[found] * (radii[1] - radii[0]) / (polar.shape[1] - 1)
    design = np.column_stack(
        [np.ones_like(angles), np.cos(angles), np.sin(angles), np.cos(2 * angles), np.sin(2 * angles)]
    )
    keep = np.ones(len(r), bool)
    for _ in range(3):
        coef, *_ = np.linalg.lstsq(design[keep], r[keep], rcond=None)
        residual = np.abs(design @ coef - r)
        keep = residual <= max(MAX_RESIDUAL * coef[0], 2.0)
    if keep.sum() < MIN_ANGLES or keep.mean() < MIN_INLIERS or not _spread_round(angles[keep]):
        return None
    r0, a2, b2 = float(coef[0]), float(coef[3]), float(coef[4])
    squeeze = math.hypot(a2, b2) / r0
    if 100 * squeeze < MIN_DEFORMATION_PCT:
        return None
    # r0 (1 - d cos 2(phi - theta)) = r0 - d r0 (cos 2theta cos 2phi + sin 2theta sin 2phi): the radius is
    # smallest at theta (and theta + 180): the side that gave way, reported in the upper half
    theta = math.degrees(math.atan2(-b2, -a2) / 2) % 180
    side = theta if theta <= 90 else theta + 180  # 0-90 or 270-360: the upper half
    characterisation = "A" if min(side % 180, 180 - side % 180) <= 45 else "B"  # vertical / horizontal
    outline = tuple(
        (int(round(geometry.cx + rr * math.sin(p))), int(round(geometry.cy - rr * math.cos(p))))
        for p in np.radians(np.arange(0, 360, 6))
        for rr in [float(coef @ np.array([1, math.cos(p), math.sin(p), math.cos(2 * p), math.sin(2 * p)]))]
    )
    confidence = float(min(1.0, 0.3 + keep.mean() * 0.4 + squeeze * 2))
    return Detection(
        "BAA", clock_of(side), clock_of(side), round(100 * squeeze, 1), confidence, characterisation,
        f"the joint's ring is {100 * squeeze:.0f} % out of round", outline,
    )  # fmt: skip


def _spread_round(angles: np.ndarray) -> bool:
    """The angles cover at least three quarters of the clock: an arc alone fits any ellipse."""
    quarters = {int(math.degrees(a) // 90) for a in angles}
    return len(quarters) >= 3
