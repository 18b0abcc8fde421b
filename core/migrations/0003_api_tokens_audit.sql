-- depends: 0002_dead_letter_replay
-- API credentials and the audit log.
-- Tokens are random 256-bit secrets shown once; only their SHA-256 is stored (a slow password hash
-- adds nothing for secrets of that entropy, and verification stays cheap on every request).

CREATE TABLE api_tokens (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL,
    secret_sha256 text NOT NULL,
    roles        text[] NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    CHECK (cardinality(roles) > 0)
);

-- Who did what, when, from where: every write and every read of sensitive resources, including
-- refused attempts. Append-only: updates, deletes and truncation are refused by triggers.
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    principal  text NOT NULL,
    token_id   bigint,
    roles      text[] NOT NULL DEFAULT '{}',
    method     text NOT NULL,
    path       text NOT NULL,
    query      text,
    status     integer NOT NULL,
    client     text,
    user_agent text
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_principal_idx ON audit_log (principal, at DESC);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
