//! `grpcx bench`: the command line made into a plan, the run, its report on stdout, and the
//! exit code its objectives and its generator give; `compare`, `merge` and `k8s-job` on
//! reports.

use std::io::{IsTerminal as _, Read as _};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use super::session;
use crate::bench::BenchError;
use crate::bench::report::{self, Generator, LoadReport, Report, SCHEMA, ShardReport};
use crate::bench::runner::{self, HeaderTemplate, Plan, Progress, RequestData, Results, Shard};
use crate::bench::schedule::{Load, RateSchedule, Ticker};
use crate::bench::stats::round;
use crate::bench::template::{CallContext, CallValues, Template, rfc3339};
use crate::cli::{
    BenchAction, BenchArgs, BenchCommand, BenchOutput, BenchReportArgs, Cli, Command, GlobalArgs,
    K8sJobArgs, LoadSchedule,
};
use crate::error::Error;
use crate::invoke::input::{DataSource, JsonInput};
use crate::invoke::{Outcome, RpcKind};
use crate::output::Printer;
use crate::schema::method_path;
use crate::transport::{self, HeaderValue};

/// Calls a run makes when neither `-n` nor `-z` says (ghz's default).
const DEFAULT_TOTAL: u64 = 200;

/// A send later than this (or than two periods of the rate, when longer) is late.
const LATE_SENDS: Duration = Duration::from_millis(10);

/// More late sends than this share of the calls mean the generator could not keep up.
const LATE_SHARE: f64 = 0.01;

/// The share of the asked rate an open loop must reach to have held it.
const HELD_SHARE: f64 = 0.99;

pub async fn run(
    global: &GlobalArgs,
    bench: &BenchCommand,
    printer: &mut Printer,
) -> Result<Outcome, Error> {
    match &bench.action {
        Some(BenchAction::Compare {
            old,
            new,
            max_regression,
        }) => compare(old, new, *max_regression, printer),
        Some(BenchAction::Merge { reports, report }) => merge(reports, report, printer),
        Some(BenchAction::K8sJob(args)) => k8s_job(global, args, printer),
        None => bench_run(global, &bench.run, printer).await,
    }
}

async fn bench_run(
    global: &GlobalArgs,
    args: &BenchArgs,
    printer: &mut Printer,
) -> Result<Outcome, Error> {
    let settings = super::settings(global)?;
    let mut session = session::open_for_call(&settings, printer).await?;
    let method = match resolve(
        &mut session.schema,
        args.method.as_deref().unwrap_or_default(),
    )
    .await
    {
        Ok(method) => method,
        Err(error) => return Err(session::explain(&session.connection, error).await),
    };
    session.schema.save_cache();
    let json = JsonInput {
        allow_unknown_fields: args.allow_unknown_fields,
    };
    let data = request_data(args, &method, json)?;

    let mut headers = Vec::new();
    let mut header_templates = Vec::new();
    for header in &settings.rpc_headers {
        match &header.value {
            HeaderValue::Text(text) if text.contains("{{") => {
                let value = Template::parse(text)
                    .map_err(|error| BenchError::Data(format!("-H {}: {error}", header.name)))?
                    .ok_or_else(|| BenchError::Data(format!("-H {}", header.name)))?;
                header_templates.push(HeaderTemplate {
                    name: header.name.clone(),
                    value,
                });
            }
            _ => headers.push(header.clone()),
        }
    }

    let shard = args
        .shard
        .map_or(Shard::default(), |(index, count)| Shard { index, count });
    let share = |total: u64| total / shard.count + u64::from(shard.index < total % shard.count);
    // What this process is asked for: a shard's share of the whole.
    let rate = rate_schedule(args)?.map(|rate| rate.scaled(1.0 / shard.count as f64));
    let load = match &rate {
        Some(rate) => Load::Open {
            rate: rate.clone(),
            max_inflight: usize::try_from(args.max_inflight).unwrap_or(usize::MAX),
        },
        None => Load::Closed {
            workers: usize::try_from(share(args.concurrency).max(1)).unwrap_or(1),
        },
    };
    let total = match (args.total, args.duration) {
        (None, None) => Some(share(DEFAULT_TOTAL)),
        (total, _) => total.map(share),
    };
    if total == Some(0) {
        return Err(BenchError::Data(format!(
            "shard {} of {} has no calls to make of -n {}",
            shard.index,
            shard.count,
            args.total.unwrap_or(DEFAULT_TOTAL)
        ))
        .into());
    }

    // Every connection, before the clock starts.
    let mut channels = vec![session.connection.channel.clone()];
    for _ in 1..args.connections {
        channels.push(transport::connect(&settings.connect).await?.channel);
    }

    let plan = Plan {
        method: method.clone(),
        data,
        headers,
        header_templates,
        load: load.clone(),
        total,
        duration: args.duration,
        warmup: args.warmup,
        // `--max-time` is a call's deadline, as in `call`: it caps `-t`.
        timeout: settings
            .max_time
            .map_or(args.timeout, |max| max.min(args.timeout)),
        stream_count: args.stream_count,
        stream_interval: args.stream_interval,
        shard,
        max_message_size: settings.max_message_size,
    };

    if let Some(start_at) = args.start_at {
        match start_at.duration_since(SystemTime::now()) {
            Ok(wait) => {
                if std::io::stderr().is_terminal() {
                    printer.note(&format!(
                        "starting in {:.1} s (--start-at)",
                        wait.as_secs_f64()
                    ));
                }
                tokio::time::sleep(wait).await;
            }
            Err(_) => printer.warning("--start-at is in the past: starting now"),
        }
    }

    let cpu_before = cpu_seconds();
    let started_wall = SystemTime::now() + args.warmup;
    let watching = std::io::stderr().is_terminal();
    let (progress, mut progress_rx) = mpsc::unbounded_channel::<Progress>();
    let running = runner::run(plan, channels, watching.then_some(progress), async {
        let _ = tokio::signal::ctrl_c().await;
    });
    tokio::pin!(running);
    let results = loop {
        tokio::select! {
            results = &mut running => break results?,
            Some(progress) = progress_rx.recv() => show_progress(&progress, rate.as_ref(), printer),
        }
    };
    if watching {
        printer.stderr_text("\r\x1b[2K");
    }
    let cpu = cpu_before
        .zip(cpu_seconds())
        .map(|(before, after)| after - before);

    let mut report = make_report(ReportInputs {
        args,
        method: &method_path(&method),
        target: settings.connect.target.to_string(),
        load: &load,
        shard: args.shard.is_some().then_some(shard),
        started: started_wall,
        results,
        cpu,
    });
    report.slo = args
        .report
        .slo
        .iter()
        .map(|objective| objective.check(&report))
        .collect();
    print_report(&report, args.report.output, printer)?;
    ending(&report)
}

async fn resolve(
    schema: &mut crate::schema::Schema,
    name: &str,
) -> Result<prost_reflect::MethodDescriptor, Error> {
    let method = schema.resolve_method(name).await?;
    Ok(schema.prepare_call(&method).await?)
}

/// How a run's report ends the command: interrupted, the load not held, an objective not met.
fn ending(report: &Report) -> Result<Outcome, Error> {
    if report.interrupted {
        return Err(Error::Interrupted);
    }
    if !report.generator.held {
        return Err(BenchError::LoadNotHeld(report.generator.notes.join("; ")).into());
    }
    let breached = report.slo.iter().filter(|slo| !slo.met).count();
    if breached > 0 {
        return Err(BenchError::SloBreached(breached).into());
    }
    Ok(Outcome::Ok)
}

/// The open loop's rate schedule, `None` for a closed loop.
fn rate_schedule(args: &BenchArgs) -> Result<Option<RateSchedule>, BenchError> {
    let start = args.load_start.or(args.rps);
    Ok(match args.load_schedule {
        LoadSchedule::Const => args.rps.map(RateSchedule::Const),
        LoadSchedule::Step | LoadSchedule::Line => {
            let (Some(start), Some(step)) = (start, args.load_step) else {
                return Err(BenchError::Data(
                    "the step and line schedules need a first rate (--load-start or --rps) and --load-step"
                        .to_string(),
                ));
            };
            Some(match args.load_schedule {
                LoadSchedule::Step => RateSchedule::Step {
                    start,
                    end: args.load_end,
                    step,
                    every: args.load_step_duration.max(Duration::from_millis(1)),
                },
                _ => RateSchedule::Line {
                    start,
                    end: args.load_end,
                    step,
                },
            })
        }
    })
}

/// The requests, read and checked before the run: DATA encoded once, a template rendered
/// once to check it, or `--data-file`'s lines.
fn request_data(
    args: &BenchArgs,
    method: &prost_reflect::MethodDescriptor,
    json: JsonInput,
) -> Result<RequestData, Error> {
    let one_request = !RpcKind::of(method).streams_requests();
    let check_count = |messages: &[bytes::Bytes], what: &str| -> Result<(), BenchError> {
        if one_request && messages.len() > 1 {
            return Err(BenchError::Data(format!(
                "{what} holds {} requests, and {} takes one",
                messages.len(),
                method.full_name()
            )));
        }
        Ok(())
    };
    if let Some(path) = &args.data_file {
        let text = std::fs::read_to_string(path).map_err(|error| {
            BenchError::Data(format!("cannot read {}: {error}", path.display()))
        })?;
        let mut cycle = Vec::new();
        for (number, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let what = format!("{} line {}", path.display(), number + 1);
            if line.contains("{{") {
                return Err(BenchError::Data(format!(
                    "{what} holds a template; templates go in DATA, --data-file lines are sent as they are"
                ))
                .into());
            }
            let messages = runner::encode_all(method, line.as_bytes(), json)
                .map_err(|error| BenchError::Data(format!("{what}: {error}")))?;
            check_count(&messages, &what)?;
            cycle.push(messages.into());
        }
        if cycle.is_empty() {
            return Err(BenchError::Data(format!("{} holds no requests", path.display())).into());
        }
        return Ok(RequestData::Cycle(cycle));
    }
    let text = match args.data().map(DataSource::from_arg) {
        None => String::new(),
        Some(source) => {
            let mut text = String::new();
            source
                .open()?
                .read_to_string(&mut text)
                .map_err(|error| BenchError::Data(format!("cannot read DATA: {error}")))?;
            text
        }
    };
    match Template::parse(&text).map_err(BenchError::Data)? {
        Some(template) => {
            // Rendered once now, so that a template that makes no request fails before the run.
            let mut rendered = String::new();
            let call = CallContext {
                request_number: 0,
                worker_id: 0,
                method: method.full_name(),
            };
            template.render(&call, &mut CallValues::new(1), &mut rendered);
            let messages =
                runner::encode_all(method, rendered.as_bytes(), json).map_err(|error| {
                    BenchError::Data(format!(
                        "DATA, its template filled in as `{rendered}`: {error}"
                    ))
                })?;
            check_count(&messages, "DATA")?;
            Ok(RequestData::Templated { template, json })
        }
        None => {
            let messages = runner::encode_all(method, text.as_bytes(), json)?;
            check_count(&messages, "DATA")?;
            Ok(RequestData::Cycle(vec![messages.into()]))
        }
    }
}

/// A line on stderr, written over, while a person watches.
fn show_progress(progress: &Progress, rate: Option<&RateSchedule>, printer: &mut Printer) {
    let mut line = if progress.warming_up {
        format!("warming up… {} calls", progress.calls)
    } else {
        format!(
            "{:>6.1} s  {} calls  {} errors",
            progress.elapsed.as_secs_f64(),
            progress.calls,
            progress.errors
        )
    };
    if let Some((count, p50, p99)) = progress.last_second {
        line.push_str(&format!(
            "  last second: {count}/s{}, p50 {}, p99 {}",
            rate.map_or(String::new(), |rate| format!(
                " (asked {:.0})",
                rate.rate_at(progress.elapsed)
            )),
            report::human(p50 as f64),
            report::human(p99 as f64)
        ));
    }
    printer.stderr_text(&format!("\r\x1b[2K{line}"));
}

/// This process's CPU time so far (user + system), from /proc on Linux.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // Linux reports them in USER_HZ, 100 a second on every architecture it runs on.
    Some(ticks / 100.0)
}

struct ReportInputs<'a> {
    args: &'a BenchArgs,
    method: &'a str,
    target: String,
    load: &'a Load,
    shard: Option<Shard>,
    started: SystemTime,
    results: Results,
    cpu: Option<f64>,
}

fn make_report(inputs: ReportInputs<'_>) -> Report {
    let ReportInputs {
        args,
        method,
        target,
        load,
        shard,
        started,
        results,
        cpu,
    } = inputs;
    let recorder = &results.recorder;
    let duration = results.measured.as_secs_f64();
    let count = recorder.count();
    let rate = match load {
        Load::Open { rate, .. } => Some(rate),
        Load::Closed { .. } => None,
    };
    let asked_rps = rate.map(|rate| asked_rate(rate, args.warmup, results.measured));
    let mut notes = Vec::new();
    if let (Some(asked), Load::Open { max_inflight, .. }) = (asked_rps, load) {
        let started_rate = if duration > 0.0 {
            count as f64 / duration
        } else {
            0.0
        };
        if started_rate < asked * HELD_SHARE && args.total.is_none() {
            notes.push(format!(
                "made {started_rate:.1} calls/s of the {asked:.1} asked ({:.1}%)",
                started_rate / asked * 100.0
            ));
        }
        // Late is later than LATE_SENDS or two periods of the rate, whichever is longer; the
        // generator fell behind when more than 1% of its sends (and more than one) were.
        let period = Duration::from_secs_f64(2.0 / asked.max(0.001));
        let threshold = u64::try_from(LATE_SENDS.max(period).as_micros()).unwrap_or(u64::MAX);
        let late_sends = recorder.lateness.count_above(threshold);
        let late = recorder.lateness.quantile(0.99);
        if late_sends > 1 && late_sends as f64 > count as f64 * LATE_SHARE {
            let why = if results.slot_waits > 0 {
                "waiting for a free slot"
            } else {
                "the generator could not keep up (CPU)"
            };
            notes.push(format!(
                "{late_sends} sends went out over {} late (p99 {}, max {}): {why}; the latencies include it",
                report::human(threshold as f64),
                report::human(late as f64),
                report::human(recorder.lateness.max() as f64)
            ));
        }
        if results.slot_waits > 0 {
            notes.push(format!(
                "all {max_inflight} slots were in flight for {} calls, which waited (--max-inflight)",
                results.slot_waits
            ));
        }
    }
    let histogram = |histogram: &crate::bench::stats::Histogram| {
        (!histogram.is_empty()).then(|| histogram.summary())
    };
    Report {
        schema: SCHEMA.to_string(),
        method: method.to_string(),
        target,
        load: LoadReport {
            mode: if rate.is_some() { "open" } else { "closed" }.to_string(),
            concurrency: match load {
                Load::Closed { workers } => Some(*workers as u64),
                Load::Open { .. } => None,
            },
            schedule: rate.map(RateSchedule::describe),
            asked_rps: asked_rps.map(|rate| round(rate, 1)),
            max_inflight: match load {
                Load::Open { max_inflight, .. } => Some(*max_inflight as u64),
                Load::Closed { .. } => None,
            },
            connections: args.connections,
        },
        shard: shard.map(|shard| ShardReport {
            index: shard.index,
            count: shard.count,
        }),
        started: rfc3339(started.duration_since(UNIX_EPOCH).unwrap_or_default()),
        duration_s: round(duration, 3),
        count,
        ok: recorder.ok(),
        errors: count - recorder.ok(),
        rps: report::rate(count, duration),
        warmup_calls: results.warmup_calls,
        latency: recorder.latency.summary(),
        service_time: recorder.service_time.summary(),
        send_lateness: recorder.lateness.summary(),
        first_message: histogram(&recorder.first_message),
        message_round_trip: histogram(&recorder.round_trip),
        messages_sent: recorder.messages_sent,
        messages_received: recorder.messages_received,
        status: recorder.codes(),
        errors_seen: recorder.errors.clone(),
        other_errors: recorder.other_errors,
        intervals: recorder.intervals.clone(),
        generator: Generator {
            held: notes.is_empty(),
            notes,
            cpu_seconds: cpu.map(|cpu| round(cpu, 2)),
            slot_waits: results.slot_waits,
        },
        interrupted: results.interrupted,
        slo: Vec::new(),
    }
}

/// The calls per second the schedule asked for over the measured time, on average: with `-n`
/// the window is the one the calls took.
fn asked_rate(rate: &RateSchedule, warmup: Duration, measured: Duration) -> f64 {
    if let RateSchedule::Const(rate) = rate {
        return *rate;
    }
    if measured.is_zero() {
        return rate.rate_at(Duration::ZERO);
    }
    // A changing rate: its calls counted over the measured time, as the scheduler made them.
    let mut ticker = Ticker::new(rate.clone(), warmup);
    let end = warmup + measured;
    let mut asked = 0u64;
    loop {
        let at = ticker.next_time();
        if at >= end {
            break;
        }
        if at >= warmup {
            asked += 1;
        }
    }
    asked as f64 / measured.as_secs_f64()
}

fn print_report(report: &Report, output: BenchOutput, printer: &mut Printer) -> Result<(), Error> {
    let text = match output {
        BenchOutput::Summary => report::summary(report),
        BenchOutput::Json => {
            let mut text = serde_json::to_string_pretty(report)
                .map_err(|error| Error::Internal(format!("the report as JSON: {error}")))?;
            text.push('\n');
            text
        }
        BenchOutput::Csv => report::csv(report),
        BenchOutput::Html => report::html(report),
    };
    printer.text(&text)?;
    Ok(())
}

fn read_report(path: &std::path::Path) -> Result<Report, BenchError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| BenchError::Report {
        path: name.clone(),
        reason: error.to_string(),
    })?;
    Report::read(&name, &text)
}

fn compare(
    old: &std::path::Path,
    new: &std::path::Path,
    max_regression: Option<f64>,
    printer: &mut Printer,
) -> Result<Outcome, Error> {
    let (old, new) = (read_report(old)?, read_report(new)?);
    if old.method != new.method {
        printer.warning(&format!(
            "the runs called different methods: {} and {}",
            old.method, new.method
        ));
    }
    let (table, regressions) = report::compare(&old, &new, max_regression);
    printer.text(&table)?;
    if regressions.is_empty() {
        return Ok(Outcome::Ok);
    }
    Err(BenchError::Regression(format!("a regression: {}", regressions.join("; "))).into())
}

fn merge(
    paths: &[std::path::PathBuf],
    args: &BenchReportArgs,
    printer: &mut Printer,
) -> Result<Outcome, Error> {
    let reports = paths
        .iter()
        .map(|path| read_report(path))
        .collect::<Result<Vec<_>, _>>()?;
    let mut merged = report::merge(&reports)?;
    merged.slo = args
        .slo
        .iter()
        .map(|objective| objective.check(&merged))
        .collect();
    print_report(&merged, args.output, printer)?;
    ending(&Report {
        interrupted: false,
        ..merged
    })
}

/// The Kubernetes Indexed Job of a split run: N pods, each its shard (from its completion
/// index), all starting at one time, each writing its JSON report to its log.
fn k8s_job(
    global: &GlobalArgs,
    args: &K8sJobArgs,
    printer: &mut Printer,
) -> Result<Outcome, Error> {
    // The bench's arguments must make a run: checked as the pods will read them.
    let words = ["grpcx", "bench"]
        .into_iter()
        .map(str::to_string)
        .chain(args.bench.iter().cloned());
    match Cli::try_parse_from(words) {
        Ok(Cli {
            command: Command::Bench(bench),
            ..
        }) if bench.action.is_none() => {
            if bench.run.shard.is_some() || bench.run.start_at.is_some() {
                return Err(BenchError::Data(
                    "the Job gives each pod its --shard and --start-at: leave them out".to_string(),
                )
                .into());
            }
        }
        Ok(_) => {
            return Err(BenchError::Data(
                "the Job runs a bench: give METHOD and its options after --".to_string(),
            )
            .into());
        }
        Err(error) => {
            return Err(BenchError::Data(format!(
                "the bench arguments after -- do not parse: {}",
                error
                    .render()
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    // clap's first line starts as grpcx's own will: said once.
                    .trim_start_matches("error: ")
            ))
            .into());
        }
    }
    let start_at = rfc3339(
        (SystemTime::now() + args.start_in)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default(),
    );
    let mut container_args: Vec<String> = Vec::new();
    if let Some(addr) = &global.addr {
        container_args.extend(["--addr".to_string(), addr.to_string()]);
    }
    container_args.push("bench".to_string());
    container_args.extend(args.bench.iter().cloned());
    container_args.extend([
        "--shard".to_string(),
        format!("$(SHARD_INDEX)/{}", args.shards),
        "--start-at".to_string(),
        start_at,
        "-o".to_string(),
        "json".to_string(),
    ]);
    let quoted = |text: &str| serde_json::to_string(text).unwrap_or_default();
    let list = container_args
        .iter()
        .map(|arg| quoted(arg))
        .collect::<Vec<_>>()
        .join(", ");
    let (name, image) = (quoted(&args.name), quoted(&args.image));
    let shards = args.shards;
    let manifest = [
        format!("# {shards} shards of one grpcx bench; each pod's log is its JSON report:"),
        "# merge them with `grpcx bench merge` (see `grpcx bench k8s-job --help`).".to_string(),
        "apiVersion: batch/v1".to_string(),
        "kind: Job".to_string(),
        "metadata:".to_string(),
        format!("  name: {name}"),
        format!("  labels: {{app: {name}}}"),
        "spec:".to_string(),
        "  completionMode: Indexed".to_string(),
        format!("  completions: {shards}"),
        format!("  parallelism: {shards}"),
        "  backoffLimit: 0".to_string(),
        "  template:".to_string(),
        "    metadata:".to_string(),
        format!("      labels: {{app: {name}}}"),
        "    spec:".to_string(),
        "      restartPolicy: Never".to_string(),
        "      containers:".to_string(),
        "        - name: bench".to_string(),
        format!("          image: {image}"),
        format!("          args: [{list}]"),
        "          env:".to_string(),
        "            - name: SHARD_INDEX".to_string(),
        "              valueFrom:".to_string(),
        "                fieldRef:".to_string(),
        "                  fieldPath: \"metadata.annotations['batch.kubernetes.io/job-completion-index']\"".to_string(),
        String::new(),
    ]
    .join("\n");
    printer.text(&manifest)?;
    Ok(Outcome::Ok)
}
