"""Files the API hands out (reports, exports, imported files) named for the browser that saves them."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote


def attachment(filename: str) -> str:
    """A Content-Disposition for ``filename`` whatever its characters (a pipe id is the drone's text: Œ, €,
    quotes, slashes): RFC 6266 ``filename*`` in UTF-8 percent-encoding (RFC 8187) for every current
    client, and an ASCII ``filename`` for the others. HTTP headers are latin-1 on the wire: the name
    itself there made every export of the mission a 500."""
    name = "".join("_" if c in "/\\" or unicodedata.category(c).startswith("C") else c for c in filename)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name).strip("_.") or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
