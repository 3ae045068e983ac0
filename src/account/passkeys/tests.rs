//! The ceremonies around webauthn-rs, with webauthn-authenticator-rs's software passkey
//! playing the authenticator: real attestation and assertion objects, signed with real keys,
//! whose origin, RP ID and counter the tests choose.

use chrono::Duration;
use url::Url;
use webauthn_authenticator_rs::{WebauthnAuthenticator, softpasskey::SoftPasskey};

use super::*;
use crate::{
    account::{create_account, testing},
    config::Settings,
    db::models::audit::{self as audit_rows, AuditFilter},
    domain::{ContactIdentifier, DisplayName, Password, Region},
};

const ISSUER: &str = "https://id.example.com";

fn settings() -> Settings {
    Settings {
        issuer: Url::parse(ISSUER).unwrap(),
        ..Settings::default()
    }
}

fn origin() -> Url {
    Url::parse(ISSUER).unwrap()
}

fn browser() -> BrowserTag {
    BrowserTag::new("the browser's form token")
}

async fn asha(ctx: &Context) -> Account {
    let contact = ContactIdentifier::parse("9812345678", Region::default()).unwrap();
    create_account(
        ctx,
        contact,
        DisplayName::parse("Asha").unwrap(),
        Password::parse("correct horse".to_owned()).unwrap(),
    )
    .await
    .unwrap()
    .unwrap()
}

/// Registers a passkey of `authenticator` to `account` from `origin`.
async fn register(
    ctx: &Context,
    authenticator: &mut SoftPasskey,
    account: &Account,
    origin: Url,
) -> Result<PasskeySummary, RegistrationRefused> {
    let options = start_registration(
        ctx,
        account,
        PasskeyName::parse("Phone").unwrap(),
        &browser(),
    )
    .await
    .unwrap()
    .unwrap();
    let response = authenticator
        .do_registration(origin, as_soft_passkey_can(options))
        .expect("the soft passkey registers");
    finish_registration(ctx, account.id, &response, &browser(), &testing::nobody())
        .await
        .unwrap()
}

/// The software passkey keeps no resident keys and refuses options that require one: the test
/// drops the requirement (the server's verification does not depend on it; that the options ask
/// for it is checked on their JSON).
pub(crate) fn as_soft_passkey_can(
    mut options: CreationChallengeResponse,
) -> CreationChallengeResponse {
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = None;
        selection.require_resident_key = false;
    }
    options
}

/// The options of a sign-in for `who`, then the authenticator's answer from `origin`, as a
/// discoverable credential would give it (the software passkey keeps no resident keys: its
/// answer gets the user handle such a key would carry, which is not signed).
async fn sign_in(
    ctx: &Context,
    authenticator: &mut SoftPasskey,
    who: SignInFor,
    allow: &[String],
    handle: Option<Uuid>,
    origin: Url,
) -> PasskeyOutcome {
    let response = assertion(ctx, authenticator, who, allow, handle, origin).await;
    finish_sign_in(ctx, &response, &browser(), &testing::nobody())
        .await
        .unwrap()
}

async fn assertion(
    ctx: &Context,
    authenticator: &mut SoftPasskey,
    who: SignInFor,
    allow: &[String],
    handle: Option<Uuid>,
    origin: Url,
) -> PublicKeyCredential {
    let mut options = start_sign_in(ctx, who, &browser(), &testing::nobody())
        .await
        .unwrap()
        .expect("passkeys are available");
    // What the authenticator finds by itself (the decoys, when offered, are nobody's).
    if !allow.is_empty() {
        options.public_key.allow_credentials = allow
            .iter()
            .map(|id| webauthn_rs_proto::AllowCredentials {
                type_: "public-key".into(),
                id: URL_SAFE_NO_PAD.decode(id).unwrap(),
                transports: None,
            })
            .collect();
    }
    let mut response = authenticator
        .do_authentication(origin, options)
        .expect("the soft passkey signs");
    if let Some(handle) = handle {
        response.response.user_handle = Some(handle.as_bytes().to_vec());
    }
    response
}

async fn credential_ids(ctx: &Context, account: AccountId) -> Vec<String> {
    load_passkeys(ctx, account)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.credential_id)
        .collect()
}

async fn events(ctx: &Context, kind: AuditKind) -> Vec<audit_rows::AuditRecord> {
    ctx.audit.flush().await;
    let all = ctx
        .db
        .run(|conn| {
            audit_rows::query(
                conn,
                &AuditFilter {
                    account: None,
                    since: None,
                    limit: 100,
                },
            )
        })
        .await
        .unwrap();
    all.into_iter()
        .filter(|e| e.kind == kind.as_str())
        .collect()
}

fn handle_of(ctx: &Context, account: &Account) -> Option<Uuid> {
    Some(user_handle(&ctx.keys.passkey_user_handle, account.id))
}

#[tokio::test]
async fn a_registered_passkey_signs_in_without_an_identifier_and_for_one() {
    let t = testing::context(&settings()).await;
    let ctx = &t.ctx;
    let account = asha(ctx).await;
    let mut authenticator = SoftPasskey::new(true);
    let added = register(ctx, &mut authenticator, &account, origin())
        .await
        .unwrap();
    assert_eq!(added.name.as_str(), "Phone");
    assert!(!added.synced, "the software passkey is not backup-eligible");
    assert_eq!(list(ctx, account.id).await.unwrap().len(), 1);
    let ids = credential_ids(ctx, account.id).await;

    let outcome = sign_in(
        ctx,
        &mut authenticator,
        SignInFor::Anyone,
        &ids,
        handle_of(ctx, &account),
        origin(),
    )
    .await;
    let PasskeyOutcome::SignedIn { account: who, amr } = outcome else {
        panic!("signed in: {outcome:?}");
    };
    assert_eq!(who.id, account.id);
    assert_eq!(amr, AMR_DEVICE_BOUND);

    // For the typed number: the options list its passkey.
    let number = LoginIdentifier::parse("98123 45678", Region::default()).unwrap();
    let outcome = sign_in(
        ctx,
        &mut authenticator,
        SignInFor::Identifier(number),
        &[],
        None,
        origin(),
    )
    .await;
    assert!(
        matches!(outcome, PasskeyOutcome::SignedIn { .. }),
        "{outcome:?}"
    );
    let used = list(ctx, account.id).await.unwrap();
    assert!(used[0].last_used_at.is_some());
    assert_eq!(events(ctx, AuditKind::PasskeySignIn).await.len(), 2);
    assert_eq!(
        events(ctx, AuditKind::PasskeyAdded).await[0]
            .detail
            .as_deref(),
        Some("hwk")
    );
}

#[tokio::test]
async fn a_passkey_from_another_origin_is_refused_at_registration_and_at_sign_in() {
    let t = testing::context(&settings()).await;
    let ctx = &t.ctx;
    let account = asha(ctx).await;
    let mut authenticator = SoftPasskey::new(true);
    // A subdomain may use its parent's RP ID, but OneID accepts only its own origin.
    let elsewhere = Url::parse("https://evil.id.example.com").unwrap();
    assert_eq!(
        register(ctx, &mut authenticator, &account, elsewhere.clone()).await,
        Err(RegistrationRefused::Invalid)
    );
    register(ctx, &mut authenticator, &account, origin())
        .await
        .unwrap();
    let ids = credential_ids(ctx, account.id).await;
    let outcome = sign_in(
        ctx,
        &mut authenticator,
        SignInFor::Anyone,
        &ids,
        handle_of(ctx, &account),
        elsewhere,
    )
    .await;
    assert!(
        matches!(outcome, PasskeyOutcome::Failed(Failure::Invalid)),
        "{outcome:?}"
    );
    let failed = events(ctx, AuditKind::PasskeySignInFailed).await;
    assert_eq!(failed[0].detail.as_deref(), Some("invalid"));
}

#[tokio::test]
async fn an_assertion_for_another_rp_id_is_refused() {
    let t = testing::context(&settings()).await;
    let ctx = &t.ctx;
    let account = asha(ctx).await;
    let mut authenticator = SoftPasskey::new(true);
    register(ctx, &mut authenticator, &account, origin())
        .await
        .unwrap();
    let ids = credential_ids(ctx, account.id).await;
    let mut options = start_sign_in(ctx, SignInFor::Anyone, &browser(), &testing::nobody())
        .await
        .unwrap()
        .unwrap();
    // The authenticator signs for the parent domain (which the origin may claim), not for
    // OneID's RP ID: the RP ID hash in its answer is not OneID's.
    options.public_key.rp_id = "example.com".into();
    options.public_key.allow_credentials = ids
        .iter()
        .map(|id| webauthn_rs_proto::AllowCredentials {
            type_: "public-key".into(),
            id: URL_SAFE_NO_PAD.decode(id).unwrap(),
            transports: None,
        })
        .collect();
    let mut response = authenticator.do_authentication(origin(), options).unwrap();
    response.response.user_handle = handle_of(ctx, &account).map(|h| h.as_bytes().to_vec());
    let outcome = finish_sign_in(ctx, &response, &browser(), &testing::nobody())
        .await
        .unwrap();
    assert!(
        matches!(outcome, PasskeyOutcome::Failed(Failure::Invalid)),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_counter_that_goes_backwards_is_refused_and_audited() {
    let t = testing::context(&settings()).await;
    let ctx = &t.ctx;
    let account = asha(ctx).await;
    let mut authenticator = SoftPasskey::new(true);
    register(ctx, &mut authenticator, &account, origin())
        .await
        .unwrap();
    let ids = credential_ids(ctx, account.id).await;
    let handle = handle_of(ctx, &account);

    // Two assertions made in order (counters 1 and 2) for two browsers' ceremonies; the newer
    // is answered first, so the older one's counter is then behind what is stored.
    let first_browser = BrowserTag::new("first");
    let second_browser = BrowserTag::new("second");
    let mut answers = Vec::new();
    for tag in [&first_browser, &second_browser] {
        let mut options = start_sign_in(ctx, SignInFor::Anyone, tag, &testing::nobody())
            .await
            .unwrap()
            .unwrap();
        options.public_key.allow_credentials = ids
            .iter()
            .map(|id| webauthn_rs_proto::AllowCredentials {
                type_: "public-key".into(),
                id: URL_SAFE_NO_PAD.decode(id).unwrap(),
                transports: None,
            })
            .collect();
        let mut response = authenticator.do_authentication(origin(), options).unwrap();
        response.response.user_handle = handle.map(|h| h.as_bytes().to_vec());
        answers.push(response);
    }
    let newer = finish_sign_in(ctx, &answers[1], &second_browser, &testing::nobody())
        .await
        .unwrap();
    assert!(
        matches!(newer, PasskeyOutcome::SignedIn { .. }),
        "{newer:?}"
    );
    let older = finish_sign_in(ctx, &answers[0], &first_browser, &testing::nobody())
        .await
        .unwrap();
    assert!(
        matches!(older, PasskeyOutcome::Failed(Failure::CounterRegression)),
        "{older:?}"
    );
    let failed = events(ctx, AuditKind::PasskeySignInFailed).await;
    assert_eq!(failed[0].detail.as_deref(), Some("counter_regression"));
    assert_eq!(failed[0].account_id, Some(account.id));
    let stored = load_passkeys(ctx, account.id).await.unwrap();
    assert_eq!(
        stored[0].sign_count, 2,
        "the stored counter stays the newest"
    );
}

#[tokio::test]
async fn a_ceremony_is_answered_once_and_not_after_it_expired() {
    let t = testing::context(&settings()).await;
    let ctx = &t.ctx;
    let account = asha(ctx).await;
    let mut authenticator = SoftPasskey::new(true);
    register(ctx, &mut authenticator, &account, origin())
        .await
        .unwrap();
    let ids = credential_ids(ctx, account.id).await;
    let handle = handle_of(ctx, &account);

    let answer = assertion(
        ctx,
        &mut authenticator,
        SignInFor::Anyone,
        &ids,
        handle,
        origin(),
    )
    .await;
    let once = finish_sign_in(ctx, &answer, &browser(), &testing::nobody())
        .await
        .unwrap();
    assert!(matches!(once, PasskeyOutcome::SignedIn { .. }));
    let again = finish_sign_in(ctx, &answer, &browser(), &testing::nobody())
        .await
        .unwrap();
    assert!(
        matches!(again, PasskeyOutcome::Failed(Failure::NoCeremony)),
        "{again:?}"
    );

    let late = assertion(
        ctx,
        &mut authenticator,
        SignInFor::Anyone,
        &ids,
        handle,
        origin(),
    )
    .await;
    t.clock
        .advance(Duration::from_std(STATE_TTL).unwrap() + Duration::seconds(1));
    let expired = finish_sign_in(ctx, &late, &browser(), &testing::nobody())
        .await
        .unwrap();
    assert!(
        matches!(expired, PasskeyOutcome::Failed(Failure::NoCeremony)),
        "{expired:?}"
    );

    // A sign-in page's ceremony does not confirm a known account, nor the reverse.
    let answer = assertion(
        ctx,
        &mut authenticator,
        SignInFor::Anyone,
        &ids,
        handle,
        origin(),
    )
    .await;
    let crossed = finish_for_account(ctx, account.id, &answer, &browser(), &testing::nobody())
        .await
        .unwrap();
    assert!(matches!(
        crossed,
        PasskeyOutcome::Failed(Failure::NoCeremony)
    ));
}

#[tokio::test]
async fn a_known_account_is_confirmed_only_by_its_own_passkey() {
    let t = testing::context(&settings()).await;
    let ctx = &t.ctx;
    let account = asha(ctx).await;
    let mut authenticator = SoftPasskey::new(true);
    register(ctx, &mut authenticator, &account, origin())
        .await
        .unwrap();
    let AccountStart::Options(options) =
        start_for_account(ctx, account.id, &browser(), &testing::nobody())
            .await
            .unwrap()
    else {
        panic!("the account has a passkey");
    };
    assert_eq!(options.public_key.allow_credentials.len(), 1);
    let response = authenticator.do_authentication(origin(), options).unwrap();
    let outcome = finish_for_account(ctx, account.id, &response, &browser(), &testing::nobody())
        .await
        .unwrap();
    assert!(matches!(outcome, PasskeyOutcome::SignedIn { amr, .. } if amr == AMR_DEVICE_BOUND));

    // Another account: no passkey to offer.
    let other = create_account(
        ctx,
        ContactIdentifier::parse("ravi@example.com", Region::default()).unwrap(),
        DisplayName::parse("Ravi").unwrap(),
        Password::parse("correct horse".to_owned()).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(matches!(
        start_for_account(ctx, other.id, &browser(), &testing::nobody())
            .await
            .unwrap(),
        AccountStart::NoPasskey
    ));
}

#[tokio::test]
async fn a_disabled_or_locked_account_is_refused_after_the_passkey_proved_who_asks() {
    let t = testing::context(&settings()).await;
    let ctx = &t.ctx;
    let account = asha(ctx).await;
    let mut authenticator = SoftPasskey::new(true);
    register(ctx, &mut authenticator, &account, origin())
        .await
        .unwrap();
    let ids = credential_ids(ctx, account.id).await;
    let handle = handle_of(ctx, &account);
    for (status, failure) in [
        (AccountStatus::Disabled, Failure::Disabled),
        (AccountStatus::Locked, Failure::Locked),
    ] {
        let (id, now) = (account.id, ctx.clock.now());
        ctx.db
            .run(move |conn| account::set_status(conn, id, status, now))
            .await
            .unwrap();
        let outcome = sign_in(
            ctx,
            &mut authenticator,
            SignInFor::Anyone,
            &ids,
            handle,
            origin(),
        )
        .await;
        assert!(
            matches!(outcome, PasskeyOutcome::Failed(f) if f == failure),
            "{status:?}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn a_discoverable_answer_must_carry_its_accounts_user_handle() {
    let t = testing::context(&settings()).await;
    let ctx = &t.ctx;
    let account = asha(ctx).await;
    let mut authenticator = SoftPasskey::new(true);
    register(ctx, &mut authenticator, &account, origin())
        .await
        .unwrap();
    let ids = credential_ids(ctx, account.id).await;
    let someone_else = Some(user_handle(
        &ctx.keys.passkey_user_handle,
        AccountId::from_stored(123_456_789),
    ));
    for handle in [None, someone_else] {
        let outcome = sign_in(
            ctx,
            &mut authenticator,
            SignInFor::Anyone,
            &ids,
            handle,
            origin(),
        )
        .await;
        assert!(
            matches!(outcome, PasskeyOutcome::Failed(Failure::UnknownCredential)),
            "{outcome:?}"
        );
    }
}

#[tokio::test]
async fn an_identifier_without_a_passkey_gets_decoys_of_the_same_shape_every_time() {
    let t = testing::context(&settings()).await;
    let ctx = &t.ctx;
    let without = asha(ctx).await; // an account, but no passkey
    let mut shapes = Vec::new();
    for typed in [
        "98123 45678",
        "nobody@example.com",
        "91234 56789",
        "someone@example.org",
    ] {
        let who = LoginIdentifier::parse(typed, Region::default()).unwrap();
        let first = start_sign_in(
            ctx,
            SignInFor::Identifier(who.clone()),
            &browser(),
            &testing::nobody(),
        )
        .await
        .unwrap()
        .unwrap();
        let again = start_sign_in(
            ctx,
            SignInFor::Identifier(who),
            &browser(),
            &testing::nobody(),
        )
        .await
        .unwrap()
        .unwrap();
        let ids = |o: &RequestChallengeResponse| -> Vec<Vec<u8>> {
            o.public_key
                .allow_credentials
                .iter()
                .map(|c| c.id.to_vec())
                .collect()
        };
        assert_eq!(
            ids(&first),
            ids(&again),
            "{typed}: the same decoys every time"
        );
        assert_ne!(first.public_key.challenge, again.public_key.challenge);
        let json = serde_json::to_value(&first).unwrap();
        let mut keys: Vec<String> = json["publicKey"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        shapes.push(keys);
        assert!(json.get("mediation").is_none());
    }
    assert!(shapes.windows(2).all(|w| w[0] == w[1]), "{shapes:?}");

    // With a passkey, the real list has the same fields.
    let mut authenticator = SoftPasskey::new(true);
    register(ctx, &mut authenticator, &without, origin())
        .await
        .unwrap();
    let who = LoginIdentifier::parse("98123 45678", Region::default()).unwrap();
    let real = start_sign_in(
        ctx,
        SignInFor::Identifier(who),
        &browser(),
        &testing::nobody(),
    )
    .await
    .unwrap()
    .unwrap();
    let json = serde_json::to_value(&real).unwrap();
    let mut keys: Vec<String> = json["publicKey"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(keys, shapes[0]);
    assert!(
        json["publicKey"]["allowCredentials"][0]
            .get("transports")
            .is_none()
    );

    // A decoy ceremony never succeeds, even with a real credential of another account.
    let nobody = LoginIdentifier::parse("nobody@example.com", Region::default()).unwrap();
    let ids = credential_ids(ctx, without.id).await;
    let outcome = sign_in(
        ctx,
        &mut authenticator,
        SignInFor::Identifier(nobody),
        &ids,
        handle_of(ctx, &without),
        origin(),
    )
    .await;
    assert!(
        matches!(outcome, PasskeyOutcome::Failed(Failure::UnknownCredential)),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn registration_is_capped_renamed_and_removed() {
    let t = testing::context(&settings()).await;
    let ctx = &t.ctx;
    let account = asha(ctx).await;
    let mut authenticator = SoftPasskey::new(true);
    let added = register(ctx, &mut authenticator, &account, origin())
        .await
        .unwrap();
    // The options exclude it, ask for a discoverable credential and user verification, and
    // name the account by its masked number and opaque handle.
    let options = start_registration(
        ctx,
        &account,
        PasskeyName::parse("Laptop").unwrap(),
        &browser(),
    )
    .await
    .unwrap()
    .unwrap();
    let json = serde_json::to_value(&options).unwrap();
    let public_key = &json["publicKey"];
    assert_eq!(
        public_key["excludeCredentials"].as_array().unwrap().len(),
        1
    );
    assert_eq!(
        public_key["authenticatorSelection"]["residentKey"],
        "required"
    );
    assert_eq!(
        public_key["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(public_key["rp"]["id"], "id.example.com");
    assert_eq!(public_key["user"]["name"], "+91 ******5678");
    assert!(!json.to_string().contains("9812345678"));

    // Nothing waits for a browser that started nothing.
    let response = authenticator
        .do_registration(origin(), as_soft_passkey_can(options))
        .unwrap();
    let stranger = BrowserTag::new("another browser");
    assert_eq!(
        finish_registration(ctx, account.id, &response, &stranger, &testing::nobody())
            .await
            .unwrap(),
        Err(RegistrationRefused::NoCeremony)
    );

    let laptop = PasskeyName::parse("Laptop").unwrap();
    assert!(
        rename(
            ctx,
            account.id,
            added.id.clone(),
            laptop,
            &testing::nobody()
        )
        .await
        .unwrap()
    );
    assert_eq!(
        list(ctx, account.id).await.unwrap()[0].name.as_str(),
        "Laptop"
    );
    assert!(
        remove(ctx, account.id, added.id.clone(), &testing::nobody())
            .await
            .unwrap()
    );
    assert!(
        !remove(ctx, account.id, added.id, &testing::nobody())
            .await
            .unwrap()
    );
    assert!(list(ctx, account.id).await.unwrap().is_empty());

    // The cap: the twenty-first is refused before any ceremony.
    for _ in 0..MAX_PER_ACCOUNT {
        let mut another = SoftPasskey::new(true);
        register(ctx, &mut another, &account, origin())
            .await
            .unwrap();
    }
    assert_eq!(
        start_registration(
            ctx,
            &account,
            PasskeyName::parse("One more").unwrap(),
            &browser()
        )
        .await
        .unwrap()
        .err(),
        Some(RegistrationRefused::TooMany)
    );
}

#[test]
fn the_relying_party_is_the_issuer_and_needs_a_domain() {
    assert!(
        RelyingParty::from_issuer(&Url::parse("https://id.example.com/oneid").unwrap()).is_ok()
    );
    assert!(RelyingParty::from_issuer(&Url::parse("http://localhost:8080").unwrap()).is_ok());
    assert!(matches!(
        RelyingParty::from_issuer(&Url::parse("http://127.0.0.1:8080").unwrap()),
        Err(Unavailable::NotADomain)
    ));
}

#[test]
fn the_user_handle_is_stable_opaque_and_per_account() {
    let key = [7u8; 32];
    let a = AccountId::from_stored(123_456_789);
    let b = AccountId::from_stored(987_654_321);
    assert_eq!(user_handle(&key, a), user_handle(&key, a));
    assert_ne!(user_handle(&key, a), user_handle(&key, b));
    assert_ne!(user_handle(&key, a), user_handle(&[8u8; 32], a));
    assert!(!user_handle(&key, a).to_string().contains("123456789"));
}
