//! What an operator may do, written once for every face that lets them: the command line
//! today, the admin consoles next. Each operation that changes something records its
//! `admin_action` audit event here, so no face can forget it; the faces parse arguments and
//! print results, nothing else.
//!
//! - [`clients`]: register, search, show, edit, disable, remove a relying party, rotate its
//!   secret, admin consent (first-party), everyone's consents;
//! - [`users`]: add, list and search accounts, look one up and reveal its contacts (audited),
//!   sign one out everywhere, lock, unlock, disable, enable, revoke its apps, require a new
//!   password, delete it;
//! - [`keys`]: rotate and list the signing keys;
//! - [`events`]: read, filter and export the audit log;
//! - [`overview`]: the numbers an operator looks at first;
//! - [`roles`]: who is an administrator;
//! - [`sessions`]: the live sessions of everyone, an account or an app; ending one.
//!
//! Every operation takes the [`Actor`](crate::domain::Actor) doing it, named in its audit
//! event: an administrator in the console, a client of the admin API, or the command line.

pub mod clients;
pub mod events;
pub mod keys;
pub mod overview;
pub mod roles;
pub mod sessions;
#[cfg(test)]
pub(crate) mod testing;
pub mod users;

use std::sync::Arc;

use crate::{audit::Audit, clock::Clock, config::AuditSettings, db::Db, oauth::warm::Warm};

/// What the operations share: the database, the clock, the audit log they write to, and the
/// protocol core's warm copies, which every change to a client invalidates. Cheap to clone.
#[derive(Clone)]
pub struct Context {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub audit: Audit,
    pub warm: Warm,
}

impl Context {
    pub fn new(db: Db, clock: Arc<dyn Clock>, settings: &AuditSettings, warm: Warm) -> Self {
        let audit = Audit::new(db.clone(), clock.clone(), settings);
        Self {
            db,
            clock,
            audit,
            warm,
        }
    }
}
