"""Text that PostgreSQL can always store: what ingest writes from a device's bytes (topics, reasons that
quote a payload, user properties) must never be what makes a write fail.

PostgreSQL text cannot hold NUL, and UTF-8 cannot hold lone surrogates (which JSON's ``\\udc80`` escapes
produce); both are shown escaped. Length is bounded so that no device-chosen string can exceed an index
row or grow a table without bound.
"""

from __future__ import annotations

from collections.abc import Mapping

MAX_TOPIC_CHARS = 1024
MAX_REASON_CHARS = 2000
MAX_PROPERTY_CHARS = 256
MAX_PROPERTIES = 32


def storable_text(value: str, limit: int) -> str:
    """``value`` with NULs and lone surrogates escaped, cut to at most ``limit`` characters."""
    if "\x00" in value:
        value = value.replace("\x00", "\\x00")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(value) > limit:
        note = f"…(+{len(value) - limit} chars)"
        value = value[: max(0, limit - len(note))] + note
    return value


def storable_properties(properties: Mapping[str, str]) -> dict[str, str]:
    """MQTT user properties bounded in number and size, as storable text (they end up in jsonb)."""
    items = list(properties.items())
    kept = {
        storable_text(str(k), MAX_PROPERTY_CHARS): storable_text(str(v), MAX_PROPERTY_CHARS)
        for k, v in items[:MAX_PROPERTIES]
    }
    if len(items) > MAX_PROPERTIES:
        kept["…"] = f"+{len(items) - MAX_PROPERTIES} more properties not kept"
    return kept
