//! The decisions the authorization flow makes once the request is parsed, as pure functions
//! of values: whether the sign-in may answer the request, whom an `id_token_hint` names, which
//! scopes the client gets, and whether consent stands.

use chrono::{DateTime, Duration, Utc};

use super::Prompts;
use crate::{
    domain::{Acr, Scopes},
    oauth::error::{ErrorCode, OAuthError},
};

/// Session freshness (OIDC Core §3.1.2.1): a sign-in at `auth_time` answers the request unless
/// `prompt=login` or `prompt=select_account` asks for a new one or it is older than
/// `max_age`. A sign-in during this very interaction (at or after `started_at`) satisfies all
/// three: the person has just done what was asked.
pub fn check_sign_in_fresh(
    auth_time: DateTime<Utc>,
    started_at: DateTime<Utc>,
    now: DateTime<Utc>,
    prompts: Prompts,
    max_age: Option<Duration>,
) -> bool {
    if auth_time >= started_at {
        return true;
    }
    let too_old = max_age.is_some_and(|age| now - auth_time > age);
    !(prompts.login || prompts.select_account || too_old)
}

/// `id_token_hint` (OIDC Core §3.1.2.1): a hint naming someone other than the signed-in person
/// means that person must sign in, unless they signed in during this very interaction (then
/// they have just proved who they are, and the hint is moot).
pub fn check_hint_names_another(
    hinted_sub: &str,
    signed_in_sub: &str,
    auth_time: DateTime<Utc>,
    started_at: DateTime<Utc>,
) -> bool {
    hinted_sub != signed_in_sub && auth_time < started_at
}

/// Scope negotiation (RFC 6749 §3.3): `scope` is space-separated scope tokens of visible
/// characters other than `"` and `\`; a character outside that is `invalid_scope`. Tokens
/// OneID does not know, and scopes the client is not registered for, are dropped (the
/// granted set is reported instead); when nothing is left, or nothing was asked, that is
/// `invalid_scope` too. The `admin` scope is never granted here, even to a client registered
/// for it: it belongs to the client credentials grant of the admin API, and a person must not
/// be able to hand an app administrative power. `openid` is not required here: without it the request is plain
/// OAuth 2.0 and gets no ID token (OIDC Core §3.1.2.1), which the token endpoint decides.
pub fn negotiate_scopes(
    requested: Option<&str>,
    registered: &Scopes,
) -> Result<Scopes, OAuthError> {
    let invalid = || {
        OAuthError::new(
            ErrorCode::InvalidScope,
            "none of the requested scopes is allowed for this client",
        )
    };
    let requested = requested.unwrap_or_default();
    let allowed_char = |c: char| c == ' ' || c == '!' || matches!(c, '#'..='[' | ']'..='~');
    if !requested.chars().all(allowed_char) {
        return Err(invalid());
    }
    let granted = Scopes::parse_lenient(requested)
        .intersection(registered)
        .for_people();
    if granted.is_empty() {
        return Err(invalid());
    }
    Ok(granted)
}

/// Where consent stands for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// An administrator's or the person's earlier consent covers the scopes.
    Given,
    /// The person allowed it on the consent page just now: remember it, then issue the code.
    GivenNow,
    /// The person refused on the consent page just now: `access_denied`.
    Refused,
    /// Ask the person.
    Ask,
    /// Consent is needed but `prompt=none` forbids asking: `consent_required`.
    Required,
}

/// Consent (OIDC Core §3.1.2.4): a decision just made on the consent page counts first. Then
/// first-party clients carry an administrator's consent for everyone. Otherwise the person's
/// remembered consent must cover every scope, unless `prompt=consent` asks again; when the
/// person must be asked and `prompt=none` forbids it, that is `consent_required` (§3.1.2.6).
pub fn decide_consent(
    decided_now: Option<bool>,
    first_party: bool,
    prompts: Prompts,
    remembered: Option<&Scopes>,
    scopes: &Scopes,
) -> Consent {
    match decided_now {
        Some(true) => return Consent::GivenNow,
        Some(false) => return Consent::Refused,
        None => {}
    }
    if first_party {
        return Consent::Given;
    }
    let covered = !prompts.consent && remembered.is_some_and(|given| scopes.is_subset(given));
    match (covered, prompts.none) {
        (true, _) => Consent::Given,
        (false, true) => Consent::Required,
        (false, false) => Consent::Ask,
    }
}

/// Whether [`decide_consent`] reads what the person consented to before: only when a decision
/// just made is to be added to it, or when no decision was made for a client that is not
/// first-party. Otherwise the flow skips that look-up.
pub fn consent_needs_memory(decided_now: Option<bool>, first_party: bool) -> bool {
    match decided_now {
        Some(given) => given,
        None => !first_party,
    }
}

/// What the person did about a stronger sign-in this request needs (see [`decide_acr`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepUp {
    /// Nothing yet: ask for the stronger sign-in when it is needed.
    #[default]
    Ask,
    /// The person has no method strong enough (no second factor, or no passkey for `phr`).
    Unavailable,
    /// The person chose to go back to the app without it, from the page that says the app
    /// needs it.
    GaveUp,
}

/// Whether the sign-in is strong enough for the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcrDecision {
    /// Go on: the sign-in is strong enough, or what is missing was only asked for.
    Enough,
    /// Ask the person for a second factor (or a passkey) reaching `need`, then resume.
    StepUp { need: Acr },
    /// The app's minimum cannot be met: the person has no method that strong. A page says how
    /// to add one.
    PolicyUnreachable { need: Acr },
    /// The app's minimum is not met and will not be: `unmet_authentication_requirements`.
    Unmet,
    /// The app's minimum is not met and `prompt=none` forbids asking: `login_required`.
    LoginRequired,
}

/// The authentication context (OIDC Core §3.1.2.1, `acr_values`; §5.5.1.1, `acr`). `has` is
/// what the sign-in proved (see [`Acr::of_amr`]), `asked` the weakest class `acr_values`
/// names, `policy` the app's minimum set by an administrator.
///
/// - The minimum is a rule: a sign-in below it never gets a code. The person is asked to step
///   up; without a method strong enough they are told how to add one, and going back to the
///   app carries `unmet_authentication_requirements` (OpenID Connect Core Unmet Authentication
///   Requirements 1.0 §2). With `prompt=none` it is `login_required` (§3.1.2.6).
/// - `acr_values` is a voluntary request: OneID steps up when the person can, and otherwise
///   (no method, or `prompt=none`) answers with the `acr` the sign-in has, for the app to judge
///   (§3.1.2.1: "the Authorization Server ... is not required to" satisfy it).
///
/// The minimum is settled first, so a person who can reach it is not refused because they
/// cannot reach a stronger value the app only asked for.
pub fn decide_acr(
    has: Acr,
    asked: Option<Acr>,
    policy: Option<Acr>,
    prompt_none: bool,
    step_up: StepUp,
) -> AcrDecision {
    if let Some(need) = policy.filter(|&minimum| has < minimum) {
        return match step_up {
            StepUp::Ask if prompt_none => AcrDecision::LoginRequired,
            StepUp::Ask => AcrDecision::StepUp { need },
            StepUp::Unavailable => AcrDecision::PolicyUnreachable { need },
            StepUp::GaveUp => AcrDecision::Unmet,
        };
    }
    match asked.filter(|&wanted| has < wanted) {
        Some(need) if step_up == StepUp::Ask && !prompt_none => AcrDecision::StepUp { need },
        _ => AcrDecision::Enough,
    }
}
