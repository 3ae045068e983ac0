//! Message catalogs (Fluent, English and Hindi) and choosing a language for a request.

use std::{borrow::Cow, collections::HashMap};

use fluent_templates::{Loader, fluent_bundle::FluentValue, static_loader};
use unic_langid::{LanguageIdentifier, langid};

static_loader! {
    static CATALOG = {
        locales: "./locales",
        fallback_language: "en",
        // Fluent wraps arguments in Unicode isolation marks by default; they would end up
        // inside SMS texts and form values.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

static EN: LanguageIdentifier = langid!("en");
static HI: LanguageIdentifier = langid!("hi");

/// A language OneID speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Hi,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Hi];

    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Hi => "hi",
        }
    }

    /// The language's own name, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Hi => "हिन्दी",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        let primary = code.split(['-', '_']).next()?.trim();
        Self::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(primary))
    }

    /// The remembered choice wins; then the browser's `Accept-Language` preference order;
    /// then English.
    pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>) -> Self {
        if let Some(lang) = cookie.and_then(Self::from_code) {
            return lang;
        }
        // Preference order (q-values) as the browser sent it; the first we speak wins.
        accept_language
            .map(fluent_langneg::accepted_languages::parse)
            .unwrap_or_default()
            .iter()
            .find_map(|requested| Self::from_code(requested.language.as_str()))
            .unwrap_or_default()
    }

    fn id(self) -> &'static LanguageIdentifier {
        match self {
            Self::En => &EN,
            Self::Hi => &HI,
        }
    }

    /// The message for `key`.
    pub fn t(self, key: &str) -> String {
        CATALOG.lookup(self.id(), key)
    }

    /// The message for `key` with named arguments.
    pub fn t_args(self, key: &str, args: &[(&'static str, String)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue<'_>> = args
            .iter()
            .map(|(k, v)| (Cow::Borrowed(*k), FluentValue::from(v.clone())))
            .collect();
        CATALOG.lookup_with_args(self.id(), key, &args)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every key of every catalog file of `lang` (one file per area: `main.ftl`, `account.ftl`...).
    fn keys(lang: &str) -> BTreeSet<String> {
        let folder = format!("{}/locales/{lang}", env!("CARGO_MANIFEST_DIR"));
        let mut text = String::new();
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "ftl") {
                text.push_str(&std::fs::read_to_string(path).unwrap());
                text.push('\n');
            }
        }
        text.lines()
            .filter(|l| !l.starts_with([' ', '#', '.', '\t', '*', '[', '}']) && l.contains(" ="))
            .map(|l| l.split(" =").next().unwrap().trim().to_owned())
            .collect()
    }

    #[test]
    fn hindi_and_english_catalogs_have_the_same_keys() {
        let (en, hi) = (keys("en"), keys("hi"));
        assert!(en.len() > 40, "catalog unexpectedly small: {}", en.len());
        assert_eq!(
            en.difference(&hi).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "missing in Hindi"
        );
        assert_eq!(
            hi.difference(&en).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "missing in English"
        );
    }

    #[test]
    fn every_key_resolves_in_every_language() {
        // Every variable any message uses, so messages with arguments resolve too.
        let args: HashMap<&str, FluentValue<'_>> = [
            "to", "seconds", "tries", "code", "minutes", "host", "browser", "contact", "name",
            "count", "when", "app", "page", "pages", "method", "days", "total", "since", "until",
        ]
        .into_iter()
        .map(|k| (k, FluentValue::from("1")))
        .collect();
        for key in keys("en") {
            for lang in Lang::ALL {
                let text = CATALOG.lookup_no_default_fallback(lang.id(), &key, Some(&args));
                assert!(text.is_some(), "{key} has no {lang:?} text");
            }
        }
    }

    #[test]
    fn hindi_is_really_hindi() {
        assert!(
            Lang::Hi
                .t("signin-title")
                .chars()
                .any(|c| ('\u{0900}'..='\u{097F}').contains(&c))
        );
    }

    #[test]
    fn arguments_are_substituted_without_isolation_marks() {
        let text = Lang::En.t_args(
            "code-message-text",
            &[("code", "1234".into()), ("minutes", "10".into())],
        );
        assert!(
            text.contains("1234") && !text.contains('\u{2068}'),
            "{text:?}"
        );
    }

    #[test]
    fn negotiation_prefers_cookie_then_accept_language() {
        assert_eq!(Lang::negotiate(None, None), Lang::En);
        assert_eq!(
            Lang::negotiate(None, Some("hi-IN,hi;q=0.9,en;q=0.8")),
            Lang::Hi
        );
        assert_eq!(Lang::negotiate(None, Some("fr-FR, en;q=0.5")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("ta-IN, hi;q=0.7")), Lang::Hi);
        assert_eq!(Lang::negotiate(Some("en"), Some("hi")), Lang::En);
        assert_eq!(Lang::negotiate(Some("garbage"), Some("hi")), Lang::Hi);
    }
}
