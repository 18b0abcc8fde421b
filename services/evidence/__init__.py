"""Privacy-safe evidence from camera snapshots (issue 12, item 3; docs/incidents.md)."""
