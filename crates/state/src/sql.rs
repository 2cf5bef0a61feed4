//! What the two catalog databases (SQLite and PostgreSQL) share: times
//! kept as milliseconds since the Unix epoch, and search text made literal
//! for `LIKE … ESCAPE '\\'`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) fn millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) fn from_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

/// `%`, `_` and `\` in a search are literal.
pub(crate) fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
