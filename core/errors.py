"""Error text for logs and answers."""

from __future__ import annotations


def first_line(exc: BaseException | None) -> str:
    """The first non-empty line of an exception's message, else its type's name (never raises: an
    exception with an empty message must not turn an error answer into another error)."""
    if exc is None:
        return "no error"
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0].strip() if lines else type(exc).__name__
