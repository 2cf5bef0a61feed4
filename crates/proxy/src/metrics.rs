//! Counters worth alerting on, through the `metrics` facade; the server
//! renders them on `/metrics` (crates/observe describes every metric).

/// A handle for the proxy's counters; the values live in the process's
/// recorder, so every clone counts into the same series.
#[derive(Default)]
pub struct Metrics(());

impl Metrics {
    /// Fetched data that did not match the checksum database.
    pub fn security_error(&self) {
        metrics::counter!("modvault_security_errors_total").increment(1);
    }
    /// A zip committed to the store.
    pub fn zip_stored(&self) {
        metrics::counter!("modvault_zips_stored_total").increment(1);
    }
    /// A zip refused: invalid, oversized, or failing verification.
    pub fn zip_rejected(&self) {
        metrics::counter!("modvault_zips_rejected_total").increment(1);
    }
    /// A checksum-database verification of a `.mod` or `.zip`: `ok`,
    /// `mismatch` or `error`.
    pub fn verification(&self, kind: &'static str, result: &'static str) {
        metrics::counter!("modvault_checksum_verifications_total", "kind" => kind, "result" => result)
            .increment(1);
    }
    /// A file of `kind` answered from the store (or its memory cache)
    /// without asking a source: a hit; anything else, a miss.
    pub fn cache(&self, kind: &'static str, hit: bool) {
        if hit {
            metrics::counter!("modvault_cache_hits_total", "kind" => kind).increment(1);
        } else {
            metrics::counter!("modvault_cache_misses_total", "kind" => kind).increment(1);
        }
    }
}
