//! Settings of one app instance: which app it is, where it listens, and how it finds OneID.
//! Read once from flags, then `ONEID_APP_*` environment variables.

use std::{fmt, net::SocketAddr, str::FromStr};

use clap::{Parser, ValueEnum};
use openidconnect::url::Url;

/// `oneid-app`: one of the demo apps that sign in with OneID.
#[derive(Parser, Clone)]
#[command(name = "oneid-app", version, about)]
pub struct Config {
    /// Which app to run.
    #[arg(long, env = "ONEID_APP_APP", value_enum)]
    pub app: AppKind,
    /// Address to listen on.
    #[arg(long, env = "ONEID_APP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// OneID's issuer URL (discovery is at `{issuer}/.well-known/openid-configuration`).
    #[arg(long, env = "ONEID_APP_ISSUER")]
    pub issuer: String,
    /// This app's client ID at OneID.
    #[arg(long, env = "ONEID_APP_CLIENT_ID")]
    pub client_id: String,
    /// This app's client secret (leave out for a public client: PKCE only).
    #[arg(long, env = "ONEID_APP_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<Secret>,
    /// This app's own base URL, as browsers reach it. Redirect URI: `{public_url}/callback`,
    /// after sign-out: `{public_url}/`, back-channel logout: `{public_url}/backchannel-logout`.
    /// Defaults to `http://{listen}` (with the real port when listening on port 0).
    #[arg(long, env = "ONEID_APP_PUBLIC_URL")]
    pub public_url: Option<PublicUrl>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("app", &self.app)
            .field("listen", &self.listen)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("public_url", &self.public_url)
            .finish()
    }
}

/// The five apps this program can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AppKind {
    Cloud,
    Talk,
    Forum,
    Market,
    Thirdparty,
}

impl AppKind {
    /// The short name: CSS class suffix and cookie name part.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Cloud => "cloud",
            Self::Talk => "talk",
            Self::Forum => "forum",
            Self::Market => "market",
            Self::Thirdparty => "thirdparty",
        }
    }

    /// The name people see.
    pub fn title(self) -> &'static str {
        match self {
            Self::Cloud => "Cloud",
            Self::Talk => "Talk",
            Self::Forum => "Forum",
            Self::Market => "Market",
            Self::Thirdparty => "Photo Printer (third-party)",
        }
    }

    /// One line under the name.
    pub fn tagline(self) -> &'static str {
        match self {
            Self::Cloud => "Your notes, kept safe in the cloud.",
            Self::Talk => "One board where everyone talks.",
            Self::Forum => "Questions, answers and long reads.",
            Self::Market => "Apps for your account, one tap to install.",
            Self::Thirdparty => "Prints of your photos, from an outside company.",
        }
    }

    /// The letter in the logo.
    pub fn initial(self) -> &'static str {
        match self {
            Self::Cloud => "C",
            Self::Talk => "T",
            Self::Forum => "F",
            Self::Market => "M",
            Self::Thirdparty => "P",
        }
    }

    /// The scopes asked for besides `openid`. The company's own apps keep a refresh token;
    /// the third party also asks for the email address, which OneID will ask consent for.
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            Self::Thirdparty => &["profile", "email", "offline_access"],
            _ => &["profile", "offline_access"],
        }
    }

    /// The session cookie's name. Cookies do not separate ports, so every app has its own.
    pub fn cookie_name(self) -> String {
        format!("oneid_app_{}", self.slug())
    }
}

/// A client secret: never printed.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The app's base URL: http(s), no query or fragment, kept without a trailing slash so
/// `{public_url}/callback` is exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `{public_url}{path}`, `path` starting with `/`.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    /// The default for an app listening on `addr`.
    pub fn for_listener(addr: SocketAddr) -> Self {
        Self(format!("http://{addr}"))
    }

    /// Whether cookies should carry `Secure`.
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

impl FromStr for PublicUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let url = Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("the public URL must be http or https".into());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err("the public URL must have no query or fragment".into());
        }
        Ok(Self(s.trim_end_matches('/').to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url_drops_the_trailing_slash() {
        let url: PublicUrl = "http://127.0.0.1:8081/".parse().unwrap();
        assert_eq!(url.join("/callback"), "http://127.0.0.1:8081/callback");
        assert!("ftp://x".parse::<PublicUrl>().is_err());
        assert!("http://x/?a=b".parse::<PublicUrl>().is_err());
    }

    #[test]
    fn flags_parse() {
        let config = Config::try_parse_from([
            "oneid-app",
            "--app",
            "thirdparty",
            "--issuer",
            "http://127.0.0.1:8000",
            "--client-id",
            "abc",
            "--client-secret",
            "s3cret",
            "--listen",
            "127.0.0.1:9001",
        ])
        .unwrap();
        assert_eq!(config.app, AppKind::Thirdparty);
        assert_eq!(config.listen.port(), 9001);
        assert!(!format!("{config:?}").contains("s3cret"));
    }
}
