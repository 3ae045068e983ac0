//! Passkeys (WebAuthn Level 3 public-key credentials), through webauthn-rs: adding one to a
//! signed-in account, listing, renaming and removing them, and signing in with one, three ways:
//! without typing anything (a discoverable credential names its account by the user handle),
//! for a typed identifier (the account's credentials are offered), and for a known account (a
//! second factor or a step-up confirmation).
//!
//! The relying party is the issuer: its host is the RP ID and its origin the only origin
//! accepted (WebAuthn §5.1.3, §7.1 step 9, §7.2 step 13), so a passkey made for OneID works
//! nowhere else and an assertion made elsewhere is refused here. User verification is required
//! in every ceremony, so a passkey alone is two factors (RFC 8176 `user` and `mfa`).
//!
//! Ceremony state (the challenge, the credentials allowed) lives in the ephemeral store, under
//! a key bound to the browser's session and the kind of ceremony, for [`STATE_TTL`], and is
//! taken (read and deleted in one step) when the answer arrives: a challenge is answered at most
//! once, and never after it expired. A sign-in ceremony is counted against the address's
//! sign-in attempts before anything is stored ([`limits::sign_in_attempt`], shared with
//! passwords), so failed assertions and stored states are bounded like password guesses.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use url::Url;
use webauthn_rs::{
    Webauthn, WebauthnBuilder,
    fake::{FakePasskeyDistribution, WebauthnFakeCredentialGenerator},
    prelude::{
        AuthenticationResult, CreationChallengeResponse, Credential, CredentialID,
        DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
        PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Uuid,
        WebauthnError,
    },
};

use super::{
    Context, ServiceError,
    codes::{self, BrowserTag},
    limits,
    lockout::{self, LockState},
    notices, second_factor,
};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    db::models::{
        account::{self, Account, AccountStatus},
        passkey::{self, Inserted, NewPasskey, StoredPasskey},
    },
    domain::{AccountId, ClientInfo, LoginIdentifier, PasskeyName, random_token_of},
};

/// How many passkeys one account may hold: enough for every phone, laptop and security key a
/// person owns, few enough that the list of allowed credentials stays small.
pub const MAX_PER_ACCOUNT: i64 = 20;

/// How long the browser waits for the person at their authenticator: the WebAuthn Level 3
/// recommendation (§15.1: 5 minutes, with room for people who need longer), which is also
/// webauthn-rs's default.
pub const CEREMONY_TIMEOUT: Duration = webauthn_rs::DEFAULT_AUTHENTICATOR_TIMEOUT;

/// How long a ceremony's state is kept: the authenticator's timeout and half a minute for the
/// answer to travel. A later answer finds nothing and is refused.
pub const STATE_TTL: Duration = Duration::from_secs(CEREMONY_TIMEOUT.as_secs() + 30);

/// The relying party's name authenticators may show ("Save a passkey for OneID?").
pub const RP_NAME: &str = "OneID";

/// The HKDF labels of the keys derived for passkeys (see [`super::AccountKeys`]).
pub(super) const USER_HANDLE_KEY_PURPOSE: &str = "oneid/passkey-user-handle/v1";
pub(super) const DECOY_KEY_PURPOSE: &str = "oneid/passkey-decoys/v1";

/// The WebAuthn relying party of this deployment, built once at start from the issuer.
#[derive(Debug)]
pub struct RelyingParty {
    webauthn: Webauthn,
}

/// Why passkeys cannot be offered for an issuer.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    /// WebAuthn's RP ID is a domain (§5.1.3, "a valid domain string"): browsers refuse an IP
    /// address, so an issuer at `http://127.0.0.1:8080` has no passkeys.
    #[error("the issuer's host is not a domain name, so it cannot be a WebAuthn RP ID")]
    NotADomain,
    #[error("webauthn-rs refused the relying party: {0}")]
    Refused(WebauthnError),
}

impl RelyingParty {
    /// RP ID = the issuer's host (`id.example.com`), origin = the issuer's origin
    /// (`https://id.example.com`, a port kept). Browsers also refuse plain http except on
    /// `localhost` (a secure context), which webauthn-rs leaves to them.
    pub fn from_issuer(issuer: &Url) -> Result<Self, Unavailable> {
        let Some(rp_id) = issuer.domain() else {
            return Err(Unavailable::NotADomain);
        };
        let origin = Url::parse(&issuer.origin().ascii_serialization())
            .map_err(|_| Unavailable::NotADomain)?;
        let webauthn = WebauthnBuilder::new(rp_id, &origin)
            .and_then(|b| b.rp_name(RP_NAME).timeout(CEREMONY_TIMEOUT).build())
            .map_err(Unavailable::Refused)?;
        Ok(Self { webauthn })
    }
}

/// The RFC 8176 methods a passkey proves: `hwk` for a device-bound key (not backup-eligible),
/// `swk` for one that may be synced to other devices, and always `user` (user verification was
/// required) and `mfa` (something held and something known or are).
pub const AMR_DEVICE_BOUND: &[&str] = &["hwk", "user", "mfa"];
pub const AMR_SYNCED: &[&str] = &["swk", "user", "mfa"];

fn amr_for(backup_eligible: bool) -> &'static [&'static str] {
    if backup_eligible {
        AMR_SYNCED
    } else {
        AMR_DEVICE_BOUND
    }
}

/// One passkey as the account console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeySummary {
    pub id: String,
    pub name: PasskeyName,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// May be synced to the person's other devices (backup-eligible).
    pub synced: bool,
}

impl From<&StoredPasskey> for PasskeySummary {
    fn from(stored: &StoredPasskey) -> Self {
        Self {
            id: stored.id.clone(),
            name: stored.name.clone(),
            created_at: stored.created_at,
            last_used_at: stored.last_used_at,
            synced: stored.backup_eligible,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Registration

/// Why a passkey was not added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationRefused {
    /// Passkeys are not available on this deployment (see [`Unavailable`]).
    Unavailable,
    /// The account holds [`MAX_PER_ACCOUNT`] already.
    TooMany,
    /// No registration was waiting for this browser and account (never started, answered
    /// already, or expired).
    NoCeremony,
    /// The authenticator's answer did not verify (wrong origin or RP ID, no user verification,
    /// a bad attestation, another challenge).
    Invalid,
    /// This credential is registered already.
    Duplicate,
}

impl RegistrationRefused {
    /// A stable name for JSON answers, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unavailable => "unavailable",
            Self::TooMany => "too_many",
            Self::NoCeremony => "no_ceremony",
            Self::Invalid => "invalid",
            Self::Duplicate => "duplicate",
        }
    }
}

/// A registration between "options sent" and "authenticator answered".
#[derive(Serialize, Deserialize)]
struct PendingRegistration {
    account: AccountId,
    /// A [`PasskeyName`], parsed when the registration started.
    name: String,
    state: PasskeyRegistration,
}

fn registration_key(browser: &BrowserTag) -> String {
    format!("passkey-register:{}", browser.as_str())
}

/// Starts adding a passkey named `name` to `account` (signed in, recently: the caller checks
/// the re-authentication window). Returns the options for `navigator.credentials.create()`.
///
/// The options exclude the account's passkeys (§5.4.3 `excludeCredentials`, so one
/// authenticator is not registered twice), require user verification, and ask for a
/// discoverable credential (`residentKey: required`, §5.4.6) so that it can sign in without an
/// identifier typed. The user handle is [`user_handle`], opaque; the authenticator shows the
/// masked contact as the user name and the display name, nothing more.
pub async fn start_registration(
    ctx: &Context,
    account: &Account,
    name: PasskeyName,
    browser: &BrowserTag,
) -> Result<Result<CreationChallengeResponse, RegistrationRefused>, ServiceError> {
    let Some(rp) = ctx.passkeys.clone() else {
        return Ok(Err(RegistrationRefused::Unavailable));
    };
    let held = load_passkeys(ctx, account.id).await?;
    if i64::try_from(held.len()).unwrap_or(i64::MAX) >= MAX_PER_ACCOUNT {
        return Ok(Err(RegistrationRefused::TooMany));
    }
    let exclude: Vec<CredentialID> = held
        .iter()
        .filter_map(|p| URL_SAFE_NO_PAD.decode(&p.credential_id).ok())
        .collect();
    let user_name = shown_user_name(account);
    let (mut options, state) = rp
        .webauthn
        .start_passkey_registration(
            user_handle(&ctx.keys.passkey_user_handle, account.id),
            &user_name,
            account.display_name.as_str(),
            Some(exclude),
        )
        .map_err(|e| ServiceError::Task(format!("passkey registration options: {e}")))?;
    require_discoverable(&mut options);
    let pending = PendingRegistration {
        account: account.id,
        name: name.as_str().to_owned(),
        state,
    };
    ctx.store
        .put_json(&registration_key(browser), &pending, STATE_TTL)
        .await?;
    Ok(Ok(options))
}

/// webauthn-rs's passkey options leave residence to the authenticator (`residentKey:
/// discouraged`), because a security key has little room for resident keys. OneID signs in
/// without an identifier typed, which only a discoverable credential can do, so it asks for one
/// (§5.4.6 `residentKey: required`; `requireResidentKey` for Level 1 clients). The state does
/// not depend on it: webauthn-rs verifies the answer the same way.
fn require_discoverable(options: &mut CreationChallengeResponse) {
    use webauthn_rs_proto::{AuthenticatorSelectionCriteria, ResidentKeyRequirement};
    let selection = options
        .public_key
        .authenticator_selection
        .get_or_insert_with(AuthenticatorSelectionCriteria::default);
    selection.resident_key = Some(ResidentKeyRequirement::Required);
    selection.require_resident_key = true;
}

/// What the authenticator shows as the account's user name: the masked phone number or email
/// (`+91 ******5678`), enough for its owner to tell accounts apart, not the contact itself (it
/// is readable to anyone who opens the device's passkey list). An account without a contact
/// shows its account ID.
fn shown_user_name(account: &Account) -> String {
    account
        .phone
        .as_ref()
        .map(|p| p.masked())
        .or_else(|| account.email.as_ref().map(|e| e.masked()))
        .unwrap_or_else(|| account.id.to_string())
}

/// Finishes adding a passkey with the authenticator's answer: the waiting registration of this
/// browser and account is taken (single use), verified by webauthn-rs (origin, RP ID hash,
/// challenge, user verification, attestation format), and stored unless the account reached
/// [`MAX_PER_ACCOUNT`] meanwhile or the credential is known. Audited as `passkey_added`.
pub async fn finish_registration(
    ctx: &Context,
    account: AccountId,
    response: &RegisterPublicKeyCredential,
    browser: &BrowserTag,
    from: &ClientInfo,
) -> Result<Result<PasskeySummary, RegistrationRefused>, ServiceError> {
    let finished = check_registration(ctx, account, response, browser).await?;
    let outcome = match &finished {
        Ok(_) => "ok",
        Err(refused) => refused.as_str(),
    };
    crate::telemetry::passkey_ceremony("register", outcome);
    let (new, summary) = match finished {
        Ok(found) => found,
        Err(refused) => return Ok(Err(refused)),
    };
    let now = ctx.clock.now();
    let inserted = ctx
        .db
        .run(move |conn| passkey::insert(conn, &new, MAX_PER_ACCOUNT, now))
        .await?;
    match inserted {
        Inserted::Added => {}
        Inserted::TooMany => return Ok(Err(RegistrationRefused::TooMany)),
        Inserted::Duplicate => return Ok(Err(RegistrationRefused::Duplicate)),
    }
    ctx.audit
        .record(
            AuditEvent::new(AuditKind::PasskeyAdded, Outcome::Ok)
                .account(account)
                .from(from)
                .detail(amr_for(summary.synced)[0]),
        )
        .await;
    method_changed(ctx, account, notices::Change::Added).await;
    Ok(Ok(PasskeySummary {
        created_at: now,
        ..summary
    }))
}

/// The registration's checks, in order: the relying party exists, a registration is waiting
/// for this browser and this account, and webauthn-rs accepts the answer.
async fn check_registration(
    ctx: &Context,
    account: AccountId,
    response: &RegisterPublicKeyCredential,
    browser: &BrowserTag,
) -> Result<Result<(NewPasskey, PasskeySummary), RegistrationRefused>, ServiceError> {
    let Some(rp) = ctx.passkeys.clone() else {
        return Ok(Err(RegistrationRefused::Unavailable));
    };
    let pending: Option<PendingRegistration> =
        ctx.store.take_json(&registration_key(browser)).await?;
    let Some(pending) = pending.filter(|p| p.account == account) else {
        return Ok(Err(RegistrationRefused::NoCeremony));
    };
    let passkey = match rp
        .webauthn
        .finish_passkey_registration(response, &pending.state)
    {
        Ok(passkey) => passkey,
        Err(e) => {
            tracing::info!(account_id = %account, error = %e, "passkey registration refused");
            return Ok(Err(RegistrationRefused::Invalid));
        }
    };
    let credential = Credential::from(passkey.clone());
    let serialized = serde_json::to_string(&passkey)
        .map_err(|e| ServiceError::Task(format!("serializing a passkey: {e}")))?;
    let new = NewPasskey {
        id: random_token_of(16),
        account_id: account,
        credential_id: URL_SAFE_NO_PAD.encode(passkey.cred_id()),
        name: PasskeyName::from_stored(pending.name),
        credential: serialized,
        sign_count: i64::from(credential.counter),
        backup_eligible: credential.backup_eligible,
    };
    let summary = PasskeySummary {
        id: new.id.clone(),
        name: new.name.clone(),
        created_at: ctx.clock.now(),
        last_used_at: None,
        synced: new.backup_eligible,
    };
    Ok(Ok((new, summary)))
}

// ---------------------------------------------------------------------------------------------
// The console's list, rename, remove

async fn load_passkeys(
    ctx: &Context,
    account: AccountId,
) -> Result<Vec<StoredPasskey>, ServiceError> {
    Ok(ctx
        .db
        .run(move |conn| passkey::for_account(conn, account))
        .await?)
}

/// The account's passkeys, oldest first.
pub async fn list(ctx: &Context, account: AccountId) -> Result<Vec<PasskeySummary>, ServiceError> {
    Ok(load_passkeys(ctx, account)
        .await?
        .iter()
        .map(PasskeySummary::from)
        .collect())
}

/// Renames the account's passkey `id`. False when it has none by that id. Audited.
pub async fn rename(
    ctx: &Context,
    account: AccountId,
    id: String,
    name: PasskeyName,
    from: &ClientInfo,
) -> Result<bool, ServiceError> {
    let renamed = ctx
        .db
        .run(move |conn| passkey::rename(conn, account, &id, &name))
        .await?;
    if renamed {
        ctx.audit
            .record(
                AuditEvent::new(AuditKind::PasskeyRenamed, Outcome::Ok)
                    .account(account)
                    .from(from),
            )
            .await;
    }
    Ok(renamed)
}

/// Removes the account's passkey `id`: it signs in no more (its authenticator may keep it
/// until the person deletes it there too). False when it has none by that id. Audited.
pub async fn remove(
    ctx: &Context,
    account: AccountId,
    id: String,
    from: &ClientInfo,
) -> Result<bool, ServiceError> {
    let removed = ctx
        .db
        .run(move |conn| passkey::delete(conn, account, &id))
        .await?;
    if removed {
        ctx.audit
            .record(
                AuditEvent::new(AuditKind::PasskeyRemoved, Outcome::Ok)
                    .account(account)
                    .from(from),
            )
            .await;
        second_factor::method_removed(ctx, account, from).await?;
        method_changed(ctx, account, notices::Change::Removed).await;
    }
    Ok(removed)
}

/// Tells the owner a passkey was added or removed (see `notices::security_method_changed`);
/// the change stands whatever happens to the notice.
async fn method_changed(ctx: &Context, account: AccountId, change: notices::Change) {
    let method = notices::SecurityMethod::Passkey;
    if let Err(e) = notices::security_method_changed(ctx, account, method, change).await {
        tracing::warn!(account_id = %account, error = %e, "method notice not sent");
    }
}

// ---------------------------------------------------------------------------------------------
// Sign-in

/// Who a sign-in ceremony is for.
#[derive(Debug, Clone)]
pub enum SignInFor {
    /// Nobody typed anything: any discoverable passkey of OneID, which names its account by
    /// its user handle.
    Anyone,
    /// The identifier typed on the sign-in page.
    Identifier(LoginIdentifier),
}

/// A sign-in between "options sent" and "authenticator answered".
#[derive(Serialize, Deserialize)]
enum PendingSignIn {
    /// Any discoverable credential.
    Discoverable(DiscoverableAuthentication),
    /// One of these accounts' credentials (an identifier that found accounts with passkeys, or
    /// a known account).
    Accounts {
        accounts: Vec<AccountId>,
        state: PasskeyAuthentication,
    },
    /// The identifier found no account with a passkey: decoy credential IDs were offered, and
    /// no answer can succeed.
    Decoy(DiscoverableAuthentication),
}

/// The two kinds of ceremony never satisfy each other: a sign-in page's ceremony cannot be
/// answered to confirm a known account, nor the reverse.
fn sign_in_key(browser: &BrowserTag) -> String {
    format!("passkey-sign-in:{}", browser.as_str())
}

fn account_key(browser: &BrowserTag) -> String {
    format!("passkey-account:{}", browser.as_str())
}

/// Starts a passkey sign-in on the sign-in page: counts the attempt against the address's
/// sign-in budget (refused with [`ServiceError::Limited`] when spent), then returns the options
/// for `navigator.credentials.get()` (`None`: passkeys are unavailable here).
///
/// For [`SignInFor::Identifier`] the options list the credentials of the account(s) the
/// identifier names (`allowCredentials`, §5.5). An identifier without an account, or whose
/// account has no passkey, gets the same answer in shape: credential IDs derived from the
/// identifier under a server key by webauthn-rs's [`WebauthnFakeCredentialGenerator`], the same
/// every time for one identifier, their count (0 to 3) and lengths drawn from what real
/// authenticators produce. So the answer tells nobody whether an account exists or has a
/// passkey, and asking twice tells nothing more. Transport hints are left out of every list, so
/// real and decoy entries look alike.
pub async fn start_sign_in(
    ctx: &Context,
    who: SignInFor,
    browser: &BrowserTag,
    from: &ClientInfo,
) -> Result<Option<RequestChallengeResponse>, ServiceError> {
    let Some(rp) = ctx.passkeys.clone() else {
        return Ok(None);
    };
    check_address_budget(ctx, from).await?;
    let (options, pending) = match who {
        SignInFor::Anyone => {
            let (mut options, state) = rp
                .webauthn
                .start_discoverable_authentication()
                .map_err(challenge_failed)?;
            // webauthn-rs asks for conditional mediation (autofill); the page asks on a button.
            options.mediation = None;
            (options, PendingSignIn::Discoverable(state))
        }
        SignInFor::Identifier(identifier) => options_for_identifier(ctx, &rp, identifier).await?,
    };
    ctx.store
        .put_json(&sign_in_key(browser), &pending, STATE_TTL)
        .await?;
    Ok(Some(options))
}

/// Every sign-in ceremony counts as one sign-in attempt of the address, before anything is
/// stored. A state is answered at most once, so failed assertions are bounded by the same
/// budget as passwords.
async fn check_address_budget(ctx: &Context, from: &ClientInfo) -> Result<(), ServiceError> {
    let checked = limits::sign_in_attempt(
        ctx.store.as_ref(),
        &ctx.settings.limits,
        ctx.clock.now(),
        from.ip,
    )
    .await?;
    match checked {
        Ok(()) => Ok(()),
        Err(refused) => Err(codes::limit_tripped(ctx, refused, from).await),
    }
}

fn challenge_failed(e: WebauthnError) -> ServiceError {
    ServiceError::Task(format!("passkey challenge: {e}"))
}

/// The options for a typed identifier: the credentials of the accounts it names, or decoys.
async fn options_for_identifier(
    ctx: &Context,
    rp: &RelyingParty,
    identifier: LoginIdentifier,
) -> Result<(RequestChallengeResponse, PendingSignIn), ServiceError> {
    let canonical = canonical_identifier(&identifier);
    let found = ctx
        .db
        .run(move |conn| {
            let mut accounts = Vec::with_capacity(2);
            match &identifier {
                LoginIdentifier::Email(email) => {
                    accounts.extend(account::find_by_email(conn, email)?)
                }
                LoginIdentifier::Phone(phone) => {
                    accounts.extend(account::find_by_phone(conn, phone)?)
                }
                LoginIdentifier::AccountId(id) => accounts.extend(account::find_by_id(conn, *id)?),
                LoginIdentifier::PhoneOrAccountId(phone, id) => {
                    accounts.extend(account::find_by_phone(conn, phone)?);
                    accounts.extend(account::find_by_id(conn, *id)?);
                }
            }
            let mut found = Vec::new();
            for account in accounts {
                // A deleted account is no account.
                if account.status == AccountStatus::Deleted
                    || found.iter().any(|(id, _)| *id == account.id)
                {
                    continue;
                }
                found.push((account.id, passkey::for_account(conn, account.id)?));
            }
            Ok(found)
        })
        .await?;
    let accounts: Vec<AccountId> = found.iter().map(|(id, _)| *id).collect();
    let passkeys: Vec<Passkey> = found
        .into_iter()
        .flat_map(|(_, stored)| stored)
        .filter_map(|stored| serde_json::from_str(&stored.credential).ok())
        .collect();
    if passkeys.is_empty() {
        return decoy_options(ctx, rp, &canonical);
    }
    let (options, state) = rp
        .webauthn
        .start_passkey_authentication(&passkeys)
        .map_err(challenge_failed)?;
    Ok((
        uniform(options),
        PendingSignIn::Accounts { accounts, state },
    ))
}

/// The identifier as one string, the phone number whenever it holds one (as an account would
/// be found by it whichever way it was typed).
fn canonical_identifier(identifier: &LoginIdentifier) -> String {
    match identifier {
        LoginIdentifier::Email(email) => format!("email:{}", email.as_str()),
        LoginIdentifier::Phone(phone) | LoginIdentifier::PhoneOrAccountId(phone, _) => {
            format!("phone:{}", phone.as_e164())
        }
        LoginIdentifier::AccountId(id) => format!("id:{id}"),
    }
}

/// Options that look like an account's, with decoy credential IDs (see [`start_sign_in`]).
fn decoy_options(
    ctx: &Context,
    rp: &RelyingParty,
    canonical: &str,
) -> Result<(RequestChallengeResponse, PendingSignIn), ServiceError> {
    use webauthn_rs_proto::AllowCredentials;
    let generator =
        WebauthnFakeCredentialGenerator::<FakePasskeyDistribution>::new(&ctx.keys.passkey_decoys)
            .map_err(challenge_failed)?;
    let decoys = generator
        .generate(canonical.as_bytes())
        .map_err(challenge_failed)?;
    let (mut options, state) = rp
        .webauthn
        .start_discoverable_authentication()
        .map_err(challenge_failed)?;
    options.mediation = None;
    options.public_key.allow_credentials = decoys
        .into_iter()
        .map(|id| AllowCredentials {
            type_: "public-key".to_owned(),
            id,
            transports: None,
        })
        .collect();
    Ok((uniform(options), PendingSignIn::Decoy(state)))
}

/// The same fields whatever the options are for: no transport hints, no extensions, no
/// mediation (see [`start_sign_in`]).
fn uniform(mut options: RequestChallengeResponse) -> RequestChallengeResponse {
    for allowed in &mut options.public_key.allow_credentials {
        allowed.transports = None;
    }
    options.public_key.extensions = None;
    options.public_key.hints = None;
    options.mediation = None;
    options
}

/// How a passkey assertion ended.
#[derive(Debug)]
pub enum PasskeyOutcome {
    /// Proven: sign the browser in (or confirm) with these RFC 8176 methods.
    SignedIn {
        account: Box<Account>,
        amr: &'static [&'static str],
    },
    Failed(Failure),
}

/// Why an assertion was refused. Every reason a stranger could cause reads the same to them
/// ("that passkey did not work"); the audit log keeps the class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Passkeys are not available on this deployment.
    Unavailable,
    /// No ceremony was waiting for this browser (never started, answered already, expired).
    NoCeremony,
    /// The credential is not one of OneID's, or not one this ceremony allowed, or its user
    /// handle names another account.
    UnknownCredential,
    /// webauthn-rs refused the assertion: the signature, the origin, the RP ID hash, the
    /// challenge, user verification, or the backup flags.
    Invalid,
    /// The authenticator's signature counter did not move forward (§6.1.1, §7.2 step 22): the
    /// credential may have been cloned. Refused, and audited as such.
    CounterRegression,
    /// The account is locked (as a password sign-in would say).
    Locked,
    /// An operator disabled the account.
    Disabled,
    /// An administrator asked for a new password first (as a password sign-in would say).
    MustResetPassword,
}

impl Failure {
    /// The audit log's detail and the metrics' outcome.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unavailable => "unavailable",
            Self::NoCeremony => "no_ceremony",
            Self::UnknownCredential => "unknown_credential",
            Self::Invalid => "invalid",
            Self::CounterRegression => "counter_regression",
            Self::Locked => "locked",
            Self::Disabled => "disabled",
            Self::MustResetPassword => "must_reset_password",
        }
    }
}

/// Finishes a sign-in started by [`start_sign_in`] for this browser (see [`finish`]).
pub async fn finish_sign_in(
    ctx: &Context,
    response: &PublicKeyCredential,
    browser: &BrowserTag,
    from: &ClientInfo,
) -> Result<PasskeyOutcome, ServiceError> {
    finish(ctx, sign_in_key(browser), None, response, from).await
}

/// What starting an assertion for a known account gives.
#[derive(Debug)]
pub enum AccountStart {
    /// The options for `navigator.credentials.get()`, listing the account's passkeys.
    Options(RequestChallengeResponse),
    /// The account has no passkey (or passkeys are unavailable): offer another way.
    NoPasskey,
}

/// Starts an assertion by one of `account`'s passkeys, for a second factor or a step-up
/// confirmation once the account is known. Counted against the address's sign-in budget like
/// every passkey ceremony; kept apart from the sign-in page's ceremony (see [`account_key`]).
pub async fn start_for_account(
    ctx: &Context,
    account: AccountId,
    browser: &BrowserTag,
    from: &ClientInfo,
) -> Result<AccountStart, ServiceError> {
    let Some(rp) = ctx.passkeys.clone() else {
        return Ok(AccountStart::NoPasskey);
    };
    let passkeys: Vec<Passkey> = load_passkeys(ctx, account)
        .await?
        .into_iter()
        .filter_map(|stored| serde_json::from_str(&stored.credential).ok())
        .collect();
    if passkeys.is_empty() {
        return Ok(AccountStart::NoPasskey);
    }
    check_address_budget(ctx, from).await?;
    let (options, state) = rp
        .webauthn
        .start_passkey_authentication(&passkeys)
        .map_err(challenge_failed)?;
    let pending = PendingSignIn::Accounts {
        accounts: vec![account],
        state,
    };
    ctx.store
        .put_json(&account_key(browser), &pending, STATE_TTL)
        .await?;
    Ok(AccountStart::Options(uniform(options)))
}

/// Finishes an assertion started by [`start_for_account`]: succeeds only with a passkey of
/// `account`, with the same checks as a sign-in ([`finish`]).
pub async fn finish_for_account(
    ctx: &Context,
    account: AccountId,
    response: &PublicKeyCredential,
    browser: &BrowserTag,
    from: &ClientInfo,
) -> Result<PasskeyOutcome, ServiceError> {
    finish(ctx, account_key(browser), Some(account), response, from).await
}

/// An assertion's checks, in order, then the audit event:
/// 1. `load_pending`: the ceremony waiting under `key` is taken (single use; none: refused);
/// 2. `load_credential`: the credential is one of OneID's ([`Failure::UnknownCredential`]);
/// 3. `check_owner`: this ceremony allowed it (its account is one of the ceremony's, or, for a
///    discoverable one, the user handle is its account's);
/// 4. `check_assertion`: webauthn-rs verifies signature, origin, RP ID hash, challenge, user
///    verification, backup flags and the counter (a counter that did not move forward is
///    [`Failure::CounterRegression`]);
/// 5. `record_use`: the counter moves forward atomically (a concurrent use that won makes this
///    one a regression too) and `last_used_at` is set;
/// 6. `check_account`: the account may sign in (not deleted, disabled, locked, or waiting for
///    a new password), said only now that the passkey proved who asks.
async fn finish(
    ctx: &Context,
    key: String,
    expected: Option<AccountId>,
    response: &PublicKeyCredential,
    from: &ClientInfo,
) -> Result<PasskeyOutcome, ServiceError> {
    let checked = check_all(ctx, key, expected, response).await?;
    let outcome = match checked {
        Ok((account, amr)) => {
            ctx.audit
                .record(
                    AuditEvent::new(AuditKind::PasskeySignIn, Outcome::Ok)
                        .account(account.id)
                        .from(from)
                        .detail(amr[0]),
                )
                .await;
            crate::telemetry::passkey_ceremony("sign_in", "ok");
            PasskeyOutcome::SignedIn { account, amr }
        }
        Err((failure, account)) => {
            let outcome = match failure {
                Failure::Locked | Failure::Disabled | Failure::MustResetPassword => {
                    Outcome::Refused
                }
                _ => Outcome::Failed,
            };
            let event = AuditEvent::new(AuditKind::PasskeySignInFailed, outcome)
                .from(from)
                .detail(failure.as_str());
            ctx.audit
                .record(match account {
                    Some(id) => event.account(id),
                    None => event,
                })
                .await;
            if failure == Failure::CounterRegression {
                tracing::warn!(
                    account_id = ?account,
                    "passkey refused: its signature counter went backwards (a cloned authenticator?)"
                );
            }
            crate::telemetry::passkey_ceremony("sign_in", failure.as_str());
            PasskeyOutcome::Failed(failure)
        }
    };
    Ok(outcome)
}

/// A refusal, with the account it concerns once known (for the audit log).
type Refusal = (Failure, Option<AccountId>);

async fn check_all(
    ctx: &Context,
    key: String,
    expected: Option<AccountId>,
    response: &PublicKeyCredential,
) -> Result<Result<(Box<Account>, &'static [&'static str]), Refusal>, ServiceError> {
    let Some(rp) = ctx.passkeys.clone() else {
        return Ok(Err((Failure::Unavailable, None)));
    };
    let Some(pending) = load_pending(ctx, &key).await? else {
        return Ok(Err((Failure::NoCeremony, None)));
    };
    let Some(stored) = load_credential(ctx, response).await? else {
        return Ok(Err((Failure::UnknownCredential, None)));
    };
    let owner = stored.account_id;
    if let Err(failure) = check_owner(ctx, &pending, &stored, expected, response) {
        return Ok(Err((failure, None)));
    }
    let mut passkey: Passkey = serde_json::from_str(&stored.credential)
        .map_err(|e| ServiceError::Task(format!("stored passkey unreadable: {e}")))?;
    let result = match check_assertion(&rp, pending, response, &passkey) {
        Ok(result) => result,
        Err(failure) => return Ok(Err((failure, Some(owner)))),
    };
    if !record_use(ctx, &stored, &mut passkey, &result).await? {
        return Ok(Err((Failure::CounterRegression, Some(owner))));
    }
    let account = match check_account(ctx, owner).await? {
        Ok(account) => account,
        Err(failure) => return Ok(Err((failure, Some(owner)))),
    };
    // Backup eligibility is fixed when a credential is made (§6.1.3); webauthn-rs lets a
    // passkey's flag go from false to true on use, and then it counts as synced.
    let synced = stored.backup_eligible || result.backup_eligible();
    Ok(Ok((Box::new(account), amr_for(synced))))
}

/// Step 1: the ceremony waiting under `key`, taken so that it is answered at most once.
async fn load_pending(ctx: &Context, key: &str) -> Result<Option<PendingSignIn>, ServiceError> {
    Ok(ctx.store.take_json(key).await?)
}

/// Step 2: the stored passkey the answer names by its credential ID.
async fn load_credential(
    ctx: &Context,
    response: &PublicKeyCredential,
) -> Result<Option<StoredPasskey>, ServiceError> {
    let raw = response.get_credential_id();
    // WebAuthn Level 3 §6.5.1: a credential ID is at most 1023 bytes; nothing longer is ours.
    if raw.is_empty() || raw.len() > 1023 {
        return Ok(None);
    }
    let id = URL_SAFE_NO_PAD.encode(raw);
    Ok(ctx
        .db
        .run(move |conn| passkey::find_by_credential_id(conn, &id))
        .await?)
}

/// Step 3: the ceremony allowed this credential, and (for a known account) it is that
/// account's. A discoverable answer must carry its account's user handle (§7.2 step 6): the
/// authenticator picked the account, and it must be the one the credential belongs to.
fn check_owner(
    ctx: &Context,
    pending: &PendingSignIn,
    stored: &StoredPasskey,
    expected: Option<AccountId>,
    response: &PublicKeyCredential,
) -> Result<(), Failure> {
    if expected.is_some_and(|id| id != stored.account_id) {
        return Err(Failure::UnknownCredential);
    }
    match pending {
        PendingSignIn::Decoy(_) => Err(Failure::UnknownCredential),
        PendingSignIn::Accounts { accounts, .. } if accounts.contains(&stored.account_id) => Ok(()),
        PendingSignIn::Accounts { .. } => Err(Failure::UnknownCredential),
        PendingSignIn::Discoverable(_) => {
            let expected = user_handle(&ctx.keys.passkey_user_handle, stored.account_id);
            let given = response.get_user_unique_id().unwrap_or_default();
            if bool::from(given.ct_eq(expected.as_bytes())) {
                Ok(())
            } else {
                Err(Failure::UnknownCredential)
            }
        }
    }
}

/// Step 4: webauthn-rs verifies the assertion against the stored credential.
fn check_assertion(
    rp: &RelyingParty,
    pending: PendingSignIn,
    response: &PublicKeyCredential,
    passkey: &Passkey,
) -> Result<AuthenticationResult, Failure> {
    let verified = match pending {
        PendingSignIn::Discoverable(state) | PendingSignIn::Decoy(state) => rp
            .webauthn
            .finish_discoverable_authentication_v2(response, state, passkey),
        PendingSignIn::Accounts { state, .. } => {
            rp.webauthn.finish_passkey_authentication(response, &state)
        }
    };
    verified.map_err(|e| match e {
        WebauthnError::CredentialPossibleCompromise => Failure::CounterRegression,
        other => {
            tracing::info!(error = %other, "passkey assertion refused");
            Failure::Invalid
        }
    })
}

/// Step 5: the counter and flags the assertion carried, saved only if no other use of the
/// passkey was saved since it was read. False when one was and this use carried a counter:
/// the two cannot both be newer than what was stored, so this one is refused.
async fn record_use(
    ctx: &Context,
    stored: &StoredPasskey,
    passkey: &mut Passkey,
    result: &AuthenticationResult,
) -> Result<bool, ServiceError> {
    passkey.update_credential(result);
    let serialized = serde_json::to_string(&*passkey)
        .map_err(|e| ServiceError::Task(format!("serializing a passkey: {e}")))?;
    let (id, seen, count) = (
        stored.id.clone(),
        stored.sign_count,
        i64::from(result.counter()).max(stored.sign_count),
    );
    let now = ctx.clock.now();
    let saved = ctx
        .db
        .run(move |conn| passkey::record_use(conn, &id, seen, count, &serialized, now))
        .await?;
    // An authenticator without a counter (always 0) cannot be told from a concurrent use; its
    // use stands, the other one's row write having won.
    Ok(saved || result.counter() == 0)
}

/// Step 6: the account may sign in, as a password sign-in would decide (`login::check`): a
/// deleted account is no account, a disabled one is refused, a locked one is refused until it
/// is unlocked or its lock runs out, and one whose administrator asked for a new password is
/// sent to choose one first.
async fn check_account(
    ctx: &Context,
    id: AccountId,
) -> Result<Result<Account, Failure>, ServiceError> {
    let found = ctx
        .db
        .run(move |conn| account::find_by_id(conn, id))
        .await?;
    let Some(account) = found.filter(|a| a.status != AccountStatus::Deleted) else {
        return Ok(Err(Failure::UnknownCredential));
    };
    if account.status == AccountStatus::Disabled {
        return Ok(Err(Failure::Disabled));
    }
    if lockout::state_of(&account, ctx.clock.now()) != LockState::Open {
        return Ok(Err(Failure::Locked));
    }
    if account.must_reset_password {
        return Ok(Err(Failure::MustResetPassword));
    }
    Ok(Ok(account))
}

/// The WebAuthn user handle of `account` (§5.4.3 `user.id`, at most 64 bytes, "not personally
/// identifying"): 16 bytes of an HMAC of the account ID under a server key, as a UUID (the form
/// webauthn-rs takes). Stable, so every passkey of one account carries the same handle and a
/// discoverable answer names its account; opaque, so it says nothing about the account to
/// whoever reads the authenticator, and differs from the `sub` apps see.
pub fn user_handle(key: &[u8; 32], account: AccountId) -> Uuid {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(b"oneid-passkey-user-handle\0");
    mac.update(&account.get().to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

#[cfg(test)]
mod tests;
