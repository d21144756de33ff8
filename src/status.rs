//! gRPC status codes as grpcx shows them and exits with them: a leaf that every layer may use.
//!
//! Exit codes follow grpcurl's convention, so that scripts move over unchanged: 0 success ·
//! 1 a failure outside the call · 2 usage · 64 + the gRPC status code when the call ends with
//! a non-OK status (NOT_FOUND = 69, DEADLINE_EXCEEDED = 68) · 130 interrupted.

use tonic::{Code, Status};

/// Exit code for success, also when the reader of stdout went away.
pub const EXIT_OK: u8 = 0;
/// Exit code for a failure outside the call.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for a usage error (clap uses it too).
pub const EXIT_USAGE: u8 = 2;
/// Exit code when a call ends with a non-OK status: this plus the status code.
pub const EXIT_STATUS_BASE: u8 = 64;
/// `health`'s exit codes for a server's answer other than SERVING.
pub const EXIT_NOT_SERVING: u8 = 3;
pub const EXIT_HEALTH_UNKNOWN: u8 = 4;
pub const EXIT_SERVICE_UNKNOWN: u8 = 5;
/// Exit code after Ctrl-C.
pub const EXIT_INTERRUPTED: u8 = 130;
/// `bench`: an `--slo` objective was not met.
pub const EXIT_SLO_BREACHED: u8 = 6;
/// `bench`: the generator could not make the load asked for.
pub const EXIT_LOAD_NOT_HELD: u8 = 7;
/// `bench compare`: a change beyond `--max-regression`.
pub const EXIT_REGRESSION: u8 = 8;

/// The exit code of a call that ended with `code`.
pub fn exit_code(code: Code) -> u8 {
    match code {
        Code::Ok => EXIT_OK,
        other => EXIT_STATUS_BASE + other as u8,
    }
}

/// The HTTP status of a call that ended with `code`: the mapping of `google/rpc/code.proto`,
/// as grpc-gateway and Envoy's transcoder apply it (CANCELLED is nginx's 499, "client closed
/// request").
pub fn http_status(code: Code) -> u16 {
    match code {
        Code::Ok => 200,
        Code::Cancelled => 499,
        Code::Unknown => 500,
        Code::InvalidArgument => 400,
        Code::DeadlineExceeded => 504,
        Code::NotFound => 404,
        Code::AlreadyExists => 409,
        Code::PermissionDenied => 403,
        Code::ResourceExhausted => 429,
        Code::FailedPrecondition => 400,
        Code::Aborted => 409,
        Code::OutOfRange => 400,
        Code::Unimplemented => 501,
        Code::Internal => 500,
        Code::Unavailable => 503,
        Code::DataLoss => 500,
        Code::Unauthenticated => 401,
    }
}

/// The canonical name of a status code, as the gRPC spec writes it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Whether `status` says a message was over the receiving side's size limit, in tonic's words
/// ("decoded message length too large"), whichever side refused which message.
pub fn is_message_too_large(status: &Status) -> bool {
    status.message().contains("message length too large")
}

/// How grpcx words a response over its own limit (`--max-msg-sz`).
pub const RESPONSE_TOO_LARGE: &str = "the response is larger than grpcx accepts";

/// How grpcx words a request message the server refused as over its limit.
pub const REQUEST_TOO_LARGE: &str = "the server refused a request message as too large";

/// Whether `status` is a response over grpcx's own limit: the one a flag raises.
pub fn is_response_too_large(status: &Status) -> bool {
    status.message().starts_with(RESPONSE_TOO_LARGE)
}

/// Whether `status` is a request the server refused for its size.
pub fn is_request_too_large(status: &Status) -> bool {
    status.message().starts_with(REQUEST_TOO_LARGE)
}

/// The hint for a message over `--max-msg-sz`, wherever it was refused.
pub const MESSAGE_TOO_LARGE_HINT: &str = "raise grpcx's limit on message size with --max-msg-sz, e.g. --max-msg-sz 16MiB (the default is 4MiB)";

/// The hint for a request over the server's limit, which no flag of grpcx's raises.
pub const REQUEST_TOO_LARGE_HINT: &str = "send a smaller message: the server decides how large a request may be (--max-msg-sz is grpcx's limit on responses)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_map_to_64_plus_code() {
        assert_eq!(exit_code(Code::Ok), 0);
        assert_eq!(exit_code(Code::NotFound), 69);
        assert_eq!(exit_code(Code::DeadlineExceeded), 68);
        assert_eq!(exit_code(Code::Unauthenticated), 80);
    }

    #[test]
    fn too_large_is_recognised_in_tonics_words_and_in_grpcxs() {
        let tonic = Status::out_of_range(
            "Error, decoded message length too large: found 70 bytes, the limit is: 64 bytes",
        );
        assert!(is_message_too_large(&tonic));
        let rewritten = Status::resource_exhausted(
            "the response is larger than grpcx accepts: decoded message length too large: found 70 bytes",
        );
        assert!(is_message_too_large(&rewritten));
        assert!(!is_message_too_large(&Status::resource_exhausted("quota")));
    }
}
