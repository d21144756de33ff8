//! Service-level objectives checked at the end of a run (`--slo 'p99<250ms'`), so that the
//! command can gate CI: latency percentiles and the mean against durations, the error rate
//! against a percentage, the rate against a number.

use super::BenchError;
use super::report::{Report, SloResult};

#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    /// As written, for the report.
    pub text: String,
    metric: Metric,
    op: Op,
    /// Microseconds, a fraction, or calls per second.
    bound: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Metric {
    Percentile(f64),
    Max,
    Mean,
    ErrorRate,
    Rps,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl std::str::FromStr for Objective {
    type Err = BenchError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| BenchError::Slo(format!("`--slo {text}`: {why}"));
        let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let at = squeezed
            .find(['<', '>'])
            .ok_or_else(|| bad("it has no comparison (<, <=, >, >=)"))?;
        let (name, rest) = squeezed.split_at(at);
        let (op, value) = if let Some(value) = rest.strip_prefix("<=") {
            (Op::LessOrEqual, value)
        } else if let Some(value) = rest.strip_prefix(">=") {
            (Op::GreaterOrEqual, value)
        } else if let Some(value) = rest.strip_prefix('<') {
            (Op::Less, value)
        } else {
            (Op::Greater, rest.strip_prefix('>').unwrap_or(rest))
        };
        let name = name.to_ascii_lowercase();
        let metric = match name.as_str() {
            "max" => Metric::Max,
            "mean" | "avg" | "average" => Metric::Mean,
            "error-rate" | "error_rate" | "errors" => Metric::ErrorRate,
            "rps" => Metric::Rps,
            _ => match name.strip_prefix('p').and_then(|p| p.parse::<f64>().ok()) {
                Some(percent) if percent > 0.0 && percent < 100.0 => {
                    Metric::Percentile(percent / 100.0)
                }
                _ => {
                    return Err(bad(&format!(
                        "`{name}` is not a metric: p50, p90, p99, p99.9, p99.99, max, mean, error-rate or rps"
                    )));
                }
            },
        };
        let bound = match metric {
            Metric::Percentile(_) | Metric::Max | Metric::Mean => duration_micros(value)
                .ok_or_else(|| {
                    bad(&format!(
                        "`{value}` is not a duration; write e.g. 250ms, 1.5s or 800us"
                    ))
                })?,
            Metric::ErrorRate => match value.strip_suffix('%') {
                Some(percent) => percent.parse::<f64>().ok().map(|p| p / 100.0),
                None => value.parse::<f64>().ok(),
            }
            .filter(|rate| (0.0..=1.0).contains(rate))
            .ok_or_else(|| {
                bad(&format!(
                    "`{value}` is not a rate; write e.g. 0.1% or 0.001"
                ))
            })?,
            Metric::Rps => value
                .parse::<f64>()
                .ok()
                .filter(|rps| *rps >= 0.0)
                .ok_or_else(|| bad(&format!("`{value}` is not a number of calls per second")))?,
        };
        Ok(Objective {
            text: text.trim().to_string(),
            metric,
            op,
            bound,
        })
    }
}

/// `250ms`, `1.5s`, `800us`, `2m` in microseconds: a duration as flags take it, but with its
/// unit always written (`p99<250` says nothing of how long).
fn duration_micros(text: &str) -> Option<f64> {
    if !text.ends_with(|c: char| c.is_alphabetic()) {
        return None;
    }
    crate::units::duration(text)
        .ok()
        .map(|duration| duration.as_secs_f64() * 1_000_000.0)
}

impl Objective {
    /// The run's value of the metric, and whether it meets the objective.
    pub fn check(&self, report: &Report) -> SloResult {
        let latency = &report.latency;
        let value = match self.metric {
            Metric::Percentile(quantile) => {
                // The exact percentile from the histogram, not the nearest one reported.
                match super::stats::Histogram::decode(&latency.histogram) {
                    Ok(histogram) => histogram.quantile(quantile) as f64,
                    Err(_) => latency.p99_us as f64,
                }
            }
            Metric::Max => latency.max_us as f64,
            Metric::Mean => latency.mean_us,
            Metric::ErrorRate => report.error_rate(),
            Metric::Rps => report.rps,
        };
        let met = match self.op {
            Op::Less => value < self.bound,
            Op::LessOrEqual => value <= self.bound,
            Op::Greater => value > self.bound,
            Op::GreaterOrEqual => value >= self.bound,
        };
        // As the objective was written: a duration in its unit's terms is not needed, the
        // report gives microseconds, a fraction or calls per second.
        SloResult {
            objective: self.text.clone(),
            value,
            met,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_parse_and_bad_ones_say_why() {
        let p99: Objective = "p99<250ms".parse().unwrap();
        assert_eq!(p99.metric, Metric::Percentile(0.99));
        assert_eq!(p99.bound, 250_000.0);
        let rate: Objective = "error-rate < 0.1%".parse().unwrap();
        assert_eq!(rate.op, Op::Less);
        assert!((rate.bound - 0.001).abs() < 1e-12);
        let rps: Objective = "rps>=950".parse().unwrap();
        assert_eq!(
            (rps.metric, rps.op, rps.bound),
            (Metric::Rps, Op::GreaterOrEqual, 950.0)
        );
        let deep: Objective = "p99.99<=1.5s".parse().unwrap();
        let Metric::Percentile(quantile) = deep.metric else {
            panic!("{deep:?}")
        };
        assert!((quantile - 0.9999).abs() < 1e-12, "{quantile}");
        for (text, needle) in [
            ("p99", "no comparison"),
            ("p100<1s", "not a metric"),
            ("latency<1s", "not a metric"),
            ("p99<fast", "not a duration"),
            ("error-rate<150%", "not a rate"),
            ("rps>=lots", "calls per second"),
        ] {
            let error = text.parse::<Objective>().unwrap_err().to_string();
            assert!(error.contains(needle), "{text}: {error}");
        }
    }
}
