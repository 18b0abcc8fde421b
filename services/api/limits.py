"""How much one request may make the API read and the database do: bodies, time spans, pages, query time.

One table per bound, keyed like the access policy (``services/auth/policy.py``) by ``(method, /v1 template)``,
so a route's bounds are declared in one place and a test can walk the app to check that every route that
takes a body has one (``tests/integration/test_api_hostile.py``). Bounds are enforced before the route
runs: a body by ``services/api/guard.py`` as it is received (Content-Length or chunks counted), a
statement by the connection the route gets (``services/api/resources.py``).
"""

from __future__ import annotations

from datetime import timedelta

KiB = 1024

# A route not listed here takes no body larger than this (a GET with a body, a route added without its line).
DEFAULT_BODY_LIMIT = 4 * KiB

# The JSON of each model at its field limits, with room for \\uXXXX escapes of its free texts.
BODY_LIMITS: dict[tuple[str, str], int] = {
    ("POST", "/v1/devices"): 16 * KiB,  # description 2000 chars, 20 labels
    ("PUT", "/v1/devices/{device_id}/labels"): 16 * KiB,
    ("PUT", "/v1/devices/{device_id}/position"): 1 * KiB,  # two numbers
    ("PUT", "/v1/manholes/{ref}"): 4 * KiB,  # two numbers and a description of 500 chars
    ("POST", "/v1/experiments"): 64 * KiB,  # up to 1,000 device ids, a description of 2000 chars
    ("PUT", "/v1/experiments/{experiment_id}/baseline-records"): 4096 * KiB,  # 50,000 lines of a city's records
    ("PUT", "/v1/devices/{device_id}/privacy-masks"): 64 * KiB,  # 16 polygons x 64 points
    ("POST", "/v1/alerts/{alert_id}/ack"): 16 * KiB,  # a note of 2000 chars
    ("POST", "/v1/alerts/{alert_id}/assign"): 4 * KiB,
    ("POST", "/v1/alerts/{alert_id}/resolve"): 16 * KiB,
    ("POST", "/v1/alert-rules"): 1024 * KiB,  # a scope may list 10,000 devices
    ("PUT", "/v1/alert-rules/{rule_id}"): 1024 * KiB,
    ("POST", "/v1/silences"): 16 * KiB,
    ("POST", "/v1/webhooks"): 16 * KiB,
    ("POST", "/v1/observations/{observation_id}/review"): 16 * KiB,
    ("POST", "/v1/incidents/{incident_id}/confirm"): 16 * KiB,
    ("POST", "/v1/incidents/{incident_id}/dismiss"): 16 * KiB,
    ("POST", "/v1/incidents/{incident_id}/clear"): 16 * KiB,
    ("POST", "/v1/incidents/{incident_id}/close"): 16 * KiB,
    ("POST", "/v1/incidents/{incident_id}/hold"): 16 * KiB,
    ("POST", "/v1/incidents/{incident_id}/release"): 16 * KiB,
    ("POST", "/v1/dead-letters/replay"): 256 * KiB,  # up to 10,000 ids
    ("POST", "/v1/tokens"): 4 * KiB,
    # a contractor's exchange file: a delivery of a few hundred pipes (services/reports/importing.py bounds rows)
    ("POST", "/v1/inspection-imports"): 8192 * KiB,
    ("POST", "/console/imports"): 8192 * KiB + 16 * KiB,  # the same file in a multipart form (boundaries, token)
}


def body_limit(method: str, template: str) -> int:
    return BODY_LIMITS.get((method.upper(), template), DEFAULT_BODY_LIMIT)


# Statement time per route class: a query past it is cancelled by PostgreSQL (SQLSTATE 57014), the caller
# gets a 503 saying so and the connection goes back to the pool. Lists and lookups answer in milliseconds
# on an index; a report walks a whole mission; the stream's statements are short polls.
STATEMENT_TIMEOUT_S: dict[str, float] = {"default": 5.0, "report": 60.0}
ROUTE_CLASSES: dict[tuple[str, str], str] = {
    ("GET", "/v1/missions/{mission_id}/report"): "report",
}


def statement_timeout_s(method: str, template: str) -> float:
    return STATEMENT_TIMEOUT_S[ROUTE_CLASSES.get((method.upper(), template), "default")]


# Time spans a readings query may cover: raw points over at most a month (a page is at most 10,000 points
# anyway), aggregates over at most a year (the bucket bounds the rows).
MAX_RAW_SPAN = timedelta(days=31)
MAX_BUCKETED_SPAN = timedelta(days=366)

# Deeper than this, OFFSET reads and drops every row before the page: lists with a cursor take it instead.
MAX_OFFSET = 10_000
MAX_LIMIT = 10_000
