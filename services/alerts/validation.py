"""Whether the evaluator can run a rule: what the rule models cannot know alone (the families, their metrics,
the roles). One check for the API (a 422 at creation and update), the packs loaded from files (refused at
start) and the evaluator (a stored rule that fails it is skipped with its reason on the rule, never run).

Found probing the platform (issue 19): an absence rule on the cameras (no metric to watch) was accepted,
and then every tick of ``tlab alerts`` died on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from device_adapters.registry import FAMILIES, metric_catalog
from device_adapters.registry import family as find_family
from services.alerts.rules import Absent, AnyRule, DeadLetterSurge, DomainEventRule, Offline
from services.auth.roles import Role

# kinds that need no metric of a family: they may watch every family ("*")
EVERY_FAMILY_KINDS = (Offline, DeadLetterSurge, DomainEventRule)


@dataclass(frozen=True)
class RuleProblem:
    """Why a rule cannot run: the field at fault and a sentence for the person who wrote it."""

    field: str
    message: str
    value: object


class RuleNotRunnable(ValueError):
    def __init__(self, problem: RuleProblem) -> None:
        super().__init__(f"{problem.field}: {problem.message}")
        self.problem = problem


def problem_of(rule: AnyRule) -> RuleProblem | None:
    """The first reason the evaluator could not run ``rule``, or None."""
    families = {f.name for f in FAMILIES}
    family = rule.scope.family
    if family == "*":
        if not isinstance(rule, EVERY_FAMILY_KINDS):
            return RuleProblem("scope", f"a {rule.kind} rule watches one family's metric: name the family", family)
    elif family not in families:
        return RuleProblem("scope", f"family {family!r} is not a family ({', '.join(sorted(families))})", family)
    metric = getattr(rule, "metric", None)
    if metric is not None and (family, metric) not in metric_catalog():
        return RuleProblem("metric", f"{metric!r} is not one of {family}'s (see /v1/metrics)", metric)
    if isinstance(rule, Absent) and metric is None and not find_family(family).adapter.metrics:
        return RuleProblem("metric", f"family {family!r} has no metric to watch for absence: use an offline rule",
                           None)  # fmt: skip
    if rule.service not in {r.value for r in Role}:
        return RuleProblem("service", f"{rule.service!r} is not a role (a service)", rule.service)
    return None


def check_runnable(rule: AnyRule) -> None:
    """Raise ``RuleNotRunnable`` if the evaluator could not run ``rule``."""
    problem = problem_of(rule)
    if problem is not None:
        raise RuleNotRunnable(problem)
