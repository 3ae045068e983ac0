//! `oneid audit --since WHEN`: an RFC 3339 instant, or a span back from now such as `24h`.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};

/// Where a listing of the audit log starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// An instant, written in RFC 3339 (`2026-11-24T09:30:00Z`, `2026-11-24T15:00:00+05:30`).
    At(DateTime<Utc>),
    /// This long before now: a whole number and a unit, `s`, `m`, `h`, `d` or `w` (`30m`, `7d`).
    Ago(Duration),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is neither an RFC 3339 instant (2026-11-24T09:30:00Z) nor a span such as 30m, 24h or 7d"
)]
pub struct SinceError(String);

impl Since {
    /// The instant itself, or `now` minus the span.
    pub fn resolve(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::At(at) => at,
            Self::Ago(span) => now
                .checked_sub_signed(span)
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
        }
    }
}

impl FromStr for Since {
    type Err = SinceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let trimmed = input.trim();
        let refuse = || SinceError(input.to_owned());
        if let Ok(at) = DateTime::parse_from_rfc3339(trimmed) {
            return Ok(Self::At(at.with_timezone(&Utc)));
        }
        let split = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(refuse)?;
        let (number, unit) = trimmed.split_at(split);
        let number: i64 = number.parse().map_err(|_| refuse())?;
        let seconds_per_unit = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 24 * 3600,
            "w" => 7 * 24 * 3600,
            _ => return Err(refuse()),
        };
        number
            .checked_mul(seconds_per_unit)
            .and_then(Duration::try_seconds)
            .map(Self::Ago)
            .ok_or_else(refuse)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn since(s: &str) -> Result<Since, SinceError> {
        s.parse()
    }

    #[test]
    fn spans_count_back_from_now() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
        for (input, back) in [
            ("30m", Duration::minutes(30)),
            ("24h", Duration::hours(24)),
            ("7d", Duration::days(7)),
            ("2w", Duration::weeks(2)),
            ("90s", Duration::seconds(90)),
            ("0h", Duration::zero()),
            (" 1d ", Duration::days(1)),
        ] {
            let parsed = since(input).unwrap();
            assert_eq!(parsed, Since::Ago(back), "{input}");
            assert_eq!(parsed.resolve(now), now - back, "{input}");
        }
    }

    #[test]
    fn instants_are_rfc3339_in_any_offset() {
        let now = Utc::now();
        let utc = Utc.with_ymd_and_hms(2026, 11, 24, 9, 30, 0).unwrap();
        for input in [
            "2026-11-24T09:30:00Z",
            "2026-11-24T15:00:00+05:30",
            "2026-11-24t09:30:00z",
        ] {
            assert_eq!(since(input).unwrap().resolve(now), utc, "{input}");
        }
        assert_eq!(
            since("2026-11-24T09:30:00.250Z").unwrap(),
            Since::At(utc + Duration::milliseconds(250))
        );
    }

    #[test]
    fn anything_else_is_refused_with_the_accepted_forms() {
        for input in [
            "",
            "h",
            "24",
            "24x",
            "-1h",
            "1.5h",
            "24 h",
            "1H",
            "yesterday",
            "2026-11-24",
            "2026-11-24 09:30:00",
            "99999999999999999999d",
        ] {
            let err = since(input).unwrap_err().to_string();
            assert!(
                err.contains("RFC 3339") && err.contains("24h"),
                "{input}: {err}"
            );
        }
        // Too far back for a timestamp: refused rather than wrapping around.
        assert!(since("9223372036854775807s").is_err());
        let far = since("99999999d").unwrap();
        assert_eq!(far.resolve(Utc::now()), DateTime::<Utc>::MIN_UTC);
    }
}
