"""A trained model's box, placed on the pipe as the classical detectors place what they find (docs/vision.md).

A box is a rectangle of the frame; the pipe is read around the vanishing point. The box is sampled on a grid;
the samples that fall in the near ring (0.5-1.5 m ahead, the ring every classical detector reports from) say
where it is: their clock angles give its clock range, and its chainage follows the near-ring convention (the
frame's chainage plus 1 m, applied by the grouping). A box that does not reach the near ring is not reported
from this frame: it lies further ahead (a later frame sees it in its ring, at the right chainage) or is
already passed. The quantification is the code's own unit, estimated from the box where a box can tell it.
"""

from __future__ import annotations

import math

import numpy as np

from services.vision.detections import Detection
from services.vision.geometry import FrameGeometry, clock_of

# the codes a box can place: what is seen on the wall at a clock position. A water level (BDD) or a loss of
# vision (BDG) is a whole frame's reading, not a box's
BOX_CODES = frozenset({"BAB", "BAA", "BBA", "BBB", "BBC", "BBE"})
GRID = 32  # samples per side of a box
MIN_RING_SHARE = 0.02  # of a box's samples in the near ring: less is a corner grazing it, not a thing in it
FULL_CIRCLE_GAP_DEG = 30  # the samples leave no gap of one clock hour: the box is all round the pipe


def place(
    code: str,
    box: tuple[float, float, float, float],
    geometry: FrameGeometry,
    confidence: float,
    characterisation: str = "",
    remark: str = "",
) -> Detection | None:
    """The detection of ``code`` for a box (x0, y0, x1, y1, in the frame's pixels), or None when the box does
    not reach the frame's near ring."""
    x0, y0, x1, y1 = box
    xs, ys = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID))
    dx, dy = xs - geometry.cx, ys - geometry.cy
    radius = np.hypot(dx, dy)
    angle = np.degrees(np.arctan2(dx, -dy)) % 360  # from 12 o'clock, clockwise (geometry.sector's convention)
    inner, outer = geometry.near_ring
    in_ring = (radius >= inner) & (radius <= outer)
    if in_ring.mean() < MIN_RING_SHARE:
        return None
    start, span = _arc(angle[in_ring])
    if span is None:
        clock_from, clock_to, span = 12, 11, 360.0
    else:
        clock_from, clock_to = clock_of(start), clock_of(start + span)
    outline = tuple((int(round(x)), int(round(y))) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)))
    quantity = _quantification(code, box, geometry, start, span)
    return Detection(code, clock_from, clock_to, quantity, round(float(confidence), 3), characterisation, remark,
                     outline)  # fmt: skip


def _arc(angles: np.ndarray) -> tuple[float, float | None]:
    """(start, span) in degrees of the smallest clockwise arc holding ``angles``; span None: all round."""
    ordered = np.unique(np.round(angles, 1))
    gaps = np.diff(np.append(ordered, ordered[0] + 360))
    widest = int(np.argmax(gaps))
    if gaps[widest] < FULL_CIRCLE_GAP_DEG:
        return 0.0, None
    start = float(ordered[(widest + 1) % len(ordered)])
    return start, float((ordered[widest] - start) % 360)


def _quantification(
    code: str, box: tuple[float, float, float, float], geometry: FrameGeometry, start: float, span_deg: float
) -> float | None:
    """The code's quantification as far as a box tells it (docs/vision.md, "Plugging in a trained model"):
    a crack's visible length in clock hours; settled deposits, the cross-section below a level whose surface
    meets the wall at the box's clock range; what stands out of the wall, the cross-section it takes (per
    degree of its clock range, its depth ``1 - r_in / r_out`` along that ray, as intrusions.py estimates it,
    the box's far edge taken as the thing's top and its near edge as its face); a deformation's
    percentage is not in a box (None: a reviewer measures it)."""
    if code == "BAB":
        return round(span_deg / 30, 1)
    if code == "BBC":
        half = math.radians(min(span_deg, 360.0) / 2)
        return round(100 * (half - math.sin(half) * math.cos(half)) / math.pi, 1)
    if code in ("BBA", "BBB", "BBE"):
        r_in, r_out = _radial_extent(box, geometry, start + np.arange(0.0, span_deg + 1.0))
        seen = r_out > 0
        shares = 1 - (r_in[seen] / r_out[seen]) ** 2  # 1 - (1 - depth)^2, depth = 1 - r_in / r_out
        return round(100 * float(shares.mean() if shares.size else 0.0) * span_deg / 360, 1)
    return None


def _radial_extent(
    box: tuple[float, float, float, float], geometry: FrameGeometry, angles_deg: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per angle (from 12, clockwise), where the ray from the vanishing point enters and leaves the box (px from
    the vanishing point; 0, 0 where it misses it): the slab method, exact where a sampled grid is not."""
    x0, y0, x1, y1 = box
    theta = np.radians(angles_deg)
    directions = (np.sin(theta), -np.cos(theta))
    enter, leave = np.zeros_like(theta), np.full_like(theta, np.inf)
    for low, high, origin, d in ((x0, x1, geometry.cx, directions[0]), (y0, y1, geometry.cy, directions[1])):
        with np.errstate(divide="ignore", invalid="ignore"):
            t0, t1 = (low - origin) / d, (high - origin) / d
        near, far = np.minimum(t0, t1), np.maximum(t0, t1)
        parallel = np.abs(d) < 1e-12  # the ray runs along the slab: inside it or never
        inside = (low <= origin) & (origin <= high)
        near = np.where(parallel, np.where(inside, -np.inf, np.inf), near)
        far = np.where(parallel, np.where(inside, np.inf, -np.inf), far)
        enter, leave = np.maximum(enter, near), np.minimum(leave, far)
    hit = leave > enter
    return np.where(hit, enter, 0.0), np.where(hit, leave, 0.0)
