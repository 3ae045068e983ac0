//! Security notices to an account's owner: password changed, contact added, changed or
//! removed, account locked or deleted, a sign-in from a new browser. Written in the account's
//! language, sent after answering (so no page waits on a gateway, and a page answers the same
//! whether or not a notice went out), capped per contact per day (`limits.notices_per_day`) so
//! nobody can flood a phone by triggering them. A notice never carries a code or a link that
//! signs in (see [`Notice`]).

use std::time::Duration as StdDuration;

use super::Context;
use crate::{db::models::account::Account, domain::ContactIdentifier, i18n::Lang, notify::Notice};

/// Every contact the account has now.
pub fn contacts_of(account: &Account) -> Vec<ContactIdentifier> {
    account
        .phone
        .clone()
        .map(ContactIdentifier::Phone)
        .into_iter()
        .chain(account.email.clone().map(ContactIdentifier::Email))
        .collect()
}

/// Sends `notice` to every contact of `account`, in its language.
pub fn to_account(
    ctx: &Context,
    account: &Account,
    notice: Notice,
    args: Vec<(&'static str, String)>,
) {
    to_contacts(
        ctx,
        account,
        contacts_of(account),
        account.locale.unwrap_or_default(),
        notice,
        args,
    );
}

/// Sends `notice` to `contacts` (for example the contact just replaced) in `lang`. `account`
/// names the account in logs.
pub fn to_contacts(
    ctx: &Context,
    account: &Account,
    contacts: Vec<ContactIdentifier>,
    lang: Lang,
    notice: Notice,
    mut args: Vec<(&'static str, String)>,
) {
    args.push(("host", ctx.settings.notice_host.clone()));
    let (notifier, store, cap) = (
        ctx.notifier.clone(),
        ctx.store.clone(),
        ctx.settings.limits.notices_per_day,
    );
    let id = account.id;
    tokio::spawn(async move {
        for to in contacts {
            // One fixed 24-hour window per contact, counted before sending: a burst of
            // concurrent notices cannot all slip under the cap.
            let key = format!("notices:{}", to.canonical());
            match store.increment(&key, StdDuration::from_secs(86_400)).await {
                Ok(sent) if sent > i64::from(cap) => {
                    tracing::warn!(account_id = %id, to = %to.masked(), notice = notice.label(), "notice dropped: daily cap reached");
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(account_id = %id, error = %e, "notice cap unavailable; notice not sent");
                    continue;
                }
            }
            if let Err(e) = notifier.send_notice(&to, notice, &args, lang).await {
                tracing::warn!(account_id = %id, notice = notice.label(), error = %e, "notice not delivered");
            }
        }
    });
}

/// A sign-in to `account` from a browser it has not used before (see
/// `session::registry::SignInReport::new_browser`): its owner is told which browser, in their
/// language. Called by the web face right after the sign-in, whichever way it was made.
pub async fn new_browser(
    ctx: &Context,
    account: crate::domain::AccountId,
    from: &crate::domain::ClientInfo,
) -> Result<(), crate::db::DbError> {
    let Some(account) = ctx
        .db
        .run(move |conn| crate::db::models::account::find_by_id(conn, account))
        .await?
    else {
        return Ok(());
    };
    let summary = crate::domain::BrowserSummary::parse(from.user_agent.as_deref());
    let browser =
        crate::session::devices::describe_browser(&summary, account.locale.unwrap_or_default());
    to_account(
        ctx,
        &account,
        Notice::NewBrowser,
        vec![("browser", browser)],
    );
    Ok(())
}
