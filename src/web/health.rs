//! Probes for orchestrators: `/healthz` says the process is alive (restart it if not);
//! `/readyz` says it can serve (send it traffic only if so). A database or Redis outage makes
//! an instance not ready, never dead: restarting it would not bring the dependency back.

use actix_web::{HttpResponse, http::header, web};
use serde::Serialize;

use crate::state::AppState;

/// The process is up and serving.
pub async fn get_healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body("ok")
}

#[derive(Serialize)]
struct Readiness {
    status: &'static str,
    database: &'static str,
    migrations: &'static str,
    store: &'static str,
}

/// The database answers with every migration applied, and the ephemeral store answers. Each
/// check is bounded by its dependency's own timeouts; details go to the log, not the answer.
pub async fn get_readyz(state: web::Data<AppState>) -> HttpResponse {
    let (database, store) = futures_util::future::join(state.db.ping(), state.store.ping()).await;
    let migrations = match &database {
        Ok(()) => {
            let db = state.db.clone();
            match web::block(move || db.pending_migrations()).await {
                Ok(Ok(0)) => Ok(()),
                Ok(Ok(pending)) => Err(format!("{pending} migration(s) pending")),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        }
        Err(_) => Err("database unreachable".to_owned()),
    };
    let verdict = |name: &str, outcome: Result<(), String>| match outcome {
        Ok(()) => "ok",
        Err(detail) => {
            tracing::warn!(check = name, %detail, "not ready");
            "unavailable"
        }
    };
    let database = verdict("database", database.map_err(|e| e.to_string()));
    let migrations = verdict("migrations", migrations);
    let store = verdict("store", store.map_err(|e| e.to_string()));
    let ready = [database, migrations, store].iter().all(|v| *v == "ok");
    let mut response = if ready {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Readiness {
            status: if ready { "ready" } else { "not ready" },
            database,
            migrations,
            store,
        })
}
