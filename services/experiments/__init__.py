"""Experiments: a pilot tested for a period, and the KPIs it is judged on (issue 22, item 1)."""
