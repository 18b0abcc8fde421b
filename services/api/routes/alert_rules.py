"""Alert rules over HTTP: the default packs' rules (``source: pack:<family>``, ``pack:<capability>``,
``pack:platform``: services/alerts/packs.py) and people's own. Editing a pack rule makes it the editor's
(``source: api``): the pack no longer overwrites it at start. A rule that fired alerts is disabled, not
deleted (its alerts name it)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Response
from psycopg.types.json import Jsonb
from pydantic import BaseModel, Field

from services.alerts.rules import Rule
from services.alerts.validation import problem_of
from services.api.deps import ConnDep
from services.api.schemas import ErrorMessage, invalid
from services.auth.readers import routing_problem

router = APIRouter(prefix="/alert-rules", tags=["alerts"])
RuleId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Rule id.")]
COLUMNS = "id, name, kind, definition, enabled, source, created_at, updated_at, last_error, last_error_at"


class StoredRule(BaseModel):
    id: int
    name: str
    kind: str
    definition: dict[str, Any]
    enabled: bool
    source: str
    created_at: datetime
    updated_at: datetime
    last_error: str | None = Field(
        description="Why the evaluator could not evaluate this rule at its last try (None: it could)."
    )
    last_error_at: datetime | None


def _check(rule: Any) -> None:
    """What the rule models cannot know alone (its family, metric and service exist): the evaluator's own
    check (services/alerts/validation.py), so that no rule accepted here can fail there."""
    problem = problem_of(rule)
    if problem is not None:
        raise invalid("body", problem.field, problem.message, problem.value)
    unreadable = routing_problem(rule.service, rule.scope.family)  # its alerts show the family's data
    if unreadable is not None:
        raise invalid("body", "service", unreadable, rule.service)


@router.get("", summary="Every alert rule, enabled or not")
def list_rules(conn: ConnDep) -> list[StoredRule]:
    return [StoredRule(**r) for r in conn.execute(f"SELECT {COLUMNS} FROM alert_rules ORDER BY id").fetchall()]


@router.post(
    "",
    status_code=201,
    summary="Add a rule (evaluated from the next readings on)",
    responses={409: {"model": ErrorMessage, "description": "A rule with this name exists"}},
)
def create_rule(conn: ConnDep, rule: Rule) -> StoredRule:
    _check(rule)
    row = conn.execute(
        f"INSERT INTO alert_rules (name, kind, definition, source) VALUES (%s, %s, %s, 'api') "
        f"ON CONFLICT (name) DO NOTHING RETURNING {COLUMNS}",
        (rule.name, rule.kind, Jsonb(rule.model_dump(mode="json", by_alias=True))),
    ).fetchone()
    if row is None:
        raise HTTPException(409, f"a rule named {rule.name!r} exists: PUT it by id")
    return StoredRule(**row)


@router.put("/{rule_id}", summary="Replace a rule's definition (a pack rule becomes yours) and enable it")
def replace_rule(conn: ConnDep, rule_id: RuleId, rule: Rule) -> StoredRule:
    _check(rule)
    row = conn.execute(
        f"UPDATE alert_rules SET name = %s, kind = %s, definition = %s, source = 'api', enabled = true, "
        f"last_error = NULL, last_error_at = NULL, updated_at = now() WHERE id = %s RETURNING {COLUMNS}",
        (rule.name, rule.kind, Jsonb(rule.model_dump(mode="json", by_alias=True)), rule_id),
    ).fetchone()
    if row is None:
        raise HTTPException(404, f"rule {rule_id} not found")
    return StoredRule(**row)


@router.delete("/{rule_id}", status_code=204, summary="Disable a rule (its alerts keep naming it)")
def disable_rule(conn: ConnDep, rule_id: RuleId) -> Response:
    cur = conn.execute(
        "UPDATE alert_rules SET enabled = false, source = 'api', updated_at = now() WHERE id = %s", (rule_id,)
    )
    if cur.rowcount != 1:
        raise HTTPException(404, f"rule {rule_id} not found")
    return Response(status_code=204)
