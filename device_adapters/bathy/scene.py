"""Pipe scenes rendered with their ground truth: what the vision worker is measured against (docs/vision.md).

A scene is a pipe (diameter, wall look, joint spacing), conditions (light, camera tilt, water, fog, lens
water, JPEG quality, noise, motion blur) and defects placed by chainage and clock. ``render`` draws what a
forward-looking camera on the pipe axis sees at a chainage, per pixel, from the camera model of
docs/vision.md: a wall point at clock angle phi and distance z ahead is seen at angle phi around the
vanishing point and at radius ``F * R / z``; the water surface is the wedge of clock angles where the
level covers the wall. Each frame comes with the truth visible in its near ring.

Pure (numpy and OpenCV on arrays): no I/O.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import cv2
import numpy as np

WIDTH, HEIGHT = 640, 480
FOCAL_PX = 368.0  # a ~82 degree horizontal field of view at 640 px: the drone's camera (docs/vision.md)
NEAR_RING_M = (0.5, 1.5)  # the distances ahead analysed in each frame
NEAR_RING_MEAN_M = 1.0
INTRUSIONS = frozenset({"BBA", "BBB", "BBC", "BBE"})
LOOKS = {  # BGR, and how much fine texture: roots are strands, encrustation crust, deposits grit, a block smooth
    "BBA": ((45, 70, 100), 0.55),
    "BBB": ((185, 192, 190), 0.25),
    "BBC": ((110, 145, 160), 0.3),
    "BBE": ((60, 80, 150), 0.05),
}


@dataclass(frozen=True)
class Defect:
    """A defect of the scene. ``clock_from``/``clock_to`` read clockwise (10-2 spans the crown); ``extent_pct``
    is the code's quantification (cross-section reduction, deformation), 0 where it has none."""

    code: str
    chainage_start_m: float
    chainage_end_m: float | None = None
    clock_from: int = 12
    clock_to: int = 12
    extent_pct: float = 0.0
    kind: str = ""  # a characterisation: "longitudinal" / "circumferential" for BAB
    # what stands in the pipe: a share of the radius (roots, encrustation, an obstacle, on the wall over
    # the clock range) or of the height (settled deposits, on the invert)
    thickness: float = 0.0

    @property
    def end(self) -> float:
        return self.chainage_end_m if self.chainage_end_m is not None else self.chainage_start_m

    @classmethod
    def intrusion(
        cls, code: str, start_m: float, end_m: float | None, thickness: float, clock_from: int = 5, clock_to: int = 7
    ) -> Defect:
        """Roots (BBA), encrustation (BBB) or an obstacle (BBE) over a clock range, ``thickness`` of the
        radius deep; or settled deposits (BBC), ``thickness`` of the height on the invert (their clock
        range is where they meet the wall). ``extent_pct`` is the cross-section they take, as EN 13508-2
        quantifies them."""
        if code == "BBC":
            alpha = math.acos(1 - 2 * thickness)
            share = (alpha - math.sin(alpha) * math.cos(alpha)) / math.pi
            hours = math.degrees(alpha) / 30
            clock_from, clock_to = round(6 - hours) or 12, round(6 + hours) % 12 or 12
        else:
            width = ((clock_to - clock_from) % 12 + 1) / 12  # an hour either side of each position: see in_clock_range
            share = width * (1 - (1 - thickness) ** 2)
        return cls(code, start_m, end_m, clock_from, clock_to, round(100 * share, 1), thickness=thickness)


@dataclass(frozen=True)
class Conditions:
    diameter_mm: int = 600
    wall_bgr: tuple[int, int, int] = (128, 132, 136)  # concrete; vitrified clay is browner, PVC lighter
    light: float = 1.0  # exposure: 0.1 is a failing lamp
    tilt_px: tuple[int, int] = (0, 0)  # the vanishing point's offset from the image centre
    water_level_pct: float = 10.0
    fog: float = 0.0  # 0-1: steam in the pipe
    lens_water: bool = False  # drops on the lens
    jpeg_quality: int = 80
    noise_sigma: float = 4.0
    motion_blur_px: int = 0


@dataclass(frozen=True)
class Scene:
    conditions: Conditions = field(default_factory=Conditions)
    defects: tuple[Defect, ...] = ()
    joint_spacing_m: float = 2.0
    seed: int = 0

    @property
    def radius_m(self) -> float:
        return self.conditions.diameter_mm / 2000


@dataclass(frozen=True)
class FrameTruth:
    """A defect as a frame shows it (in its near ring)."""

    code: str
    clock_from: int
    clock_to: int
    extent_pct: float


def clock_angle(hour: float) -> float:
    """A clock position -> the angle from 12 o'clock, clockwise, in radians."""
    return (hour % 12) / 12 * 2 * math.pi


def in_clock_range(phi: np.ndarray, clock_from: int, clock_to: int) -> np.ndarray:
    """Whether angles (radians from 12, clockwise) fall in a clockwise clock range (with half an hour of
    margin on each side: a position is an hour wide)."""
    start = clock_angle(clock_from) - math.pi / 12
    span = (clock_angle(clock_to) - clock_angle(clock_from)) % (2 * math.pi) + math.pi / 6
    return (phi - start) % (2 * math.pi) <= span


def render(scene: Scene, chainage_m: float) -> tuple[np.ndarray, list[FrameTruth]]:
    """The BGR frame at ``chainage_m`` and the defects in its near ring."""
    c = scene.conditions
    rng = np.random.default_rng([scene.seed, int(chainage_m * 1000)])
    cx, cy = WIDTH / 2 + c.tilt_px[0], HEIGHT / 2 + c.tilt_px[1]
    v, u = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    dx, dy = u - cx, v - cy
    r = np.maximum(np.hypot(dx, dy), 1.0)
    phi = np.arctan2(dx, -dy) % (2 * np.pi)  # from 12 o'clock, clockwise
    k = FOCAL_PX * scene.radius_m
    z = k / r  # distance ahead of the wall point seen at this pixel
    along = chainage_m + z
    # a deformed stretch: the wall's radius at phi is R (1 - d cos 2 phi)
    squeeze = 1 - sum(d.extent_pct / 100 * _taper(along, d) for d in scene.defects if d.code == "BAA") * np.cos(2 * phi)
    z = k * squeeze / r
    along = chainage_m + z

    # the wall: lit by the drone's lamp (falls off with distance), mottled, with dark joints
    falloff = 1 / (1 + (z / 1.1) ** 2)
    mottle = _texture(scene.seed, phi, along)
    shade = np.clip(c.light * (0.2 + 0.8 * falloff) * (0.8 + 0.35 * mottle), 0, 1.6)
    img = shade[..., None] * np.array(c.wall_bgr, np.float32)[None, None, :]
    joint = np.abs(((along + scene.joint_spacing_m / 2) % scene.joint_spacing_m) - scene.joint_spacing_m / 2)
    img *= np.where(joint < 0.012 * (1 + z), 0.35, 1.0)[..., None]

    # cracks: thin dark lines on the wall
    for d in scene.defects:
        if d.code != "BAB":
            continue
        on_wall = (along >= d.chainage_start_m) & (along <= d.end)
        if d.kind == "circumferential":
            wiggle = 0.01 * np.sin(phi * 7 + scene.seed)
            line = np.abs(along - (d.chainage_start_m + d.end) / 2 + wiggle) < 0.0035 * (1 + z) * 2
            mask = line & in_clock_range(phi, d.clock_from, d.clock_to) & (along >= d.chainage_start_m - 0.05)
        else:
            centre = clock_angle(d.clock_from + ((d.clock_to - d.clock_from) % 12) / 2)
            wiggle = 0.035 * np.sin(along * 9 + scene.seed)
            width = 2.2 / r  # about 2 px wide whatever the distance
            mask = on_wall & (np.abs(((phi - centre - wiggle + np.pi) % (2 * np.pi)) - np.pi) < width)
        img[mask] *= 0.2

    # water: the wedge of clock angles where the level covers the wall, seen as a darker, smoother surface
    h = max(0.0, min(0.99, c.water_level_pct / 100))
    if h > 0:
        alpha = math.acos(1 - 2 * h)
        wedge = np.abs(phi - np.pi) < alpha
        water = np.array((70, 85, 75), np.float32) * np.clip(c.light * (0.35 + 0.9 * falloff), 0, 1.4)[..., None]
        ripples = 1 + 0.06 * np.sin(along * 25 + u * 0.05)
        img = np.where(wedge[..., None], water * ripples[..., None], img)

    # what stands on the wall or the invert (roots, encrustation, settled deposits, an obstacle), drawn
    # where the pixel's ray meets it before the wall, unless that point is under the water
    for d in scene.defects:
        if d.code in INTRUSIONS:
            hit, depth = _intrusion(d, scene, chainage_m, phi, r, z)
            height = r * np.minimum(depth, 1e3) / k * np.cos(phi)  # of the point met, in radii above the axis
            hit &= height > -(1 - 2 * h)
            if hit.any():
                img = np.where(hit[..., None], _intrusion_look(d, scene, phi, depth, c.light), img)

    far = r < 6  # the far end: dark
    img[far] *= 0.3
    if c.fog > 0:
        img = img * (1 - c.fog) + 170 * c.fog
    img = np.clip(img, 0, 255).astype(np.uint8)
    if c.lens_water:
        for _ in range(14):
            x, y, s = int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT)), int(rng.integers(25, 70))
            roi = img[max(0, y - s) : y + s, max(0, x - s) : x + s]
            if roi.size:
                img[max(0, y - s) : y + s, max(0, x - s) : x + s] = cv2.GaussianBlur(roi, (0, 0), 12)
        img = cv2.GaussianBlur(img, (0, 0), 3)
    if c.motion_blur_px > 1:
        kernel = np.zeros((c.motion_blur_px, c.motion_blur_px), np.float32)
        kernel[c.motion_blur_px // 2, :] = 1 / c.motion_blur_px
        img = cv2.filter2D(img, -1, kernel)
    if c.noise_sigma > 0:
        img = np.clip(img.astype(np.float32) + rng.normal(0, c.noise_sigma, img.shape), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, c.jpeg_quality])
    assert ok
    frame = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    assert frame is not None
    return frame, frame_truth(scene, chainage_m)


def random_defect(rng: random.Random, at: float, water: float) -> Defect:
    """A defect of any code from ``at`` (at most 4.5 m long), above a water level of ``water`` %: the
    benchmark's and the simulated drone's missions."""
    code = rng.choice(["BAB", "BAB", "BAA", "BBA", "BBB", "BBC", "BBE"])
    upper = rng.choice([(11, 1), (12, 2), (1, 3), (9, 11), (10, 12)])
    if code == "BAB":
        hour = rng.choice([12, 1, 2, 3, 9, 10, 11])
        if rng.random() < 0.5:
            return Defect("BAB", at, at + 1.4, hour, hour % 12 + 1, kind="longitudinal")
        return Defect("BAB", at + 0.7, at + 0.7, hour, (hour + 2) % 12 + 1, kind="circumferential")
    if code == "BAA":  # over a joint (every 2 m): a deformation between joints is not seen
        return Defect("BAA", at, at + rng.uniform(2.5, 4.0), 12, 12, round(rng.uniform(7, 20), 1))
    if code == "BBA":
        return Defect.intrusion("BBA", at, at + rng.uniform(0.2, 0.5), rng.uniform(0.2, 0.45), *upper)
    if code == "BBB":
        side = rng.choice([(1, 3), (2, 4), (8, 10), (9, 11), (11, 1)])
        return Defect.intrusion("BBB", at, at + rng.uniform(2, 4), rng.uniform(0.06, 0.15), *side)
    if code == "BBC":
        return Defect.intrusion("BBC", at, at + rng.uniform(2, 4), min(0.45, water / 100 + rng.uniform(0.1, 0.25)))
    side = rng.choice([(3, 4), (8, 9), (2, 3), (9, 10)])
    return Defect.intrusion("BBE", at, at + rng.uniform(0.2, 0.4), rng.uniform(0.3, 0.5), *side)


def visible(defect: Defect, conditions: Conditions) -> bool:
    """Whether any of a wall defect's clock range is above the water (what is under it cannot be seen)."""
    h = max(0.0, min(0.99, conditions.water_level_pct / 100))
    if defect.code == "BAA":
        return True  # the whole cross-section is deformed: the dry wall shows it
    if defect.code == "BBC":
        return defect.thickness > h + 0.03  # settled deposits show only where they rise out of the water
    alpha = math.acos(1 - 2 * h) if h > 0 else 0.0
    span = (defect.clock_to - defect.clock_from) % 12
    hours = [(defect.clock_from + i) % 12 for i in range(span + 1)]
    return any(abs(clock_angle(hour) - math.pi) >= alpha for hour in hours)


def frame_truth(scene: Scene, chainage_m: float) -> list[FrameTruth]:
    near, far = chainage_m + NEAR_RING_M[0], chainage_m + NEAR_RING_M[1]
    found = [
        FrameTruth(d.code, d.clock_from, d.clock_to, d.extent_pct)
        for d in scene.defects
        if d.chainage_start_m <= far and d.end >= near and visible(d, scene.conditions)
    ]
    c = scene.conditions
    if c.water_level_pct > 0:
        found.append(FrameTruth("BDD", 3, 9, c.water_level_pct))
    if c.light < 0.2 or c.fog >= 0.6 or c.lens_water or c.motion_blur_px >= 15:
        found.append(FrameTruth("BDG", 12, 12, 0.0))
    return found


def _texture(seed: int, phi: np.ndarray, along: np.ndarray) -> np.ndarray:
    """Low-frequency mottling fixed to the wall (it moves with the chainage, as a real wall does)."""
    gen = np.random.default_rng(seed)
    tiled = np.tile(gen.random((64, 512)).astype(np.float32), (3, 3))  # blurred as a torus: no seam at 12
    grid = cv2.GaussianBlur(tiled, (0, 0), 2.5)[64:128, 512:1024]
    grid = (grid - grid.min()) / (grid.max() - grid.min() + 1e-6)
    i = (phi / (2 * np.pi) * 64).astype(np.int32) % 64
    j = (along * 40).astype(np.int32) % 512
    return grid[i, j]


def _taper(along: np.ndarray, defect: Defect, ramp_m: float = 0.3) -> np.ndarray:
    """1 over the defect's chainage range, falling to 0 over ``ramp_m`` either side."""
    before = (defect.chainage_start_m - along) / ramp_m
    after = (along - defect.end) / ramp_m
    return np.clip(1 - np.maximum(before, after), 0, 1)


def _intrusion(
    d: Defect, scene: Scene, chainage_m: float, phi: np.ndarray, r: np.ndarray, z_wall: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Where the pixels' rays meet the defect before the wall, and at what distance ahead: its top surface
    (a share ``thickness`` in from the wall, or the deposits' level) or its near face."""
    k = FOCAL_PX * scene.radius_m
    ahead = d.chainage_start_m - chainage_m
    if d.code == "BBC":
        down = np.minimum(np.cos(phi), -1e-3)  # the rays going downwards meet the deposits' level
        z_top = np.where(np.cos(phi) < 0, -k * (1 - 2 * d.thickness) / (r * down), np.inf)
        where = np.ones_like(phi, bool)
    else:
        gen = np.random.default_rng([scene.seed, int(d.chainage_start_m * 100), 7])
        ragged = 1.0 if d.code == "BBE" else 0.55 + 0.45 * _smooth_noise(gen, phi, 24)
        z_top = k * (1 - d.thickness * ragged) / r
        where = in_clock_range(phi, d.clock_from, d.clock_to)
    top = (chainage_m + z_top >= d.chainage_start_m) & (chainage_m + z_top <= d.end) & (z_top < z_wall)
    face = (ahead > 0) & (chainage_m + z_top < d.chainage_start_m) & (z_wall > ahead)
    hit = where & (top | face)
    return hit, np.where(top, z_top, max(ahead, 0.05))


def _intrusion_look(d: Defect, scene: Scene, phi: np.ndarray, depth: np.ndarray, light: float) -> np.ndarray:
    """The defect's colour, lit like the wall (by distance), with its own fine texture fixed to it."""
    colour, grain = LOOKS[d.code]
    falloff = 1 / (1 + (np.minimum(depth, 50) / 1.1) ** 2)
    if d.code == "BBA":  # strands hanging from the wall: thin bright and dark fibres across the clock
        fine = 0.5 + 0.5 * np.sin(phi * 150 + 4 * np.sin(depth * 30 + phi * 17))
    else:
        cells = (np.floor(phi * 300) * 7919 + np.floor(depth * 60) * 104729 + scene.seed) % 9973
        fine = np.sin(cells) * 0.5 + 0.5
    shade = np.clip(light * (0.25 + 0.8 * falloff) * (1 - grain + grain * 2 * fine), 0, 1.6)
    return shade[..., None] * np.array(colour, np.float32)[None, None, :]


def _smooth_noise(gen: np.random.Generator, phi: np.ndarray, knots: int) -> np.ndarray:
    """A smooth random function of the clock angle in [0, 1] (a ragged edge)."""
    values = gen.random(knots + 1)
    values[-1] = values[0]
    return np.interp(phi / (2 * np.pi) * knots, np.arange(knots + 1), values)
