//! Interop: the real `grpcx` binary against the interop service (`fixtures/interop/`) served by
//! other people's gRPC stacks, each with its own reflection package: grpcio (the C core) with
//! grpcio-reflection from PyPI, and @grpc/grpc-js with @grpc/reflection from npm. Every check
//! runs against each stack; see `peer.rs` for installs and process lifetimes. The suite needs
//! python3, node and npm and their registries, so it runs only when asked for:
//! `cargo test -- --include-ignored` (as `.ci/run` does).
//!
//! What a peer answers is checked against what was sent and against what the peer itself says
//! it saw (the `Seen` message), and what its reflection serves against the same schema read
//! from the fixture files by grpcx's own compiler.

// Test code: a failed unwrap (or index) is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

mod checks;
mod peer;
#[path = "../support/mod.rs"]
mod support;

macro_rules! interop_suite {
    ($module:ident, $stack:expr) => {
        mod $module {
            use crate::checks;
            use crate::peer::{Stack, peer};

            fn with_peer(check: fn(&crate::peer::Peer)) {
                let stack: Stack = $stack;
                check(peer(stack));
            }

            #[test]
            #[ignore = "needs python3, node and npm, and their package registries: cargo test -- --include-ignored"]
            fn a_warm_cache_never_changes_an_answer() {
                with_peer(checks::cache_changes_no_answer);
            }

            #[test]
            #[ignore = "needs python3, node and npm, and their package registries: cargo test -- --include-ignored"]
            fn list_matches_the_schema() {
                with_peer(checks::list);
            }

            #[test]
            #[ignore = "needs python3, node and npm, and their package registries: cargo test -- --include-ignored"]
            fn describe_matches_the_schema() {
                with_peer(checks::describe);
            }

            #[test]
            #[ignore = "needs python3, node and npm, and their package registries: cargo test -- --include-ignored"]
            fn template_matches_the_schema() {
                with_peer(checks::template);
            }

            #[test]
            #[ignore = "needs python3, node and npm, and their package registries: cargo test -- --include-ignored"]
            fn unary_echo_round_trips_every_type() {
                with_peer(checks::echo_every_type);
            }

            #[test]
            #[ignore = "needs python3, node and npm, and their package registries: cargo test -- --include-ignored"]
            fn unary_echo_round_trips_each_oneof_member() {
                with_peer(checks::echo_each_oneof_member);
            }

            #[test]
            #[ignore = "needs python3, node and npm, and their package registries: cargo test -- --include-ignored"]
            fn unary_input_accepts_what_the_mapping_allows() {
                with_peer(checks::echo_lenient_input);
            }

            #[test]
            #[ignore = "needs python3, node and npm, and their package registries: cargo test -- --include-ignored"]
            fn server_stream_of_64_bit_values() {
                with_peer(checks::server_stream);
            }

            #[test]
            #[ignore = "needs python3, node and npm, and their package registries: cargo test -- --include-ignored"]
            fn client_stream_adds_up() {
                with_peer(checks::client_stream);
            }

            #[test]
            #[ignore = "needs python3, node and npm, and their package registries: cargo test -- --include-ignored"]
            fn bidi_stream_answers_each_message() {
                with_peer(checks::bidi_stream);
            }

            #[test]
            #[ignore = "needs python3, node and npm, and their package registries: cargo test -- --include-ignored"]
            fn bidi_stream_answers_before_the_next_message() {
                with_peer(checks::bidi_interactive);
            }

            #[test]
            #[ignore = "needs python3, node and npm, and their package registries: cargo test -- --include-ignored"]
            fn metadata_required_and_echoed() {
                with_peer(checks::metadata);
            }

            #[test]
            #[ignore = "needs python3, node and npm, and their package registries: cargo test -- --include-ignored"]
            fn unary_trailers_are_trailers() {
                with_peer(checks::unary_trailers);
            }

            #[test]
            #[ignore = "needs python3, node and npm, and their package registries: cargo test -- --include-ignored"]
            fn rich_error_details_decode() {
                with_peer(checks::rich_error);
            }

            #[test]
            #[ignore = "needs python3, node and npm, and their package registries: cargo test -- --include-ignored"]
            fn the_gateway_serves_every_kind_of_call_over_http() {
                with_peer(checks::gateway);
            }

            #[test]
            #[ignore = "needs python3, node and npm, and their package registries: cargo test -- --include-ignored"]
            fn openapi_documents_pass_an_independent_validator() {
                with_peer(checks::openapi_documents_are_valid);
            }
        }
    };
}

interop_suite!(python, Stack::Python);
interop_suite!(node, Stack::Node);
