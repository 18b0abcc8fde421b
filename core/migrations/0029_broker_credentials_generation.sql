-- depends: 0021_copy_queue
-- The registry's credential generation and the one the broker has taken (issue 19, item 14): every
-- provisioning, rotation or revocation moves `generation` on in its transaction (the row lock orders them
-- as they commit); the broker files' owner records in `broker_credentials_applied` the generation its files
-- hold once the broker has reloaded them (a login probe succeeded), and provisioning waits for it, so a
-- device given its password can log in at once. Two tables: the owner's write never waits on a change's lock.
CREATE TABLE IF NOT EXISTS broker_credentials_state (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    generation bigint NOT NULL DEFAULT 0
);
INSERT INTO broker_credentials_state (id) VALUES (true) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS broker_credentials_applied (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    generation bigint NOT NULL DEFAULT 0,
    applied_at timestamptz
);
INSERT INTO broker_credentials_applied (id) VALUES (true) ON CONFLICT DO NOTHING;
