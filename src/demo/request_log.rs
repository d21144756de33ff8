//! What the demo server saw: each call with its metadata, and events such as a client's
//! cancellation. `serve-demo --log` shows them as they come, through a callback the command
//! gives (the server itself never prints); tests read them back.

use std::sync::{Arc, Mutex};

use std::task::{Context, Poll};

use tonic::codegen::http;
use tonic::metadata::{KeyAndValueRef, MetadataMap};
use tonic::server::NamedService;

/// Receives each call and event as a line of text, as it happens.
pub type Reporter = Arc<dyn Fn(String) + Send + Sync>;

/// The calls a demo server received, with their metadata, and what it noticed besides.
///
/// Only a log made to be read back (the default one) keeps what it sees: a server that runs
/// for long, as `serve-demo` does, must not grow with every call it serves.
#[derive(Clone)]
pub struct RequestLog {
    entries: Arc<Mutex<Vec<LoggedCall>>>,
    events: Arc<Mutex<Vec<String>>>,
    report: Option<Reporter>,
    keep: bool,
}

impl std::fmt::Debug for RequestLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestLog")
            .field("reports", &self.report.is_some())
            .field("keep", &self.keep)
            .finish()
    }
}

impl Default for RequestLog {
    /// A log that keeps every call and event, for [`RequestLog::calls`] and
    /// [`RequestLog::events`].
    fn default() -> RequestLog {
        RequestLog {
            entries: Arc::default(),
            events: Arc::default(),
            report: None,
            keep: true,
        }
    }
}

/// One call as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedCall {
    /// The service called, e.g. `grpcx.demo.v1.ItemService`.
    pub service: &'static str,
    /// The method called, e.g. `GetItem`.
    pub method: String,
    /// Metadata keys and values; binary values in base64.
    pub metadata: Vec<(String, String)>,
}

impl LoggedCall {
    /// The value of metadata `key`, if the call carried it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl RequestLog {
    /// A log that hands each call and event to `report`, as text, and keeps none.
    pub fn reporting(report: impl Fn(String) + Send + Sync + 'static) -> RequestLog {
        RequestLog {
            report: Some(Arc::new(report)),
            keep: false,
            ..RequestLog::default()
        }
    }

    /// A log that neither reports nor keeps anything.
    pub fn off() -> RequestLog {
        RequestLog {
            keep: false,
            ..RequestLog::default()
        }
    }

    /// Every call logged so far.
    pub fn calls(&self) -> Vec<LoggedCall> {
        self.entries
            .lock()
            .map(|entries| entries.clone())
            .unwrap_or_default()
    }

    /// What the service noticed beyond the calls themselves, such as a client's cancellation.
    pub fn events(&self) -> Vec<String> {
        self.events
            .lock()
            .map(|events| events.clone())
            .unwrap_or_default()
    }

    /// Notes an event.
    pub(crate) fn note(&self, event: String) {
        if let Some(report) = &self.report {
            report(event.clone());
        }
        if !self.keep {
            return;
        }
        if let Ok(mut events) = self.events.lock() {
            events.push(event);
        }
    }

    fn record(&self, service: &'static str, method: &str, metadata: &MetadataMap) {
        if self.report.is_none() && !self.keep {
            return;
        }
        let metadata: Vec<(String, String)> = metadata
            .iter()
            .map(|entry| match entry {
                KeyAndValueRef::Ascii(key, value) => (
                    key.to_string(),
                    String::from_utf8_lossy(value.as_encoded_bytes()).into_owned(),
                ),
                KeyAndValueRef::Binary(key, value) => (
                    key.to_string(),
                    String::from_utf8_lossy(value.as_encoded_bytes()).into_owned(),
                ),
            })
            .collect();
        if let Some(report) = &self.report {
            let mut text = format!("call to {service}/{method}");
            for (key, value) in &metadata {
                text.push_str(&format!("\n  {key}: {value}"));
            }
            report(text);
        }
        if !self.keep {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            entries.push(LoggedCall {
                service,
                method: method.to_string(),
                metadata,
            });
        }
    }

    /// Wraps `service` so that each of its calls is logged, with its method.
    pub(super) fn wrap<S: NamedService>(&self, service: S) -> Logged<S> {
        Logged {
            inner: service,
            log: self.clone(),
        }
    }
}

/// A service whose calls go into a [`RequestLog`] as they arrive: a layer that sees the HTTP/2
/// request, so that the method (the path) is known, which an interceptor is not told.
#[derive(Clone)]
pub struct Logged<S> {
    inner: S,
    log: RequestLog,
}

impl<S, B> tower_service::Service<http::Request<B>> for Logged<S>
where
    S: tower_service::Service<http::Request<B>> + NamedService,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> S::Future {
        let method = request.uri().path().rsplit('/').next().unwrap_or_default();
        let metadata = MetadataMap::from_headers(request.headers().clone());
        self.log.record(S::NAME, method, &metadata);
        self.inner.call(request)
    }
}

impl<S: NamedService> NamedService for Logged<S> {
    const NAME: &'static str = S::NAME;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_log_made_to_be_read_back_keeps_calls_and_events() {
        let metadata = tonic::metadata::MetadataMap::new();
        let kept = RequestLog::default();
        kept.record("grpcx.demo.v1.ItemService", "GetItem", &metadata);
        kept.note("an event".to_string());
        assert_eq!((kept.calls().len(), kept.events().len()), (1, 1));

        // serve-demo's logs: a server that runs for long does not grow with each call.
        let off = RequestLog::off();
        off.record("grpcx.demo.v1.ItemService", "GetItem", &metadata);
        off.note("an event".to_string());
        assert_eq!((off.calls().len(), off.events().len()), (0, 0));

        let reported = Arc::new(Mutex::new(Vec::new()));
        let sink = reported.clone();
        let reporting = RequestLog::reporting(move |line| sink.lock().unwrap().push(line));
        reporting.record("grpcx.demo.v1.ItemService", "GetItem", &metadata);
        reporting.note("an event".to_string());
        assert_eq!(
            *reported.lock().unwrap(),
            ["call to grpcx.demo.v1.ItemService/GetItem", "an event"]
        );
        assert_eq!(reporting.calls().len() + reporting.events().len(), 0);
    }
}
