//! Typed flag values that fail inside clap, so a bad value is a usage error (exit 2) that
//! names the flag.

use std::time::Duration;

/// Parses a duration: plain seconds (`1.5`) or a number with a unit (`1500ms`, `2s`, `1m`,
/// `250us`, `1h`); see `units::duration`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::units::duration(text)
}

/// Parses a size in bytes: `4194304`, `4MiB`, `512KiB`, `16MB` (KB, MB, GB are powers of
/// 1000; K, KiB, M, MiB, G, GiB powers of 1024).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| {
        format!("`{text}` is not a size; write bytes (4194304) or with a unit (4MiB)")
    })?;
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1000,
        "K" | "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "M" | "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "G" | "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "`{other}` is not a size unit; use B, KiB, MiB, GiB, KB, MB or GB"
            ));
        }
    };
    number
        .checked_mul(multiplier)
        .and_then(|bytes| usize::try_from(bytes).ok())
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// Parses a web origin as browsers send it: `scheme://host` or `scheme://host:port`, nothing
/// after (a trailing `/` is dropped), in ASCII.
/// A rate of calls per second: a positive number. Example: 1500, 0.5
pub fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "`{text}` is not a rate; give calls per second above 0, e.g. 1500"
        )),
    }
}

/// A percentage as a fraction: `10%` (or `10`) is 0.1.
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches('%');
    match number.parse::<f64>() {
        Ok(percent) if percent.is_finite() && percent >= 0.0 => Ok(percent / 100.0),
        _ => Err(format!("`{text}` is not a percentage; write e.g. 10%")),
    }
}

/// `I/N`: shard I (from 0) of N.
pub fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let bad = || format!("`{text}` is not a shard; write I/N with I from 0 to N-1, e.g. 0/4");
    let (index, count) = text.split_once('/').ok_or_else(bad)?;
    let index: u64 = index.trim().parse().map_err(|_| bad())?;
    let count: u64 = count.trim().parse().map_err(|_| bad())?;
    if count == 0 || index >= count {
        return Err(bad());
    }
    Ok((index, count))
}

/// A moment: RFC 3339 (`2026-12-02T16:00:00Z`, fractions and offsets allowed, read as the
/// protobuf Timestamp reads it) or Unix seconds.
pub fn parse_time(text: &str) -> Result<std::time::SystemTime, String> {
    let bad = || {
        format!(
            "`{text}` is not a time; write RFC 3339 in UTC (2026-12-02T16:00:00Z) or Unix seconds"
        )
    };
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        if !(seconds.is_finite() && seconds >= 0.0) {
            return Err(bad());
        }
        return Ok(std::time::UNIX_EPOCH + Duration::from_secs_f64(seconds));
    }
    let timestamp: prost_types::Timestamp = text.parse().map_err(|_| bad())?;
    if timestamp.seconds < 0 {
        return Err(bad());
    }
    std::time::SystemTime::try_from(timestamp).map_err(|_| bad())
}

/// An `--slo` objective (`p99<250ms`), read once, here.
pub fn parse_objective(text: &str) -> Result<crate::bench::slo::Objective, String> {
    text.parse::<crate::bench::slo::Objective>()
        .map_err(|error| match error.hint() {
            Some(hint) => format!("{error} ({hint})"),
            None => error.to_string(),
        })
}

pub fn parse_origin(text: &str) -> Result<String, String> {
    let origin = text.trim().trim_end_matches('/');
    let wrong = || {
        format!(
            "`{text}` is not an origin; write scheme://host[:port] as the browser's address bar shows it, e.g. http://localhost:3000"
        )
    };
    let (scheme, host) = origin.split_once("://").ok_or_else(wrong)?;
    let scheme_ok = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'));
    if scheme_ok && host_ok {
        Ok(origin.to_ascii_lowercase())
    } else {
        Err(wrong())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_every_spelling() {
        assert_eq!(parse_size("4194304").unwrap(), 4 << 20);
        assert_eq!(parse_size("4MiB").unwrap(), 4 << 20);
        assert_eq!(parse_size("4M").unwrap(), 4 << 20);
        assert_eq!(parse_size("16MB").unwrap(), 16_000_000);
        assert_eq!(parse_size("512KiB").unwrap(), 512 << 10);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("4TB").is_err());
    }

    #[test]
    fn durations_in_every_spelling() {
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(
            parse_duration("1500ms").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("250us").unwrap(), Duration::from_micros(250));
    }

    #[test]
    fn bad_durations_are_refused() {
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("3 weeks").is_err());
        assert!(parse_duration("1e400").is_err());
    }

    #[test]
    fn origins_are_scheme_host_and_port() {
        assert_eq!(
            parse_origin("http://localhost:3000/").unwrap(),
            "http://localhost:3000"
        );
        assert_eq!(
            parse_origin("HTTPS://Example.com").unwrap(),
            "https://example.com"
        );
        for bad in ["localhost:3000", "http://", "http://a/b", "http://a b", "*"] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }
}
