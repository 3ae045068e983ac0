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
/// names the account in logs. Returns the sending task: a page does not wait for it; a command
/// about to exit (`oneid user delete`) does.
pub fn to_contacts(
    ctx: &Context,
    account: &Account,
    contacts: Vec<ContactIdentifier>,
    lang: Lang,
    notice: Notice,
    mut args: Vec<(&'static str, String)>,
) -> tokio::task::JoinHandle<()> {
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
    })
}

/// The account a notice is about, if it still exists.
async fn find(
    ctx: &Context,
    id: crate::domain::AccountId,
) -> Result<Option<Account>, crate::db::DbError> {
    ctx.db
        .run(move |conn| crate::db::models::account::find_by_id(conn, id))
        .await
}

/// A sign-in to `account` from a browser it has not used before (see
/// `session::registry::SignInReport::new_browser`): its owner is told which browser, in their
/// language. Called by the web face right after the sign-in, whichever way it was made.
pub async fn new_browser(
    ctx: &Context,
    account: crate::domain::AccountId,
    from: &crate::domain::ClientInfo,
) -> Result<(), crate::db::DbError> {
    let Some(account) = find(ctx, account).await? else {
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

/// A way to prove who you are, as the security notices name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityMethod {
    AuthenticatorApp,
    Passkey,
    /// A new set of recovery codes (always [`Change::Added`]: the old set stops working).
    RecoveryCodes,
}

impl SecurityMethod {
    /// The catalog key of its name in a notice ("an authenticator app").
    fn name_key(self) -> &'static str {
        match self {
            Self::AuthenticatorApp => "security-method-totp",
            Self::Passkey => "security-method-passkey",
            Self::RecoveryCodes => "security-method-recovery-codes",
        }
    }
}

/// What happened to a [`SecurityMethod`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Removed,
}

/// Tells the owner that a way to prove who they are was added to or removed from their
/// account, at every contact, in their language: someone who took over a session and added
/// their own authenticator (or removed the owner's) does not go unnoticed. Sent after
/// answering, like every notice.
pub async fn security_method_changed(
    ctx: &Context,
    account: crate::domain::AccountId,
    method: SecurityMethod,
    change: Change,
) -> Result<(), crate::db::DbError> {
    let Some(account) = find(ctx, account).await? else {
        return Ok(());
    };
    let name = account.locale.unwrap_or_default().t(method.name_key());
    let notice = match change {
        Change::Added => Notice::SecurityMethodAdded,
        Change::Removed => Notice::SecurityMethodRemoved,
    };
    to_account(ctx, &account, notice, vec![("method", name)]);
    Ok(())
}

/// Tells the owner that one of their recovery codes was just used to sign in: a code found on
/// paper by someone else would otherwise be used silently.
pub async fn recovery_code_used(
    ctx: &Context,
    account: crate::domain::AccountId,
) -> Result<(), crate::db::DbError> {
    if let Some(account) = find(ctx, account).await? {
        to_account(ctx, &account, Notice::RecoveryCodeUsed, Vec::new());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        account::testing::{self, settle},
        config::Settings,
        db::models::account::{self as rows, NewAccount},
        domain::{DisplayName, PasswordHash, Region},
    };

    async fn account(t: &testing::TestAccounts, locale: Option<Lang>) -> Account {
        let email = match ContactIdentifier::parse("asha@example.com", Region::default()) {
            Ok(ContactIdentifier::Email(e)) => e,
            _ => unreachable!(),
        };
        let new = NewAccount {
            phone: None,
            email: Some(email),
            display_name: DisplayName::parse("Asha").unwrap(),
            password_hash: Some(PasswordHash::from_stored("x".into())),
        };
        let now = crate::clock::Clock::now(&t.clock);
        let mut created = t
            .ctx
            .db
            .run(move |conn| Ok(rows::create(conn, &new, now)))
            .await
            .unwrap()
            .unwrap();
        created.locale = locale;
        created
    }

    #[tokio::test]
    async fn a_notice_is_written_in_the_accounts_language_without_a_code_and_capped_per_day() {
        let mut settings = Settings::default();
        settings.limits.notices_per_day = 2;
        let t = testing::context(&settings).await;
        let asha = account(&t, Some(Lang::Hi)).await;
        for _ in 0..3 {
            to_account(&t.ctx, &asha, Notice::PasswordChanged, Vec::new());
            settle().await;
        }
        let sent = t.sent.all();
        assert_eq!(sent.len(), 2, "the third is over the daily cap");
        let first = &sent[0];
        assert_eq!(first.label(), "password-notice");
        assert!(first.code.is_none());
        assert!(first.text.contains("पासवर्ड"), "{}", first.text);
        assert!(
            first.text.contains(&t.ctx.settings.notice_host),
            "names the site"
        );
        let without_host = first.text.replace(&t.ctx.settings.notice_host, "");
        assert!(
            !without_host.chars().any(|c| c.is_ascii_digit()),
            "no code: {}",
            first.text
        );
    }

    #[test]
    fn every_notice_has_a_subject_and_text_in_every_language() {
        for notice in Notice::ALL {
            for lang in Lang::ALL {
                for part in ["subject", "text"] {
                    let key = format!("{}-{part}", notice.label());
                    let args = [
                        ("host", "id.example".to_owned()),
                        ("contact", "a•••@example.com".to_owned()),
                        ("browser", "Chrome on Android".to_owned()),
                        ("method", lang.t(SecurityMethod::Passkey.name_key())),
                    ];
                    let text = lang.t_args(&key, &args);
                    assert!(!text.is_empty() && text != key, "{key} in {lang:?}");
                    assert!(!text.contains("{ $"), "{key} in {lang:?}: {text}");
                }
            }
        }
    }
}
