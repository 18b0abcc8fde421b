"""Who may do what on the HTTP API: roles, tokens, the route policy, the audit log."""
