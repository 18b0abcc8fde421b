ALTER TABLE observations DROP COLUMN IF EXISTS trust_basis;
ALTER TABLE observations DROP COLUMN IF EXISTS trust_precision;
ALTER TABLE observations DROP COLUMN IF EXISTS trust;
