//! What a run measured: HDR histograms (1 µs to an hour, 3 significant digits, so memory stays
//! flat however long the run), counts by status code, the first distinct errors, and a line
//! per second.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use serde::{Deserialize, Serialize};
use tonic::Code;

use crate::status::code_name;

/// The longest latency recorded as itself, in microseconds (an hour); longer ones count as it.
const HIGHEST_MICROS: u64 = 3_600_000_000;

/// The error messages kept with their counts; later distinct ones are counted as "others".
const ERRORS_KEPT: usize = 10;

/// Latencies in microseconds.
#[derive(Debug, Clone)]
pub struct Histogram(hdrhistogram::Histogram<u64>);

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl Histogram {
    // The bounds are constants that hdrhistogram accepts (low >= 1, high >= 2 * low, 3
    // significant digits): nothing a user gives can make this fail.
    #[allow(clippy::expect_used)]
    pub fn new() -> Histogram {
        Histogram(
            hdrhistogram::Histogram::new_with_bounds(1, HIGHEST_MICROS, 3)
                .expect("valid constant bounds"),
        )
    }

    pub fn record(&mut self, duration: Duration) {
        let micros = u64::try_from(duration.as_micros())
            .unwrap_or(HIGHEST_MICROS)
            .clamp(1, HIGHEST_MICROS);
        let _ = self.0.record(micros);
    }

    pub fn len(&self) -> u64 {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value at `quantile` (0..=1), in microseconds.
    pub fn quantile(&self, quantile: f64) -> u64 {
        self.0.value_at_quantile(quantile)
    }

    /// How many values are above `micros`.
    pub fn count_above(&self, micros: u64) -> u64 {
        if self.is_empty() || self.max() <= micros {
            return 0;
        }
        self.0.count_between(micros.saturating_add(1), self.max())
    }

    pub fn min(&self) -> u64 {
        self.0.min()
    }

    pub fn max(&self) -> u64 {
        self.0.max()
    }

    pub fn mean(&self) -> f64 {
        self.0.mean()
    }

    pub fn add(&mut self, other: &Histogram) {
        let _ = self.0.add(&other.0);
    }

    pub fn reset(&mut self) {
        self.0.reset();
    }

    /// The histogram in HdrHistogram's standard form: the V2 compressed encoding in base64 (as
    /// the Java and Go libraries and HistogramLogProcessor read it), so runs can be merged.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::new();
        match V2DeflateSerializer::new().serialize(&self.0, &mut bytes) {
            Ok(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
            Err(_) => String::new(),
        }
    }

    pub fn decode(text: &str) -> Result<Histogram, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|error| format!("the histogram is not base64: {error}"))?;
        let histogram: hdrhistogram::Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|error| format!("the histogram cannot be read: {error:?}"))?;
        let mut ours = Histogram::new();
        ours.0
            .add(&histogram)
            .map_err(|error| format!("the histogram does not fit: {error:?}"))?;
        Ok(ours)
    }

    /// The summary the report gives of it.
    pub fn summary(&self) -> Latency {
        Latency {
            count: self.len(),
            min_us: if self.is_empty() { 0 } else { self.min() },
            mean_us: if self.is_empty() {
                0.0
            } else {
                round(self.mean(), 1)
            },
            p50_us: self.quantile(0.50),
            p90_us: self.quantile(0.90),
            p99_us: self.quantile(0.99),
            p999_us: self.quantile(0.999),
            p9999_us: self.quantile(0.9999),
            max_us: self.max(),
            histogram: self.encode(),
        }
    }

    /// The count in each of `buckets` ranges of equal width from min to max: the report's
    /// latency histogram, as `(upper bound µs, count)`.
    pub fn buckets(&self, buckets: usize) -> Vec<(u64, u64)> {
        if self.is_empty() || buckets == 0 {
            return Vec::new();
        }
        let (min, max) = (self.min(), self.max());
        let width = ((max - min) / buckets as u64).max(1);
        let mut counts = vec![0u64; buckets];
        for value in self.0.iter_recorded() {
            let index = usize::try_from((value.value_iterated_to() - min) / width)
                .unwrap_or(usize::MAX)
                .min(buckets - 1);
            if let Some(count) = counts.get_mut(index) {
                *count += value.count_at_value();
            }
        }
        let last = buckets - 1;
        counts
            .into_iter()
            .enumerate()
            .map(|(index, count)| {
                // The last bucket holds the slowest call, whatever the rounding of the width.
                let upper = if index == last {
                    max
                } else {
                    min + width * (index as u64 + 1)
                };
                (upper, count)
            })
            .collect()
    }
}

pub fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

/// A histogram as the JSON document gives it, microseconds throughout.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub count: u64,
    pub min_us: u64,
    pub mean_us: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub p9999_us: u64,
    pub max_us: u64,
    /// HdrHistogram's V2 compressed form, base64.
    pub histogram: String,
}

/// One call, as measured.
#[derive(Debug, Clone)]
pub struct Sample {
    /// From the intended start (open loop) or the start (closed loop) to the end.
    pub latency: Duration,
    /// From the start to the end.
    pub service_time: Duration,
    /// How late the call was sent after its intended start.
    pub lateness: Duration,
    pub code: Code,
    /// The status message of a call that failed.
    pub message: Option<String>,
    /// From the start to the first response of a server stream.
    pub first_message: Option<Duration>,
    pub messages_received: u64,
    pub messages_sent: u64,
    /// When the call ended, from the start of measurement.
    pub ended_at: Duration,
}

/// One second of the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Seconds from the start of measurement.
    pub second: u64,
    pub count: u64,
    pub errors: u64,
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
    pub max_us: Option<u64>,
}

/// An error message seen, with how often.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorSeen {
    pub code: String,
    pub message: String,
    pub count: u64,
}

/// Everything measured, added up as calls end.
#[derive(Debug, Default)]
pub struct Recorder {
    pub latency: Histogram,
    pub service_time: Histogram,
    pub lateness: Histogram,
    pub first_message: Histogram,
    pub round_trip: Histogram,
    /// Calls by status code, indexed by the code's number (0 OK … 16 UNAUTHENTICATED).
    codes: [u64; 17],
    /// Calls that ended with a code outside gRPC's seventeen.
    other_codes: BTreeMap<i32, u64>,
    pub errors: Vec<ErrorSeen>,
    /// Distinct error messages past the first ERRORS_KEPT.
    pub other_errors: u64,
    pub messages_received: u64,
    pub messages_sent: u64,
    pub intervals: Vec<Interval>,
    /// The current second's latencies, for its percentiles.
    second: Histogram,
}

impl Recorder {
    pub fn count(&self) -> u64 {
        self.codes.iter().sum::<u64>() + self.other_codes.values().sum::<u64>()
    }

    pub fn ok(&self) -> u64 {
        self.codes.first().copied().unwrap_or_default()
    }

    /// Calls by status code name.
    pub fn codes(&self) -> BTreeMap<String, u64> {
        let mut codes = BTreeMap::new();
        for (number, count) in self.codes.iter().enumerate() {
            if *count > 0 {
                let code = Code::from(i32::try_from(number).unwrap_or_default());
                codes.insert(code_name(code).to_string(), *count);
            }
        }
        for (number, count) in &self.other_codes {
            codes.insert(format!("CODE {number}"), *count);
        }
        codes
    }

    pub fn record(&mut self, sample: Sample) {
        let second = sample.ended_at.as_secs();
        self.close_seconds_before(second);
        self.latency.record(sample.latency);
        self.service_time.record(sample.service_time);
        self.lateness.record(sample.lateness);
        if let Some(first) = sample.first_message {
            self.first_message.record(first);
        }
        self.messages_received += sample.messages_received;
        self.messages_sent += sample.messages_sent;
        let number = sample.code as i32;
        match usize::try_from(number)
            .ok()
            .and_then(|index| self.codes.get_mut(index))
        {
            Some(count) => *count += 1,
            None => *self.other_codes.entry(number).or_default() += 1,
        }
        self.second.record(sample.latency);
        let failed = sample.code != Code::Ok;
        if let Some(interval) = self.current(second) {
            interval.count += 1;
            interval.errors += u64::from(failed);
        }
        if failed {
            let message = sample.message.unwrap_or_default();
            let code = code_name(sample.code);
            let kept = self.errors.len();
            match self
                .errors
                .iter_mut()
                .find(|seen| seen.code == code && seen.message == message)
            {
                Some(seen) => seen.count += 1,
                None if kept < ERRORS_KEPT => self.errors.push(ErrorSeen {
                    code: code.to_string(),
                    message,
                    count: 1,
                }),
                None => self.other_errors += 1,
            }
        }
    }

    /// The interval of `second`, made (with the empty seconds before it) when it is new.
    fn current(&mut self, second: u64) -> Option<&mut Interval> {
        while self
            .intervals
            .last()
            .is_none_or(|last| last.second < second)
        {
            let next = self.intervals.last().map_or(0, |last| last.second + 1);
            self.intervals.push(Interval {
                second: next,
                ..Interval::default()
            });
        }
        // Seconds are made in order from 0, so the second's interval is at its index.
        let at = usize::try_from(second).unwrap_or(usize::MAX);
        let last = self.intervals.len().saturating_sub(1);
        self.intervals.get_mut(at.min(last))
    }

    /// Writes the percentiles of the seconds before `second`, which are complete.
    fn close_seconds_before(&mut self, second: u64) {
        if let Some(last) = self.intervals.last_mut()
            && last.second < second
            && !self.second.is_empty()
        {
            last.p50_us = Some(self.second.quantile(0.5));
            last.p99_us = Some(self.second.quantile(0.99));
            last.max_us = Some(self.second.max());
            self.second.reset();
        }
    }

    /// The run is over: the last second's percentiles too.
    pub fn finish(&mut self) {
        self.close_seconds_before(u64::MAX);
    }

    /// The last complete second, for live progress: calls, errors, p50, p99.
    pub fn last_complete_second(&self) -> Option<&Interval> {
        self.intervals
            .iter()
            .rev()
            .find(|interval| interval.p50_us.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(millis: u64, code: Code, at: u64) -> Sample {
        Sample {
            latency: Duration::from_millis(millis),
            service_time: Duration::from_millis(millis),
            lateness: Duration::ZERO,
            code,
            message: (code != Code::Ok).then(|| "no".to_string()),
            first_message: None,
            messages_received: 1,
            messages_sent: 1,
            ended_at: Duration::from_millis(at),
        }
    }

    #[test]
    fn percentiles_are_exact_to_three_digits_and_the_encoding_round_trips() {
        let mut histogram = Histogram::new();
        for millis in 1..=1000 {
            histogram.record(Duration::from_millis(millis));
        }
        let summary = histogram.summary();
        assert_eq!(summary.count, 1000);
        assert!(
            (summary.p50_us as i64 - 500_000).abs() <= 500,
            "{summary:?}"
        );
        assert!(
            (summary.p99_us as i64 - 990_000).abs() <= 990,
            "{summary:?}"
        );
        let decoded = Histogram::decode(&summary.histogram).unwrap();
        assert_eq!(decoded.summary(), summary);
        assert!(
            summary.histogram.starts_with("HISTF"),
            "{}",
            summary.histogram
        );
        assert!(Histogram::decode("not base64!").is_err());
        let buckets = histogram.buckets(10);
        assert_eq!(buckets.iter().map(|(_, count)| count).sum::<u64>(), 1000);
    }

    #[test]
    fn codes_errors_and_seconds_add_up() {
        let mut recorder = Recorder::default();
        recorder.record(sample(5, Code::Ok, 100));
        recorder.record(sample(7, Code::Unavailable, 900));
        recorder.record(sample(9, Code::Ok, 2500));
        recorder.finish();
        assert_eq!(recorder.count(), 3);
        assert_eq!(recorder.ok(), 2);
        assert_eq!(recorder.codes()["UNAVAILABLE"], 1);
        assert_eq!(recorder.errors[0].count, 1);
        let counts: Vec<(u64, u64, u64)> = recorder
            .intervals
            .iter()
            .map(|interval| (interval.second, interval.count, interval.errors))
            .collect();
        assert_eq!(counts, [(0, 2, 1), (1, 0, 0), (2, 1, 0)]);
        assert!(recorder.intervals[0].p99_us.unwrap() >= 7000);
        assert_eq!(recorder.intervals[1].p50_us, None);
    }
}
