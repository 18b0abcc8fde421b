"""Alerts (issue 10): rules, their evaluation in event time, one alert per problem, its lifecycle and its
delivery. Design: docs/alerts.md. This package holds the pure parts first (rules, the episode engine);
the evaluator worker, the API routes and the deliveries come in later parts of the issue."""
