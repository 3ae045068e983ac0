//! One typed `Settings`, loaded once: defaults, then an optional TOML file, then `ONEID_*`
//! environment variables, then command-line flags. Validated before anything starts.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::domain::{Region, Secret, SecretUrl, is_loopback_host, redact_url};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to bind.
    pub listen: SocketAddr,
    /// Public base URL; cookies are `Secure` when it is https.
    pub issuer: Url,
    /// `sqlite://path/to/file.db` (created on first run, folder included), or a libpq URL
    /// `postgres://user[:password]@host[:port]/database[?param=value&...]` (`postgresql://` too).
    /// Shown only with its password masked (see [`redact_url`]).
    pub database_url: SecretUrl,
    /// `redis://[[user]:password@]host[:port][/db]`: sessions, codes and counters live in Redis,
    /// shared by every instance. Unset: they live in this process's memory.
    pub redis_url: Option<SecretUrl>,
    /// Where the development notifier appends messages, one JSON line each.
    pub outbox: PathBuf,
    /// Region for phone numbers typed without a country code.
    pub default_region: Region,
    /// Proxies (CIDR ranges) whose `X-Forwarded-For` is believed: the client's address is the
    /// nearest one in that header not itself a trusted proxy. Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub memory_store: MemoryStoreSettings,
    pub session: SessionSettings,
    pub codes: CodeSettings,
    pub lockout: LockoutSettings,
    pub passwords: PasswordSettings,
    pub smtp: Option<SmtpSettings>,
    pub sms: Option<SmsGatewaySettings>,
    /// WhatsApp Business Cloud API: codes as authentication-template messages.
    pub whatsapp: Option<WhatsAppSettings>,
    pub delivery: DeliverySettings,
    pub limits: LimitSettings,
    pub bot_check: BotCheckSettings,
    pub oauth: OAuthSettings,
    pub keys: KeySettings,
    pub audit: AuditSettings,
    pub retention: RetentionSettings,
    pub metrics: MetricsSettings,
    pub second_factor: SecondFactorSettings,
    /// Worker threads for the HTTP server (0: one per core).
    pub workers: usize,
    /// Demo only: also print each verification code on standard output. Refused unless the
    /// issuer is a loopback http URL, so it can never be switched on in production.
    pub demo_echo_codes: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub pool_size: u32,
    /// Seconds to wait for a free connection before answering 503.
    pub connect_timeout_secs: u64,
    /// Milliseconds SQLite waits on a locked database before giving up.
    pub busy_timeout_ms: u64,
    /// Milliseconds a PostgreSQL statement may run before the server cancels it.
    pub statement_timeout_ms: u64,
}

/// Used only when `redis_url` is set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// Put before every key, so several deployments (or test runs) share one Redis safely.
    pub key_prefix: String,
    /// Milliseconds to wait for a TCP connection to Redis.
    pub connect_timeout_ms: u64,
    /// Milliseconds to wait for Redis to answer a command before answering 503.
    pub response_timeout_ms: u64,
}

/// Used only when `redis_url` is unset: the bound on what this process holds in memory for
/// sessions, codes and counters (Redis is bounded by its own `maxmemory`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryStoreSettings {
    /// MiB of entries that have not expired; a write that needs more is refused (503) until
    /// entries expire. See docs/security.md §1, "The store as a whole".
    pub max_mib: u32,
}

impl MemoryStoreSettings {
    pub fn max_bytes(&self) -> usize {
        usize::try_from(self.max_mib)
            .unwrap_or(usize::MAX)
            .saturating_mul(1 << 20)
    }
}

impl Default for MemoryStoreSettings {
    fn default() -> Self {
        Self { max_mib: 1024 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    /// A signed-in session ends after this long without a request.
    pub idle_timeout_secs: i64,
    /// A signed-in session ends this long after sign-in, however active.
    pub absolute_timeout_secs: i64,
    /// A browser that never signs in keeps its (form-protecting) session this long.
    pub anonymous_timeout_secs: i64,
    /// Sensitive changes in the account console (password, phone or email, signing out every
    /// other session, deletion) need a sign-in at most this old; otherwise the person confirms
    /// with their password or a code first.
    pub reauth_window_secs: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeSettings {
    /// Digits in a sign-up code (the seed promises 4).
    pub signup_length: u8,
    /// Digits in codes that guard an existing account (code login, reset, unlock).
    pub account_length: u8,
    pub ttl_secs: i64,
    /// Wrong tries after which a code is dead.
    pub max_tries: i64,
    /// Seconds before another code may be sent to the same phone or email.
    pub resend_cooldown_secs: i64,
}

/// Failed password sign-ins per account (see `account::lockout`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockoutSettings {
    /// Every this many failures in a run, the account is locked for a while.
    pub max_failures: i32,
    /// After this many failures in a run, it stays locked until unlocked.
    pub lock_forever_after: i32,
    /// The first temporary lock; each next one doubles, up to `max_lock_secs`.
    pub first_lock_secs: i64,
    pub max_lock_secs: i64,
    /// A run of failures is forgotten when its last failure is older than this.
    pub window_secs: i64,
    /// How long one password check holds its account's lease (only one check per account is
    /// in flight, across every instance); an instance that dies mid-check frees it after this.
    pub check_lease_secs: u64,
    /// How long a sign-in waits for the account's check in flight before answering 503.
    pub check_wait_ms: u64,
}

/// The password threads (see `account::password_pool`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSettings {
    /// Threads that hash and verify passwords (0: one per core).
    pub threads: usize,
    /// Password jobs that may wait for a thread; when that many wait, sign-ins answer 503 with
    /// `Retry-After` at once.
    pub queue: usize,
}

/// Abuse limits (see `account::limits`). Counters are fixed windows opened by their first hit;
/// IPv6 addresses count per /64.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Codes sent to one phone number or email address, asked for from one address, per hour.
    pub codes_per_hour: u32,
    /// The same per 24 hours.
    pub codes_per_day: u32,
    /// Codes sent to one phone number or email address per 24 hours, whoever asks: the ceiling
    /// that keeps one person from being flooded.
    pub contact_codes_per_day: u32,
    /// Wrong codes typed for one phone number or email address from one address per 24 hours
    /// before that address must wait (a backoff that doubles with each further wrong code).
    pub code_failures_per_requester: u32,
    /// Wrong codes for one phone number or email address per 24 hours, whoever typed them;
    /// beyond it, every address that already typed a wrong code backs off. An address without
    /// a wrong code may still try the code it was sent, so strangers cannot freeze the owner.
    pub code_failures_per_day: u32,
    /// The first backoff after the budget above is spent; each next wrong code doubles it.
    pub code_backoff_first_secs: u64,
    /// The longest backoff.
    pub code_backoff_max_secs: u64,
    /// Code requests per hour from one address, refused ones included.
    pub ip_codes_per_hour: u32,
    /// Password sign-in attempts from one address per `ip_sign_in_window_secs`.
    pub ip_sign_in_attempts: u32,
    /// At most a day.
    pub ip_sign_in_window_secs: u64,
    /// SMS codes per hour across every instance; reaching it alerts the operator once per hour.
    pub sms_per_hour: u32,
    /// Distinct destination country calling codes one address may send SMS codes to per 24 hours.
    pub ip_sms_countries_per_day: u32,
    /// New authorization requests parked (waiting for sign-in or consent) from one address per
    /// `ip_interactions_window_secs`; a browser that already has one parked does not count.
    pub ip_interactions: u32,
    /// At most a day.
    pub ip_interactions_window_secs: u64,
    /// Regions (ISO 3166 alpha-2) whose mobile numbers may receive codes; empty: email only.
    pub sms_countries: Vec<Region>,
    /// Security notices (password changed, new browser, ...) sent to one phone number or email
    /// per 24 hours; beyond it they are dropped (and logged), so no one can flood a contact by
    /// triggering notices.
    pub notices_per_day: u32,
}

/// The bot check before a code is sent to a contact a stranger typed (see `account::botcheck`):
/// a proof-of-work challenge the page's script solves, or a short wait without JavaScript.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotCheckSettings {
    pub mode: BotCheckMode,
    /// How long an issued challenge (and a wait ticket, after its wait) stays good.
    pub challenge_ttl_secs: u64,
    /// The challenge's `maxnumber` (ALTCHA's difficulty: about half of it SHA-256 hashes on
    /// average) at no pressure, and at full pressure; between them it rises linearly.
    pub easy_max_number: u64,
    pub hard_max_number: u64,
    /// The wait without JavaScript at no pressure, and at full pressure.
    pub easy_wait_secs: u64,
    pub hard_wait_secs: u64,
    /// Adaptive: the check is required once this share (percent) of `limits.sms_per_hour` is
    /// used this hour...
    pub sms_load_percent: u32,
    /// ...or once the asking address (an IPv6 /64) asked for this many codes this hour.
    pub address_codes_per_hour: u32,
}

/// When the bot check is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BotCheckMode {
    /// Before every code sent to a typed contact.
    Always,
    /// Only under pressure: the global SMS count nears its cap, or one address asks for many
    /// codes. With little pressure nothing is asked of anyone.
    Adaptive,
    /// Never (the abuse limits still apply).
    Never,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthSettings {
    /// Authorization codes live this long (RFC 6749 §4.1.2 recommends at most 10 minutes).
    pub authorization_code_ttl_secs: i64,
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    /// Absolute lifetime of a refresh-token family, however often it is rotated.
    pub refresh_token_ttl_secs: i64,
    /// PKCE for confidential clients too (public clients always need it).
    pub require_pkce_for_all: bool,
    /// First-party clients get refresh tokens without asking for `offline_access`.
    pub first_party_refresh_tokens: bool,
    /// What JWT access tokens are signed with unless the client registered otherwise (RFC 9068
    /// §2.1 leaves it to the server). ES256 by default: a signature costs a twentieth of an
    /// RS256 one, and every mainstream JOSE library verifies it. ID tokens are not affected
    /// (RS256 unless the client registered otherwise, OIDC Core §3.1.3.7).
    pub access_token_alg: crate::domain::Algorithm,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    /// The key encryption key (32 bytes, base64url) that seals private signing keys at rest.
    /// Unset: read from `encryption_key_file`, which is generated on first start.
    pub encryption_key: Option<Secret>,
    pub encryption_key_file: PathBuf,
    /// A new signing key takes over after this many days.
    pub rotate_after_days: i64,
    /// A retired key stays in the JWKS this long, so tokens it signed still verify.
    pub publish_retired_for_secs: i64,
}

/// The audit log (see `audit`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Events older than this many days are deleted (hourly); 0 keeps them forever.
    pub retention_days: u32,
}

/// How long finished rows are kept before the hourly purge deletes them (see
/// `db::models::purge`). Every value is at least a day, so a row is never deleted while anything
/// could still ask about it (an access token lives minutes, a browser session at most
/// `session.absolute_timeout_secs`, which the session purge also waits out).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Grants (and their refresh tokens) this many days after they expired or were revoked.
    pub grants_days: u32,
    /// Ended sessions this many days after they ended (and after their lifetime ran out).
    pub sessions_days: u32,
    /// Back-channel logout deliveries this many days after they were delivered or given up.
    pub backchannel_days: u32,
}

/// Where `/metrics` (Prometheus text format) is served; see docs/metrics.md. Off the public
/// listener unless `token` is set: the numbers tell an attacker how busy and how limited the
/// instance is.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// A listener of its own for `/metrics` only, without a token (for example
    /// `127.0.0.1:9464`, or an address only the monitoring network reaches). Unset: none.
    pub listen: Option<SocketAddr>,
    /// When set, `/metrics` is also served on the public listener, only to requests carrying
    /// `Authorization: Bearer <token>`. Unset: `/metrics` there answers 404.
    pub token: Option<Secret>,
}

/// The second factor at sign-in (see `account::second_factor`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorSettings {
    /// How long "remember this browser" spares a browser the second-factor prompt, in days;
    /// 0 does not offer it.
    pub remember_browser_days: u32,
    /// How long the second-factor step waits after the first factor was proven.
    pub pending_secs: i64,
    /// Wrong second factors allowed in one pending step before the person signs in again
    /// (each one also counts toward the account's lockout).
    pub tries_per_step: i64,
    /// How long an authenticator app being added waits for its first code.
    pub enrolment_secs: i64,
}

impl Default for SecondFactorSettings {
    fn default() -> Self {
        Self {
            remember_browser_days: 30,
            pending_secs: 600,
            tries_per_step: 5,
            enrolment_secs: 900,
        }
    }
}

/// The shortest `metrics.token` accepted: guessing it must be out of reach.
pub const METRICS_TOKEN_MIN_LEN: usize = 24;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text; only for a mail catcher on the same host.
    None,
    /// Upgrade with STARTTLS (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsGatewaySettings {
    /// The gateway's endpoint; receives a JSON POST per message. Shown with any password in
    /// it masked.
    pub url: SecretUrl<Url>,
    /// Sent verbatim as the `Authorization` header.
    pub auth_header: Option<Secret>,
    /// JSON body; the strings `{to}` and `{text}` inside any string value are replaced.
    pub body_template: String,
    pub timeout_secs: u64,
    /// The header that carries an idempotency key, for gateways that support one (for example
    /// `Idempotency-Key`): the retry after a timeout or a 5xx carries the same random key as
    /// the first attempt, so a gateway that did send the first time does not send twice.
    /// Unset: no such header.
    #[serde(default)]
    pub idempotency_header: Option<String>,
    /// More headers sent verbatim with every request (`authkey` for MSG91, for example); the
    /// values are secrets, never shown.
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// The sender's DLT principal entity ID, for `{entity_id}`.
    #[serde(default)]
    pub entity_id: Option<String>,
    /// The registered sender ID (DLT header), for `{sender_id}`.
    #[serde(default)]
    pub sender_id: Option<String>,
    /// The body for security notices, when they need another shape than codes (a notice has
    /// no `{code}`). Unset: `body_template`.
    #[serde(default)]
    pub notice_body_template: Option<String>,
    /// Per message kind (`signup`, `login`, ..., `lock_notice`, ...), per language (`en`,
    /// `hi`): the text and the provider's template ID. A language without one uses `en`.
    #[serde(default)]
    pub templates: BTreeMap<String, BTreeMap<String, SmsTemplate>>,
}

impl SmsGatewaySettings {
    /// The generic gateway: `body_template` posted to `url`, 5 s per attempt, nothing else.
    pub fn generic(url: Url, body_template: impl Into<String>) -> Self {
        Self {
            url: SecretUrl::new(url),
            auth_header: None,
            body_template: body_template.into(),
            timeout_secs: 5,
            idempotency_header: None,
            headers: BTreeMap::new(),
            entity_id: None,
            sender_id: None,
            notice_body_template: None,
            templates: BTreeMap::new(),
        }
    }
}

/// The registered form of one message in one language.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SmsTemplate {
    /// The provider's (or DLT) template ID, for `{template_id}`.
    #[serde(default)]
    pub template_id: Option<String>,
    /// The text exactly as registered, with `{code}` and `{minutes}` (codes) or `{host}` (and
    /// `{browser}` for a new-browser notice). Unset: the built-in text.
    #[serde(default)]
    pub text: Option<String>,
}

/// WhatsApp Business Cloud API (Meta), authentication templates.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsAppSettings {
    /// The messages endpoint of the sending number:
    /// `https://graph.facebook.com/v21.0/<phone-number-id>/messages`.
    pub url: SecretUrl<Url>,
    /// The system user's access token, sent as `Authorization: Bearer`.
    pub token: Secret,
    /// The approved authentication template per language (`en`, `hi`); `en` is required and
    /// serves a language without its own.
    pub templates: BTreeMap<String, WhatsAppTemplate>,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsAppTemplate {
    /// The template's name as approved in WhatsApp Manager.
    pub name: String,
    /// Its language code there (`en`, `en_US`, `hi`).
    pub language: String,
}

/// A transport that can carry a code to a phone number.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PhoneChannel {
    Sms,
    Whatsapp,
}

impl PhoneChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Whatsapp => "whatsapp",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySettings {
    /// The channels that carry a code to a phone number, in order: the first is tried, and
    /// when it fails to deliver (an error or a timeout) the next is tried once. The person
    /// can also ask for another of these on the code page. Notices always go by SMS.
    pub phone_channels: Vec<PhoneChannel>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            issuer: Url::parse("http://127.0.0.1:8080").expect("constant URL"),
            database_url: "sqlite://oneid-data/oneid.db".into(),
            redis_url: None,
            outbox: PathBuf::from("oneid-data/outbox.jsonl"),
            default_region: Region::default(),
            trusted_proxies: Vec::new(),

            database: DatabaseSettings {
                pool_size: 8,
                connect_timeout_secs: 5,
                busy_timeout_ms: 5_000,
                statement_timeout_ms: 10_000,
            },
            redis: RedisSettings {
                key_prefix: "oneid:".into(),
                connect_timeout_ms: 1_000,
                response_timeout_ms: 1_000,
            },
            memory_store: MemoryStoreSettings::default(),
            session: SessionSettings {
                idle_timeout_secs: 7 * 24 * 3600,
                absolute_timeout_secs: 30 * 24 * 3600,
                anonymous_timeout_secs: 3600,
                reauth_window_secs: 600,
            },
            codes: CodeSettings {
                signup_length: 4,
                account_length: 6,
                ttl_secs: 600,
                max_tries: 5,
                resend_cooldown_secs: 60,
            },
            lockout: LockoutSettings {
                max_failures: 10,
                lock_forever_after: 30,
                first_lock_secs: 60,
                max_lock_secs: 3600,
                window_secs: 24 * 3600,
                check_lease_secs: 30,
                check_wait_ms: 5_000,
            },
            passwords: PasswordSettings {
                threads: 0,
                queue: 64,
            },
            smtp: None,
            sms: None,
            whatsapp: None,
            delivery: DeliverySettings {
                phone_channels: vec![PhoneChannel::Sms],
            },
            limits: LimitSettings {
                codes_per_hour: 5,
                codes_per_day: 10,
                contact_codes_per_day: 50,
                code_failures_per_requester: 10,
                code_failures_per_day: 100,
                code_backoff_first_secs: 60,
                code_backoff_max_secs: 3600,
                ip_codes_per_hour: 20,
                ip_sign_in_attempts: 100,
                ip_sign_in_window_secs: 600,
                sms_per_hour: 1000,
                ip_sms_countries_per_day: 3,
                // As many as password sign-ins: each new request usually leads to one.
                ip_interactions: 100,
                ip_interactions_window_secs: 600,
                sms_countries: vec![Region::default()],
                notices_per_day: 10,
            },
            bot_check: BotCheckSettings {
                mode: BotCheckMode::Adaptive,
                challenge_ttl_secs: 600,
                // ~0.1 s of a phone's WebCrypto on average, up to ~2.5 s at full pressure.
                easy_max_number: 20_000,
                hard_max_number: 500_000,
                easy_wait_secs: 3,
                hard_wait_secs: 15,
                sms_load_percent: 50,
                // A person asks for one code, perhaps a second; the tenth from one address in
                // an hour is half its `ip_codes_per_hour` budget.
                address_codes_per_hour: 10,
            },
            oauth: OAuthSettings {
                authorization_code_ttl_secs: 60,
                access_token_ttl_secs: 600,
                id_token_ttl_secs: 600,
                refresh_token_ttl_secs: 30 * 24 * 3600,
                require_pkce_for_all: false,
                first_party_refresh_tokens: true,
                access_token_alg: crate::domain::Algorithm::Es256,
            },
            keys: KeySettings {
                encryption_key: None,
                encryption_key_file: PathBuf::from("oneid-data/keys.secret"),
                rotate_after_days: 90,
                publish_retired_for_secs: 24 * 3600,
            },
            audit: AuditSettings {
                retention_days: 365,
            },
            retention: RetentionSettings {
                grants_days: 30,
                sessions_days: 30,
                backchannel_days: 7,
            },
            metrics: MetricsSettings::default(),
            second_factor: SecondFactorSettings::default(),
            workers: 0,
            demo_echo_codes: false,
        }
    }
}

/// Values given on the command line; they win over the file and the environment.
#[derive(Debug, Default, Clone, Serialize)]
pub struct FlagOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{0}")]
    Load(String),
    #[error("invalid setting `{key}` ({env}): {reason}")]
    Invalid {
        key: &'static str,
        env: &'static str,
        reason: String,
    },
}

impl Settings {
    /// Loads and validates the settings. Environment variables are `ONEID_<KEY>`, with `__`
    /// between levels: `ONEID_SMTP__HOST`, `ONEID_SESSION__IDLE_TIMEOUT_SECS`.
    pub fn load(
        file: Option<&std::path::Path>,
        flags: &FlagOverrides,
    ) -> Result<Self, SettingsError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(SettingsError::Load(format!(
                    "configuration file {} does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment
            .merge(
                Env::prefixed("ONEID_")
                    .split("__")
                    .filter(|key| !is_tool_variable(key.as_str())),
            )
            .merge(Serialized::globals(flags));
        let settings: Settings = figment
            .extract()
            .map_err(|e| SettingsError::Load(describe_figment_error(e)))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what types alone cannot say.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |key, env, reason: &str| {
            Err(SettingsError::Invalid {
                key,
                env,
                reason: reason.to_owned(),
            })
        };
        if !matches!(self.issuer.scheme(), "http" | "https")
            || self.issuer.query().is_some()
            || self.issuer.fragment().is_some()
        {
            return invalid(
                "issuer",
                "ONEID_ISSUER",
                "must be an http(s) URL without query or fragment",
            );
        }
        if self.issuer.scheme() == "http" && !self.issuer.host_str().is_some_and(is_loopback_host) {
            return invalid(
                "issuer",
                "ONEID_ISSUER",
                "must be https unless the host is 127.0.0.1, [::1], localhost or a *.localhost name",
            );
        }
        if self.demo_echo_codes && self.secure_cookies() {
            return invalid(
                "demo_echo_codes",
                "ONEID_DEMO_ECHO_CODES",
                "only for a demo on a loopback http issuer",
            );
        }
        if Backend::from_url(&self.database_url).is_err() {
            return invalid(
                "database_url",
                "ONEID_DATABASE_URL",
                "must start with sqlite://, postgres:// or postgresql://",
            );
        }
        if let Some(url) = &self.redis_url
            && let Err(reason) = check_redis_url(url)
        {
            return invalid("redis_url", "ONEID_REDIS_URL", &reason);
        }
        if self.redis.key_prefix.is_empty()
            || self.redis.key_prefix.chars().any(char::is_whitespace)
        {
            return invalid(
                "redis.key_prefix",
                "ONEID_REDIS__KEY_PREFIX",
                "must be non-empty and without spaces, such as `oneid:`",
            );
        }
        if !(1..=60_000).contains(&self.redis.connect_timeout_ms)
            || !(1..=60_000).contains(&self.redis.response_timeout_ms)
        {
            return invalid(
                "redis",
                "ONEID_REDIS__*",
                "connect_timeout_ms and response_timeout_ms must be between 1 and 60000",
            );
        }
        if !(1..=1_048_576).contains(&self.memory_store.max_mib) {
            return invalid(
                "memory_store.max_mib",
                "ONEID_MEMORY_STORE__MAX_MIB",
                "must be between 1 and 1048576",
            );
        }
        let l = &self.lockout;
        if l.max_failures < 1
            || l.lock_forever_after < l.max_failures
            || l.first_lock_secs < 1
            || l.max_lock_secs < l.first_lock_secs
            || l.window_secs < 60
            || !(1..=3600).contains(&l.check_lease_secs)
            || l.check_wait_ms > 60_000
        {
            return invalid(
                "lockout",
                "ONEID_LOCKOUT__*",
                "max_failures >= 1, lock_forever_after >= max_failures, 1 <= first_lock_secs <= max_lock_secs, window_secs >= 60, check_lease_secs between 1 and 3600, check_wait_ms at most 60000",
            );
        }
        if !(4..=10).contains(&self.codes.signup_length) {
            return invalid(
                "codes.signup_length",
                "ONEID_CODES__SIGNUP_LENGTH",
                "must be between 4 and 10",
            );
        }
        if !(6..=10).contains(&self.codes.account_length) {
            return invalid(
                "codes.account_length",
                "ONEID_CODES__ACCOUNT_LENGTH",
                "must be between 6 and 10",
            );
        }
        if self.codes.ttl_secs < 60
            || self.codes.max_tries < 1
            || self.codes.resend_cooldown_secs < 0
        {
            return invalid(
                "codes",
                "ONEID_CODES__*",
                "ttl_secs must be at least 60, max_tries at least 1, resend_cooldown_secs not negative",
            );
        }
        let s = &self.session;
        if !(60..=86_400).contains(&s.reauth_window_secs) {
            return invalid(
                "session.reauth_window_secs",
                "ONEID_SESSION__REAUTH_WINDOW_SECS",
                "must be between 60 and 86400",
            );
        }
        if s.idle_timeout_secs < 60 || s.absolute_timeout_secs < 60 || s.anonymous_timeout_secs < 60
        {
            return invalid(
                "session",
                "ONEID_SESSION__*",
                "timeouts must be at least 60 seconds",
            );
        }
        let lim = &self.limits;
        if [
            lim.codes_per_hour,
            lim.codes_per_day,
            lim.code_failures_per_day,
            lim.contact_codes_per_day,
            lim.code_failures_per_requester,
            lim.ip_codes_per_hour,
            lim.ip_sign_in_attempts,
            lim.sms_per_hour,
            lim.ip_sms_countries_per_day,
        ]
        .contains(&0)
            || !(1..=86_400).contains(&lim.ip_sign_in_window_secs)
            || lim.code_backoff_first_secs < 1
            || lim.code_backoff_max_secs < lim.code_backoff_first_secs
            || lim.code_backoff_max_secs > 86_400
        {
            return invalid(
                "limits",
                "ONEID_LIMITS__*",
                "every limit must be at least 1, ip_sign_in_window_secs between 1 and 86400, 1 <= code_backoff_first_secs <= code_backoff_max_secs <= 86400",
            );
        }
        let bot = &self.bot_check;
        if !(30..=3600).contains(&bot.challenge_ttl_secs) {
            return invalid(
                "bot_check.challenge_ttl_secs",
                "ONEID_BOT_CHECK__CHALLENGE_TTL_SECS",
                "must be between 30 and 3600",
            );
        }
        // altcha-lib-rs verifies a solution only up to its default maxnumber (1,000,000).
        if !(1_000..=bot.hard_max_number).contains(&bot.easy_max_number)
            || bot.hard_max_number > altcha_lib_rs::DEFAULT_MAX_NUMBER
        {
            return invalid(
                "bot_check.easy_max_number",
                "ONEID_BOT_CHECK__EASY_MAX_NUMBER, ONEID_BOT_CHECK__HARD_MAX_NUMBER",
                "need 1000 <= easy_max_number <= hard_max_number <= 1000000",
            );
        }
        if !(1..=bot.hard_wait_secs).contains(&bot.easy_wait_secs) || bot.hard_wait_secs > 60 {
            return invalid(
                "bot_check.easy_wait_secs",
                "ONEID_BOT_CHECK__EASY_WAIT_SECS, ONEID_BOT_CHECK__HARD_WAIT_SECS",
                "need 1 <= easy_wait_secs <= hard_wait_secs <= 60",
            );
        }
        if !(1..=100).contains(&bot.sms_load_percent) {
            return invalid(
                "bot_check.sms_load_percent",
                "ONEID_BOT_CHECK__SMS_LOAD_PERCENT",
                "must be between 1 and 100",
            );
        }
        if bot.address_codes_per_hour == 0 {
            return invalid(
                "bot_check.address_codes_per_hour",
                "ONEID_BOT_CHECK__ADDRESS_CODES_PER_HOUR",
                "must be at least 1",
            );
        }
        if lim.ip_interactions == 0 || !(1..=86_400).contains(&lim.ip_interactions_window_secs) {
            return invalid(
                "limits.ip_interactions",
                "ONEID_LIMITS__IP_INTERACTIONS",
                "must be at least 1, ip_interactions_window_secs between 1 and 86400",
            );
        }
        let o = &self.oauth;
        if !(1..=600).contains(&o.authorization_code_ttl_secs) {
            return invalid(
                "oauth.authorization_code_ttl_secs",
                "ONEID_OAUTH__AUTHORIZATION_CODE_TTL_SECS",
                "must be between 1 and 600",
            );
        }
        if o.access_token_ttl_secs < 1 || o.id_token_ttl_secs < 1 || o.refresh_token_ttl_secs < 1 {
            return invalid(
                "oauth",
                "ONEID_OAUTH__*",
                "token lifetimes must be positive",
            );
        }
        if self.keys.rotate_after_days < 1
            || self.keys.publish_retired_for_secs < o.access_token_ttl_secs.max(o.id_token_ttl_secs)
        {
            return invalid(
                "keys",
                "ONEID_KEYS__*",
                "rotate_after_days must be positive and publish_retired_for_secs at least the longest token lifetime",
            );
        }
        if self.audit.retention_days > 36_500 {
            return invalid(
                "audit.retention_days",
                "ONEID_AUDIT__RETENTION_DAYS",
                "must be between 0 (keep forever) and 36500",
            );
        }
        let r = &self.retention;
        if [r.grants_days, r.sessions_days, r.backchannel_days]
            .iter()
            .any(|days| !(1..=36_500).contains(days))
        {
            return invalid(
                "retention",
                "ONEID_RETENTION__*",
                "grants_days, sessions_days and backchannel_days must be between 1 and 36500",
            );
        }
        if self.database.pool_size == 0 {
            return invalid(
                "database.pool_size",
                "ONEID_DATABASE__POOL_SIZE",
                "must be at least 1",
            );
        }
        if self.database.connect_timeout_secs == 0 {
            return invalid(
                "database.connect_timeout_secs",
                "ONEID_DATABASE__CONNECT_TIMEOUT_SECS",
                "must be at least 1",
            );
        }
        // PostgreSQL's statement_timeout is a 32-bit count of milliseconds; 0 would disable it.
        if !(1..=i32::MAX as u64).contains(&self.database.statement_timeout_ms) {
            return invalid(
                "database.statement_timeout_ms",
                "ONEID_DATABASE__STATEMENT_TIMEOUT_MS",
                "must be between 1 and 2147483647",
            );
        }
        let f = &self.second_factor;
        if f.remember_browser_days > 365
            || !(60..=3600).contains(&f.pending_secs)
            || !(1..=20).contains(&f.tries_per_step)
            || !(60..=3600).contains(&f.enrolment_secs)
        {
            return invalid(
                "second_factor",
                "ONEID_SECOND_FACTOR__*",
                "remember_browser_days at most 365 (0: not offered), pending_secs and enrolment_secs between 60 and 3600, tries_per_step between 1 and 20",
            );
        }
        if let Some(token) = &self.metrics.token
            && (token.expose().len() < METRICS_TOKEN_MIN_LEN
                || !token.expose().bytes().all(|b| b.is_ascii_graphic()))
        {
            return invalid(
                "metrics.token",
                "ONEID_METRICS__TOKEN",
                "must be at least 24 printable characters without spaces (for example `openssl rand -hex 32`)",
            );
        }
        if self
            .metrics
            .listen
            .is_some_and(|at| at.port() != 0 && at == self.listen)
        {
            return invalid(
                "metrics.listen",
                "ONEID_METRICS__LISTEN",
                "must differ from `listen`: the public listener serves /metrics only with `metrics.token`",
            );
        }
        if let Some(smtp) = &self.smtp {
            if smtp.from.parse::<lettre::message::Mailbox>().is_err() {
                return invalid(
                    "smtp.from",
                    "ONEID_SMTP__FROM",
                    "must be an address such as `OneID <no-reply@example.com>`",
                );
            }
            if smtp.username.is_some() != smtp.password.is_some() {
                return invalid(
                    "smtp.username",
                    "ONEID_SMTP__USERNAME",
                    "username and password go together",
                );
            }
        }
        if let Some(sms) = &self.sms
            && serde_json::from_str::<serde_json::Value>(&sms.body_template).is_err()
        {
            return invalid(
                "sms.body_template",
                "ONEID_SMS__BODY_TEMPLATE",
                "must be a JSON document",
            );
        }
        if let Some(header) = self
            .sms
            .as_ref()
            .and_then(|s| s.idempotency_header.as_deref())
            && reqwest::header::HeaderName::from_bytes(header.as_bytes()).is_err()
        {
            return invalid(
                "sms.idempotency_header",
                "ONEID_SMS__IDEMPOTENCY_HEADER",
                "must be an HTTP header name such as Idempotency-Key",
            );
        }
        self.check_phone_channels()?;
        self.check_production_transports()
    }

    /// `delivery.phone_channels` names each channel at most once, at least one, and only
    /// channels that can send: WhatsApp needs `[whatsapp]`; SMS needs `[sms]` or, for a
    /// loopback issuer, the outbox. A `[whatsapp]` section has its English template.
    fn check_phone_channels(&self) -> Result<(), SettingsError> {
        let invalid = |key, env, reason: String| Err(SettingsError::Invalid { key, env, reason });
        let (key, env) = ("delivery.phone_channels", "ONEID_DELIVERY__PHONE_CHANNELS");
        let channels = &self.delivery.phone_channels;
        if channels.is_empty() && !self.limits.sms_countries.is_empty() {
            return invalid(
                key,
                env,
                "names no channel, but limits.sms_countries serves phone numbers; set [\"sms\"], or limits.sms_countries = [] for email only".into(),
            );
        }
        for (i, channel) in channels.iter().enumerate() {
            if channels[..i].contains(channel) {
                return invalid(key, env, format!("names `{}` twice", channel.as_str()));
            }
            if *channel == PhoneChannel::Whatsapp && self.whatsapp.is_none() {
                return invalid(
                    key,
                    env,
                    "names `whatsapp`, which is not configured: add a [whatsapp] section (ONEID_WHATSAPP__URL, ONEID_WHATSAPP__TOKEN, ONEID_WHATSAPP__TEMPLATES, ONEID_WHATSAPP__TIMEOUT_SECS) or remove it".into(),
                );
            }
        }
        if let Some(whatsapp) = &self.whatsapp {
            let (key, env) = ("whatsapp.templates", "ONEID_WHATSAPP__TEMPLATES");
            if !whatsapp
                .templates
                .contains_key(crate::i18n::Lang::En.code())
            {
                return invalid(
                    key,
                    env,
                    "needs an `en` template, which serves every language without its own".into(),
                );
            }
            for (lang, template) in &whatsapp.templates {
                if crate::i18n::Lang::from_code(lang).is_none() {
                    return invalid(
                        key,
                        env,
                        format!("`{lang}` is not a language OneID speaks (en, hi)"),
                    );
                }
                if template.name.trim().is_empty() || template.language.trim().is_empty() {
                    return invalid(
                        key,
                        env,
                        format!("the `{lang}` template needs a name and a language"),
                    );
                }
            }
            if !channels.contains(&PhoneChannel::Whatsapp) {
                return invalid(
                    "delivery.phone_channels",
                    "ONEID_DELIVERY__PHONE_CHANNELS",
                    "[whatsapp] is set but delivery.phone_channels does not name `whatsapp`, so it would never be used".into(),
                );
            }
        }
        Ok(())
    }

    /// Production never writes codes to a file: with a public (non-loopback) issuer, every
    /// channel that can carry a code needs its transport. Email is always a channel; SMS is one
    /// unless `limits.sms_countries` is empty (email only). The outbox stays the default for a
    /// loopback issuer (development, tests, the demo).
    fn check_production_transports(&self) -> Result<(), SettingsError> {
        if self.issuer.host_str().is_some_and(is_loopback_host) {
            return Ok(());
        }
        let mut missing = Vec::new();
        if self.smtp.is_none() {
            missing.push(
                "ONEID_SMTP__HOST, ONEID_SMTP__PORT, ONEID_SMTP__TLS, ONEID_SMTP__FROM ([smtp])",
            );
        }
        if self.sms.is_none() && !self.limits.sms_countries.is_empty() {
            missing.push(
                "ONEID_SMS__URL, ONEID_SMS__BODY_TEMPLATE, ONEID_SMS__TIMEOUT_SECS ([sms]), or ONEID_LIMITS__SMS_COUNTRIES='[]' for email only",
            );
        }
        if missing.is_empty() {
            return Ok(());
        }
        Err(SettingsError::Invalid {
            key: "smtp / sms",
            env: "ONEID_SMTP__* / ONEID_SMS__*",
            reason: format!(
                "the issuer {} is public, so verification codes must not go to the development outbox file; set {}",
                self.issuer,
                missing.join("; and ")
            ),
        })
    }

    /// Cookies carry `Secure` (and the `__Host-` prefix) when the public URL is https.
    pub fn secure_cookies(&self) -> bool {
        self.issuer.scheme() == "https"
    }

    pub fn code_ttl(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.codes.ttl_secs)
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.database.connect_timeout_secs)
    }
}

/// The backend a database URL names, read from its scheme. Decided here, below `db`, because
/// the settings are checked before anything connects; `db` opens what this names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A file path; its folder is created on first use.
    Sqlite(String),
    /// The whole `postgres://` or `postgresql://` URL, as libpq reads it; shown redacted.
    Postgres(SecretUrl),
}

/// A database URL naming neither SQLite nor PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unsupported database URL (expected sqlite://PATH, postgres://... or postgresql://...)")]
pub struct UnsupportedDatabaseUrl;

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, UnsupportedDatabaseUrl> {
        match url.split_once("://") {
            Some(("sqlite", path)) if !path.is_empty() => Ok(Self::Sqlite(path.to_owned())),
            Some(("postgres" | "postgresql", _)) => Ok(Self::Postgres(url.into())),
            _ => Err(UnsupportedDatabaseUrl),
        }
    }
}

/// A Redis URL the store can use: `redis://` with a host. Reasons never echo the password.
fn check_redis_url(url: &str) -> Result<(), String> {
    let parsed = Url::parse(url).map_err(|_| {
        format!(
            "`{}` is not a URL such as redis://host:6379",
            redact_url(url)
        )
    })?;
    match parsed.scheme() {
        "redis" if parsed.host_str().is_some_and(|h| !h.is_empty()) => {}
        "redis" => return Err(format!("`{}` names no host", redact_url(url))),
        // The build carries no TLS stack for Redis; failing here beats failing at first use.
        "rediss" => {
            return Err(
                "rediss:// (TLS) is not supported by this build; use redis:// on a private network or a TLS tunnel such as stunnel"
                    .to_owned(),
            );
        }
        _ => {
            return Err(format!("`{}` must start with redis://", redact_url(url)));
        }
    }
    redis::Client::open(url)
        .map(drop)
        .map_err(|_| format!("`{}` is not a valid Redis URL", redact_url(url)))
}

/// `ONEID_*` variables that belong to tools, not to the settings: the `--config` flag's own
/// variable, the demo apps' `ONEID_APP_*`, and the test switches. Everything else under the
/// prefix must be a setting, so a typo still stops the start with its name.
fn is_tool_variable(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key == "config"
        || key.starts_with("app_")
        || key.starts_with("require_")
        || key.starts_with("test_")
}

/// Figment names the key; add the environment variable people will actually set.
fn describe_figment_error(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let path = e.path.join(".");
            if path.is_empty() {
                format!("invalid settings: {}", e.kind)
            } else {
                let env = format!("ONEID_{}", e.path.join("__").to_ascii_uppercase());
                format!("invalid setting `{path}` ({env}): {}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
#[expect(
    clippy::result_large_err,
    reason = "figment::Jail's closures return figment::Error"
)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Settings::default().validate().unwrap();
    }

    #[test]
    fn the_bot_check_mode_comes_from_the_environment_and_its_bounds_name_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ONEID_BOT_CHECK__MODE", "always");
            jail.set_env("ONEID_BOT_CHECK__HARD_WAIT_SECS", "20");
            let settings = Settings::load(None, &FlagOverrides::default()).unwrap();
            assert_eq!(settings.bot_check.mode, BotCheckMode::Always);
            assert_eq!(settings.bot_check.hard_wait_secs, 20);
            jail.set_env("ONEID_BOT_CHECK__MODE", "sometimes");
            let err = Settings::load(None, &FlagOverrides::default()).unwrap_err();
            assert!(err.to_string().contains("ONEID_BOT_CHECK__MODE"), "{err}");
            Ok(())
        });
        type Breaks = fn(&mut BotCheckSettings);
        let bad: [(&str, Breaks); 5] = [
            ("ONEID_BOT_CHECK__CHALLENGE_TTL_SECS", |b| {
                b.challenge_ttl_secs = 5
            }),
            ("ONEID_BOT_CHECK__HARD_MAX_NUMBER", |b| {
                b.hard_max_number = 2_000_000
            }),
            ("ONEID_BOT_CHECK__EASY_MAX_NUMBER", |b| {
                b.easy_max_number = 600_000
            }),
            ("ONEID_BOT_CHECK__EASY_WAIT_SECS", |b| b.easy_wait_secs = 0),
            ("ONEID_BOT_CHECK__SMS_LOAD_PERCENT", |b| {
                b.sms_load_percent = 101
            }),
        ];
        for (env, breaks) in bad {
            let mut settings = Settings::default();
            breaks(&mut settings.bot_check);
            let err = settings.validate().unwrap_err().to_string();
            assert!(err.contains(env), "{env}: {err}");
        }
    }

    #[test]
    fn database_urls_name_a_backend_and_timeouts_are_bounded() {
        for url in ["postgres://oneid:pw@db/oneid", "postgresql://db/oneid"] {
            let settings = Settings {
                database_url: url.into(),
                ..Settings::default()
            };
            settings.validate().unwrap();
        }
        let mysql = Settings {
            database_url: "mysql://db/oneid".into(),
            ..Settings::default()
        };
        let err = mysql.validate().unwrap_err().to_string();
        assert!(
            err.contains("sqlite://, postgres:// or postgresql://"),
            "{err}"
        );
        for statement_timeout_ms in [0, 1 << 31] {
            let mut settings = Settings::default();
            settings.database.statement_timeout_ms = statement_timeout_ms;
            let err = settings.validate().unwrap_err().to_string();
            assert!(err.contains("statement_timeout_ms"), "{err}");
        }
    }

    #[test]
    fn environment_overrides_defaults_and_flags_override_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ONEID_LISTEN", "127.0.0.1:9000");
            jail.set_env("ONEID_DEFAULT_REGION", "us");
            jail.set_env("ONEID_SESSION__IDLE_TIMEOUT_SECS", "600");
            jail.set_env("ONEID_DATABASE_URL", "sqlite://from-env.db");
            let flags = FlagOverrides {
                database_url: Some("sqlite://from-flag.db".into()),
                ..Default::default()
            };
            let settings = Settings::load(None, &flags).unwrap();
            assert_eq!(settings.listen.port(), 9000);
            assert_eq!(settings.default_region.to_string(), "US");
            assert_eq!(settings.session.idle_timeout_secs, 600);
            assert_eq!(settings.database_url, "sqlite://from-flag.db");
            Ok(())
        });
    }

    #[test]
    fn debug_output_never_shows_a_url_password() {
        let settings = Settings {
            database_url: "postgres://oneid:pg-secret-1@db:5432/oneid".into(),
            redis_url: Some("redis://:redis-secret-2@cache:6379".into()),
            ..Settings::default()
        };
        let shown = format!("{settings:?}");
        assert!(shown.contains("db:5432") && shown.contains("cache:6379"));
        assert!(!shown.contains("pg-secret-1") && !shown.contains("redis-secret-2"));
    }

    #[test]
    fn trusted_proxies_are_read_from_the_environment_as_a_list() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ONEID_TRUSTED_PROXIES", r#"["10.0.0.0/8", "fd00::/8"]"#);
            let settings = Settings::load(None, &FlagOverrides::default()).unwrap();
            assert_eq!(settings.trusted_proxies.len(), 2);
            assert!(
                settings.trusted_proxies[0]
                    .contains(&"10.1.2.3".parse::<std::net::IpAddr>().unwrap())
            );
            jail.set_env("ONEID_TRUSTED_PROXIES", r#"["not-a-network"]"#);
            assert!(Settings::load(None, &FlagOverrides::default()).is_err());
            Ok(())
        });
    }

    #[test]
    fn tool_variables_under_the_prefix_are_not_settings_but_typos_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ONEID_CONFIG", "unused-here.toml");
            jail.set_env("ONEID_REQUIRE_BROWSER", "1");
            jail.set_env("ONEID_APP_CLIENT_ID", "x");
            Settings::load(None, &FlagOverrides::default()).unwrap();
            jail.set_env("ONEID_LISTN", "127.0.0.1:1");
            let err = Settings::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("listn"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn file_is_read_before_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "oneid.toml",
                "listen = \"127.0.0.1:7000\"\noutbox = \"mail.jsonl\"\n[codes]\nmax_tries = 3\n",
            )?;
            jail.set_env("ONEID_OUTBOX", "env.jsonl");
            let settings = Settings::load(
                Some(std::path::Path::new("oneid.toml")),
                &FlagOverrides::default(),
            )
            .unwrap();
            assert_eq!(settings.listen.port(), 7000);
            assert_eq!(settings.codes.max_tries, 3);
            assert_eq!(settings.outbox, PathBuf::from("env.jsonl"));
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_the_key_and_its_variable() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ONEID_LISTEN", "not-an-address");
            let err = Settings::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("`listen`") && err.contains("ONEID_LISTEN"),
                "{err}"
            );
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.set_env("ONEID_DEFAULT_REGION", "XX");
            let err = Settings::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("default_region") && err.contains("ONEID_DEFAULT_REGION"),
                "{err}"
            );
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.set_env("ONEID_ISSUER", "http://id.example.com");
            let err = Settings::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("`issuer`") && err.contains("https"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn redis_urls_are_checked_without_echoing_their_password() {
        let with = |url: &str| Settings {
            redis_url: Some(url.into()),
            ..Settings::default()
        };
        with("redis://:hunter2@cache:6379/2").validate().unwrap();
        with("redis://127.0.0.1").validate().unwrap();
        for bad in [
            "http://:hunter2@cache:6379",
            "rediss://:hunter2@cache:6379",
            "redis://:hunter2@cache:6379/not-a-db",
            "redis://:hunter2@",
            "cache:hunter2@6379",
        ] {
            let err = with(bad).validate().unwrap_err().to_string();
            assert!(
                err.contains("redis_url")
                    && err.contains("ONEID_REDIS_URL")
                    && !err.contains("hunter2"),
                "{bad}: {err}"
            );
        }
        let err = with("rediss://cache:6379")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("TLS"), "{err}");
    }

    #[test]
    fn redis_section_is_read_and_checked() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ONEID_REDIS__KEY_PREFIX", "staging:");
            jail.set_env("ONEID_REDIS__RESPONSE_TIMEOUT_MS", "250");
            let settings = Settings::load(None, &FlagOverrides::default()).unwrap();
            assert_eq!(settings.redis.key_prefix, "staging:");
            assert_eq!(settings.redis.response_timeout_ms, 250);
            assert_eq!(settings.redis.connect_timeout_ms, 1_000);
            jail.set_env("ONEID_REDIS__KEY_PREFIX", "");
            let err = Settings::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("ONEID_REDIS__KEY_PREFIX"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn memory_store_ceiling_is_read_and_checked() {
        figment::Jail::expect_with(|jail| {
            let settings = Settings::load(None, &FlagOverrides::default()).unwrap();
            assert_eq!(settings.memory_store.max_bytes(), 1024 << 20);
            jail.set_env("ONEID_MEMORY_STORE__MAX_MIB", "64");
            let settings = Settings::load(None, &FlagOverrides::default()).unwrap();
            assert_eq!(settings.memory_store.max_bytes(), 64 << 20);
            for bad in ["0", "1048577"] {
                jail.set_env("ONEID_MEMORY_STORE__MAX_MIB", bad);
                let err = Settings::load(None, &FlagOverrides::default())
                    .unwrap_err()
                    .to_string();
                assert!(err.contains("ONEID_MEMORY_STORE__MAX_MIB"), "{bad}: {err}");
            }
            Ok(())
        });
    }

    #[test]
    fn demo_code_echo_is_refused_outside_a_loopback_demo() {
        let demo = Settings {
            demo_echo_codes: true,
            ..Settings::default()
        };
        demo.validate().unwrap();
        let production = Settings {
            demo_echo_codes: true,
            issuer: Url::parse("https://id.example.com").unwrap(),
            ..Settings::default()
        };
        assert!(
            production
                .validate()
                .unwrap_err()
                .to_string()
                .contains("demo_echo_codes")
        );
    }

    #[test]
    fn a_public_issuer_without_transports_is_refused_and_the_message_names_what_is_missing() {
        let public = Settings {
            issuer: Url::parse("https://id.example.com").unwrap(),
            ..Settings::default()
        };
        let err = public.validate().unwrap_err().to_string();
        for name in [
            "ONEID_SMTP__HOST",
            "ONEID_SMTP__FROM",
            "ONEID_SMS__URL",
            "outbox",
        ] {
            assert!(err.contains(name), "{name}: {err}");
        }
        let smtp = SmtpSettings {
            host: "mail".into(),
            port: 587,
            tls: SmtpTls::Starttls,
            username: None,
            password: None,
            from: "OneID <no-reply@example.com>".into(),
            timeout_secs: 10,
        };
        let email_only_missing_sms = Settings {
            smtp: Some(smtp.clone()),
            ..public.clone()
        };
        let err = email_only_missing_sms.validate().unwrap_err().to_string();
        assert!(
            err.contains("ONEID_SMS__URL") && !err.contains("ONEID_SMTP__HOST"),
            "{err}"
        );
        let mut email_only = email_only_missing_sms.clone();
        email_only.limits.sms_countries = Vec::new();
        email_only.validate().unwrap();
        let both = Settings {
            sms: Some(SmsGatewaySettings {
                idempotency_header: Some("Idempotency-Key".into()),
                ..SmsGatewaySettings::generic(
                    "https://sms.example.com/send".parse().unwrap(),
                    r#"{"to":"{to}","text":"{text}"}"#,
                )
            }),
            ..email_only_missing_sms
        };
        both.validate().unwrap();
        // Loopback issuers (development, the demo, *.localhost) keep the outbox.
        for loopback in [
            "http://127.0.0.1:8080",
            "https://oneid.localhost",
            "http://[::1]:8080",
        ] {
            let dev = Settings {
                issuer: Url::parse(loopback).unwrap(),
                ..Settings::default()
            };
            dev.validate().unwrap();
        }
    }

    #[test]
    fn from_the_environment_a_public_issuer_without_smtp_does_not_start() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ONEID_ISSUER", "https://id.example.com");
            let err = Settings::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("ONEID_SMTP__HOST"), "{err}");
            jail.set_env("ONEID_SMTP__HOST", "mail.example.com");
            jail.set_env("ONEID_SMTP__PORT", "587");
            jail.set_env("ONEID_SMTP__TLS", "starttls");
            jail.set_env("ONEID_SMTP__FROM", "OneID <no-reply@example.com>");
            jail.set_env("ONEID_SMTP__TIMEOUT_SECS", "10");
            jail.set_env("ONEID_LIMITS__SMS_COUNTRIES", "[]");
            Settings::load(None, &FlagOverrides::default()).unwrap();
            Ok(())
        });
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let smtp = SmtpSettings {
            host: "mail".into(),
            port: 587,
            tls: SmtpTls::Starttls,
            username: Some("u".into()),
            password: Some("hunter2".into()),
            from: "OneID <no-reply@example.com>".into(),
            timeout_secs: 10,
        };
        assert!(!format!("{smtp:?}").contains("hunter2"));
    }

    #[test]
    fn debug_output_of_the_whole_settings_shows_no_secret() {
        let mut settings = Settings {
            database_url: "postgres://oneid:pg-secret-1@db:5432/oneid?password=pg-secret-2".into(),
            redis_url: Some("redis://:redis-secret-3@cache:6379".into()),
            ..Settings::default()
        };
        settings.keys.encryption_key = Some("kek-secret-4".into());
        settings.smtp = Some(SmtpSettings {
            host: "mail".into(),
            port: 587,
            tls: SmtpTls::Starttls,
            username: Some("mailer".into()),
            password: Some("smtp-secret-5".into()),
            from: "OneID <no-reply@example.com>".into(),
            timeout_secs: 10,
        });
        settings.sms = Some(SmsGatewaySettings {
            auth_header: Some("Bearer sms-secret-7".into()),
            ..SmsGatewaySettings::generic(
                "https://gateway:sms-secret-6@sms.example.com/send"
                    .parse()
                    .unwrap(),
                r#"{"to":"{to}","text":"{text}"}"#,
            )
        });
        let shown = format!("{settings:?}");
        for secret in [
            "pg-secret-1",
            "pg-secret-2",
            "redis-secret-3",
            "kek-secret-4",
            "smtp-secret-5",
            "sms-secret-6",
            "sms-secret-7",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        // What is not secret stays readable.
        for visible in [
            "db:5432",
            "cache:6379",
            "mailer",
            "sms.example.com",
            "keys.secret",
        ] {
            assert!(shown.contains(visible), "{visible} missing from {shown}");
        }
    }

    #[test]
    fn metrics_settings_are_read_checked_and_the_token_never_shown() {
        figment::Jail::expect_with(|jail| {
            let settings = Settings::load(None, &FlagOverrides::default()).unwrap();
            assert!(settings.metrics.listen.is_none() && settings.metrics.token.is_none());
            jail.set_env("ONEID_METRICS__LISTEN", "127.0.0.1:9464");
            jail.set_env("ONEID_METRICS__TOKEN", "metrics-token-0123456789abcdef");
            let settings = Settings::load(None, &FlagOverrides::default()).unwrap();
            assert_eq!(
                settings.metrics.listen,
                Some("127.0.0.1:9464".parse().unwrap())
            );
            assert_eq!(
                settings.metrics.token.as_ref().map(Secret::expose),
                Some("metrics-token-0123456789abcdef")
            );
            assert!(!format!("{settings:?}").contains("metrics-token-0123456789abcdef"));

            jail.set_env("ONEID_METRICS__TOKEN", "short");
            let err = Settings::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("ONEID_METRICS__TOKEN") && !err.contains("short"),
                "{err}"
            );
            jail.set_env("ONEID_METRICS__TOKEN", "metrics-token-0123456789abcdef");
            jail.set_env("ONEID_METRICS__LISTEN", "127.0.0.1:8080");
            let err = Settings::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("ONEID_METRICS__LISTEN"), "{err}");
            jail.set_env("ONEID_METRICS__LISTEN", "not-an-address");
            let err = Settings::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("ONEID_METRICS__LISTEN"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn secrets_are_read_from_the_environment_whole() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ONEID_KEYS__ENCRYPTION_KEY", "kek-from-env");
            jail.set_env("ONEID_DATABASE_URL", "postgres://oneid:pw@db/oneid");
            let settings = Settings::load(None, &FlagOverrides::default()).unwrap();
            assert_eq!(
                settings.keys.encryption_key.as_ref().map(Secret::expose),
                Some("kek-from-env")
            );
            assert_eq!(settings.database_url, "postgres://oneid:pw@db/oneid");
            Ok(())
        });
    }
}
