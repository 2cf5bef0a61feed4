-- Negative answers (not found, a failing source) shared by replicas, each
-- until it expires (database time).
CREATE TABLE modvault_failures (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
