"""Alert texts in French for staff (services/alerts/texts.py): the metric's French name, the value with its unit,
the device and its place, since when in Paris time, the rule's condition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.alerts.engine import Episode
from services.alerts.rules import Absent, DeadLetterSurge, DomainEventRule, Offline, RateOfChange, Threshold
from services.alerts.texts import summary

NB = "\u202f"
BEGAN = datetime(2026, 12, 1, 9, 12, tzinfo=UTC)  # 10 h 12 in Paris
SCOPE = {"family": "ptipot"}


def rule(cls, **fields):
    return cls.model_validate({"name": "r", "scope": SCOPE, "severity": "warning", "service": "green_spaces",
                               **fields})  # fmt: skip


def test_a_threshold_says_what_where_how_much_and_since_when() -> None:
    frost = rule(Threshold, metric="air_temp_c", direction="below", fire=1.0, clear=3.0, **{"for": "PT10M"})
    text = summary(frost, "sim-garden-01", "ptipot", "Jardin des Plantes", Episode(BEGAN, worst=0.4), None)
    assert text == (f"Température de l'air 0,4{NB}°C sur sim-garden-01 (Jardin des Plantes) : ≤ 1{NB}°C pendant "
                    "10 min, depuis le 01/12/2026 à 10 h 12")  # fmt: skip
    dry = rule(Threshold, metric="soil_vwc_pct", direction="below", fire=25.0, clear=30.0)
    assert summary(dry, "g1", "ptipot", None, Episode(BEGAN, worst=20.0), None).startswith(
        f"Humidité du sol 20{NB}% sur g1 : ≤ 25{NB}%, depuis"
    )


def test_every_kind_of_rule_is_said_in_french() -> None:
    episode = Episode(BEGAN, worst=4.5)
    rise = rule(RateOfChange, metric="air_temp_c", direction="rise", by=3.0, window="PT1H")
    assert summary(rise, "g1", "ptipot", None, episode, None).startswith(
        f"Température de l'air en hausse de 4,5{NB}°C en 1 h sur g1 (seuil : 3{NB}°C)"
    )
    offline = rule(Offline, **{"for": "PT30M"})
    assert summary(offline, "g1", "ptipot", "Serre 2", episode, None).startswith("g1 (Serre 2) hors ligne depuis")
    absent = rule(Absent, metric="rain_mm", **{"for": "PT2H"})
    assert summary(absent, "g1", "ptipot", None, episode, None).startswith("Aucune mesure « Pluie » de g1 depuis")
    surge = rule(DeadLetterSurge, threshold=1000, window="PT5M")
    assert summary(surge, "g1", "ptipot", None, episode, None).startswith(
        f"Plus de 1{NB}000 messages refusés de g1 en 5 min"
    )
    event = rule(DomainEventRule, event="pipe_defect")
    assert summary(event, "g1", "ptipot", None, episode, None).startswith("Événement pipe_defect sur g1")


def test_an_event_says_its_own_words_and_the_place_it_does_not_name() -> None:
    event = rule(DomainEventRule, event="dumping_suspected")
    said = "Dépôt suspect « couch » dans la zone « trottoir » depuis 10 h 12 (incident 4)"
    assert summary(event, "cam1", "karroad", "12 rue des Lilas", Episode(BEGAN), said) == (
        f"{said} ; lieu : 12 rue des Lilas"
    )
    assert summary(event, "cam1", "karroad", None, Episode(BEGAN), said) == said


def test_a_metric_the_family_does_not_name_is_said_by_its_name() -> None:
    odd = rule(Threshold, metric="weight_kg", direction="above", fire=80.0, clear=70.0)
    assert summary(odd, "h1", "nobody", None, Episode(BEGAN - timedelta(days=2), worst=81.0), None).startswith(
        "weight_kg 81 sur h1 : ≥ 80, depuis le"
    )
