"""Camera detections (``Capability.CAMERA_DETECTIONS``): what fixed cameras share, whichever vendor makes
them: the records (``records.py``), how they are stored (``storage.py``), where a snapshot lies in the frame
(``geometry.py``) and their tables (``migrations/``). Contract: README.md beside this file."""

from __future__ import annotations

# A gateway's label snapshots (``LabelSnapshot``: a Frigate server's ``<prefix>/<camera>/<label>/snapshot``)
# are published retained, under the family's topic root (its name) at this shape; the retention purge and the
# database's triggers (migration camera_detections_0009) delete them from the broker by it.
LABEL_SNAPSHOT_LEVELS = "<gateway_id>/<camera_name>/<label>/snapshot"


def label_snapshot_shape(topic_root: str) -> str:
    """The topic shape of a family's retained label snapshots."""
    return f"{topic_root}/{LABEL_SNAPSHOT_LEVELS}"


__all__ = ["LABEL_SNAPSHOT_LEVELS", "label_snapshot_shape"]
