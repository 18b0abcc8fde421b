"""Which camera events are a suspected illegal dumping, and which are one object (issue 12, item 2).

A pure function of a camera's events as stored (their latest states), like the alerts' episode engine: the
same events give the same incidents whatever order, however often and by however many workers they
arrived, so a redelivered message, a duplicate or a replay never makes a second incident.

- **Suspected dumping**: an object of a dumping label (``Policy.labels``) in a watched zone (any zone when
  the policy names none), not a false positive, that has stayed still: stationary in its latest state, and
  seen for at least ``Policy.dwell`` (from its start to its latest state or its end).
- **One object, one incident**: a tracker loses an object and starts a new track for it (Frigate does,
  when a couch is half hidden by a passer-by): tracks of dumping labels on the same camera whose boxes
  overlap (intersection over union at least ``Policy.same_object_iou``) and follow each other within
  ``Policy.split_window`` are the same object. The incident keeps all its tracks; it began with the first.
- **Context**: tracks of vehicles and persons (``Policy.context_labels``) in the same zone that were there
  within ``Policy.context_before`` before the object appeared are linked to it (the van that stopped, the
  person who unloaded), never as suspects.
- **Cleared**: every track of the object has ended (the object is gone); a person may also say so.

Not here: the lifecycle people drive (confirm, dismiss, close) and the storage (``store.py``, next).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

DUMPING_LABELS = frozenset(
    {"couch", "mattress", "bag", "box", "tire", "rubble", "waste", "appliance", "furniture", "suitcase", "trash"}
)
CONTEXT_LABELS = frozenset({"car", "truck", "van", "motorcycle", "bicycle", "person"})


@dataclass(frozen=True)
class Policy:
    labels: frozenset[str] = DUMPING_LABELS
    zones: frozenset[str] = frozenset()  # watched zones; empty: any zone, or none
    dwell: timedelta = timedelta(minutes=2)
    same_object_iou: float = 0.5
    # a lost track's successor starts within seconds (the next frames); a new object dumped on the same
    # spot after the last was taken away starts minutes later (seen on ./lab run with 10 min: the new
    # couch joined the cleared incident of the old one, and no alert was raised for it; then again with
    # the window at 2 minutes, the simulator's own gap between a couch taken away and the next, and `<=`).
    # A successor must begin strictly within it; a minute leaves the simulator's scene a wide margin.
    split_window: timedelta = timedelta(minutes=1)
    context_labels: frozenset[str] = CONTEXT_LABELS
    context_before: timedelta = timedelta(minutes=10)


def zones_of(current: Sequence[str], entered: Sequence[str], zone: str | None) -> tuple[str, ...]:
    """The zones a track counts as in: where it is now; for one that has left them or ended (Frigate then
    sends no current zone), the zones it entered; for a camera that names one zone per event, that zone.
    (Current zones alone lost the van that drove off before the couch was suspected: no context, seen on
    ./lab run.)"""
    return tuple(current) or tuple(entered) or ((zone,) if zone else ())


@dataclass(frozen=True)
class Track:
    """A camera event's latest state, as the rule needs it."""

    event_id: str
    device_id: str
    label: str
    box: tuple[int, int, int, int]
    zones: tuple[str, ...]
    start_time: datetime
    updated_at: datetime
    end_time: datetime | None
    stationary: bool
    false_positive: bool = False

    @property
    def last_seen(self) -> datetime:
        return self.end_time or self.updated_at


@dataclass(frozen=True)
class Suspicion:
    """One object suspected of being dumped: its tracks (the first began it), the context around it."""

    device_id: str
    tracks: tuple[str, ...]
    label: str
    zone: str | None
    began_at: datetime  # the first track's start: the moment the object appeared
    suspected_at: datetime  # when it had stayed still for the dwell time
    cleared_at: datetime | None  # every track ended
    context: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        """What identifies it across runs: its first track (a later split joins, it does not rename)."""
        return self.tracks[0]


def suspicions(tracks: Iterable[Track], policy: Policy = Policy()) -> list[Suspicion]:
    """Every suspected dumping among a camera's (or several cameras') tracks."""
    unique = {t.event_id: t for t in tracks}
    ordered = sorted(unique.values(), key=lambda t: (t.device_id, t.start_time, t.event_id))
    objects: list[list[Track]] = []
    for track in ordered:
        if track.label not in policy.labels or track.false_positive or not _watched(track, policy):
            continue
        home = next((o for o in objects if _same_object(o, track, policy)), None)
        if home is None:
            objects.append([track])
        else:
            home.append(track)
    found = []
    for group in objects:
        still = [t for t in group if t.stationary and t.last_seen - t.start_time >= policy.dwell]
        if not still:
            continue
        first = group[0]
        zone = next((z for t in group for z in t.zones if not policy.zones or z in policy.zones), None)
        ended = all(t.end_time is not None for t in group)
        cleared = max(t.end_time for t in group if t.end_time is not None) if ended else None
        context = tuple(
            sorted(
                t.event_id
                for t in ordered
                if t.device_id == first.device_id
                and t.label in policy.context_labels
                and not t.false_positive
                and (zone is None or zone in t.zones)
                and first.start_time - policy.context_before <= t.start_time <= first.start_time
            )
        )
        found.append(
            Suspicion(
                device_id=first.device_id,
                tracks=tuple(t.event_id for t in group),
                label=first.label,
                zone=zone,
                began_at=first.start_time,
                suspected_at=min(t.start_time for t in still) + policy.dwell,
                cleared_at=cleared,
                context=context,
            )
        )
    return sorted(found, key=lambda s: (s.device_id, s.began_at, s.key))


def _watched(track: Track, policy: Policy) -> bool:
    return not policy.zones or bool(policy.zones & set(track.zones))


def _same_object(group: list[Track], track: Track, policy: Policy) -> bool:
    """The track continues an object already seen on its camera: its box overlaps one of the object's
    tracks, which was still there or ended less than ``split_window`` before it began (strictly: an object
    appearing the whole window after the last one went is another object, not its lost track)."""
    return any(
        other.device_id == track.device_id
        and track.start_time - other.last_seen < policy.split_window
        and iou(other.box, track.box) >= policy.same_object_iou
        for other in group
    )


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two [x1, y1, x2, y2] boxes."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
