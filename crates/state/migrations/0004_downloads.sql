-- Zip downloads: per version (the UI's module pages) and per UTC day,
-- served from the store (hits) or fetched (misses), for the UI's stats.
ALTER TABLE modvault_catalog ADD COLUMN downloads BIGINT NOT NULL DEFAULT 0;
CREATE TABLE modvault_downloads_daily (
    day BIGINT PRIMARY KEY,
    hits BIGINT NOT NULL DEFAULT 0,
    misses BIGINT NOT NULL DEFAULT 0
);
