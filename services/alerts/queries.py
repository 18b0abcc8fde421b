"""What reading alerts needs, shared by the evaluator and the API (which must not import the evaluator's
modules: an HTTP handler never runs a worker's job)."""

from __future__ import annotations

from device_adapters.registry import metric_catalog

ALERT_COLUMNS = (
    "id, rule_id, rule_name, subject, device_id, family, labels, service, severity, state, resolution, began_at, "
    "fired_at, cleared_at, trigger_time, trigger_value, worst_value, summary, acknowledged_by, acknowledged_at, "
    "assignee, resolved_by, resolved_at, created_at, updated_at"
)


def series_source(family: str, metric: str) -> tuple[str, str]:
    """(table, column) of a family's metric; KeyError if the family has no such metric."""
    spec = metric_catalog()[(family, metric)]
    return spec.table, spec.column
