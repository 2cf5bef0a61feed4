//! Authentication and authorization at the edge.

use std::sync::Arc;

use axum::http::{header, HeaderMap};

use modvault_access::{credential_from_header, AccessPolicy, Decision, Principal, Scope};
use modvault_rules::{Route, Source};
use modvault_state::Tokens;

use crate::error::HttpError;

/// Tokens and the anonymous-read policy.
pub struct Access {
    pub tokens: Arc<dyn Tokens>,
    pub policy: AccessPolicy,
}

impl Access {
    /// The caller behind the request's credentials: `None` for anonymous.
    /// Credentials that are present but wrong are refused outright (401),
    /// so a revoked token is noticed rather than silently downgraded.
    pub async fn caller(&self, headers: &HeaderMap) -> Result<Option<Principal>, HttpError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Ok(None);
        };
        let secret = value.to_str().ok().and_then(credential_from_header).ok_or_else(|| {
            HttpError::unauthorized("unsupported Authorization header (use Basic with the token as password, or Bearer)")
        })?;
        let principal = self.tokens.authenticate(secret.expose_secret()).await?;
        principal
            .map(Some)
            .ok_or_else(|| HttpError::unauthorized("invalid or revoked token"))
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
