-- The index feed reads the catalog by time stored; eviction by time last
-- used (served or stored, whichever is later), among what can be fetched
-- again.
CREATE INDEX modvault_catalog_stored ON modvault_catalog (stored_at_ms, module, version);
CREATE INDEX modvault_catalog_last_used ON modvault_catalog
    ((GREATEST(coalesce(last_served_ms, 0), stored_at_ms)), module, version)
    WHERE origin IN ('upstream', 'git');
