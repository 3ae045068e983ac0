//! The authorization endpoint's flow (RFC 6749 §4.1.1, OIDC Core §3.1.2), as one list of named
//! steps in [`authorize`]; node-oidc-provider's `lib/actions/authorization/index.js` is the
//! model. The request is parsed once ([`parse_request`]) into a typed [`AuthorizationRequest`]
//! after the client and its redirect URI are verified; errors before that are pages at
//! OneID, errors after go back to the client (RFC 6749 §4.1.2.1).

mod code;
mod decide;
mod request;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

pub use self::{
    code::issue_code,
    decide::{
        AcrDecision, Consent, StepUp, check_hint_names_another, check_sign_in_fresh,
        consent_needs_memory, decide_acr, decide_consent, negotiate_scopes,
    },
    request::{
        AuthorizationRequest, MAX_NAME_BYTES, MAX_OTHER_PARAMETER_BYTES, MAX_PARAMETER_BYTES,
        MAX_PARAMETERS, MAX_REQUEST_BYTES, Prompts, Refusal, check_pkce, check_redirect_uri,
        check_request_objects, check_response_mode, check_response_type, check_size,
        error_response, max_parameter_bytes, parse_max_age, parse_request,
    },
};
use super::{
    Context,
    code::SignInContext,
    error::{ErrorCode, OAuthError},
    id_token_hint::check_id_token_hint,
    interaction::Interaction,
};
use crate::{
    audit::{self, AuditEvent, AuditKind},
    db::{
        DbError,
        models::{
            account::{self, Account},
            client::Client,
            grant,
        },
    },
    domain::{AccountId, Acr, Scopes},
    session::SignedIn,
    store::StoreError,
};

/// `response_mode` (OAuth 2.0 Multiple Response Type Encoding Practices, Form Post Response Mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    FormPost,
}

/// An answer for the client, delivered through the browser.
#[derive(Debug, Clone)]
pub struct ClientResponse {
    pub redirect_uri: String,
    pub params: Vec<(String, String)>,
    pub mode: ResponseMode,
    /// The consent decision this answer carries out, for the caller to complete and record.
    pub audit: Option<AuditEvent>,
}

impl ClientResponse {
    /// The redirect URI with the parameters added to its query.
    pub fn location(&self) -> String {
        let mut url =
            url::Url::parse(&self.redirect_uri).expect("redirect URIs are validated URLs");
        url.query_pairs_mut().extend_pairs(&self.params);
        url.to_string()
    }
}

#[derive(Debug)]
pub enum Outcome {
    /// The client or redirect URI could not be verified: show an error page, never redirect.
    ErrorPage(OAuthError),
    /// An administrator disabled the client: a page that says the app is turned off.
    ClientDisabled { name: String },
    /// Back to the client, with a code or an error.
    Respond(ClientResponse),
    /// The person must sign in (again); then resume the saved request.
    Login { login_hint: Option<String> },
    /// The person must decide whether the client may have these scopes.
    Consent { client: Box<Client>, scopes: Scopes },
    /// The sign-in is not strong enough: ask for a second factor (or a passkey) reaching
    /// `need`, then resume the request.
    StepUp { need: Acr },
    /// The app requires a sign-in at least `need` and the person has no method that strong:
    /// a page that says how to add one (the request stays parked).
    NeedsStrongerMethod { client_name: String, need: Acr },
}

/// What the person did on OneID's pages during this interaction.
#[derive(Debug, Clone, Copy, Default)]
pub struct Decisions {
    /// Consent given (`Some(true)`) or refused (`Some(false)`) on the consent page just now.
    pub consent: Option<bool>,
    /// What the person did about a stronger sign-in (see [`decide_acr`]).
    pub step_up: StepUp,
}

/// Runs the authorization flow for the parked or fresh `interaction` and the browser's
/// sign-in. The error is a failure of ours (the database or store is down, a bug); every
/// refusal of the request is an [`Outcome`].
pub async fn authorize(
    ctx: &Context,
    interaction: &Interaction,
    signed_in: Option<&SignedIn>,
    decisions: Decisions,
) -> Result<Outcome, OAuthError> {
    match run(ctx, interaction, signed_in, decisions).await {
        Ok(outcome) => Ok(outcome),
        Err(Stop::Answer(outcome)) => Ok(*outcome),
        Err(Stop::Failed(error)) => Err(error),
    }
}

/// The flow, one step a line. Each step either hands on what the next needs or stops the
/// flow with the answer for the browser.
async fn run(
    ctx: &Context,
    interaction: &Interaction,
    signed_in: Option<&SignedIn>,
    decisions: Decisions,
) -> Result<Outcome, Stop> {
    let request = parse_request(ctx, &interaction.params).await??;
    let person = load_fresh_sign_in(ctx, &request, signed_in, interaction.started_at)?;
    let account = load_account(ctx, person.account_id).await?;
    check_hint(ctx, &request, &account, person, interaction.started_at)?;
    check_acr(ctx, &request, person, decisions.step_up)?;
    let scopes = negotiate_scopes(request.scope.as_deref(), &request.client.scopes)
        .map_err(|e| refuse(ctx, &request, e))?;
    let consented_now = check_consent(ctx, &request, account.id, &scopes, decisions).await?;
    let sign_in = sign_in_context(&request, person, &account);
    let code = issue_code(ctx, &request, sign_in, &scopes).await?;
    Ok(Outcome::Respond(code_response(
        ctx,
        &request,
        code,
        consented_now,
    )))
}

/// How the flow stops before the end: with an answer for the browser, or a failure of ours.
enum Stop {
    Answer(Box<Outcome>),
    Failed(OAuthError),
}

impl From<OAuthError> for Stop {
    fn from(e: OAuthError) -> Self {
        Self::Failed(e)
    }
}

impl From<DbError> for Stop {
    fn from(e: DbError) -> Self {
        Self::Failed(e.into())
    }
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Self::Failed(e.into())
    }
}

impl From<Refusal> for Stop {
    fn from(refusal: Refusal) -> Self {
        Self::Answer(Box::new(match refusal {
            Refusal::Page(error) => Outcome::ErrorPage(error),
            Refusal::Client(response) => Outcome::Respond(*response),
            Refusal::Disabled { name } => Outcome::ClientDisabled { name },
        }))
    }
}

/// Stops the flow with `error` for the client.
fn refuse(ctx: &Context, request: &AuthorizationRequest, error: OAuthError) -> Stop {
    Stop::Answer(Box::new(Outcome::Respond(
        request.refuse(&ctx.issuer, error),
    )))
}

/// The signed-in person, if their sign-in may answer this request (see
/// [`check_sign_in_fresh`]). Otherwise they must sign in, which `prompt=none` forbids:
/// `login_required` (OIDC Core §3.1.2.6).
fn load_fresh_sign_in<'a>(
    ctx: &Context,
    request: &AuthorizationRequest,
    signed_in: Option<&'a SignedIn>,
    started_at: DateTime<Utc>,
) -> Result<&'a SignedIn, Stop> {
    let now = ctx.clock.now();
    signed_in
        .filter(|person| {
            check_sign_in_fresh(
                person.auth_time,
                started_at,
                now,
                request.prompts,
                request.max_age,
            )
        })
        .ok_or_else(|| must_sign_in(ctx, request, "the person is not signed in (prompt=none)"))
}

/// The person must sign in (again) and the request resume; with `prompt=none`, the client
/// hears `login_required` instead.
fn must_sign_in(ctx: &Context, request: &AuthorizationRequest, why: &'static str) -> Stop {
    if request.prompts.none {
        return refuse(ctx, request, OAuthError::new(ErrorCode::LoginRequired, why));
    }
    Stop::Answer(Box::new(Outcome::Login {
        login_hint: request.login_hint.clone(),
    }))
}

async fn load_account(ctx: &Context, id: AccountId) -> Result<Account, Stop> {
    ctx.db
        .run(move |conn| account::find_by_id(conn, id))
        .await?
        .ok_or_else(|| Stop::Failed(OAuthError::server("signed-in account vanished")))
}

/// `id_token_hint` (OIDC Core §3.1.2.1): it must be an ID token of OneID's (see
/// [`check_id_token_hint`]); naming someone other than the signed-in person, it means that
/// person must sign in (see [`check_hint_names_another`]).
fn check_hint(
    ctx: &Context,
    request: &AuthorizationRequest,
    account: &Account,
    person: &SignedIn,
    started_at: DateTime<Utc>,
) -> Result<(), Stop> {
    let Some(token) = &request.id_token_hint else {
        return Ok(());
    };
    let hint = check_id_token_hint(&ctx.keys.current(), &ctx.issuer, token)
        .map_err(|e| refuse(ctx, request, e))?;
    if check_hint_names_another(
        &hint.sub,
        account.sub.as_str(),
        person.auth_time,
        started_at,
    ) {
        return Err(must_sign_in(
            ctx,
            request,
            "a different person is signed in (id_token_hint)",
        ));
    }
    Ok(())
}

/// The sign-in must be as strong as the app's minimum, and is stepped up for `acr_values`
/// when the person can (see [`decide_acr`] for the rules).
fn check_acr(
    ctx: &Context,
    request: &AuthorizationRequest,
    person: &SignedIn,
    step_up: StepUp,
) -> Result<(), Stop> {
    let has = Acr::of_amr(&person.amr);
    let answer = |outcome| Err(Stop::Answer(Box::new(outcome)));
    match decide_acr(
        has,
        request.acr_values,
        request.client.min_acr,
        request.prompts.none,
        step_up,
    ) {
        AcrDecision::Enough => Ok(()),
        AcrDecision::StepUp { need } => answer(Outcome::StepUp { need }),
        AcrDecision::PolicyUnreachable { need } => answer(Outcome::NeedsStrongerMethod {
            client_name: request.client.name.clone(),
            need,
        }),
        AcrDecision::Unmet => Err(refuse(
            ctx,
            request,
            OAuthError::new(
                ErrorCode::UnmetAuthenticationRequirements,
                "the app requires a stronger sign-in than the person has",
            ),
        )),
        AcrDecision::LoginRequired => Err(refuse(
            ctx,
            request,
            OAuthError::new(
                ErrorCode::LoginRequired,
                "the app requires a stronger sign-in (prompt=none)",
            ),
        )),
    }
}

/// Consent must stand before a code is issued (see [`decide_consent`] for the rule). A
/// decision just made on the consent page is remembered, added to what was allowed before,
/// and returned for the audit log; a refusal, a request that must ask, and `prompt=none` when
/// asking is needed stop the flow.
async fn check_consent(
    ctx: &Context,
    request: &AuthorizationRequest,
    account: AccountId,
    scopes: &Scopes,
    decisions: Decisions,
) -> Result<Option<AuditEvent>, Stop> {
    let client = &request.client;
    let remembered = if consent_needs_memory(decisions.consent, client.first_party) {
        load_consent(ctx, client, account).await?
    } else {
        None
    };
    match decide_consent(
        decisions.consent,
        client.first_party,
        request.prompts,
        remembered.as_ref(),
        scopes,
    ) {
        Consent::Given => Ok(None),
        Consent::GivenNow => {
            save_consent(ctx, client, account, remembered, scopes).await?;
            let event = consent_event(client, account, scopes, audit::Outcome::Ok);
            Ok(Some(event))
        }
        Consent::Refused => Err(Stop::Answer(Box::new(refused(
            ctx, request, account, scopes,
        )))),
        Consent::Required => {
            let error = OAuthError::new(
                ErrorCode::ConsentRequired,
                "consent is needed (prompt=none)",
            );
            Err(refuse(ctx, request, error))
        }
        Consent::Ask => Err(Stop::Answer(Box::new(Outcome::Consent {
            client: Box::new(client.clone()),
            scopes: scopes.clone(),
        }))),
    }
}

/// What the person consented to for this client before, if anything.
async fn load_consent(
    ctx: &Context,
    client: &Client,
    account: AccountId,
) -> Result<Option<Scopes>, Stop> {
    let client = client.id.clone();
    Ok(ctx
        .db
        .run(move |conn| grant::consent(conn, account, &client))
        .await?)
}

/// Remembers consent just given, added to what was allowed before.
async fn save_consent(
    ctx: &Context,
    client: &Client,
    account: AccountId,
    remembered: Option<Scopes>,
    scopes: &Scopes,
) -> Result<(), Stop> {
    let (client, now) = (client.id.clone(), ctx.clock.now());
    let allowed = remembered.unwrap_or_default().union(scopes);
    ctx.db
        .run(move |conn| grant::save_consent(conn, account, &client, &allowed, now))
        .await?;
    Ok(())
}

/// `access_denied` for the client, with the refusal for the audit log.
fn refused(
    ctx: &Context,
    request: &AuthorizationRequest,
    account: AccountId,
    scopes: &Scopes,
) -> Outcome {
    let error = OAuthError::new(ErrorCode::AccessDenied, "the person did not allow access");
    let mut response = request.refuse(&ctx.issuer, error);
    response.audit = Some(consent_event(
        &request.client,
        account,
        scopes,
        audit::Outcome::Refused,
    ));
    Outcome::Respond(response)
}

/// `consent_given` for the decision just made on the consent page (`Refused` when the person
/// said no), with the scopes it was about.
fn consent_event(
    client: &Client,
    account: AccountId,
    scopes: &Scopes,
    outcome: audit::Outcome,
) -> AuditEvent {
    AuditEvent::new(AuditKind::ConsentGiven, outcome)
        .account(account)
        .client(&client.id)
        .detail(scopes.to_string())
}

/// Who signed in and how, carried by the code to the ID token.
fn sign_in_context(
    request: &AuthorizationRequest,
    person: &SignedIn,
    account: &Account,
) -> SignInContext {
    SignInContext {
        account_id: account.id,
        sub: account.sub.to_string(),
        auth_time: person.auth_time,
        sid: person.sid.clone(),
        amr: person.amr.clone(),
        nonce: request.nonce.clone(),
        // What this sign-in proved, whatever was asked (OIDC Core §2: the relying party
        // judges whether it is enough).
        acr: Some(Acr::of_amr(&person.amr).as_str().to_owned()),
    }
}

/// The code for the client (RFC 6749 §4.1.2), with `state` and `iss` (RFC 9207 §2: which
/// server answered, against mix-up attacks).
fn code_response(
    ctx: &Context,
    request: &AuthorizationRequest,
    code: String,
    audit: Option<AuditEvent>,
) -> ClientResponse {
    let mut params = vec![("code".to_owned(), code)];
    if let Some(state) = &request.state {
        params.push(("state".to_owned(), state.clone()));
    }
    params.push(("iss".to_owned(), ctx.issuer.to_string()));
    ClientResponse {
        redirect_uri: request.redirect_uri.clone(),
        params,
        mode: request.response_mode,
        audit,
    }
}
