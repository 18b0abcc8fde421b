"""The roles of the platform's users."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # everything, including credentials and the audit log
    OPERATOR = "operator"  # runs the platform: devices, dead letters, all data
    VIEWER = "viewer"  # non-sensitive data: devices, metrics, readings
    SANITATION = "sanitation"  # assainissement: pipe inspections (sensitive infrastructure data)
    CLEANLINESS = "cleanliness"  # propreté: dumping camera events and evidence
    GREEN_SPACES = "green_spaces"  # espaces verts: garden sensors
    POLICE = "police"  # police municipale: camera evidence


ALL_ROLES = frozenset(Role)
