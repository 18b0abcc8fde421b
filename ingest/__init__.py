"""Ingest: MQTT -> TimescaleDB. Public API for other packages: dead-letter replay."""

from ingest.replay import ReplayFilter, ReplayReport, replay_dead_letters

__all__ = ["ReplayFilter", "ReplayReport", "replay_dead_letters"]
