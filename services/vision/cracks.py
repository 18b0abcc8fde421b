"""BAB, cracks: thin dark lines on the wall of the near ring.

A black-hat filter keeps what is darker than its surroundings and thinner than the kernel (a crack, a
joint's gap, a root's strand), whatever the wall's colour or lighting. Unrolled around the vanishing point,
a longitudinal crack (along the pipe) runs across the ring's radii at one clock angle, a circumferential
one along the angles at one radius; a joint is a circumferential line around the whole wall, and is not a
crack. The water's angles are left out (ripples are thin and dark too).
"""

from __future__ import annotations

import cv2
import numpy as np

from services.vision.detections import Detection
from services.vision.features import dark_lines
from services.vision.geometry import FrameGeometry, clock_of, inside_image, ring, sector, unroll

MIN_CONTRAST = 18  # 8-bit: how much darker than the wall around it a line must be...
MIN_CONTRAST_DIM = 10  # ...or as little as this in a dim, smooth frame
NOISE_TIMES = 6.0
DIM_WALL = 70  # 8-bit median grey of a dim frame
JOINT_SHARE = 0.6  # a line around more of the dry wall than this is a joint...
JOINT_SHARE_SPREAD = 0.55  # ...or around this much, in at least three quarters of the clock
JOINT_CONTRAST_SHARE = 0.6  # of a crack's contrast, enough for a joint's ring
JOINT_BAND = 3  # columns either side that a joint's ring may wander over
EDGE_MARGIN = 0.3  # the unrolling reaches this share beyond the near ring's radii
MIN_RADIAL_SHARE = 0.35  # a longitudinal crack crosses this share of the ring's depth
MIN_ARC_DEG = 20  # a circumferential crack spans at least this
SPECK_SHARE = 0.5  # a dark line under this share of both is a speck of the wall's texture, not a crack


def cracks(
    image: np.ndarray,
    geometry: FrameGeometry,
    water: tuple[int, int] | None = None,
    lines: np.ndarray | None = None,
) -> list[Detection]:
    """Cracks in the near ring; ``water``: the clock angles (degrees from 12) the water covers, left out."""
    blackhat = dark_lines(image) if lines is None else lines
    # unrolled a little wider than the near ring: a joint at the ring's edge is still seen whole, and
    # told apart, rather than cut into an arc that looks like a circumferential crack
    polar = unroll(blackhat, geometry, margin=EDGE_MARGIN)
    valid = inside_image(geometry, image.shape, polar.shape[1], margin=EDGE_MARGIN)
    if water is not None:
        valid[water[0] : water[1] + 1] = False
    threshold = _threshold(image, polar, valid)
    dark = (polar >= threshold) & valid
    wall_rows = valid.any(axis=1)
    if wall_rows.sum() < 30:
        return []
    # joints: around the whole dry wall. A vanishing point a few pixels off turns a ring into a wave across
    # a few columns, so a column band counts, and is cleared, as a whole.
    kernel = np.ones((1, 2 * JOINT_BAND + 1), np.uint8)
    band = cv2.dilate(dark.astype(np.uint8), kernel).astype(bool)
    share = band.sum(axis=0) / wall_rows.sum()
    # a joint hidden in part (water this detector was not told of, a dark corner) still rings most of the
    # way round: a lower share is enough when it is spread over at least three quarters of the clock
    quarters = np.stack([band[q * 90 : (q + 1) * 90].any(axis=0) for q in range(4)]).sum(axis=0)
    # a joint's gap is as dark all round, the wall around it is not (vignetting: near the crown of a large pipe
    # the gap stands out by little more than a crack's contrast): around most of the wall at a lower contrast
    # is a joint too. Not the spread rule: at that contrast a wall's texture reaches three quarters of the clock
    faint = (polar >= JOINT_CONTRAST_SHARE * threshold) & valid
    faint_share = cv2.dilate(faint.astype(np.uint8), kernel).astype(bool).sum(axis=0) / wall_rows.sum()
    ringing = (share > JOINT_SHARE) | ((share > JOINT_SHARE_SPREAD) & (quarters >= 3)) | (faint_share > JOINT_SHARE)
    joint = cv2.dilate(ringing.astype(np.uint8)[None, :], np.ones((1, 2 * JOINT_BAND + 1), np.uint8))
    dark[:, joint[0].astype(bool)] = False
    mask = cv2.morphologyEx(dark.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 3), np.uint8))
    inner, outer = ring_columns(geometry, polar.shape[1])
    found = [
        _classify(
            rows, np.clip(cols, inner, outer) - inner, outer - inner, _outline(geometry, rows, cols, polar.shape[1])
        )
        for rows, cols in _components(mask)
        if cols.max() >= inner and cols.min() <= outer  # it reaches into the near ring itself
    ]
    return [d for d in found if d is not None]


def _threshold(image: np.ndarray, polar: np.ndarray, valid: np.ndarray) -> float:
    """``MIN_CONTRAST``; in a dim frame (a dark cast-iron wall: its median grey under ``DIM_WALL``), less
    when its wall is smooth: a crack there is darker than the wall by less than 18 grey levels, and so is
    everything else (the threshold follows the wall's own black-hat, ``NOISE_TIMES`` its median, never
    under ``MIN_CONTRAST_DIM``). A lit frame keeps 18: on a lit, smooth wall the lower threshold found
    false cracks in shading steps (the other renderer's frames)."""
    seen = polar[valid]
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    if not seen.size or float(np.median(gray[::4, ::4])) >= DIM_WALL:
        return float(MIN_CONTRAST)
    return float(min(MIN_CONTRAST, max(MIN_CONTRAST_DIM, NOISE_TIMES * float(np.median(seen)))))


def ring_columns(geometry: FrameGeometry, columns: int) -> tuple[int, int]:
    """The columns of the widened unrolling that are the near ring itself."""
    wide_inner, wide_outer = ring(geometry, EDGE_MARGIN)
    inner, outer = geometry.near_ring
    scale = (columns - 1) / (wide_outer - wide_inner)
    return int((inner - wide_inner) * scale), int((outer - wide_inner) * scale)


def _components(mask: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Connected components of the unrolled mask, joined across 12 o'clock (row 359 touches row 0)."""
    rolled = np.roll(mask, 180, axis=0)  # 12 o'clock in the middle: a crack over the crown stays whole
    count, labels, stats, _ = cv2.connectedComponentsWithStats(rolled, connectivity=8)
    found = []
    for label in range(1, count):
        if stats[label, cv2.CC_STAT_AREA] < 12:
            continue
        rows, cols = np.nonzero(labels == label)
        found.append(((rows - 180) % 360, cols))
    return found


def _outline(geometry: FrameGeometry, rows: np.ndarray, cols: np.ndarray, columns: int) -> tuple[tuple[int, int], ...]:
    """The annular sector the component spans, in the frame's pixels (a little margin around it)."""
    wide_inner, wide_outer = ring(geometry, EDGE_MARGIN)
    radius = lambda c: wide_inner + c * (wide_outer - wide_inner) / (columns - 1)  # noqa: E731
    centred = (rows - int(np.median(rows)) + 180) % 360 - 180
    start = int(np.median(rows)) + int(centred.min()) - 3
    end = int(np.median(rows)) + int(centred.max()) + 3
    return sector(geometry, start % 360, end % 360, radius(cols.min()) - 4, radius(cols.max()) + 4)


def _classify(rows: np.ndarray, cols: np.ndarray, depth: int, outline: tuple[tuple[int, int], ...]) -> Detection | None:
    """A crack's kind from its extent: across the ring's depth (longitudinal), along its arc (circumferential),
    both or a piece of one (complex); under half of both is a speck of the wall's texture, not a crack (on
    real footage most of what the black-hat finds: docs/vision.md)."""
    radial = (cols.max() - cols.min() + 1) / depth
    centred = (rows - int(np.median(rows)) + 180) % 360 - 180  # angles around the component's middle
    arc = int(centred.max() - centred.min() + 1)
    middle = int(np.median(rows))
    start, end = (middle + int(centred.min())) % 360, (middle + int(centred.max())) % 360
    if radial >= MIN_RADIAL_SHARE and arc < MIN_ARC_DEG:
        kind, letter = "longitudinal", "A"
    elif arc >= MIN_ARC_DEG and radial < MIN_RADIAL_SHARE:
        kind, letter = "circumferential", "B"
    elif radial < MIN_RADIAL_SHARE * SPECK_SHARE and arc < MIN_ARC_DEG * SPECK_SHARE:
        return None
    else:
        kind, letter = "complex", "C"
    confidence = float(min(1.0, 0.4 + len(rows) / 400))
    return Detection("BAB", clock_of(start), clock_of(end), round(arc / 30, 1), confidence, letter, kind, outline)
