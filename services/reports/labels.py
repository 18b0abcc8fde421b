"""The inspection report's words, in French (the default: what a French sanitation service files) and English
(on request, ``lang=en``): headings, the header's fields, units and how numbers and dates are written.

NF EN 13508-2's French edition names the codes (services/vision/codes.py); the pipe's header follows the
standard's §7 order as far as the drone knows it (issue 23 completes it with the exchange file's codes).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from core.en13508 import HEADER_CODES, MAIN_CODES, SHAPE_VALUES
from core.french import PARIS, date_time, material_name, number
from services.vision.codes import FRENCH as CODE_NAMES

Lang = Literal["fr", "en"]
DECIMAL_VALUE = re.compile(r"-?[0-9]+\.[0-9]+")

LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "method_import": "inspection télévisée par un prestataire (fichier NF EN 13508-2 importé)",
        "imported_note": "Inspection importée du fichier « {file} » (import n° {id}, reçu le {when} de {by}) : ses "
        "observations sont celles du prestataire, codées par {inspector} ; elles comptent comme confirmées.",
        "not_graded": "non notée", "coded_by": "Codée par le prestataire", "no_clock": "sans position horaire",
        "ungraded_note": "{n} défaut(s) sans gravité : leur code n'est pas dans la grille de la plateforme ; ils ne "
        "comptent pas dans les notes",
        "section_comparison": "Comparaison avec l'inspection {other}", "compared_same_pipe": "même conduite",
        "compared_other_pipe": "autre conduite : {pipe}", "found_by_both": "Trouvées par les deux",
        "only_this": "Seulement dans ce rapport", "only_other": "Seulement dans l'autre inspection",
        "share": "Part des observations de l'autre inspection retrouvées ici",
        "share_drone": "Part des observations du prestataire retrouvées par le drone",
        "among_codes": "parmi les codes que le drone recherche", "outside_codes": "{n} hors des codes que le drone "
        "recherche ({codes})", "apart": "Écart (m)", "tolerance": "tolérance ± {t} m le long de la conduite, "
        "position horaire à une heure près",
        "file_header": "Autres données d'en-tête du fichier", "value": "Valeur",
        "turned_short": "comptée depuis le regard de départ de ce rapport", "this_report": "ce rapport",
        "where": "Position (distance, horaire)",
        "running_note": "Inspection en cours : ce rapport est provisoire (la conduite n'a pas encore été parcourue "
        "en entier).",
        "interrupted_note": "Inspection interrompue : le drone n'a pas terminé cette mission (il est hors ligne, ou "
        "en a commencé une autre) ; ce rapport ne couvre que ce qu'il a parcouru.",
        "aborted_note": "Inspection abandonnée par le drone : ce rapport ne couvre que ce qu'il a parcouru.",
        "failed_note": "Inspection en échec (signalée par le drone) : ce rapport ne couvre que ce qu'il a parcouru.",
        "hidden_note": "{n} autres observations ne sont pas détaillées dans ce document (les {shown} premières le long "
        "de la conduite le sont) : toutes figurent dans le CSV, le JSON et le fichier d'échange",
        "turned": "L'autre inspection, faite dans l'autre sens, a été retournée (distances depuis l'autre regard, "
        "positions horaires en miroir).", "none": "aucune",
        "title": "Rapport d'inspection télévisée", "pipe_of": "conduite", "unnamed": "(sans nom)",
        "coding": "Codage NF EN 13508-2", "mission": "Mission", "generated": "édité le", "grades": "grilles de gravité",
        "section_pipe": "Conduite", "pipe": "Conduite", "date": "Date", "start": "Regard de départ",
        "end": "Regard d'arrivée", "direction": "Sens d'inspection", "shape": "Forme",
        "diameter": "Diamètre", "material": "Matériau", "operator": "Opérateur", "device": "Appareil",
        "downstream": "vers l'aval", "upstream": "vers l'amont",
        "section_summary": "Synthèse", "length": "Longueur inspectée", "observations": "Observations",
        "confirmed": "Confirmées", "trusted": "Automatiques fiables", "suggested": "Suggestions à vérifier",
        "worst": "Gravité maximale", "structural": "Gravité structurelle max.",
        "service": "Gravité d'exploitation max.",
        "per_code": "Par code et gravité", "grade": "gravité", "frames_analysed": "Images analysées",
        "not_judged": "non jugées", "not_judged_why": "la vision n'y signale aucun défaut, un agent doit les regarder",
        "left_out": "Écartées", "rejected_by": "rejetées par un agent",
        "withdrawn_by": "retirées par une analyse ultérieure",
        "section_strip": "Le long de la conduite", "section_observations": "Observations",
        "photo": "Photo", "distance": "Distance (m)", "code": "Code", "name": "Désignation", "char": "Caract.",
        "quant": "Quant.", "clock": "Position horaire", "cont": "Cont.", "review": "Revue",
        "at": "à", "to": "à", "from_clock": "de", "to_clock": "à", "hours": "h",
        "seen_in": "Vue sur", "frames": "images", "confidence": "confiance", "model": "modèle",
        "water_level_pct": "eau (%)", "h2s_ppm": "H₂S (ppm)", "o2_pct": "O₂ (%)", "ch4_pct_lel": "CH₄ (% LIE)",
        "trust_note": "Fiabilité des observations automatiques : un code est fiable quand sa précision, mesurée "
        "sur des images réelles d'inspection, atteint le seuil ; sinon l'observation est une suggestion à "
        "vérifier : elle n'a déclenché aucune alerte de gravité 4 et attend la confirmation d'un agent.",
        "no_precision": "Aucune précision mesurée pour les codes de ce rapport.",
        "method": "Méthode", "method_drone": "inspection télévisée par drone", "standard": "Norme",
        "location": "Lieu (rue, commune)", "cleaning": "Nettoyage préalable", "not_given": "non renseigné",
        "section_ratings": "Notes d'état du tronçon", "ratings_method": "Méthode : PACP (NASSCO), annexe C. Note = "
        "somme des gravités × occurrences (un défaut continu compte une fois par 1,524 m entamé) ; indice = note / "
        "occurrences ; note rapide = la gravité la plus haute et son nombre, puis la suivante (A = 10 à 14…) ; "
        "gravité du tronçon = la plus haute",
        "rated_confirmed": "observations confirmées", "rated_with_trusted": "+ automatiques fiables",
        "rated_with_suggestions": "+ suggestions à vérifier", "structural_kind": "Structurel",
        "service_kind": "Exploitation", "overall_kind": "Global", "quick": "note rapide", "rating": "note",
        "index": "indice", "segment_grade": "Gravité du tronçon (1-5)",
        "bar_is": "Seuil", "at_least": "sur au moins {n} détections",
        "measured_for": "Précision mesurée pour l'analyse {analysis} sur {frames} images réelles d'inspection "
        "tenues à l'écart de sa mise au point (jeu {manifest}, {date} ; détail dans la documentation de la "
        "plateforme, {see}).",
    },
    "en": {
        "method_import": "CCTV inspection by a contractor (imported EN 13508-2 file)",
        "imported_note": "Inspection imported from file “{file}” (import {id}, received {when} from {by}): its "
        "observations are the contractor's, coded by {inspector}; they count as confirmed.",
        "not_graded": "not graded", "coded_by": "Coded by the contractor", "no_clock": "no clock position",
        "ungraded_note": "{n} defect(s) without a grade: their code is not in the platform's grade table; they do "
        "not count in the ratings",
        "section_comparison": "Compared with inspection {other}", "compared_same_pipe": "same pipe",
        "compared_other_pipe": "another pipe: {pipe}", "found_by_both": "Found by both",
        "only_this": "Only in this report", "only_other": "Only in the other inspection",
        "share": "Share of the other inspection's observations found here",
        "share_drone": "Share of the contractor's observations found by the drone",
        "among_codes": "among the codes the drone looks for", "outside_codes": "{n} outside the codes the drone "
        "looks for ({codes})", "apart": "Apart (m)", "tolerance": "tolerance ± {t} m along the pipe, clock "
        "position within an hour",
        "file_header": "Other header data of the file", "value": "Value",
        "turned_short": "measured from this report's start manhole", "this_report": "this report",
        "where": "Position (chainage, clock)",
        "running_note": "Inspection under way: this report is provisional (the pipe has not been run in full yet).",
        "interrupted_note": "Inspection interrupted: the drone did not end this mission (it is offline, or has "
        "started another); this report covers only what it ran.",
        "aborted_note": "Inspection aborted by the drone: this report covers only what it ran.",
        "failed_note": "Inspection failed (as the drone reported): this report covers only what it ran.",
        "hidden_note": "{n} more observations are not detailed in this document (the first {shown} along the pipe "
        "are): all are in the CSV, the JSON and the exchange file",
        "turned": "The other inspection, run the other way, was turned (distances from the other manhole, clock "
        "positions mirrored).", "none": "none",
        "title": "Sewer inspection report (CCTV)", "pipe_of": "pipe", "unnamed": "(unnamed)",
        "coding": "EN 13508-2 coding", "mission": "Mission", "generated": "generated", "grades": "grades",
        "section_pipe": "Pipe", "pipe": "Pipe", "date": "Date", "start": "Start manhole", "end": "End manhole",
        "direction": "Direction", "shape": "Shape", "diameter": "Diameter",
        "material": "Material", "operator": "Operator", "device": "Device", "downstream": "downstream",
        "upstream": "upstream",
        "section_summary": "Summary", "length": "Length inspected", "observations": "Observations",
        "confirmed": "Confirmed", "trusted": "Automatic, trusted", "suggested": "Suggestions to review",
        "worst": "Worst grade", "structural": "Worst structural grade", "service": "Worst O&M grade",
        "per_code": "Per code and grade", "grade": "grade", "frames_analysed": "Frames analysed",
        "not_judged": "not judged", "not_judged_why": "the vision reports no defect there: a person must look",
        "left_out": "Left out", "rejected_by": "rejected by a reviewer",
        "withdrawn_by": "withdrawn by a later analysis",
        "section_strip": "Along the pipe", "section_observations": "Observations",
        "photo": "Photo", "distance": "Chainage (m)", "code": "Code", "name": "Name", "char": "Char.",
        "quant": "Quant.", "clock": "Clock", "cont": "Cont.", "review": "Review",
        "at": "at", "to": "to", "from_clock": "from", "to_clock": "to", "hours": "o'clock",
        "seen_in": "Seen in", "frames": "frames", "confidence": "confidence", "model": "model",
        "water_level_pct": "water (%)", "h2s_ppm": "H₂S (ppm)", "o2_pct": "O₂ (%)", "ch4_pct_lel": "CH₄ (% LEL)",
        "trust_note": "Trust in automatic observations: a code is trusted when its precision, measured on real "
        "inspection frames, reaches the bar; otherwise the observation is a suggestion to review: it raised no "
        "grade-4 alert and waits for a person's confirmation.",
        "no_precision": "No precision measured for this report's codes.",
        "method": "Method", "method_drone": "CCTV inspection by drone", "standard": "Standard",
        "location": "Location (street, town)", "cleaning": "Pre-cleaning", "not_given": "not given",
        "section_ratings": "Segment condition ratings", "ratings_method": "Method: PACP (NASSCO), Appendix C. "
        "Rating = sum of grade × occurrences (a continuous defect counts once per started 5 ft); index = rating / "
        "occurrences; quick rating = the highest grade and its count, then the next (A = 10-14…); segment grade = "
        "the highest",
        "rated_confirmed": "confirmed observations", "rated_with_trusted": "+ trusted automatic",
        "rated_with_suggestions": "+ suggestions to review", "structural_kind": "Structural",
        "service_kind": "O&M", "overall_kind": "Overall", "quick": "quick rating", "rating": "rating",
        "index": "index", "segment_grade": "Segment grade (1-5)",
        "bar_is": "Bar", "at_least": "over at least {n} detections", "measured_for": "Precision measured for "
        "analysis {analysis} on {frames} real inspection frames kept out of its tuning (set {manifest}, {date}; "
        "details in the platform's documentation, {see}).",
    },
}  # fmt: skip

# what an observation stands as (services/vision/review.py ``standing``) and why, in the review column
REVIEW: dict[str, dict[str, str]] = {
    "fr": {
        "confirmed": "confirmée", "rejected": "rejetée", "trusted": "automatique, code fiable",
        "suggested": "suggestion à vérifier", "withdrawn": "retirée par une analyse ultérieure",
        "by": "par", "recoded": "recodée par {who} (trouvée : {code})", "not_measured": "précision non mesurée",
        "precision": "précision", "over": "sur", "detections": "détections",
        "too_few": "seulement : moins de", "bar": "seuil",
    },
    "en": {
        "confirmed": "confirmed", "rejected": "rejected", "trusted": "automatic, trusted code",
        "suggested": "suggestion to review", "withdrawn": "withdrawn by a later analysis",
        "by": "by", "recoded": "recoded by {who} (found: {code})", "not_measured": "precision not measured",
        "precision": "precision", "over": "over", "detections": "detections",
        "too_few": "only: fewer than", "bar": "bar",
    },
}  # fmt: skip

ENGLISH_CODE_NAMES = {
    "BAA": "Deformation", "BAB": "Crack", "BBA": "Roots", "BBB": "Attached deposits", "BBC": "Settled deposits",
    "BBE": "Other obstacles", "BDD": "Water level", "BDG": "Camera view lost",
}  # fmt: skip


# what the vision writes in an observation's remark (services/vision/: store.py, intrusions.py, cracks.py), as a
# French report says it; a remark not listed (a reviewer's, a contractor's) is printed as written
FRENCH_REMARKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"the drone's sensor says (\d+) %: they disagree"),
        r"le capteur du drone indique \1 % : ils divergent",
    ),
    (re.compile(r"the drone's sensor says (\d+) %"), r"le capteur du drone indique \1 %"),
    (re.compile(r"roots: a fibrous mass"), "racines : une masse fibreuse"),
    (re.compile(r"an obstacle standing out from the wall"), "un obstacle en saillie de la paroi"),
    (re.compile(r"attached deposits along the wall"), "dépôts adhérents le long de la paroi"),
    (re.compile(r"^circumferential$"), "circonférentielle"),
    (re.compile(r"^longitudinal$"), "longitudinale"),
    (re.compile(r"^multiple$"), "multiple"),
)


def french_remark(text: str) -> str:
    for pattern, said in FRENCH_REMARKS:
        if pattern.search(text):
            return pattern.sub(said, text)
    return text


def filters(lang: Lang) -> dict[str, Any]:
    """The template's number, date and name filters in ``lang``."""

    def num(value: float | None, digits: int = 2) -> str:
        if value is None:
            return ""
        if lang == "fr":
            return number(float(value), digits)
        text = f"{float(value):,.{digits}f}"
        return text.rstrip("0").rstrip(".") if digits else text  # 60, not 6: no decimals, no zeros to drop

    def when(value: datetime | None) -> str:
        if value is None:
            return ""
        return date_time(value) if lang == "fr" else f"{value.astimezone(PARIS):%Y-%m-%d %H:%M} (Paris)"

    def code_name(code: str) -> str:
        """The vision's codes by our names (English: the common ones), the others by the standard's tables."""
        standard = MAIN_CODES.get(code, ("", ""))
        return CODE_NAMES.get(code, standard[1]) if lang == "fr" else ENGLISH_CODE_NAMES.get(code, standard[0])

    def material(value: str | None) -> str:
        return material_name(value) if lang == "fr" else (value or "")

    def shape(code: str | None) -> str:
        """ACA's value by its name; a letter outside the list as the file gave it; none: not given."""
        if not code:
            return LABELS[lang]["not_given"]
        names = SHAPE_VALUES.get(code)
        return (names[1] if lang == "fr" else names[0].lower()) if names else code

    def remark(text: str | None) -> str:
        return (french_remark(text) if lang == "fr" else text) if text else ""

    def header_name(code: str) -> str:
        """A header code's name in the standard's tables (an imported file's codes the page has no row for)."""
        names = HEADER_CODES.get(code)
        return (names[1] if lang == "fr" else names[0]) if names else code

    def header_value(value: str) -> str:
        """A header value as the file gave it; a decimal number with the report's decimal separator."""
        return value.replace(".", ",") if lang == "fr" and DECIMAL_VALUE.fullmatch(value) else value

    return {"num": num, "when": when, "code_name": code_name, "material": material, "remark": remark,
            "header_name": header_name, "header_value": header_value, "shape": shape}  # fmt: skip
