"""Alerts in the database: rules as rows, a subject's readings as samples, and the reconciliation of
computed episodes with stored alerts (docs/alerts.md, "One alert per problem").

``reconcile`` runs in the caller's transaction, which holds the subject's advisory lock: it inserts an
alert for an episode no stored alert covers, resolves an open alert whose episode cleared, and retracts
an open alert no episode supports any more (a late reading showed the breach did not hold). Every change
is a timeline row and an outbox row, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from pydantic import TypeAdapter, ValidationError

from core.db import scalar
from services.alerts import texts
from services.alerts.engine import Episode, Sample
from services.alerts.queries import series_source
from services.alerts.rules import AnyRule, DomainEventRule, Rule
from services.alerts.timeline import record_event
from services.alerts.validation import problem_of

RULE = TypeAdapter(Rule)


@dataclass(frozen=True)
class StoredRule:
    id: int
    rule: AnyRule
    last_error: str | None = None  # as stored when the rule was loaded


@dataclass(frozen=True)
class UnrunnableRule:
    """A stored rule the evaluator cannot run (a definition that no longer parses, an absence with nothing
    to watch...): written before the API checked it, or by hand. It is skipped, with ``reason`` on its row."""

    id: int
    name: str
    reason: str


@dataclass(frozen=True)
class Subject:
    """What an alert is about: a device (``key`` is its id), or a domain event seen on a device (``key`` is
    ``<type>:<event key>``, ``summary`` the event's own). ``labels`` are the device's, kept on the alert."""

    key: str
    device_id: str
    family: str
    labels: dict[str, str]
    summary: str | None = None
    place: str | None = None  # the device's location (the registry's), said in the alert's text


def load_rules(conn: psycopg.Connection[Any]) -> tuple[list[StoredRule], list[UnrunnableRule]]:
    """The enabled rules the evaluator can run, and those it cannot (with why): one bad row must not keep
    the others from being evaluated (issue 19: one rule stopped the evaluator)."""
    rows = conn.execute("SELECT id, name, definition, last_error FROM alert_rules WHERE enabled ORDER BY id").fetchall()
    runnable, unrunnable = [], []
    for r in rows:
        rule_id, name, definition = r["id"], r["name"], r["definition"]
        try:
            rule = RULE.validate_python(definition)
        except ValidationError as exc:
            unrunnable.append(UnrunnableRule(rule_id, name, _refusal(exc)))
            continue
        problem = problem_of(rule)
        if problem is not None:
            unrunnable.append(UnrunnableRule(rule_id, name, f"{problem.field}: {problem.message}"))
        else:
            runnable.append(StoredRule(rule_id, rule, r["last_error"]))
    return runnable, unrunnable


def _refusal(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": str(exc)}
    where = ".".join(str(part) for part in first["loc"]) or "definition"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"definition refused: {where}: {first['msg']}{more}"


def note_rule_error(conn: psycopg.Connection[Any], rule_id: int, error: str | None) -> None:
    """Say on the rule why it could not be evaluated (``None``: it was, clear what was said)."""
    conn.execute(
        "UPDATE alert_rules SET last_error = %s, last_error_at = CASE WHEN %s::text IS NULL THEN NULL ELSE now() END "
        "WHERE id = %s AND (last_error IS DISTINCT FROM %s OR %s::text IS NOT NULL)",
        (error, error, rule_id, error, error),
    )


def save_pack(conn: psycopg.Connection[Any], rules: Sequence[AnyRule], source: str) -> int:
    """Insert a pack's rules; update those still as the pack left them (a rule a person edited is theirs).
    Returns how many rows changed."""
    changed = 0
    for rule in rules:
        definition = Jsonb(rule.model_dump(mode="json", by_alias=True))
        cur = conn.execute(
            "INSERT INTO alert_rules (name, kind, definition, source) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (name) DO UPDATE SET definition = EXCLUDED.definition, kind = EXCLUDED.kind, "
            "updated_at = now() WHERE alert_rules.source = EXCLUDED.source "
            "AND alert_rules.definition IS DISTINCT FROM EXCLUDED.definition",
            (rule.name, rule.kind, definition, source),
        )
        changed += cur.rowcount
    return changed


def load_samples(
    conn: psycopg.Connection[Any], family: str, metric: str, device_id: str, start: datetime
) -> list[Sample]:
    table, column = series_source(family, metric)
    query = sql.SQL(
        "SELECT time, {col} FROM {tab} WHERE device_id = %s AND time >= %s AND {col} IS NOT NULL ORDER BY time"
    ).format(col=sql.Identifier(column), tab=sql.Identifier(table))
    return [Sample(r["time"], float(r[column])) for r in conn.execute(query, (device_id, start))]


def load_samples_of_many(
    conn: psycopg.Connection[Any], family: str, metric: str, device_ids: Sequence[str], start: datetime
) -> dict[str, list[Sample]]:
    """``load_samples`` for many devices in one query (the evaluator's pass over every changed device)."""
    table, column = series_source(family, metric)
    query = sql.SQL(
        "SELECT device_id, time, {col} FROM {tab} WHERE device_id = ANY(%s) AND time >= %s AND {col} IS NOT NULL"
    ).format(col=sql.Identifier(column), tab=sql.Identifier(table))
    found: dict[str, list[Sample]] = {}
    for r in conn.execute(query, (list(device_ids), start)):
        found.setdefault(r["device_id"], []).append(Sample(r["time"], float(r[column])))
    return found


def open_subjects(conn: psycopg.Connection[Any], rule_id: int, subjects: Sequence[str]) -> set[str]:
    rows = conn.execute(
        "SELECT DISTINCT subject FROM alerts WHERE rule_id = %s AND subject = ANY(%s) AND state <> 'resolved'",
        (rule_id, list(subjects)),
    ).fetchall()
    return {r["subject"] for r in rows}


def settled(
    conn: psycopg.Connection[Any], rule_id: int, computed: dict[str, list[Episode]], start: datetime
) -> set[str]:
    """The subjects whose computed episodes the stored alerts already say, with nothing open to retract or
    clear: reconciling them would change nothing, so the evaluator skips their locked transaction (most
    devices, most of the time: nothing fired, nothing open). Read without the lock: a subject wrongly
    judged unsettled only costs the locked path; one judged settled has no alert that could change."""
    rows = conn.execute(
        "SELECT subject, state, resolution, began_at, cleared_at, worst_value FROM alerts WHERE rule_id = %s "
        "AND subject = ANY(%s) AND (state <> 'resolved' OR cleared_at IS NULL OR cleared_at >= %s)",
        (rule_id, list(computed), start),
    ).fetchall()
    stored: dict[str, list[dict[str, Any]]] = {}
    for alert in rows:
        stored.setdefault(alert["subject"], []).append(alert)
    done = set()
    for subject, episodes in computed.items():
        alerts = stored.get(subject, [])
        if any(a["state"] != "resolved" for a in alerts):
            continue
        said = {(a["began_at"], a["cleared_at"], a["worst_value"]) for a in alerts if a["resolution"] != "retracted"}
        retracted = {a["began_at"] for a in alerts if a["resolution"] == "retracted"}
        fired = [e for e in episodes if e.fired_at is not None]
        if all(e.began_at in retracted or (e.began_at, e.cleared_at, e.worst) in said for e in fired):
            done.add(subject)
    return done


def load_times(
    conn: psycopg.Connection[Any], family: str, metric: str, device_id: str, start: datetime
) -> list[datetime]:
    table, column = series_source(family, metric)
    query = sql.SQL("SELECT time FROM {tab} WHERE device_id = %s AND time >= %s AND {col} IS NOT NULL").format(
        col=sql.Identifier(column), tab=sql.Identifier(table)
    )
    return [r["time"] for r in conn.execute(query, (device_id, start))]


def open_since(conn: psycopg.Connection[Any], rule_id: int, subject: str) -> datetime | None:
    return scalar(
        conn,
        "SELECT min(began_at) FROM alerts WHERE rule_id = %s AND subject = %s AND state <> 'resolved'",
        (rule_id, subject),
    )


def _summary(rule: AnyRule, subject: Subject, episode: Episode) -> str:
    """The alert's text for staff, in French (``texts.summary``)."""
    return texts.summary(rule, subject.device_id, subject.family, subject.place, episode, subject.summary)


def _same_problem(alert: dict[str, Any], episode: Episode) -> bool:
    """An alert stands for an episode when their spans overlap (a late reading may show that a problem
    began before its alert said). A retracted alert stands for nothing, except the episode it was keyed on
    (which stays retracted: the evidence that disproved it cannot be un-received)."""
    if alert["resolution"] == "retracted":
        return alert["began_at"] == episode.began_at
    ends_after_start = alert["cleared_at"] is None or episode.began_at < alert["cleared_at"]
    starts_before_end = episode.cleared_at is None or alert["began_at"] < episode.cleared_at
    return ends_after_start and starts_before_end


def _move_start(
    conn: psycopg.Connection[Any],
    rule_id: int,
    subject: str,
    alert: dict[str, Any],
    episode: Episode,
    changes: list[tuple[str, int]],
    summary: str,
) -> None:
    """The open alert's problem began earlier than it said (a late reading): move its start, fired time and
    trigger back, rewrite its text (it says since when), and say so on its timeline. Not if another alert of
    the subject is keyed on that start."""
    trigger = episode.trigger
    cur = conn.execute(
        "UPDATE alerts SET began_at = %s, fired_at = %s, trigger_time = %s, trigger_value = %s, summary = %s, "
        "updated_at = now() WHERE id = %s AND state <> 'resolved' AND NOT EXISTS "
        "(SELECT 1 FROM alerts o WHERE o.rule_id = %s AND o.subject = %s AND o.began_at = %s)",
        (episode.began_at, episode.fired_at, trigger.time if trigger else None, trigger.value if trigger else None,
         summary, alert["id"], rule_id, subject, episode.began_at),
    )  # fmt: skip
    if cur.rowcount:
        record_event(conn, alert["id"], "began_earlier", {"began_at": episode.began_at.isoformat(),
                                                          "was": alert["began_at"].isoformat()})  # fmt: skip
        alert["began_at"] = episode.began_at
        changes.append(("began_earlier", alert["id"]))


def reconcile(
    conn: psycopg.Connection[Any],
    stored_rule: StoredRule,
    subject: Subject,
    episodes: Sequence[Episode],
    window_start: datetime,
) -> list[tuple[str, int]]:
    """Make the stored alerts of (rule, subject) agree with ``episodes`` (those computed from readings at or
    after ``window_start``). Returns the changes as (kind, alert id)."""
    rule = stored_rule.rule
    stored: list[dict[str, Any]] = conn.execute(
        "SELECT id, state, resolution, began_at, cleared_at FROM alerts WHERE rule_id = %s AND subject = %s "
        "AND (cleared_at IS NULL OR cleared_at >= %s OR state <> 'resolved') ORDER BY began_at",
        (stored_rule.id, subject.key, window_start),
    ).fetchall()
    changes: list[tuple[str, int]] = []
    supported: set[int] = set()
    for episode in (e for e in episodes if e.fired_at is not None):
        covering = next((a for a in stored if _same_problem(a, episode)), None)
        if covering is not None and covering["state"] != "resolved" and episode.began_at < covering["began_at"]:
            _move_start(conn, stored_rule.id, subject.key, covering, episode, changes, _summary(rule, subject, episode))
        if covering is not None:
            supported.add(covering["id"])
            if covering["state"] != "resolved" and episode.cleared_at is not None:
                # `state <> 'resolved'` in the statement too: a change is recorded once, lock or not
                cur = conn.execute(
                    "UPDATE alerts SET state = 'resolved', resolution = 'cleared', cleared_at = %s, "
                    "worst_value = %s, updated_at = now() WHERE id = %s AND state <> 'resolved'",
                    (episode.cleared_at, episode.worst, covering["id"]),
                )
                covering["state"], covering["cleared_at"] = "resolved", episode.cleared_at
                if cur.rowcount:
                    record_event(conn, covering["id"], "cleared", {"cleared_at": episode.cleared_at.isoformat()})
                    changes.append(("cleared", covering["id"]))
            elif covering["state"] == "resolved" and covering["cleared_at"] is None and episode.cleared_at:
                # resolved by a person while the condition held: record when it cleared (no new alert)
                conn.execute("UPDATE alerts SET cleared_at = %s WHERE id = %s", (episode.cleared_at, covering["id"]))
                covering["cleared_at"] = episode.cleared_at
            elif episode.worst is not None:
                conn.execute(  # the text says the worst value too
                    "UPDATE alerts SET worst_value = %s, summary = %s WHERE id = %s "
                    "AND worst_value IS DISTINCT FROM %s",
                    (episode.worst, _summary(rule, subject, episode), covering["id"], episode.worst),
                )
            continue
        state, resolution = ("resolved", "cleared") if episode.cleared_at is not None else ("firing", None)
        trigger = episode.trigger
        row = conn.execute(
            "INSERT INTO alerts (rule_id, rule_name, subject, device_id, family, labels, service, severity, state, "
            "resolution, began_at, fired_at, cleared_at, trigger_time, trigger_value, worst_value, summary) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (rule_id, subject, began_at) DO NOTHING RETURNING id",
            (
                stored_rule.id, rule.name, subject.key, subject.device_id, subject.family, Jsonb(subject.labels),
                rule.service, rule.severity.value, state, resolution, episode.began_at, episode.fired_at,
                episode.cleared_at, trigger.time if trigger else None, trigger.value if trigger else None,
                episode.worst, _summary(rule, subject, episode),
            ),
        ).fetchone()  # fmt: skip
        if row is None:
            continue  # written already (the lock makes this the rare path: a concurrent writer without it)
        alert_id = row["id"]
        stored.append(
            {
                "id": alert_id,
                "state": state,
                "resolution": resolution,
                "began_at": episode.began_at,
                "cleared_at": episode.cleared_at,
            }
        )
        supported.add(alert_id)
        record_event(conn, alert_id, "fired", {"began_at": episode.began_at.isoformat(), "late": state == "resolved"})
        changes.append(("fired", alert_id))
        if state == "resolved":
            record_event(conn, alert_id, "cleared", {"cleared_at": episode.cleared_at.isoformat()})  # type: ignore[union-attr]
    for alert in stored:
        if alert["state"] != "resolved" and alert["id"] not in supported and alert["began_at"] >= window_start:
            cur = conn.execute(
                "UPDATE alerts SET state = 'resolved', resolution = 'retracted', updated_at = now() "
                "WHERE id = %s AND state <> 'resolved'",
                (alert["id"],),
            )
            if cur.rowcount:
                reason = (
                    "l'événement qui l'a levée a été retiré"
                    if isinstance(rule, DomainEventRule)
                    else "les mesures reçues depuis montrent que la condition n'a pas duré"
                )
                record_event(conn, alert["id"], "retracted", {"reason": reason})
                changes.append(("retracted", alert["id"]))
    return changes
