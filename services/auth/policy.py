"""Who may call which route: one table, read by the one authorisation dependency.

Every /v1 operation of the platform must appear here (a family's own routes get its readers' policy, added
by the API that mounts them: ``services/api/policy.py``); a route missing from the table is refused to
everyone (fail closed) and ``tests/integration/test_auth.py`` fails until it is declared. ``audit`` marks the routes
whose every call, allowed or refused, goes to the audit log: all writes and the reads of sensitive
resources (media, dead letters, pipe inspections, camera evidence, credentials, the log itself).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from device_adapters.capabilities import Capability
from device_adapters.family import Family
from device_adapters.registry import FAMILIES, providing
from services.auth.readers import STAFF, reader_roles
from services.auth.roles import ALL_ROLES, Role

ADMIN, OPERATOR = Role.ADMIN, Role.OPERATOR


@dataclass(frozen=True)
class Policy:
    roles: frozenset[Role]
    audit: bool = False


def allow(*roles: Role, audit: bool = False) -> Policy:
    return Policy(frozenset(roles), audit)


EVERYONE = Policy(ALL_ROLES)


def readers_policy(family: Family) -> Policy:
    """Who may read a family's data, as the family declares it (device_adapters/<family>/__init__.py)."""
    return Policy(reader_roles(family), family.readers.audited)


# Routes that serve several families (readings, media) narrow to the family of what they serve: a
# drone's telemetry or frame is pipe data, a camera snapshot is evidence, whichever route asks for it.
FAMILY_READERS: dict[str, Policy] = {family.name: readers_policy(family) for family in FAMILIES}


def capability_readers(capability: Capability) -> Policy:
    """Who may read what a capability's service derives from every family that provides it (incidents
    from all the cameras, observations from all the drones): the roles *every* such family lets read
    (fail closed: a second camera vendor readable by fewer roles narrows the incidents to those), audited
    when any of them is; the platform's staff, audited, while no family provides it."""
    families = providing(capability)
    if not families:
        return Policy(STAFF, audit=True)
    roles = frozenset.intersection(*(reader_roles(f) for f in families))
    return Policy(roles, any(f.readers.audited for f in families))


MEDIA_ROUTE = "/v1/media/{sha256}"
ACT_ON_ALERTS = Policy(ALL_ROLES - {Role.VIEWER}, audit=True)

PLATFORM_POLICIES: dict[tuple[str, str], Policy] = {
    ("GET", "/v1/capabilities"): EVERYONE,
    ("GET", "/v1/metrics"): EVERYONE,
    ("GET", "/v1/devices"): EVERYONE,
    ("GET", "/v1/devices/{device_id}"): EVERYONE,
    ("GET", "/v1/devices/{device_id}/readings"): EVERYONE,
    ("GET", "/v1/devices/{device_id}/readings.csv"): EVERYONE,
    ("GET", "/v1/devices.geojson"): EVERYONE,
    ("GET", "/v1/data-completeness"): EVERYONE,  # narrowed to the families the caller reads
    # experiments: the lab's staff declare them, everyone lists them; KPIs narrowed to the capability's readers
    ("GET", "/v1/experiments"): EVERYONE,
    ("POST", "/v1/experiments"): allow(ADMIN, OPERATOR, audit=True),
    ("GET", "/v1/experiments/{experiment_id}"): EVERYONE,
    ("GET", "/v1/experiments/{experiment_id}/kpis"): EVERYONE,
    ("PUT", "/v1/experiments/{experiment_id}/baseline-records"): allow(ADMIN, OPERATOR, audit=True),
    ("PUT", "/v1/devices/{device_id}/position"): allow(ADMIN, OPERATOR, audit=True),
    ("DELETE", "/v1/devices/{device_id}/position"): allow(ADMIN, OPERATOR, audit=True),
    # narrowed to the medium's family: FAMILY_READERS
    ("GET", MEDIA_ROUTE): allow(ADMIN, OPERATOR, Role.SANITATION, Role.CLEANLINESS, Role.POLICE, audit=True),
    # every role, narrowed to the alerts of its own service (admin and operator: all)
    ("GET", "/v1/alerts"): EVERYONE,
    ("GET", "/v1/alerts/{alert_id}"): EVERYONE,
    ("GET", "/v1/alerts/stream"): EVERYONE,
    ("GET", "/v1/alerts.csv"): EVERYONE,
    # the services act on their own alerts (and admin, operator on all); a viewer only reads
    ("POST", "/v1/alerts/{alert_id}/ack"): ACT_ON_ALERTS,
    ("POST", "/v1/alerts/{alert_id}/assign"): ACT_ON_ALERTS,
    ("POST", "/v1/alerts/{alert_id}/resolve"): ACT_ON_ALERTS,
    ("GET", "/v1/alert-rules"): EVERYONE,
    ("POST", "/v1/alert-rules"): allow(ADMIN, OPERATOR, audit=True),
    ("PUT", "/v1/alert-rules/{rule_id}"): allow(ADMIN, OPERATOR, audit=True),
    ("DELETE", "/v1/alert-rules/{rule_id}"): allow(ADMIN, OPERATOR, audit=True),
    ("POST", "/v1/silences"): ACT_ON_ALERTS,  # a service silences only its own alerts
    ("GET", "/v1/silences"): EVERYONE,
    ("POST", "/v1/silences/{silence_id}/expire"): ACT_ON_ALERTS,
    ("POST", "/v1/webhooks"): allow(ADMIN, audit=True),
    ("GET", "/v1/webhooks"): allow(ADMIN, audit=True),
    ("DELETE", "/v1/webhooks/{webhook_id}"): allow(ADMIN, audit=True),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): allow(ADMIN, OPERATOR, audit=True),
    ("GET", "/v1/dead-letters"): allow(ADMIN, OPERATOR, audit=True),
    ("GET", "/v1/dead-letters/{dead_letter_id}"): allow(ADMIN, OPERATOR, audit=True),
    ("GET", "/v1/dead-letters/{dead_letter_id}/payload"): allow(ADMIN, OPERATOR, audit=True),
    ("POST", "/v1/dead-letters/replay"): allow(ADMIN, OPERATOR, audit=True),
    ("GET", "/v1/dead-letters/replays/{replay_id}"): allow(ADMIN, OPERATOR, audit=True),
    ("POST", "/v1/devices"): allow(ADMIN, audit=True),
    ("POST", "/v1/devices/{device_id}/credentials"): allow(ADMIN, audit=True),
    ("DELETE", "/v1/devices/{device_id}/credentials"): allow(ADMIN, audit=True),
    ("PUT", "/v1/devices/{device_id}/labels"): allow(ADMIN, OPERATOR, audit=True),
    # privacy masks: what a camera must never show; set by the platform's admin (the DPO's decision)
    ("GET", "/v1/devices/{device_id}/privacy-masks"): allow(ADMIN, OPERATOR),
    ("PUT", "/v1/devices/{device_id}/privacy-masks"): allow(ADMIN, audit=True),
    # pipe observations are the drones' data (their readers); sanitation and operator review them
    ("GET", "/v1/missions/{mission_id}/observations"): capability_readers(Capability.PIPE_INSPECTION),
    ("GET", "/v1/observations/{observation_id}"): capability_readers(Capability.PIPE_INSPECTION),
    ("GET", "/v1/missions/{mission_id}/shortlist"): capability_readers(Capability.PIPE_INSPECTION),
    ("GET", "/v1/missions/{mission_id}/report"): capability_readers(Capability.PIPE_INSPECTION),
    ("GET", "/v1/missions/{mission_id}/comparison"): capability_readers(Capability.PIPE_INSPECTION),
    ("POST", "/v1/observations/{observation_id}/review"): allow(ADMIN, OPERATOR, Role.SANITATION, audit=True),
    # contractors' exchange files: sanitation (and the staff) import them, the pipe inspection's readers read them
    ("POST", "/v1/inspection-imports"): allow(ADMIN, OPERATOR, Role.SANITATION, audit=True),
    ("GET", "/v1/inspection-imports"): capability_readers(Capability.PIPE_INSPECTION),
    ("GET", "/v1/inspection-imports/{import_id}"): capability_readers(Capability.PIPE_INSPECTION),
    ("GET", "/v1/inspection-imports/{import_id}/file"): capability_readers(Capability.PIPE_INSPECTION),
    ("DELETE", "/v1/inspection-imports/{import_id}"): allow(ADMIN, OPERATOR, Role.SANITATION, audit=True),
    # dumping incidents are the cameras' data (their readers, audited: personal data); agents decide
    ("GET", "/v1/incidents"): capability_readers(Capability.CAMERA_DETECTIONS),
    ("GET", "/v1/incidents.csv"): capability_readers(Capability.CAMERA_DETECTIONS),
    ("GET", "/v1/incidents.geojson"): capability_readers(Capability.CAMERA_DETECTIONS),
    # the drone's manholes and inspected segments are pipe maps: the pipe inspection's readers; sanitation
    # (and the staff) place them
    ("GET", "/v1/manholes"): capability_readers(Capability.PIPE_INSPECTION),
    ("PUT", "/v1/manholes/{ref}"): allow(ADMIN, OPERATOR, Role.SANITATION, audit=True),
    ("GET", "/v1/missions.geojson"): capability_readers(Capability.PIPE_INSPECTION),
    ("GET", "/v1/incidents/{incident_id}"): capability_readers(Capability.CAMERA_DETECTIONS),
    **{
        ("POST", f"/v1/incidents/{{incident_id}}/{action}"): allow(ADMIN, OPERATOR, Role.CLEANLINESS, audit=True)
        for action in ("confirm", "dismiss", "clear", "close")
    },
    # originals (what the camera sent, masks applied) and legal holds: police only, each call audited with
    # the incident it is for (audit_log.subject)
    ("GET", "/v1/incidents/{incident_id}/evidence/{sha256}"): allow(Role.POLICE, audit=True),
    ("POST", "/v1/incidents/{incident_id}/hold"): allow(Role.POLICE, audit=True),
    ("POST", "/v1/incidents/{incident_id}/release"): allow(Role.POLICE, audit=True),
    ("GET", "/v1/tokens"): allow(ADMIN, audit=True),
    ("POST", "/v1/tokens"): allow(ADMIN, audit=True),
    ("DELETE", "/v1/tokens/{token_id}"): allow(ADMIN, audit=True),
    ("GET", "/v1/audit"): allow(ADMIN, audit=True),
}

READINGS_ROUTE = "/v1/devices/{device_id}/readings"
NARROWED_BY_FAMILY = (READINGS_ROUTE, f"{READINGS_ROUTE}.csv", MEDIA_ROUTE)
# Routes every role may call that then narrow to the readers of their subject's data: an experiment's KPIs are
# its pilot's data (its family's readers, else its capability's)
NARROWED_BY_SUBJECT = ("/v1/experiments/{experiment_id}/kpis",)
# Data whose family is not known (a medium stored before families were recorded): the platform's staff.
UNKNOWN_FAMILY = Policy(STAFF, audit=True)


def family_readers(family: str | None) -> Policy:
    return FAMILY_READERS.get(family, UNKNOWN_FAMILY) if family else UNKNOWN_FAMILY


# Refuses everyone: what a route gets when it forgot to declare its policy.
UNDECLARED = Policy(frozenset(), audit=True)


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("/".join("[^/]+" if part.startswith("{") else re.escape(part) for part in template.split("/")))


class PolicyTable:
    """A whole table, (method, /v1 template) -> policy: the platform's routes and the families' own (their
    readers may call them), composed by the API that mounts the latter (``services/api/policy.py``)."""

    def __init__(self, platform: Mapping[tuple[str, str], Policy], family_routes: Mapping[tuple[str, str], Family]):
        self.policies: dict[tuple[str, str], Policy] = {
            **platform,
            **{route: readers_policy(family) for route, family in family_routes.items()},
        }
        # Most literal templates first, so /v1/dead-letters/replay wins over /v1/dead-letters/{dead_letter_id}.
        self._matchers = sorted(
            ((method, template, _pattern(template)) for method, template in self.policies),
            key=lambda m: m[1].count("{"),
        )

    def policy_for(self, method: str, path_template: str) -> Policy:
        return self.policies.get((method.upper(), path_template), UNDECLARED)

    def match_request(self, method: str, path: str) -> tuple[str, Policy]:
        """(route template, policy) of a concrete request path; a path no declared template matches gets
        UNDECLARED. Matching the request rather than reading the router keeps this independent of how
        the web framework nests routers."""
        for route_method, template, pattern in self._matchers:
            if route_method == method.upper() and pattern.fullmatch(path):
                return template, self.policies[(route_method, template)]
        return path, UNDECLARED

    def role_matrix_markdown(self) -> list[str]:
        """The policy as a Markdown table (route x role), for the README (``tlab policy --markdown``)."""
        roles = list(Role)
        lines = ["| route | " + " | ".join(r.value for r in roles) + " | audited |", "|---" * (len(roles) + 2) + "|"]
        for (method, template), policy in self.policies.items():
            marks = " | ".join("✓" if role in policy.roles else "" for role in roles)
            note = "yes" if policy.audit else ""
            if template in NARROWED_BY_SUBJECT:
                note = "narrowed to the readers of the experiment's family (else capability)"
            if template in NARROWED_BY_FAMILY:
                narrowed = [(f, p) for f, p in FAMILY_READERS.items() if p.roles != ALL_ROLES]
                note = "; ".join(f"{f} data: {', '.join(r.value for r in roles if r in p.roles)}" for f, p in narrowed)
            lines.append(f"| `{method} {template}` | {marks} | {note} |")
        return lines
