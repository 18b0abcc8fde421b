"""The console's drawings: SVG written on the server and inlined in its pages (no script, no tile server).

Three figures, each a pure function of its inputs that returns an ``<svg>`` string:

- ``bar_chart``: one horizontal bar per value (an experiment's KPIs), with its reference period under it;
- ``point_map``: devices at their positions, projected to Lambert-93 with no basemap (the platform runs
  offline), with a scale bar and a north arrow;
- ``pipe_strip``: a pipe inspection's observations on the unrolled pipe wall, as ITV reports draw it
  (distance along the pipe across, clock position down).

What they promise the pages:

- Texts come from devices and users: every element is written by ``_el``, which escapes every attribute
  value (quotes included), and every text goes through ``_text``; both drop the characters XML cannot hold.
  A link is kept only if it is relative or http(s).
- Accessible: ``role="img"`` and ``aria-labelledby`` naming a ``<title>`` and a ``<desc>`` that says the
  figures in French words, so a screen reader gets the data. A ``role="img"`` hides its children from
  assistive technology, links included: a page that links from a figure lists the same links in text too.
- No colour alone carries a meaning (a shape, a line style or a text says it too) and every colour that
  says something reads on white at WCAG AA (4.5:1).
- Presentation attributes only (``fill=``, ``font-size=``…): the console's Content-Security-Policy refuses
  inline ``style``.
- ``width="100%"`` over a fixed ``viewBox``: the figure scales down on a phone; the page's CSS caps its width.
- The ids inside a figure (its title, its desc, its patterns) start with ``figure_id``, by default a digest
  of the figure's inputs: two different figures on one page never share an id.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from html import escape

from core.french import quantity
from core.geo import Position

INK = "#1a1a1a"  # text: 17.4:1 on white
MUTED = "#595959"  # secondary text, "non mesuré", offline devices, observations without a grade: 7.0:1
FAINT = "#767676"  # rejected and withdrawn observations: 4.54:1, the lightest grey that passes AA
RULE = "#bbbbbb"  # decoration only (grid lines, frames): says nothing
BAR_COLOUR = "#1f5fa8"  # 6.4:1
CHAR_WIDTH = 0.6  # a sans-serif character's mean width, in font sizes: to keep texts inside the figure

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FIGURE_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


# --- shared -------------------------------------------------------------------------------------------


def round_step(span: float, target_ticks: int = 6) -> float:
    """The finest step of the 1-2-5 series (… 0.5, 1, 2, 5, 10, 20 …) that cuts ``span`` into at most
    ``target_ticks`` intervals: 47 -> 10 (5 intervals), 100 -> 20, 3 -> 0.5. A span that is not a positive
    finite number gives 1."""
    if target_ticks < 1:
        raise ValueError(f"target_ticks must be at least 1, not {target_ticks}")
    if not math.isfinite(span) or span <= 0:
        return 1.0
    raw = span / target_ticks
    exponent = math.floor(math.log10(raw))
    for mantissa in (1, 2, 5, 10):
        step = float(f"{mantissa}e{exponent}")  # parsed, not multiplied: 0.2, never 0.20000000000000001
        if step >= raw * (1 - 1e-9):
            return step
    return float(f"1e{exponent + 1}")  # not reached: 10 × 10^exponent > raw


def _text(value: object) -> str:
    """A text from anyone (a device, a user): escaped for XML, quotes included, without the characters XML 1.0
    cannot hold (a control character would make the page's SVG unreadable)."""
    return escape(_XML_INVALID.sub("", str(value)), quote=True)


def _n(value: float) -> str:
    """A coordinate: to the tenth of a pixel, no trailing zero."""
    text = f"{value:.1f}"
    text = text[:-2] if text.endswith(".0") else text
    return "0" if text == "-0" else text


def _el(tag: str, content: str = "", /, **attrs: object) -> str:
    """An SVG element. Attributes in Python spelling (``stroke_width`` -> ``stroke-width``, ``class_`` ->
    ``class``; ``None``: left out), every value escaped, floats to the tenth of a pixel; ``content`` is markup
    already made (``_text``, other ``_el``)."""
    head = tag
    for name, value in attrs.items():
        if value is not None:
            shown = _n(value) if isinstance(value, float) else _text(value)
            head += f' {name.rstrip("_").replace("_", "-")}="{shown}"'
    return f"<{head}>{content}</{tag}>" if content else f"<{head}/>"


def _one_line(label: str) -> str:
    return " ".join(_XML_INVALID.sub("", label).split())


def _short(label: str, limit: int) -> str:
    """``label`` on one line, at most ``limit`` characters, cut with "…"."""
    line = _one_line(label)
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _safe_href(href: str | None) -> str | None:
    """The link, unless it would run something (``javascript:``, ``data:``…): relative or http(s) only."""
    if href is None:
        return None
    cleaned = _XML_INVALID.sub("", href).strip()
    # a browser ignores tabs and line breaks inside a URL ("java\tscript:"): judge the scheme without them
    scheme = _SCHEME.match("".join(cleaned.split()))
    if scheme and scheme.group(1).lower() not in ("http", "https"):
        return None
    return cleaned or None


def _linked(href: str | None, inner: str) -> str:
    safe = _safe_href(href)
    return _el("a", inner, href=safe) if safe else inner


def _figure_id(kind: str, given: str | None, *inputs: object) -> str:
    if given is not None:
        if not _FIGURE_ID.match(given):
            raise ValueError(f"figure_id must be a letter then letters, digits, '-' or '_', not {given!r}")
        return given
    digest = hashlib.sha1(repr(inputs).encode(), usedforsecurity=False).hexdigest()[:10]
    return f"{kind}-{digest}"


def _svg(fid: str, width: float, height: float, title: str, desc: str, body: Iterable[str]) -> str:
    parts = list(body)
    inner = "\n".join(
        [_el("title", _text(title), id=f"{fid}-title"), _el("desc", _text(desc), id=f"{fid}-desc"), *parts]
    )
    # an image hides its children from assistive technology: a figure with links (a map's points, a strip's
    # observations) is a group, so each link is reached and announced (axe: nested-interactive)
    linked = any("<a " in part for part in parts)
    return _el(
        "svg",
        f"\n{inner}\n",
        xmlns="http://www.w3.org/2000/svg",
        role="group" if linked else "img",
        aria_labelledby=f"{fid}-title {fid}-desc",
        viewBox=f"0 0 {_n(width)} {_n(height)}",
        width="100%",
        font_family="system-ui, sans-serif",
        font_size=12,
        fill=INK,
    )


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if abs(n) < 2 else plural}"  # French: 0 and 1 take the singular


def _measured(value: float | None) -> float | None:
    """A value that can be drawn: a finite number (NaN and infinities are not measurements)."""
    return float(value) if value is not None and math.isfinite(value) else None


def _hatch(pattern_id: str, colour: str, size: int) -> str:
    """Diagonal hatches of ``colour`` on white."""
    return _el(
        "pattern",
        _el("rect", width=size, height=size, fill="#fff")
        + _el("line", x1=0, y1=0, x2=0, y2=size, stroke=colour, stroke_width=2),
        id=pattern_id,
        width=size,
        height=size,
        patternUnits="userSpaceOnUse",
        patternTransform="rotate(45)",
    )


def _message(fid: str, width: float, title: str, text: str, desc: str) -> str:
    """A small figure that only says something (nothing to draw)."""
    body = [_el("text", _text(text), class_="message", x=width / 2, y=34, text_anchor="middle", fill=MUTED)]
    return _svg(fid, width, 56, title, desc, body)


# --- bar chart ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One value (``None``: not measured) and, optionally, the same measure over the reference period."""

    label: str
    value: float | None
    baseline: float | None = None


BAR_WIDTH = 640
BAR_MAX = 270  # the longest bar, in px; the width after it holds the values written at the bars' ends
BAR_START = 200  # labels end here (right-aligned), bars start here
_BAR_H, _REF_H, _REF_GAP = 18, 9, 3
_LABEL_CHARS = 26


def bar_chart(title: str, unit: str, bars: Sequence[Bar], *, digits: int = 2, figure_id: str | None = None) -> str:
    """Horizontal bars from 0 to the largest value or baseline, each value written at its bar's end in French
    (``12,5 kWh``, at most ``digits`` decimals); when any bar has a baseline, each row has a thinner hatched
    bar under it, "référence". A value that is ``None`` (or not finite) is written "non mesuré", with no
    bar; a negative one has no bar but its number is written."""
    fid = _figure_id("barres", figure_id, title, unit, tuple(bars), digits)
    if not bars:
        return _message(fid, BAR_WIDTH, title, "Aucune valeur", "Aucune valeur à afficher.")
    with_reference = any(b.baseline is not None for b in bars)
    measured = [v for b in bars for v in (_measured(b.value), _measured(b.baseline)) if v is not None]
    top = max(max(measured, default=0.0), 0.0) or 1.0  # all zero, negative or unmeasured: every bar is empty
    pitch = _BAR_H + (_REF_GAP + _REF_H if with_reference else 0) + 14
    head = 30 if with_reference else 10
    height = head + pitch * len(bars)

    def length(value: float) -> float:
        return max(value, 0.0) / top * BAR_MAX

    hatched = f"url(#{fid}-hatch)"
    body = [_el("defs", _hatch(f"{fid}-hatch", BAR_COLOUR, 6))]
    if with_reference:  # which bar is which
        x = BAR_START
        body.append(
            _el(
                "g",
                _el("rect", x=x, y=8, width=16, height=12, fill=BAR_COLOUR)
                + _el("text", "période", x=x + 22, y=18)
                + _el("rect", x=x + 90, y=10, width=16, height=8, fill=hatched, stroke=BAR_COLOUR)
                + _el("text", "référence", x=x + 112, y=18),
                class_="legend",
            )
        )
    said = []
    for i, bar in enumerate(bars):
        y = head + i * pitch
        value, baseline = _measured(bar.value), _measured(bar.baseline)
        label = _short(bar.label, _LABEL_CHARS)
        tooltip = _el("title", _text(_one_line(bar.label))) if label != _one_line(bar.label) else ""
        row = [_el("text", tooltip + _text(label), class_="label", x=BAR_START - 8, y=y + 13, text_anchor="end")]
        if value is None:
            spoken = "non mesuré"
            row.append(_el("text", spoken, class_="value", x=BAR_START + 4, y=y + 13, fill=MUTED, font_style="italic"))
        else:
            w = length(value)
            spoken = quantity(value, unit, digits)
            row.append(_el("rect", class_="bar", x=BAR_START, y=y, width=w, height=_BAR_H, fill=BAR_COLOUR))
            row.append(_el("text", _text(spoken), class_="value", x=BAR_START + w + 6, y=y + 13))
        if with_reference:
            ry = y + _BAR_H + _REF_GAP
            if baseline is None:
                spoken = f"période {spoken}, référence non mesurée"
                row.append(
                    _el(
                        "text",
                        "référence non mesurée",
                        class_="reference-value",
                        x=BAR_START + 4,
                        y=ry + 8,
                        font_size=11,
                        fill=MUTED,
                        font_style="italic",
                    )
                )
            else:
                w = length(baseline)
                reference = quantity(baseline, unit, digits)
                spoken = f"période {spoken}, référence {reference}"
                row.append(
                    _el(
                        "rect",
                        class_="reference",
                        x=BAR_START,
                        y=ry,
                        width=w,
                        height=_REF_H,
                        fill=hatched,
                        stroke=BAR_COLOUR,
                    )
                )
                row.append(
                    _el(
                        "text",
                        _text(f"référence : {reference}"),
                        class_="reference-value",
                        x=BAR_START + w + 6,
                        y=ry + 8,
                        font_size=11,
                    )
                )
        body.append(_el("g", "".join(row), class_="row"))
        said.append(f"{_one_line(bar.label)} : {spoken}.")
    body.append(_el("line", class_="axis", x1=BAR_START, y1=head - 4, x2=BAR_START, y2=height - 6, stroke=MUTED))
    unit_said = f" (unité : {unit})" if unit else ""
    desc = f"Diagramme en barres, {_count(len(bars), 'valeur', 'valeurs')}{unit_said}. " + " ".join(said)
    return _svg(fid, BAR_WIDTH, height, title, desc, body)


# --- map ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapPoint:
    """A device where it stands; ``state`` is a key of ``MAP_STATES`` (anything else is shown as "inconnu")."""

    id: str
    lat: float
    lon: float
    label: str
    state: str
    href: str | None = None


@dataclass(frozen=True)
class _Look:
    legend: str  # what the legend says
    said: str  # and the desc, in a sentence
    colour: str
    shape: str


# each state's colour and shape, in drawing order: an alert is drawn last, above the others
MAP_STATES: dict[str, _Look] = {
    "ok": _Look("OK", "OK", "#1b7a36", "circle"),  # 5.4:1
    "inconnu": _Look("État inconnu", "état inconnu", "#6d28d9", "diamond"),  # 7.1:1
    "hors_ligne": _Look("Hors ligne", "hors ligne", MUTED, "square"),
    "alerte": _Look("En alerte", "en alerte", "#b91c1c", "triangle"),  # 6.5:1
}
_LEGEND_ORDER = ("ok", "alerte", "hors_ligne", "inconnu")
MIN_EXTENT_M = 200.0  # a map shows at least this much ground: around a single point, or points very close
_LABEL_LIMIT = 24
_FRAME = 10  # the frame's distance to the figure's edges
_LEGEND_H = 26  # under the frame
_INSET = (30, 40, 40, 44)  # the points' area inside the frame: left, top, right (north arrow), bottom (scale)


def _marker(shape: str, colour: str) -> str:
    """A marker centred on (0, 0), about 15 px across, outlined in white to stand out where markers meet."""
    paint = {"class_": "marker", "fill": colour, "stroke": "#fff", "stroke_width": 1.5}
    if shape == "triangle":
        return _el("polygon", points="0,-8 7.5,5.5 -7.5,5.5", **paint)
    if shape == "square":
        return _el("rect", x=-6, y=-6, width=12, height=12, **paint)
    if shape == "diamond":
        return _el("polygon", points="0,-8 8,0 0,8 -8,0", **paint)
    return _el("circle", r=7, **paint)


def _distance(metres: float) -> str:
    """``850 m``, ``1,2 km``: how far, the way a map's reader says it."""
    return quantity(metres / 1000, "km", 2) if metres >= 1000 else quantity(metres, "m", 0)


def _names(points: Sequence[MapPoint], limit: int = 20) -> str:
    names = [_one_line(p.label) or _one_line(p.id) for p in points]
    more = len(names) - limit
    return ", ".join(names[:limit]) + (f" et {_count(more, 'autre', 'autres')}" if more > 0 else "")


def _state(state: str) -> str:
    return state if state in MAP_STATES else "inconnu"


def point_map(
    title: str,
    points: Sequence[MapPoint],
    *,
    width: int = 640,
    height: int = 420,
    figure_id: str | None = None,
    names: Mapping[str, str] | None = None,
) -> str:
    """The points in Lambert-93 (the same scale across and down: metres are metres; north up), fitted to the
    figure with a margin, at least ``MIN_EXTENT_M`` across; each a marker whose colour and shape say its state,
    with its label (cut at 24 characters) and its link. A point outside metropolitan France is not drawn,
    only counted in the desc; with none to draw, the figure says "Aucune position connue"."""
    # the states as this map's readers say them ("en ligne" for a device, "enlevé" for a dump), same colours
    looks = {k: _Look(names[k], names[k].lower(), v.colour, v.shape) if names and k in names else v
             for k, v in MAP_STATES.items()}  # fmt: skip
    if width < 240 or height < 200:
        raise ValueError(f"a map needs at least 240 × 200 px, not {width} × {height}")
    fid = _figure_id("carte", figure_id, title, tuple(points), width, height)
    placed: list[tuple[MapPoint, float, float]] = []
    for point in points:
        xy = Position(float(point.lat), float(point.lon)).lambert93
        if xy is not None:
            placed.append((point, *xy))
    outside = len(points) - len(placed)
    not_drawn = (
        f" {_count(outside, 'appareil', 'appareils')} hors de France métropolitaine non "
        f"{'dessiné' if outside < 2 else 'dessinés'}."
        if outside
        else ""
    )
    if not placed:
        return _message(fid, width, title, "Aucune position connue", f"Aucune position connue.{not_drawn}")

    xs, ys = [x for _, x, _ in placed], [y for _, _, y in placed]
    centre_x, centre_y = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    span_x, span_y = max(max(xs) - min(xs), MIN_EXTENT_M), max(max(ys) - min(ys), MIN_EXTENT_M)
    frame_w, frame_h = width - 2 * _FRAME, height - 2 * _FRAME - _LEGEND_H
    left, top, right, bottom = _INSET
    area_w, area_h = frame_w - left - right, frame_h - top - bottom
    scale = min(area_w / span_x, area_h / span_y)  # pixels per metre, the same across and down
    mid_x, mid_y = _FRAME + left + area_w / 2, _FRAME + top + area_h / 2

    body = [_el("rect", class_="frame", x=_FRAME, y=_FRAME, width=frame_w, height=frame_h, fill="#fff", stroke=RULE)]
    order = list(MAP_STATES)
    for point, x, y in sorted(placed, key=lambda p: order.index(_state(p[0].state))):
        state = _state(point.state)
        look = looks[state]
        px, py = mid_x + (x - centre_x) * scale, mid_y - (y - centre_y) * scale  # y grows downwards: north up
        east = px > mid_x  # a label goes towards the middle, so it stays inside the figure
        label = _el(
            "text",
            _text(_short(point.label, _LABEL_LIMIT) or _short(point.id, _LABEL_LIMIT)),
            x=-11 if east else 11,
            y=4,
            text_anchor="end" if east else "start",
            stroke="#fff",
            stroke_width=3,
            paint_order="stroke",
        )
        tooltip = _el("title", _text(f"{_one_line(point.label)} ({_one_line(point.id)}) : {look.said}"))
        inner = tooltip + _marker(look.shape, look.colour) + label
        body.append(
            _linked(
                point.href, _el("g", inner, class_="point", data_state=state, transform=f"translate({_n(px)} {_n(py)})")
            )
        )

    # the scale bar: a round length, between an eighth and about a third of the points' area
    bar_m = round_step(area_w / scale, 8)
    bar_px = bar_m * scale
    sx, sy = _FRAME + 14, _FRAME + frame_h - 16
    body.append(
        _el(
            "g",
            _el("rect", x=sx, y=sy, width=bar_px, height=4, fill=INK)
            + _el("line", x1=sx, y1=sy - 4, x2=sx, y2=sy + 8, stroke=INK)
            + _el("line", x1=sx + bar_px, y1=sy - 4, x2=sx + bar_px, y2=sy + 8, stroke=INK)
            + _el("text", _text(_distance(bar_m)), x=sx + bar_px + 6, y=sy + 5),
            class_="scale-bar",
        )
    )
    body.append(
        _el(
            "g",
            _el("polygon", points="0,-8 6,10 0,5 -6,10", fill=INK)
            + _el("text", "N", x=0, y=24, text_anchor="middle", font_weight="bold"),
            class_="north",
            transform=f"translate({_FRAME + frame_w - 22} {_FRAME + 20})",
        )
    )
    states = [s for s in _LEGEND_ORDER if any(_state(p.state) == s for p, _, _ in placed)]
    legend, lx, ly = [], float(_FRAME + 8), height - _FRAME - 8
    for state in states:
        look = looks[state]
        legend.append(_el("g", _marker(look.shape, look.colour), transform=f"translate({_n(lx)} {ly - 4})"))
        legend.append(_el("text", _text(look.legend), x=lx + 12, y=ly))
        lx += 12 + len(look.legend) * 12 * CHAR_WIDTH + 22
    body.append(_el("g", "".join(legend), class_="legend"))

    by_state = {s: [p for p, _, _ in placed if _state(p.state) == s] for s in states}
    counts = ", ".join(f"{len(by_state[s])} {looks[s].said}" for s in states)
    lists = " ".join(f"{looks[s].legend} : {_names(by_state[s])}." for s in states)
    extent = (
        f" Ils s'étendent sur {_distance(max(xs) - min(xs))} d'ouest en est et {_distance(max(ys) - min(ys))} "
        "du sud au nord."
        if len(placed) > 1
        else ""
    )
    drawn = _count(len(placed), "appareil dessiné", "appareils dessinés")
    desc = (
        f"Carte sans fond de plan, nord en haut, {drawn} : {counts}. {lists}{extent} "
        f"Barre d'échelle : {_distance(bar_m)}.{not_drawn}"
    )
    return _svg(fid, width, height, title, desc, body)


# --- pipe strip ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StripMark:
    """An observation along the pipe. ``clock_from``/``clock_to``: its clock positions (12 at the top, the
    range clockwise: 10 to 2 crosses 12); one of them, or both equal: a point at that hour; both ``None``: no
    clock position (a water level, a loss of vision: drawn across the whole wall). ``state``: a key of
    ``STRIP_STATES`` or the vision's standing (``STANDING_STATES``). ``finish_m``: a continuous defect's
    finish chainage (``None``: a defect at one place)."""

    chainage_m: float
    clock_from: int | None
    clock_to: int | None
    code: str
    grade: int | None
    state: str
    href: str | None = None
    finish_m: float | None = None


@dataclass(frozen=True)
class _Stroke:
    legend: str
    hatched: bool  # filled with hatches of the grade's colour
    filled: bool  # filled solid
    dash: str | None
    grey: bool  # drawn in grey whatever the grade


STRIP_STATES: dict[str, _Stroke] = {
    "automatique": _Stroke("automatique", True, False, None, False),
    "suggérée": _Stroke("suggérée, à vérifier", False, False, None, False),
    "confirmée": _Stroke("confirmée", False, True, None, False),
    "rejetée": _Stroke("rejetée", False, False, "5 3", True),
    "retirée": _Stroke("retirée", False, False, "1.5 2.5", True),
}
# the vision's standing (services/vision/review.py ``standing``) as a strip state
STANDING_STATES = {
    "trusted": "automatique",
    "suggested": "suggérée",
    "confirmed": "confirmée",
    "rejected": "rejetée",
    "withdrawn": "retirée",
}
GRADE_COLOURS = {1: "#2e7d32", 2: "#5c7a00", 3: "#8a6100", 4: "#c2410c", 5: "#b91c1c"}  # 4.9:1 to 6.5:1
STRIP_HEIGHT = 240  # the wall, 12 h to 12 h, in px
STRIP_TOP = 24
STRIP_LEFT, STRIP_RIGHT = 48, 20  # the distance axis runs from x = STRIP_LEFT to width - STRIP_RIGHT
_MARK_W = 8
_POINT_H = 0.25  # a single clock position is drawn a quarter of an hour either side
_CODE_SIZE = 11


def _strip_state(state: str) -> str:
    """A strip state from either vocabulary; an unknown one is shown as a suggestion to verify."""
    state = STANDING_STATES.get(state, state)
    return state if state in STRIP_STATES else "suggérée"


def _hour(clock: int | None) -> int | None:
    """A clock position in 0..11 (12 is 0), or None when there is none or it is not one."""
    return clock % 12 if clock is not None and 0 <= clock <= 12 else None


def clock_pieces(clock_from: int | None, clock_to: int | None) -> list[tuple[float, float]] | None:
    """The spans of the unrolled wall an observation covers, in hours down from 12 at the top (0 to 12), in
    order: 3 to 9 -> [(3, 9)]; 10 to 2 -> [(0, 2), (10, 12)]; 3 alone -> [(2.75, 3.25)]. None: no clock
    position. The vision writes a defect all round as 12 to 11 (every hour: services/vision/boxes.py), so any
    range of 11 hours is drawn all round, [(0, 12)]."""
    start, end = _hour(clock_from), _hour(clock_to)
    if start is None and end is None:
        return None
    if start is None or end is None or start == end:
        at = start if start is not None else end
        assert at is not None
        low, high = at - _POINT_H, at + _POINT_H
    elif (end - start) % 12 == 11:
        return [(0.0, 12.0)]
    else:
        low, high = float(start), float(end if end > start else end + 12)
    pieces = []
    for shift in (-12, 0, 12):
        a, b = max(low + shift, 0.0), min(high + shift, 12.0)
        if b > a:
            pieces.append((a, b))
    return sorted(pieces)


def _clock_said(mark: StripMark, pieces: list[tuple[float, float]] | None) -> str:
    if pieces is None:
        return "sans position horaire"
    if pieces == [(0.0, 12.0)]:
        return "tout le tour"
    start, end = _hour(mark.clock_from), _hour(mark.clock_to)
    if start is None or end is None or start == end:
        return f"à {(start if start is not None else end) or 12} h"
    return f"de {start or 12} h à {end or 12} h"


def pipe_strip(
    title: str, length_m: float, observations: Sequence[StripMark], *, width: int = 640, figure_id: str | None = None
) -> str:
    """The pipe wall unrolled: distance along the pipe across (ticks at round metres), clock position down
    (12 h at the top, 3 h at a quarter, 6 h at the middle, 9 h, 12 h at the bottom). Each observation is a mark
    at its chainage (over to ``finish_m``) and its clock span (a range across 12 h in two pieces; no clock:
    the whole height), coloured by grade with its code and grade written beside it, its fill or line saying
    its state (hatched: automatic; outlined: a suggestion; solid: confirmed; grey dashed: rejected; grey
    dotted: withdrawn). An observation past ``length_m`` extends the axis, drawn dashed past the pipe's end;
    a length of 0 (not known) draws the axis to the furthest observation."""
    if width < 320:
        raise ValueError(f"a strip needs at least 320 px across, not {width}")
    fid = _figure_id("bande", figure_id, title, length_m, tuple(observations), width)
    length = max(_measured(length_m) or 0.0, 0.0)
    # chainages as floats (a database's numeric comes as a Decimal), the marks that have one in order along the pipe
    placed = sorted(
        (
            replace(o, chainage_m=float(o.chainage_m), finish_m=_measured(o.finish_m))
            for o in observations
            if _measured(o.chainage_m) is not None
        ),
        key=lambda o: o.chainage_m,
    )
    reaches = [c for o in placed for c in (o.chainage_m, _measured(o.finish_m)) if c is not None]
    axis_start, axis_end = min([0.0, *reaches]), max([length, *reaches])
    if axis_end <= axis_start:
        axis_end = axis_start + 1.0
    x0, x1 = STRIP_LEFT, width - STRIP_RIGHT
    y0, y1 = STRIP_TOP, STRIP_TOP + STRIP_HEIGHT

    def at_x(chainage: float) -> float:
        return x0 + (chainage - axis_start) / (axis_end - axis_start) * (x1 - x0)

    def at_y(hours: float) -> float:
        return y0 + hours / 12 * STRIP_HEIGHT

    colours = sorted({GRADE_COLOURS[o.grade] for o in placed if o.grade in GRADE_COLOURS} | {MUTED})
    body = [_el("defs", "".join(_hatch(f"{fid}-hatch-{c[1:]}", c, 4) for c in colours))]
    # the wall: along the pipe's length solid; an axis extended past its end, dashed
    pipe_end = at_x(length) if length > 0 else x1
    body.append(
        _el("rect", class_="wall", x=x0, y=y0, width=pipe_end - x0, height=STRIP_HEIGHT, fill="#f4f4f4", stroke=MUTED)
    )
    if pipe_end < x1:
        body.append(
            _el(
                "rect",
                class_="beyond",
                x=pipe_end,
                y=y0,
                width=x1 - pipe_end,
                height=STRIP_HEIGHT,
                fill="#fff",
                stroke=MUTED,
                stroke_dasharray="4 3",
            )
        )
        end_said = _text(f"fin : {quantity(length, 'm')}")
        body.append(_el("text", end_said, x=pipe_end, y=y0 - 6, text_anchor="end", font_size=11, fill=MUTED))
    for hours in (3, 6, 9):
        body.append(_el("line", x1=x0, y1=at_y(hours), x2=x1, y2=at_y(hours), stroke=RULE, stroke_dasharray="2 3"))
    for hours in (0, 3, 6, 9, 12):
        body.append(
            _el("text", f"{hours or 12} h", class_="clock", x=x0 - 6, y=at_y(hours) + 4, text_anchor="end", fill=MUTED)
        )
    step = round_step(axis_end - axis_start, max(2, (x1 - x0) // 70))
    digits = max(0, -math.floor(math.log10(step)))
    ticks = []
    for k in range(math.ceil(axis_start / step - 1e-9), math.floor(axis_end / step + 1e-9) + 1):
        tx = at_x(k * step)
        ticks.append(_el("line", x1=tx, y1=y1, x2=tx, y2=y1 + 6, stroke=MUTED))
        ticks.append(_el("text", _text(quantity(k * step, "m", digits)), x=tx, y=y1 + 20, text_anchor="middle"))
    body.append(_el("g", "".join(ticks), class_="ticks"))

    taken: list[tuple[float, float, float]] = []  # the captions placed: left, right, baseline
    captions = []
    said = []
    for mark in placed:
        name = _strip_state(mark.state)
        state = STRIP_STATES[name]
        grade = mark.grade if mark.grade in GRADE_COLOURS else None
        colour = FAINT if state.grey else GRADE_COLOURS[grade] if grade is not None else MUTED
        finish = _measured(mark.finish_m)
        start_m, end_m = sorted((mark.chainage_m, finish if finish is not None else mark.chainage_m))
        left, right = at_x(start_m), at_x(end_m)
        if right - left < _MARK_W:  # at one place (or nearly): a mark of its own width, centred there
            left, right = (left + right - _MARK_W) / 2, (left + right + _MARK_W) / 2
        pieces = clock_pieces(mark.clock_from, mark.clock_to)
        fill = f"url(#{fid}-hatch-{colour[1:]})" if state.hatched else colour if state.filled else "#fff"
        shapes = []
        if pieces is None and end_m == start_m:  # no clock position, at one place: a thin line, the whole height
            shapes.append(
                _el(
                    "rect",
                    class_="piece",
                    x=(left + right) / 2 - 1.5,
                    y=y0,
                    width=3.0,
                    height=float(STRIP_HEIGHT),
                    fill=colour if state.filled or state.hatched else "#fff",
                    stroke=colour,
                    stroke_dasharray=state.dash,
                )
            )
        else:
            for a, b in pieces or [(0.0, 12.0)]:
                shapes.append(
                    _el(
                        "rect",
                        class_="piece",
                        x=left,
                        y=at_y(a),
                        width=right - left,
                        height=at_y(b) - at_y(a),
                        fill=fill,
                        stroke=colour,
                        stroke_width=1.5,
                        stroke_dasharray=state.dash,
                    )
                )
        caption = f"{_short(mark.code, 8)} {grade}" if grade is not None else _short(mark.code, 8)
        caption_w = len(caption) * _CODE_SIZE * CHAR_WIDTH
        to_left = right + 3 + caption_w > x1  # near the axis' end: the caption goes before the mark
        tx = left - 3 if to_left else right + 3
        span = (tx - caption_w, tx) if to_left else (tx, tx + caption_w)
        wanted = at_y(pieces[0][0]) + 12 if pieces else y0 + 14
        ty = _free_line(wanted, span, taken, y0 + _CODE_SIZE, y1 - 2)
        taken.append((*span, ty))
        where = (
            f"De {quantity(start_m, 'm')} à {quantity(end_m, 'm')}"
            if end_m > start_m
            else f"À {quantity(start_m, 'm')}"
        )
        graded = f"grade {grade}" if grade is not None else "sans grade"
        spoken = f"{where} : {_one_line(mark.code)}, {graded}, {_clock_said(mark, pieces)}, {state.legend}."
        text = _el(
            "text",
            _text(caption),
            class_="caption",
            x=tx,
            y=ty,
            font_size=_CODE_SIZE,
            fill=colour,
            text_anchor="end" if to_left else "start",
            stroke="#fff",
            stroke_width=3,
            paint_order="stroke",
        )
        inner = _el("title", _text(spoken)) + "".join(shapes)
        body.append(_linked(mark.href, _el("g", inner, class_="mark", data_state=name)))
        captions.append(_linked(mark.href, text))
        said.append(spoken)
    body.append(_el("g", "".join(captions), class_="captions"))  # above every mark, so none hides a caption
    if not placed:
        body.append(_el("text", "Aucune observation", x=(x0 + x1) / 2, y=at_y(6) + 4, text_anchor="middle", fill=MUTED))

    height = y1 + 34
    states = [s for s in STRIP_STATES if any(_strip_state(o.state) == s for o in placed)]
    grades = sorted(
        {o.grade for o in placed if o.grade in GRADE_COLOURS and not STRIP_STATES[_strip_state(o.state)].grey}
    )
    if states:
        body.append(_strip_legend(fid, states, grades, height))
        height += 48 if grades else 24

    beyond = sum(1 for o in placed if length > 0 and max(o.chainage_m, _measured(o.finish_m) or 0.0) > length)
    unplaced = len(observations) - len(placed)
    counted = _count(len(observations), "observation", "observations")
    measured = f"longueur {quantity(length, 'm')}" if length > 0 else "longueur non renseignée"
    facts = [f"Conduite déroulée, 12 h en haut et en bas, 6 h au milieu, {measured}, {counted}."]
    if beyond:
        past = _count(beyond, "observation au-delà", "observations au-delà")
        facts.append(f"{past} de cette longueur : l'axe va jusqu'à {quantity(axis_end, 'm')}.")
    if unplaced:
        facts.append(
            _count(unplaced, "observation sans distance, non dessinée.", "observations sans distance, non dessinées.")
        )
    return _svg(fid, width, height, title, " ".join(facts + said), body)


def _free_line(
    wanted: float, span: tuple[float, float], taken: list[tuple[float, float, float]], low: float, high: float
) -> float:
    """A baseline near ``wanted``, between ``low`` and ``high``, where a caption over ``span`` overlaps none
    placed before (else ``wanted``: a crowded strip overlaps rather than hides)."""
    for shift in (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6):
        y = min(max(wanted + shift * (_CODE_SIZE + 2), low), high)
        if all(span[1] <= a or span[0] >= b or abs(y - ty) >= _CODE_SIZE + 1 for a, b, ty in taken):
            return y
    return min(max(wanted, low), high)


def _strip_legend(fid: str, states: list[str], grades: list[int], top: float) -> str:
    """A sample of each state drawn, then the grades' colours, each with its number."""
    parts, x = [], float(STRIP_LEFT)
    for name in states:
        state = STRIP_STATES[name]
        colour = FAINT if state.grey else MUTED
        fill = f"url(#{fid}-hatch-{MUTED[1:]})" if state.hatched else colour if state.filled else "#fff"
        parts.append(
            _el(
                "rect",
                x=x,
                y=top - 10,
                width=14,
                height=12,
                fill=fill,
                stroke=colour,
                stroke_width=1.5,
                stroke_dasharray=state.dash,
            )
        )
        parts.append(_el("text", _text(state.legend), x=x + 19, y=top, font_size=11))
        x += 19 + len(state.legend) * 11 * CHAR_WIDTH + 14
    if grades:
        x, y = float(STRIP_LEFT), top + 24
        parts.append(_el("text", "Gravité :", x=x, y=y, font_size=11))
        x += 50
        for grade in grades:
            colour = GRADE_COLOURS[grade]
            parts.append(_el("rect", x=x, y=y - 10, width=14, height=12, fill=colour))
            parts.append(_el("text", str(grade), x=x + 18, y=y, font_size=11, fill=colour))
            x += 34
    return _el("g", "".join(parts), class_="legend")
