//! The pure steps of the authorization flow, one rule at a time.

use chrono::{Duration, TimeZone as _, Utc};
use proptest::prelude::*;

use super::*;
use crate::domain::ScopeToken;

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn prompts(value: &str) -> Prompts {
    Prompts::parse(Some(value)).unwrap()
}

fn scopes(value: &str) -> Scopes {
    Scopes::parse_strict(value).unwrap()
}

// OIDC Core §3.1.2.1: prompt.

#[test]
fn prompt_none_stands_alone_and_unknown_values_are_refused() {
    assert_eq!(Prompts::parse(None).unwrap(), Prompts::default());
    let p = prompts("login  consent");
    assert!(p.login && p.consent && !p.none && !p.select_account);
    assert!(prompts("none").none);
    for bad in [
        "none login",
        "consent none",
        "none select_account",
        "loggin",
        "NONE",
    ] {
        let error = Prompts::parse(Some(bad)).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest, "{bad}");
    }
}

// Response type and mode.

#[test]
fn only_the_code_flow_and_query_or_form_post_are_accepted() {
    assert!(check_response_type(Some("code")).is_ok());
    assert_eq!(
        check_response_type(None).unwrap_err().code,
        ErrorCode::InvalidRequest
    );
    for other in ["token", "id_token", "code id_token", "CODE"] {
        assert_eq!(
            check_response_type(Some(other)).unwrap_err().code,
            ErrorCode::UnsupportedResponseType,
            "{other}"
        );
    }
    assert_eq!(check_response_mode(None).unwrap(), ResponseMode::Query);
    assert_eq!(
        check_response_mode(Some("query")).unwrap(),
        ResponseMode::Query
    );
    assert_eq!(
        check_response_mode(Some("form_post")).unwrap(),
        ResponseMode::FormPost
    );
    assert!(check_response_mode(Some("fragment")).is_err());
}

// RFC 7636 §4.3: PKCE at the authorization endpoint.

#[test]
fn pkce_is_s256_only_and_required_when_the_client_must_use_it() {
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let challenge = check_pkce(Some(CHALLENGE), Some("S256"), true).unwrap();
    assert_eq!(challenge.unwrap().as_str(), CHALLENGE);
    assert_eq!(check_pkce(None, None, false).unwrap(), None);
    for (challenge, method, required) in [
        (Some(CHALLENGE), Some("plain"), false),
        // A missing method defaults to plain (RFC 7636 §4.3), refused the same way.
        (Some(CHALLENGE), None, false),
        (Some("too-short"), Some("S256"), false),
        (None, None, true),
    ] {
        let error = check_pkce(challenge, method, required).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert!(error.description.contains("PKCE") || error.description.contains("code_challenge"));
    }
}

#[test]
fn request_objects_are_refused_with_their_own_codes() {
    assert!(check_request_objects(None, None).is_ok());
    assert_eq!(
        check_request_objects(Some("x"), None).unwrap_err().code,
        ErrorCode::RequestNotSupported
    );
    assert_eq!(
        check_request_objects(None, Some("x")).unwrap_err().code,
        ErrorCode::RequestUriNotSupported
    );
}

// OIDC Core §3.1.2.1: max_age, prompt=login; session freshness.

#[test]
fn a_sign_in_is_fresh_unless_too_old_or_a_new_one_is_asked_for() {
    let started = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    let now = started + Duration::seconds(5);
    let before = started - Duration::seconds(120);
    let fresh = |auth_time, p: &str, max_age: Option<i64>| {
        check_sign_in_fresh(
            auth_time,
            started,
            now,
            prompts(p),
            max_age.map(Duration::seconds),
        )
    };
    assert!(fresh(before, "", None));
    assert!(fresh(before, "consent", Some(600)));
    assert!(!fresh(before, "", Some(60)), "older than max_age");
    assert!(fresh(before, "", Some(125)), "within max_age");
    assert!(fresh(before, "", Some(i64::MAX / 1000)));
    assert!(check_sign_in_fresh(
        before,
        started,
        now,
        Prompts::default(),
        Some(Duration::MAX)
    ));
    assert!(!fresh(before, "login", None));
    assert!(!fresh(before, "select_account", None));
    // A sign-in during this interaction satisfies every one of them.
    for p in ["login", "select_account", ""] {
        assert!(fresh(started, p, Some(0)), "{p}");
    }
}

#[test]
fn a_hint_naming_someone_else_matters_only_for_an_earlier_sign_in() {
    let started = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    let before = started - Duration::seconds(1);
    assert!(check_hint_names_another("a", "b", before, started));
    assert!(!check_hint_names_another("a", "a", before, started));
    assert!(!check_hint_names_another("a", "b", started, started));
}

#[test]
fn max_age_is_checked_arithmetic_at_the_edges_of_i64() {
    assert_eq!(parse_max_age(None).unwrap(), None);
    assert_eq!(
        parse_max_age(Some("60")).unwrap(),
        Some(Duration::seconds(60))
    );
    // Past what a duration holds (the panic of issue 10): no limit, not a crash.
    for huge in [
        "9223372036854776",
        "9223372036854775807",
        "99999999999999999999",
    ] {
        assert_eq!(
            parse_max_age(Some(huge)).unwrap(),
            Some(Duration::MAX),
            "{huge}"
        );
    }
    for bad in [
        "",
        "-1",
        "+1",
        " 1",
        "1.5",
        "1e3",
        "٣",
        "-9223372036854775808",
    ] {
        assert!(parse_max_age(Some(bad)).is_err(), "{bad:?}");
    }
}

// Consent (OIDC Core §3.1.2.4).

#[test]
fn consent_first_party_then_remembered_then_ask() {
    let asked = scopes("openid profile");
    let broader = scopes("openid profile email");
    let narrower = scopes("openid");
    let none = Prompts::default();
    // An administrator's consent for everyone, whatever the person gave before.
    assert_eq!(
        decide_consent(None, true, none, None, &asked),
        Consent::Given
    );
    assert_eq!(
        decide_consent(None, true, prompts("consent"), None, &asked),
        Consent::Given
    );
    // Remembered consent must cover every scope.
    assert_eq!(
        decide_consent(None, false, none, Some(&broader), &asked),
        Consent::Given
    );
    assert_eq!(
        decide_consent(None, false, none, Some(&narrower), &asked),
        Consent::Ask
    );
    assert_eq!(
        decide_consent(None, false, none, None, &asked),
        Consent::Ask
    );
    // prompt=consent asks again even when covered.
    assert_eq!(
        decide_consent(None, false, prompts("consent"), Some(&broader), &asked),
        Consent::Ask
    );
    // prompt=none cannot ask: consent_required, unless consent already stands.
    assert_eq!(
        decide_consent(None, false, prompts("none"), None, &asked),
        Consent::Required
    );
    assert_eq!(
        decide_consent(None, false, prompts("none"), Some(&broader), &asked),
        Consent::Given
    );
    // A decision just made on the consent page counts first.
    assert_eq!(
        decide_consent(Some(true), false, none, None, &asked),
        Consent::GivenNow
    );
    assert_eq!(
        decide_consent(Some(false), true, none, Some(&broader), &asked),
        Consent::Refused
    );
}

proptest! {
    /// Skipping the look-up of remembered consent never changes the decision.
    #[test]
    fn consent_is_looked_up_whenever_it_could_matter(
        decided_now in prop::option::of(any::<bool>()),
        first_party in any::<bool>(),
        prompt in prop::sample::select(vec!["", "consent", "none", "login"]),
        remembered in prop::option::of(prop::sample::select(vec!["openid", "openid profile email"])),
    ) {
        let (asked, prompts) = (scopes("openid profile"), Prompts::parse(Some(prompt).filter(|p| !p.is_empty())).unwrap());
        let remembered = remembered.map(scopes);
        if !consent_needs_memory(decided_now, first_party) {
            prop_assert_eq!(
                decide_consent(decided_now, first_party, prompts, remembered.as_ref(), &asked),
                decide_consent(decided_now, first_party, prompts, None, &asked)
            );
        }
    }
}

// RFC 6749 §3.3: scope negotiation.

#[test]
fn scopes_are_narrowed_to_what_is_known_and_registered() {
    let registered = scopes("openid profile email");
    let granted = |requested| negotiate_scopes(requested, &registered);
    assert_eq!(
        granted(Some("openid profile")).unwrap(),
        scopes("openid profile")
    );
    // Unknown tokens and scopes the client is not registered for are dropped.
    assert_eq!(
        granted(Some("openid phone admin")).unwrap(),
        scopes("openid")
    );
    // Plain OAuth 2.0: openid is not required here (no ID token follows).
    assert_eq!(granted(Some("email")).unwrap(), scopes("email"));
    // Nothing left, nothing asked, or a character RFC 6749 §3.3 does not allow.
    for refused in [
        None,
        Some(""),
        Some("phone offline_access"),
        Some("unknown"),
        Some("openid \"profile\""),
        Some("openid pro\\file"),
        Some("openid\u{e9}"),
    ] {
        assert_eq!(
            granted(refused).unwrap_err().code,
            ErrorCode::InvalidScope,
            "{refused:?}"
        );
    }
    assert!(
        !negotiate_scopes(Some("openid offline_access"), &registered)
            .unwrap()
            .contains(ScopeToken::OfflineAccess)
    );
}

#[test]
fn an_error_for_the_client_carries_state_and_iss() {
    let issuer = crate::domain::Issuer::from_url(&url::Url::parse("https://id.example").unwrap());
    let response = error_response(
        &issuer,
        "https://rp.example/cb",
        Some("xyz"),
        ResponseMode::Query,
        OAuthError::new(ErrorCode::InvalidScope, "no"),
    );
    assert_eq!(
        response.location(),
        "https://rp.example/cb?error=invalid_scope&error_description=no&state=xyz&iss=https%3A%2F%2Fid.example"
    );
}

#[test]
fn request_size_caps_hold_at_their_edges() {
    let state = |n| pairs(&[("state", &"s".repeat(n))]);
    assert!(check_size(&state(2048)).is_ok());
    assert!(check_size(&state(2049)).is_err());
    let many: Vec<(String, String)> = (0..=MAX_PARAMETERS)
        .map(|i| (format!("p{i}"), "v".into()))
        .collect();
    assert!(check_size(&many[..MAX_PARAMETERS]).is_ok());
    assert!(check_size(&many).is_err());
    let wide: Vec<(String, String)> = (0..9)
        .map(|i| (format!("p{i}"), "v".repeat(1000)))
        .collect();
    assert!(check_size(&wide).is_err(), "over the total");
    assert!(check_size(&pairs(&[("nonce", "a\u{7f}")])).is_err());
    assert!(check_size(&pairs(&[(&"k".repeat(65), "v")])).is_err());
}

proptest! {
    #[test]
    fn prompts_parse_or_refuse_without_panicking(value in any::<String>()) {
        if let Ok(p) = Prompts::parse(Some(&value)) {
            prop_assert!(!(p.none && (p.login || p.consent || p.select_account)));
        }
    }

    #[test]
    fn max_age_never_panics_and_accepts_exactly_the_digit_strings(value in prop_oneof![any::<String>(), "[0-9]{1,30}", "-?[0-9]{1,20}"]) {
        let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
        prop_assert_eq!(parse_max_age(Some(&value)).is_ok(), digits);
    }

    #[test]
    fn the_size_check_accepts_only_what_fits_every_cap(
        pairs in prop::collection::vec(("[a-z_]{0,70}", ".{0,3000}"), 0..40)
    ) {
        let fits = pairs.len() <= MAX_PARAMETERS
            && pairs.iter().all(|(k, v)| {
                k.len() <= MAX_NAME_BYTES
                    && v.len() <= max_parameter_bytes(k)
                    && !k.chars().chain(v.chars()).any(char::is_control)
            })
            && pairs.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() <= MAX_REQUEST_BYTES;
        prop_assert_eq!(check_size(&pairs).is_ok(), fits);
    }

    #[test]
    fn response_mode_and_type_parse_or_refuse(mode in any::<String>(), kind in any::<String>()) {
        let _ = check_response_mode(Some(&mode));
        prop_assert_eq!(check_response_type(Some(&kind)).is_ok(), kind == "code");
    }

    #[test]
    fn negotiation_grants_only_registered_scopes_or_refuses(requested in any::<String>()) {
        let registered = scopes("openid email");
        if let Ok(granted) = negotiate_scopes(Some(&requested), &registered) {
            prop_assert!(!granted.is_empty() && granted.is_subset(&registered));
        }
    }
}

#[test]
fn the_apps_minimum_is_a_rule_and_acr_values_a_request() {
    use crate::domain::Acr::{OneFactor as One, PhishingResistant as Phr, TwoFactor as Two};
    use AcrDecision::{Enough, LoginRequired, PolicyUnreachable, Unmet};
    let up = |need| AcrDecision::StepUp { need };
    let decide = |has, asked, policy, none, step_up| decide_acr(has, asked, policy, none, step_up);
    // Nothing asked, no minimum.
    assert_eq!(decide(One, None, None, false, StepUp::Ask), Enough);
    // Met by a stronger sign-in.
    assert_eq!(
        decide(Phr, Some(Two), Some(Two), false, StepUp::Ask),
        Enough
    );
    // The minimum: step up; without a method, the page; given up, the error; prompt=none.
    assert_eq!(decide(One, None, Some(Two), false, StepUp::Ask), up(Two));
    assert_eq!(
        decide(One, None, Some(Two), false, StepUp::Unavailable),
        PolicyUnreachable { need: Two }
    );
    assert_eq!(decide(One, None, Some(Two), false, StepUp::GaveUp), Unmet);
    assert_eq!(
        decide(One, None, Some(Two), true, StepUp::Ask),
        LoginRequired
    );
    // A request: step up when possible, otherwise answer with what the sign-in has.
    assert_eq!(decide(One, Some(Two), None, false, StepUp::Ask), up(Two));
    assert_eq!(
        decide(One, Some(Two), None, false, StepUp::Unavailable),
        Enough
    );
    assert_eq!(decide(One, Some(Two), None, true, StepUp::Ask), Enough);
    // The minimum first: a person who can reach it is asked for it, not for the stronger
    // value the app only asked for; once it is met, the request gets its turn.
    assert_eq!(
        decide(One, Some(Phr), Some(Two), false, StepUp::Ask),
        up(Two)
    );
    assert_eq!(
        decide(Two, Some(Phr), Some(Two), false, StepUp::Ask),
        up(Phr)
    );
    assert_eq!(
        decide(Two, Some(Phr), Some(Two), false, StepUp::Unavailable),
        Enough
    );
}
