"""The ``tlab`` sub-commands, one module per group; ``tlab/cli.py`` registers them on the root app."""

from __future__ import annotations

from core import logs
from core.settings import Settings


def load_settings() -> Settings:
    """The settings, with logging configured from them: every command that reads settings starts here.

    It lives here, not in ``tlab/cli.py``, because ``python -m tlab.cli`` runs that file as ``__main__``:
    a command importing ``tlab.cli`` would build and register the whole CLI a second time."""
    settings = Settings()
    logs.configure(settings.log_level, settings.log_json)
    return settings
