//! The scheduled purge: rows that are finished (grants expired or revoked, sessions ended,
//! back-channel deliveries done) are deleted once `[retention]` has passed, in bounded batches.

use chrono::{DateTime, Duration, Utc};

use super::{
    Db, DbConn, DbError,
    models::{backchannel, grant, session},
};
use crate::config::RetentionSettings;

/// Rows deleted per statement, so that a first purge over a year of rows never holds a long
/// lock or runs into the statement timeout; the purge repeats until a batch comes back short.
pub const PURGE_BATCH: i64 = 1_000;

/// What one purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub grants: usize,
    pub sessions: usize,
    pub deliveries: usize,
}

impl Purged {
    pub fn total(&self) -> usize {
        self.grants + self.sessions + self.deliveries
    }
}

/// Deletes every finished row past its retention at `now`. Several instances may run it at
/// once: each batch deletes by id what it just selected, so a row deleted by another instance
/// is simply not counted twice.
pub async fn purge(
    db: &Db,
    retention: &RetentionSettings,
    now: DateTime<Utc>,
) -> Result<Purged, DbError> {
    let before = |days: u32| now - Duration::days(i64::from(days));
    let (grants, sessions, deliveries) = (
        before(retention.grants_days),
        before(retention.sessions_days),
        before(retention.backchannel_days),
    );
    db.run(move |conn| {
        let grants = in_batches(|| grant::purge_finished(conn, grants, PURGE_BATCH))?;
        let sessions = in_batches(|| session::purge_ended(conn, sessions, PURGE_BATCH))?;
        let deliveries = in_batches(|| backchannel::purge_finished(conn, deliveries, PURGE_BATCH))?;
        Ok(Purged {
            grants,
            sessions,
            deliveries,
        })
    })
    .await
}

/// Runs `batch` until it deletes fewer than a full batch; returns the total.
fn in_batches(mut batch: impl FnMut() -> Result<usize, DbError>) -> Result<usize, DbError> {
    let full = usize::try_from(PURGE_BATCH).unwrap_or(usize::MAX);
    let mut total = 0;
    loop {
        let deleted = batch()?;
        total += deleted;
        if deleted < full {
            return Ok(total);
        }
    }
}

/// The ids of up to `batch` finished rows found by two queries (a row finishes one of two
/// ways: a grant expires or is revoked, a delivery is delivered or given up): as many as
/// `first` finds, then `second` fills the room left. Each query is passed how many it may
/// return, so each uses its own index and stays bounded.
pub(crate) fn finished_ids(
    conn: &mut DbConn,
    batch: i64,
    first: impl FnOnce(&mut DbConn, i64) -> Result<Vec<String>, DbError>,
    second: impl FnOnce(&mut DbConn, i64) -> Result<Vec<String>, DbError>,
) -> Result<Vec<String>, DbError> {
    let mut ids = first(conn, batch)?;
    let room = batch.saturating_sub(i64::try_from(ids.len()).unwrap_or(batch));
    if room > 0 {
        ids.extend(second(conn, room)?);
    }
    Ok(ids)
}
