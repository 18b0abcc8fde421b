"""Golden cases of the adapters: ``<family>/testdata/<case>/`` folders replayed by the tests.

A case holds ``topic``, one ``payload.*`` file, optional ``properties.json`` (MQTT v5 user properties)
and either ``expected.json`` (the records) or ``expected.err`` (``<code> <words of the reason>``).
Every case is decoded as if received at :data:`RECEIVED_AT`. Adding a case is adding a folder;
``tlab families golden <family> <case>`` prints what the adapter makes of it (:func:`expected_file`), in the
form of the file to keep once read.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from device_adapters.contract import Decoded, InboundMessage, MediaBlob, Rejection

ROOT = Path(__file__).resolve().parent
RECEIVED_AT = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class GoldenCase:
    family: str
    name: str
    path: Path

    @property
    def message(self) -> InboundMessage:
        payload_file = next(self.path.glob("payload.*"))
        props_file = self.path / "properties.json"
        props = json.loads(props_file.read_text()) if props_file.exists() else {}
        return InboundMessage(
            topic=(self.path / "topic").read_text().strip(),
            payload=payload_file.read_bytes(),
            received_at=RECEIVED_AT,
            user_properties=props,
        )

    @property
    def expected_error(self) -> tuple[str, str] | None:
        err = self.path / "expected.err"
        if not err.exists():
            return None
        code, _, words = err.read_text().strip().partition(" ")
        return code, words

    @property
    def expected_records(self) -> list[dict[str, Any]]:
        return json.loads((self.path / "expected.json").read_text())


def all_cases() -> list[GoldenCase]:
    """Every registered family's cases (its folder's ``testdata/``)."""
    from device_adapters.registry import FAMILIES

    return [
        GoldenCase(family.name, d.name, d)
        for family in FAMILIES
        for d in sorted((family.folder / "testdata").glob("*"))
        if d.is_dir()
    ]


def records_as_json(decoded: Decoded) -> list[dict[str, Any]]:
    """Records as plain JSON values (media bytes replaced by their size) for comparison and docs."""
    out = []
    for record in decoded.records:
        doc: dict[str, Any] = {"type": type(record).__name__}
        for f in dataclasses.fields(record):
            value = getattr(record, f.name)
            if isinstance(record, MediaBlob) and f.name == "data":
                doc["size_bytes"] = len(value)
                continue
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            doc[f.name] = value
        out.append(doc)
    return out


def expected_file(case: GoldenCase) -> tuple[str, str]:
    """(file name, content) of what the registered adapters make of ``case`` today: ``expected.json`` with its
    records, or ``expected.err`` with the rejection's code and whole reason. What the adapter does, not what the
    contract says: read it before keeping it."""
    from device_adapters.registry import decode

    try:
        decoded = decode(case.message)
    except Rejection as rejection:
        return "expected.err", f"{rejection.code} {rejection.reason}\n"
    return "expected.json", json.dumps(records_as_json(decoded), indent=2, ensure_ascii=False) + "\n"
