//! `grpcx bench` against the demo server in process: the counts add up with what the server
//! saw, a stall shows in the corrected latencies only, a rate that cannot be held is said so,
//! objectives and regressions have their exit codes, the JSON document and its histograms
//! round-trip, shards merge into the union, and the Kubernetes Job is a Job. Timings are never
//! asserted as figures: only how they compare with each other.

use std::time::Duration;

use grpcx::bench::stats::Histogram;
use serde_json::Value;

use crate::support::{Home, TestServer, run_command};

/// The calls the server saw of `method` (ItemService's).
fn calls_of(server: &TestServer, method: &str) -> Vec<grpcx::demo::LoggedCall> {
    server
        .log
        .calls()
        .into_iter()
        .filter(|call| call.method == method)
        .collect()
}

/// The report of a run that ended: 0, or 7 when this machine, busy with other tests, did not
/// let the generator hold the rate (which the tests that use this are not about).
#[track_caller]
fn ended(run: &crate::support::Run) -> &str {
    assert!(run.code == 0 || run.code == 7, "{run:?}");
    &run.stdout
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|error| panic!("{error}: {stdout}"))
}

#[test]
fn the_counts_add_up_with_the_servers_and_the_warmup_is_left_out() {
    let server = TestServer::start();
    let run = server.grpcx(&[
        "bench",
        "ItemService/GetItem",
        r#"{"id": {{randomInt 1 4}}}"#,
        "-c",
        "4",
        "-n",
        "60",
        "--warmup",
        "200ms",
        "--connections",
        "3",
        "-H",
        "x-request: {{.RequestNumber}}",
        "-o",
        "json",
    ]);
    let report = json_of(run.ok());
    assert_eq!(report["schema"], "grpcx.bench/v1");
    assert_eq!(report["count"], 60);
    assert_eq!(report["ok"], 60);
    assert_eq!(report["status"]["OK"], 60);
    let warmup = report["warmup_calls"].as_u64().unwrap();
    assert!(warmup > 0, "{report}");
    let seen = calls_of(&server, "GetItem");
    assert_eq!(
        seen.len() as u64,
        60 + warmup,
        "the server saw every call, warm-up too"
    );
    // Each call's own number, from the template in its metadata.
    let mut numbers: Vec<u64> = seen
        .iter()
        .map(|call| call.get("x-request").unwrap().parse().unwrap())
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..60 + warmup).collect::<Vec<_>>());
    // The seconds add up to the count.
    let per_second: u64 = report["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|interval| interval["count"].as_u64().unwrap())
        .sum();
    assert_eq!(per_second, 60);
    // The histogram in the document is the standard encoding of the same numbers.
    let histogram = Histogram::decode(report["latency"]["histogram"].as_str().unwrap()).unwrap();
    assert_eq!(histogram.len(), 60);
    assert_eq!(histogram.quantile(0.99), report["latency"]["p99_us"]);
    assert_eq!(histogram.max(), report["latency"]["max_us"]);
    assert_eq!(report["generator"]["held"], true);
}

#[test]
fn every_kind_of_method_is_measured_with_its_messages() {
    let server = TestServer::start();
    let stream = json_of(
        server
            .grpcx(&[
                "bench",
                "ItemService/ListItems",
                r#"{"limit": 3}"#,
                "-c",
                "2",
                "-n",
                "10",
                "-o",
                "json",
            ])
            .ok(),
    );
    assert_eq!(stream["messages_received"], 30);
    assert_eq!(stream["first_message"]["count"], 10);

    let bidi = json_of(
        server
            .grpcx(&[
                "bench",
                "ItemService/SyncItems",
                r#"{"getId": "1"} {"getId": "2"}"#,
                "-c",
                "2",
                "-n",
                "8",
                "--stream-count",
                "5",
                "-o",
                "json",
            ])
            .ok(),
    );
    assert_eq!(bidi["messages_sent"], 40);
    assert_eq!(bidi["messages_received"], 40);
    assert_eq!(bidi["message_round_trip"]["count"], 40);

    let client = json_of(
        server
            .grpcx(&[
                "bench",
                "ItemService/CreateItems",
                r#"{"name": "bench"}"#,
                "-c",
                "1",
                "-n",
                "4",
                "--stream-count",
                "3",
                "--stream-interval",
                "20ms",
                "-o",
                "json",
            ])
            .ok(),
    );
    assert_eq!(client["messages_sent"], 12);
    assert_eq!(client["status"]["OK"], 4);
    // Two pauses between three messages: the stream takes at least them.
    assert!(
        client["latency"]["min_us"].as_u64().unwrap() >= 40_000,
        "{client}"
    );
}

#[test]
fn errors_are_counted_by_code_with_their_messages() {
    let server = TestServer::start();
    let run = server.grpcx(&[
        "bench",
        "ItemService/GetItem",
        r#"{"id": 999}"#,
        "-c",
        "2",
        "-n",
        "20",
        "-o",
        "json",
    ]);
    // Failed calls are the run's findings, not the command's failure.
    let report = json_of(run.ok());
    assert_eq!(report["status"]["NOT_FOUND"], 20);
    assert_eq!(report["errors"], 20);
    assert_eq!(report["errors_seen"][0]["code"], "NOT_FOUND");
    assert_eq!(report["errors_seen"][0]["count"], 20);
    assert!(
        report["errors_seen"][0]["message"]
            .as_str()
            .unwrap()
            .contains("999"),
        "{report}"
    );

    // Each call's deadline: -t, capped by --max-time as `call`'s deadline is.
    for deadline in [["-t", "100ms"], ["--max-time", "100ms"]] {
        let run = server.grpcx(&[
            "bench",
            "ItemService/GetItem",
            r#"{"id": 1, "delay": "2s"}"#,
            "-c",
            "2",
            "-n",
            "4",
            deadline[0],
            deadline[1],
            "-o",
            "json",
        ]);
        let report = json_of(run.ok());
        assert_eq!(
            report["status"]["DEADLINE_EXCEEDED"], 4,
            "{deadline:?}: {report}"
        );
        assert!(
            report["latency"]["max_us"].as_u64().unwrap() < 1_500_000,
            "{report}"
        );
    }
}

/// One call in 60 stalls for 600 ms, with one call in flight at a time: in an open loop the
/// calls due during the stall wait for it, and their latency from their intended start shows
/// it (the corrected p90) while their own service time does not (the uncorrected p90); the
/// report says the generator could not send them on time, and the exit code is 7.
#[test]
fn a_stall_shows_in_the_corrected_latencies_and_not_in_the_uncorrected() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("requests.ndjson");
    let mut lines = vec![r#"{"id": 1}"#; 60];
    lines[20] = r#"{"id": 1, "delay": "0.6s"}"#;
    std::fs::write(&file, lines.join("\n")).unwrap();
    let run = server.grpcx(&[
        "bench",
        "ItemService/GetItem",
        "--data-file",
        file.to_str().unwrap(),
        "--rps",
        "50",
        "-n",
        "60",
        "--max-inflight",
        "1",
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 7, "{run:?}");
    let report = json_of(&run.stdout);
    let corrected = report["latency"]["p90_us"].as_u64().unwrap();
    let uncorrected = report["service_time"]["p90_us"].as_u64().unwrap();
    // 30 calls are due during the 600 ms: a quarter of them waited over 300 ms.
    assert!(
        corrected >= 100_000,
        "corrected p90 {corrected} µs: {report}"
    );
    assert!(
        uncorrected < 100_000,
        "uncorrected p90 {uncorrected} µs: {report}"
    );
    assert!(report["service_time"]["max_us"].as_u64().unwrap() >= 600_000);
    assert_eq!(report["generator"]["held"], false);
    let notes = report["generator"]["notes"].to_string();
    assert!(notes.contains("slots"), "{notes}");
    assert!(run.stderr.contains("not held"), "{}", run.stderr);
}

#[test]
fn a_rate_the_generator_cannot_hold_is_reported_as_such() {
    let server = TestServer::start();
    let run = server.grpcx(&[
        "bench",
        "ItemService/GetItem",
        r#"{"id": 1}"#,
        "--rps",
        "1000000",
        "-z",
        "1s",
        "--max-inflight",
        "64",
    ]);
    assert_eq!(run.code, 7, "{run:?}");
    assert!(run.stdout.contains("Generator:"), "{}", run.stdout);
    assert!(run.stdout.contains("asked"), "{}", run.stdout);
    assert!(run.stderr.contains("--rps"), "the hint: {}", run.stderr);
}

#[test]
fn objectives_have_their_exit_codes() {
    let server = TestServer::start();
    let bench = |slos: &[&str]| {
        let mut args = vec!["bench", "ItemService/GetItem", r#"{"id": 1}"#, "-n", "20"];
        for slo in slos {
            args.extend(["--slo", slo]);
        }
        server.grpcx(&args)
    };
    let met = bench(&["p99<30s", "error-rate<=0%", "rps>=1"]);
    assert_eq!(met.code, 0, "{met:?}");
    assert!(met.stdout.contains("met    p99<30s"), "{}", met.stdout);
    let breached = bench(&["p50<1us", "max<1m"]);
    assert_eq!(breached.code, 6, "{breached:?}");
    assert!(
        breached.stdout.contains("BREACH p50<1us"),
        "{}",
        breached.stdout
    );
    assert!(
        breached
            .stderr
            .contains("1 of the run's objectives not met"),
        "{}",
        breached.stderr
    );
    let errors = server.grpcx(&[
        "bench",
        "ItemService/GetItem",
        r#"{"id": 999}"#,
        "-n",
        "5",
        "--slo",
        "error-rate<50%",
    ]);
    assert_eq!(errors.code, 6, "{errors:?}");
    // A malformed objective is a usage error, before anything runs.
    let bad = bench(&["p99 fast"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("no comparison"), "{}", bad.stderr);
}

/// Two shards of one run: their request numbers interleave, and `merge` adds their histograms
/// into exactly the histogram of all their calls.
#[test]
fn shards_split_the_numbers_and_merge_into_the_union() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    let mut union = Histogram::new();
    for shard in ["0/2", "1/2"] {
        let run = server.grpcx(&[
            "bench",
            "ItemService/GetItem",
            r#"{"id": 2}"#,
            "-n",
            "30",
            "-c",
            "2",
            "--shard",
            shard,
            "-H",
            "x-request: {{.RequestNumber}}",
            "-o",
            "json",
        ]);
        let report = json_of(run.ok());
        assert_eq!(report["count"], 15, "each shard its share: {report}");
        union.add(&Histogram::decode(report["latency"]["histogram"].as_str().unwrap()).unwrap());
        let path = dir.path().join(format!("shard-{}.json", &shard[..1]));
        // As `kubectl logs` gives a pod's output: a note of grpcx's before the document.
        std::fs::write(
            &path,
            format!("warning: --start-at is in the past\n{}", run.stdout),
        )
        .unwrap();
        paths.push(path);
    }
    let mut numbers: Vec<u64> = calls_of(&server, "GetItem")
        .iter()
        .map(|call| call.get("x-request").unwrap().parse().unwrap())
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..30).collect::<Vec<_>>());

    let home = Home::new();
    let mut merge = home.command();
    merge
        .args(["bench", "merge"])
        .args(&paths)
        .args(["-o", "json"]);
    let merged = json_of(run_command(merge, None).ok());
    assert_eq!(merged["count"], 30);
    assert_eq!(merged["status"]["OK"], 30);
    let histogram = Histogram::decode(merged["latency"]["histogram"].as_str().unwrap()).unwrap();
    assert_eq!(histogram.len(), 30);
    for quantile in [0.5, 0.9, 0.99, 1.0] {
        assert_eq!(
            histogram.quantile(quantile),
            union.quantile(quantile),
            "{quantile}"
        );
    }
    assert_eq!(merged["latency"]["p99_us"], union.quantile(0.99));

    // Objectives on the merged run.
    let mut checked = home.command();
    checked
        .args(["bench", "merge"])
        .args(&paths)
        .args(["--slo", "p50<1us"]);
    assert_eq!(run_command(checked, None).code, 6);
    // Not a report: said, exit 1.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, r#"{"hello": 1}"#).unwrap();
    let mut bad = home.command();
    bad.args(["bench", "merge"]).arg(&junk);
    let bad = run_command(bad, None);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(bad.stderr.contains("grpcx.bench/v1"), "{}", bad.stderr);
}

#[test]
fn compare_reports_changes_and_fails_beyond_the_allowed_regression() {
    let server = TestServer::start();
    let run = server.grpcx(&[
        "bench",
        "ItemService/GetItem",
        r#"{"id": 1}"#,
        "-n",
        "20",
        "-o",
        "json",
    ]);
    let old = json_of(run.ok());
    let mut new = old.clone();
    new["rps"] = (old["rps"].as_f64().unwrap() * 0.5).into();
    new["latency"]["p99_us"] = (old["latency"]["p99_us"].as_u64().unwrap() * 3).into();
    let dir = tempfile::tempdir().unwrap();
    let (old_path, new_path) = (dir.path().join("old.json"), dir.path().join("new.json"));
    std::fs::write(&old_path, old.to_string()).unwrap();
    std::fs::write(&new_path, new.to_string()).unwrap();
    let home = Home::new();
    let compare = |allowed: Option<&str>| {
        let mut command = home.command();
        command
            .args(["bench", "compare"])
            .arg(&old_path)
            .arg(&new_path);
        if let Some(allowed) = allowed {
            command.args(["--max-regression", allowed]);
        }
        run_command(command, None)
    };
    let plain = compare(None);
    assert_eq!(plain.code, 0, "{plain:?}");
    assert!(plain.stdout.contains("-50.0%"), "{}", plain.stdout);
    assert!(plain.stdout.contains("+200.0%"), "{}", plain.stdout);
    let failed = compare(Some("10%"));
    assert_eq!(failed.code, 8, "{failed:?}");
    assert!(failed.stderr.contains("rps went from"), "{}", failed.stderr);
    assert!(failed.stderr.contains("p99 went from"), "{}", failed.stderr);
    assert_eq!(compare(Some("500%")).code, 0);
}

#[test]
fn the_k8s_job_is_an_indexed_job_of_the_shards() {
    let home = Home::new();
    let mut command = home.command();
    command.args([
        "--addr",
        "items.default.svc:50051",
        "bench",
        "k8s-job",
        "--shards",
        "4",
        "--image",
        "registry.example/grpcx:1",
        "--",
        "ItemService/GetItem",
        r#"{"id": 1}"#,
        "--rps",
        "8000",
        "-z",
        "5m",
    ]);
    let run = run_command(command, None);
    let job: serde_yaml_ng::Value = serde_yaml_ng::from_str(run.ok()).unwrap();
    assert_eq!(job["apiVersion"], "batch/v1");
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    assert_eq!(job["spec"]["completions"], 4);
    assert_eq!(job["spec"]["parallelism"], 4);
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    let container = &pod["containers"][0];
    assert_eq!(container["image"], "registry.example/grpcx:1");
    let args: Vec<String> = serde_yaml_ng::from_value(container["args"].clone()).unwrap();
    let joined = args.join(" ");
    assert!(
        joined.starts_with("--addr items.default.svc:50051 bench ItemService/GetItem {\"id\": 1} --rps 8000 -z 5m --shard $(SHARD_INDEX)/4 --start-at "),
        "{joined}"
    );
    assert!(joined.ends_with("-o json"), "{joined}");
    assert_eq!(container["env"][0]["name"], "SHARD_INDEX");
    assert!(
        container["env"][0]["valueFrom"]["fieldRef"]["fieldPath"]
            .as_str()
            .unwrap()
            .contains("job-completion-index")
    );

    // Arguments that make no run are refused before a manifest is printed.
    let mut bad = home.command();
    bad.args([
        "bench",
        "k8s-job",
        "--shards",
        "2",
        "--",
        "ItemService/GetItem",
        "--rps",
        "zero",
    ]);
    let bad = run_command(bad, None);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(bad.stdout.is_empty());
    assert_eq!(
        bad.stderr.matches("error:").count(),
        1,
        "one clear line: {bad:?}"
    );
}

#[test]
fn csv_and_html_reports_hold_the_run() {
    let server = TestServer::start();
    let csv = server.grpcx(&[
        "bench",
        "ItemService/GetItem",
        r#"{"id": 1}"#,
        "--rps",
        "40",
        "-z",
        "1500ms",
        "-o",
        "csv",
    ]);
    let text = ended(&csv);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("second,count,errors,p50_us,p99_us,max_us")
    );
    let counted: u64 = lines
        .map(|line| line.split(',').nth(1).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(counted, 60, "{text}");

    let html = server.grpcx(&[
        "bench",
        "ItemService/GetItem",
        r#"{"id": 1}"#,
        "-n",
        "30",
        "-o",
        "html",
    ]);
    let page = html.ok();
    assert!(page.starts_with("<!doctype html>"));
    assert!(page.contains("<svg") && page.contains("polyline"));
    assert!(
        !page.contains("src=") && !page.contains("href="),
        "nothing fetched"
    );
}

#[test]
fn ctrl_c_ends_the_run_with_the_report_of_what_was_done() {
    let server = TestServer::start();
    let mut child = server
        .command(&[
            "bench",
            "ItemService/GetItem",
            r#"{"id": 1}"#,
            "--rps",
            "50",
            "-z",
            "60s",
            "-o",
            "json",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = crate::support::read_lines(child.stdout.take().unwrap());
    std::thread::sleep(Duration::from_millis(1500));
    crate::support::interrupt(&child);
    let code = crate::support::wait_bounded(&mut child, crate::support::RUN_LIMIT);
    assert_eq!(code, Some(130));
    let mut text = String::new();
    while let Ok(line) = stdout.recv_timeout(Duration::from_secs(5)) {
        text.push_str(&line);
        text.push('\n');
    }
    let report = json_of(&text);
    assert_eq!(report["interrupted"], true);
    assert!(report["count"].as_u64().unwrap() > 10, "{report}");
}

/// A person watching sees a line a second, written over, with the calls and the last second's
/// rate and percentiles; a pipe gets nothing on stderr.
#[test]
fn progress_shows_at_a_terminal_and_nowhere_else() {
    let server = TestServer::start();
    let (code, seen) = crate::support::run_with_stderr_on_terminal(server.command(&[
        "bench",
        "ItemService/GetItem",
        r#"{"id": 1}"#,
        "--rps",
        "100",
        "-z",
        "2500ms",
    ]));
    assert!(matches!(code, Some(0 | 7)), "{code:?}: {seen}");
    assert!(seen.contains('\r'), "{seen:?}");
    assert!(
        seen.contains("last second: ") && seen.contains("/s (asked 100)"),
        "{seen:?}"
    );
    assert!(seen.contains("p99"), "{seen:?}");

    let piped = server.grpcx(&["bench", "ItemService/GetItem", r#"{"id": 1}"#, "-n", "50"]);
    assert_eq!(piped.code, 0);
    assert_eq!(piped.stderr, "", "nothing but results when no one watches");
}

/// ghz's step schedule: 50 calls a second, 50 more each second, up to 150; each second of the
/// report holds about its step's rate.
#[test]
fn a_step_schedule_raises_the_rate_step_by_step() {
    let server = TestServer::start();
    let run = server.grpcx(&[
        "bench",
        "ItemService/GetItem",
        r#"{"id": 1}"#,
        "--load-schedule",
        "step",
        "--load-start",
        "50",
        "--load-step",
        "50",
        "--load-step-duration",
        "1s",
        "--load-end",
        "150",
        "-z",
        "4s",
        "-o",
        "json",
    ]);
    let report = json_of(ended(&run));
    let counts: Vec<u64> = report["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|interval| interval["count"].as_u64().unwrap())
        .collect();
    // Each second near its step's rate (a quarter either way: a call counts in the second it
    // ends in, and a busy machine moves a few across), and rising.
    for (second, asked) in [(0, 50), (1, 100), (2, 150), (3, 150)] {
        let made = counts[second];
        assert!(
            made.abs_diff(asked) <= asked / 4,
            "second {second}: {made} of {asked}: {counts:?}"
        );
    }
    assert!(counts[0] < counts[1] && counts[1] < counts[2], "{counts:?}");
    // 50 + 100 + 150 + 150, give or take the calls due right at the end.
    let count = report["count"].as_u64().unwrap();
    assert!(count.abs_diff(450) <= 9, "{count}: {counts:?}");
    assert!(
        report["load"]["schedule"]
            .as_str()
            .unwrap()
            .contains("+50 every 1s"),
        "{report}"
    );
}
