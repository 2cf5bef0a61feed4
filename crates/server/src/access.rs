//! Authentication and authorization at the edge.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use axum::http::{header, HeaderMap};

use modvault_access::{credential_from_header, AccessPolicy, Decision, Principal, Scope};
use modvault_rules::{Route, Source};
use modvault_state::Tokens;

use crate::error::HttpError;

/// Tokens, the anonymous-read policy, and the memory of failed attempts.
pub struct Access {
    pub tokens: Arc<dyn Tokens>,
    pub policy: AccessPolicy,
    pub failures: FailedAuth,
}

/// Slows down guessing: once an address has failed to authenticate `limit`
/// times within a minute, each further failure from it is answered only
/// after `delay`. A correct token is never delayed.
pub struct FailedAuth {
    limit: u32,
    delay: Duration,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most; older windows are swept past this.
const FAILURE_ADDRESSES: usize = 10_000;

impl FailedAuth {
    pub fn new(limit: u32, delay: Duration) -> FailedAuth {
        FailedAuth {
            limit,
            delay,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a failure from `peer` and waits if it is over the limit.
    async fn failed(&self, peer: Option<SocketAddr>) {
        let Some(ip) = peer.map(|p| p.ip()) else {
            return;
        };
        let over = {
            let mut seen = self
                .seen
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = Instant::now();
            if seen.len() >= FAILURE_ADDRESSES {
                seen.retain(|_, (start, _)| now.duration_since(*start) < FAILURE_WINDOW);
            }
            let entry = seen.entry(ip).or_insert((now, 0));
            if now.duration_since(entry.0) >= FAILURE_WINDOW {
                *entry = (now, 0);
            }
            entry.1 = entry.1.saturating_add(1);
            entry.1 > self.limit
        };
        if over {
            tracing::warn!(address = %ip, "authentication failures over the limit; answering slowly");
            tokio::time::sleep(self.delay).await;
        }
    }
}

impl Default for FailedAuth {
    fn default() -> FailedAuth {
        FailedAuth::new(10, Duration::from_secs(2))
    }
}

/// An `auth_failure` audit event: the address and why, never the token.
fn audit_failure(peer: Option<SocketAddr>, reason: &str) {
    let peer = peer.map(|p| p.ip().to_string()).unwrap_or_default();
    tracing::info!(target: "modvault::audit", event = "auth_failure", peer = %peer, reason = %reason);
}

impl Access {
    /// The caller behind the request's credentials: `None` for anonymous.
    /// Credentials that are present but wrong are refused outright (401),
    /// so a revoked token is noticed rather than silently downgraded.
    pub async fn caller(
        &self,
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Result<Option<Principal>, HttpError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Ok(None);
        };
        let Some(secret) = value.to_str().ok().and_then(credential_from_header) else {
            audit_failure(peer, "unsupported Authorization header");
            self.failures.failed(peer).await;
            return Err(HttpError::unauthorized(
                "unsupported Authorization header (use Basic with the token as password, or Bearer)",
            ));
        };
        match self.tokens.authenticate(secret.expose_secret()).await? {
            Some(principal) => Ok(Some(principal)),
            None => {
                // The token matched none, so it has no name to log; the
                // secret itself is never written.
                audit_failure(peer, "invalid or revoked token");
                self.failures.failed(peer).await;
                Err(HttpError::unauthorized("invalid or revoked token"))
            }
        }
    }

    /// Whether `caller` may do what needs `need` to `module`, on the route
    /// the rules gave it: denied modules are 403 for everyone, a missing
    /// token 401, a weak one 403.
    pub fn check(
        &self,
        caller: Option<&Principal>,
        route: &Route,
        module: &str,
        need: Scope,
    ) -> Result<(), HttpError> {
        if route.source == Source::Deny {
            return Err(HttpError::forbidden(&format!(
                "{module} is denied by this proxy{}",
                route.rule_label()
            )));
        }
        match self.policy.authorize(caller, module, need) {
            Decision::Allow => Ok(()),
            Decision::Unauthenticated => Err(HttpError::unauthorized(&format!(
                "{module} needs a token with {need} scope"
            ))),
            Decision::Forbidden(denial) => Err(HttpError::forbidden(&denial.to_string())),
        }
    }

    /// Checksum-database files other than lookups are not about one module;
    /// they need a token unless anonymous reads are allowed at all.
    pub fn check_any_read(&self, caller: Option<&Principal>) -> Result<(), HttpError> {
        if caller.is_some() || !self.policy.anonymous_read.is_empty() {
            Ok(())
        } else {
            Err(HttpError::unauthorized(
                "this checksum database needs a token",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn failures_past_the_limit_are_answered_slowly_per_address() {
        let failures = FailedAuth::new(2, Duration::from_secs(2));
        let (a, b): (SocketAddr, SocketAddr) =
            ("10.0.0.1:1".parse().unwrap(), "10.0.0.2:1".parse().unwrap());
        let timed = |peer| {
            let failures = &failures;
            async move {
                let start = tokio::time::Instant::now();
                failures.failed(Some(peer)).await;
                start.elapsed()
            }
        };
        assert_eq!(timed(a).await, Duration::ZERO);
        assert_eq!(timed(a).await, Duration::ZERO);
        assert_eq!(
            timed(a).await,
            Duration::from_secs(2),
            "the third failure within a minute waits"
        );
        assert_eq!(
            timed(b).await,
            Duration::ZERO,
            "other addresses are not slowed"
        );
        tokio::time::advance(FAILURE_WINDOW).await;
        assert_eq!(timed(a).await, Duration::ZERO, "a new minute starts over");
    }
}
