"""What the camera burned into the frame, not the pipe: text lines, flat panels, dark borders (issue 21, item 2).

Real CCTV footage carries an overlay: date, chainage, pipe id, pressure, in white, yellow, red or green, often
with a dark shadow, in rows at the top and bottom of the frame or in its corners; some footage has it painted
over with flat rectangles (a redacted frame), and a capture card leaves dark bars along the edges. Letters are
thin strokes with dark gaps and a shadow: thin dark lines to the crack detector, a region unlike the wall to the
intrusion detector; a dark panel or border can pass for the far end. The mask marks them so that no detector
looks there.

- **Strokes**: brighter than their 7 px surroundings (a top-hat on the brightest channel, so coloured text counts
  as well as white) by ``STROKE_CONTRAST`` and brighter than ``STROKE_BRIGHT``; in the top and bottom bands
  (``BAND`` of the height, where cameras write) by as little as ``BAND_STROKE_CONTRAST`` (semi-transparent
  text over a grey wall).
- **Lines**: strokes closed along a row into a box ``LINE_HEIGHT_PX`` high, at least ``LINE_ASPECT`` times as
  wide, partly filled, and whose strokes break into at least ``MIN_CHARACTERS`` columns: letters, not the rim
  of a joint or a glint. The box is masked whole, with a ``MARGIN_PX`` margin (the gaps between letters are
  dark lines too).
- **Panels**: in the top or bottom ``PANEL_BAND``, a flat rectangle of one colour (``PANEL_STD`` within 3 px
  at a quarter of the size, ``PANEL_SPREAD`` over the whole panel), neither black nor clipped white, whose
  edge is a step (``PANEL_EDGE``): no wall is that flat and that sharply cut, a render's smooth wall included.
- **Borders**: rows or columns at an edge darker than ``BORDER_DARK`` of the picture next to them.

Measured on the real set's dev split (docs/vision.md, "Frames the vision does not judge").
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

BAND = 0.22  # share of the height, at the top and at the bottom, where cameras write
STROKE_CONTRAST = 60  # 8-bit: a stroke anywhere is this much brighter than its 7 px surroundings...
STROKE_BRIGHT = 170  # ...and this bright
BAND_STROKE_CONTRAST = 22  # in the bands: semi-transparent text over a grey wall
LINE_HEIGHT_PX = (5, 40)  # a text line's height at 640 px wide...
BAND_LINE_HEIGHT_PX = 30  # ...and in the bands, where the threshold is lower (a rough wall's glints are not text)
LINE_ASPECT = 2.5
LINE_MIN_WIDTH_PX = 32  # three characters at least (a row of glints on a rough wall is shorter)
MIN_CHARACTERS = 3  # (4 in the bands, whose threshold is lower)
WORD_GAP = 3  # line heights: a short word this close to a line, on its row, is part of it
MARGIN_PX = 4
BORDER_DARK = 0.6  # a frame's edge row (column) darker than this share of the picture next to it is a bar...
BORDER_MAX_PX = 16  # ...up to this wide
PANEL_SCALE = 4  # panels are looked for at a quarter of the size
PANEL_STD = 2.5  # 8-bit: a panel's colour varies less than this within 3 px at that size...
PANEL_SPREAD = 4.0  # ...and over the whole panel
PANEL_MIN_AREA = 1500  # px at 640 wide (a flat 8x8 JPEG block of a dark wall is not a panel)
PANEL_GREY = (40, 245)  # not black (a far end, a lens's dark corner) nor clipped white (the lamp's glare)
PANEL_BAND = 0.3  # share of the height, top and bottom, where a panel's centre lies (captions stack)
PANEL_EDGE = 60  # 8-bit: its colour differs this much from the ring 8-16 px around it (past its JPEG fringe)
PANEL_FILL = 0.5  # of its bounding box: a rectangle, or two touching (an L)
PANEL_MAX_SHARE = 0.25  # a flat region larger than this is not a panel (a blank frame is a loss of vision)


@dataclass(frozen=True)
class Overlay:
    mask: np.ndarray  # uint8, 1 where the frame shows the camera's overlay (text lines, panels), not the pipe
    text_rows: float  # the share of the frame's rows a line of text crosses (a title card: most of them)


def overlay(image: np.ndarray) -> Overlay:
    """The camera's overlay on ``image`` (BGR, at most 640 px wide as the detectors see it)."""
    h = image.shape[0]
    mask = np.zeros(image.shape[:2], np.uint8)
    rows = np.zeros(h, bool)
    bright = _brightest(image)
    tophat = cv2.morphologyEx(bright, cv2.MORPH_TOPHAT, np.ones((7, 7), np.uint8))
    strong = ((tophat > STROKE_CONTRAST) & (bright > STROKE_BRIGHT)).astype(np.uint8)
    boxes = _lines(strong, (0.12, 0.75), MIN_CHARACTERS)
    # in each band, and a line's height past it: a line whose middle is in the band may reach out of it
    band, reach = int(h * BAND), int(h * BAND) + BAND_LINE_HEIGHT_PX
    for top, bottom in ((0, reach), (max(0, h - reach), h)):
        weak = (tophat[top:bottom] > BAND_STROKE_CONTRAST).astype(np.uint8)
        found = _lines(weak, (0.15, 0.5), MIN_CHARACTERS + 1, BAND_LINE_HEIGHT_PX, 15)
        boxes += [(x, top + y, w, hh) for x, y, w, hh in found if not band <= top + y + hh / 2 <= h - band]
    for x, y, w, hh in boxes:
        _box(mask, x, y, w, hh)
        rows[max(0, y - MARGIN_PX) : y + hh + MARGIN_PX] = True
    if image.ndim == 3:
        mask |= _panels(image)
    _borders(bright, mask)
    return Overlay(mask, float(rows.mean()))


def overlay_mask(image: np.ndarray) -> np.ndarray:
    """uint8, 1 where the frame shows the camera's overlay (text lines, flat panels) rather than the pipe."""
    return overlay(image).mask


def _borders(bright: np.ndarray, mask: np.ndarray) -> None:
    """Marks on ``mask`` the dark bars a capture card leaves along the frame's edges (a row or a few columns
    much darker than the picture next to them: a thin dark line to the crack detector), with a margin."""
    rows, columns = bright.mean(axis=1), bright.mean(axis=0)
    for profile, side in ((rows, "top"), (rows[::-1], "bottom"), (columns, "left"), (columns[::-1], "right")):
        reference = float(np.median(profile[BORDER_MAX_PX : BORDER_MAX_PX + 20]))
        dark = profile[:BORDER_MAX_PX] < BORDER_DARK * reference
        width = int(np.argmin(dark)) if not dark.all() else BORDER_MAX_PX
        if width == 0:
            continue
        width += MARGIN_PX
        if side == "top":
            mask[:width] = 1
        elif side == "bottom":
            mask[-width:] = 1
        elif side == "left":
            mask[:, :width] = 1
        else:
            mask[:, -width:] = 1


def _brightest(image: np.ndarray) -> np.ndarray:
    """Per pixel, its brightest channel: HSV's value (OpenCV's conversion costs a fifth of splitting the
    channels, a fortieth of numpy's max over them)."""
    if image.ndim == 2:
        return image
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2HSV)[..., 2])


def _box(mask: np.ndarray, x: int, y: int, w: int, h: int) -> None:
    mask[max(0, y - MARGIN_PX) : y + h + MARGIN_PX, max(0, x - MARGIN_PX) : x + w + MARGIN_PX] = 1


def _lines(
    strokes: np.ndarray, fill: tuple[float, float], characters: int, tallest: int = LINE_HEIGHT_PX[1], gap: int = 9
) -> list[tuple[int, int, int, int]]:
    """Boxes (x, y, w, h) of the rows of strokes that read as a line of text (letters ``gap`` px apart at most)."""
    if cv2.countNonZero(strokes) < LINE_MIN_WIDTH_PX:
        return []
    closed = cv2.morphologyEx(strokes, cv2.MORPH_CLOSE, np.ones((3, gap), np.uint8))
    _, _, stats, _ = cv2.connectedComponentsWithStats(closed)
    widths, heights = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]
    shaped = (heights >= LINE_HEIGHT_PX[0]) & (heights <= tallest)
    shaped &= widths >= np.maximum(LINE_MIN_WIDTH_PX, LINE_ASPECT * heights)
    found = []
    for x, y, w, h in (tuple(int(v) for v in row[:4]) for row in stats[1:][shaped]):
        inside = strokes[y : y + h, x : x + w]
        columns = np.asarray(inside.any(axis=0), np.int8)
        letters = int((np.diff(columns) == 1).sum()) + int(columns[0])
        if fill[0] <= float(inside.mean()) <= fill[1] and letters >= characters:
            found.append((x, y, w, h))
    return found + _words_beside(stats[1:], found)


def _words_beside(stats: np.ndarray, lines: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Short groups of strokes on a line's row, within ``WORD_GAP`` line heights of it or of a word already
    taken: words and units set apart by spaces ("D:", "4.9bar"), too short to read as a line alone."""
    if not lines:
        return []
    y, h = stats[:, cv2.CC_STAT_TOP], stats[:, cv2.CC_STAT_HEIGHT]
    on_a_row = np.zeros(len(stats), bool)
    for _, ly, _, lh in lines:
        on_a_row |= (y >= ly - lh / 4) & (y + h <= ly + lh * 5 / 4) & (h >= max(LINE_HEIGHT_PX[0], lh / 3))
    taken = list(lines)
    words = [tuple(int(v) for v in row[:4]) for row in stats[on_a_row]]
    grew = True
    while grew:
        grew = False
        for x, wy, w, wh in words:
            if (x, wy, w, wh) in taken:
                continue
            for lx, ly, lw, lh in taken:
                same_row = wy >= ly - lh / 4 and wy + wh <= ly + lh * 5 / 4
                if same_row and x + w >= lx - WORD_GAP * lh and x <= lx + lw + WORD_GAP * lh:
                    taken.append((x, wy, w, wh))
                    grew = True
                    break
    return taken[len(lines) :]


def _panels(image: np.ndarray) -> np.ndarray:
    """uint8, 1 on flat rectangles of one colour (a redaction, a caption's background), with a margin; looked
    for at a quarter of the size (a panel is large; a sixteenth of the pixels tells the same)."""
    h = image.shape[0]
    mask = np.zeros(image.shape[:2], np.uint8)
    band = int(PANEL_BAND * h) // PANEL_SCALE * PANEL_SCALE
    for top in (0, (h - band) // PANEL_SCALE * PANEL_SCALE):
        mask[top : top + band] |= _panels_in(image[top : top + band])
    return mask


def _panels_in(image: np.ndarray) -> np.ndarray:
    """``_panels`` in one band of the frame (a panel's middle is in the band: ``PANEL_BAND``)."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (w // PANEL_SCALE, h // PANEL_SCALE), interpolation=cv2.INTER_AREA)
    pixels = small.astype(np.float32)
    mean = cv2.blur(pixels, (3, 3))
    b, g, r = cv2.split(cv2.blur(pixels * pixels, (3, 3)) - mean * mean)  # per channel: a blue panel's edge
    flat = (cv2.max(cv2.max(b, g), r) < PANEL_STD**2).astype(np.uint8)  # on a wall of its grey is not flat
    mask = np.zeros(image.shape[:2], np.uint8)
    least = PANEL_MIN_AREA / PANEL_SCALE**2
    if cv2.countNonZero(flat) < least:
        return mask
    _, labels, stats, _ = cv2.connectedComponentsWithStats(flat)
    width, height, area = stats[:, 2], stats[:, 3], stats[:, 4]
    box = width * height
    shaped = (area >= least) & (area >= PANEL_FILL * box) & (np.minimum(width, height) >= 16 // PANEL_SCALE)
    shaped &= box <= PANEL_MAX_SHARE * small.shape[1] * small.shape[1] * 3 / 4  # of a 4:3 frame
    shaped[0] = False  # the background
    for label in np.flatnonzero(shaped):
        x, y, bw, bh = (int(v) for v in stats[label, :4])
        inside = small[y : y + bh, x : x + bw][labels[y : y + bh, x : x + bw] == label]
        colour = inside.mean(axis=0)
        one_colour = float(inside.std(axis=0).max()) < PANEL_SPREAD
        if not one_colour or not PANEL_GREY[0] < float(colour.max()) or float(colour.min()) >= PANEL_GREY[1]:
            continue
        # a panel is pasted on the frame: its edge is a step, not the soft edge of a blurred wall's flat patch
        if float(np.abs(_ring_colour(small, x, y, bw, bh) - colour).max()) >= PANEL_EDGE:
            k = PANEL_SCALE
            _box(mask, k * x, k * y, k * bw, k * bh)
    return mask


def _ring_colour(image: np.ndarray, x: int, y: int, w: int, h: int, near: int = 2, far: int = 4) -> np.ndarray:
    """The mean colour between ``near`` and ``far`` px around a box (past the JPEG fringe of its edge)."""

    def total(m: int) -> tuple[np.ndarray, int]:
        part = image[max(0, y - m) : y + h + m, max(0, x - m) : x + w + m]
        return part.reshape(-1, image.shape[2]).sum(axis=0, dtype=np.float64), part.shape[0] * part.shape[1]

    (outer, n_outer), (inner, n_inner) = total(far), total(near)
    return (outer - inner) / max(1, n_outer - n_inner)
