//! The pages: one askama view per page, and the feature forms that post to them.

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};
use askama::Template;
use serde::Deserialize;

use super::{removal, session_id};
use crate::{
    auth, clock,
    config::AppKind,
    features::{Author, LISTINGS, Listing, Message, Post, Text, TextError},
    session::{Session, SessionId},
    state::AppState,
};

const MAX_NOTE: usize = 2000;
const MAX_MESSAGE: usize = 500;
const MAX_TITLE: usize = 120;
const MAX_BODY: usize = 5000;

/// Who is signed in, as the layout shows it.
pub struct UserView {
    pub name: String,
    pub account_id: String,
    pub csrf: String,
}

/// What the base layout needs on every page.
pub struct Layout {
    pub app: AppKind,
    pub user: Option<UserView>,
    /// The name, the tagline and "Sign in with OneID", for people not signed in.
    pub hero: bool,
}

impl Layout {
    fn new(state: &AppState, session: Option<&Session>) -> Self {
        Self {
            app: state.app,
            user: session.map(|s| UserView {
                name: s.profile.name.clone(),
                account_id: s.profile.account_id.clone(),
                csrf: s.csrf.clone(),
            }),
            hero: true,
        }
    }
}

#[derive(Template)]
#[template(path = "cloud.html")]
struct CloudPage {
    layout: Layout,
    error: Option<String>,
    notes: Vec<String>,
}

#[derive(Template)]
#[template(path = "talk.html")]
struct TalkPage {
    layout: Layout,
    error: Option<String>,
    messages: Vec<Message>,
}

#[derive(Template)]
#[template(path = "forum.html")]
struct ForumPage {
    layout: Layout,
    error: Option<String>,
    posts: Vec<Post>,
}

pub struct ListingView {
    pub listing: &'static Listing,
    pub installed: bool,
}

#[derive(Template)]
#[template(path = "market.html")]
struct MarketPage {
    layout: Layout,
    error: Option<String>,
    listings: Vec<ListingView>,
}

/// What the third party received from OneID: the point of the consent screen.
#[derive(Template)]
#[template(path = "thirdparty.html")]
struct PrinterPage {
    layout: Layout,
    error: Option<String>,
    sub: String,
    email: Option<String>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    title: &'a str,
    message: &'a str,
}

fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "page not rendered");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// An error page with a way home.
pub fn error(state: &AppState, status: StatusCode, title: &str, message: &str) -> HttpResponse {
    html(
        status,
        &ErrorPage {
            layout: Layout {
                hero: false,
                ..Layout::new(state, None)
            },
            title,
            message,
        },
    )
}

/// A form without this session's CSRF token.
pub fn forbidden(state: &AppState) -> HttpResponse {
    error(
        state,
        StatusCode::FORBIDDEN,
        "That form has expired",
        "Please go back, reload the page and try again.",
    )
}

/// The app's home page for `session` (signed out when `None`), with a form error if any.
fn home(state: &AppState, session: Option<&Session>, error: Option<String>) -> HttpResponse {
    let layout = Layout::new(state, session);
    let sub = session.map(|s| s.sub.as_str());
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let features = &state.features;
    match state.app {
        AppKind::Cloud => html(
            status,
            &CloudPage {
                layout,
                error,
                notes: sub.map(|s| features.notes(s)).unwrap_or_default(),
            },
        ),
        AppKind::Talk => html(
            status,
            &TalkPage {
                layout,
                error,
                messages: features.messages(),
            },
        ),
        AppKind::Forum => html(
            status,
            &ForumPage {
                layout,
                error,
                posts: features.posts(),
            },
        ),
        AppKind::Market => {
            let installed = sub.map(|s| features.installs(s)).unwrap_or_default();
            let listings = LISTINGS
                .iter()
                .map(|listing| ListingView {
                    listing,
                    installed: installed.contains(listing.slug),
                })
                .collect();
            html(
                status,
                &MarketPage {
                    layout,
                    error,
                    listings,
                },
            )
        }
        AppKind::Thirdparty => html(
            status,
            &PrinterPage {
                layout,
                error,
                sub: sub.unwrap_or_default().to_owned(),
                email: session.and_then(|s| s.profile.email.clone()),
            },
        ),
    }
}

/// This browser's session, refreshed if its access token expired.
async fn load_session(state: &AppState, req: &HttpRequest) -> Option<(SessionId, Session)> {
    let id = session_id(state, req)?;
    let session = auth::current_session(state, &id, clock::now()).await?;
    Some((id, session))
}

pub async fn get_home(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    match load_session(&state, &req).await {
        Some((_, session)) => home(&state, Some(&session), None),
        None => {
            let mut response = home(&state, None, None);
            if session_id(&state, &req).is_some() {
                // A session that ended (signed out elsewhere, expired): forget its cookie.
                let _ = response.add_removal_cookie(&removal(&state, state.app.cookie_name()));
            }
            response
        }
    }
}

fn back_home() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/"))
        .finish()
}

/// The signed-in session behind a form, if the form carries its CSRF token. `Err` is the
/// answer to give instead.
async fn form_session(
    state: &AppState,
    req: &HttpRequest,
    csrf: &str,
) -> Result<Session, HttpResponse> {
    let Some((_, session)) = load_session(state, req).await else {
        return Err(back_home());
    };
    if !session.check_csrf(csrf) {
        return Err(forbidden(state));
    }
    Ok(session)
}

fn author(session: &Session) -> Author {
    Author {
        name: session.profile.name.clone(),
        account_id: session.profile.account_id.clone(),
    }
}

fn text_error(e: TextError) -> Option<String> {
    Some(e.to_string())
}

#[derive(Debug, Deserialize)]
pub struct TextForm {
    csrf: String,
    text: String,
}

/// Cloud: keep a note.
pub async fn post_note(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<TextForm>,
) -> HttpResponse {
    let session = match form_session(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    match Text::parse(&form.text, MAX_NOTE) {
        Ok(text) => {
            state.features.add_note(&session.sub, text);
            back_home()
        }
        Err(e) => home(&state, Some(&session), text_error(e)),
    }
}

/// Talk: say something on the board.
pub async fn post_message(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<TextForm>,
) -> HttpResponse {
    let session = match form_session(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    match Text::parse(&form.text, MAX_MESSAGE) {
        Ok(text) => {
            state.features.add_message(author(&session), text);
            back_home()
        }
        Err(e) => home(&state, Some(&session), text_error(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct PostForm {
    csrf: String,
    title: String,
    body: String,
}

/// Forum: start a thread.
pub async fn post_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<PostForm>,
) -> HttpResponse {
    let session = match form_session(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let parsed = Text::parse(&form.title, MAX_TITLE)
        .and_then(|title| Ok((title, Text::parse(&form.body, MAX_BODY)?)));
    match parsed {
        Ok((title, body)) => {
            state.features.add_post(author(&session), title, body);
            back_home()
        }
        Err(e) => home(&state, Some(&session), text_error(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct InstallForm {
    csrf: String,
    app: String,
}

/// Market: install an app.
pub async fn post_install(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<InstallForm>,
) -> HttpResponse {
    let session = match form_session(&state, &req, &form.csrf).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    match Listing::find(&form.app) {
        Some(listing) => {
            state.features.install(&session.sub, listing);
            back_home()
        }
        None => home(
            &state,
            Some(&session),
            Some("That app is not in the shop.".into()),
        ),
    }
}
