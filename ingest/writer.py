"""Write a batch of decoded messages in one transaction.

Guarantees: every message of a batch ends up either as records or as a dead letter before the caller
acknowledges it; a redelivered message lands on the rows it already wrote. If the database refuses
a batch for a data reason (not a connection failure), each message is retried alone so that one bad
message is dead-lettered with the database's words and the others are stored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from device_adapters.contract import (
    CameraEvent,
    CameraSnapshot,
    Decoded,
    DroneFrame,
    DroneTelemetry,
    InboundMessage,
    MediaBlob,
    MissionEnd,
    MissionStart,
    Rejection,
)
from device_adapters.registry import ADAPTERS, decode
from device_adapters.validation import DEVICE_ID
from ingest.identity import DeviceDirectory
from ingest.statements import (
    COPY_TARGETS,
    INSERT_MEDIA,
    UPSERT_DEAD_LETTER,
    UPSERT_DEVICE,
    UPSERTS,
)
from services.media_store import MediaStore

logger = logging.getLogger(__name__)

_COPY_BY_TYPE = {t.record_type: t for t in COPY_TARGETS}


@dataclass(frozen=True)
class DeadLetter:
    message: InboundMessage
    code: str
    reason: str
    family: str | None = None
    device_id: str | None = None


@dataclass(frozen=True)
class Accepted:
    message: InboundMessage
    decoded: Decoded


Outcome = Accepted | DeadLetter


@dataclass
class BatchResult:
    stored: int = 0  # messages whose records were committed
    rejected: int = 0  # messages dead-lettered
    rows_inserted: int = 0  # new time-series rows
    rows_duplicate: int = 0  # time-series rows already there (redelivery or repeated sends)
    rejected_by_code: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def decode_one(message: InboundMessage, max_payload_bytes: int) -> Outcome:
    """Adapter decoding plus the checks that belong to ingest rather than to any one family."""
    if len(message.payload) > max_payload_bytes:
        return DeadLetter(
            message,
            "payload_too_large",
            f"payload is {len(message.payload)} bytes; the limit is {max_payload_bytes}",
            *claimed_identity(message.topic),
        )
    try:
        return Accepted(message, decode(message))
    except Rejection as rejection:
        return DeadLetter(message, rejection.code, rejection.reason, *claimed_identity(message.topic))
    except Exception as exc:  # an adapter bug must not stop ingest: keep the message and say why
        logger.exception("adapter crashed", extra={"topic": message.topic})
        return DeadLetter(
            message, "adapter_error", f"adapter raised {type(exc).__name__}: {exc}", *claimed_identity(message.topic)
        )


def claimed_identity(topic: str) -> tuple[str | None, str | None]:
    """(family, device id) a rejected message claims by its topic, for filtering dead letters."""
    levels = topic.split("/")
    family = ADAPTERS[levels[0]].family if levels[0] in ADAPTERS else None
    device = levels[1] if family and len(levels) > 1 and DEVICE_ID.match(levels[1]) else None
    return family, device


class BatchWriter:
    def __init__(self, media: MediaStore, max_payload_bytes: int, directory: DeviceDirectory | None = None) -> None:
        """``directory``: when given, only provisioned, unrevoked devices are accepted."""
        self.media = media
        self.max_payload_bytes = max_payload_bytes
        self.directory = directory
        self._prepared: set[int] = set()

    def judge(self, conn: psycopg.Connection[Any], message: InboundMessage) -> Outcome:
        """Identity check (the device the topic names must be provisioned), then the adapter's decoding."""
        if self.directory is not None:
            family, device_id = claimed_identity(message.topic)
            if family is not None and device_id is not None:
                refusal = self.directory.check(conn, family, device_id)
                if refusal is not None:
                    return DeadLetter(message, refusal.code, refusal.reason, family, device_id)
        return decode_one(message, self.max_payload_bytes)

    def write(self, conn: psycopg.Connection[Any], messages: Sequence[InboundMessage]) -> BatchResult:
        """Decode and commit ``messages``. Raises psycopg.OperationalError when the database is
        unreachable (nothing committed: the caller retries and does not acknowledge)."""
        if self.directory is not None:
            self.directory.refresh_if_stale(conn)
        outcomes = [self.judge(conn, m) for m in messages]
        try:
            return self._commit(conn, outcomes)
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            logger.warning(
                "batch refused by the database; isolating messages",
                extra={"size": len(outcomes), "error": str(exc).splitlines()[0]},
            )
            return self._commit_one_by_one(conn, outcomes)

    def _commit_one_by_one(self, conn: psycopg.Connection[Any], outcomes: list[Outcome]) -> BatchResult:
        total = BatchResult()
        for outcome in outcomes:
            try:
                part = self._commit(conn, [outcome])
            except psycopg.OperationalError:
                raise
            except psycopg.Error as exc:
                if not isinstance(outcome, Accepted):
                    raise  # a dead letter alone cannot fail on data: this is a bug, not bad input
                reason = f"database refused the records: {str(exc).splitlines()[0]}"
                part = self._commit(
                    conn,
                    [
                        DeadLetter(
                            outcome.message,
                            "database_rejected",
                            reason,
                            outcome.decoded.family,
                            outcome.decoded.device_id,
                        )
                    ],
                )
            _merge(total, part)
        return total

    def _commit(self, conn: psycopg.Connection[Any], outcomes: Sequence[Outcome]) -> BatchResult:
        result = BatchResult()
        accepted = [o for o in outcomes if isinstance(o, Accepted)]
        dead: list[DeadLetter] = [o for o in outcomes if isinstance(o, DeadLetter)]
        # Files first: a crash after this and before COMMIT leaves an unreferenced file, never a row
        # pointing at a missing file.
        for item in accepted:
            for record in item.decoded.records:
                if isinstance(record, MediaBlob):
                    self.media.put(record.sha256, record.data)
        with conn.transaction(), conn.cursor() as cur:
            self._prepare_session(conn, cur)
            foreign = _foreign_objects(cur, accepted)
            for index, reason in sorted(foreign.items()):
                item = accepted[index]
                dead.append(
                    DeadLetter(item.message, "foreign_object", reason, item.decoded.family, item.decoded.device_id)
                )
            accepted = [item for index, item in enumerate(accepted) if index not in foreign]
            self._upsert_devices(cur, accepted)
            conflicts = self._write_records(cur, accepted, result)
            for index, reason in sorted(conflicts.items()):
                item = accepted[index]
                dead.append(
                    DeadLetter(
                        item.message, "conflicting_duplicate", reason, item.decoded.family, item.decoded.device_id
                    )
                )
            for letter in dead:
                cur.execute(UPSERT_DEAD_LETTER, _dead_letter_params(letter))
                result.rejected_by_code[letter.code] += 1
        result.stored = len(accepted) - len(conflicts)
        result.rejected = len(dead)
        return result

    def _prepare_session(self, conn: psycopg.Connection[Any], cur: psycopg.Cursor[Any]) -> None:
        key = id(conn.pgconn)
        if key not in self._prepared:
            for target in COPY_TARGETS:
                cur.execute(target.create_stage_sql())
            self._prepared.add(key)

    @staticmethod
    def _upsert_devices(cur: psycopg.Cursor[Any], accepted: Sequence[Accepted]) -> None:
        """Register devices on first message and keep last_seen (the latest receive time)."""
        seen: dict[str, tuple[str, datetime]] = {}
        for item in accepted:
            when = item.message.received_at
            family, last = seen.get(item.decoded.device_id, (item.decoded.family, when))
            seen[item.decoded.device_id] = (family, max(last, when))
        # sorted: concurrent workers lock device rows in the same order (no deadlock)
        rows = [(dev, fam, when, when) for dev, (fam, when) in sorted(seen.items())]
        if rows:
            cur.executemany(UPSERT_DEVICE, rows)

    def _write_records(
        self, cur: psycopg.Cursor[Any], accepted: Sequence[Accepted], result: BatchResult
    ) -> dict[int, str]:
        """Write every record; return {message index: reason} for messages in conflict with stored rows."""
        by_type: dict[type, list[tuple[int, Any]]] = defaultdict(list)
        for index, item in enumerate(accepted):
            for record in item.decoded.records:
                by_type[type(record)].append((index, record))
        blobs = [r for _, r in by_type.pop(MediaBlob, [])]
        if blobs:
            cur.executemany(INSERT_MEDIA, [(b.sha256, b.content_type, len(b.data), b.width, b.height) for b in blobs])
        conflicts: dict[int, str] = {}
        for target in COPY_TARGETS:
            records = by_type.pop(target.record_type, [])
            if not records:
                continue
            with cur.copy(target.copy_sql()) as copy:
                for index, record in records:
                    copy.write_row(target.row(record, index))
            cur.execute(target.merge_sql())
            inserted = cur.rowcount
            # every staged row inserted: nothing can clash, skip the round trip
            clashing = [] if inserted == len(records) else cur.execute(target.conflicts_sql()).fetchall()
            for index, *key in clashing:
                described = ", ".join(f"{k}={v}" for k, v in zip(target.key, key, strict=True))
                conflicts[index] = (
                    f"{target.table} already holds a different row for {described}; "
                    "a device must not send two different values for the same key"
                )
            result.rows_inserted += inserted
            result.rows_duplicate += len(records) - inserted - len(clashing)
        for record_type, records in by_type.items():
            cur.executemany(UPSERTS[record_type], [_params(r) for _, r in records])
        return conflicts


def _foreign_objects(cur: psycopg.Cursor[Any], accepted: Sequence[Accepted]) -> dict[int, str]:
    """{message index: reason} for messages that name a mission or camera event stored as another
    device's. Ids inside payloads are the device's word: they never reach across devices."""
    claims: dict[str, list[tuple[int, str, str]]] = {"missions": [], "camera_events": []}
    for index, item in enumerate(accepted):
        for record in item.decoded.records:
            if isinstance(record, MissionStart | MissionEnd | DroneTelemetry | DroneFrame):
                claims["missions"].append((index, record.mission_id, record.device_id))
            elif isinstance(record, CameraEvent | CameraSnapshot):
                claims["camera_events"].append((index, record.event_id, record.device_id))
    foreign: dict[int, str] = {}
    for table, claimed in claims.items():
        if not claimed:
            continue
        key, kind = ("mission_id", "mission") if table == "missions" else ("event_id", "camera event")
        ids = sorted({object_id for _, object_id, _ in claimed})
        owners = dict(cur.execute(f"SELECT {key}, device_id FROM {table} WHERE {key} = ANY(%s)", (ids,)).fetchall())
        for index, object_id, device_id in claimed:
            owner = owners.get(object_id)
            if owner is not None and owner != device_id:
                foreign[index] = f"{kind} {object_id!r} belongs to another device; a device writes only its own"
    return foreign


def _params(record: Any) -> dict[str, Any]:
    params = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    if isinstance(params.get("box"), tuple):
        params["box"] = list(params["box"])
    return params


def _dead_letter_params(letter: DeadLetter) -> dict[str, Any]:
    message = letter.message
    return {
        "received_at": message.received_at,
        "topic": message.topic,
        "family": letter.family,
        "device_id": letter.device_id,
        "reason_code": letter.code,
        "reason": letter.reason,
        "payload": message.payload,
        "payload_sha256": hashlib.sha256(message.payload).hexdigest(),
        "user_properties": Jsonb(dict(message.user_properties)),
    }


def _merge(total: BatchResult, part: BatchResult) -> None:
    total.stored += part.stored
    total.rejected += part.rejected
    total.rows_inserted += part.rows_inserted
    total.rows_duplicate += part.rows_duplicate
    for code, n in part.rejected_by_code.items():
        total.rejected_by_code[code] += n
