"""Dumping incidents from camera events (issue 12): the rule, then the store and the worker."""
