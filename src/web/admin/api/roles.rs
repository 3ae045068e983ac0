//! `/admins`: who administers OneID — list, grant, revoke (never the last administrator).

use actix_web::{HttpResponse, delete, get, put, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiError, ListPage, PageParams, decode_cursor};
use crate::{
    admin::{self, roles::RoleError},
    db::models::account::Account,
    domain::AccountId,
    state::AppState,
    web::admin::ApiClient,
};

/// An administrator.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminEntry {
    /// The account ID.
    pub account_id: i64,
    pub name: String,
}

impl From<&Account> for AdminEntry {
    fn from(a: &Account) -> Self {
        Self {
            account_id: a.id.get(),
            name: a.display_name.to_string(),
        }
    }
}

/// The administrators by account ID, a page at a time.
#[utoipa::path(
    tag = "roles",
    params(PageParams),
    responses(
        (status = 200, description = "A page of administrators", body = ListPage<AdminEntry>),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
    )
)]
#[get("/admins")]
pub async fn list_admins(
    _caller: ApiClient,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let after = match &page.cursor {
        Some(cursor) => Some(
            decode_cursor(cursor)?
                .parse::<i64>()
                .map_err(|_| ApiError::invalid("cursor is not one this API gave out"))?,
        ),
        None => None,
    };
    // Administrators are few: the whole list is read and cut here.
    let mut admins = admin::roles::list(&state.admin).await?;
    admins.sort_by_key(|a| a.id);
    let items: Vec<AdminEntry> = admins
        .iter()
        .filter(|a| after.is_none_or(|after| a.id.get() > after))
        .map(AdminEntry::from)
        .take(limit as usize + 1)
        .collect();
    Ok(HttpResponse::Ok().json(ListPage::cut(items, limit, |a| a.account_id.to_string())))
}

fn account_id(raw: &str) -> Result<AccountId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::invalid("account_id must be a 9 or 10 digit account ID"))
}

fn role_error(e: RoleError) -> ApiError {
    match e {
        RoleError::NotFound(_) => ApiError::not_found("account"),
        RoleError::LastAdmin(_) => ApiError::conflict(e.to_string()),
        RoleError::Db(e) => e.into(),
    }
}

/// Makes the account an administrator (204 whether or not it was one already).
#[utoipa::path(
    tag = "roles",
    params(("account_id" = String, Path, description = "The account ID")),
    responses(
        (status = 204, description = "The account is an administrator"),
        (status = 400, body = ApiError), (status = 401, body = ApiError),
        (status = 403, body = ApiError), (status = 404, body = ApiError),
    )
)]
#[put("/admins/{account_id}")]
pub async fn grant_admin(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = account_id(&path)?;
    admin::roles::grant(&state.admin, &caller.actor, id)
        .await
        .map_err(role_error)?;
    Ok(HttpResponse::NoContent().finish())
}

/// Takes the admin role away (204 whether or not it had it); 409 for the last administrator.
#[utoipa::path(
    tag = "roles",
    params(("account_id" = String, Path, description = "The account ID")),
    responses(
        (status = 204, description = "The account is not an administrator"),
        (status = 400, body = ApiError), (status = 401, body = ApiError),
        (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, description = "The last administrator", body = ApiError),
    )
)]
#[delete("/admins/{account_id}")]
pub async fn revoke_admin(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = account_id(&path)?;
    admin::roles::revoke(&state.admin, &caller.actor, id)
        .await
        .map_err(role_error)?;
    Ok(HttpResponse::NoContent().finish())
}
