//! Quantities as people write them on a command line, read in one place for every layer
//! that takes them (flags, and the objectives of `bench --slo`).

use std::time::Duration;

/// Parses a duration: plain seconds (`1.5`) or a number with a unit (`1500ms`, `2s`, `1m`,
/// `250us`, `1h`).
pub fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| {
        format!("`{text}` is not a duration; write seconds (1.5) or a number with a unit (1500ms, 2s, 1m)")
    })?;
    let seconds_per_unit = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        "m" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "`{other}` is not a duration unit; use ns, us, ms, s, m or h"
            ));
        }
    };
    Duration::try_from_secs_f64(value * seconds_per_unit)
        .map_err(|_| format!("`{text}` is out of range for a duration"))
}
