"""What a family provides, for the services that consume it: the services select on capabilities,
never on family names (issue 20).

A capability is a contract on shared records, as an entity platform is in Home Assistant: a family that
provides it decodes its own wire format into the capability's record types (its ``storage`` writes them
into the capability's tables, whose schema the capability owns in ``device_adapters/capabilities/<name>/``:
records, storage specs, migrations applied whatever families are registered), and every service that
consumes the capability serves the family with no change of its own. A second camera vendor declares
``provides={Capability.CAMERA_DETECTIONS, Capability.PERSONAL_IMAGES}`` and gets incidents, privacy
copies, masks and retention; a second inspection drone declares ``PIPE_INSPECTION`` and gets the pipe
vision, observations and reports (docs/adding-a-device.md, "Providing a capability").

``core/platform.py`` names, for each process, the capabilities it consumes.
"""

from __future__ import annotations

from enum import StrEnum


class Capability(StrEnum):
    # numeric series described by the adapter's MetricSpecs: the readings API, threshold and absence rules
    READINGS = "readings"
    # missions along a pipe's chainage, with telemetry and forward-view frames (capabilities/pipe_inspection):
    # the pipe vision, observations and their review, inspection reports
    PIPE_INSPECTION = "pipe_inspection"
    # fixed cameras' detection events with snapshots (capabilities/camera_detections): incidents, privacy
    # masks and privacy copies of the snapshots
    CAMERA_DETECTIONS = "camera_detections"
    # its images may show people (CNIL): the original is served to police only, through an incident; everyone
    # else gets the privacy copy; its images, events and dead letters are purged after the retention period
    # (L.252-3 du code de la sécurité intérieure)
    PERSONAL_IMAGES = "personal_images"


DESCRIPTIONS: dict[Capability, str] = {
    Capability.READINGS: "numeric series (readings API, alert rules)",
    Capability.PIPE_INSPECTION: "missions along a pipe with telemetry and frames (pipe vision, observations, reports)",
    Capability.CAMERA_DETECTIONS: "camera detection events with snapshots (incidents, privacy masks and copies)",
    Capability.PERSONAL_IMAGES: "images that may show people (privacy copies, police-only originals, retention)",
}

# The capabilities' own HTTP routes (``routes(kit) -> APIRouter``, as a family's ``api``), by module name:
# mounted once by the API while some family provides the capability, whatever families provide it.
API_MODULES: dict[Capability, str] = {
    Capability.PIPE_INSPECTION: f"{__name__}.pipe_inspection.api",
    Capability.CAMERA_DETECTIONS: f"{__name__}.camera_detections.api",
}

# The capabilities' storage (``STORAGE`` in ``<name>/storage.py``), by module name: a family providing one stores
# its records with these specs into the capability's tables, created by the capability's migrations (``tlab
# families ddl`` says so instead of printing them). READINGS and PERSONAL_IMAGES have no tables of their own.
STORAGE_MODULES: dict[Capability, str] = {
    Capability.PIPE_INSPECTION: f"{__name__}.pipe_inspection.storage",
    Capability.CAMERA_DETECTIONS: f"{__name__}.camera_detections.storage",
}

__all__ = ["API_MODULES", "DESCRIPTIONS", "STORAGE_MODULES", "Capability"]
