"""Dead-letter replay: run refused messages through the adapters again (after an adapter fix).

Each letter is decoded as of its first receive time (so the timestamp checks judge it as they would
have then). Accepted: its records are written by the same writer as live traffic (idempotent), and the
letter is marked resolved. Still refused: the attempt and the new reason are recorded. A resolved letter
is skipped, so running a replay twice changes nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg

from core.db import connect
from core.media_store import MediaStore
from core.replay_requests import ReplayFilter
from core.settings import Settings
from core.storable import MAX_REASON_CHARS, storable_text
from device_adapters.contract import InboundMessage
from ingest.identity import DeviceDirectory
from ingest.writer import BatchWriter, DeadLetter, Ignored

logger = logging.getLogger(__name__)


@dataclass
class ReplayReport:
    examined: int = 0
    stored: int = 0
    still_rejected: Counter[str] = field(default_factory=Counter)
    dry_run: bool = False
    stored_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "examined": self.examined,
            "stored": self.stored,
            "still_rejected": dict(self.still_rejected),
            "dry_run": self.dry_run,
            "stored_ids": self.stored_ids,
        }


SELECT_LETTERS = """
SELECT id, topic, payload, payload_size, user_properties, first_received_at FROM dead_letters
WHERE resolved_at IS NULL
  AND (cardinality(%(ids)s::bigint[]) = 0 OR id = ANY(%(ids)s::bigint[]))
  AND (%(reason_code)s::text IS NULL OR reason_code = %(reason_code)s)
  AND (%(topic)s::text IS NULL OR topic = %(topic)s)
  AND (%(family)s::text IS NULL OR family = %(family)s)
ORDER BY id LIMIT %(limit)s
"""
MARK_RESOLVED = """
UPDATE dead_letters SET resolved_at = now(), replay_attempts = replay_attempts + 1, last_replay_at = now(),
       last_replay_code = 'stored', last_replay_reason = NULL
WHERE id = %s AND resolved_at IS NULL
"""
MARK_ATTEMPT = """
UPDATE dead_letters SET replay_attempts = replay_attempts + 1, last_replay_at = now(), last_replay_code = %s,
       last_replay_reason = %s
WHERE id = %s
"""


def replay_dead_letters(settings: Settings, selection: ReplayFilter, *, dry_run: bool = False) -> ReplayReport:
    report = ReplayReport(dry_run=dry_run)
    directory = DeviceDirectory() if settings.ingest_require_provisioned else None
    writer = BatchWriter(
        MediaStore(settings.media_path),
        settings.max_payload_bytes,
        directory,
        keep_bytes=settings.dead_letter_keep_bytes,
        write_media=not dry_run,
    )
    # A dry run does exactly what the run does, in one transaction that is rolled back at the end:
    # letters that conflict with each other or with stored rows are reported as the run would.
    with (
        connect(settings.database_url) as conn,
        conn.transaction(force_rollback=dry_run),
    ):
        letters = conn.execute(
            SELECT_LETTERS,
            {
                "ids": list(selection.ids),
                "reason_code": selection.reason_code,
                "topic": selection.topic,
                "family": selection.family,
                "limit": selection.limit,
            },
        ).fetchall()
        for letter in letters:
            _replay_one(conn, writer, letter, report)
    logger.info("replay done", extra=report.as_dict())
    return report


def _replay_one(
    conn: psycopg.Connection[Any], writer: BatchWriter, letter: dict[str, Any], report: ReplayReport
) -> None:
    report.examined += 1
    if len(letter["payload"]) < letter["payload_size"]:
        report.still_rejected["payload_truncated"] += 1
        reason = "only a prefix of the payload was kept: it cannot be replayed"
        conn.execute(MARK_ATTEMPT, ("payload_truncated", reason, letter["id"]))
        return
    message = InboundMessage(
        topic=letter["topic"],
        payload=bytes(letter["payload"]),
        received_at=letter["first_received_at"],
        user_properties=dict(letter["user_properties"]),
    )
    outcome = writer.judge(conn, message)
    if isinstance(outcome, Ignored):
        report.still_rejected["ignored"] += 1
        conn.execute(MARK_ATTEMPT, ("ignored", outcome.why, letter["id"]))
        return
    if isinstance(outcome, DeadLetter):
        report.still_rejected[outcome.code] += 1
        conn.execute(MARK_ATTEMPT, (outcome.code, storable_text(outcome.reason, MAX_REASON_CHARS), letter["id"]))
        return
    # one message per transaction (a savepoint in a dry run): a conflict found by the writer is
    # dead-lettered again (it then shows under its own reason), everything else is stored
    result = writer.write(conn, [message])
    if result.stored == 1:
        conn.execute(MARK_RESOLVED, (letter["id"],))
        report.stored += 1
        report.stored_ids.append(letter["id"])
    else:
        code = next(iter(result.rejected_by_code), "rejected")
        report.still_rejected[code] += 1
        conn.execute(MARK_ATTEMPT, (code, "refused again when written", letter["id"]))
