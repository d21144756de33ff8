//! Usage errors, each its own test so that one failure hides none of the rest: grpcx run in
//! this process (see `support::run_in_process`), since each ends before anything is
//! connected. Each prints one clear `error:` line naming the problem on stderr, nothing on
//! stdout, and exits 2. Those that need a server are in `bad_input.rs`.

use crate::support::run_in_process;

/// Where nothing listens: a usage error must fail before any connection is tried.
const NOWHERE: &str = "127.0.0.1:1";

#[track_caller]
fn usage_error(args: &[&str], needles: &[&str]) {
    let got = run_in_process(args);
    got.fails(2, needles);
    assert_eq!(got.stdout, "", "stdout carries only results: {got:#?}");
    assert!(
        got.stderr.starts_with("error: "),
        "one clear line first: {got:#?}"
    );
    assert!(
        !got.stderr.contains("cannot connect"),
        "nothing was dialled: {got:#?}"
    );
}

macro_rules! usage_errors {
    ($($name:ident: [$($arg:expr),* $(,)?] => [$($needle:expr),* $(,)?];)*) => {
        $(
            #[test]
            fn $name() {
                usage_error(&[$($arg),*], &[$($needle),*]);
            }
        )*
    };
}

// Invalid metadata: the seed's rules.
usage_errors! {
    a_header_under_grpc_is_reserved: ["--addr", NOWHERE, "-H", "grpc-trace: 1", "list"] => ["grpc-"];
    a_header_under_grpc_in_capitals_too: ["--addr", NOWHERE, "-H", "GRPC-Anything: 1", "list"] => ["grpc-"];
    a_space_in_a_header_name: ["--addr", NOWHERE, "-H", "x key: 1", "list"] => ["character"];
    a_parenthesis_in_a_header_name: ["--addr", NOWHERE, "-H", "x(key): 1", "list"] => ["character"];
    a_non_ascii_header_value: ["--addr", NOWHERE, "-H", "x-k: caf\u{e9}", "list"] => ["printable ASCII"];
    a_control_character_in_a_header_value: ["--addr", NOWHERE, "-H", "x-k: a\u{7}b", "list"] => ["printable ASCII"];
    a_binary_header_that_is_not_base64: ["--addr", NOWHERE, "-H", "x-k-bin: not*base64", "list"] => ["base64"];
    a_header_without_a_colon: ["--addr", NOWHERE, "-H", "no colon", "list"] => ["NAME: VALUE"];
    a_header_without_a_name: ["--addr", NOWHERE, "-H", ": empty", "list"] => ["empty header name"];
    a_bad_rpc_header_names_its_flag: ["--addr", NOWHERE, "--rpc-header", "grpc-x: 1", "list"] => ["--rpc-header"];
    an_unset_variable_in_an_expanded_header: [
        "--addr", NOWHERE, "--expand-headers", "-H", "x-t: ${GRPCX_TEST_UNSET_VARIABLE}", "list",
    ] => ["GRPCX_TEST_UNSET_VARIABLE"];
}

// Conflicting flags and bad flag values.
usage_errors! {
    tls_and_plaintext: ["--addr", NOWHERE, "--tls", "--plaintext", "list"] => ["--plaintext"];
    insecure_and_plaintext: ["--addr", NOWHERE, "--insecure", "--plaintext", "list"] => ["--plaintext"];
    tls_after_the_subcommand_and_plaintext_before: ["--addr", NOWHERE, "--plaintext", "list", "--tls"] => ["--plaintext"];
    a_certificate_without_its_key: ["--addr", NOWHERE, "--cert", "c.pem", "list"] => ["--key"];
    data_twice: ["--addr", NOWHERE, "call", "ItemService/GetItem", "{}", "-d", "{}"] => ["cannot be used with"];
    a_max_time_that_is_not_a_duration: ["--addr", NOWHERE, "--max-time", "forever", "list"] => ["--max-time"];
    a_negative_connect_timeout: ["--addr", NOWHERE, "--connect-timeout=-1s", "list"] => ["--connect-timeout"];
    a_message_size_that_is_not_a_size: ["--addr", NOWHERE, "--max-msg-sz", "huge", "list"] => ["--max-msg-sz"];
    an_unknown_output: ["--addr", NOWHERE, "call", "ItemService/GetItem", "--output", "xml"] => ["--output"];
    an_unknown_format: ["--addr", NOWHERE, "call", "ItemService/GetItem", "--format", "yaml"] => ["--format"];
    an_unknown_color_choice: ["--addr", NOWHERE, "--color", "sometimes", "list"] => ["--color"];
    an_unknown_compression: ["--addr", NOWHERE, "--compress", "zstd", "list"] => ["--compress"];
    an_unknown_subcommand: ["--addr", NOWHERE, "frobnicate"] => ["frobnicate"];
    a_template_needs_a_symbol: ["--addr", NOWHERE, "describe", "--template"] => ["SYMBOL"];
    a_call_needs_a_method: ["--addr", NOWHERE, "call"] => ["METHOD"];
}

// Bad addresses and ports.
usage_errors! {
    an_address_without_a_port: ["--addr", "localhost", "list"] => ["no port"];
    an_address_with_an_empty_port: ["--addr", "localhost:", "list"] => ["not a port"];
    a_port_out_of_range: ["--addr", "localhost:99999", "list"] => ["not a port"];
    port_zero: ["--addr", "localhost:0", "list"] => ["port 0"];
    an_address_without_a_host: ["--addr", ":50051", "list"] => ["no host"];
    an_unknown_scheme: ["--addr", "ftp://h:1", "list"] => ["unknown scheme"];
    an_address_with_a_path: ["--addr", "http://h:1/path", "list"] => ["path"];
    ipv6_without_brackets: ["--addr", "::1:80", "list"] => ["brackets"];
    an_unclosed_bracket: ["--addr", "[::1", "list"] => ["never closes"];
    a_unix_socket_without_a_path: ["--addr", "unix:", "list"] => ["socket path"];
}

#[test]
fn help_and_version_go_to_stdout_and_exit_zero() {
    let help = run_in_process(&["call", "--help"]);
    assert_eq!(help.code, 0, "{help:#?}");
    assert!(help.stdout.contains("Usage:"), "{help:#?}");
    assert_eq!(help.stderr, "");
    let version = run_in_process(&["--version"]);
    assert_eq!(version.code, 0, "{version:#?}");
    assert!(version.stdout.starts_with("grpcx "), "{version:#?}");
}

// `bench`: flags whose values make no run, refused before anything is dialled.
usage_errors! {
    bench_without_a_method: ["--addr", NOWHERE, "bench"] => ["METHOD"];
    bench_at_a_rate_of_zero: ["--addr", NOWHERE, "bench", "ItemService/GetItem", "--rps", "0"] => ["--rps", "above 0"];
    bench_a_shard_past_the_count: ["--addr", NOWHERE, "bench", "ItemService/GetItem", "--shard", "4/4"] => ["--shard", "0 to N-1"];
    bench_an_objective_without_a_comparison: ["--addr", NOWHERE, "bench", "ItemService/GetItem", "--slo", "p99"] => ["--slo", "no comparison"];
    bench_an_objective_on_no_metric: ["--addr", NOWHERE, "bench", "ItemService/GetItem", "--slo", "speed>1"] => ["not a metric"];
    bench_a_start_time_that_is_no_time: ["--addr", NOWHERE, "bench", "ItemService/GetItem", "--start-at", "tomorrow"] => ["RFC 3339"];
    bench_no_workers: ["--addr", NOWHERE, "bench", "ItemService/GetItem", "-c", "0"] => ["--concurrency"];
    bench_an_address_in_place_of_the_method: ["bench", "localhost:50051"] => ["address"];
    bench_compare_a_regression_that_is_no_percentage: ["bench", "compare", "a.json", "b.json", "--max-regression", "lots"] => ["percentage"];
    bench_k8s_job_without_shards: ["bench", "k8s-job", "--", "ItemService/GetItem"] => ["--shards"];
}
