//! Counters worth alerting on, rendered in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    /// Fetched data that did not match the checksum database.
    pub security_errors: AtomicU64,
    /// Zips committed to the store.
    pub zips_stored: AtomicU64,
    /// Zips refused: invalid, oversized, or failing verification.
    pub zips_rejected: AtomicU64,
}

impl Metrics {
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, help, value) in [
            (
                "modvault_security_errors_total",
                "Fetched modules that did not match the checksum database.",
                &self.security_errors,
            ),
            (
                "modvault_zips_stored_total",
                "Module zips fetched, verified and stored.",
                &self.zips_stored,
            ),
            (
                "modvault_zips_rejected_total",
                "Module zips refused after fetching.",
                &self.zips_rejected,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        out
    }
}
