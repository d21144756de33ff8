//! A run's report: the versioned JSON document (`grpcx.bench/v1`), the summary a person reads,
//! the per-second CSV and the self-contained HTML page; merging shards' documents (histograms
//! added, never percentiles averaged) and comparing two runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::BenchError;
use super::stats::{ErrorSeen, Histogram, Interval, Latency, round};

/// The document's schema name; a reader refuses any other.
pub const SCHEMA: &str = "grpcx.bench/v1";

/// Everything a run measured, as `-o json` writes it. Latencies are in microseconds; each
/// histogram is in HdrHistogram's V2 compressed form, base64, so runs can be merged exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    /// `pkg.Service/Method`.
    pub method: String,
    pub target: String,
    pub load: LoadReport,
    /// This process's part of a split run, when it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardReport>,
    /// When measurement began, RFC 3339.
    pub started: String,
    /// Seconds measured (after the warm-up).
    pub duration_s: f64,
    pub count: u64,
    pub ok: u64,
    pub errors: u64,
    /// Calls ended per second of measurement.
    pub rps: f64,
    pub warmup_calls: u64,
    /// From each call's intended start to its end: what a user behind the rate felt
    /// (corrected for coordinated omission; in a closed loop the same as `service_time`).
    pub latency: Latency,
    /// From each call's actual send to its end (uncorrected).
    pub service_time: Latency,
    /// How late each call went out after its intended start.
    pub send_lateness: Latency,
    /// Server streams and bidi: from the send to the first response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_message: Option<Latency>,
    /// Bidi: from each request's send to its response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_round_trip: Option<Latency>,
    pub messages_sent: u64,
    pub messages_received: u64,
    /// Calls by status code name.
    pub status: BTreeMap<String, u64>,
    /// The first distinct errors, with their counts.
    pub errors_seen: Vec<ErrorSeen>,
    /// Calls with errors past those kept.
    pub other_errors: u64,
    pub intervals: Vec<Interval>,
    pub generator: Generator,
    pub interrupted: bool,
    #[serde(default)]
    pub slo: Vec<SloResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// `closed` or `open`.
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u64>,
    /// The schedule asked for, in words (open loop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// The calls per second asked for over the measured time, on average (open loop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_rps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_inflight: Option<u64>,
    pub connections: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardReport {
    pub index: u64,
    pub count: u64,
}

/// How the generator itself did: whether it made the load asked for, and what it cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Generator {
    pub held: bool,
    /// Why it did not, in words.
    pub notes: Vec<String>,
    /// grpcx's own CPU time over the run (user + system), when the system says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_seconds: Option<f64>,
    /// Open-loop calls that found every slot in flight.
    pub slot_waits: u64,
}

/// One objective checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloResult {
    pub objective: String,
    pub value: f64,
    pub met: bool,
}

impl Report {
    /// Reads a document `-o json` wrote.
    pub fn read(path: &str, text: &str) -> Result<Report, BenchError> {
        let failed = |reason: String| BenchError::Report {
            path: path.to_string(),
            reason,
        };
        let value: serde_json::Value = match serde_json::from_str(text) {
            Ok(value) => value,
            // A pod's log (`kubectl logs`) may hold grpcx's notes around the document: the
            // document is the JSON object that starts a line.
            Err(error) => text
                .match_indices("\n{")
                .map(|(at, _)| at + 1)
                .chain(text.starts_with('{').then_some(0))
                .find_map(|at| {
                    serde_json::Deserializer::from_str(text.get(at..)?)
                        .into_iter::<serde_json::Value>()
                        .next()?
                        .ok()
                })
                .ok_or_else(|| failed(error.to_string()))?,
        };
        match value.get("schema").and_then(|schema| schema.as_str()) {
            Some(SCHEMA) => {}
            Some(other) => return Err(failed(format!("its schema is {other}, not {SCHEMA}"))),
            None => return Err(failed(format!("it is not a {SCHEMA} document"))),
        }
        serde_json::from_value(value).map_err(|error| failed(error.to_string()))
    }

    pub fn error_rate(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.errors as f64 / self.count as f64
        }
    }
}

/// The documents of several shards of one run as one: histograms added exactly, counts summed,
/// seconds lined up by their index, the rate over the longest shard's time.
pub fn merge(reports: &[Report]) -> Result<Report, BenchError> {
    let Some(first) = reports.first() else {
        return Err(BenchError::Data("nothing to merge".to_string()));
    };
    if let Some(other) = reports.iter().find(|report| report.method != first.method) {
        return Err(BenchError::Data(format!(
            "the runs called different methods ({} and {}): only runs of one method merge",
            first.method, other.method
        )));
    }
    let histogram = |pick: fn(&Report) -> Option<&Latency>| -> Result<Option<Latency>, BenchError> {
        let mut total: Option<Histogram> = None;
        for report in reports {
            if let Some(latency) = pick(report) {
                let decoded =
                    Histogram::decode(&latency.histogram).map_err(|reason| BenchError::Report {
                        path: report.method.clone(),
                        reason,
                    })?;
                total.get_or_insert_with(Histogram::new).add(&decoded);
            }
        }
        Ok(total.map(|histogram| histogram.summary()))
    };
    let mut merged = first.clone();
    merged.shard = None;
    merged.latency = histogram(|r| Some(&r.latency))?.unwrap_or_default();
    merged.service_time = histogram(|r| Some(&r.service_time))?.unwrap_or_default();
    merged.send_lateness = histogram(|r| Some(&r.send_lateness))?.unwrap_or_default();
    merged.first_message = histogram(|r| r.first_message.as_ref())?;
    merged.message_round_trip = histogram(|r| r.message_round_trip.as_ref())?;
    merged.duration_s = reports.iter().map(|r| r.duration_s).fold(0.0, f64::max);
    merged.started = reports
        .iter()
        .map(|r| r.started.clone())
        .min()
        .unwrap_or_default();
    let sum = |pick: fn(&Report) -> u64| reports.iter().map(pick).sum::<u64>();
    merged.count = sum(|r| r.count);
    merged.ok = sum(|r| r.ok);
    merged.errors = sum(|r| r.errors);
    merged.warmup_calls = sum(|r| r.warmup_calls);
    merged.messages_sent = sum(|r| r.messages_sent);
    merged.messages_received = sum(|r| r.messages_received);
    merged.other_errors = sum(|r| r.other_errors);
    merged.rps = rate(merged.count, merged.duration_s);
    merged.load.asked_rps = reports
        .iter()
        .map(|r| r.load.asked_rps)
        .sum::<Option<f64>>();
    merged.load.concurrency = reports.iter().map(|r| r.load.concurrency).sum();
    merged.load.connections = sum(|r| r.load.connections);
    merged.status = BTreeMap::new();
    merged.errors_seen = Vec::new();
    let mut intervals: BTreeMap<u64, Interval> = BTreeMap::new();
    for report in reports {
        for (code, count) in &report.status {
            *merged.status.entry(code.clone()).or_default() += count;
        }
        for error in &report.errors_seen {
            match merged
                .errors_seen
                .iter_mut()
                .find(|seen| seen.code == error.code && seen.message == error.message)
            {
                Some(seen) => seen.count += error.count,
                None => merged.errors_seen.push(error.clone()),
            }
        }
        for interval in &report.intervals {
            let entry = intervals
                .entry(interval.second)
                .or_insert_with(|| Interval {
                    second: interval.second,
                    ..Interval::default()
                });
            entry.count += interval.count;
            entry.errors += interval.errors;
            // A second's percentiles do not add up; its slowest call does.
            entry.max_us = entry.max_us.max(interval.max_us);
        }
    }
    merged.intervals = intervals.into_values().collect();
    merged.generator = Generator {
        held: reports.iter().all(|r| r.generator.held),
        notes: reports
            .iter()
            .flat_map(|r| r.generator.notes.iter().cloned())
            .collect(),
        cpu_seconds: reports.iter().map(|r| r.generator.cpu_seconds).sum(),
        slot_waits: sum(|r| r.generator.slot_waits),
    };
    merged.interrupted = reports.iter().any(|r| r.interrupted);
    merged.slo = Vec::new();
    Ok(merged)
}

pub fn rate(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        round(count as f64 / seconds, 1)
    } else {
        0.0
    }
}

/// A duration in microseconds, as a person reads it.
pub fn human(micros: f64) -> String {
    if micros >= 1_000_000.0 {
        format!("{:.2} s", micros / 1_000_000.0)
    } else if micros >= 1000.0 {
        format!("{:.2} ms", micros / 1000.0)
    } else {
        format!("{micros:.0} µs")
    }
}

/// The summary a person reads at the end of a run (the table ghz prints, and what ghz does not
/// say: the rate asked for, lateness, and whether the generator kept up).
pub fn summary(report: &Report) -> String {
    let mut out = String::new();
    let latency = &report.latency;
    let _ = writeln!(out, "Summary:");
    let _ = writeln!(out, "  Method:        {}", report.method);
    let _ = writeln!(out, "  Load:          {}", load_words(report));
    let _ = writeln!(out, "  Count:         {}", report.count);
    let _ = writeln!(out, "  Total:         {:.2} s", report.duration_s);
    let _ = writeln!(out, "  Slowest:       {}", human(latency.max_us as f64));
    let _ = writeln!(out, "  Fastest:       {}", human(latency.min_us as f64));
    let _ = writeln!(out, "  Average:       {}", human(latency.mean_us));
    let _ = write!(out, "  Requests/sec:  {:.1}", report.rps);
    if let Some(asked) = report.load.asked_rps {
        let _ = write!(out, " (asked {asked:.1})");
    }
    let _ = writeln!(out);
    if report.warmup_calls > 0 {
        let _ = writeln!(
            out,
            "  Warm-up calls: {} (not counted)",
            report.warmup_calls
        );
    }
    if report.messages_received > report.count || report.messages_sent > report.count {
        let _ = writeln!(
            out,
            "  Messages:      {} sent, {} received ({:.1}/s received)",
            report.messages_sent,
            report.messages_received,
            rate(report.messages_received, report.duration_s)
        );
    }
    let open = report.load.mode == "open";
    let _ = writeln!(out);
    let _ = writeln!(out, "Response time histogram:");
    if let Ok(histogram) = Histogram::decode(&latency.histogram) {
        let buckets = histogram.buckets(10);
        let most = buckets
            .iter()
            .map(|(_, count)| *count)
            .max()
            .unwrap_or(1)
            .max(1);
        for (upper, count) in buckets {
            let bar = "∎".repeat(usize::try_from(count * 40 / most).unwrap_or(40));
            let _ = writeln!(out, "  {:>10} [{count}]\t|{bar}", human(upper as f64));
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Latency distribution{}:",
        if open {
            " (from each call's intended start: corrected for coordinated omission)"
        } else {
            ""
        }
    );
    percentiles(&mut out, latency);
    if open {
        let _ = writeln!(out, "  Uncorrected (from the actual send):");
        percentiles(&mut out, &report.service_time);
        let _ = writeln!(
            out,
            "  Sends went out late by p50 {}, p99 {}, max {}",
            human(report.send_lateness.p50_us as f64),
            human(report.send_lateness.p99_us as f64),
            human(report.send_lateness.max_us as f64)
        );
    }
    if let Some(first) = &report.first_message {
        let _ = writeln!(out, "  Time to first message:");
        percentiles(&mut out, first);
    }
    if let Some(round_trip) = &report.message_round_trip {
        let _ = writeln!(out, "  Message round trip:");
        percentiles(&mut out, round_trip);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Status code distribution:");
    for (code, count) in &report.status {
        let _ = writeln!(out, "  [{code}]\t{count} responses");
    }
    if !report.errors_seen.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Error distribution:");
        for error in &report.errors_seen {
            let _ = writeln!(
                out,
                "  [{}]\t{}: {}",
                error.count, error.code, error.message
            );
        }
        if report.other_errors > 0 {
            let _ = writeln!(out, "  [{}]\tother errors", report.other_errors);
        }
    }
    if !report.generator.held || report.interrupted {
        let _ = writeln!(out);
        let _ = writeln!(out, "Generator:");
        if report.interrupted {
            let _ = writeln!(
                out,
                "  interrupted: the report has what was done until then"
            );
        }
        for note in &report.generator.notes {
            let _ = writeln!(out, "  {note}");
        }
    }
    if !report.slo.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Objectives:");
        for slo in &report.slo {
            let _ = writeln!(
                out,
                "  {} {}  (was {})",
                if slo.met { "met   " } else { "BREACH" },
                slo.objective,
                round(slo.value, 3)
            );
        }
    }
    out
}

fn load_words(report: &Report) -> String {
    let load = &report.load;
    let connections = match load.connections {
        1 => "1 connection".to_string(),
        n => format!("{n} connections"),
    };
    match (&load.schedule, load.concurrency) {
        (Some(schedule), _) => format!(
            "open loop, {schedule}, at most {} in flight, {connections}",
            load.max_inflight.unwrap_or_default()
        ),
        (None, Some(workers)) => format!("closed loop, {workers} workers, {connections}"),
        (None, None) => connections,
    }
}

fn percentiles(out: &mut String, latency: &Latency) {
    for (name, value) in [
        ("50", latency.p50_us),
        ("90", latency.p90_us),
        ("99", latency.p99_us),
        ("99.9", latency.p999_us),
        ("99.99", latency.p9999_us),
    ] {
        let _ = writeln!(out, "  {name:>5} % in {}", human(value as f64));
    }
    let _ = writeln!(out, "    max in {}", human(latency.max_us as f64));
}

/// One line a second: `second,count,errors,p50_us,p99_us,max_us`.
pub fn csv(report: &Report) -> String {
    let mut out = String::from("second,count,errors,p50_us,p99_us,max_us\n");
    let cell = |value: Option<u64>| value.map_or(String::new(), |value| value.to_string());
    for interval in &report.intervals {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            interval.second,
            interval.count,
            interval.errors,
            cell(interval.p50_us),
            cell(interval.p99_us),
            cell(interval.max_us)
        );
    }
    out
}

/// How two runs differ: the change in rate and in each percentile, and whether any is worse
/// than `max_regression` (a fraction) allows.
pub fn compare(old: &Report, new: &Report, max_regression: Option<f64>) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut regressions = Vec::new();
    let _ = writeln!(
        out,
        "{:<14} {:>14} {:>14} {:>9}",
        "", "old", "new", "change"
    );
    let mut row = |name: &str,
                   old_value: f64,
                   new_value: f64,
                   higher_is_better: bool,
                   show: &dyn Fn(f64) -> String| {
        let change = if old_value > 0.0 {
            (new_value - old_value) / old_value
        } else {
            0.0
        };
        let _ = writeln!(
            out,
            "{name:<14} {:>14} {:>14} {:>+8.1}%",
            show(old_value),
            show(new_value),
            change * 100.0
        );
        let worse = if higher_is_better { -change } else { change };
        if let Some(max) = max_regression
            && worse > max
        {
            regressions.push(format!(
                "{name} went from {} to {} ({:+.1}%, more than the {:.1}% allowed)",
                show(old_value),
                show(new_value),
                change * 100.0,
                max * 100.0
            ));
        }
    };
    let calls = |value: f64| format!("{value:.1}/s");
    let time = |value: f64| human(value);
    row("rps", old.rps, new.rps, true, &calls);
    // The percentiles and the maximum: the latency table's rows but its min and mean.
    for (name, pick) in LATENCY_ROWS.iter().skip(2) {
        row(name, pick(&old.latency), pick(&new.latency), false, &time);
    }
    row(
        "error rate",
        old.error_rate() * 100.0,
        new.error_rate() * 100.0,
        false,
        &|value: f64| format!("{value:.3}%"),
    );
    (out, regressions)
}

/// One self-contained HTML page: the numbers, latency over time (p50, p99, max per second) and
/// the percentile distribution, drawn as inline SVG; nothing is fetched.
pub fn html(report: &Report) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>grpcx bench · {method}</title><style>{STYLE}</style></head><body>\
<h1>grpcx bench <span>{method}</span></h1><p class=\"load\">{load} · {target} · started {started}</p>",
        method = escape(&report.method),
        load = escape(&load_words(report)),
        target = escape(&report.target),
        started = escape(&report.started),
    );
    let _ = write!(out, "<div class=\"cards\">");
    let mut card = |label: &str, value: String| {
        let _ = write!(
            out,
            "<div class=\"card\"><div class=\"label\">{label}</div><div class=\"value\">{}</div></div>",
            escape(&value)
        );
    };
    card("calls", report.count.to_string());
    card(
        "calls/s",
        match report.load.asked_rps {
            Some(asked) => format!("{:.1} (asked {asked:.1})", report.rps),
            None => format!("{:.1}", report.rps),
        },
    );
    card(
        "errors",
        format!("{} ({:.2}%)", report.errors, report.error_rate() * 100.0),
    );
    card("p50", human(report.latency.p50_us as f64));
    card("p99", human(report.latency.p99_us as f64));
    card("p99.9", human(report.latency.p999_us as f64));
    card("max", human(report.latency.max_us as f64));
    let _ = write!(out, "</div>");
    if !report.generator.held {
        let _ = write!(
            out,
            "<p class=\"warn\">The generator did not hold the load asked for: {}</p>",
            escape(&report.generator.notes.join("; "))
        );
    }
    let _ = write!(
        out,
        "<h2>Latency distribution</h2><table class=\"numbers\"><tr><th></th>"
    );
    let mut columns: Vec<(&str, &Latency)> = vec![(
        if report.load.mode == "open" {
            "from the intended start"
        } else {
            "latency"
        },
        &report.latency,
    )];
    if report.load.mode == "open" {
        columns.push(("from the actual send", &report.service_time));
        columns.push(("send lateness", &report.send_lateness));
    }
    if let Some(first) = &report.first_message {
        columns.push(("first message", first));
    }
    if let Some(round_trip) = &report.message_round_trip {
        columns.push(("message round trip", round_trip));
    }
    for (name, _) in &columns {
        let _ = write!(out, "<th>{}</th>", escape(name));
    }
    let _ = write!(out, "</tr>");
    for (name, pick) in LATENCY_ROWS {
        let _ = write!(out, "<tr><td>{name}</td>");
        for (_, latency) in &columns {
            let _ = write!(out, "<td>{}</td>", human(pick(latency)));
        }
        let _ = write!(out, "</tr>");
    }
    let _ = write!(out, "</table>");
    let _ = write!(out, "<h2>Latency over time</h2>{}", over_time_svg(report));
    let _ = write!(
        out,
        "<h2>Latency by percentile</h2>{}",
        percentile_svg(report)
    );
    let _ = write!(out, "<h2>Status codes</h2><table>");
    for (code, count) in &report.status {
        let _ = write!(out, "<tr><td>{}</td><td>{count}</td></tr>", escape(code));
    }
    let _ = write!(out, "</table>");
    if !report.errors_seen.is_empty() {
        let _ = write!(out, "<h2>Errors</h2><table>");
        for error in &report.errors_seen {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                error.count,
                escape(&error.code),
                escape(&error.message)
            );
        }
        let _ = write!(out, "</table>");
    }
    let _ = writeln!(out, "</body></html>");
    out
}

/// A row of the HTML page's latency table: its name, and its value of a histogram.
type LatencyRow = (&'static str, fn(&Latency) -> f64);

/// The rows of the latency tables (the HTML page's; `compare`'s from p50).
const LATENCY_ROWS: [LatencyRow; 8] = [
    ("min", |l| l.min_us as f64),
    ("mean", |l| l.mean_us),
    ("p50", |l| l.p50_us as f64),
    ("p90", |l| l.p90_us as f64),
    ("p99", |l| l.p99_us as f64),
    ("p99.9", |l| l.p999_us as f64),
    ("p99.99", |l| l.p9999_us as f64),
    ("max", |l| l.max_us as f64),
];

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:60rem;padding:0 1rem;color:#1d2330}h1 span{font-weight:400;font-family:monospace;font-size:1rem}.load{color:#5b6475}.cards{display:flex;flex-wrap:wrap;gap:.6rem}.card{border:1px solid #d7dce4;border-radius:8px;padding:.5rem .8rem;min-width:7rem}.card .label{color:#5b6475;font-size:.8rem}.card .value{font-size:1.2rem;font-weight:600}.warn{background:#fdecea;border-left:4px solid #b3261e;padding:.5rem .8rem}svg{width:100%;height:auto;border:1px solid #d7dce4;border-radius:8px;background:#fff}svg text{font:11px sans-serif;fill:#5b6475}table{border-collapse:collapse}td,th{border-top:1px solid #d7dce4;padding:.2rem .6rem;text-align:left}.numbers td+td{text-align:right;font-variant-numeric:tabular-nums}th{font-weight:600;color:#5b6475;font-size:.85rem}";

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 300.0;
const PAD: f64 = 50.0;

/// p50, p99 and max of each second.
fn over_time_svg(report: &Report) -> String {
    let seconds: Vec<&Interval> = report
        .intervals
        .iter()
        .filter(|interval| interval.max_us.is_some())
        .collect();
    let top = seconds
        .iter()
        .filter_map(|interval| interval.max_us)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let last = seconds.last().map_or(1, |interval| interval.second).max(1) as f64;
    let x = |second: u64| PAD + (WIDTH - 2.0 * PAD) * second as f64 / last;
    let y = |micros: u64| HEIGHT - PAD + -(HEIGHT - 2.0 * PAD) * micros as f64 / top;
    let mut out = svg_frame("seconds", &human(top));
    grid(&mut out, top, |fraction| {
        HEIGHT - PAD - (HEIGHT - 2.0 * PAD) * fraction
    });
    let every = (last / 10.0).ceil().max(1.0) as u64;
    for second in (0..=last as u64).step_by(usize::try_from(every).unwrap_or(1)) {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{second}</text>",
            x(second),
            HEIGHT - PAD + 16.0
        );
    }
    for (pick, color, name) in [
        (
            (|i: &Interval| i.max_us) as fn(&Interval) -> Option<u64>,
            "#b3261e",
            "max",
        ),
        (|i: &Interval| i.p99_us, "#e08a00", "p99"),
        (|i: &Interval| i.p50_us, "#1f5fbf", "p50"),
    ] {
        let points: Vec<String> = seconds
            .iter()
            .filter_map(|interval| {
                pick(interval).map(|value| format!("{:.1},{:.1}", x(interval.second), y(value)))
            })
            .collect();
        let _ = write!(
            out,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"><title>{name}</title></polyline>",
            points.join(" ")
        );
    }
    legend(
        &mut out,
        &[("#1f5fbf", "p50"), ("#e08a00", "p99"), ("#b3261e", "max")],
    );
    out.push_str("</svg>");
    out
}

/// The latency at each percentile, on a scale that spreads the tail (0, 90, 99, 99.9, 99.99).
fn percentile_svg(report: &Report) -> String {
    let Ok(histogram) = Histogram::decode(&report.latency.histogram) else {
        return String::new();
    };
    let top = histogram.max().max(1) as f64;
    // x: -log10(1 - q), from 0 (q = 0) to 4 (q = 0.9999).
    let x = |nines: f64| PAD + (WIDTH - 2.0 * PAD) * nines / 4.0;
    let y = |micros: u64| HEIGHT - PAD - (HEIGHT - 2.0 * PAD) * micros as f64 / top;
    let mut out = svg_frame("percentile", &human(top));
    grid(&mut out, top, |fraction| {
        HEIGHT - PAD - (HEIGHT - 2.0 * PAD) * fraction
    });
    let points: Vec<String> = (0..=200)
        .map(|step| {
            let nines = f64::from(step) * 4.0 / 200.0;
            let quantile = 1.0 - 10f64.powf(-nines);
            format!("{:.1},{:.1}", x(nines), y(histogram.quantile(quantile)))
        })
        .collect();
    let _ = write!(
        out,
        "<polyline fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"2\" points=\"{}\"/>",
        points.join(" ")
    );
    for (nines, label) in [
        (0.0, "0%"),
        (1.0, "90%"),
        (2.0, "99%"),
        (3.0, "99.9%"),
        (4.0, "99.99%"),
    ] {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
            x(nines),
            HEIGHT - PAD + 16.0
        );
    }
    out.push_str("</svg>");
    out
}

fn svg_frame(x_label: &str, top_label: &str) -> String {
    format!(
        "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">\
<line x1=\"{PAD}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#d7dce4\"/>\
<line x1=\"{PAD}\" y1=\"{PAD}\" x2=\"{PAD}\" y2=\"{b}\" stroke=\"#d7dce4\"/>\
<text x=\"{PAD}\" y=\"{t}\">{top_label}</text><text x=\"{r}\" y=\"{xl}\" text-anchor=\"end\">{x_label}</text>",
        b = HEIGHT - PAD,
        r = WIDTH - PAD,
        t = PAD - 8.0,
        xl = HEIGHT - 8.0,
    )
}

/// Horizontal lines at a quarter, a half and three quarters of `top`, labelled.
fn grid(out: &mut String, top: f64, y: impl Fn(f64) -> f64) {
    for fraction in [0.25, 0.5, 0.75] {
        let at = y(fraction);
        let _ = write!(
            out,
            "<line x1=\"{PAD}\" y1=\"{at:.1}\" x2=\"{}\" y2=\"{at:.1}\" stroke=\"#eef0f3\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - PAD,
            PAD - 4.0,
            at + 4.0,
            human(top * fraction)
        );
    }
}

fn legend(out: &mut String, entries: &[(&str, &str)]) {
    for (index, (color, name)) in entries.iter().enumerate() {
        let x = WIDTH - PAD - 60.0 * (entries.len() - index) as f64;
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"12\" width=\"12\" height=\"4\" fill=\"{color}\"/><text x=\"{}\" y=\"18\">{name}</text>",
            x + 16.0
        );
    }
}
