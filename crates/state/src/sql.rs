//! What the two catalog databases (SQLite and PostgreSQL) share: times
//! kept as milliseconds since the Unix epoch, search text made literal
//! for `LIKE … ESCAPE '\\'`, and downloads gathered into batches.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::{DailyDownloads, ServedFrom};

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

/// Downloads noted but not yet written: a write per download would make
/// every warm request a database transaction, so both catalogs gather
/// them and write a batch every [`ServedBatch::FLUSH_AFTER`] or
/// [`ServedBatch::SIZE`] versions.
pub(crate) struct ServedBatch {
    versions: HashMap<(String, String), Served>,
    days: HashMap<i64, (u64, u64)>,
    since: Instant,
}

/// One version's downloads in a batch.
pub(crate) struct Served {
    pub last: SystemTime,
    pub downloads: u64,
}

/// A batch taken for writing.
#[derive(Default)]
pub(crate) struct ServedWrites {
    pub versions: Vec<((String, String), Served)>,
    /// Day (days since the Unix epoch, UTC), hits, misses.
    pub days: Vec<(i64, u64, u64)>,
}

impl ServedWrites {
    pub fn is_empty(&self) -> bool {
        self.versions.is_empty() && self.days.is_empty()
    }
}

impl ServedBatch {
    const SIZE: usize = 512;
    const FLUSH_AFTER: Duration = Duration::from_secs(2);

    pub fn new() -> ServedBatch {
        ServedBatch {
            versions: HashMap::new(),
            days: HashMap::new(),
            since: Instant::now(),
        }
    }

    /// Notes a download; true when the batch is due to be written.
    pub fn note(&mut self, module: &str, version: &str, at: SystemTime, from: ServedFrom) -> bool {
        let slot = self
            .versions
            .entry((module.to_owned(), version.to_owned()))
            .or_insert(Served {
                last: at,
                downloads: 0,
            });
        slot.last = slot.last.max(at);
        slot.downloads += 1;
        let day = self.days.entry(day_of(at)).or_default();
        match from {
            ServedFrom::Store => day.0 += 1,
            ServedFrom::Fetch => day.1 += 1,
        }
        self.versions.len() >= Self::SIZE || self.since.elapsed() >= Self::FLUSH_AFTER
    }

    pub fn take(&mut self) -> ServedWrites {
        self.since = Instant::now();
        ServedWrites {
            versions: self.versions.drain().collect(),
            days: self.days.drain().map(|(d, (h, m))| (d, h, m)).collect(),
        }
    }
}

/// Days since the Unix epoch, UTC.
pub(crate) fn day_of(time: SystemTime) -> i64 {
    millis(time).div_euclid(86_400_000)
}

/// The daily rows for the `days` days up to today, oldest first, with the
/// days nothing was downloaded filled in as zeros.
pub(crate) fn daily_series(
    rows: &[(i64, i64, i64)],
    days: u32,
    now: SystemTime,
) -> Vec<DailyDownloads> {
    let today = day_of(now);
    let found: HashMap<i64, (i64, i64)> = rows.iter().map(|&(d, h, m)| (d, (h, m))).collect();
    (today - i64::from(days) + 1..=today)
        .map(|day| {
            let (hits, misses) = found.get(&day).copied().unwrap_or_default();
            DailyDownloads {
                day: from_millis(day * 86_400_000),
                hits: hits.max(0) as u64,
                misses: misses.max(0) as u64,
            }
        })
        .collect()
}
