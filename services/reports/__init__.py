"""Reports built from the stored data (issue 11: the pipe inspection report)."""
