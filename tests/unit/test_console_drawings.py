"""The console's SVG drawings (services/console/drawings.py): well-formed, accessible, escaped, and drawn where
the numbers say."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from pyproj import Transformer

from core.french import NNBSP
from services.console import drawings
from services.console.drawings import (
    BAR_MAX,
    GRADE_COLOURS,
    MAP_STATES,
    Bar,
    MapPoint,
    StripMark,
    bar_chart,
    clock_pieces,
    pipe_strip,
    point_map,
    round_step,
)

SVG = "{http://www.w3.org/2000/svg}"
NS = {"s": SVG[1:-1]}
HOSTILE = "<script>alert(1)</script>"
BETHUNE = (50.5297, 2.6406)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything that is not well-formed XML


def find(root: ET.Element, path: str) -> list[ET.Element]:
    return root.findall(path, NS)


def one(root: ET.Element, path: str) -> ET.Element:
    found = find(root, path)
    assert len(found) == 1, f"{path}: {len(found)} elements"
    return found[0]


def desc(root: ET.Element) -> str:
    return one(root, "s:desc").text or ""


def shown(text: ET.Element) -> str:
    """What a ``<text>`` shows: its own characters, not its tooltip's."""
    return (text.text or "") + "".join(child.tail or "" for child in text)


def texts(root: ET.Element) -> list[str]:
    return [shown(t) for t in root.iter(f"{SVG}text")]


def f(element: ET.Element, name: str) -> float:
    return float(element.attrib[name])


def translate(element: ET.Element) -> tuple[float, float]:
    found = re.fullmatch(r"translate\(([-\d.]+) ([-\d.]+)\)", element.attrib["transform"])
    assert found, element.attrib["transform"]
    return float(found[1]), float(found[2])


def contrast_on_white(colour: str) -> float:
    """WCAG 2's contrast ratio of ``#rrggbb`` against white."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


# --- round_step ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "ticks", "step"),
    [(47, 6, 10), (100, 6, 20), (3, 6, 0.5), (1, 6, 0.2), (60, 6, 10), (12000, 6, 2000), (0.05, 5, 0.01),
     (4.5, 8, 1), (0, 6, 1), (-5, 6, 1), (math.nan, 6, 1), (math.inf, 6, 1)],
)  # fmt: skip
def test_round_step_takes_the_finest_1_2_5_step_that_fits(span: float, ticks: int, step: float) -> None:
    assert round_step(span, ticks) == step


@pytest.mark.parametrize("span", [0.013, 0.7, 1, 9.99, 10, 10.01, 33, 47.3, 999, 1000, 1234.5, 7e5])
@pytest.mark.parametrize("ticks", [1, 4, 6, 8])
def test_round_step_is_in_the_series_and_no_finer_one_would_do(span: float, ticks: int) -> None:
    step = round_step(span, ticks)
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert min(abs(mantissa - m) for m in (1, 2, 5)) < 1e-9
    assert span / step <= ticks * (1 + 1e-9)  # at most ``ticks`` intervals
    finer = {1: 0.5, 2: 0.5, 5: 0.4}[round(mantissa)] * step  # the series' previous step
    assert span / finer > ticks


def test_round_step_wants_at_least_one_interval() -> None:
    with pytest.raises(ValueError, match="target_ticks"):
        round_step(10, 0)


# --- what every figure promises -----------------------------------------------------------------------

FIGURES: dict[str, Callable[[], str]] = {
    "barres": lambda: bar_chart("KPI", "kWh", [Bar("Eau", 12.5, 10), Bar("Gaz", None)]),
    "barres vides": lambda: bar_chart("KPI", "kWh", []),
    "carte": lambda: point_map(
        "Appareils", [MapPoint("a", *BETHUNE, "A", "ok", "/a"), MapPoint("b", 50.54, 2.65, "B", "alerte", None)]
    ),
    "carte vide": lambda: point_map("Appareils", [MapPoint("nyc", 40.7, -74.0, "New York", "ok", None)]),
    "bande": lambda: pipe_strip(
        "BET-7",
        30,
        [StripMark(3, 10, 2, "BAB", 4, "confirmée", "/o/1"), StripMark(9, None, None, "BDD", None, "trusted", None)],
    ),
    "bande vide": lambda: pipe_strip("BET-7", 0, []),
}


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_is_an_accessible_image_named_by_its_title_and_desc(name: str) -> None:
    svg = FIGURES[name]()
    root = parse(svg)
    linked = root.find(".//s:a", NS) is not None
    # an image hides its children from screen readers: with links inside it is a group (axe: nested-interactive)
    assert root.tag == f"{SVG}svg" and root.attrib["role"] == ("group" if linked else "img")
    assert root.attrib["width"] == "100%" and re.fullmatch(r"0 0 \d+ \d+", root.attrib["viewBox"])
    title_id, desc_id = root.attrib["aria-labelledby"].split()
    assert one(root, "s:title").attrib["id"] == title_id and one(root, "s:title").text
    assert one(root, "s:desc").attrib["id"] == desc_id and len(desc(root)) > 10
    ids = [e.attrib["id"] for e in root.iter() if "id" in e.attrib]
    assert len(ids) == len(set(ids))
    # the console's Content-Security-Policy refuses inline style: presentation attributes only
    assert not any(e.tag == f"{SVG}style" or "style" in e.attrib for e in root.iter())


@pytest.mark.parametrize("name", FIGURES)
def test_what_a_figure_writes_reads_on_white_at_wcag_aa(name: str) -> None:
    root = parse(FIGURES[name]())
    inherited = root.attrib["fill"]
    for text in root.iter(f"{SVG}text"):
        assert contrast_on_white(text.attrib.get("fill", inherited)) >= 4.5, ET.tostring(text)


def test_the_colours_that_say_something_read_on_white_and_differ() -> None:
    states = [look.colour for look in MAP_STATES.values()]
    grades = list(GRADE_COLOURS.values())
    for colour in [*states, *grades, drawings.BAR_COLOUR, drawings.MUTED, drawings.FAINT, drawings.INK]:
        assert contrast_on_white(colour) >= 4.5, colour
    assert len(set(states)) == len(states) and len(set(grades)) == len(grades)
    greens = [int(GRADE_COLOURS[g][3:5], 16) for g in range(1, 6)]
    assert greens == sorted(greens, reverse=True) and len(set(greens)) == 5  # from green (1) to red (5)


def test_a_databases_decimals_are_drawn_like_floats() -> None:
    """psycopg reads a numeric column as a Decimal."""

    def d(text: str) -> Any:  # what the annotations say is a float
        return Decimal(text)

    assert bar_chart("K", "m", [Bar("x", d("1.5"), d("2"))], figure_id="f") == bar_chart(
        "K", "m", [Bar("x", 1.5, 2.0)], figure_id="f"
    )
    assert point_map("C", [MapPoint("x", d("50.53"), d("2.64"), "x", "ok")], figure_id="f") == point_map(
        "C", [MapPoint("x", 50.53, 2.64, "x", "ok")], figure_id="f"
    )
    decimals = [StripMark(d("3.5"), 3, 9, "BAB", 2, "confirmée", None, d("5"))]
    floats = [StripMark(3.5, 3, 9, "BAB", 2, "confirmée", None, 5.0)]
    assert pipe_strip("P", d("20"), decimals, figure_id="f") == pipe_strip("P", 20.0, floats, figure_id="f")


def test_two_figures_on_a_page_never_share_an_id_and_a_page_may_name_them() -> None:
    first, second = parse(bar_chart("A", "", [Bar("x", 1)])), parse(bar_chart("B", "", [Bar("x", 1)]))
    assert one(first, "s:title").attrib["id"] != one(second, "s:title").attrib["id"]
    named = parse(bar_chart("A", "", [Bar("x", 1)], figure_id="kpi-eau"))
    assert named.attrib["aria-labelledby"] == "kpi-eau-title kpi-eau-desc"
    with pytest.raises(ValueError, match="figure_id"):
        bar_chart("A", "", [Bar("x", 1)], figure_id='x" onload="alert(1)')


# --- bar chart ----------------------------------------------------------------------------------------


def bar_widths(root: ET.Element, kind: str = "bar") -> list[float]:
    return [f(r, "width") for r in find(root, f".//s:rect[@class='{kind}']")]


def test_bars_are_proportional_to_their_values_and_the_largest_fills_the_width() -> None:
    root = parse(bar_chart("KPI", "m³", [Bar("a", 10), Bar("b", 5), Bar("c", 2.5), Bar("d", 0)]))
    assert bar_widths(root) == pytest.approx([BAR_MAX, BAR_MAX / 2, BAR_MAX / 4, 0], abs=0.1)
    # each value written at its bar's end
    values = find(root, ".//s:text[@class='value']")
    assert [shown(v) for v in values] == [f"{n}{NNBSP}m³" for n in ("10", "5", "2,5", "0")]
    bars = find(root, ".//s:rect[@class='bar']")
    assert all(f(v, "x") > f(b, "x") + f(b, "width") for v, b in zip(values, bars, strict=True))


def test_a_baseline_is_a_thinner_hatched_bar_under_its_value_on_the_same_scale() -> None:
    root = parse(bar_chart("KPI", "kWh", [Bar("Eau", 5, 20), Bar("Gaz", 10, None)]))
    assert bar_widths(root) == pytest.approx([BAR_MAX / 4, BAR_MAX / 2], abs=0.1)  # the baseline sets the scale
    reference = one(root, ".//s:rect[@class='reference']")
    bar = find(root, ".//s:rect[@class='bar']")[0]
    assert f(reference, "width") == pytest.approx(BAR_MAX, abs=0.1)
    assert f(reference, "height") < f(bar, "height") and f(reference, "y") >= f(bar, "y") + f(bar, "height")
    assert reference.attrib["fill"].startswith("url(#") and reference.attrib["fill"] != bar.attrib["fill"]
    legend = one(root, ".//s:g[@class='legend']")
    assert texts(legend) == ["période", "référence"]
    assert "référence non mesurée" in texts(root)  # the row without a baseline says so


def test_an_unmeasured_value_has_no_bar_and_says_so() -> None:
    root = parse(bar_chart("KPI", "kWh", [Bar("Eau", None), Bar("Gaz", math.nan), Bar("Air", 4)]))
    rows = find(root, ".//s:g[@class='row']")
    assert [len(find(row, "s:rect[@class='bar']")) for row in rows] == [0, 0, 1]
    assert texts(rows[0])[1] == "non mesuré" and texts(rows[1])[1] == "non mesuré"
    assert "Eau : non mesuré." in desc(root) and "Gaz : non mesuré." in desc(root)


def test_a_negative_value_has_an_empty_bar_and_its_number() -> None:
    root = parse(bar_chart("Écart", "%", [Bar("a", -2.5), Bar("b", 5)]))
    assert bar_widths(root) == pytest.approx([0, BAR_MAX], abs=0.1)
    assert f"-2,5{NNBSP}%" in texts(root) and f"-2,5{NNBSP}%" in desc(root)


def test_nothing_to_chart_and_nothing_positive_do_not_break() -> None:
    assert texts(parse(bar_chart("KPI", "kWh", []))) == ["Aucune valeur"]
    root = parse(bar_chart("KPI", "kWh", [Bar("a", 0, 0), Bar("b", None, -1)]))
    assert bar_widths(root) == [0] and bar_widths(root, "reference") == [0, 0]
    assert f"référence : -1{NNBSP}kWh" in texts(root)


def test_the_bar_chart_desc_says_the_figures_in_french() -> None:
    root = parse(bar_chart("Consommation", "m³", [Bar("Eau", 1234.5, 1500), Bar("Pluie", 0.25)]))
    said = desc(root)
    assert "2 valeurs (unité : m³)" in said
    assert f"Eau : période 1{NNBSP}234,5{NNBSP}m³, référence 1{NNBSP}500{NNBSP}m³." in said
    assert f"Pluie : période 0,25{NNBSP}m³, référence non mesurée." in said


def test_a_hostile_label_comes_out_as_inert_text() -> None:
    label = f'{HOSTILE} & "quotes"\x00\x1b'
    svg = bar_chart(HOSTILE, HOSTILE, [Bar(label, 1)])
    root = parse(svg)
    assert "<script" not in svg and not any(e.tag.endswith("script") for e in root.iter())
    assert one(root, "s:title").text == HOSTILE
    assert f'{HOSTILE} & "quotes"' in desc(root)
    label_text = shown(one(root, ".//s:text[@class='label']"))
    assert label_text == "<script>alert(1)</script>…"  # shown as the letters it is, cut with "…"


def test_a_long_label_is_cut_and_kept_whole_in_its_tooltip() -> None:
    long = "Nombre de dépôts sauvages signalés par les agents"
    label = one(parse(bar_chart("KPI", "", [Bar(long, 3)])), ".//s:text[@class='label']")
    cut = shown(label)
    assert cut.endswith("…") and long.startswith(cut[:-1]) and len(cut) == 26
    assert one(label, "s:title").text == long


# --- map ----------------------------------------------------------------------------------------------

TO_WGS84 = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)


def at_l93(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_WGS84.transform(x, y)
    return lat, lon


def point(name: str, lat: float, lon: float, state: str = "ok", href: str | None = None) -> MapPoint:
    return MapPoint(name, lat, lon, name, state, href)


def positions(root: ET.Element) -> dict[str, tuple[float, float]]:
    """Each drawn point's label -> its pixel position."""
    return {one(g, "s:text").text or "": translate(g) for g in find(root, ".//s:g[@class='point']")}


def scale_bar(root: ET.Element) -> tuple[float, float]:
    """The scale bar's length in pixels and in metres (from its label)."""
    bar = one(root, ".//s:g[@class='scale-bar']")
    label = one(bar, "s:text").text or ""
    found = re.fullmatch(rf"([\d,]+){NNBSP}(k?m)", label)
    assert found, label
    metres = float(found[1].replace(",", ".")) * (1000 if found[2] == "km" else 1)
    return f(one(bar, "s:rect"), "width"), metres


def test_east_is_right_and_north_is_up() -> None:
    lat, lon = BETHUNE
    root = parse(point_map("Carte", [point("centre", lat, lon), point("est", lat, lon + 0.01),
                                     point("nord", lat + 0.01, lon)]))  # fmt: skip
    at = positions(root)
    assert at["est"][0] > at["centre"][0] + 50 and at["est"][1] == pytest.approx(at["centre"][1], abs=5)
    assert at["nord"][1] < at["centre"][1] - 50 and at["nord"][0] == pytest.approx(at["centre"][0], abs=5)


def test_metres_are_metres_across_and_down_and_the_scale_bar_says_how_many() -> None:
    x, y = 690000.0, 7045000.0  # near Béthune, in Lambert-93
    places = {"o": (x, y), "e": (x + 100, y), "n": (x, y + 100)}
    root = parse(point_map("Carte", [point(name, *at_l93(*xy)) for name, xy in places.items()]))
    at = positions(root)
    east, north = at["e"][0] - at["o"][0], at["o"][1] - at["n"][1]
    assert east > 50 and abs(east - north) < 1  # the same scale across and down, within a pixel
    assert abs(at["e"][1] - at["o"][1]) < 1 and abs(at["n"][0] - at["o"][0]) < 1
    pixels, metres = scale_bar(root)
    assert pixels == pytest.approx(metres * east / 100, abs=1)
    assert metres in (50, 100)  # a round length, about a sixth to a third of the map


@pytest.mark.parametrize("km", [3, 40])
def test_a_wide_map_measures_its_scale_bar_in_kilometres(km: float) -> None:
    x, y = 690000.0, 7045000.0
    root = parse(point_map("Carte", [point("o", *at_l93(x, y)), point("e", *at_l93(x + km * 1000, y))]))
    at = positions(root)
    pixels, metres = scale_bar(root)
    assert metres >= 500 and pixels == pytest.approx(metres * (at["e"][0] - at["o"][0]) / (km * 1000), abs=1)
    label = one(root, ".//s:g[@class='scale-bar']/s:text").text or ""
    assert label.endswith(f"{NNBSP}km") == (metres >= 1000)
    assert "d'ouest en est" in desc(root) and f"{km}{NNBSP}km" in desc(root)


@pytest.mark.parametrize("count", [1, 3])
def test_a_single_place_is_shown_in_a_200_metre_box(count: int) -> None:
    root = parse(point_map("Carte", [MapPoint(f"d{i}", *BETHUNE, "Jardin", "ok", None) for i in range(count)]))
    drawn = find(root, ".//s:g[@class='point']")
    assert len(drawn) == count and len({translate(g) for g in drawn}) == 1
    frame = one(root, ".//s:rect[@class='frame']")
    px, py = translate(drawn[0])
    assert px == pytest.approx(f(frame, "x") + f(frame, "width") / 2, abs=20)  # in the middle
    pixels, metres = scale_bar(root)
    box = 200 * pixels / metres  # 200 m in pixels: most of the frame's height, not a speck nor beyond it
    assert 0.5 * f(frame, "height") < box < f(frame, "height")


def test_points_outside_metropolitan_france_are_counted_not_drawn() -> None:
    points = [point("Béthune", *BETHUNE), point("New York", 40.7, -74.0), point("La Réunion", -21.1, 55.5)]
    root = parse(point_map("Carte", points))
    assert list(positions(root)) == ["Béthune"]
    assert "2 appareils hors de France métropolitaine non dessinés" in desc(root)
    root = parse(point_map("Carte", points[:2]))
    assert "1 appareil hors de France métropolitaine non dessiné." in desc(root)


def test_no_drawable_point_says_no_position_is_known() -> None:
    root = parse(point_map("Carte", [point("New York", 40.7, -74.0), point("nan", math.nan, math.nan)]))
    assert texts(root) == ["Aucune position connue"] and not find(root, ".//s:g[@class='point']")
    assert "2 appareils hors de France métropolitaine non dessinés" in desc(root)
    assert texts(parse(point_map("Carte", []))) == ["Aucune position connue"]


def test_each_state_has_its_own_colour_and_shape_and_the_legend_names_it() -> None:
    lat, lon = BETHUNE
    states = ["ok", "alerte", "hors_ligne", "inconnu"]
    root = parse(point_map("Carte", [point(s, lat + i * 0.002, lon, s) for i, s in enumerate(states)]))
    looks = {}
    for g in find(root, ".//s:g[@class='point']"):
        marker = g.find("*[@class='marker']", NS)
        assert marker is not None
        looks[g.attrib["data-state"]] = (marker.tag, marker.attrib.get("points"), marker.attrib["fill"])
    assert set(looks) == set(states)
    assert len({(tag, pts) for tag, pts, _ in looks.values()}) == 4  # four shapes, not only four colours
    assert len({fill for _, _, fill in looks.values()}) == 4
    assert texts(one(root, ".//s:g[@class='legend']")) == ["OK", "En alerte", "Hors ligne", "État inconnu"]
    assert "4 appareils dessinés : 1 OK, 1 en alerte, 1 hors ligne, 1 état inconnu." in desc(root)
    assert one(root, ".//s:g[@class='north']/s:text").text == "N"


def test_an_unknown_state_is_drawn_as_unknown() -> None:
    root = parse(point_map("Carte", [point("x", *BETHUNE, "en_panne")]))
    assert one(root, ".//s:g[@class='point']").attrib["data-state"] == "inconnu"


def test_a_point_is_linked_and_a_hostile_href_or_label_stays_inert() -> None:
    lat, lon = BETHUNE
    points = [
        MapPoint("a", lat, lon, "lien", "ok", "/console/appareils/a?x=1&y=2"),
        MapPoint("b", lat + 0.002, lon, "guillemets", "ok", 'x" onclick="alert(1)'),
        MapPoint("c", lat + 0.004, lon, "script", "ok", " Java\tScript:alert(1)"),
        MapPoint(HOSTILE, lat + 0.006, lon, HOSTILE, "alerte", None),
    ]
    svg = point_map(HOSTILE, points)
    root = parse(svg)
    links = {one(a, ".//s:text").text: a.attrib["href"] for a in find(root, ".//s:a")}
    assert links == {"lien": "/console/appareils/a?x=1&y=2", "guillemets": 'x" onclick="alert(1)'}
    assert not any("onclick" in e.attrib for e in root.iter())
    assert "<script" not in svg and not any(e.tag.endswith("script") for e in root.iter())
    assert HOSTILE[:23] + "…" in positions(root)  # the label, cut at 24 characters, as text


def test_a_long_label_is_cut_at_24_characters() -> None:
    name = "Jardin partagé du quartier Nord-Est"
    root = parse(point_map("Carte", [MapPoint("j", *BETHUNE, name, "ok", None)]))
    (shown,) = positions(root)
    assert shown == "Jardin partagé du quart…" and len(shown) == 24
    assert name in (one(root, ".//s:g[@class='point']/s:title").text or "")
    assert f"OK : {name}." in desc(root)


# --- pipe strip ---------------------------------------------------------------------------------------


def mark(chainage: float, clock_from: int | None = 3, clock_to: int | None = 3, code: str = "BAB",
         grade: int | None = 3, state: str = "confirmée", href: str | None = None,
         finish: float | None = None) -> StripMark:  # fmt: skip
    return StripMark(chainage, clock_from, clock_to, code, grade, state, href, finish)


def wall(root: ET.Element) -> tuple[float, float, float, float]:
    """The wall's left, top, right, bottom (the pipe's declared length)."""
    rect = one(root, ".//s:rect[@class='wall']")
    return f(rect, "x"), f(rect, "y"), f(rect, "x") + f(rect, "width"), f(rect, "y") + f(rect, "height")


def pieces(root: ET.Element) -> list[list[tuple[float, float, float, float]]]:
    """Each mark's rectangles: x, y, width, height."""
    return [
        [(f(r, "x"), f(r, "y"), f(r, "width"), f(r, "height")) for r in find(g, "s:rect")]
        for g in find(root, ".//s:g[@class='mark']")
    ]


def centre_x(rects: list[tuple[float, float, float, float]]) -> float:
    return rects[0][0] + rects[0][2] / 2


def test_a_mark_stands_at_its_chainage_along_the_pipe() -> None:
    root = parse(pipe_strip("BET-7", 40, [mark(0), mark(10), mark(20), mark(40)]))
    left, _, right, _ = wall(root)
    xs = [centre_x(m) for m in pieces(root)]
    assert xs == pytest.approx([left + (right - left) * c / 40 for c in (0, 10, 20, 40)], abs=0.2)
    assert xs[2] - xs[0] == pytest.approx(2 * (xs[1] - xs[0]), abs=0.2)


def test_the_clock_runs_down_from_12_at_the_top_to_12_at_the_bottom() -> None:
    root = parse(pipe_strip("BET-7", 10, [mark(5, 3, 9)]))
    _, top, _, bottom = wall(root)
    ((_, y, _, h),) = pieces(root)[0]
    assert y == pytest.approx(top + (bottom - top) / 4, abs=0.1)  # 3 h at a quarter
    assert y + h == pytest.approx(top + 3 * (bottom - top) / 4, abs=0.1)  # 9 h at three quarters
    clocks = [(t.text, f(t, "y") - 4) for t in find(root, ".//s:text[@class='clock']")]  # 4: half a text's height
    quarter = (bottom - top) / 4
    assert clocks == [("12 h", top), ("3 h", top + quarter), ("6 h", top + 2 * quarter), ("9 h", top + 3 * quarter),
                      ("12 h", bottom)]  # fmt: skip


def test_a_range_across_12_is_drawn_in_two_pieces() -> None:
    root = parse(pipe_strip("BET-7", 10, [mark(5, 10, 2)]))
    _, top, _, bottom = wall(root)
    hour = (bottom - top) / 12
    (rects,) = pieces(root)
    spans = sorted((y, y + h) for _, y, _, h in rects)
    assert spans == [pytest.approx((top, top + 2 * hour)), pytest.approx((top + 10 * hour, bottom))]
    assert "de 10 h à 2 h" in desc(root)


def test_no_clock_position_is_a_thin_line_the_whole_height_and_all_round_fills_it() -> None:
    root = parse(pipe_strip("BET-7", 10, [mark(2, None, None, "BDD", None), mark(6, 12, 11, "BAC", 5)]))
    _, top, _, bottom = wall(root)
    (line,), (round_,) = pieces(root)
    assert (line[1], line[1] + line[3]) == pytest.approx((top, bottom)) and line[2] <= 4
    assert (round_[1], round_[1] + round_[3]) == pytest.approx((top, bottom)) and round_[2] >= 8
    assert "BDD, sans grade, sans position horaire" in desc(root) and "BAC, grade 5, tout le tour" in desc(root)


@pytest.mark.parametrize(
    ("clock_from", "clock_to", "spans"),
    [(3, 9, [(3, 9)]), (10, 2, [(0, 2), (10, 12)]), (12, 3, [(0, 3)]), (6, 12, [(6, 12)]), (9, 3, [(0, 3), (9, 12)]),
     (3, 3, [(2.75, 3.25)]), (3, None, [(2.75, 3.25)]), (None, 12, [(0, 0.25), (11.75, 12)]), (12, 11, [(0, 12)]),
     (None, None, None), (13, None, None)],
)  # fmt: skip
def test_clock_pieces(clock_from: int | None, clock_to: int | None, spans: list[tuple[float, float]] | None) -> None:
    assert clock_pieces(clock_from, clock_to) == spans


def test_a_continuous_defect_spans_its_chainages() -> None:
    root = parse(pipe_strip("BET-7", 20, [mark(5, 4, 8, "BBB", 2, finish=15)]))
    left, _, right, _ = wall(root)
    ((x, _, w, _),) = pieces(root)[0]
    assert (x, x + w) == pytest.approx((left + (right - left) / 4, left + 3 * (right - left) / 4), abs=0.1)
    assert f"De 5{NNBSP}m à 15{NNBSP}m : BBB, grade 2, de 4 h à 8 h" in desc(root)


def test_the_grade_colours_a_mark_and_its_caption_says_code_and_grade() -> None:
    root = parse(pipe_strip("BET-7", 20, [mark(2, grade=1), mark(8, grade=5), mark(14, grade=None)]))
    strokes = [one(g, "s:rect").attrib["stroke"] for g in find(root, ".//s:g[@class='mark']")]
    assert strokes == [GRADE_COLOURS[1], GRADE_COLOURS[5], drawings.MUTED]
    captions = find(root, ".//s:g[@class='captions']/s:text")
    assert [c.text for c in captions] == ["BAB 1", "BAB 5", "BAB"]
    assert [c.attrib["fill"] for c in captions] == strokes
    assert texts(one(root, ".//s:g[@class='legend']"))[-3:] == ["Gravité :", "1", "5"]


def test_the_state_is_told_by_the_line_and_fill_not_by_colour_alone() -> None:
    states = ["automatique", "suggérée", "confirmée", "rejetée"]
    root = parse(pipe_strip("BET-7", 40, [mark(5 + 10 * i, grade=4, state=s) for i, s in enumerate(states)]))
    looks = {}
    for g in find(root, ".//s:g[@class='mark']"):
        rect = one(g, "s:rect")
        looks[g.attrib["data-state"]] = (
            rect.attrib["fill"],
            rect.attrib.get("stroke-dasharray"),
            rect.attrib["stroke"],
        )
    assert looks["confirmée"] == (GRADE_COLOURS[4], None, GRADE_COLOURS[4])
    assert looks["automatique"][0].startswith("url(#") and looks["automatique"][1] is None
    assert looks["suggérée"] == ("#fff", None, GRADE_COLOURS[4])
    assert looks["rejetée"] == ("#fff", "5 3", drawings.FAINT)  # grey and dashed
    assert len({(fill[:4], dash) for fill, dash, _ in looks.values()}) == 4
    legend = texts(one(root, ".//s:g[@class='legend']"))
    assert legend[:4] == ["automatique", "suggérée, à vérifier", "confirmée", "rejetée"]


@pytest.mark.parametrize(("standing", "state"), [("trusted", "automatique"), ("suggested", "suggérée"),
                                                  ("confirmed", "confirmée"), ("rejected", "rejetée"),
                                                  ("withdrawn", "retirée"), ("recoded?", "suggérée")])  # fmt: skip
def test_the_visions_standing_is_understood(standing: str, state: str) -> None:
    root = parse(pipe_strip("BET-7", 10, [mark(5, state=standing)]))
    assert one(root, ".//s:g[@class='mark']").attrib["data-state"] == state


def test_ticks_fall_on_round_metres() -> None:
    root = parse(pipe_strip("BET-7", 20, []))
    left, _, right, _ = wall(root)
    ticks = find(root, ".//s:g[@class='ticks']/s:text")
    assert [t.text for t in ticks] == [f"{m}{NNBSP}m" for m in (0, 5, 10, 15, 20)]
    assert [f(t, "x") for t in ticks] == pytest.approx([left + (right - left) * m / 20 for m in (0, 5, 10, 15, 20)])
    short = [t.text for t in find(parse(pipe_strip("x", 2, [])), ".//s:g[@class='ticks']/s:text")]
    assert short == [f"{m}{NNBSP}m" for m in ("0", "0,5", "1", "1,5", "2")]


def test_an_observation_past_the_pipes_end_extends_the_axis() -> None:
    root = parse(pipe_strip("BET-7", 10, [mark(5), mark(15)]))
    left, _, pipe_end, _ = wall(root)
    beyond = one(root, ".//s:rect[@class='beyond']")
    xs = [centre_x(m) for m in pieces(root)]
    assert f(beyond, "x") == pytest.approx(pipe_end) and beyond.attrib["stroke-dasharray"]
    assert xs[1] == pytest.approx(f(beyond, "x") + f(beyond, "width"), abs=0.2)  # 15 m: the axis' end
    assert pipe_end - left == pytest.approx((xs[1] - left) * 10 / 15, abs=0.2)
    assert f"1 observation au-delà de cette longueur : l'axe va jusqu'à 15{NNBSP}m." in desc(root)


def test_a_pipe_of_unknown_length_runs_to_its_furthest_observation() -> None:
    root = parse(pipe_strip("BET-7", 0, [mark(4), mark(12.5)]))
    left, _, right, _ = wall(root)
    xs = [centre_x(m) for m in pieces(root)]
    assert xs == pytest.approx([left + (right - left) * 4 / 12.5, right], abs=0.2)
    assert "longueur non renseignée" in desc(root) and f"À 12,5{NNBSP}m : BAB, grade 3, à 3 h, confirmée." in desc(root)
    assert not find(root, ".//s:rect[@class='beyond']")


def test_an_empty_or_unplaceable_strip_does_not_break() -> None:
    root = parse(pipe_strip("BET-7", 0, []))
    assert "Aucune observation" in texts(root)
    root = parse(pipe_strip("BET-7", 10, [mark(math.nan), mark(2)]))
    assert len(pieces(root)) == 1 and "1 observation sans distance, non dessinée." in desc(root)


def test_a_hostile_code_or_href_stays_inert() -> None:
    svg = pipe_strip(HOSTILE, 10, [mark(2, code=HOSTILE, href='/o/1" onmouseover="alert(1)'),
                                   mark(5, href="javascript:alert(1)")])  # fmt: skip
    root = parse(svg)
    assert "<script" not in svg and not any(e.tag.endswith("script") for e in root.iter())
    hrefs = {a.attrib["href"] for a in find(root, ".//s:a")}
    assert hrefs == {'/o/1" onmouseover="alert(1)'}
    assert not any("onmouseover" in e.attrib for e in root.iter())
    assert f"{HOSTILE}, grade 3" in desc(root)
