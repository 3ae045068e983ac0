//! Pages render for people who are not signed in; health and stylesheet are served.

use oneid_apps::config::AppKind;

use crate::helpers::spawn_app;

#[tokio::test]
async fn every_app_shows_its_name_and_a_sign_in_button() {
    for (kind, name) in [
        (AppKind::Cloud, "Cloud"),
        (AppKind::Talk, "Talk"),
        (AppKind::Forum, "Forum"),
        (AppKind::Market, "Market"),
        (AppKind::Thirdparty, "Photo Printer (third-party)"),
    ] {
        let app = spawn_app(kind).await;
        let home = app.get("/").await;
        assert_eq!(home.status, 200);
        assert!(home.body.contains("Sign in with OneID"), "{name}");
        assert!(home.body.contains(name), "{name}");
        assert!(home.body.contains(&format!("app-{}", kind.slug())));
        assert!(!home.body.contains("Sign out"));
        assert!(!home.body.contains("style="), "no inline styles");
        assert!(!home.body.contains("<script"), "no scripts");
    }
}

#[tokio::test]
async fn market_lists_four_apps_to_everyone() {
    let app = spawn_app(AppKind::Market).await;
    let home = app.get("/").await;
    assert_eq!(home.body.matches(r#"class="item listing""#).count(), 4);
    assert!(
        !home.body.contains(">Install<"),
        "installing needs a sign-in"
    );
}

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app(AppKind::Cloud).await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body, "ok");
}

#[tokio::test]
async fn the_stylesheet_is_served_and_pages_are_locked_down() {
    let app = spawn_app(AppKind::Talk).await;
    let css = app.get("/static/app.css").await;
    assert_eq!(css.status, 200);
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(css.body.contains(".app-talk"));
    let home = app.get("/").await;
    let csp = home.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"));
    assert!(csp.contains(&format!("form-action 'self' {}", app.oneid.issuer)));
    assert_eq!(home.headers["x-frame-options"], "DENY");
}

#[tokio::test]
async fn feature_forms_need_a_session() {
    let app = spawn_app(AppKind::Cloud).await;
    let page = app
        .post_form("/notes", &[("csrf", "x"), ("text", "hi")])
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), "/");
    let other_apps_route = app
        .post_form("/messages", &[("csrf", "x"), ("text", "hi")])
        .await;
    assert_eq!(other_apps_route.status, 404);
}
