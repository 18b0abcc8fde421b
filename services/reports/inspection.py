"""The inspection report of a mission (issue 11, item 4): what a sanitation service files and forwards.

One assembly (``build``) feeds every format: JSON (the data), CSV (one row per observation with the
EN 13508-2 columns and the pipe's header on every row, so a spreadsheet keeps both), HTML (self-contained:
header, summary with the structural and service grades, a strip along the chainage with the water level,
the gases and the observations, then each observation with its thumbnail) and PDF (the same page, printed
by WeasyPrint). Each observation says what it stands as: confirmed by a person, or automatic and either
trusted (its code's precision on real footage at or above the bar) or a suggestion to review (below it, or not
measured: it raised no grade-4 alert); the summary counts the unreviewed suggestions apart and states the bar
and where the precision was measured (services/vision/trust.py). Rejected and withdrawn observations are left
out of the pipe's grades and counted apart. The labels of those states are in French (the rest of the report
follows in issue 23).
"""

from __future__ import annotations

import base64
import csv
import io
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psycopg
from jinja2 import Environment, FileSystemLoader, select_autoescape

from core.en13508 import SHAPE_VALUES
from core.french import PARIS, material_name
from core.media_store import MediaStore
from device_adapters.capabilities.pipe_inspection.storage import mission_status
from services.reports.comparison import compare_missions
from services.reports.labels import LABELS, REVIEW, Lang, filters, french_remark
from services.reports.ratings import Rated, by_standing, kind_of
from services.vision.grades import VERSION as GRADES_VERSION
from services.vision.grades import family_of
from services.vision.review import standing

TEMPLATES = Path(__file__).resolve().parent / "templates"
THUMB_WIDTH = 240
SHOWN_IN_PAGE = 300  # observations detailed in the HTML and PDF report (as_html)
STRIP_METRICS = ("water_level_pct", "h2s_ppm", "o2_pct", "ch4_pct_lel")
CSV_COLUMNS = (
    "pipe_id", "start_manhole", "end_manhole", "direction", "shape", "diameter_mm", "material", "date", "operator",
    "chainage_m", "code", "characterisation", "quantification", "clock_from", "clock_to", "continuous_defect",
    "finish_chainage_m", "remark", "photo", "grade", "reviewed", "observation_id", "trust", "trust_precision",
)  # fmt: skip
FRENCH_DIRECTIONS = {"downstream": LABELS["fr"]["downstream"], "upstream": LABELS["fr"]["upstream"]}
# the columns as the excel-fr dialect names them (the standard dialect keeps the names a script reads)
CSV_FRENCH_HEADERS = {
    "pipe_id": "conduite (AAA)", "start_manhole": "regard de départ (AAD)", "end_manhole": "regard d'arrivée (AAF)",
    "direction": "sens d'inspection (AAK)", "shape": "forme (ACA)", "diameter_mm": "diamètre (mm)",
    "material": "matériau (ACD)", "date": "date (Europe/Paris)", "operator": "opérateur", "chainage_m": "distance (m)",
    "code": "code", "characterisation": "caractérisation", "quantification": "quantification",
    "clock_from": "position horaire de", "clock_to": "position horaire à", "continuous_defect": "défaut continu",
    "finish_chainage_m": "distance de fin (m)", "remark": "remarque", "photo": "photo", "grade": "gravité (1 à 5)",
    "reviewed": "revue", "observation_id": "n° d'observation", "trust": "état", "trust_precision": "précision",
}  # fmt: skip


@dataclass
class Report:
    mission: dict[str, Any]
    observations: list[dict[str, Any]]
    excluded: dict[str, int]  # rejected, withdrawn: not in the grades
    summary: dict[str, Any]
    trust: dict[str, Any]  # the bar(s) and the measurements the observations' trust rests on
    strip: dict[str, list[tuple[float, float]]]  # metric -> (chainage, value) along the pipe
    generated_at: datetime
    grades_version: str = GRADES_VERSION
    thumbnails: dict[int, str] = field(default_factory=dict)  # observation id -> data: URI
    comparison: dict[str, Any] | None = None  # with another inspection of the pipe (comparison.py), on request


def build(
    conn: psycopg.Connection[Any], mission_id: str, media: MediaStore | None = None, compare_with: str | None = None
) -> Report | None:
    """The report of ``mission_id`` (None if there is no such mission); ``compare_with``: another inspection to
    compare it with (raises LookupError if there is no such one)."""
    row = conn.execute(
        "SELECT m.*, (SELECT max(chainage_m) FROM drone_telemetry t WHERE t.mission_id = m.mission_id) AS inspected_m, "
        f"i.filename AS import_filename, i.imported_at, i.imported_by, {mission_status('m')} AS status_read "
        "FROM missions m LEFT JOIN inspection_imports i ON i.id = m.import_id WHERE m.mission_id = %s",
        (mission_id,),
    ).fetchone()
    if row is None:
        return None
    mission = dict(row)
    mission["status"] = mission.pop("status_read")  # as the API says it: interrupted when the drone is gone
    rows = conn.execute(
        "SELECT id, coalesce(recoded_code, code) AS code, characterisation, chainage_start_m, chainage_end_m, "
        "coalesce(recoded_clock_from, clock_from) AS clock_from, coalesce(recoded_clock_to, clock_to) AS clock_to, "
        "quantification, coalesce(recoded_grade, grade) AS grade, confidence, frames, best_frame_sha256, "
        "best_frame_time, annotated_sha256, remark, state, reviewed_by, reviewed_at, review_note, code AS found_code, "
        "model, trust AS found_trust, trust_precision, trust_basis, source, exchange_fields "
        "FROM observations WHERE mission_id = %s ORDER BY chainage_start_m, id",
        (mission_id,),
    ).fetchall()
    kept = [dict(r) for r in rows if r["state"] not in ("rejected", "withdrawn")]
    excluded = {s: sum(1 for r in rows if r["state"] == s) for s in ("rejected", "withdrawn")}
    for i, obs in enumerate(kept, start=1):
        # the contractor's own photo reference (M) where the file gave one: it names the picture in their delivery
        # (an imported row without one has no photo: "P002" beside the contractor's "P02" would name none of theirs)
        first_row = ((obs.get("exchange_fields") or {}).get("rows") or [{}])[0]
        obs["photo"] = first_row.get("M", "") if obs.get("source") == "import" else f"P{i:03d}"
        obs["quantification_text"] = first_row.get("D") if obs["quantification"] is None else None  # a node's ref.
        obs["defect"] = kind_of(obs["code"]) is not None  # graded, or "not graded"; a node, a connection: neither
        obs["trust"] = standing(obs["state"], obs.pop("found_trust"))
        obs["reviewed"] = _reviewed(obs)
    strip: dict[str, list[tuple[float, float]]] = {m: [] for m in STRIP_METRICS}
    for r in conn.execute(
        "SELECT chainage_m, water_level_pct, h2s_ppm, o2_pct, ch4_pct_lel FROM drone_telemetry "
        "WHERE mission_id = %s ORDER BY time LIMIT 20000",
        (mission_id,),
    ):
        for metric in STRIP_METRICS:
            if r[metric] is not None:
                strip[metric].append((float(r["chainage_m"]), float(r[metric])))
    trust = _trust(kept)
    summary = {**_summary(mission, kept), **_frames(conn, mission_id, kept)}
    rated = by_standing(
        (Rated(o["code"], o["grade"], o["chainage_start_m"], o["chainage_end_m"]), o["trust"]) for o in kept
    )
    summary["ratings"] = {standing: ratings.as_dict() for standing, ratings in rated.items()}
    report = Report({**mission, "shape": shape_of(mission)}, kept, excluded, summary, trust, strip,
                    datetime.now().astimezone())  # fmt: skip
    if compare_with is not None:
        report.comparison = compare_missions(conn, mission_id, compare_with)
        if report.comparison is None:
            raise LookupError(compare_with)
    if media is not None:
        report.thumbnails = {
            o["id"]: uri for o in kept if (uri := _thumbnail(media, o["annotated_sha256"] or o["best_frame_sha256"]))
        }
    return report


# the frames of the analysis the observations come from (else the mission's latest): how many were analysed
# and how many the vision could not judge, by reason (services/vision/quality.py: dark, fog, overexposed...)
FRAMES = """
WITH chosen AS (
    SELECT coalesce(%(model)s, (SELECT model FROM frame_analyses WHERE mission_id = %(m)s ORDER BY time DESC LIMIT 1))
        AS model
), per AS (
    SELECT a.not_judged AS reason, count(*) AS n FROM frame_analyses a, chosen
    WHERE a.mission_id = %(m)s AND a.model = chosen.model GROUP BY a.not_judged
)
SELECT coalesce(sum(n), 0)::int AS analysed, coalesce(sum(n) FILTER (WHERE reason IS NOT NULL), 0)::int AS not_judged,
       coalesce(jsonb_object_agg(reason, n) FILTER (WHERE reason IS NOT NULL), '{}') AS by_reason
FROM per
"""


def _frames(conn: psycopg.Connection[Any], mission_id: str, observations: list[dict[str, Any]]) -> dict[str, Any]:
    model = next((o["model"] for o in observations if o.get("model")), None)
    row = conn.execute(FRAMES, {"m": mission_id, "model": model}).fetchone()
    return {
        "frames_analysed": row["analysed"] if row else 0,
        "frames_not_judged": row["not_judged"] if row else 0,
        "not_judged_by_reason": dict(row["by_reason"]) if row else {},
    }


def _summary(mission: dict[str, Any], observations: list[dict[str, Any]]) -> dict[str, Any]:
    counts: dict[str, dict[int, int]] = {}
    for o in observations:
        if o["grade"] is not None:
            counts.setdefault(o["code"], {}).setdefault(o["grade"], 0)
            counts[o["code"]][o["grade"]] += 1
    graded = {"structural": [], "service": []}  # type: dict[str, list[int]]
    for o in observations:
        kind = family_of(o["code"])
        if kind and o["grade"] is not None:
            graded[kind].append(o["grade"])
    return {
        # the drone's furthest telemetry; an imported inspection's: its finish node's distance (importing.py)
        "length_inspected_m": round(mission["inspected_m"] or mission["distance_m"] or 0.0, 2),
        "observations": len(observations),
        "confirmed": sum(1 for o in observations if o["state"] in ("confirmed", "recoded")),
        "automatic": sum(1 for o in observations if o["state"] == "automatic"),
        "trusted": sum(1 for o in observations if o["trust"] == "trusted"),
        "suggested": sum(1 for o in observations if o["trust"] == "suggested"),  # automatic, not reviewed yet
        "by_code_and_grade": {code: dict(sorted(g.items())) for code, g in sorted(counts.items())},
        "worst_grade": max((o["grade"] for o in observations if o["grade"] is not None), default=None),
        # defects (structural or service codes) whose code the grade table does not grade: an imported file's
        "ungraded": sum(1 for o in observations if o["grade"] is None and kind_of(o["code"]) is not None),
        "structural_grade": max(graded["structural"], default=1),
        "service_grade": max(graded["service"], default=1),
    }


def _reviewed(obs: dict[str, Any], lang: Lang = "fr") -> str:
    """The review column: who confirmed it, or how far the vision's own finding can be trusted and why."""
    w = REVIEW[lang]
    label = w[obs["trust"]]

    def num(value: float) -> str:  # a precision or a bar: always two decimals (0,70, not 0,7)
        return f"{value:.2f}".replace(".", ",") if lang == "fr" else f"{value:.2f}"

    if obs["state"] == "recoded":
        return w["recoded"].format(who=obs["reviewed_by"], code=obs["found_code"])
    if obs["trust"] == "confirmed":
        return f"{label} {w['by']} {obs['reviewed_by']}"
    basis, precision = obs["trust_basis"] or {}, obs["trust_precision"]
    if precision is None:
        return f"{label} ({w['not_measured']})"
    reports = (basis.get("tp") or 0) + (basis.get("fp") or 0)
    measured = f"{w['precision']} {num(precision)}"
    if obs["trust"] == "trusted":
        return f"{label} ({measured} {w['over']} {reports} {w['detections']})"
    bar, least = basis.get("bar"), basis.get("min_reports")
    if least is not None and reports < least:
        return f"{label} ({measured} {w['over']} {reports} {w['detections']} {w['too_few']} {least})"
    below = f" < {w['bar']} {num(bar)}" if bar is not None else ""
    return f"{label} ({measured}{below})"


def _trust(observations: list[dict[str, Any]]) -> dict[str, Any]:
    """The bar(s) the observations' trust was decided at and the measurements it rests on (one per analysis)."""
    bases = [o["trust_basis"] for o in observations if o["trust_basis"]]
    measured: dict[str, dict[str, Any]] = {}
    for b in bases:
        if b.get("analysis"):
            measured[b["analysis"]] = {k: b.get(k) for k in ("analysis", "manifest_sha256", "split", "frames", "date",
                                                              "results", "see")}  # fmt: skip
    return {
        "bars": sorted({b["bar"] for b in bases if b.get("bar") is not None}),
        "min_reports": max((b["min_reports"] for b in bases if b.get("min_reports") is not None), default=None),
        "measurements": [measured[k] for k in sorted(measured)],
    }


def _thumbnail(media: MediaStore, sha256: str | None) -> str | None:
    path = media.open(sha256) if sha256 else None
    if path is None:
        return None
    image = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return None
    height = int(image.shape[0] * THUMB_WIDTH / image.shape[1])
    ok, buf = cv2.imencode(".jpg", cv2.resize(image, (THUMB_WIDTH, height), interpolation=cv2.INTER_AREA),
                           [cv2.IMWRITE_JPEG_QUALITY, 80])  # fmt: skip
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode() if ok else None


def shape_of(mission: dict[str, Any]) -> str | None:
    """The pipe's shape as the standard codes it (ACA): an imported inspection's file says it (or not); the drone
    inspects round pipes, and says so where it was given their diameter (the exchange file's rule too)."""
    if mission.get("source") == "import":
        return (mission.get("exchange_header") or {}).get("ACA") or None
    return "A" if mission.get("diameter_mm") else None


def as_json(report: Report) -> dict[str, Any]:
    data = asdict(report)
    data.pop("thumbnails")
    return data


DECIMAL_CSV_COLUMNS = ("chainage_m", "quantification", "finish_chainage_m", "trust_precision")


def as_csv(report: Report, excel_fr: bool = False, lang: Lang = "fr") -> str:
    """One row per observation with the pipe's header on every row (its date: the inspection's day in Paris, in
    either dialect: a calendar date, not an instant). ``excel_fr``: as French Excel opens it in
    columns and French staff read it, like the other CSV exports' ``excel-fr`` dialect (README): semicolons,
    UTF-8 with BOM, decimal commas, the columns' French names (``CSV_FRENCH_HEADERS``), the direction, shape,
    material and trust in French, the date as JJ/MM/AAAA in Paris. The review column (who confirmed, or how far
    the vision is trusted) is a sentence: in ``lang`` in the standard dialect, in French in the excel-fr one."""
    m = report.mission
    started = m["started_at"]
    shape = m.get("shape") or ""  # ACA's letter: by its name where the standard's list has it
    header = {
        "pipe_id": m["pipe_id"], "start_manhole": m["start_manhole"], "end_manhole": m["end_manhole"],
        "direction": m["direction"], "diameter_mm": m["diameter_mm"], "material": m["material"],
        "shape": SHAPE_VALUES[shape][0].lower() if shape in SHAPE_VALUES else shape,
        "date": started.astimezone(PARIS).date().isoformat() if started else "", "operator": m["operator"],
    }  # fmt: skip
    if excel_fr:
        header |= {
            "direction": FRENCH_DIRECTIONS.get(m["direction"] or "", m["direction"] or ""),
            "shape": SHAPE_VALUES[shape][1] if shape in SHAPE_VALUES else shape,
            "material": material_name(m["material"]) if m["material"] else "",
            "date": started.astimezone(PARIS).strftime("%d/%m/%Y") if started else "",
        }
    out = io.StringIO()
    if excel_fr:
        out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n" if excel_fr else "\n", delimiter=";" if excel_fr else ",")
    writer.writerow([CSV_FRENCH_HEADERS[c] for c in CSV_COLUMNS] if excel_fr else CSV_COLUMNS)
    continuous = 0
    for o in report.observations:
        marker = ""
        if o["chainage_end_m"] is not None:
            continuous += 1
            marker = f"S{continuous:02d}/F{continuous:02d}"
        row = {
            **header, "chainage_m": f"{o['chainage_start_m']:.2f}", "code": o["code"],
            "characterisation": o["characterisation"], "quantification": "" if o["quantification"] is None
            else f"{o['quantification']:g}", "clock_from": o["clock_from"], "clock_to": o["clock_to"],
            "continuous_defect": marker,
            "finish_chainage_m": "" if o["chainage_end_m"] is None else f"{o['chainage_end_m']:.2f}",
            "remark": o["review_note"] or o["remark"] or "", "photo": o["photo"], "grade": o["grade"],
            "reviewed": _reviewed(o, "fr" if excel_fr else lang), "observation_id": o["id"], "trust": o["trust"],
            "trust_precision": "" if o["trust_precision"] is None else f"{o['trust_precision']:g}",
        }  # fmt: skip
        if excel_fr:  # decimal commas where a number is written; the remark and the trust as the report says them
            row |= {k: row[k].replace(".", ",") for k in DECIMAL_CSV_COLUMNS}
            row |= {"remark": o["review_note"] or french_remark(o["remark"] or ""), "trust": REVIEW["fr"][o["trust"]]}
        # every text: a pipe id, a node, an operator come from a device or a contractor's file as well as a note
        writer.writerow([_csv_safe(v) if isinstance(v, str) and k not in DECIMAL_CSV_COLUMNS else v
                         for k, v in ((c, row[c]) for c in CSV_COLUMNS)])  # fmt: skip
    return out.getvalue()


def _csv_safe(text: str) -> str:
    """A person's note opens a spreadsheet: a leading = + - @ would run as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_html(report: Report, lang: Lang = "fr") -> str:
    """The report's page, in French (what a French sanitation service files) or English. Its table and details
    stop at ``SHOWN_IN_PAGE`` observations (a page, and its PDF, costs about 30 ms of a core per observation; a
    pipe has tens): the rest are said to be in the CSV, JSON and exchange file, the ratings count them all."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters.update(filters(lang))
    page = replace(report, observations=report.observations[:SHOWN_IN_PAGE])
    reviewed = {o["id"]: _reviewed(o, lang) for o in page.observations}
    return env.get_template("inspection.html").render(
        r=page, strip=_strip_svg(page), L=LABELS[lang], lang=lang, reviewed=reviewed,
        hidden=len(report.observations) - len(page.observations),
    )  # fmt: skip


def as_pdf(report: Report, lang: Lang = "fr") -> bytes:
    from weasyprint import HTML  # imported here: it loads pango, which only the PDF needs

    return HTML(string=as_html(report, lang)).write_pdf()  # type: ignore[no-any-return]


def _strip_svg(report: Report) -> dict[str, Any]:
    """Coordinates for the strip along the chainage: one lane per metric, observations marked below."""
    length = max(report.summary["length_inspected_m"], max((o["chainage_end_m"] or o["chainage_start_m"]
                 for o in report.observations), default=0.0), 1.0)  # fmt: skip
    width, lane = 900.0, 46.0

    def x(chainage: float) -> float:
        return round(40 + (width - 50) * chainage / length, 1)

    lanes = []
    # a lane per metric the inspection measured (an imported one measured none: no empty "0-0" lanes)
    for i, metric in enumerate(m for m in STRIP_METRICS if report.strip[m]):
        points = report.strip[metric]
        top = 10 + i * (lane + 8)
        if points:
            low, high = min(v for _, v in points), max(v for _, v in points)
            span = (high - low) or 1.0
            step = max(1, len(points) // 600)
            path = " ".join(f"{x(c)},{round(top + lane - (v - low) / span * lane, 1)}" for c, v in points[::step])
        else:
            low = high = 0.0
            path = ""
        lanes.append({"metric": metric, "top": top, "path": path, "low": low, "high": high})
    marks_top = 10 + len(lanes) * (lane + 8)
    marks = [
        {"x": x(o["chainage_start_m"]), "w": max(2.0, x(o["chainage_end_m"]) - x(o["chainage_start_m"]))
         if o["chainage_end_m"] is not None else 2.0, "grade": o["grade"], "label": o["code"], "photo": o["photo"]}
        for o in report.observations
    ]  # fmt: skip
    ticks = [{"x": x(t), "label": f"{t:g}", "value": float(t)} for t in np.linspace(0, length, 6).round(1)]
    return {"width": width, "height": marks_top + 60, "lanes": lanes, "marks_top": marks_top, "marks": marks,
            "ticks": ticks, "lane": lane}  # fmt: skip
