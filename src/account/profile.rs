//! The profile a person edits in the account console: the name apps are shown, and the
//! preferred language (stored on the account; pages use it when no cookie says otherwise,
//! codes and notices to the account are written in it, and apps get it as the `locale` claim
//! of the `profile` scope).

use super::{Context, ServiceError};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    db::models::account::{self, AccountStatus},
    domain::{AccountId, ClientInfo, DisplayName},
    i18n::Lang,
};

/// What an update changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProfileChange {
    pub name: bool,
    pub locale: bool,
}

impl ProfileChange {
    pub fn any(self) -> bool {
        self.name || self.locale
    }

    /// Which fields, for the audit log: `name`, `locale` or `name,locale`.
    fn fields(self) -> String {
        [(self.name, "name"), (self.locale, "locale")]
            .into_iter()
            .filter_map(|(changed, field)| changed.then_some(field))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Sets the display name and preferred language of `id`, asked for from `from`. Writes (and
/// moves `updated_at`, and audits `profile_changed` with the fields) only when something
/// changed. `None`: no such account (or a deleted one).
pub async fn update(
    ctx: &Context,
    id: AccountId,
    name: DisplayName,
    locale: Lang,
    from: &ClientInfo,
) -> Result<Option<ProfileChange>, ServiceError> {
    let now = ctx.clock.now();
    let change = ctx
        .db
        .run(move |conn| {
            let Some(current) =
                account::find_by_id(conn, id)?.filter(|a| a.status != AccountStatus::Deleted)
            else {
                return Ok(None);
            };
            let change = ProfileChange {
                name: current.display_name != name,
                locale: current.locale != Some(locale),
            };
            if change.any() {
                account::set_profile(conn, id, &name, Some(locale), now)?;
            }
            Ok(Some(change))
        })
        .await?;
    if let Some(change) = change.filter(|c| c.any()) {
        let event = AuditEvent::new(AuditKind::ProfileChanged, Outcome::Ok)
            .account(id)
            .from(from)
            .detail(change.fields());
        ctx.audit.record(event).await;
    }
    Ok(change)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_detail_names_the_fields_that_changed() {
        let both = ProfileChange {
            name: true,
            locale: true,
        };
        assert_eq!(both.fields(), "name,locale");
        let name = ProfileChange {
            name: true,
            locale: false,
        };
        assert_eq!(name.fields(), "name");
        assert!(!ProfileChange::default().any());
    }
}
