//! The phone number and email of a signed-in account (the account console's Phone and email):
//! add a phone to an email-only account or an email to a phone-only one, change either, or
//! remove one while another remains. Sign-in works with whatever the account has afterwards.
//!
//! Adding or changing takes two steps, like every contact OneID learns:
//!
//! 1. [`request`]: a code goes to the NEW contact, bound to the browser that asked (every code
//!    rule and abuse limit applies; SMS only to served countries). The answer is the same
//!    whether or not another account has that contact, so this page cannot be used to find
//!    out who has an account;
//! 2. [`confirm`]: the code; only then is a contact of another account refused (the person
//!    has proven it is theirs, so telling them is no leak), else it is written, audited, and
//!    the owner is told at the contacts the account had (the replaced one for a change).
//!
//! [`remove`] takes one off, in one statement that leaves at least one contact on the account.
//! Every function takes the account's ID, not a browser session, so an operator's console can
//! call the same code.

use super::{
    Context, ServiceError,
    codes::{self, Binding, BrowserTag, CodeRejected, Delivery, Sent},
    notices,
    reauth::ContactKind,
};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    db::models::account::{self, Account, AccountStatus, ContactError},
    domain::{AccountId, ClientInfo, CodePurpose, ContactIdentifier, VerificationCode},
    i18n::Lang,
    notify::Notice,
};

/// Why a contact was not added or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactRefused {
    /// It is on the account already: nothing to prove.
    AlreadyYours,
    /// The code was not accepted.
    WrongCode(CodeRejected),
    /// Another account has it (said only after the code proved it is the person's).
    Taken,
    /// The account is disabled or gone.
    Gone,
}

/// What a right code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactSet {
    /// The account had no contact of this kind; now it has.
    Added(ContactKind),
    /// The account's contact of this kind was replaced.
    Changed(ContactKind),
}

/// Why a contact was not removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveRefused {
    /// The account has no contact of this kind (or is gone).
    NotThere,
    /// It is the account's only contact: sign-in, codes and notices need one.
    LastContact,
}

/// The kind of contact `to` is.
pub fn kind_of(to: &ContactIdentifier) -> ContactKind {
    match to {
        ContactIdentifier::Phone(_) => ContactKind::Phone,
        ContactIdentifier::Email(_) => ContactKind::Email,
    }
}

/// Step 1: sends a code to `to` for account `id`, bound to `browser`, in the account's
/// language (else `lang`). Whether another account has `to` plays no part here.
pub async fn request(
    ctx: &Context,
    id: AccountId,
    to: &ContactIdentifier,
    lang: Lang,
    from: &ClientInfo,
    browser: &BrowserTag,
) -> Result<Result<Sent, ContactRefused>, ServiceError> {
    let Some(account) = load_usable(ctx, id).await? else {
        return Ok(Err(ContactRefused::Gone));
    };
    if kind_of(to).of(&account).as_ref() == Some(to) {
        return Ok(Err(ContactRefused::AlreadyYours));
    }
    let lang = account.locale.unwrap_or(lang);
    let sent = codes::send_bound(
        ctx,
        CodePurpose::Contact,
        to,
        lang,
        Delivery::Now,
        from,
        Binding::new(browser, Some(account.id)),
    )
    .await?;
    Ok(Ok(sent))
}

/// Step 2: checks the code sent to `to` by [`request`] and, when right, puts `to` on account
/// `id` (adding it, or replacing the account's contact of that kind).
pub async fn confirm(
    ctx: &Context,
    id: AccountId,
    to: &ContactIdentifier,
    code: &VerificationCode,
    from: &ClientInfo,
    browser: &BrowserTag,
) -> Result<Result<ContactSet, ContactRefused>, ServiceError> {
    if let Err(rejected) = codes::verify_bound(
        ctx,
        CodePurpose::Contact,
        to,
        code,
        from,
        Binding::new(browser, Some(id)),
    )
    .await?
    {
        return Ok(Err(ContactRefused::WrongCode(rejected)));
    }
    let Some(before) = load_usable(ctx, id).await? else {
        return Ok(Err(ContactRefused::Gone));
    };
    let kind = kind_of(to);
    let set = match kind.of(&before) {
        None => ContactSet::Added(kind),
        Some(_) => ContactSet::Changed(kind),
    };
    let (written, now) = (to.clone(), ctx.clock.now());
    let stored = ctx
        .db
        .run(move |conn| {
            Ok(match &written {
                ContactIdentifier::Phone(phone) => account::set_phone(conn, id, phone, now),
                ContactIdentifier::Email(email) => account::set_email(conn, id, email, now),
            })
        })
        .await?;
    let event = |outcome| {
        AuditEvent::new(AuditKind::ContactChanged, outcome)
            .account(id)
            .from(from)
    };
    match stored {
        Ok(()) => {}
        Err(ContactError::Taken) => {
            let detail = format!("{} taken by another account", kind.as_str());
            ctx.audit
                .record(event(Outcome::Refused).detail(detail))
                .await;
            return Ok(Err(ContactRefused::Taken));
        }
        Err(ContactError::Db(e)) => return Err(e.into()),
    }
    let detail = match set {
        ContactSet::Added(_) => format!("{} added", kind.as_str()),
        ContactSet::Changed(_) => format!("{} changed", kind.as_str()),
    };
    tracing::info!(account_id = %id, change = %detail, "contact changed");
    ctx.audit.record(event(Outcome::Ok).detail(detail)).await;
    tell_owner(ctx, &before, set, to);
    Ok(Ok(set))
}

/// The notices of step 2: an added contact is announced at the contacts the account had; a
/// replaced one is told at the old contact that it is no longer on the account.
fn tell_owner(ctx: &Context, before: &Account, set: ContactSet, to: &ContactIdentifier) {
    let lang = before.locale.unwrap_or_default();
    let args = vec![("contact", to.masked())];
    let (told, notice) = match set {
        ContactSet::Added(_) => (notices::contacts_of(before), Notice::ContactAdded),
        ContactSet::Changed(kind) => (
            kind.of(before).into_iter().collect(),
            Notice::ContactChanged,
        ),
    };
    notices::to_contacts(ctx, before, told, lang, notice, args);
}

/// Takes the account's contact of `kind` off, unless it is the only one. The removed contact
/// and the ones left are told.
pub async fn remove(
    ctx: &Context,
    id: AccountId,
    kind: ContactKind,
    from: &ClientInfo,
) -> Result<Result<(), RemoveRefused>, ServiceError> {
    let Some(before) = load_usable(ctx, id).await? else {
        return Ok(Err(RemoveRefused::NotThere));
    };
    let Some(removed) = kind.of(&before) else {
        return Ok(Err(RemoveRefused::NotThere));
    };
    let now = ctx.clock.now();
    let cleared = ctx
        .db
        .run(move |conn| match kind {
            ContactKind::Phone => account::clear_phone(conn, id, now),
            ContactKind::Email => account::clear_email(conn, id, now),
        })
        .await?;
    if !cleared {
        // The statement keeps one contact: this was the last (or a concurrent removal took
        // the other first).
        return Ok(Err(RemoveRefused::LastContact));
    }
    let detail = format!("{} removed", kind.as_str());
    tracing::info!(account_id = %id, change = %detail, "contact changed");
    ctx.audit
        .record(
            AuditEvent::new(AuditKind::ContactChanged, Outcome::Ok)
                .account(id)
                .from(from)
                .detail(detail),
        )
        .await;
    notices::to_contacts(
        ctx,
        &before,
        notices::contacts_of(&before),
        before.locale.unwrap_or_default(),
        Notice::ContactRemoved,
        vec![("contact", removed.masked())],
    );
    Ok(Ok(()))
}

/// The account, unless it is gone, deleted or disabled.
async fn load_usable(ctx: &Context, id: AccountId) -> Result<Option<Account>, ServiceError> {
    let found = ctx
        .db
        .run(move |conn| account::find_by_id(conn, id))
        .await?;
    Ok(found.filter(|a| !matches!(a.status, AccountStatus::Disabled | AccountStatus::Deleted)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        account::{create_account, testing},
        config::Settings,
        domain::{DisplayName, Password, Region},
    };

    fn contact(s: &str) -> ContactIdentifier {
        ContactIdentifier::parse(s, Region::default()).unwrap()
    }

    async fn account_with(ctx: &Context, to: &str) -> AccountId {
        let name = DisplayName::parse("Asha").unwrap();
        let password = Password::parse("correct horse".into()).unwrap();
        create_account(ctx, contact(to), name, password)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    /// Asks for a code to `to` for `id` in `browser` and returns what was delivered.
    async fn code_for(
        t: &testing::TestAccounts,
        id: AccountId,
        to: &ContactIdentifier,
        browser: &BrowserTag,
    ) -> VerificationCode {
        let who = testing::nobody();
        let sent = request(&t.ctx, id, to, Lang::default(), &who, browser).await;
        assert!(matches!(sent.unwrap(), Ok(Sent::Sent { .. })));
        VerificationCode::parse(&t.sent.last_code().expect("delivered")).unwrap()
    }

    #[tokio::test]
    async fn a_phone_is_added_with_its_code_and_a_taken_one_refused_only_after_it() {
        let t = testing::context(&Settings::default()).await;
        let (ctx, who, browser) = (&t.ctx, testing::nobody(), BrowserTag::new("form token"));
        let asha = account_with(ctx, "asha@example.com").await;
        let ravi = account_with(ctx, "ravi@example.com").await;
        let phone = contact("9812345678");

        let code = code_for(&t, asha, &phone, &browser).await;
        let added = confirm(ctx, asha, &phone, &code, &who, &browser).await;
        assert_eq!(added.unwrap(), Ok(ContactSet::Added(ContactKind::Phone)));
        let again = request(ctx, asha, &phone, Lang::default(), &who, &browser).await;
        assert_eq!(again.unwrap(), Err(ContactRefused::AlreadyYours));

        // Ravi's browser gets a code to Asha's phone as it would to any (no enumeration), and
        // only the right code tells him it is taken.
        t.clock.advance(chrono::Duration::minutes(2));
        let elsewhere = BrowserTag::new("Ravi's form token");
        let code = code_for(&t, ravi, &phone, &elsewhere).await;
        let taken = confirm(ctx, ravi, &phone, &code, &who, &elsewhere).await;
        assert_eq!(taken.unwrap(), Err(ContactRefused::Taken));
        let kept = ctx.db.run(move |conn| account::find_by_id(conn, ravi));
        assert!(kept.await.unwrap().unwrap().phone.is_none());
    }

    #[tokio::test]
    async fn the_last_contact_stays_and_a_second_one_can_go() {
        let t = testing::context(&Settings::default()).await;
        let (ctx, who, browser) = (&t.ctx, testing::nobody(), BrowserTag::new("form token"));
        let asha = account_with(ctx, "asha@example.com").await;
        let last = remove(ctx, asha, ContactKind::Email, &who).await;
        assert_eq!(last.unwrap(), Err(RemoveRefused::LastContact));
        let none = remove(ctx, asha, ContactKind::Phone, &who).await;
        assert_eq!(none.unwrap(), Err(RemoveRefused::NotThere));

        let phone = contact("9812345678");
        let code = code_for(&t, asha, &phone, &browser).await;
        confirm(ctx, asha, &phone, &code, &who, &browser)
            .await
            .unwrap()
            .unwrap();
        let removed = remove(ctx, asha, ContactKind::Email, &who).await;
        assert_eq!(removed.unwrap(), Ok(()));
        let left = ctx.db.run(move |conn| account::find_by_id(conn, asha));
        let left = left.await.unwrap().unwrap();
        assert!(left.email.is_none() && left.phone.is_some());
    }
}
