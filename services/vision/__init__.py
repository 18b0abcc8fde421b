"""Pipe vision (issue 11): EN 13508-2 observations found in the drone's frames (docs/vision.md)."""
