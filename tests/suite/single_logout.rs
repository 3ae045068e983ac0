//! Single logout across apps when the browser signs in again: a re-authentication that an app
//! asks for (`prompt=login`) continues the OneID session its other apps know, and another
//! account signing in ends the previous account's session, so a sign-out always reaches every
//! app the browser used (Back-Channel Logout 1.0 §2.1).

use openidconnect::{OAuth2TokenResponse, TokenResponse};

use super::{
    backchannel::{told_of_logouts, wait_for},
    helpers::{Browser, RelyingParty, TestApp, callback, sign_up, signed_in_tokens},
    oidc::jwt_part,
};

const PHONE: &str = "9812345678";
const PASSWORD: &str = "correct horse";

/// The app asks for a fresh sign-in (`prompt=login`); the person types `identifier`'s password
/// at OneID and the app gets its tokens.
async fn sign_in_again_for(
    rp: &RelyingParty,
    browser: &Browser,
    identifier: &str,
    password: &str,
) -> openidconnect::core::CoreTokenResponse {
    let (url, _, _, verifier) = rp.authorize_url(&["profile"]);
    browser
        .get_url(&format!("{url}&prompt=login"))
        .await
        .assert_redirect("/continue");
    let signed_in = browser.sign_in(identifier, password).await;
    signed_in.assert_redirect("/authorize/resume");
    let page = browser.follow(signed_in).await;
    rp.redeem(&callback(&page)["code"], verifier).await
}

fn id_token_of(tokens: &openidconnect::core::CoreTokenResponse) -> String {
    tokens.id_token().unwrap().to_string()
}

#[tokio::test]
async fn signing_out_after_a_prompt_login_at_another_app_tells_the_first_app_too() {
    let app = TestApp::spawn().await;
    let (cloud_rp, cloud_tokens) = told_of_logouts(&app, "Cloud").await;
    let (talk_rp, talk_tokens) = told_of_logouts(&app, "Talk").await;

    // Signed up (and so signed in) at Cloud; later Talk asks for the password again.
    let browser = app.browser();
    let at_cloud = id_token_of(&signed_in_tokens(&app, &cloud_rp, &browser, &["profile"]).await);
    app.advance(chrono::Duration::seconds(30));
    let at_talk = id_token_of(&sign_in_again_for(&talk_rp, &browser, PHONE, PASSWORD).await);
    let (cloud_claims, talk_claims) = (jwt_part(&at_cloud, 1), jwt_part(&at_talk, 1));
    assert_eq!(
        talk_claims["sid"], cloud_claims["sid"],
        "a re-authentication continues the session both apps know"
    );
    assert_eq!(
        talk_claims["auth_time"].as_i64().unwrap() - cloud_claims["auth_time"].as_i64().unwrap(),
        30,
        "auth_time is the new sign-in's"
    );
    assert!(cloud_tokens.lock().unwrap().is_empty(), "nothing ended yet");

    // Signing out at Talk (RP-initiated) reaches Cloud, with the sid of Cloud's ID token.
    let done = browser
        .get(&format!("/end-session?id_token_hint={at_talk}"))
        .await;
    assert!(done.has("You are signed out"), "{}", done.body);
    let to_cloud = wait_for(&cloud_tokens, 1).await;
    assert_eq!(to_cloud.len(), 1, "Cloud hears of the sign-out at Talk");
    assert_eq!(jwt_part(&to_cloud[0], 1)["sid"], cloud_claims["sid"]);
    assert_eq!(jwt_part(&to_cloud[0], 1)["sub"], cloud_claims["sub"]);
    let to_talk = wait_for(&talk_tokens, 1).await;
    assert_eq!(to_talk.len(), 1);
    assert_eq!(jwt_part(&to_talk[0], 1)["sid"], talk_claims["sid"]);
    assert_eq!(browser.account_id().await, None);
}

#[tokio::test]
async fn another_account_signing_in_ends_the_previous_accounts_session_and_tells_its_apps() {
    let app = TestApp::spawn().await;
    let (cloud_rp, cloud_tokens) = told_of_logouts(&app, "Cloud").await;
    let (talk_rp, talk_tokens) = told_of_logouts(&app, "Talk").await;
    // Ravi has an account of his own.
    let ravi = app.browser();
    sign_up(&app, &ravi, "9812345679", "+919812345679", "ravi's secret").await;

    // Asha signs in at Cloud; then, in the same browser, Talk asks for a sign-in and Ravi signs in.
    let browser = app.browser();
    let asha_cloud = signed_in_tokens(&app, &cloud_rp, &browser, &["profile"]).await;
    let asha_claims = jwt_part(&id_token_of(&asha_cloud), 1);
    // (A sign-in of this very second would already satisfy prompt=login.)
    app.advance(chrono::Duration::seconds(30));
    let ravi_talk = sign_in_again_for(&talk_rp, &browser, "9812345679", "ravi's secret").await;
    let ravi_claims = jwt_part(&id_token_of(&ravi_talk), 1);
    assert_ne!(ravi_claims["sub"], asha_claims["sub"]);
    assert_ne!(
        ravi_claims["sid"], asha_claims["sid"],
        "a session of Ravi's own"
    );

    // Asha's session ended as a sign-out would end it: Cloud is told, her grant is revoked,
    // her row is ended.
    let to_cloud = wait_for(&cloud_tokens, 1).await;
    assert_eq!(to_cloud.len(), 1, "Cloud hears that Asha's session ended");
    assert_eq!(jwt_part(&to_cloud[0], 1)["sid"], asha_claims["sid"]);
    assert_eq!(jwt_part(&to_cloud[0], 1)["sub"], asha_claims["sub"]);
    assert!(
        cloud_rp.userinfo(asha_cloud.access_token()).await.is_err(),
        "the grant of Asha's session is revoked"
    );
    let sid = asha_claims["sid"].as_str().unwrap().to_owned();
    let ended = app
        .state
        .db
        .run(move |conn| oneid::db::models::session::has_ended(conn, &sid))
        .await
        .unwrap();
    assert!(ended, "Asha's session is recorded as ended");
    assert!(
        talk_tokens.lock().unwrap().is_empty(),
        "Talk never saw Asha"
    );

    // Ravi's sign-out at Talk reaches Talk, and Cloud is not told a second time.
    let done = browser
        .get(&format!(
            "/end-session?id_token_hint={}",
            id_token_of(&ravi_talk)
        ))
        .await;
    assert!(done.has("You are signed out"), "{}", done.body);
    let to_talk = wait_for(&talk_tokens, 1).await;
    assert_eq!(to_talk.len(), 1);
    assert_eq!(jwt_part(&to_talk[0], 1)["sid"], ravi_claims["sid"]);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(cloud_tokens.lock().unwrap().len(), 1);
}
