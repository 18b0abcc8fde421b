-- depends: 0039_experiment_baseline_records
-- The console's sign-in sessions (issue 22, item 4; docs/console.md). A person signs in once with an API
-- token; the browser then holds only a random session id (an HttpOnly, SameSite=Strict cookie), stored here
-- as its SHA-256 with the token it stands for. A session is valid while the token is (revoked or expired:
-- the session ends at once), for at most its absolute life and while it is used (idle limit).
CREATE TABLE console_sessions (
    id_sha256    text PRIMARY KEY CHECK (id_sha256 ~ '^[0-9a-f]{64}$'),
    token_id     bigint NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    csrf         text NOT NULL CHECK (length(csrf) = 43),  -- the forms' anti-forgery value, per session
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz,
    ended_why    text CHECK (ended_why IN ('signed_out', 'token_revoked', 'replaced')),
    user_agent   text CHECK (length(user_agent) <= 512)
);
CREATE INDEX console_sessions_token ON console_sessions (token_id) WHERE ended_at IS NULL;
