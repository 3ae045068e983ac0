//! Phone and email (`/account/contacts`): the account's contacts, masked, with Add, Change and
//! Remove; the form for a new phone or email (`/account/contacts/add?kind=`), the code sent to
//! it (`/account/contacts/verify`, `/account/contacts/resend`), and removal
//! (`/account/contacts/remove`). Every step is sensitive: a sign-in older than the window is
//! sent to confirm first. The rules live in `account::contacts`.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{DoneQuery, recent_account};
use crate::web::pages::CsrfForm;
use crate::{
    account::{
        codes::BrowserTag,
        contacts::{self, ContactRefused, ContactSet, RemoveRefused},
        reauth::ContactKind,
    },
    db::models::account::Account,
    domain::{ContactIdentifier, VerificationCode},
    i18n::Lang,
    session::PendingContact,
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        page::{render, see_other},
        pages::{parse_contact, refusal_message, signup::code_rejected_message},
    },
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/account/contacts").get(get_contacts))
        .service(
            web::resource("/account/contacts/add")
                .get(get_add)
                .post(post_add),
        )
        .service(
            web::resource("/account/contacts/verify")
                .get(get_verify)
                .post(post_verify),
        )
        .service(web::resource("/account/contacts/resend").post(post_resend))
        .service(web::resource("/account/contacts/remove").post(post_remove));
}

const LIST: &str = "/account/contacts";
const VERIFY: &str = "/account/contacts/verify";

/// The form page of a kind of contact: it adds one, or changes the one the account has.
fn add_path(kind: ContactKind) -> String {
    format!("/account/contacts/add?kind={}", kind.as_str())
}

/// One contact on the list.
struct ContactRow {
    kind: &'static str,
    label: String,
    /// Masked; `None`: the account has none of this kind.
    masked: Option<String>,
    action: String,
    edit: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/contacts.html")]
struct ContactsView {
    page: Page,
    rows: Vec<ContactRow>,
    /// Both kinds are there, so either may go.
    removable: bool,
    notice: Option<String>,
    error: Option<String>,
}

fn contacts_view(
    lang: Lang,
    session: &BrowserSession,
    account: &Account,
    notice: Option<String>,
    error: Option<String>,
) -> ContactsView {
    let rows = [ContactKind::Phone, ContactKind::Email]
        .into_iter()
        .map(|kind| {
            let masked = kind.of(account).map(|to| to.masked());
            let action = if masked.is_some() {
                "contacts-change"
            } else {
                "contacts-add"
            };
            ContactRow {
                kind: kind.as_str(),
                label: lang.t(&format!("contacts-{}", kind.as_str())),
                masked,
                action: lang.t(action),
                edit: add_path(kind),
            }
        })
        .collect();
    ContactsView {
        page: Page::new(lang, session.0.csrf_token(), LIST),
        rows,
        removable: account.phone.is_some() && account.email.is_some(),
        notice,
        error,
    }
}

/// A friendly page for a kind or contact that is not there: the list, saying so, changing
/// nothing.
async fn not_found(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
    account: &Account,
) -> Result<HttpResponse, WebError> {
    let error = Some(lang.t("console-not-found"));
    let view = contacts_view(lang, &session, account, None, error);
    let response = render(req, StatusCode::NOT_FOUND, view);
    session.respond(state, response).await
}

pub async fn get_contacts(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, WebError> {
    let (account, session) = match recent_account(&state, session, LIST).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let notice = match query.done.as_deref() {
        Some("added") => Some(lang.t("contacts-added")),
        Some("changed") => Some(lang.t("contacts-changed")),
        Some("removed") => Some(lang.t("contacts-removed")),
        _ => None,
    };
    let view = contacts_view(lang, &session, &account, notice, None);
    let response = render(&req, StatusCode::OK, view);
    session.respond(&state, response).await
}

#[derive(Template, WebTemplate)]
#[template(path = "account/contacts_add.html")]
struct AddView {
    page: Page,
    kind: &'static str,
    title: String,
    label: String,
    /// `tel` or `email`, for the phone's keyboard.
    input_type: &'static str,
    autocomplete: &'static str,
    /// The contact being replaced, masked (a change).
    current: Option<String>,
    value: String,
    error: Option<String>,
}

fn add_view(
    lang: Lang,
    session: &BrowserSession,
    account: &Account,
    kind: ContactKind,
    value: &str,
    error: Option<String>,
) -> AddView {
    let current = kind.of(account).map(|to| to.masked());
    let verb = if current.is_some() { "change" } else { "add" };
    let (input_type, autocomplete) = match kind {
        ContactKind::Phone => ("tel", "tel"),
        ContactKind::Email => ("email", "email"),
    };
    AddView {
        page: Page::new(lang, session.0.csrf_token(), &add_path(kind)),
        kind: kind.as_str(),
        title: lang.t(&format!("contacts-{verb}-{}-title", kind.as_str())),
        label: lang.t(&format!("contacts-new-{}", kind.as_str())),
        input_type,
        autocomplete,
        current: current.map(|c| lang.t_args("contacts-current", &[("contact", c)])),
        value: value.chars().take(254).collect(),
        error,
    }
}

#[derive(Deserialize)]
pub struct KindQuery {
    kind: Option<String>,
}

pub async fn get_add(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    query: web::Query<KindQuery>,
) -> Result<HttpResponse, WebError> {
    let kind = query.kind.as_deref().and_then(ContactKind::parse);
    let back_to = kind.map_or_else(|| LIST.to_owned(), add_path);
    let (account, session) = match recent_account(&state, session, &back_to).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let Some(kind) = kind else {
        return not_found(&req, &state, lang, session, &account).await;
    };
    let view = add_view(lang, &session, &account, kind, "", None);
    let response = render(&req, StatusCode::OK, view);
    session.respond(&state, response).await
}

#[derive(Deserialize)]
pub struct AddForm {
    csrf: String,
    kind: String,
    contact: String,
}

pub async fn post_add(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<AddForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let kind = ContactKind::parse(&form.kind);
    let back_to = kind.map_or_else(|| LIST.to_owned(), add_path);
    let (account, mut session) = match recent_account(&state, session, &back_to).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let Some(kind) = kind else {
        return not_found(&req, &state, lang, session, &account).await;
    };
    let to = match parse_of_kind(&state, &form.contact, kind) {
        Ok(to) => to,
        Err(key) => {
            let error = Some(lang.t(key));
            let view = add_view(lang, &session, &account, kind, &form.contact, error);
            let response = render(&req, StatusCode::UNPROCESSABLE_ENTITY, view);
            return session.respond(&state, response).await;
        }
    };
    match send_code(&state, lang, &mut session, &account, &to).await? {
        Ok(()) => session.respond(&state, see_other(VERIFY)).await,
        Err(Refusal::Gone) => session.end(&state, see_other("/login")).await,
        Err(Refusal::Message(key)) => {
            let error = Some(lang.t(key));
            let view = add_view(lang, &session, &account, kind, &form.contact, error);
            let response = render(&req, StatusCode::UNPROCESSABLE_ENTITY, view);
            session.respond(&state, response).await
        }
    }
}

/// A phone number in the phone form, an email in the email form; `Err` is the message key,
/// about the kind the form asks for (an address typed without its `@` in the email form is
/// read as a number; the person is told it is not an email address).
fn parse_of_kind(
    state: &AppState,
    input: &str,
    kind: ContactKind,
) -> Result<ContactIdentifier, &'static str> {
    let parsed = parse_contact(state, input).map_err(|key| match (kind, key) {
        (ContactKind::Email, "error-invalid-phone" | "error-not-mobile") => "error-invalid-email",
        (ContactKind::Phone, "error-invalid-email" | "error-email-confusable") => {
            "error-invalid-phone"
        }
        _ => key,
    })?;
    match (kind, contacts::kind_of(&parsed)) {
        (ContactKind::Phone, ContactKind::Phone) | (ContactKind::Email, ContactKind::Email) => {
            Ok(parsed)
        }
        (ContactKind::Phone, _) => Err("error-invalid-phone"),
        (ContactKind::Email, _) => Err("error-invalid-email"),
    }
}

/// Why no code went out.
enum Refusal {
    /// The account is gone or disabled: the browser is signed out.
    Gone,
    /// Something the person can fix: the message key.
    Message(&'static str),
}

/// Asks for a code to `to` and remembers, in this browser's session, that it is pending.
async fn send_code(
    state: &AppState,
    lang: Lang,
    session: &mut BrowserSession,
    account: &Account,
    to: &ContactIdentifier,
) -> Result<Result<(), Refusal>, WebError> {
    let browser = BrowserTag::new(session.0.csrf_token());
    let requested = contacts::request(
        &state.account,
        account.id,
        to,
        lang,
        session.client(),
        &browser,
    )
    .await;
    let sent = match requested {
        Ok(Ok(sent)) => sent,
        Ok(Err(ContactRefused::AlreadyYours)) => return Ok(Err(Refusal::Message("contacts-same"))),
        Ok(Err(_)) => return Ok(Err(Refusal::Gone)),
        Err(e) => return Ok(Err(Refusal::Message(refusal_message(e)?))),
    };
    session.0.set_pending_contact(Some(PendingContact {
        to: to.canonical().to_owned(),
        resend_after: sent.resend_after(),
    }));
    Ok(Ok(()))
}

#[derive(Template, WebTemplate)]
#[template(path = "account/contacts_verify.html")]
struct VerifyView {
    page: Page,
    sent_to: String,
    resend_note: Option<String>,
    /// Back to the form, to type another.
    edit: String,
    code_length: u8,
    error: Option<String>,
}

/// The contact this browser is proving, and when it may ask for another code.
fn pending(session: &BrowserSession) -> Option<(ContactIdentifier, PendingContact)> {
    let pending = session.0.pending_contact()?.clone();
    let to = ContactIdentifier::from_canonical(&pending.to).ok()?;
    Some((to, pending))
}

fn verify_view(
    state: &AppState,
    lang: Lang,
    session: &BrowserSession,
    to: &ContactIdentifier,
    pending: &PendingContact,
    error: Option<String>,
) -> VerifyView {
    let wait = (pending.resend_after - state.clock.now()).num_seconds();
    VerifyView {
        page: Page::new(lang, session.0.csrf_token(), VERIFY),
        sent_to: lang.t_args("verify-sent-to", &[("to", to.masked())]),
        resend_note: (wait > 0)
            .then(|| lang.t_args("verify-resend-wait", &[("seconds", wait.to_string())])),
        edit: add_path(contacts::kind_of(to)),
        code_length: state.settings.codes.account_length,
        error,
    }
}

pub async fn get_verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
) -> Result<HttpResponse, WebError> {
    let (_, session) = match recent_account(&state, session, VERIFY).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let Some((to, pending)) = pending(&session) else {
        return session.respond(&state, see_other(LIST)).await;
    };
    let view = verify_view(&state, lang, &session, &to, &pending, None);
    let response = render(&req, StatusCode::OK, view);
    session.respond(&state, response).await
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf: String,
    code: String,
}

pub async fn post_verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let (account, mut session) = match recent_account(&state, session, VERIFY).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let Some((to, pending)) = pending(&session) else {
        return session.respond(&state, see_other(LIST)).await;
    };
    let code = match VerificationCode::parse(&form.code) {
        Ok(code) => code,
        Err(e) => {
            let error = Some(lang.t(e.message_key()));
            let view = verify_view(&state, lang, &session, &to, &pending, error);
            let response = render(&req, StatusCode::UNPROCESSABLE_ENTITY, view);
            return session.respond(&state, response).await;
        }
    };
    let browser = BrowserTag::new(session.0.csrf_token());
    let confirmed = contacts::confirm(
        &state.account,
        account.id,
        &to,
        &code,
        session.client(),
        &browser,
    )
    .await?;
    let refused = match confirmed {
        Ok(set) => {
            session.0.set_pending_contact(None);
            let done = match set {
                ContactSet::Added(_) => "added",
                ContactSet::Changed(_) => "changed",
            };
            return session
                .respond(&state, see_other(&format!("{LIST}?done={done}")))
                .await;
        }
        Err(refused) => refused,
    };
    match refused {
        ContactRefused::WrongCode(rejected) => {
            let error = Some(code_rejected_message(lang, rejected));
            let view = verify_view(&state, lang, &session, &to, &pending, error);
            let response = render(&req, StatusCode::UNPROCESSABLE_ENTITY, view);
            session.respond(&state, response).await
        }
        ContactRefused::Taken | ContactRefused::AlreadyYours => {
            session.0.set_pending_contact(None);
            let key = match refused {
                ContactRefused::Taken => "contacts-taken",
                _ => "contacts-same",
            };
            let kind = contacts::kind_of(&to);
            let view = add_view(lang, &session, &account, kind, "", Some(lang.t(key)));
            let response = render(&req, StatusCode::CONFLICT, view);
            session.respond(&state, response).await
        }
        ContactRefused::Gone => session.end(&state, see_other("/login")).await,
    }
}

pub async fn post_resend(
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let (account, mut session) = match recent_account(&state, session, VERIFY).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let Some((to, _)) = pending(&session) else {
        return session.respond(&state, see_other(LIST)).await;
    };
    // Within the cooldown nothing is sent and the page says how long to wait.
    match send_code(&state, lang, &mut session, &account, &to).await? {
        Ok(()) => session.respond(&state, see_other(VERIFY)).await,
        Err(Refusal::Gone) => session.end(&state, see_other("/login")).await,
        Err(Refusal::Message(_)) => {
            // No longer possible (a number no longer served, or on the account meanwhile):
            // start over from the list.
            session.0.set_pending_contact(None);
            session.respond(&state, see_other(LIST)).await
        }
    }
}

#[derive(Deserialize)]
pub struct RemoveForm {
    csrf: String,
    kind: String,
}

pub async fn post_remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<RemoveForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let (account, session) = match recent_account(&state, session, LIST).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let Some(kind) = ContactKind::parse(&form.kind) else {
        return not_found(&req, &state, lang, session, &account).await;
    };
    let removed = contacts::remove(&state.account, account.id, kind, session.client()).await?;
    match removed {
        Ok(()) => {
            let done = format!("{LIST}?done=removed");
            session.respond(&state, see_other(&done)).await
        }
        Err(RemoveRefused::NotThere) => not_found(&req, &state, lang, session, &account).await,
        Err(RemoveRefused::LastContact) => {
            let error = Some(lang.t("contacts-last"));
            let view = contacts_view(lang, &session, &account, None, error);
            let response = render(&req, StatusCode::CONFLICT, view);
            session.respond(&state, response).await
        }
    }
}
