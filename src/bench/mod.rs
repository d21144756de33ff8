//! `grpcx bench`: load on any method of any server, with latencies that can be trusted.
//!
//! By concern: `schedule` (closed and open loops, rate schedules), `template` (per-call values
//! in data and metadata), `runner` (the calls, of every kind, and their measures), `stats`
//! (HDR histograms, counts, seconds), `report` (the versioned JSON document, the summary, CSV
//! and HTML; merging and comparing runs) and `slo` (objectives checked at the end). It builds
//! on transport, schema and invoke, and prints nothing: the command prints what it returns.

pub mod report;
pub mod runner;
pub mod schedule;
pub mod slo;
pub mod stats;
pub mod template;

/// What stops a run or its reading of reports, or what its end means for the exit code.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot bench {0}")]
    Method(String),
    #[error("{0}")]
    Data(String),
    #[error("cannot read the report {path}: {reason}")]
    Report { path: String, reason: String },
    #[error("{0}")]
    Slo(String),
    /// Objectives the run did not meet (listed in the report).
    #[error("{0} of the run's objectives not met")]
    SloBreached(usize),
    /// The generator could not make the load asked for (said in the report).
    #[error("the load asked for was not held: {0}")]
    LoadNotHeld(String),
    /// `compare --max-regression` found more.
    #[error("{0}")]
    Regression(String),
}

impl BenchError {
    pub fn hint(&self) -> Option<String> {
        match self {
            BenchError::Slo(_) => Some(
                "write an objective as METRIC OP VALUE: p50, p90, p99, p99.9, p99.99, max or mean with a duration (p99<250ms), error-rate with a percentage (error-rate<0.1%), rps with a number (rps>=950)".to_string(),
            ),
            BenchError::LoadNotHeld(_) => Some(
                "lower --rps, raise --max-inflight, or split the load with --shard over more processes or machines".to_string(),
            ),
            BenchError::Report { .. } => {
                Some("give the JSON documents `grpcx bench -o json` writes".to_string())
            }
            _ => None,
        }
    }
}
