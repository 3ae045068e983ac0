//! Builds the HTTP application and binds its listener (port 0 in tests).

use std::{net::TcpListener, sync::Arc};

use actix_web::{App, HttpServer, dev::Server, middleware, web};
use anyhow::Context;

use crate::{clock::Clock, config::Settings, state::AppState, web as routes};

/// How often each instance reloads the signing keys and rotates any that are due. Several
/// instances share the database, so a rotation by one (or by `oneid keys rotate`) reaches the
/// others within this interval; a new key waits for it before signing (see
/// [`crate::oidc::keys::ACTIVATION_DELAY`]).
pub const KEY_REFRESH: std::time::Duration =
    std::time::Duration::from_secs(crate::oidc::keys::RELOAD_INTERVAL_SECS.unsigned_abs());

/// How often each instance samples the gauges of shared state (sessions active, back-channel
/// deliveries pending): two indexed counts, off the request path and never per scrape.
pub const GAUGE_SAMPLE: std::time::Duration = std::time::Duration::from_secs(15);

/// A bound, not yet running, server.
pub struct Application {
    port: u16,
    server: Server,
    /// `/metrics` on `[metrics] listen`, and its port, when set.
    metrics: Option<(u16, Server)>,
    state: web::Data<AppState>,
}

impl Application {
    /// Opens the database (migrating it), wires the services and binds `settings.listen`.
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.listen)
            .with_context(|| format!("binding {}", settings.listen))?;
        Self::build_with_listener(settings, clock, listener).await
    }

    /// As [`Application::build`], on a listener bound by the caller (tests bind port 0 first
    /// so the issuer URL can name the real port).
    pub async fn build_with_listener(
        settings: Settings,
        clock: Arc<dyn Clock>,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        // Installed before anything records, once per process (see `telemetry::recorder`).
        crate::telemetry::recorder();
        let metrics_listen = settings.metrics.listen;
        let workers = settings.workers;
        let https = settings.issuer.scheme() == "https";
        let state = web::Data::new(AppState::build(settings, clock).await?);
        let metrics = metrics_listen.map(serve_metrics).transpose()?;
        let app_state = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .configure(routes::routes)
                .default_service(web::to(actix_web::HttpResponse::NotFound))
                .wrap(middleware::ErrorHandlers::new().default_handler(routes::render_error_page))
                .wrap(routes::security_headers(https))
                .wrap(middleware::from_fn(routes::log_request))
        })
        .listen(listener)?;
        if workers > 0 {
            server = server.workers(workers);
        }
        let server = server.run();
        tokio::spawn(refresh_keys(state.clone()));
        tokio::spawn(crate::logout::run_deliveries(
            state.session.backchannel.clone(),
        ));
        let (minute, hour) = (chrono::Duration::minutes(1), chrono::Duration::hours(1));
        let clock = || state.clock.clone();
        tokio::spawn(on_clock(
            clock(),
            state.session.clone(),
            minute,
            end_expired_sessions,
        ));
        tokio::spawn(on_clock(
            clock(),
            state.audit.clone(),
            hour,
            expire_audit_events,
        ));
        tokio::spawn(on_clock(clock(), state.clone(), hour, purge_finished_rows));
        tokio::spawn(sample_gauges(state.clone()));
        Ok(Self {
            port,
            server,
            metrics,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the `/metrics` listener (`[metrics] listen`), when there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// Stops the server from another task (tests restart the app over the same database).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until the process is told to stop (SIGINT/SIGTERM finish in-flight requests first).
    /// The `/metrics` listener stops with the application.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics.map(|(_, server)| {
            let handle = server.handle();
            (handle, tokio::spawn(server))
        });
        let served = self.server.await;
        // The audit events of the last requests, still queued.
        self.state.audit.flush().await;
        if let Some((handle, task)) = metrics {
            handle.stop(true).await;
            if let Ok(Err(e)) = task.await {
                tracing::warn!(error = %e, "the metrics listener ended with an error");
            }
        }
        served
    }
}

/// `/metrics` alone, on a listener of its own (one worker: a scrape every few seconds), with no
/// token: whoever reaches `at` may read it. Every other path answers 404.
fn serve_metrics(at: std::net::SocketAddr) -> anyhow::Result<(u16, Server)> {
    let listener =
        TcpListener::bind(at).with_context(|| format!("binding the metrics listener {at}"))?;
    let port = listener.local_addr()?.port();
    let server = HttpServer::new(|| {
        App::new()
            .service(web::resource("/metrics").get(routes::get_metrics_unguarded))
            .default_service(web::to(actix_web::HttpResponse::NotFound))
    })
    .workers(1)
    .listen(listener)?
    .run();
    tracing::info!(%at, port, "metrics served at /metrics");
    Ok((port, server))
}

/// Samples the gauges of shared state every [`GAUGE_SAMPLE`] of real time (they describe the
/// database, which the injected clock does not move): live sessions through the partial index
/// on live sessions, pending back-channel deliveries in their (purged, small) table. A count
/// per scrape would let whoever scrapes decide how often the database counts.
async fn sample_gauges(state: web::Data<AppState>) {
    let mut ticks = tokio::time::interval(GAUGE_SAMPLE);
    loop {
        ticks.tick().await;
        let counted = state
            .db
            .run(|conn| {
                let (pending, _, _) = crate::db::models::backchannel::counts(conn)?;
                let sessions = crate::db::models::session::count_live(conn)?;
                Ok((pending, sessions))
            })
            .await;
        match counted {
            Ok((pending, sessions)) => crate::telemetry::shared_state(pending, sessions),
            Err(e) => tracing::warn!(error = %e, "metrics of shared state not sampled"),
        }
    }
}

/// Runs `job` on `ctx` (what the job works with, and nothing more) about once per `period` of
/// the injected clock's time. It looks every real second, so a test that moves its clock
/// forward sees the job run within a second.
async fn on_clock<C, F, Fut>(clock: Arc<dyn Clock>, ctx: C, period: chrono::Duration, job: F)
where
    C: Clone,
    F: Fn(C) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut last = None;
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        ticks.tick().await;
        let now = clock.now();
        if last.is_some_and(|at| now - at < period) {
            continue;
        }
        last = Some(now);
        job(ctx.clone()).await;
    }
}

/// Ends sessions that ran out (run about once a minute), so their apps hear of it. Each
/// instance sweeps; ending a session is one conditional UPDATE, so only one of them tells the
/// apps.
async fn end_expired_sessions(session: crate::session::Context) {
    if let Err(e) = crate::session::sweep_expired(&session).await {
        tracing::warn!(error = %e, "expired sessions not ended");
    }
}

/// Deletes audit events past `[audit] retention_days` (run about once an hour). Each instance
/// sweeps; deleting what is already gone costs one indexed query.
async fn expire_audit_events(audit: crate::audit::Audit) {
    match audit.cleanup().await {
        Ok(0) => {}
        Ok(deleted) => tracing::info!(deleted, "audit events past their retention deleted"),
        Err(e) => tracing::warn!(error = %e, "audit events past their retention not deleted"),
    }
}

/// Deletes finished grants, sessions and back-channel deliveries past `[retention]` (run about
/// once an hour). Each instance purges; deleting what is already gone costs one indexed query.
async fn purge_finished_rows(state: web::Data<AppState>) {
    match crate::db::purge::purge(&state.db, &state.settings.retention, state.clock.now()).await {
        Ok(purged) if purged.total() == 0 => {}
        Ok(purged) => tracing::info!(
            grants = purged.grants,
            sessions = purged.sessions,
            deliveries = purged.deliveries,
            "finished rows past their retention deleted"
        ),
        Err(e) => tracing::warn!(error = %e, "finished rows past their retention not deleted"),
    }
}

/// The key schedule: rotate what is due, and pick up rotations made elsewhere, every
/// [`KEY_REFRESH`] of the injected clock; and reload as soon as the ring goes stale (a next key
/// becomes current, a retired one leaves the JWKS), so every instance switches keys within a
/// second of the moment the database names. Looks every real second, so a test that moves its
/// clock sees the reload within a second.
async fn refresh_keys(state: web::Data<AppState>) {
    let period = chrono::Duration::seconds(crate::oidc::keys::RELOAD_INTERVAL_SECS);
    // After a failure, the next attempt waits this long even when the ring is stale.
    let retry = chrono::Duration::seconds(10);
    let mut last = state.clock.now();
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        ticks.tick().await;
        let now = state.clock.now();
        let stale = state
            .keys
            .current()
            .changes_at()
            .is_some_and(|at| at <= now);
        let due = now - last >= period;
        let stale_due = stale && now - last >= retry;
        if !due && !stale_due {
            continue;
        }
        last = now;
        match crate::oidc::keys::rotate_if_due(
            &state.db,
            &state.kek,
            &state.settings.keys,
            state.clock.now(),
        )
        .await
        {
            Ok((ring, rotated)) => {
                for alg in rotated {
                    tracing::info!(%alg, "signing key rotated on schedule");
                }
                state.keys.replace(ring);
            }
            Err(e) => tracing::warn!(error = %e, "signing keys not refreshed"),
        }
    }
}
