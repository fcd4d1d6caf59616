-- Case-insensitive substring search on titles (ILIKE '%q%') via trigrams.
-- pg_trgm is a trusted extension (PG 13+) and is available on Aurora PostgreSQL.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX videos_title_trgm_idx ON videos USING gin (title gin_trgm_ops);
