//! Identifiers and secrets at rest: codes kept as MACs under a server key, passwords
//! normalised and refused when common, email domains in one canonical form.

use base64::{Engine as _, engine::general_purpose::STANDARD_NO_PAD};
use sha2::{Digest as _, Sha256};

use super::helpers::TestApp;

#[tokio::test]
async fn a_dump_of_the_store_does_not_reveal_a_live_code() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    browser
        .request_signup_code("9812345678")
        .await
        .assert_redirect("/signup/verify");
    let code = app.last_code("+919812345678");
    let pending: serde_json::Value = app
        .state
        .store
        .get_json("code:signup:+919812345678")
        .await
        .unwrap()
        .expect("the pending code is stored");
    // Exactly these three fields, none holding the code. (Not a search of the whole dump: the
    // expiry (its year and nine digits of nanoseconds) holds a given 4-digit code about once in
    // 1,400 runs.)
    let fields = pending.as_object().expect("a JSON object");
    let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["digest", "expires_at", "id"]);
    for name in ["id", "digest"] {
        let value = fields[name].as_str().expect("a string");
        assert!(!value.contains(&code), "{name} holds the code");
    }
    fields["expires_at"]
        .as_str()
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
        .expect("the expiry is an instant");
    let id = pending["id"].as_str().unwrap();
    let stored = STANDARD_NO_PAD
        .decode(pending["digest"].as_str().unwrap())
        .unwrap();
    // Whoever dumps the store tries every 4-digit code against what is stored next to it.
    let found = (0..10_000).map(|n| format!("{n:04}")).find(|guess| {
        let mut hasher = Sha256::new();
        hasher.update(id.as_bytes());
        hasher.update([0]);
        hasher.update(guess.as_bytes());
        hasher.finalize().as_slice() == stored.as_slice()
    });
    assert_eq!(found, None, "the stored value must not give the code away");
    // The person, who has the code, still gets in.
    browser
        .enter_signup_code(&code, "long enough", "Asha")
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn common_passwords_are_refused_at_sign_up_and_reset_in_english_and_hindi() {
    let app = TestApp::spawn().await;
    for (lang, message) in [
        (None, "one of the most commonly used"),
        (Some("hi"), "सबसे आम पासवर्डों"),
    ] {
        let browser = app.browser_with_language(lang);
        let phone = if lang.is_some() {
            "9812345679"
        } else {
            "9812345678"
        };
        browser
            .request_signup_code(phone)
            .await
            .assert_redirect("/signup/verify");
        let code = app.last_code(&format!("+91{phone}"));
        let refused = browser
            .enter_signup_code(&code, "Password123", "Asha")
            .await;
        assert_eq!(refused.status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.has(message), "{}", refused.body);
        // Full-width letters are the same common password after NFKC.
        let refused = browser
            .enter_signup_code(&code, "ｐａｓｓｗｏｒｄ123", "Asha")
            .await;
        assert!(refused.has(message), "{}", refused.body);
        browser
            .enter_signup_code(&code, "mango chutney at noon", "Asha")
            .await
            .assert_redirect("/account");
    }

    // The reset form refuses it too.
    app.advance(chrono::Duration::seconds(61));
    let browser = app.browser();
    browser
        .submit("/reset", "/reset", &[("identifier", "9812345678")])
        .await
        .assert_redirect("/recover/verify");
    let page = browser.get("/recover/verify").await;
    let code = app.wait_for_code("+919812345678", "reset", 0).await;
    let refused = browser
        .enter_recovery_code(&page, &code, "iloveyou123")
        .await;
    assert_eq!(refused.status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.has("one of the most commonly used"),
        "{}",
        refused.body
    );
}

#[tokio::test]
async fn a_password_typed_with_another_composition_signs_in() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    // Precomposed é at sign-up…
    super::helpers::sign_up_by_phone(&app, &browser, "caf\u{e9} au lait 42").await;
    // …e + combining acute and full-width digits at sign-in, as another keyboard may send it.
    let other = app.browser();
    other
        .sign_in("9812345678", "cafe\u{301} au lait \u{ff14}\u{ff12}")
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn an_internationalised_domain_is_one_address_in_either_spelling() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    browser
        .request_signup_code("Asha@Bücher.Example")
        .await
        .assert_redirect("/signup/verify");
    // Kept (and sent to) in its ASCII form.
    let code = app.last_code("asha@xn--bcher-kva.example");
    browser
        .enter_signup_code(&code, "mango chutney at noon", "Asha")
        .await
        .assert_redirect("/account");
    let other = app.browser();
    other
        .sign_in("asha@xn--bcher-kva.example", "mango chutney at noon")
        .await
        .assert_redirect("/account");
    let third = app.browser();
    third
        .sign_in("ASHA@bücher.example", "mango chutney at noon")
        .await
        .assert_redirect("/account");
}

#[tokio::test]
async fn a_look_alike_mailbox_name_is_refused_with_a_clear_message() {
    let app = TestApp::spawn().await;
    for (lang, message) in [
        (None, "mixes characters from different alphabets"),
        (Some("hi"), "अलग-अलग लिपियों"),
    ] {
        let browser = app.browser_with_language(lang);
        // "asha" with a Cyrillic а, and with a zero-width space.
        for address in ["\u{430}sha@example.com", "as\u{200b}ha@example.com"] {
            let page = browser.request_signup_code(address).await;
            assert_eq!(
                page.status,
                reqwest::StatusCode::UNPROCESSABLE_ENTITY,
                "{address:?}"
            );
            assert!(page.has(message), "{address:?}: {}", page.body);
        }
    }
    assert!(app.outbox().is_empty(), "no code was sent");
}
