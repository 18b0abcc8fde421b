"""BBA roots, BBB attached deposits, BBE obstacles: what stands out from the wall into the pipe.

Unrolled around the vanishing point, every radius of the image is one distance ahead, and a clean wall
looks the same at every clock angle of a radius: the same lamp at the same distance, the same material
(joints are whole rings: they change a radius all round). Something standing on the wall breaks that: at
its clock angles, from where it meets the wall inwards, the cells differ from the rest of their radius in
colour or texture. Each cell is scored by how far it lies from its radius's median, in units of that
radius's own spread (the wall's mottling, the noise, the JPEG), thin things (cracks, a joint a vanishing
point's error turns into a wave) are opened away, and a region that reaches into the near ring is a
candidate. The water's angles are left out (the water detector reads them, and tells settled deposits
from water: ``water.py``).

What the region is, is read from what it looks like next to the wall: much finer texture than the wall and
darker is roots (strands), a deep compact region with a near face is an obstacle, anything else an
encrustation (the grouping decides over frames: ``grouping.py``). Its depth is the share of the radius it
covers at each of its angles: ``1 - r_in / r_out`` where it has a near face (``r_out``), or, where it runs
on to the frame's nearest edge, ``1 - r_in / r(1 m)`` (its far end taken where it was seen, at the near
ring's mean distance); that gives the cross-section it takes. A monocular frame cannot tell a short deep
object from a long shallow one seen from afar: the quantification is an estimate. Burned-in text (the
feature stack's fifth channel) is left out.
"""

from __future__ import annotations

import cv2
import numpy as np

from services.vision.detections import Detection
from services.vision.features import feature_stack, on_stack
from services.vision.geometry import FrameGeometry, clock_of, inside_image, sector, unroll

FAR_M = 3.0  # the unrolling reaches from this far ahead...
NEAR_M = 0.4  # ...to a little nearer than the near ring: the near face of what is in it is inside
RADIUS_BINS = 64
SMOOTH = (5, 5)  # cells (degrees x radius bins)
MIN_SCORE = 4.0  # robust deviations from the radius's median
FLOORS = np.array([5.0, 3.0, 3.0, 1.0], np.float32)  # L, a, b, texture: the least spread a radius is given
MIN_ARC_DEG = 12
MIN_AREA_SHARE = 0.006  # of the unrolled annulus
ROOT_TEXTURE = 2.2  # texture this many times the wall's, and darker than it: strands
OBSTACLE_DEPTH = 0.3  # share of the radius: deeper than this and compact is an obstacle
COMPACT_ARC_DEG = 120


def intrusions(
    image: np.ndarray,
    geometry: FrameGeometry,
    water: tuple[int, int] | None = None,
    stack: np.ndarray | None = None,
) -> list[Detection]:
    """What stands out from the wall; ``water``: the clock angles the water covers (degrees from 12), left
    out; ``stack``: the frame's ``feature_stack``, if made."""
    stack = feature_stack(image) if stack is None else stack
    scale = stack.shape[1] / image.shape[1]
    small = on_stack(geometry, image, stack)
    radii = (small.radius_at(FAR_M), small.radius_at(NEAR_M))
    polar = unroll(stack, small, RADIUS_BINS, radii=radii)
    valid = inside_image(small, stack.shape, polar.shape[1], radii=radii)
    valid &= np.nan_to_num(polar[..., 4]) < 0.1  # burned-in text is not the pipe
    polar = polar[..., :4]
    polar[~valid] = 0  # (warpPolar leaves what falls outside the image undefined)
    # each cell's look over its neighbourhood (texture is a property of a region, not of a pixel), averaged
    # over the cells inside the image only
    weight = cv2.blur(valid.astype(np.float32), SMOOTH)
    polar = cv2.blur(polar, SMOOTH) / np.maximum(weight, 1e-3)[..., None]
    if water is not None:
        valid[max(0, water[0]) : min(360, water[1] + 1)] = False
    counts = valid.sum(axis=0)
    if (counts >= 90).sum() < polar.shape[1] // 3:
        return []  # too little of the annulus in the frame to know what a radius looks like
    median = _column_median(polar, valid)
    spread = np.maximum(1.4826 * _column_median(np.abs(polar - median), valid), FLOORS)
    deviation = (np.abs(polar - median) / spread).max(axis=2)
    deviation[~valid] = 0
    deviation[:, counts < 90] = 0
    score = cv2.GaussianBlur(deviation, (5, 5), 0)
    mask = ((score >= MIN_SCORE) & valid).astype(np.uint8)
    # fragments of one thing (strands of roots, a crust's patches) joined across a few degrees, then
    # what is thinner than 7 cells (a crack, a joint's wave) opened away
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((11, 5), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((7, 7), np.uint8))
    wall_texture = float(np.nanmedian(median[:, 3]))
    wall_lightness = float(np.nanmedian(median[:, 0]))
    last_valid = valid.shape[1] - 1 - np.argmax(valid[:, ::-1], axis=1)  # per angle: the nearest cell in the image
    near_columns = _columns_of(small.near_ring[0], radii, polar.shape[1])
    found = []
    for rows, cols in _components(mask):
        arc = _arc(rows)
        if arc < MIN_ARC_DEG or len(rows) < MIN_AREA_SHARE * valid.size or cols.max() < near_columns:
            continue
        found.append(
            _describe(
                rows, cols, polar, wall_texture, wall_lightness, last_valid, small, radii, polar.shape[1], 1 / scale
            )
        )
    return found


def _column_median(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per column (and channel), the median over the rows where ``valid`` (NaN where none is): one sort,
    the invalid cells pushed to the end (numpy's nanmedian costs five times as much here)."""
    counts = valid.sum(axis=0)
    ordered = np.sort(np.where(valid[..., None], values, np.inf), axis=0)
    middle = np.maximum(counts - 1, 0) // 2
    picked = np.take_along_axis(ordered, middle[None, :, None].repeat(values.shape[2], axis=2), axis=0)[0]
    picked[counts == 0] = np.nan
    return picked


def _columns_of(radius: float, radii: tuple[float, float], columns: int) -> int:
    return int((radius - radii[0]) / (radii[1] - radii[0]) * (columns - 1))


def _radius_of(column: np.ndarray | int, radii: tuple[float, float], columns: int) -> np.ndarray:
    return radii[0] + np.asarray(column, np.float32) * (radii[1] - radii[0]) / (columns - 1)


def _components(mask: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Connected components, joined across 12 o'clock (row 359 touches row 0)."""
    rolled = np.roll(mask, 180, axis=0)
    count, labels = cv2.connectedComponents(rolled, connectivity=8)
    found = []
    for label in range(1, count):
        rows, cols = np.nonzero(labels == label)
        found.append(((rows - 180) % 360, cols))
    return found


def _arc(rows: np.ndarray) -> int:
    middle = int(np.median(rows))
    centred = (rows - middle + 180) % 360 - 180
    return int(centred.max() - centred.min() + 1)


def _describe(
    rows: np.ndarray,
    cols: np.ndarray,
    polar: np.ndarray,
    wall_texture: float,
    wall_lightness: float,
    last_valid: np.ndarray,
    geometry: FrameGeometry,
    radii: tuple[float, float],
    columns: int,
    to_frame: float,
) -> Detection:
    """What the region is (by its look and depth), the cross-section it takes, and its outline in the frame's
    pixels (``geometry`` and ``radii`` are the feature stack's; ``to_frame`` scales them back)."""
    middle = int(np.median(rows))
    centred = (rows - middle + 180) % 360 - 180
    start, end = (middle + int(centred.min())) % 360, (middle + int(centred.max())) % 360
    # per angle: the share of the radius covered, from where it meets the wall inwards
    depths = []
    for angle in np.unique(rows):
        here = cols[rows == angle]
        r_in, r_out = _radius_of(here.min(), radii, columns), _radius_of(here.max(), radii, columns)
        depths.append(1 - float(r_in) / max(float(r_out), 1.0))
    # it goes on to the annulus's (or the image's) nearest edge: no near face to measure from
    reach = np.array([cols[rows == a].max() >= last_valid[a] - 3 for a in np.unique(rows)])
    # ...unless it is all nearer than 1 m (its inner edge outside the ring 1 m ahead): then it is short and close
    long = bool(reach.mean() > 0.5) and float(_radius_of(cols.min(), radii, columns)) < geometry.k
    if long:
        # its far end is unknown: taken at the near ring's mean distance (1 m), where it was seen
        depths = [max(0.0, 1 - float(_radius_of(cols[rows == a].min(), radii, columns)) / geometry.k)
                  for a in np.unique(rows)]  # fmt: skip
    depth = float(np.median(depths))
    reduction = 100 * sum(1 - (1 - d) ** 2 for d in depths) / 360
    texture = float(polar[rows, cols, 3].mean())
    darker = float(polar[rows, cols, 0].mean()) < wall_lightness
    arc = _arc(rows)
    fibrous = texture / max(wall_texture, 1.0)
    if darker and fibrous >= ROOT_TEXTURE:
        code, remark = "BBA", "roots: a fibrous mass"
    elif not long and depth >= OBSTACLE_DEPTH and arc <= COMPACT_ARC_DEG:
        code, remark = "BBE", "an obstacle standing out from the wall"
    else:
        code, remark = "BBB", "attached deposits along the wall"
    confidence = float(min(1.0, 0.4 + len(rows) / (0.1 * polar.shape[0] * polar.shape[1])))
    inner = float(_radius_of(cols.min(), radii, columns)) * to_frame
    outer = float(_radius_of(cols.max(), radii, columns)) * to_frame
    outline = sector(geometry.scaled(to_frame), start - 2, end + 2, inner - 3, outer + 3)
    return Detection(code, clock_of(start), clock_of(end), round(reduction, 1), confidence, "", remark, outline)
