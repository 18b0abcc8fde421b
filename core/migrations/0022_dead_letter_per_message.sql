-- depends: 0021_copy_queue
-- A dead letter is one message: its topic, its payload and its MQTT v5 user properties (issue 19 item 13).
-- Keyed on topic and payload alone, two messages with the same payload and different properties (a drone
-- frame's mission, time and chainage travel as properties) were merged into one letter, and a replay used the
-- first one's properties for both. properties_sha256 is the SHA-256 of the stored properties' jsonb text
-- (computed by PostgreSQL, here and in ingest/statements.py, so both agree).
ALTER TABLE dead_letters ADD COLUMN properties_sha256 text NOT NULL DEFAULT '';
UPDATE dead_letters SET properties_sha256 = encode(sha256(convert_to(user_properties::text, 'UTF8')), 'hex');
ALTER TABLE dead_letters
    DROP CONSTRAINT dead_letters_topic_payload_key,
    ADD CONSTRAINT dead_letters_message_key UNIQUE (topic_sha256, payload_sha256, properties_sha256);
