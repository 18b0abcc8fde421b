"""Write a batch of decoded messages in one transaction.

Guarantees: every message of a batch ends up either as records or as a dead letter before the caller
acknowledges it; a redelivered message lands on the rows it already wrote. If the batch fails for any
reason other than a database outage (a value the database refuses, a media write that fails, a bug),
each message is retried alone so that the one at fault is dead-lettered with the error's words and the
others are stored. A dead letter is built only of storable values (bounded, NUL-free text; a bounded
prefix of the payload with its size and hash); if even it is refused, a minimal letter is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import weakref
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from core.db import is_outage
from core.errors import first_line
from core.media_store import MediaStore, delete_if_unnamed
from core.storable import MAX_REASON_CHARS, MAX_TOPIC_CHARS, storable_properties, storable_text
from device_adapters.contract import REJECTION_CODES, Decoded, InboundMessage, MediaBlob, Rejection
from device_adapters.registry import ADAPTERS, decode, may_be_retained
from device_adapters.storage import Owned
from device_adapters.validation import DEVICE_ID
from ingest.identity import DeviceDirectory, GatewayDirectory
from ingest.masks import KeptPayload, MaskDirectory
from ingest.statements import (
    COPY_TARGETS,
    INSERT_MEDIA,
    PERSONAL_IMAGES,
    UPSERT_DEAD_LETTER,
    UPSERT_DEVICE,
    UPSERTS,
)

logger = logging.getLogger(__name__)


# The codes a dead letter can carry: every adapter rejection, and what ingest itself decides.
DEAD_LETTER_CODES: dict[str, str] = {
    **REJECTION_CODES,
    "payload_too_large": "the payload exceeds TLAB_MAX_PAYLOAD_BYTES",
    "malformed_packet": "the MQTT packet's properties could not be decoded (ingest/publish_packet.py): kept with its "
    "topic and raw payload, and acknowledged so that the broker stops re-sending it",
    "adapter_error": "the adapter raised something other than a Rejection (a bug in it; replay after the fix)",
    "unregistered_device": "the device is not in the registry (TLAB_INGEST_REQUIRE_PROVISIONED)",
    "revoked_device": "the device's credentials were revoked",
    "family_mismatch": "the device is registered under another family",
    "retained_not_allowed": "a retained message on a topic no family lets be retained (its copy is deleted)",
    "foreign_object": "the message names another device's mission or event",
    "unknown_camera": "a gateway's message names a camera not mapped to it (core/gateways.py)",
    "conflicting_duplicate": "the key is stored with other values (two readings claiming the same instant)",
    "database_rejected": "the database refused the records (a value it cannot store)",
    "internal_error": "storing failed repeatedly without a verdict",
}


@dataclass(frozen=True)
class DeadLetter:
    message: InboundMessage
    code: str
    reason: str
    family: str | None = None
    device_id: str | None = None
    # the message's records when it had been decoded (its images masked): what a masked camera's letter keeps
    decoded: Decoded | None = None

    def __post_init__(self) -> None:
        if self.code not in DEAD_LETTER_CODES:
            raise ValueError(f"dead-letter code {self.code!r} is not in DEAD_LETTER_CODES (ingest/writer.py)")


@dataclass(frozen=True)
class Accepted:
    message: InboundMessage
    decoded: Decoded


@dataclass(frozen=True)
class Ignored:
    """A message that is acknowledged and neither stored nor dead-lettered: the platform's own
    downlinks (devices cannot publish there), and empty retained messages (a retained copy cleared)."""

    message: InboundMessage
    why: str


Outcome = Accepted | DeadLetter | Ignored

DOWNLINK_LEVEL = "downlink"
# What a minimal dead letter keeps of a payload when the full letter could not be stored.
MINIMAL_PAYLOAD_BYTES = 4096


@dataclass
class BatchResult:
    stored: int = 0  # messages whose records were committed
    rejected: int = 0  # messages dead-lettered
    rows_inserted: int = 0  # new time-series rows
    rows_duplicate: int = 0  # time-series rows already there (redelivery or repeated sends)
    ignored: int = 0  # messages acknowledged without a record or a letter (downlinks, retained clears)
    rejected_by_code: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    clear_retained: list[str] = field(default_factory=list)  # topics whose retained copy must be deleted
    conflicted: list[int] = field(default_factory=list)  # indexes (in the accepted messages) refused as conflicts


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
        logger.exception("adapter crashed", extra={"topic": storable_text(message.topic, 200)})
        return DeadLetter(
            message, "adapter_error", f"adapter raised {type(exc).__name__}: {exc}", *claimed_identity(message.topic)
        )


def is_downlink(topic: str) -> bool:
    """``<family>/<device_id>/downlink/...``: what the platform sends to a device."""
    levels = topic.split("/", 3)
    return len(levels) > 2 and levels[2] == DOWNLINK_LEVEL and levels[0] in ADAPTERS


def claimed_identity(topic: str) -> tuple[str | None, str | None]:
    """(family, device id) a rejected message claims by its topic, for filtering dead letters."""
    levels = topic.split("/")
    family = ADAPTERS[levels[0]].family if levels[0] in ADAPTERS else None
    device = levels[1] if family and len(levels) > 1 and DEVICE_ID.fullmatch(levels[1]) else None
    return family, device


class BatchWriter:
    def __init__(
        self,
        media: MediaStore,
        max_payload_bytes: int,
        directory: DeviceDirectory | None = None,
        *,
        keep_bytes: int = 1024 * 1024,
        write_media: bool = True,
    ) -> None:
        """``directory``: when given, only provisioned, unrevoked devices are accepted. ``keep_bytes``: the
        most of a refused payload a dead letter keeps (with the whole payload's size and SHA-256).
        ``write_media=False`` (a dry run) writes no files."""
        self.media = media
        self.max_payload_bytes = max_payload_bytes
        self.directory = directory
        self.keep_bytes = keep_bytes
        self.write_media = write_media
        self.gateways = GatewayDirectory()
        self.masks = MaskDirectory()
        # connections whose session already has the staging tables (weak: a closed connection's
        # entry goes with it, and a new connection never inherits an old one's)
        self._prepared: weakref.WeakSet[psycopg.Connection[Any]] = weakref.WeakSet()

    def judge(self, conn: psycopg.Connection[Any], message: InboundMessage) -> Outcome:
        """Identity check (the device the topic names must be provisioned), then the adapter's decoding."""
        if is_downlink(message.topic):
            return Ignored(message, "downlink")
        if message.retain and not message.payload:
            return Ignored(message, "retained copy cleared")
        family, device_id = claimed_identity(message.topic)
        if message.malformed is not None:
            return DeadLetter(message, "malformed_packet", message.malformed, family, device_id)
        if self.directory is not None and family is not None and device_id is not None:
            refusal = self.directory.check(conn, family, device_id)
            if refusal is not None:
                return DeadLetter(message, refusal.code, refusal.reason, family, device_id)
        if message.retain and not may_be_retained(message.topic):
            return DeadLetter(
                message,
                "retained_not_allowed",
                "only <family>/<device_id>/status (and what a family declares, such as Frigate's snapshots) may be "
                "retained; publish data without the retain flag "
                "(the broker's retained copy has been deleted)",
                family,
                device_id,
            )
        outcome = decode_one(message, self.max_payload_bytes)
        if isinstance(outcome, Accepted) and outcome.decoded.via is not None:
            outcome = self._through_gateway(conn, outcome)
        if isinstance(outcome, Accepted):  # a device's privacy masks, before any image of it is stored
            try:
                outcome = Accepted(outcome.message, self.masks.apply(conn, outcome.decoded))
            except Exception as exc:
                if is_outage(exc):
                    raise
                logger.exception("privacy masks not applied")
                decoded = outcome.decoded
                reason = f"the device's privacy masks could not be applied: {first_line(exc)}"
                return DeadLetter(message, "internal_error", reason, decoded.family, decoded.device_id)
        return outcome

    def _through_gateway(self, conn: psycopg.Connection[Any], outcome: Accepted) -> Outcome:
        """A gateway's message: the device it names must be mapped to that gateway; its records become
        that device's (it is the device that is seen, owns the events and the media)."""
        decoded = outcome.decoded
        name = decoded.via or ""
        device_id = self.gateways.resolve(conn, decoded.device_id, name)
        if device_id is None:
            return DeadLetter(
                outcome.message,
                "unknown_camera",
                f"gateway {decoded.device_id!r} has no camera named {storable_text(name, 64)!r} "
                f"(map it: tlab devices map-camera {decoded.device_id} {storable_text(name, 64)} <camera id>)",
                decoded.family,
                decoded.device_id,
            )
        # the camera itself must be one the platform accepts: a revoked camera does not speak through its
        # gateway any more than on its own login (issue 19 item 6)
        refusal = self.directory.check(conn, decoded.family, device_id) if self.directory is not None else None
        if refusal is not None:
            return DeadLetter(
                outcome.message,
                refusal.code,
                f"{refusal.reason} (named by gateway {decoded.device_id!r} as {storable_text(name, 64)!r})",
                decoded.family,
                decoded.device_id,
            )
        records = tuple(
            dataclasses.replace(r, device_id=device_id) if hasattr(r, "device_id") else r for r in decoded.records
        )
        return Accepted(outcome.message, Decoded(decoded.family, device_id, records))

    def write(self, conn: psycopg.Connection[Any], messages: Sequence[InboundMessage]) -> BatchResult:
        """Decode and commit ``messages``. Raises psycopg.OperationalError when the database is
        unreachable (nothing committed: the caller retries and does not acknowledge)."""
        if self.directory is not None:
            self.directory.refresh_if_stale(conn)
        self.masks.load(conn)  # every batch: a new mask applies to the very next image
        outcomes = [self.judge(conn, m) for m in messages]
        try:
            return self._commit(conn, outcomes)
        except Exception as exc:
            if is_outage(exc):
                raise
            logger.warning(
                "batch failed on a message; isolating messages",
                extra={"size": len(outcomes), "error": first_line(exc)},
            )
            return self._commit_one_by_one(conn, outcomes)

    def write_verdicts(
        self, conn: psycopg.Connection[Any], messages: Sequence[InboundMessage], reason: str
    ) -> BatchResult:
        """Dead-letter ``messages`` as ``internal_error`` without decoding them: the last resort for
        messages that failed again and again without a verdict. Raises only on an outage, or when even
        a minimal letter cannot be written."""
        total = BatchResult()
        for message in messages:
            family, device = claimed_identity(message.topic)
            merge_results(
                total, self._commit_letter(conn, DeadLetter(message, "internal_error", reason, family, device))
            )
        return total

    def _commit_one_by_one(self, conn: psycopg.Connection[Any], outcomes: list[Outcome]) -> BatchResult:
        total = BatchResult()
        for outcome in outcomes:
            try:
                part = self._commit(conn, [outcome])
            except Exception as exc:
                if is_outage(exc):
                    raise
                logger.warning(
                    "message failed; dead-lettering it",
                    extra={"topic": storable_text(outcome.message.topic, 200), "error": first_line(exc)},
                )
                part = self._commit_letter(conn, _letter_for_failure(outcome, exc))
            merge_results(total, part)
        return total

    def _commit_letter(self, conn: psycopg.Connection[Any], letter: DeadLetter) -> BatchResult:
        """Commit one dead letter; if the database refuses it (it should not: every field is bounded and
        storable), a minimal one: the topic's prefix, the payload's first bytes, the error."""
        try:
            return self._commit(conn, [letter])
        except Exception as exc:
            if is_outage(exc):
                raise
            logger.exception("dead letter refused; writing a minimal one")
            minimal = DeadLetter(
                dataclasses.replace(letter.message, user_properties={}),
                "internal_error",
                f"the dead letter ({letter.code}: {letter.reason}) could not be stored: {first_line(exc)}",
                letter.family,
                letter.device_id,
            )
            return self._commit(conn, [minimal], keep_bytes=MINIMAL_PAYLOAD_BYTES)

    def _commit(
        self, conn: psycopg.Connection[Any], outcomes: Sequence[Outcome], *, keep_bytes: int | None = None
    ) -> BatchResult:
        accepted = [o for o in outcomes if isinstance(o, Accepted)]
        dead: list[DeadLetter] = [o for o in outcomes if isinstance(o, DeadLetter)]
        self._prepare_session(conn)
        created: dict[int, list[str]] = defaultdict(list)  # accepted index -> files this attempt created
        try:
            with conn.transaction(), conn.cursor() as cur:
                foreign = _foreign_objects(cur, accepted)
                dead.extend(
                    _refused(accepted[index], "foreign_object", reason) for index, reason in sorted(foreign.items())
                )
                accepted = [item for index, item in enumerate(accepted) if index not in foreign]
                result = self._write_rows(cur, conn, accepted, dead, keep_bytes, created)
        except BaseException:
            self._forget_files(conn, [sha for shas in created.values() for sha in shas])
            raise
        # a message refused after its file was written (its records conflict with stored ones)
        self._forget_files(conn, [sha for index in result.conflicted for sha in created.get(index, [])])
        result.ignored = sum(1 for o in outcomes if isinstance(o, Ignored))
        return result

    def _forget_files(self, conn: psycopg.Connection[Any], shas: list[str]) -> None:
        """Delete the files this writer created for messages that ended without a row naming them (a batch
        rolled back, a message refused after its file was written), unless a media row names them by now
        (``core.media_store.delete_if_unnamed``: safe against a writer of the same image in flight). Never
        raises: a file left behind is unreferenced, and the media sweep deletes it (ingest/media_sweeper.py)."""
        for sha in dict.fromkeys(shas):
            try:
                delete_if_unnamed(conn, self.media, sha)
            except Exception as exc:
                logger.warning("file of a refused message left for the sweep", extra={"error": first_line(exc)})
                return

    def _write_rows(
        self,
        cur: psycopg.Cursor[Any],
        conn: psycopg.Connection[Any],
        accepted: list[Accepted],
        dead: list[DeadLetter],
        keep_bytes: int | None,
        created: dict[int, list[str]],
    ) -> BatchResult:
        """Devices, records, files and dead letters of one transaction."""
        result = BatchResult()
        self._upsert_devices(cur, accepted)
        if accepted:  # delivered at COMMIT: the alert evaluator re-reads what changed (services/alerts)
            cur.execute("NOTIFY tlab_readings")
        conflicts = self._write_records(cur, accepted, result, created)
        dead.extend(
            _refused(accepted[index], "conflicting_duplicate", reason) for index, reason in sorted(conflicts.items())
        )
        keep = self.keep_bytes if keep_bytes is None else keep_bytes
        for letter in dead:
            cur.execute(UPSERT_DEAD_LETTER, dead_letter_params(letter, keep, self._kept_payload(conn, letter)))
            result.rejected_by_code[letter.code] += 1
        # a retained copy that was refused must not stay on the broker for every later subscriber
        result.clear_retained = [letter.message.topic for letter in dead if letter.message.retain]
        result.stored = len(accepted) - len(conflicts)
        result.rejected = len(dead)
        result.conflicted = sorted(conflicts)
        return result

    def _kept_payload(self, conn: psycopg.Connection[Any], letter: DeadLetter) -> KeptPayload | None:
        """A masked camera's letter keeps its image masked, or nothing of it (ingest/masks.py); fails closed."""
        try:
            return self.masks.for_letter(conn, letter.message.payload, letter.family, letter.device_id, letter.decoded)
        except Exception as exc:
            if is_outage(exc):
                raise
            logger.exception("privacy masks not applied to a dead letter: its payload is not kept")
            payload = letter.message.payload
            note = f"payload not kept: the privacy masks could not be applied ({first_line(exc)})"
            return KeptPayload(b"", len(payload), hashlib.sha256(payload).hexdigest(), note)

    def _prepare_session(self, conn: psycopg.Connection[Any]) -> None:
        """Create this session's staging tables, once per connection, in a transaction of their own:
        created inside a batch's transaction, they would vanish with its rollback while being
        remembered as created."""
        if conn in self._prepared:
            return
        with conn.transaction(), conn.cursor() as cur:
            for target in COPY_TARGETS:
                cur.execute(target.create_stage_sql())
        self._prepared.add(conn)

    @staticmethod
    def _upsert_devices(cur: psycopg.Cursor[Any], accepted: Sequence[Accepted]) -> None:
        """Register devices on first message, keep last_seen (the latest receive time) and the oldest event
        time written (the alert evaluator's cue that late readings arrived)."""
        seen: dict[str, tuple[str, datetime, datetime | None]] = {}
        for item in accepted:
            when = item.message.received_at
            family, last, oldest = seen.get(item.decoded.device_id, (item.decoded.family, when, None))
            times = [t for r in item.decoded.records if isinstance(t := getattr(r, "time", None), datetime)]
            if times:
                oldest = min([*times, oldest] if oldest else times)
            seen[item.decoded.device_id] = (family, max(last, when), oldest)
        # sorted: concurrent workers lock device rows in the same order (no deadlock)
        rows = [
            {"device_id": dev, "family": fam, "seen": when, "oldest": oldest}
            for dev, (fam, when, oldest) in sorted(seen.items())
        ]
        if rows:
            cur.executemany(UPSERT_DEVICE, rows)

    def _write_records(
        self,
        cur: psycopg.Cursor[Any],
        accepted: Sequence[Accepted],
        result: BatchResult,
        created: dict[int, list[str]],
    ) -> dict[int, str]:
        """Write every record; return {message index: reason} for messages in conflict with stored rows.

        Images: the media rows first, then the files (fsync, rename), all before COMMIT, so that a committed
        row never names a missing file; the files only of messages that passed every check before this
        transaction's writes, so that a refused message leaves none (issue 19 item 4a), and after the rows,
        whose unique index orders them with a deletion of the same image (core/media_store.py). ``created``
        gets the files this attempt created, for the caller to delete if they end with no row."""
        by_type: dict[type, list[tuple[int, Any]]] = defaultdict(list)
        for index, item in enumerate(accepted):
            for record in item.decoded.records:
                by_type[type(record)].append((index, record))
        by_index_blobs = by_type.pop(MediaBlob, [])
        blobs = [(accepted[i].decoded, b) for i, b in by_index_blobs]
        if blobs:
            cur.executemany(
                INSERT_MEDIA,
                [
                    (
                        b.sha256,
                        b.content_type,
                        len(b.data),
                        b.width,
                        b.height,
                        owner.family,
                        owner.device_id,
                        owner.family in PERSONAL_IMAGES,
                        owner.family in PERSONAL_IMAGES,  # its privacy copy is to be made
                    )
                    for owner, b in blobs
                ],
            )
            if self.write_media:
                for index, blob in by_index_blobs:
                    if self.media.add(blob.sha256, blob.data):
                        created[index].append(blob.sha256)
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
            for clash in clashing:
                described = ", ".join(f"{k}={clash[k]}" for k in target.key)
                conflicts[clash["msg"]] = (
                    f"{target.table} already holds a different row for {described}; "
                    "a device must not send two different values for the same key"
                )
            result.rows_inserted += inserted
            result.rows_duplicate += len(records) - inserted - len(clashing)
        for record_type, records in by_type.items():
            cur.executemany(UPSERTS[record_type], [_params(r) for _, r in records])
        return conflicts


def _foreign_objects(cur: psycopg.Cursor[Any], accepted: Sequence[Accepted]) -> dict[int, str]:
    """{message index: reason} for messages that name an object (a mission, a camera event: what a record
    declares as ``owned_by``) stored as another device's. Ids inside payloads are the device's word: they
    never reach across devices."""
    claims: dict[Owned, list[tuple[int, str, str]]] = defaultdict(list)
    for index, item in enumerate(accepted):
        for record in item.decoded.records:
            owned: Owned | None = getattr(type(record), "owned_by", None)
            if owned is not None:
                claims[owned].append((index, getattr(record, owned.key), record.device_id))
    foreign: dict[int, str] = {}
    for owned, claimed in claims.items():
        ids = sorted({object_id for _, object_id, _ in claimed})
        query = f"SELECT {owned.key}, device_id FROM {owned.table} WHERE {owned.key} = ANY(%s)"
        owners = {r[owned.key]: r["device_id"] for r in cur.execute(query, (ids,))}
        for index, object_id, device_id in claimed:
            owner = owners.get(object_id)
            if owner is not None and owner != device_id:
                foreign[index] = f"{owned.kind} {object_id!r} belongs to another device; a device writes only its own"
    return foreign


def _params(record: Any) -> dict[str, Any]:
    """A record's fields as statement parameters: a tuple (a box, a list of zones: records are frozen) is
    an array column, which psycopg adapts from a list (a tuple would be a composite)."""
    return {
        f.name: list(value) if isinstance(value := getattr(record, f.name), tuple) else value
        for f in dataclasses.fields(record)
    }


def _letter_for_failure(outcome: Outcome, exc: BaseException) -> DeadLetter:
    """The verdict on a message whose own write failed: the database refused its records, or anything
    else (a media write, a bug) failed while handling it."""
    message = outcome.message
    family, device = claimed_identity(message.topic)
    if isinstance(outcome, Accepted):
        family, device = outcome.decoded.family, outcome.decoded.device_id
    elif isinstance(outcome, DeadLetter):
        family, device = outcome.family, outcome.device_id
    if isinstance(exc, psycopg.Error) and isinstance(outcome, Accepted):
        return DeadLetter(
            message, "database_rejected", f"database refused the records: {first_line(exc)}", family, device
        )
    return DeadLetter(
        message, "internal_error", f"{type(exc).__name__} while storing: {first_line(exc)}", family, device
    )


def dead_letter_params(letter: DeadLetter, keep_bytes: int, kept: KeptPayload | None = None) -> dict[str, Any]:
    """The row of a dead letter, every field storable and bounded whatever the device sent: the topic
    (identified by its hash, shown by its first characters), the reason, the user properties, and at
    most ``keep_bytes`` of the payload with the whole payload's size and SHA-256. ``kept``: what a masked
    camera's letter keeps instead of the payload (ingest/masks.py)."""
    message = letter.message
    payload = message.payload if kept is None else kept.data
    reason = letter.reason if kept is None else f"{letter.reason} [{kept.note}]"
    return {
        "received_at": message.received_at,
        "topic": storable_text(message.topic, MAX_TOPIC_CHARS),
        "topic_sha256": hashlib.sha256(message.topic.encode("utf-8", "surrogatepass")).hexdigest(),
        "family": letter.family,
        "device_id": letter.device_id,
        "reason_code": letter.code,
        "reason": storable_text(reason, MAX_REASON_CHARS),
        "payload": payload[:keep_bytes],
        "payload_size": len(payload) if kept is None else kept.size,
        "payload_sha256": hashlib.sha256(payload).hexdigest() if kept is None else kept.sha256,
        "user_properties": Jsonb(storable_properties(message.user_properties)),
    }


def merge_results(total: BatchResult, part: BatchResult) -> None:
    total.stored += part.stored
    total.rejected += part.rejected
    total.rows_inserted += part.rows_inserted
    total.rows_duplicate += part.rows_duplicate
    total.ignored += part.ignored
    total.clear_retained += part.clear_retained
    for code, n in part.rejected_by_code.items():
        total.rejected_by_code[code] += n


def _refused(item: Accepted, code: str, reason: str) -> DeadLetter:
    """The dead letter of a decoded message the database side refuses (it names another device's object,
    or its records conflict with stored ones)."""
    return DeadLetter(item.message, code, reason, item.decoded.family, item.decoded.device_id, item.decoded)
