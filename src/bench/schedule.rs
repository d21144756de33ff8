//! When calls start: a closed loop of workers, or an open loop that starts calls at the times
//! a rate schedule says, whatever the latency (so that a stall shows in the latencies, as the
//! users of a real service would feel it, instead of slowing the load down).

use std::time::Duration;

/// How calls are started.
#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    /// `-c N` workers, each starting its next call when the previous one ends.
    Closed { workers: usize },
    /// Calls at the times `rate` says; at most `max_inflight` at once (a safety bound: a call
    /// that waits for a slot is late, and its lateness counts in its latency).
    Open {
        rate: RateSchedule,
        max_inflight: usize,
    },
}

/// Calls per second over the run, as ghz's `--load-schedule` has them.
#[derive(Debug, Clone, PartialEq)]
pub enum RateSchedule {
    /// `--rps R`.
    Const(f64),
    /// From `start`, changed by `step` every `every`, until `end` when given.
    Step {
        start: f64,
        end: Option<f64>,
        step: f64,
        every: Duration,
    },
    /// From `start`, changed by `step` each second, smoothly, until `end` when given.
    Line {
        start: f64,
        end: Option<f64>,
        step: f64,
    },
}

/// The lowest rate a schedule runs at: below it, a call every thousand seconds is no load.
const MIN_RATE: f64 = 0.001;

impl RateSchedule {
    /// The rate at `elapsed` into the run.
    pub fn rate_at(&self, elapsed: Duration) -> f64 {
        let rate = match self {
            RateSchedule::Const(rate) => *rate,
            RateSchedule::Step {
                start,
                end,
                step,
                every,
            } => {
                let steps = (elapsed.as_secs_f64() / every.as_secs_f64().max(1e-9)).floor();
                clamp_towards(*start + step * steps, *start, *end)
            }
            RateSchedule::Line { start, end, step } => {
                clamp_towards(start + step * elapsed.as_secs_f64(), *start, *end)
            }
        };
        rate.max(MIN_RATE)
    }

    /// The schedule with every rate multiplied by `factor` (a shard's share).
    pub fn scaled(&self, factor: f64) -> RateSchedule {
        match self {
            RateSchedule::Const(rate) => RateSchedule::Const(rate * factor),
            RateSchedule::Step {
                start,
                end,
                step,
                every,
            } => RateSchedule::Step {
                start: start * factor,
                end: end.map(|end| end * factor),
                step: step * factor,
                every: *every,
            },
            RateSchedule::Line { start, end, step } => RateSchedule::Line {
                start: start * factor,
                end: end.map(|end| end * factor),
                step: step * factor,
            },
        }
    }

    /// The rate asked for, in words, for the report.
    pub fn describe(&self) -> String {
        let to = |end: &Option<f64>| end.map_or(String::new(), |end| format!(" to {end}"));
        match self {
            RateSchedule::Const(rate) => format!("{rate} calls/s"),
            RateSchedule::Step {
                start,
                end,
                step,
                every,
            } => format!("{start}{} calls/s, {step:+} every {every:?}", to(end)),
            RateSchedule::Line { start, end, step } => {
                format!("{start}{} calls/s, {step:+} per second", to(end))
            }
        }
    }
}

/// `value`, kept between `start` and `end` (whichever way the schedule goes).
fn clamp_towards(value: f64, start: f64, end: Option<f64>) -> f64 {
    match end {
        Some(end) if end >= start => value.min(end),
        Some(end) => value.max(end),
        None => value,
    }
}

/// The intended start times of an open loop's calls, from the run's start: each call one
/// period of the rate at the time of the one before it after it.
/// The schedule's clock starts after `hold` (the warm-up), which runs at the schedule's first
/// rate.
#[derive(Debug)]
pub struct Ticker {
    schedule: RateSchedule,
    next: Duration,
    hold: Duration,
}

impl Ticker {
    pub fn new(schedule: RateSchedule, hold: Duration) -> Ticker {
        Ticker {
            schedule,
            next: Duration::ZERO,
            hold,
        }
    }

    /// The next call's intended start, from the run's start.
    pub fn next_time(&mut self) -> Duration {
        let at = self.next;
        let period = 1.0 / self.schedule.rate_at(at.saturating_sub(self.hold));
        self.next = at + Duration::from_secs_f64(period);
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_rate_spaces_calls_evenly() {
        let mut ticker = Ticker::new(RateSchedule::Const(4.0), Duration::ZERO);
        let times: Vec<f64> = (0..5).map(|_| ticker.next_time().as_secs_f64()).collect();
        assert_eq!(times, [0.0, 0.25, 0.5, 0.75, 1.0]);
    }

    #[test]
    fn steps_and_lines_change_the_rate_until_their_end() {
        let step = RateSchedule::Step {
            start: 10.0,
            end: Some(30.0),
            step: 10.0,
            every: Duration::from_secs(5),
        };
        assert_eq!(step.rate_at(Duration::from_secs(4)), 10.0);
        assert_eq!(step.rate_at(Duration::from_secs(5)), 20.0);
        assert_eq!(step.rate_at(Duration::from_secs(60)), 30.0);
        let down = RateSchedule::Line {
            start: 100.0,
            end: Some(50.0),
            step: -10.0,
        };
        assert_eq!(down.rate_at(Duration::from_millis(1500)), 85.0);
        assert_eq!(down.rate_at(Duration::from_secs(20)), 50.0);
        assert_eq!(down.scaled(0.5).rate_at(Duration::from_secs(20)), 25.0);
        // Calls over the first second of a line from 10 rising by 10 a second: about 15.
        let mut ticker = Ticker::new(
            RateSchedule::Line {
                start: 10.0,
                end: None,
                step: 10.0,
            },
            Duration::ZERO,
        );
        let mut count = 0;
        while ticker.next_time() < Duration::from_secs(1) {
            count += 1;
        }
        assert!((13..=16).contains(&count), "{count}");
    }
}
