-- modvault's shared state for replicas (crates/state/src/postgres).
-- Applied once, in a transaction, by the first replica to start; the
-- version is recorded in modvault_migrations.

CREATE TABLE modvault_tokens (
    name TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    matches TEXT[] NOT NULL,
    created TEXT NOT NULL,
    prefix TEXT NOT NULL,
    sha256 BYTEA NOT NULL UNIQUE
);

-- Bumped by every token change, so replicas notice one with a cheap read.
CREATE TABLE modvault_tokens_generation (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    generation BIGINT NOT NULL
);
INSERT INTO modvault_tokens_generation (generation) VALUES (0);

-- One row per own checksum database: its committed tree size.
CREATE TABLE modvault_logs (
    name TEXT PRIMARY KEY,
    size BIGINT NOT NULL
);

CREATE TABLE modvault_log_records (
    log TEXT NOT NULL REFERENCES modvault_logs (name),
    id BIGINT NOT NULL,
    path TEXT NOT NULL,
    version TEXT NOT NULL,
    text BYTEA NOT NULL,
    PRIMARY KEY (log, id),
    UNIQUE (log, path, version)
);

CREATE TABLE modvault_log_hashes (
    log TEXT NOT NULL REFERENCES modvault_logs (name),
    idx BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (log, idx)
);

CREATE TABLE modvault_catalog (
    module TEXT NOT NULL,
    version TEXT NOT NULL,
    origin TEXT NOT NULL,
    size BIGINT NOT NULL,
    stored_at_ms BIGINT NOT NULL,
    last_served_ms BIGINT,
    PRIMARY KEY (module, version)
);
CREATE INDEX modvault_catalog_order ON modvault_catalog (module, stored_at_ms, version);

-- Who fetches a version from upstream: the holder renews expires_at while
-- it fetches; a lapsed lease may be taken over.
CREATE TABLE modvault_fetch_leases (
    key TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
