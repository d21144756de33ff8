//! The load itself: workers (closed loop) or a scheduler (open loop) making calls of any kind
//! over one channel per connection, each call's measures sent to one recorder.
//!
//! A call's latency is taken from its intended start: in a closed loop that is when it
//! started; in an open loop it is the time the schedule gave it, so a call that went out late
//! (the generator busy, every slot in flight) carries its lateness, and a server's stall shows
//! as the users behind the rate would have felt it. The uncorrected service time is kept too.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use prost_reflect::MethodDescriptor;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tonic::Code;
use tonic::client::Grpc;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

use super::BenchError;
use super::schedule::{Load, Ticker};
use super::stats::{Histogram, Recorder, Sample};
use super::template::{CallContext, CallValues, Template};
use crate::invoke::DynamicCodec;
use crate::invoke::RpcKind;
use crate::invoke::input::{self, JsonInput};
use crate::transport::Header;

/// One call's request messages, shared by the calls that send them.
pub type Messages = Arc<[Bytes]>;

/// The requests of each call.
#[derive(Debug, Clone)]
pub enum RequestData {
    /// Each call's messages, in turn: DATA alone is one entry, `--data-file` one a line.
    Cycle(Vec<Messages>),
    /// DATA with `{{…}}` values, rendered and encoded for each call.
    Templated { template: Template, json: JsonInput },
}

/// A metadata entry whose value is a template.
#[derive(Debug, Clone)]
pub struct HeaderTemplate {
    pub name: String,
    pub value: Template,
}

/// This process's part of a run split over several (`--shard I/N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

/// Everything a run needs, from the command line.
#[derive(Debug, Clone)]
pub struct Plan {
    pub method: MethodDescriptor,
    pub data: RequestData,
    /// Metadata sent as it is.
    pub headers: Vec<Header>,
    /// Metadata rendered for each call.
    pub header_templates: Vec<HeaderTemplate>,
    pub load: Load,
    /// Measured calls to make (this shard's share), when `-n` says.
    pub total: Option<u64>,
    /// How long to measure, when `-z` says.
    pub duration: Option<Duration>,
    pub warmup: Duration,
    /// Each call's deadline.
    pub timeout: Duration,
    /// Messages a request stream sends, cycling through the call's data.
    pub stream_count: Option<u64>,
    /// The pause between a request stream's messages.
    pub stream_interval: Option<Duration>,
    pub shard: Shard,
    pub max_message_size: usize,
}

/// What the runner says while it runs, once a second.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub elapsed: Duration,
    pub calls: u64,
    pub errors: u64,
    /// Calls in the last complete second, and their p50 and p99 (µs).
    pub last_second: Option<(u64, u64, u64)>,
    pub warming_up: bool,
}

/// What a run gives back.
#[derive(Debug)]
pub struct Results {
    pub recorder: Recorder,
    /// From the end of the warm-up to the last call's end.
    pub measured: Duration,
    pub warmup_calls: u64,
    /// Calls of an open loop that found every slot in flight and waited for one.
    pub slot_waits: u64,
    pub interrupted: bool,
}

/// Makes the calls of `plan` over `channels` (one per connection) until `-n` or `-z` is
/// reached or `interrupt` completes.
pub async fn run(
    plan: Plan,
    channels: Vec<Channel>,
    progress: Option<mpsc::UnboundedSender<Progress>>,
    interrupt: impl std::future::Future<Output = ()>,
) -> Result<Results, BenchError> {
    let path = PathAndQuery::try_from(format!(
        "/{}/{}",
        plan.method.parent_service().full_name(),
        plan.method.name()
    ))
    .map_err(|_| BenchError::Method(plan.method.full_name().to_string()))?;
    let Some(first) = channels.first().cloned() else {
        return Err(BenchError::Method("no connection".to_string()));
    };
    let started = Instant::now();
    let measuring_from = started + plan.warmup;
    let shared = Arc::new(Shared {
        plan,
        path,
        channels,
        first,
        started,
        measuring_from,
        numbers: AtomicU64::new(0),
        measured_issued: AtomicU64::new(0),
        stopping: AtomicBool::new(false),
        round_trips: Mutex::new(Histogram::new()),
    });
    let (samples, mut samples_rx) = mpsc::unbounded_channel::<Vec<Measured>>();

    let load = {
        let shared = shared.clone();
        let samples = samples.clone();
        async move {
            match shared.plan.load.clone() {
                Load::Closed { workers } => closed_loop(shared, workers, samples).await,
                Load::Open { rate, max_inflight } => {
                    open_loop(shared, rate, max_inflight, samples).await
                }
            }
        }
    };
    drop(samples);
    let load = tokio::spawn(load);

    let mut recorder = Recorder::default();
    let mut warmup_calls = 0;
    let mut last_end = measuring_from;
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(interrupt);
    let mut interrupted = false;
    // After an interrupt, the calls in flight get a moment to end and be counted.
    let cut = tokio::time::sleep(Duration::MAX);
    tokio::pin!(cut);
    loop {
        tokio::select! {
            biased;
            () = &mut interrupt, if !interrupted => {
                interrupted = true;
                shared.stopping.store(true, Ordering::Relaxed);
                cut.as_mut().reset(Instant::now() + INTERRUPT_GRACE);
            }
            // Calls still in flight then are left out: the report is of what ended.
            () = &mut cut, if interrupted => {
                load.abort();
                break;
            }
            batch = samples_rx.recv() => {
                let Some(batch) = batch else { break };
                for measured in batch {
                    match measured {
                        Measured::Warmup => warmup_calls += 1,
                        Measured::Call(sample, ended) => {
                            last_end = last_end.max(ended);
                            recorder.record(sample);
                        }
                    }
                }
            }
            _ = ticks.tick(), if progress.is_some() => {
                if let Some(progress) = &progress {
                    let now = Instant::now();
                    let _ = progress.send(Progress {
                        elapsed: now.saturating_duration_since(measuring_from),
                        calls: recorder.count(),
                        errors: recorder.count() - recorder.ok(),
                        last_second: recorder
                            .last_complete_second()
                            .map(|second| (second.count, second.p50_us.unwrap_or_default(), second.p99_us.unwrap_or_default())),
                        warming_up: now < measuring_from,
                    });
                }
            }
        }
    }
    let slot_waits: u64 = load.await.unwrap_or_default();
    recorder.finish();
    if let Ok(round_trips) = shared.round_trips.lock() {
        recorder.round_trip = round_trips.clone();
    }
    Ok(Results {
        recorder,
        measured: last_end.saturating_duration_since(measuring_from),
        warmup_calls,
        slot_waits,
        interrupted,
    })
}

/// How long the calls in flight at Ctrl-C have to end and be counted.
const INTERRUPT_GRACE: Duration = Duration::from_secs(1);

/// What the calls share.
struct Shared {
    plan: Plan,
    path: PathAndQuery,
    channels: Vec<Channel>,
    /// The first of `channels`, which is never empty.
    first: Channel,
    started: Instant,
    measuring_from: Instant,
    /// The next call's number, of this shard's.
    numbers: AtomicU64,
    /// Measured calls started, for `-n`.
    measured_issued: AtomicU64,
    stopping: AtomicBool,
    /// Bidi: each request's round trip, recorded as its answer comes.
    round_trips: Mutex<Histogram>,
}

enum Measured {
    /// A call of the warm-up ended: counted, not measured.
    Warmup,
    Call(Sample, Instant),
}

impl Shared {
    /// The channel of the `n`th worker or call: calls are spread over the connections.
    fn channel(&self, n: usize) -> Channel {
        self.channels
            .get(n % self.channels.len().max(1))
            .unwrap_or(&self.first)
            .clone()
    }

    /// Whether a call may start at `at` (its intended time), and whether it is measured.
    fn may_start(&self, at: Instant) -> Option<bool> {
        if self.stopping.load(Ordering::Relaxed) {
            return None;
        }
        if at < self.measuring_from {
            return Some(false);
        }
        // A late generator does not catch up past the end: the time is up when it is.
        if let Some(duration) = self.plan.duration
            && at.max(Instant::now()) >= self.measuring_from + duration
        {
            return None;
        }
        if let Some(total) = self.plan.total
            && self.measured_issued.fetch_add(1, Ordering::Relaxed) >= total
        {
            return None;
        }
        Some(true)
    }

    /// What call `number`'s templates draw on.
    fn context(&self, number: u64, worker: u64) -> CallContext<'_> {
        CallContext {
            request_number: number,
            worker_id: worker,
            method: self.plan.method.full_name(),
        }
    }

    /// The next call's number: this shard's numbers interleave with the other shards'.
    fn next_number(&self) -> u64 {
        let own = self.numbers.fetch_add(1, Ordering::Relaxed);
        own * self.plan.shard.count + self.plan.shard.index
    }
}

/// A worker's measures go to the recorder in batches of this many, or this often: one
/// wake-up of the recorder per batch, not per call.
const BATCH: usize = 32;
const BATCH_EVERY: Duration = Duration::from_millis(20);

/// `workers` workers, each starting a call when its last one ends. Returns 0 (no slots).
async fn closed_loop(
    shared: Arc<Shared>,
    workers: usize,
    samples: mpsc::UnboundedSender<Vec<Measured>>,
) -> u64 {
    let mut tasks = Vec::new();
    for worker in 0..workers.max(1) {
        let shared = shared.clone();
        let samples = samples.clone();
        tasks.push(tokio::spawn(async move {
            let channel = shared.channel(worker);
            let mut grpc = client(channel, shared.plan.max_message_size);
            let mut values = CallValues::new(seed(worker as u64));
            let mut batch = Vec::with_capacity(BATCH);
            let mut flushed = Instant::now();
            loop {
                let intended = Instant::now();
                let Some(measured) = shared.may_start(intended) else {
                    break;
                };
                let number = shared.next_number();
                let sample = call(
                    &shared,
                    &mut grpc,
                    number,
                    worker as u64,
                    &mut values,
                    intended,
                )
                .await;
                let ended = Instant::now();
                batch.push(if measured {
                    Measured::Call(sample, ended)
                } else {
                    Measured::Warmup
                });
                if batch.len() >= BATCH || ended.saturating_duration_since(flushed) >= BATCH_EVERY {
                    flushed = ended;
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    if samples.send(full).is_err() {
                        return;
                    }
                }
            }
            let _ = samples.send(batch);
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    0
}

/// Calls at the schedule's times, each in a task of its own; at most `max_inflight` at once.
/// Returns how many calls had to wait for a slot.
///
/// The schedule keeps time on a thread of its own with the system's sleep (tens of
/// microseconds late at most), not on the runtime's timer, whose millisecond ticks would send
/// every call up to a millisecond late and put that into every latency. The calls due
/// together go to the runtime together: one wake-up of a worker per batch, not per call.
async fn open_loop(
    shared: Arc<Shared>,
    rate: super::schedule::RateSchedule,
    max_inflight: usize,
    samples: mpsc::UnboundedSender<Vec<Measured>>,
) -> u64 {
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        Scheduler {
            shared,
            samples,
            runtime,
            due: Vec::new(),
        }
        .run(rate, max_inflight)
    })
    .await
    .unwrap_or_default()
}

/// How late a sleeping thread wakes up on Linux (its default timer slack), about.
const WAKE_UP_PRECISION: Duration = Duration::from_micros(50);

/// The longest the scheduler sleeps at once, so that it sees a stop soon.
const SCHEDULER_NAP: Duration = Duration::from_millis(50);

/// The most calls handed to the runtime at once.
const DUE_AT_ONCE: usize = 64;

/// A call the schedule made due, ready to go.
struct DueCall {
    intended: Instant,
    measured: bool,
    requests: Result<Messages, String>,
    headers: Result<Vec<Header>, String>,
    channel: Channel,
    permit: tokio::sync::OwnedSemaphorePermit,
}

struct Scheduler {
    shared: Arc<Shared>,
    samples: mpsc::UnboundedSender<Vec<Measured>>,
    runtime: tokio::runtime::Handle,
    due: Vec<DueCall>,
}

impl Scheduler {
    fn run(mut self, rate: super::schedule::RateSchedule, max_inflight: usize) -> u64 {
        let shared = self.shared.clone();
        let slots = Arc::new(Semaphore::new(max_inflight.max(1)));
        let mut ticker = Ticker::new(rate, shared.plan.warmup);
        let mut slot_waits = 0;
        let mut index: usize = 0;
        let mut values = CallValues::new(seed(u64::MAX));
        'calls: loop {
            let intended = shared.started + ticker.next_time();
            let Some(measured) = shared.may_start(intended) else {
                break;
            };
            loop {
                let now = Instant::now();
                // A sleep shorter than the system's wake-up precision is not taken: the call
                // goes now, at most that early (its latency still counts from its intended
                // start).
                if now + WAKE_UP_PRECISION >= intended {
                    break;
                }
                // Before sleeping, the calls due so far go.
                self.hand_over();
                if shared.stopping.load(Ordering::Relaxed) {
                    break 'calls;
                }
                std::thread::sleep((intended - now).min(SCHEDULER_NAP));
            }
            let permit = match slots.clone().try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => {
                    slot_waits += 1;
                    // The calls held here hold slots too: they go before the wait.
                    self.hand_over();
                    match self.runtime.block_on(slots.clone().acquire_owned()) {
                        Ok(permit) => permit,
                        Err(_) => break,
                    }
                }
            };
            let number = shared.next_number();
            // Templates are rendered here, in order, so that each call's values are its own.
            self.due.push(DueCall {
                intended,
                measured,
                requests: requests_of(&shared, number, 0, &mut values),
                headers: headers_of(&shared, number, 0, &mut values),
                channel: shared.channel(index),
                permit,
            });
            index = index.wrapping_add(1);
            if self.due.len() >= DUE_AT_ONCE {
                self.hand_over();
            }
        }
        self.hand_over();
        // The calls in flight end on their own; waiting for every slot waits for them.
        let _ = self
            .runtime
            .block_on(slots.acquire_many(u32::try_from(max_inflight.max(1)).unwrap_or(u32::MAX)));
        slot_waits
    }

    /// Starts the calls due, each its own task, from one task on the runtime.
    fn hand_over(&mut self) {
        if self.due.is_empty() {
            return;
        }
        let due = std::mem::take(&mut self.due);
        let shared = self.shared.clone();
        let samples = self.samples.clone();
        self.runtime.spawn(async move {
            for call in due {
                let shared = shared.clone();
                let samples = samples.clone();
                tokio::spawn(async move {
                    let mut grpc = client(call.channel, shared.plan.max_message_size);
                    let sample = make_call(
                        &shared,
                        &mut grpc,
                        call.requests,
                        call.headers,
                        call.intended,
                    )
                    .await;
                    drop(call.permit);
                    let _ = samples.send(vec![if call.measured {
                        Measured::Call(sample, Instant::now())
                    } else {
                        Measured::Warmup
                    }]);
                });
            }
        });
    }
}

fn seed(worker: u64) -> u64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes) ^ worker.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn client(channel: Channel, max_message_size: usize) -> Grpc<Channel> {
    Grpc::new(channel).max_decoding_message_size(max_message_size)
}

/// One call of a closed loop's worker.
async fn call(
    shared: &Shared,
    grpc: &mut Grpc<Channel>,
    number: u64,
    worker: u64,
    values: &mut CallValues,
    intended: Instant,
) -> Sample {
    let requests = requests_of(shared, number, worker, values);
    let headers = headers_of(shared, number, worker, values);
    make_call(shared, grpc, requests, headers, intended).await
}

/// The messages of call `number`; a template that renders to something that is not a request
/// gives the error, which the call then reports.
fn requests_of(
    shared: &Shared,
    number: u64,
    worker: u64,
    values: &mut CallValues,
) -> Result<Messages, String> {
    values.next_call();
    match &shared.plan.data {
        RequestData::Cycle(cycle) => {
            let at = usize::try_from(number / shared.plan.shard.count).unwrap_or_default();
            Ok(cycle
                .get(at % cycle.len().max(1))
                .cloned()
                .unwrap_or_else(|| Arc::from(Vec::new())))
        }
        RequestData::Templated { template, json } => {
            let mut text = String::new();
            template.render(&shared.context(number, worker), values, &mut text);
            encode_all(&shared.plan.method, text.as_bytes(), *json)
                .map(Arc::from)
                .map_err(|error| error.to_string())
        }
    }
}

fn headers_of(
    shared: &Shared,
    number: u64,
    worker: u64,
    values: &mut CallValues,
) -> Result<Vec<Header>, String> {
    if shared.plan.header_templates.is_empty() {
        return Ok(Vec::new());
    }
    let context = shared.context(number, worker);
    let mut headers = Vec::new();
    for header in &shared.plan.header_templates {
        let mut text = format!("{}: ", header.name);
        header.value.render(&context, values, &mut text);
        headers.push(text.parse::<Header>()?);
    }
    Ok(headers)
}

/// Every JSON value of `text`, encoded as a request of `method`: the messages of one call.
pub fn encode_all(
    method: &MethodDescriptor,
    text: &[u8],
    json: JsonInput,
) -> Result<Vec<Bytes>, input::InputError> {
    let descriptor = method.input();
    let name = method.full_name();
    let mut messages = Vec::new();
    let values =
        serde_json::Deserializer::from_slice(text).into_iter::<&serde_json::value::RawValue>();
    for value in values {
        let raw = value.map_err(|source| input::InputError::Json {
            index: messages.len() + 1,
            reason: source.to_string(),
            line: source.line(),
            column: source.column(),
        })?;
        messages.push(input::read_single_json(
            raw.get().as_bytes(),
            &descriptor,
            name,
            json,
            None,
        )?);
    }
    Ok(messages)
}

/// Makes one call of any kind and measures it.
async fn make_call(
    shared: &Shared,
    grpc: &mut Grpc<Channel>,
    requests: Result<Messages, String>,
    headers: Result<Vec<Header>, String>,
    intended: Instant,
) -> Sample {
    let start = Instant::now();
    let mut sample = Sample {
        latency: Duration::ZERO,
        service_time: Duration::ZERO,
        lateness: start.saturating_duration_since(intended),
        code: Code::Ok,
        message: None,
        first_message: None,
        messages_received: 0,
        messages_sent: 0,
        ended_at: Duration::ZERO,
    };
    let outcome = match (requests, headers) {
        (Ok(requests), Ok(headers)) => {
            kind_call(shared, grpc, requests, &headers, &mut sample, start).await
        }
        (Err(error), _) | (_, Err(error)) => Err(tonic::Status::invalid_argument(format!(
            "the request could not be made from its template: {error}"
        ))),
    };
    let end = Instant::now();
    let outcome = outcome
        .map_err(|status| crate::invoke::deadline_named(status, Some(shared.plan.timeout), start));
    if let Err(status) = outcome {
        sample.code = status.code();
        sample.message = Some(status.message().to_string());
    }
    sample.latency = end.saturating_duration_since(intended);
    sample.service_time = end.saturating_duration_since(start);
    sample.ended_at = end.saturating_duration_since(shared.measuring_from);
    sample
}

fn request<T>(message: T, shared: &Shared, headers: &[Header]) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    for header in shared.plan.headers.iter().chain(headers) {
        header.insert_into(request.metadata_mut());
    }
    request.set_timeout(shared.plan.timeout);
    request
}

/// The messages a request stream sends: the call's, cycled to `--stream-count`, made as they
/// are sent (a stream of a billion messages holds one at a time).
fn stream_messages(
    shared: &Shared,
    requests: Messages,
) -> (u64, impl Iterator<Item = Bytes> + Send + 'static) {
    let requests: Messages = if requests.is_empty() {
        Arc::from(vec![Bytes::new()])
    } else {
        requests
    };
    let count = shared.plan.stream_count.unwrap_or(requests.len() as u64);
    let messages = (0..count).map(move |index| {
        let at = usize::try_from(index % requests.len() as u64).unwrap_or_default();
        requests.get(at).cloned().unwrap_or_default()
    });
    (count, messages)
}

async fn kind_call(
    shared: &Shared,
    grpc: &mut Grpc<Channel>,
    requests: Messages,
    headers: &[Header],
    sample: &mut Sample,
    start: Instant,
) -> Result<(), tonic::Status> {
    grpc.ready()
        .await
        .map_err(|error| tonic::Status::unavailable(error.to_string()))?;
    let path = shared.path.clone();
    let kind = RpcKind::of(&shared.plan.method);
    match kind {
        RpcKind::Unary | RpcKind::ServerStreaming => {
            let message = requests.first().cloned().unwrap_or_default();
            if requests.len() > 1 {
                return Err(tonic::Status::invalid_argument(
                    "a unary or server-streaming call takes one request; DATA holds more",
                ));
            }
            sample.messages_sent = 1;
            let request = request(message, shared, headers);
            if kind == RpcKind::Unary {
                grpc.unary(request, path, DynamicCodec).await?;
                sample.messages_received = 1;
                return Ok(());
            }
            let mut stream = grpc
                .server_streaming(request, path, DynamicCodec)
                .await?
                .into_inner();
            while stream.message().await?.is_some() {
                if sample.first_message.is_none() {
                    sample.first_message = Some(start.elapsed());
                }
                sample.messages_received += 1;
            }
            Ok(())
        }
        RpcKind::ClientStreaming | RpcKind::Bidirectional => {
            let (_, messages) = stream_messages(shared, requests);
            let sent_at: Arc<Mutex<VecDeque<Instant>>> = Arc::default();
            let sent = Arc::new(AtomicU64::new(0));
            let outgoing = outgoing(
                messages,
                shared.plan.stream_interval,
                sent_at.clone(),
                sent.clone(),
            );
            let request = request(outgoing, shared, headers);
            let ended = async {
                if kind == RpcKind::ClientStreaming {
                    grpc.client_streaming(request, path, DynamicCodec).await?;
                    sample.messages_received = 1;
                    return Ok(());
                }
                let mut stream = grpc
                    .streaming(request, path, DynamicCodec)
                    .await?
                    .into_inner();
                while stream.message().await?.is_some() {
                    let now = Instant::now();
                    if sample.first_message.is_none() {
                        sample.first_message = Some(now.saturating_duration_since(start));
                    }
                    sample.messages_received += 1;
                    let sent = sent_at.lock().ok().and_then(|mut sent| sent.pop_front());
                    // Straight into the run's histogram: a stream may hold any number of them.
                    if let Some(sent) = sent
                        && now >= shared.measuring_from
                        && let Ok(mut round_trips) = shared.round_trips.lock()
                    {
                        round_trips.record(now.saturating_duration_since(sent));
                    }
                }
                Ok(())
            }
            .await;
            sample.messages_sent = sent.load(Ordering::Relaxed);
            ended
        }
    }
}

/// A request stream of `messages`, `interval` apart, noting when each goes out.
fn outgoing(
    messages: impl Iterator<Item = Bytes> + Send + 'static,
    interval: Option<Duration>,
    sent_at: Arc<Mutex<VecDeque<Instant>>>,
    sent: Arc<AtomicU64>,
) -> impl futures_util::Stream<Item = Bytes> + Send + 'static {
    futures_util::stream::iter(messages.enumerate()).then(move |(index, message)| {
        let sent_at = sent_at.clone();
        let sent = sent.clone();
        async move {
            sent.fetch_add(1, Ordering::Relaxed);
            if let (Some(interval), true) = (interval, index > 0) {
                tokio::time::sleep(interval).await;
            }
            if let Ok(mut sent) = sent_at.lock() {
                sent.push_back(Instant::now());
            }
            message
        }
    })
}
