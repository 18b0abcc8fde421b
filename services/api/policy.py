"""The API's whole access policy: the platform's routes (``services/auth/policy.py``), the capabilities'
routes (the roles every providing family lets read) and the routes each family mounts from its folder
(``services/api/family_routes.py``), which its readers may call.

Composed here, where the family routers are built, so that ``services.auth`` needs nothing of the web
layer; the authorisation dependency, the guard, ``tlab policy`` and the tests read this one table.
"""

from __future__ import annotations

from services.api.family_routes import capability_of_routes, family_of_routes
from services.auth.policy import PLATFORM_POLICIES, UNDECLARED, Policy, PolicyTable, capability_readers

# a capability's routes: the roles every family that provides it lets read
CAPABILITY_POLICIES = {route: capability_readers(cap) for route, cap in capability_of_routes().items()}
TABLE = PolicyTable({**PLATFORM_POLICIES, **CAPABILITY_POLICIES}, family_of_routes())
POLICIES: dict[tuple[str, str], Policy] = TABLE.policies
policy_for = TABLE.policy_for
match_request = TABLE.match_request
role_matrix_markdown = TABLE.role_matrix_markdown

__all__ = ["POLICIES", "UNDECLARED", "match_request", "policy_for", "role_matrix_markdown"]
