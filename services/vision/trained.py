"""A deployment's trained detector: a YOLO-style ONNX model run by OpenCV's DNN module (docs/vision.md,
"Plugging in a trained model").

The model file comes with a sidecar beside it (``model.onnx`` -> ``model.toml``): its version, its input
size, its class names in the model's order, and which EN 13508-2 code each class means (with an optional
score threshold per class; a class mapped to nothing is ignored) and, optionally, its ``[trust]`` table: the
precision per code measured on the city's labelled real frames (``trust.py``). Both are checked when the
worker starts, the model run once on a blank frame: a model that cannot be loaded, or whose output does not
have the contract's shape, is refused with a message saying what is wrong (``ModelRefused``); the worker
never falls back to something else silently.

Per frame: letterboxed to the input size (grey 114 padding, RGB, values / 255), one forward pass, the rows
read in the layout the output's shape says (YOLOv5: ``[1, N, 5 + C]`` with objectness; YOLOv8:
``[1, 4 + C, N]`` without), each box's best class kept if it is mapped and scores at least its threshold,
overlapping boxes of one code suppressed (``cv2.dnn.NMSBoxes``), and each box placed on the pipe around the
vanishing point (``boxes.place``).
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from services.vision.boxes import BOX_CODES, place
from services.vision.detections import Detection
from services.vision.geometry import FrameGeometry
from services.vision.trust import Measurement

PAD_GREY = 114  # the letterbox's padding (Ultralytics' value: what YOLO models are trained with)
LAYOUTS = ("yolov5", "yolov8")


class ModelRefused(ValueError):
    """The trained model or its sidecar does not meet the contract: the vision worker does not start."""


class ClassCode(BaseModel):
    """What one of the model's classes means."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(description="EN 13508-2 main code: BAB, BAA, BBA, BBB, BBC or BBE.")
    score: float | None = Field(None, gt=0, le=1, description="This class's score threshold (default: `score`).")
    characterisation: str = Field("", pattern=r"^[A-Z]?$", description="EN 13508-2 letter (BAB: A, B or C).")

    @field_validator("code")
    @classmethod
    def _placeable(cls, value: str) -> str:
        if value not in BOX_CODES:
            raise ValueError(f"{value!r} is not a code a box can place (one of {', '.join(sorted(BOX_CODES))})")
        return value


class Sidecar(BaseModel):
    """The model's sidecar file (TOML), the half of the contract the ONNX file cannot say."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$", description="The model's own version.")
    input_size: tuple[int, int] = Field(description="The network's input, [width, height] in pixels (or one size).")
    classes: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, description="The model's class names, in the order of its outputs."
    )
    codes: dict[str, ClassCode] = Field(description="Class name -> code (a string) or {code, score, characterisation}.")
    score: float = Field(0.25, gt=0, le=1, description="Score threshold of a class that sets none.")
    iou: float = Field(0.45, gt=0, le=1, description="Boxes of one code overlapping more than this are one.")
    layout: Literal["auto", "yolov5", "yolov8"] = Field("auto", description="The output's layout (auto: its shape).")
    output: str | None = Field(None, description="The detections' output, for a model with several.")
    trust: Measurement | None = Field(
        None, description="Its precision per code on the city's labelled real frames (`tlab bench vision --real`)."
    )

    @field_validator("input_size", mode="before")
    @classmethod
    def _square(cls, value: object) -> object:
        return (value, value) if isinstance(value, int) else value

    @field_validator("input_size")
    @classmethod
    def _sized(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not all(32 <= side <= 4096 for side in value):
            raise ValueError("each side must be 32-4096 pixels")
        return value

    @field_validator("codes", mode="before")
    @classmethod
    def _short_form(cls, value: object) -> object:
        if isinstance(value, dict):
            return {name: {"code": code} if isinstance(code, str) else code for name, code in value.items()}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Sidecar:
        if len(set(self.classes)) != len(self.classes):
            raise ValueError("classes: a class name appears twice")
        unknown = sorted(set(self.codes) - set(self.classes))
        if unknown:
            raise ValueError(f"codes: {', '.join(unknown)} not among the model's classes")
        if not self.codes:
            raise ValueError("codes: no class is mapped to a code (the model would find nothing)")
        return self


@dataclass(frozen=True)
class _Output:
    name: str
    layout: str


class TrainedModel:
    """A loaded, checked model: ``detect`` finds its codes in one frame."""

    def __init__(self, path: Path, sidecar: Sidecar, net: cv2.dnn.Net, output: _Output, sha256: str) -> None:
        self.path, self.sidecar, self.net, self.output, self.sha256 = path, sidecar, net, output, sha256
        self.mapped = [sidecar.codes.get(name) for name in sidecar.classes]
        self.thresholds = np.array([(m.score or sidecar.score) if m else np.inf for m in self.mapped], np.float32)
        self.codes = frozenset(m.code for m in self.mapped if m)

    @property
    def identity(self) -> str:
        """What the observations' model names: the file's SHA-256 prefix and the sidecar's version."""
        return f"onnx-{self.sha256[:12]}@{self.sidecar.version}"

    def detect(self, image: np.ndarray, geometry: FrameGeometry) -> list[Detection]:
        """The model's detections of ``image`` (BGR, the analysed frame) around ``geometry``'s vanishing point."""
        blob, scale, pad = letterbox(image, self.sidecar.input_size)
        self.net.setInput(blob)
        xywh, scores = read_rows(self.net.forward(self.output.name), self.output.layout, len(self.sidecar.classes))
        best = scores.argmax(axis=1)
        score = scores[np.arange(len(best)), best]
        keep = np.isfinite(score) & np.isfinite(xywh).all(axis=1) & (score >= self.thresholds[best])
        keep &= (xywh[:, 2] > 0) & (xywh[:, 3] > 0)
        h, w = image.shape[:2]
        found: list[Detection] = []
        for code in sorted(self.codes):  # overlapping boxes of one code are one thing, whatever class said it
            rows = [int(i) for i in np.flatnonzero(keep) if (m := self.mapped[best[i]]) is not None and m.code == code]
            boxes = {i: _frame_box(xywh[i], scale, pad, w, h) for i in rows}
            rows = [i for i in rows if boxes[i][2] > boxes[i][0] and boxes[i][3] > boxes[i][1]]  # inside the frame
            rects = [(x0, y0, x1 - x0, y1 - y0) for x0, y0, x1, y1 in (boxes[i] for i in rows)]
            kept = cv2.dnn.NMSBoxes(rects, [float(score[i]) for i in rows], 0.0, self.sidecar.iou) if rows else ()
            for i in (rows[k] for k in np.asarray(kept, int).ravel()):
                mapping = self.mapped[best[i]]
                assert mapping is not None
                remark = f"{self.sidecar.classes[best[i]]} ({score[i]:.2f}), trained model {self.sidecar.version}"
                placed = place(code, boxes[i], geometry, float(score[i]), mapping.characterisation, remark)
                if placed is not None:
                    found.append(placed)
        return found


def sidecar_of(path: Path) -> Path:
    return path.with_suffix(".toml")


def load(path: Path) -> TrainedModel:
    """The model at ``path`` with its sidecar, checked against the contract; ``ModelRefused`` says why not."""
    if not path.is_file():
        raise ModelRefused(f"trained model {path}: no such file")
    sidecar = read_sidecar(sidecar_of(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelRefused(f"trained model {path}: cannot be read ({exc.strerror})") from None
    try:
        net = cv2.dnn.readNetFromONNX(np.frombuffer(data, np.uint8))
    except cv2.error as exc:
        raise ModelRefused(f"trained model {path}: OpenCV cannot load it as ONNX ({_cv_message(exc)})") from None
    names = list(net.getUnconnectedOutLayersNames())
    if sidecar.output is None and len(names) != 1:
        raise ModelRefused(f"trained model {path}: it has {len(names)} outputs ({', '.join(names)}): name the "
                           "detections' one in the sidecar's `output`")  # fmt: skip
    name = sidecar.output or names[0]
    if name not in names:
        raise ModelRefused(f"trained model {path}: no output named {name!r} (it has {', '.join(names)})")
    width, height = sidecar.input_size
    try:
        net.setInput(letterbox(np.full((height, width, 3), PAD_GREY, np.uint8), sidecar.input_size)[0])
        shape = tuple(net.forward(name).shape)
    except cv2.error as exc:
        raise ModelRefused(f"trained model {path}: it does not run on a {width}x{height} input ({_cv_message(exc)})"
                           ) from None  # fmt: skip
    layout = output_layout(shape, len(sidecar.classes), sidecar.layout)
    if layout is None:
        c = len(sidecar.classes)
        raise ModelRefused(
            f"trained model {path}: its output {name!r} has shape {list(shape)}; the contract wants [1, N, {5 + c}] "
            f"(YOLOv5: box, objectness, {c} class scores) or [1, {4 + c}, N] (YOLOv8: box, {c} class scores), "
            f"{c} being the sidecar's classes"
        )
    if layout == "ambiguous":
        raise ModelRefused(f"trained model {path}: its output's shape {list(shape)} reads as YOLOv5 and as YOLOv8: "
                           "set the sidecar's `layout`")  # fmt: skip
    return TrainedModel(path, sidecar, net, _Output(name, layout), hashlib.sha256(data).hexdigest())


def read_sidecar(path: Path) -> Sidecar:
    if not path.is_file():
        raise ModelRefused(f"trained model's sidecar {path}: no such file (it sits beside the model, same name, .toml)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ModelRefused(f"trained model's sidecar {path}: not TOML ({exc})") from None
    except OSError as exc:
        raise ModelRefused(f"trained model's sidecar {path}: cannot be read ({exc.strerror})") from None
    try:
        return Sidecar.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'sidecar'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise ModelRefused(f"trained model's sidecar {path}: {problems}") from None


def output_layout(shape: tuple[int, ...], classes: int, declared: str = "auto") -> str | None:
    """ "yolov5", "yolov8", "ambiguous" (both read; the sidecar must say), or None (neither: refused)."""
    if len(shape) != 3 or shape[0] != 1:
        return None
    fits = [layout for layout in LAYOUTS if _fits(shape, classes, layout)]
    if declared != "auto":
        return declared if declared in fits else None
    return fits[0] if len(fits) == 1 else "ambiguous" if fits else None


def _fits(shape: tuple[int, ...], classes: int, layout: str) -> bool:
    return shape[2] == 5 + classes if layout == "yolov5" else shape[1] == 4 + classes


def read_rows(output: np.ndarray, layout: str, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(N x 4 boxes as centre x, centre y, width, height in the input's pixels; N x C class scores)."""
    if output_layout(tuple(output.shape), classes, layout) != layout:
        raise ValueError(f"the model's output has shape {list(output.shape)}, not its {layout} layout")
    rows = output[0] if layout == "yolov5" else output[0].T
    scores = rows[:, 4:]
    if layout == "yolov5":
        scores = rows[:, 5:] * rows[:, 4:5]  # objectness x class score
    return rows[:, :4], scores


def letterbox(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, float, tuple[float, float]]:
    """The network's input blob (1 x 3 x H x W, RGB, / 255), the scale applied and the padding (x, y) added."""
    width, height = size
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    px, py = (width - nw) // 2, (height - nh) // 2
    canvas = np.full((height, width, 3), PAD_GREY, np.uint8)
    canvas[py : py + nh, px : px + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return cv2.dnn.blobFromImage(canvas, 1 / 255, (width, height), swapRB=True), scale, (px, py)


def _frame_box(
    xywh: np.ndarray, scale: float, pad: tuple[float, float], w: int, h: int
) -> tuple[float, float, float, float]:
    """A row's box in the frame's pixels (x0, y0, x1, y1), clipped to the frame."""
    cx, cy, bw, bh = (float(v) for v in xywh)
    x0, x1 = (cx - bw / 2 - pad[0]) / scale, (cx + bw / 2 - pad[0]) / scale
    y0, y1 = (cy - bh / 2 - pad[1]) / scale, (cy + bh / 2 - pad[1]) / scale
    return max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1)


def _cv_message(exc: cv2.error) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:300]
