"""``tlab vision``: the worker that analyses the drone's frames as they arrive (docs/vision.md).

It wakes on ingest's ``NOTIFY tlab_readings`` (and every ``poll_s``), claims a batch of frames not yet
analysed by the current model (``FOR UPDATE SKIP LOCKED``: several workers share them), analyses them,
writes the analyses and regroups the touched missions' observations, all in one transaction per batch: a
worker killed mid-batch leaves its frames to the next, and nothing half-written. A frame that cannot be
decoded, or on which a detector fails, is recorded with its error (not retried for ever, not an
observation, and the frames after it are analysed). A frame the analysis could not judge (``quality.py``) is
recorded with its reason (``frame_analyses.not_judged``) and no detection but a loss of vision's BDG.

A mission that is over (ended, interrupted, silent) with observations still provisional is regrouped though
no frame comes with its end: they settle, and a defect the drone stopped over raises its event then.

The analysis's trust per code (``trust.py``: the trust file's, or a trained model's sidecar table, at
``TLAB_VISION_TRUST_BAR``) is read once at start; each observation is stored with its code's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from core.db import scalar
from core.errors import first_line
from core.media_store import MediaStore
from core.settings import Settings
from core.worker_metrics import Heartbeat, WorkerMetrics, counter, labelled, serve_and_listen
from services.vision.analysis import Analysis, FrameAnalysis, UnreadableFrame, configured, decode
from services.vision.store import claim_frames, missions_to_settle, regroup, write_analysis
from services.vision.trust import Trust, for_analysis

logger = logging.getLogger(__name__)
CHANNEL = "tlab_readings"
AWAITING_CAP = 10_000  # the depth gauge counts up to this many frames (a bounded read, like the claim's)
# The claim's own scan (oldest first, the analyses' primary key probed per frame), capped: its cost is the
# claim's plus at most AWAITING_CAP probes, never a count of the hypertable.
AWAITING = """
SELECT count(*) AS n, min(time) AS oldest, now() AS now FROM (
    SELECT f.time FROM drone_frames f WHERE f.time >= now() - %(lookback)s AND NOT EXISTS
    (SELECT 1 FROM frame_analyses a WHERE a.device_id = f.device_id AND a.time = f.time AND a.model = %(model)s)
    ORDER BY f.time LIMIT %(cap)s
) waiting
"""


# why the analysis could not judge a frame (issue 21, item 2), beside what store.write_analysis writes


@dataclass
class VisionStats:
    frames: int = 0
    errors: int = 0
    not_judged: int = 0
    seconds: float = 0.0
    changes: dict[str, int] = field(default_factory=dict)


class VisionWorker:
    def __init__(
        self,
        settings: Settings,
        *,
        batch: int = 8,
        poll_s: float = 2.0,
        lookback: timedelta = timedelta(days=30),
        analysis: Analysis | None = None,
        trust: Trust | None = None,
    ) -> None:
        self.settings = settings
        self.analysis = analysis or configured(settings)  # a trained model refused raises: no start
        sidecar = self.analysis.trained.sidecar.trust if self.analysis.trained is not None else None
        # a trust file that does not parse raises (TrustFileError): no start, as for a refused model
        self.trust = trust or for_analysis(self.analysis.model, settings.vision_trust_bar, sidecar)
        self.media = MediaStore(settings.media_path)
        self.batch, self.poll_s, self.lookback, self.model = batch, poll_s, lookback, self.analysis.model
        self.stats = VisionStats()
        self.ready = threading.Event()
        self.heartbeat = Heartbeat("vision", self.ready)
        self.metrics = WorkerMetrics(
            "tlab_vision", self.heartbeat, self._families, database_url=settings.database_url, gauges=self._gauges
        )

    def run(self, stop: threading.Event) -> None:
        serve_and_listen(
            self.metrics,
            self.heartbeat,
            lambda conn: self.work_once(conn) > 0,
            stop,
            database_url=self.settings.database_url,
            channel=CHANNEL,
            host=self.settings.metrics_host,
            port=self.settings.vision_metrics_port,
            ready=self.ready,
            poll_s=self.poll_s,
        )

    def _families(self) -> Iterator[Any]:
        yield counter("tlab_vision_frames_analysed", "Frames analysed (with or without an error)", self.stats.frames)
        yield counter("tlab_vision_frames_failed", "Frames recorded with an error (unreadable, detector failed)",
                      self.stats.errors)  # fmt: skip
        yield counter("tlab_vision_frames_not_judged", "Frames the analysis could not judge (dark, fog, overexposed, "
                      "text, no vanishing point)", self.stats.not_judged)  # fmt: skip
        yield counter("tlab_vision_analysis_seconds", "Time spent in analysis batches", self.stats.seconds)
        yield labelled(CounterMetricFamily, "tlab_vision_observation_changes", "Observation changes, by kind",
                       "kind", dict(self.stats.changes))  # fmt: skip

    def _gauges(self, conn: psycopg.Connection[Any]) -> Iterator[Any]:
        row = conn.execute(AWAITING, {"lookback": self.lookback, "model": self.model, "cap": AWAITING_CAP}).fetchone()
        assert row is not None  # an aggregate: one row
        yield GaugeMetricFamily(
            "tlab_vision_frames_awaiting",
            f"Frames not yet analysed by the current model (counted up to {AWAITING_CAP})",
            value=row["n"],
        )
        yield GaugeMetricFamily(
            "tlab_vision_oldest_awaiting_age_seconds", "Age of the oldest frame not yet analysed (0: none)",
            value=(row["now"] - row["oldest"]).total_seconds() if row["oldest"] else 0.0,
        )  # fmt: skip

    def work_once(self, conn: psycopg.Connection[Any]) -> int:
        """Analyse one batch, then settle the missions that are over; returns how many frames and missions it
        took (0: nothing waiting)."""
        started = time.perf_counter()
        with conn.transaction():
            now = scalar(conn, "SELECT now()")
            frames = claim_frames(conn, self.model, now - self.lookback, self.batch)
            for frame in frames:
                verdict, error = FrameAnalysis(), None
                try:
                    path = self.media.open(frame.media_sha256)
                    if path is None:
                        raise UnreadableFrame(f"media {frame.media_sha256[:12]} is not in the store")
                    verdict = self.analysis(decode(path.read_bytes()), frame.diameter_mm)
                except UnreadableFrame as exc:
                    error = str(exc)
                    self.stats.errors += 1
                    self.heartbeat.error("unreadable_frame", exc)
                except Exception as exc:  # a detector's bug on one odd frame must not stall every frame after it
                    logger.exception("vision: analysis failed", extra={"frame": frame.media_sha256[:12]})
                    error = f"analysis failed: {type(exc).__name__}: {first_line(exc)}"[:500]
                    self.stats.errors += 1
                    self.heartbeat.error("analysis_failed", exc)
                write_analysis(conn, frame, self.model, verdict.detections, error, verdict.not_judged)
                if verdict.not_judged is not None:
                    self.stats.not_judged += 1
            for mission in sorted({f.mission_id for f in frames}):
                for kind, n in regroup(conn, mission, self.model, self.media, trust=self.trust).items():
                    self.stats.changes[kind] = self.stats.changes.get(kind, 0) + n
        settled = self.settle_over(conn)
        self.stats.frames += len(frames)
        self.stats.seconds += time.perf_counter() - started
        return len(frames) + settled

    def settle_over(self, conn: psycopg.Connection[Any]) -> int:
        """Regroup the missions that are over with observations still provisional; returns how many."""
        with conn.transaction():
            missions = missions_to_settle(conn, self.model)
            for mission in missions:
                for kind, n in regroup(conn, mission, self.model, self.media, trust=self.trust).items():
                    self.stats.changes[kind] = self.stats.changes.get(kind, 0) + n
        return len(missions)
