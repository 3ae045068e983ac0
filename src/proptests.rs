//! Property tests over everything that parses input from the network: request parameters,
//! identifiers people type, client and redirect identifiers, and JWTs presented back to OneID.
//! The first property of each is that no input makes it panic; the others say what a success
//! means (it round-trips, it keeps what was sent).

use std::{collections::HashMap, sync::OnceLock, time::Duration as StdDuration};

use proptest::prelude::*;

use crate::{
    domain::{
        AccountId, ClientId, ContactIdentifier, Email, LoginIdentifier, PhoneNumber, RedirectUri,
        Region, Scopes,
    },
    oauth::params::Params,
    oidc::{jwt, keys::KeyRing},
};

/// Strings that look like what arrives: any unicode, digits and signs, URL and email shapes.
fn input() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9+ ()-]{0,24}",
        "[a-zA-Z0-9._%+-]{0,20}@[a-zA-Z0-9.-]{0,20}",
        "(https?|ftp|javascript)://[a-zA-Z0-9.:@\\[\\]-]{0,30}(/[a-zA-Z0-9%?#=&.]{0,20})?",
        "\\PC{0,40}",
    ]
}

fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (
            prop_oneof!["[a-z_]{0,12}", Just("state".to_owned()), any::<String>()],
            prop_oneof![Just(String::new()), any::<String>(), "[0-9-]{1,25}"],
        ),
        0..20,
    )
}

proptest! {
    #[test]
    fn params_keep_what_was_sent_once_and_refuse_what_was_sent_twice(pairs in pairs()) {
        let mut seen: HashMap<&str, &str> = HashMap::new();
        let mut twice = false;
        for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
            twice |= seen.insert(k, v).is_some();
        }
        match Params::from_pairs(pairs.clone()) {
            Ok(params) => {
                prop_assert!(!twice);
                for (k, v) in &seen {
                    prop_assert_eq!(params.get(k), Some(*v));
                }
            }
            Err(e) => {
                prop_assert!(twice);
                prop_assert_eq!(e.code, crate::oauth::error::ErrorCode::InvalidRequest);
            }
        }
    }

    #[test]
    fn basic_headers_never_panic(header in input(), body_id in proptest::option::of(input())) {
        let pairs = body_id.map(|id| vec![("client_id".to_owned(), id)]).unwrap_or_default();
        let params = Params::from_pairs(pairs).unwrap();
        let _ = params.clone().with_basic_header(Some(&header));
        let _ = params.with_basic_header(Some(&format!("Basic {header}")));
    }

    #[test]
    fn scopes_parse_and_print_back(input in input()) {
        let lenient = Scopes::parse_lenient(&input);
        prop_assert_eq!(Scopes::parse_lenient(&lenient.to_string()), lenient.clone());
        if let Ok(strict) = Scopes::parse_strict(&input) {
            prop_assert_eq!(strict, lenient);
        }
    }

    #[test]
    fn client_ids_are_short_and_printable(input in input()) {
        match ClientId::parse(&input) {
            Some(id) => {
                prop_assert_eq!(id.as_str(), input.as_str());
                prop_assert!(input.len() <= 128 && input.bytes().all(|b| b.is_ascii_graphic()));
            }
            None => prop_assert!(
                input.is_empty() || input.len() > 128 || !input.bytes().all(|b| b.is_ascii_graphic())
            ),
        }
    }

    #[test]
    fn account_ids_round_trip(input in prop_oneof![input(), "[1-9][0-9 ]{7,12}"]) {
        if let Ok(id) = input.parse::<AccountId>() {
            prop_assert_eq!(id.to_string().parse::<AccountId>().ok(), Some(id));
        }
    }

    #[test]
    fn phone_numbers_round_trip_through_e164(input in input()) {
        if let Ok(phone) = PhoneNumber::parse(&input, Region::default()) {
            let again = PhoneNumber::from_e164(phone.as_e164()).expect("E.164 reads back");
            prop_assert_eq!(again.as_e164(), phone.as_e164());
        }
    }

    #[test]
    fn emails_are_normalised_once_and_for_all(input in input()) {
        if let Ok(email) = Email::parse(&input) {
            let again = Email::parse(email.as_str()).expect("a normalised email reads back");
            prop_assert_eq!(again.as_str(), email.as_str());
        }
    }

    #[test]
    fn login_and_contact_identifiers_never_panic(input in input()) {
        if let Ok(contact) = ContactIdentifier::parse(&input, Region::default()) {
            let again = ContactIdentifier::from_canonical(contact.canonical());
            prop_assert_eq!(again.ok(), Some(contact));
        }
        let _ = LoginIdentifier::parse(&input, Region::default());
    }

    #[test]
    fn redirect_uris_that_parse_read_back(input in input()) {
        if let Ok(uri) = RedirectUri::parse(&input) {
            prop_assert!(RedirectUri::parse(uri.as_str()).is_ok());
        }
    }
}

/// One key ring for every JWT case: generating keys (RSA among them) takes a while.
fn key_ring() -> &'static KeyRing {
    static RING: OnceLock<(tempfile::TempDir, KeyRing)> = OnceLock::new();
    &RING
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let db = crate::db::Db::connect(
                &format!("sqlite://{}/k.db", dir.path().display()),
                2,
                StdDuration::from_secs(5),
                1000,
            )
            .unwrap();
            db.migrate().unwrap();
            let kek = crate::oidc::keys::KeyEncryptionKey::from_bytes([42; 32]);
            let runtime = tokio::runtime::Runtime::new().unwrap();
            let ring = runtime
                .block_on(crate::oidc::keys::ensure_keys(
                    &db,
                    &kek,
                    chrono::Utc::now(),
                ))
                .unwrap();
            (dir, ring)
        })
        .1
}

/// A compact JWS shape: base64url of a header naming a real key and any `alg`, then anything.
fn jws_like() -> impl Strategy<Value = String> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let kids: Vec<String> = key_ring()
        .jwks()
        .keys()
        .iter()
        .filter_map(|k| {
            serde_json::to_value(k).ok()?["kid"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    (
        prop::sample::select(kids),
        prop_oneof![
            Just("RS256".to_owned()),
            Just("ES256".to_owned()),
            Just("EdDSA".to_owned()),
            Just("none".to_owned()),
            any::<String>()
        ],
        proptest::option::of(prop_oneof![Just("at+jwt".to_owned()), any::<String>()]),
        any::<String>(),
        prop::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(kid, alg, typ, payload, signature)| {
            let header = serde_json::json!({ "kid": kid, "alg": alg, "typ": typ });
            format!(
                "{}.{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(payload),
                URL_SAFE_NO_PAD.encode(signature)
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn jwt_verification_never_panics_nor_accepts_a_forgery(
        token in prop_oneof![input(), "[A-Za-z0-9_.-]{0,200}", jws_like()]
    ) {
        let ring = key_ring();
        prop_assert!(jwt::verify::<serde_json::Value>(ring, &token, "at+jwt").is_err());
        prop_assert!(jwt::verify_id_token::<serde_json::Value>(ring, &token).is_err());
    }
}
