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
from dataclasses import dataclass, field

import cv2
import numpy as np

WIDTH, HEIGHT = 640, 480
FOCAL_PX = 368.0  # a ~82 degree horizontal field of view at 640 px: the drone's camera (docs/vision.md)
NEAR_RING_M = (0.5, 1.5)  # the distances ahead analysed in each frame
NEAR_RING_MEAN_M = 1.0


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

    @property
    def end(self) -> float:
        return self.chainage_end_m if self.chainage_end_m is not None else self.chainage_start_m


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


def visible(defect: Defect, conditions: Conditions) -> bool:
    """Whether any of a wall defect's clock range is above the water (what is under it cannot be seen)."""
    h = max(0.0, min(0.99, conditions.water_level_pct / 100))
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
