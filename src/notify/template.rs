//! What an SMS says and what the gateway is sent: the message kinds (a code's purpose or a
//! notice), their per-language texts and DLT template IDs, the gateway body's variables, and
//! the GSM-7 / UCS-2 segment count of a text.
//!
//! India's TRAI rules (TCCCPR 2018) drop a commercial SMS unless it carries a registered
//! template ID and its text matches that template; one template is registered per text and
//! language. So each kind of message has its own text and template ID per language, and the
//! start-up check refuses a configuration that would send a message its template cannot match.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Notice;
use crate::{config::SmsTemplate, domain::CodePurpose, i18n::Lang};

/// One kind of message: a code for a purpose, or a security notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Code(CodePurpose),
    Notice(Notice),
}

impl MessageKind {
    pub const ALL: [MessageKind; 17] = [
        Self::Code(CodePurpose::Signup),
        Self::Code(CodePurpose::Login),
        Self::Code(CodePurpose::Reset),
        Self::Code(CodePurpose::Unlock),
        Self::Code(CodePurpose::Reauth),
        Self::Code(CodePurpose::Contact),
        Self::Code(CodePurpose::Delete),
        Self::Notice(Notice::Locked),
        Self::Notice(Notice::PasswordChanged),
        Self::Notice(Notice::ContactAdded),
        Self::Notice(Notice::ContactChanged),
        Self::Notice(Notice::ContactRemoved),
        Self::Notice(Notice::AccountDeleted),
        Self::Notice(Notice::NewBrowser),
        Self::Notice(Notice::SecurityMethodAdded),
        Self::Notice(Notice::SecurityMethodRemoved),
        Self::Notice(Notice::RecoveryCodeUsed),
    ];

    /// The key under `[sms.templates]` and the `{purpose}` variable: the code's purpose, or the
    /// notice's label with underscores (environment variable names cannot hold a hyphen).
    pub fn key(self) -> &'static str {
        match self {
            Self::Code(purpose) => purpose.as_str(),
            Self::Notice(notice) => match notice {
                Notice::Locked => "lock_notice",
                Notice::PasswordChanged => "password_notice",
                Notice::ContactAdded => "contact_added_notice",
                Notice::ContactChanged => "contact_changed_notice",
                Notice::ContactRemoved => "contact_removed_notice",
                Notice::AccountDeleted => "deleted_notice",
                Notice::NewBrowser => "new_browser_notice",
                Notice::SecurityMethodAdded => "method_added_notice",
                Notice::SecurityMethodRemoved => "method_removed_notice",
                Notice::RecoveryCodeUsed => "recovery_used_notice",
            },
        }
    }

    /// The variables this kind's text may use.
    pub fn text_variables(self) -> &'static [&'static str] {
        match self {
            Self::Code(_) => &["code", "minutes"],
            Self::Notice(Notice::NewBrowser) => &["host", "browser"],
            // The method added or removed, in the account's language.
            Self::Notice(Notice::SecurityMethodAdded | Notice::SecurityMethodRemoved) => {
                &["host", "method"]
            }
            // The contact added, replaced or removed, masked.
            Self::Notice(
                Notice::ContactAdded | Notice::ContactChanged | Notice::ContactRemoved,
            ) => &["host", "contact"],
            Self::Notice(_) => &["host"],
        }
    }

    /// The variables the gateway body may use for this kind: a notice has no code.
    pub fn body_variables(self) -> &'static [&'static str] {
        match self {
            Self::Code(_) => &BODY_VARIABLES,
            Self::Notice(_) => &BODY_VARIABLES[..BODY_VARIABLES.len() - 1],
        }
    }
}

/// Every variable a gateway body may name (`{code}` last: notices have everything else).
pub const BODY_VARIABLES: [&str; 9] = [
    "to",
    "to_digits",
    "text",
    "purpose",
    "lang",
    "template_id",
    "entity_id",
    "sender_id",
    "code",
];

/// The `{name}` placeholders in `s`: a brace, lower-case letters, digits or `_`, a brace.
/// Anything else between braces is text, not a placeholder.
pub fn placeholders(s: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(['}', '{']) else {
            break;
        };
        let name = &after[..close];
        if after[close..].starts_with('}')
            && !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            found.push(name);
        }
        rest = &after[close..];
    }
    found
}

/// Replaces each `{name}` of `values` in `s`. Placeholders were checked at start, so every one
/// left in `s` has a value.
pub fn fill_text(s: &str, values: &[(&str, &str)]) -> String {
    let mut out = s.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Fills every string inside the parsed JSON `template`. Substituting into parsed JSON, not
/// into its text, keeps each value inside its string: a message can never break out of it,
/// and `serde_json` escapes it when the body is written.
pub fn fill_json(template: &Value, values: &[(&str, &str)]) -> Value {
    match template {
        Value::String(s) => Value::String(fill_text(s, values)),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill_json(v, values)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill_json(v, values)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Every placeholder in the strings of `template`.
pub fn json_placeholders(template: &Value) -> Vec<String> {
    match template {
        Value::String(s) => placeholders(s).into_iter().map(str::to_owned).collect(),
        Value::Array(items) => items.iter().flat_map(json_placeholders).collect(),
        Value::Object(map) => map.values().flat_map(json_placeholders).collect(),
        _ => Vec::new(),
    }
}

/// The templates of one gateway, by kind and language.
pub type Templates = BTreeMap<String, BTreeMap<String, SmsTemplate>>;

/// The template for `kind` in `lang`, or in English when that language has none (a Hindi
/// speaker then gets the English text rather than nothing; the start-up check says so).
pub fn template_for(templates: &Templates, kind: MessageKind, lang: Lang) -> Option<&SmsTemplate> {
    let by_lang = templates.get(kind.key())?;
    by_lang
        .get(lang.code())
        .or_else(|| by_lang.get(Lang::En.code()))
}

/// How a text travels: the GSM 7-bit alphabet when every character is in it, else UCS-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// The size of one SMS text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    pub encoding: Encoding,
    /// Septets (GSM-7, an extension character counts two) or UTF-16 code units (UCS-2).
    pub units: usize,
    pub count: usize,
}

/// 3GPP TS 23.038 §6.2.1, the GSM 7-bit default alphabet.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// §6.2.1.1, the extension table: each is sent as an escape and the character (two septets).
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{000C}";

/// How many SMS segments `text` takes: one holds 160 GSM-7 septets or 70 UCS-2 units; a
/// longer text is split into parts of 153 or 67, the rest carrying the concatenation header
/// (3GPP TS 23.040 §9.2.3.24.1).
pub fn segments(text: &str) -> Segments {
    let gsm7: Option<usize> = text
        .chars()
        .map(|c| {
            if GSM7_BASIC.contains(c) {
                Some(1)
            } else if GSM7_EXTENSION.contains(c) {
                Some(2)
            } else {
                None
            }
        })
        .sum();
    let (encoding, units, single, part) = match gsm7 {
        Some(septets) => (Encoding::Gsm7, septets, 160, 153),
        None => (Encoding::Ucs2, text.encode_utf16().count(), 70, 67),
    };
    let count = if units <= single {
        1
    } else {
        units.div_ceil(part)
    };
    Segments {
        encoding,
        units,
        count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_lower_case_names_between_braces() {
        assert_eq!(
            placeholders("{code} is {x_1} {Not} {a b} {} {{to}} {unclosed"),
            ["code", "x_1", "to"]
        );
    }

    #[test]
    fn json_is_filled_inside_strings_only() {
        let template: Value =
            serde_json::from_str(r#"{"to":"{to}","message":{"body":"{text}"},"n":1}"#).unwrap();
        let text = "code \"1234\"\n}, \"evil\": true";
        let filled = fill_json(&template, &[("to", "+919812345678"), ("text", text)]);
        assert_eq!(filled["to"], "+919812345678");
        assert_eq!(filled["message"]["body"], text);
        assert_eq!(filled["n"], 1);
        assert!(filled.get("evil").is_none());
    }

    #[test]
    fn segments_count_gsm7_septets_and_ucs2_units() {
        let plain = "a".repeat(160);
        assert_eq!(
            segments(&plain),
            Segments {
                encoding: Encoding::Gsm7,
                units: 160,
                count: 1
            }
        );
        assert_eq!(segments(&"a".repeat(161)).count, 2);
        assert_eq!(segments(&"a".repeat(306)).count, 2);
        assert_eq!(segments(&"a".repeat(307)).count, 3);
        // An extension character takes two septets.
        assert_eq!(segments(&"€".repeat(80)).units, 160);
        assert_eq!(segments(&"€".repeat(81)).count, 2);
        // One Devanagari letter makes the whole text UCS-2.
        let hindi = format!("{}क", "a".repeat(69));
        assert_eq!(
            segments(&hindi),
            Segments {
                encoding: Encoding::Ucs2,
                units: 70,
                count: 1
            }
        );
        assert_eq!(segments(&format!("{hindi}a")).count, 2);
        assert_eq!(segments(&"क".repeat(134)).count, 2);
        assert_eq!(segments(&"क".repeat(135)).count, 3);
        // Outside the BMP: two UTF-16 units.
        assert_eq!(segments("🙂").units, 2);
    }

    #[test]
    fn every_kind_has_its_own_key() {
        let mut keys: Vec<_> = MessageKind::ALL.iter().map(|k| k.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), MessageKind::ALL.len());
        assert!(keys.iter().all(|k| !k.contains('-')));
    }
}
