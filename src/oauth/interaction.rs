//! Authorization requests parked while the person signs in or decides on consent: the store
//! keys, how long a request waits, and its stored form. The browser's session carries only
//! the id. The per-address limit on new entries (`account::limits::interaction_started`) is
//! the caller's: the face knows the address, and `account` is a sibling floor of `oauth`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Context;
use crate::{domain::random_token, store::StoreError};

/// How long an authorization request waits for the person to sign in or decide.
pub const INTERACTION_TTL: Duration = Duration::from_secs(30 * 60);

/// A request put aside while the person signs in or decides on consent. Kept as the pairs
/// the client sent, and parsed again on every resumption: the client's registration may have
/// changed meanwhile, and only a parse against the current one may redirect.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interaction {
    pub params: Vec<(String, String)>,
    /// When the request arrived: a sign-in after this moment happened during the interaction.
    pub started_at: DateTime<Utc>,
}

impl Interaction {
    pub fn new(params: Vec<(String, String)>, started_at: DateTime<Utc>) -> Self {
        Self { params, started_at }
    }

    /// `ui_locales` (OIDC Core §3.1.2.1), most preferred first. Read before the request is
    /// parsed: even the error page of a request that does not parse speaks the asked language.
    pub fn ui_locales(&self) -> impl Iterator<Item = &str> {
        self.params
            .iter()
            .find(|(name, _)| name == "ui_locales")
            .into_iter()
            .flat_map(|(_, value)| value.split_ascii_whitespace())
    }
}

fn key(id: &str) -> String {
    format!("interaction:{id}")
}

/// A new interaction id: 256 random bits, unguessable, so that only the browser whose session
/// names it can resume the request.
pub fn new_id() -> String {
    random_token()
}

/// Parks `interaction` under `id` for [`INTERACTION_TTL`], replacing what was parked there:
/// a browser has one slot, so repeating a request on one cookie never adds to the store.
pub async fn park(ctx: &Context, id: &str, interaction: &Interaction) -> Result<(), StoreError> {
    ctx.store
        .put_json(&key(id), interaction, INTERACTION_TTL)
        .await
}

/// The request parked under `id`, left in place (a sign-in or consent page may follow).
pub async fn load(ctx: &Context, id: &str) -> Result<Option<Interaction>, StoreError> {
    ctx.store.get_json(&key(id)).await
}

/// The request parked under `id`, removed in the same step: of two concurrent decisions on
/// one request, only one finds it.
pub async fn take(ctx: &Context, id: &str) -> Result<Option<Interaction>, StoreError> {
    ctx.store.take_json(&key(id)).await
}

/// Forgets the request parked under `id`: it has been answered.
pub async fn discard(ctx: &Context, id: &str) -> Result<(), StoreError> {
    ctx.store.delete(&key(id)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_locales_are_read_in_order_of_preference() {
        let interaction = Interaction::new(
            vec![
                ("scope".into(), "openid".into()),
                ("ui_locales".into(), " hi-IN  en ".into()),
            ],
            Utc::now(),
        );
        assert_eq!(
            interaction.ui_locales().collect::<Vec<_>>(),
            ["hi-IN", "en"]
        );
        assert_eq!(Interaction::new(vec![], Utc::now()).ui_locales().count(), 0);
    }
}
