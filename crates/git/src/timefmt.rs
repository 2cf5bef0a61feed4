//! Commit times as the go command writes them.

use time::OffsetDateTime;

use crate::error::{RepoError, RepoResult};

fn utc(unix_seconds: i64) -> RepoResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .filter(|t| (0..=9999).contains(&t.year()))
        .ok_or_else(|| RepoError::not_found(format!("commit time {unix_seconds} is out of range")))
}

/// The pseudo-version timestamp (Go layout `20060102150405`, UTC).
pub(crate) fn pseudo_timestamp(unix_seconds: i64) -> RepoResult<String> {
    let t = utc(unix_seconds)?;
    Ok(format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// The `.info` `Time` (Go's `time.Time` JSON for a UTC time with whole
/// seconds: `2006-01-02T15:04:05Z`).
pub(crate) fn rfc3339(unix_seconds: i64) -> RepoResult<String> {
    let t = utc(unix_seconds)?;
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(pseudo_timestamp(1_704_103_200).unwrap(), "20240101100000");
        assert_eq!(rfc3339(1_704_103_200).unwrap(), "2024-01-01T10:00:00Z");
        assert_eq!(rfc3339(0).unwrap(), "1970-01-01T00:00:00Z");
        assert!(rfc3339(i64::MAX).is_err());
        assert!(rfc3339(-100_000_000_000).is_err());
    }
}
