//! The limit of the gateway benchmark (`bench/gateway.py`): the demo's `TypesService.Echo`
//! called directly over gRPC by the client code build.rs generates, from CONCURRENCY loops at
//! once, each sending its next call when its last one is answered, for SECONDS.
//!
//! ```sh
//! codegen_load http://127.0.0.1:50051 64 10
//! {"calls": 431234, "seconds": 10.0, "p50_us": 1210, "p99_us": 4870}
//! ```
//!
//! The loops share one HTTP/2 connection per CONNECTIONS (default 1, as one tonic `Channel`
//! multiplexes), the way a service calls another. Latencies are recorded per call, in
//! microseconds, and sorted at the end.

use std::error::Error;
use std::io::Write as _;
use std::time::{Duration, Instant};

use grpcx::demo::pb::AllTypes;
use grpcx::demo::pb::types_service_client::TypesServiceClient;
use tonic::transport::Endpoint;

const USAGE: &str = "usage: codegen_load http://HOST:PORT CONCURRENCY SECONDS [CONNECTIONS]";

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (addr, concurrency, seconds, connections) = match args.as_slice() {
        [addr, concurrency, seconds] => (addr.clone(), concurrency.parse()?, seconds.parse()?, 1),
        [addr, concurrency, seconds, connections] => (
            addr.clone(),
            concurrency.parse()?,
            seconds.parse()?,
            connections.parse()?,
        ),
        _ => return Err(USAGE.into()),
    };
    let concurrency: usize = concurrency;
    let connections: usize = connections;
    let seconds: f64 = seconds;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(addr, concurrency, connections, seconds))
}

async fn run(
    addr: String,
    concurrency: usize,
    connections: usize,
    seconds: f64,
) -> Result<(), Box<dyn Error>> {
    let mut clients = Vec::new();
    for _ in 0..connections.max(1) {
        let channel = Endpoint::from_shared(addr.clone())?.connect().await?;
        clients.push(TypesServiceClient::new(channel));
    }
    let request = AllTypes {
        f_string: "hello".to_string(),
        f_int64: 42,
        f_bool: true,
        ..AllTypes::default()
    };
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let mut loops = Vec::new();
    for index in 0..concurrency {
        let Some(client) = clients.get(index % clients.len()) else {
            break;
        };
        let mut client = client.clone();
        let request = request.clone();
        loops.push(tokio::spawn(async move {
            let mut latencies: Vec<u32> = Vec::new();
            while Instant::now() < until {
                let sent = Instant::now();
                client.echo(request.clone()).await?;
                let micros = sent.elapsed().as_micros();
                latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
            }
            Ok::<_, tonic::Status>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for each in loops {
        latencies.extend(each.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        let at = ((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1);
        latencies.get(at).copied().unwrap_or(0)
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{{\"calls\": {}, \"seconds\": {elapsed:.3}, \"p50_us\": {}, \"p99_us\": {}}}",
        latencies.len(),
        percentile(0.50),
        percentile(0.99),
    )?;
    Ok(())
}
