//! Delivering queued logout tokens (Back-Channel Logout 1.0 §2.5): each instance claims due
//! deliveries under a lease, POSTs them, and records the outcome with a retry time.

use std::{sync::Arc, time::Duration as StdDuration};

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Semaphore;

use super::Backchannel;
use crate::{
    db::{DbError, models::backchannel},
    telemetry::DeliveryOutcome,
};

/// Attempts before a delivery is given up (about 8 minutes of trying with the backoff below).
const MAX_ATTEMPTS: i32 = 8;
/// A claimed delivery is someone else's to retry if its sender vanished for this long.
const LEASE: i64 = 30;
const REQUEST_TIMEOUT: StdDuration = StdDuration::from_secs(5);
/// Deliveries in flight at once per instance. Each waits at most [`REQUEST_TIMEOUT`], so this
/// many hanging apps delay the rest by at most that long; the lease stays far longer.
const CONCURRENCY: usize = 16;

/// How long to wait after the `attempts`-th failure: 2, 4, 8 … seconds, at most 5 minutes.
fn backoff(attempts: i32) -> Duration {
    Duration::seconds((1i64 << attempts.clamp(1, 9)).min(300))
}

/// Delivers due logout tokens until the process ends. Wakes on new work, when a delivery
/// finishes, or every second.
///
/// Each delivery runs as its own task, at most [`CONCURRENCY`] at once per instance: an app
/// that hangs until [`REQUEST_TIMEOUT`] holds one slot, not the queue, so every other app hears
/// of the sign-out at once. The loop claims only as many as there are free slots, so nothing
/// claimed waits in this process while another instance could deliver it.
pub async fn run_deliveries(ctx: Backchannel) {
    let http = match reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(http) => http,
        Err(e) => {
            tracing::error!(error = %e, "back-channel logout disabled: no HTTP client");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    loop {
        if let Err(e) = dispatch_due(&ctx, &http, &slots).await {
            tracing::warn!(error = %e, "back-channel logout deliveries not processed");
        }
        tokio::select! {
            () = ctx.wake.notified() => {}
            () = tokio::time::sleep(StdDuration::from_secs(1)) => {}
        }
    }
}

/// Claims as many due deliveries as there are free slots and starts each on its own task.
async fn dispatch_due(
    ctx: &Backchannel,
    http: &reqwest::Client,
    slots: &Arc<Semaphore>,
) -> Result<usize, DbError> {
    let free = slots.available_permits();
    if free == 0 {
        return Ok(0);
    }
    let now = ctx.clock.now();
    let limit = i64::try_from(free).unwrap_or(i64::MAX);
    let due = ctx
        .db
        .run(move |conn| backchannel::claim_due(conn, now, Duration::seconds(LEASE), limit))
        .await?;
    let count = due.len();
    for delivery in due {
        // Only this loop takes permits, and it claimed no more than were free.
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        let (ctx, http) = (ctx.clone(), http.clone());
        tokio::spawn(async move {
            if let Err(e) = deliver_one(&ctx, &http, delivery).await {
                tracing::warn!(error = %e, "back-channel logout outcome not recorded");
            }
            drop(permit);
            // A slot is free: look for more work now rather than at the next tick.
            ctx.wake.notify_one();
        });
    }
    Ok(count)
}

/// POSTs one logout token and records the outcome: delivered, or failed with a retry time
/// (or given up after [`MAX_ATTEMPTS`]).
async fn deliver_one(
    ctx: &Backchannel,
    http: &reqwest::Client,
    delivery: backchannel::Delivery,
) -> Result<(), DbError> {
    let outcome = http
        .post(&delivery.logout_uri)
        .form(&[("logout_token", delivery.logout_token.as_str())])
        .send()
        .await;
    let error = match outcome {
        // §2.8: 200 (or 204) means the session was logged out at the client.
        Ok(response) if response.status().is_success() => None,
        Ok(response) => Some(format!("answered {}", response.status())),
        Err(e) => Some(format!("unreachable: {}", e.without_url())),
    };
    let now = ctx.clock.now();
    let attempts = delivery.attempts + 1;
    let (id, client_id) = (delivery.id, delivery.client_id);
    match error {
        None => {
            crate::telemetry::backchannel_delivery(DeliveryOutcome::Delivered);
            tracing::info!(%client_id, attempts, "back-channel logout delivered");
            ctx.db
                .run(move |conn| backchannel::delivered(conn, &id, now))
                .await
        }
        Some(error) => {
            let retry_at: Option<DateTime<Utc>> =
                (attempts < MAX_ATTEMPTS).then(|| now + backoff(attempts));
            match retry_at {
                Some(at) => {
                    crate::telemetry::backchannel_delivery(DeliveryOutcome::Failed);
                    tracing::warn!(%client_id, attempts, %error, retry_in_secs = (at - now).num_seconds(), "back-channel logout failed; will retry")
                }
                None => {
                    crate::telemetry::backchannel_delivery(DeliveryOutcome::Abandoned);
                    tracing::error!(%client_id, attempts, %error, "back-channel logout abandoned")
                }
            }
            ctx.db
                .run(move |conn| backchannel::failed(conn, &id, &error, retry_at, now))
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1).num_seconds(), 2);
        assert_eq!(backoff(2).num_seconds(), 4);
        assert_eq!(backoff(5).num_seconds(), 32);
        assert_eq!(backoff(20).num_seconds(), 300);
    }
}
