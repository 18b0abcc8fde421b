"""Pipe inspection (``Capability.PIPE_INSPECTION``): what inspection drones share, whichever vendor flies
them: the records (``records.py``), how they are stored (``storage.py``) and their tables (``migrations/``).
Contract: README.md beside this file."""
