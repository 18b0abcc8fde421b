DROP INDEX IF EXISTS dead_letters_topic_idx;
ALTER TABLE dead_letters
    DROP CONSTRAINT dead_letters_reason_bounded,
    DROP CONSTRAINT dead_letters_topic_bounded,
    DROP CONSTRAINT dead_letters_topic_payload_key,
    ADD CONSTRAINT dead_letters_topic_payload_sha256_key UNIQUE (topic, payload_sha256),
    DROP COLUMN payload_size,
    DROP COLUMN topic_sha256;
