-- Letters that differ only by their properties become one again (the oldest kept, occurrences summed).
UPDATE dead_letters d SET occurrences = d.occurrences + o.extra
FROM (SELECT min(id) AS id, sum(occurrences) - min(occurrences) AS extra FROM dead_letters
      GROUP BY topic_sha256, payload_sha256 HAVING count(*) > 1) o
WHERE d.id = o.id;
DELETE FROM dead_letters d USING dead_letters k
WHERE d.topic_sha256 = k.topic_sha256 AND d.payload_sha256 = k.payload_sha256 AND d.id > k.id;
ALTER TABLE dead_letters
    DROP CONSTRAINT dead_letters_message_key,
    ADD CONSTRAINT dead_letters_topic_payload_key UNIQUE (topic_sha256, payload_sha256),
    DROP COLUMN properties_sha256;
