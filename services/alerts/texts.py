"""An alert's summary, in French, for the staff who read it (issue 22): the metric's French name, its value
with the unit, the device and its place, since when in Paris time, and the rule's condition.

``Température de l'air 0,4 °C au capteur sim-garden-01 (Jardin des Plantes) : ≤ 1 °C pendant 10 min,
depuis 10 h 12``. A domain event's alert says the event's own text (the vision, the incidents write it in
French), with the device's place when the event does not name it. The alert's fields stay in English.
"""

from __future__ import annotations

from core.french import duration, number, quantity, since
from device_adapters.registry import metric_catalog
from services.alerts.engine import Episode
from services.alerts.rules import (
    AnyRule,
    DeadLetterSurge,
    DomainEventRule,
    Offline,
    RateOfChange,
    Threshold,
)


def _where(device_id: str, place: str | None) -> str:
    return f"{device_id} ({place})" if place else device_id


def _metric(family: str, metric: str) -> tuple[str, str]:
    """The metric's French name and its unit (its name and no unit when the family does not say)."""
    spec = metric_catalog().get((family, metric))
    if spec is None:
        return metric, ""
    return spec.label_fr or spec.name, spec.unit


def summary(
    rule: AnyRule, device_id: str, family: str, place: str | None, episode: Episode, event_summary: str | None
) -> str:
    where = _where(device_id, place)
    began = since(episode.began_at)
    if event_summary is not None:  # a domain event's own words
        return event_summary if not place or place in event_summary else f"{event_summary} ; lieu : {place}"
    if isinstance(rule, Threshold):
        label, unit = _metric(family, rule.metric)
        sign = "≥" if rule.direction == "above" else "≤"
        value = quantity(episode.worst, unit) if episode.worst is not None else "?"
        lasting = f" pendant {duration(rule.for_)}" if rule.for_.total_seconds() > 0 else ""
        return f"{label} {value} sur {where} : {sign} {quantity(rule.fire, unit)}{lasting}, {began}"
    if isinstance(rule, RateOfChange):
        label, unit = _metric(family, rule.metric)
        moved = "en hausse" if rule.direction == "rise" else "en baisse"
        change = quantity(episode.worst, unit) if episode.worst is not None else "?"
        return (f"{label} {moved} de {change} en {duration(rule.window)} sur {where} "
                f"(seuil : {quantity(rule.by, unit)}), {began}")  # fmt: skip
    if isinstance(rule, DomainEventRule):
        return f"Événement {rule.event} sur {where}, {began}"
    if isinstance(rule, DeadLetterSurge):
        refused = f"Plus de {number(rule.threshold, 0)} messages refusés de {where} en {duration(rule.window)}"
        return f"{refused}, {began}"
    if isinstance(rule, Offline):
        return f"{where} hors ligne {began} (alerte après {duration(rule.for_)})"
    what = f"Aucune mesure « {_metric(family, rule.metric)[0]} »" if rule.metric else "Aucune donnée"
    return f"{what} de {where} {began} (alerte après {duration(rule.for_)})"
