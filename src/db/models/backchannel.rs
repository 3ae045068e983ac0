//! The `backchannel_deliveries` table: logout tokens on their way to relying parties.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::{
    DbConn, DbError, purge::finished_ids, schema::backchannel_deliveries as deliveries,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = deliveries)]
pub struct Delivery {
    pub id: String,
    pub client_id: String,
    pub logout_uri: String,
    pub logout_token: String,
    pub attempts: i32,
}

pub fn enqueue(
    conn: &mut DbConn,
    id: &str,
    client_id: &str,
    logout_uri: &str,
    logout_token: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    diesel::insert_into(deliveries::table)
        .values((
            deliveries::id.eq(id),
            deliveries::client_id.eq(client_id),
            deliveries::logout_uri.eq(logout_uri),
            deliveries::logout_token.eq(logout_token),
            deliveries::next_attempt_at.eq(now.naive_utc()),
            deliveries::created_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Claims up to `limit` due deliveries for `lease`: each is pushed `lease` into the future by
/// a conditional UPDATE, so a delivery claimed here is claimed nowhere else.
pub fn claim_due(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    lease: Duration,
    limit: i64,
) -> Result<Vec<Delivery>, DbError> {
    let due: Vec<(String, NaiveDateTime)> = deliveries::table
        .filter(deliveries::delivered_at.is_null())
        .filter(deliveries::abandoned_at.is_null())
        .filter(deliveries::next_attempt_at.le(now.naive_utc()))
        .order(deliveries::next_attempt_at.asc())
        .limit(limit)
        .select((deliveries::id, deliveries::next_attempt_at))
        .load(conn)?;
    let mut claimed = Vec::with_capacity(due.len());
    for (id, seen_at) in due {
        let won = diesel::update(
            deliveries::table
                .find(&id)
                .filter(deliveries::next_attempt_at.eq(seen_at)),
        )
        .set(deliveries::next_attempt_at.eq((now + lease).naive_utc()))
        .execute(conn)?;
        if won == 1 {
            claimed.extend(
                deliveries::table
                    .find(&id)
                    .select(Delivery::as_select())
                    .get_result(conn)
                    .optional()?,
            );
        }
    }
    Ok(claimed)
}

pub fn delivered(conn: &mut DbConn, id: &str, now: DateTime<Utc>) -> Result<(), DbError> {
    diesel::update(deliveries::table.find(id))
        .set((
            deliveries::delivered_at.eq(now.naive_utc()),
            deliveries::attempts.eq(deliveries::attempts + 1),
            deliveries::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt: retried at `retry_at`, or abandoned when `None`.
pub fn failed(
    conn: &mut DbConn,
    id: &str,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let target = deliveries::table.find(id);
    match retry_at {
        Some(at) => diesel::update(target)
            .set((
                deliveries::attempts.eq(deliveries::attempts + 1),
                deliveries::next_attempt_at.eq(at.naive_utc()),
                deliveries::last_error.eq(error),
            ))
            .execute(conn)?,
        None => diesel::update(target)
            .set((
                deliveries::attempts.eq(deliveries::attempts + 1),
                deliveries::abandoned_at.eq(now.naive_utc()),
                deliveries::last_error.eq(error),
            ))
            .execute(conn)?,
    };
    Ok(())
}

/// Deletes up to `batch` deliveries that were delivered or given up before `cutoff`; returns
/// how many went. Pending ones stay whatever their age: they are still being tried.
pub fn purge_finished(
    conn: &mut DbConn,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> Result<usize, DbError> {
    let cutoff = cutoff.naive_utc();
    let ids = finished_ids(
        conn,
        batch,
        |conn, limit| {
            Ok(deliveries::table
                .filter(deliveries::delivered_at.lt(cutoff))
                .select(deliveries::id)
                .limit(limit)
                .load(conn)?)
        },
        |conn, limit| {
            Ok(deliveries::table
                .filter(deliveries::abandoned_at.lt(cutoff))
                .select(deliveries::id)
                .limit(limit)
                .load(conn)?)
        },
    )?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(deliveries::table.filter(deliveries::id.eq_any(&ids))).execute(conn)?)
}

/// (pending, delivered, abandoned) counts; for tests and operators.
pub fn counts(conn: &mut DbConn) -> Result<(i64, i64, i64), DbError> {
    let pending = deliveries::table
        .filter(deliveries::delivered_at.is_null())
        .filter(deliveries::abandoned_at.is_null())
        .count()
        .get_result(conn)?;
    let delivered = deliveries::table
        .filter(deliveries::delivered_at.is_not_null())
        .count()
        .get_result(conn)?;
    let abandoned = deliveries::table
        .filter(deliveries::abandoned_at.is_not_null())
        .count()
        .get_result(conn)?;
    Ok((pending, delivered, abandoned))
}
