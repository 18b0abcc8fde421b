"""The French report's words (services/reports/labels.py): the vision's English remarks said in French."""

from __future__ import annotations

from datetime import UTC, datetime

from services.reports.labels import filters, french_remark


def test_the_vision_s_remarks_are_said_in_french_and_others_kept_as_written() -> None:
    assert french_remark("the drone's sensor says 22 %") == "le capteur du drone indique 22 %"
    assert (
        french_remark("the drone's sensor says 60 %: they disagree")
        == "le capteur du drone indique 60 % : ils divergent"
    )
    assert french_remark("circumferential") == "circonférentielle"
    assert french_remark("vu par l'agent, à reprendre") == "vu par l'agent, à reprendre"  # a person's note
    assert filters("en")["remark"]("circumferential") == "circumferential"


def test_numbers_and_dates_in_each_language() -> None:
    fr, en = filters("fr"), filters("en")
    at = datetime(2026, 12, 6, 9, 5, tzinfo=UTC)
    assert fr["when"](at) == "06/12/2026 à 10 h 05" and en["when"](at) == "2026-12-06 10:05 (Paris)"
    assert fr["num"](1234.5) == "1\u202f234,5" and en["num"](1234.5) == "1,234.5"
    # a share without decimals keeps its zeros (English said 60 % as "6 %", 100 % as "1 %")
    assert [en["num"](v, 0) for v in (60, 100, 0)] == ["60", "100", "0"]
    assert [fr["num"](v, 0) for v in (60, 100, 0)] == ["60", "100", "0"]
    assert en["num"](2.50) == "2.5" and en["shape"]("C") == "egg-shaped" and fr["shape"](None) == "non renseigné"
    assert fr["code_name"]("BAB") == "Fissure" and en["code_name"]("BAB") == "Crack"
    assert fr["material"]("cast iron") == "fonte" and en["material"]("cast iron") == "cast iron"
