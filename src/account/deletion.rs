//! Deleting an account, by its owner (from the console, after a code to one of its contacts)
//! or by an operator (`oneid user delete`). [`delete`] is the one home of it, in this order:
//!
//! 1. capture the contacts and language, for the notice sent at the end;
//! 2. end every session (the apps are told by back-channel logout) and revoke every grant, so
//!    every refresh and access token dies;
//! 3. erase, in one transaction: consents and connected apps go; the row loses its phone,
//!    email, name, language and password (a hash that never verifies) and becomes `deleted`,
//!    but stays, so the account ID and `sub` are never issued again while the phone and email
//!    are free to sign up at once; its sessions forget their browsers and addresses; its audit
//!    events keep no address, browser, or detail that could name the person;
//! 4. record `account_deleted` (the account ID only, no address);
//! 5. tell the captured contacts (`Notice::AccountDeleted`), in the account's language (in the
//!    background for a person; an operator's command waits for it).
//!
//! Everything else treats a deleted account as absent: sign-in by account ID answers as for an
//! unknown one (see `login`), contacts find nothing (they are gone), tokens of its grants fail
//! (revoked; and `oauth::resource` refuses a deleted account's), and its status cannot be
//! changed again (`db::models::account::set_status`).

use super::{
    Context, ServiceError,
    codes::{self, Binding, BrowserTag, CodeRejected},
    notices,
    reauth::ContactKind,
};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    db::models::{
        account::{self, Account, AccountStatus},
        session::EndReason,
    },
    domain::{AccountId, ClientInfo, CodePurpose, VerificationCode},
    notify::Notice,
    session,
};

/// Who asked for the deletion (recorded as the event's detail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletedBy {
    /// The person, from the account console, after proving a contact with a code.
    Owner,
    /// An operator, with `oneid user delete` (or the admin console).
    Operator,
}

impl DeletedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Operator => "operator",
        }
    }
}

/// What [`delete`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// Deleted now; this many sessions were ended.
    Now { sessions: usize },
    /// It was deleted already: nothing changed.
    Already,
}

/// Deletes the account `id` (see the module's documentation for the steps). `None` when there
/// is no such account. Idempotent: an account deleted already (or concurrently) is left as it
/// is and answers [`Deleted::Already`].
pub async fn delete(
    ctx: &Context,
    id: AccountId,
    by: DeletedBy,
) -> Result<Option<Deleted>, ServiceError> {
    let Some(account) = load(ctx, id).await? else {
        return Ok(None);
    };
    if account.status == AccountStatus::Deleted {
        return Ok(Some(Deleted::Already));
    }
    // 1. What the notice needs, read before the row is erased.
    let contacts = notices::contacts_of(&account);
    let lang = account.locale.unwrap_or_default();

    // 2. Sessions (apps told) and every grant, offline ones too.
    let sessions = session::end_all_for_account(&ctx.session, id, EndReason::Deleted).await?;

    // 3. The erasure, in one transaction, after the account's queued events are written (so
    // that they are stripped too).
    ctx.audit.flush().await;
    let now = ctx.clock.now();
    let keep: Vec<&'static str> = AuditKind::ALL
        .into_iter()
        .filter(|kind| kind.detail_survives_deletion())
        .map(AuditKind::as_str)
        .collect();
    let erased = ctx
        .db
        .run(move |conn| account::erase(conn, id, now, &keep))
        .await?;
    if !erased {
        return Ok(Some(Deleted::Already));
    }
    // A sign-in that slipped in between steps 2 and 3 (the password still verified then)
    // ends too; usually there is none.
    let late = session::end_all_for_account(&ctx.session, id, EndReason::Deleted).await?;

    // 4. Pseudonymous: the account ID and who asked, no address.
    ctx.audit
        .record(
            AuditEvent::new(AuditKind::AccountDeleted, Outcome::Ok)
                .account(id)
                .detail(by.as_str()),
        )
        .await;
    tracing::info!(account_id = %id, by = by.as_str(), sessions = sessions + late, "account deleted");

    // 5. The notice, to the contacts captured in step 1 (none is read from the erased row).
    // A page does not wait for it; an operator's command does, as its process exits next.
    let notice = Notice::AccountDeleted;
    let sending = notices::to_contacts(ctx, &account, contacts, lang, notice, Vec::new());
    if by == DeletedBy::Operator && sending.await.is_err() {
        tracing::warn!(account_id = %id, "deletion notice task failed");
    }
    Ok(Some(Deleted::Now {
        sessions: sessions + late,
    }))
}

/// How a confirmation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// The code was right and the account is deleted.
    Deleted,
    /// Nothing was deleted.
    WrongCode(CodeRejected),
    /// The account is gone (deleted meanwhile) or disabled: nothing to do here.
    Gone,
}

/// Checks the code sent by [`send_code`] to the account's contact of `kind` (every code limit
/// applies) and, when right, deletes the account.
pub async fn confirm(
    ctx: &Context,
    id: AccountId,
    kind: ContactKind,
    code: &VerificationCode,
    from: &ClientInfo,
    browser: &BrowserTag,
) -> Result<Confirmation, ServiceError> {
    let Some(account) = load(ctx, id)
        .await?
        .filter(|a| !matches!(a.status, AccountStatus::Deleted | AccountStatus::Disabled))
    else {
        return Ok(Confirmation::Gone);
    };
    let Some(to) = kind.of(&account) else {
        return Ok(Confirmation::WrongCode(CodeRejected::Unusable));
    };
    let purpose = CodePurpose::Delete;
    if let Err(rejected) = codes::verify_bound(
        ctx,
        purpose,
        &to,
        code,
        from,
        Binding::new(browser, Some(id)),
    )
    .await?
    {
        return Ok(Confirmation::WrongCode(rejected));
    }
    Ok(match delete(ctx, id, DeletedBy::Owner).await? {
        Some(_) => Confirmation::Deleted,
        None => Confirmation::Gone,
    })
}

async fn load(ctx: &Context, id: AccountId) -> Result<Option<Account>, ServiceError> {
    Ok(ctx
        .db
        .run(move |conn| account::find_by_id(conn, id))
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        account::{
            create_account,
            login::{self, LoginOutcome},
            testing::{self, nobody},
        },
        config::Settings,
        db::models::{
            audit::{AuditFilter, query},
            session as rows,
        },
        domain::{
            ContactIdentifier, DisplayName, LoginIdentifier, Password, PasswordHasher, Region,
        },
    };

    fn password() -> Password {
        Password::parse("correct horse".into()).unwrap()
    }

    #[tokio::test]
    async fn deletion_erases_the_account_strips_its_events_and_is_idempotent() {
        let t = testing::context(&Settings::default()).await;
        let ctx = &t.ctx;
        let email = ContactIdentifier::parse("asha@example.com", Region::default()).unwrap();
        let name = DisplayName::parse("Asha").unwrap();
        let account = create_account(ctx, email, name, password())
            .await
            .unwrap()
            .unwrap();
        let id = account.id;
        let now = ctx.clock.now();
        ctx.db
            .run(move |conn| rows::record(conn, "sid-1", id, now, now + chrono::Duration::days(1)))
            .await
            .unwrap();
        let from = ClientInfo {
            ip: Some("203.0.113.7".parse().unwrap()),
            user_agent: Some("Mozilla/5.0".into()),
        };
        for (kind, detail) in [
            (AuditKind::LoginOk, "code"),
            (AuditKind::ProfileChanged, "name"),
            (AuditKind::ContactChanged, "email changed"),
        ] {
            let event = AuditEvent::new(kind, Outcome::Ok).account(id).from(&from);
            ctx.audit.record(event.detail(detail)).await;
        }
        let sent_before = t.sent.count();

        let deleted = delete(ctx, id, DeletedBy::Operator).await.unwrap();
        assert_eq!(deleted, Some(Deleted::Now { sessions: 1 }));
        // An operator's deletion waited for its notice.
        assert_eq!(t.sent.count(), sent_before + 1);

        let row = load(ctx, id).await.unwrap().unwrap();
        assert_eq!(row.status, AccountStatus::Deleted);
        assert_eq!(row.sub, account.sub);
        assert!(row.phone.is_none() && row.email.is_none() && row.locale.is_none());
        assert_eq!(row.display_name.as_str(), "");
        let hasher = PasswordHasher::new();
        assert!(!hasher.verify(&password(), row.password_hash.as_ref()));
        assert!(rows_ended(ctx, "sid-1").await);

        let filter = AuditFilter {
            account: Some(id),
            since: None,
            limit: 100,
        };
        let events = ctx.db.run(move |conn| query(conn, &filter)).await.unwrap();
        assert!(
            events
                .iter()
                .all(|e| e.ip.is_none() && e.user_agent.is_none())
        );
        let detail = |kind: AuditKind| {
            events
                .iter()
                .find(|e| e.kind == kind.as_str())
                .map(|e| e.detail.clone())
        };
        assert_eq!(detail(AuditKind::LoginOk), Some(Some("code".into())));
        assert_eq!(detail(AuditKind::ProfileChanged), Some(None));
        assert_eq!(detail(AuditKind::ContactChanged), Some(None));
        assert_eq!(
            detail(AuditKind::AccountDeleted),
            Some(Some("operator".into()))
        );

        // Nothing answers for it any more, and it stays deleted.
        for typed in ["asha@example.com", &id.to_string()] {
            let identifier = LoginIdentifier::parse(typed, Region::default()).unwrap();
            let who = nobody();
            let outcome = login::authenticate(ctx, identifier, password(), &who);
            assert!(matches!(
                outcome.await.unwrap(),
                LoginOutcome::InvalidCredentials
            ));
        }
        let now = ctx.clock.now();
        let unlocked = ctx
            .db
            .run(move |conn| account::set_status(conn, id, AccountStatus::Active, now))
            .await
            .unwrap();
        assert!(!unlocked, "a deleted account is never active again");
        assert_eq!(
            delete(ctx, id, DeletedBy::Owner).await.unwrap(),
            Some(Deleted::Already)
        );
        let nobody_id = AccountId::from_stored(123_456_789);
        assert_eq!(
            delete(ctx, nobody_id, DeletedBy::Owner).await.unwrap(),
            None
        );
    }

    async fn rows_ended(ctx: &Context, sid: &'static str) -> bool {
        ctx.db
            .run(move |conn| rows::has_ended(conn, sid))
            .await
            .unwrap()
    }

    #[test]
    fn only_labels_survive_in_a_deleted_accounts_events() {
        assert!(AuditKind::CodeSent.detail_survives_deletion());
        assert!(AuditKind::AccountDeleted.detail_survives_deletion());
        for personal in [
            AuditKind::ContactChanged,
            AuditKind::ProfileChanged,
            AuditKind::SessionEnded,
        ] {
            assert!(!personal.detail_survives_deletion(), "{personal:?}");
        }
    }
}
