-- depends: 0005_device_status
-- Dead letters bounded whatever a device sends (issue 8): the topic is identified by its SHA-256 (a
-- topic is up to 64 KiB; the stored text is its first 1024 characters, and an index row cannot hold
-- more than ~2.7 KB), and the payload kept may be a prefix: payload_size and payload_sha256 describe
-- the whole payload the device sent.
ALTER TABLE dead_letters
    ADD COLUMN topic_sha256 text,
    ADD COLUMN payload_size bigint;
UPDATE dead_letters SET topic_sha256 = encode(sha256(convert_to(topic, 'UTF8')), 'hex'),
                        payload_size = octet_length(payload);
ALTER TABLE dead_letters
    ALTER COLUMN topic_sha256 SET NOT NULL,
    ALTER COLUMN payload_size SET NOT NULL,
    DROP CONSTRAINT dead_letters_topic_payload_sha256_key,
    ADD CONSTRAINT dead_letters_topic_payload_key UNIQUE (topic_sha256, payload_sha256),
    ADD CONSTRAINT dead_letters_topic_bounded CHECK (length(topic) <= 1024),
    ADD CONSTRAINT dead_letters_reason_bounded CHECK (length(reason) <= 2000);
CREATE INDEX dead_letters_topic_idx ON dead_letters (topic);
