//! The code-generated baseline of the benchmark (`bench/run.py`): what a hand-written tonic client
//! of the demo `ItemService` does for each workload, with the client code that build.rs
//! generates and the JSON written by hand, so that grpcx's cost of reflection and dynamic
//! messages can be measured against it.
//!
//! ```sh
//! codegen_client --addr http://127.0.0.1:50051 unary          # GetItem {"id":1}, one JSON line
//! codegen_client --addr http://127.0.0.1:50051 stream         # ListItems {"limit":100000}
//! codegen_client --addr http://127.0.0.1:50051 upload FILE    # CreateItems from NDJSON {"name":…}
//! ```
//!
//! The output is protobuf JSON as grpcx prints it in a pipeline: one value a line, lowerCamelCase
//! names, default values left out, int64 as strings, enums by name, Timestamps in RFC 3339.

use std::error::Error;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::sync::{Arc, Mutex};

use grpcx::demo::pb::item::Dimensions;
use grpcx::demo::pb::item_service_client::ItemServiceClient;
use grpcx::demo::pb::{
    Category, CreateItemsSummary, GetItemRequest, Item, ListItemsRequest, Money,
};
use tonic::transport::{Channel, Endpoint};

const USAGE: &str = "usage: codegen_client [--addr http://HOST:PORT] unary|stream|upload [FILE]";

/// How many items the `stream` workload asks for.
const STREAM_LIMIT: u32 = 100_000;

enum Workload {
    Unary,
    Stream,
    Upload(String),
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut addr = "http://127.0.0.1:50051".to_string();
    let mut positional = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--addr" {
            addr = args.next().ok_or(USAGE)?;
        } else if let Some(value) = arg.strip_prefix("--addr=") {
            addr = value.to_string();
        } else {
            positional.push(arg);
        }
    }
    let workload = match positional.as_slice() {
        [mode] if mode == "unary" => Workload::Unary,
        [mode] if mode == "stream" => Workload::Stream,
        [mode, file] if mode == "upload" => Workload::Upload(file.clone()),
        _ => return Err(USAGE.into()),
    };
    if !addr.contains("://") {
        addr = format!("http://{addr}");
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(addr, workload))
}

async fn run(addr: String, workload: Workload) -> Result<(), Box<dyn Error>> {
    let channel: Channel = Endpoint::from_shared(addr)?
        .initial_connection_window_size(grpcx::transport::CONNECTION_WINDOW)
        .initial_stream_window_size(grpcx::transport::STREAM_WINDOW)
        .tcp_nodelay(true)
        .connect()
        .await?;
    let mut client = ItemServiceClient::new(channel);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());

    match workload {
        Workload::Unary => {
            let item = client
                .get_item(GetItemRequest { id: 1, delay: None })
                .await?
                .into_inner();
            write_item(&mut out, &item)?;
        }
        Workload::Stream => {
            let request = ListItemsRequest {
                limit: STREAM_LIMIT,
                ..ListItemsRequest::default()
            };
            let mut stream = client.list_items(request).await?.into_inner();
            while let Some(item) = stream.message().await? {
                write_item(&mut out, &item)?;
            }
        }
        Workload::Upload(path) => {
            let (items, failure) = ndjson_items(&path)?;
            let summary = client.create_items(items).await?.into_inner();
            // A line that did not read ends the stream early: report it rather than the summary.
            if let Some(message) = failure.lock().ok().and_then(|mut slot| slot.take()) {
                return Err(message.into());
            }
            write_summary(&mut out, &summary)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The request of one NDJSON line.
#[derive(serde::Deserialize)]
struct NewItem {
    name: String,
}

/// The items of the NDJSON file at `path`, read lazily as the call sends them. The first line
/// that cannot be read ends the stream and leaves its error in the returned slot.
#[allow(clippy::type_complexity)]
fn ndjson_items(
    path: &str,
) -> Result<
    (
        impl tokio_stream::Stream<Item = Item> + Send + 'static,
        Arc<Mutex<Option<String>>>,
    ),
    Box<dyn Error>,
> {
    let file = File::open(path).map_err(|err| format!("cannot read {path}: {err}"))?;
    let failure = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&failure);
    let path = path.to_string();
    let mut number = 0usize;
    let items = BufReader::new(file)
        .lines()
        .map_while(move |line| {
            number += 1;
            let parsed = line
                .map_err(|err| format!("cannot read {path}: {err}"))
                .and_then(|line| {
                    if line.trim().is_empty() {
                        return Ok(None);
                    }
                    serde_json::from_str::<NewItem>(&line)
                        .map(Some)
                        .map_err(|err| format!("{path}:{number}: {err}"))
                });
            match parsed {
                Ok(item) => Some(item),
                Err(message) => {
                    if let Ok(mut slot) = slot.lock() {
                        *slot = Some(message);
                    }
                    None
                }
            }
        })
        .flatten()
        .map(|new| Item {
            name: new.name,
            ..Item::default()
        });
    Ok((tokio_stream::iter(items), failure))
}

/// Writes `item` as one line of protobuf JSON.
fn write_item(out: &mut impl Write, item: &Item) -> io::Result<()> {
    let mut fields = Fields::new(out)?;
    if item.id != 0 {
        fields.name("id")?;
        write_int64(fields.out, item.id)?;
    }
    if !item.name.is_empty() {
        fields.name("name")?;
        write_string(fields.out, &item.name)?;
    }
    if item.category != 0 {
        fields.name("category")?;
        write_category(fields.out, item.category)?;
    }
    if let Some(price) = &item.price {
        fields.name("price")?;
        write_money(fields.out, price)?;
    }
    if !item.tags.is_empty() {
        fields.name("tags")?;
        fields.out.write_all(b"[")?;
        for (i, tag) in item.tags.iter().enumerate() {
            if i > 0 {
                fields.out.write_all(b",")?;
            }
            write_string(fields.out, tag)?;
        }
        fields.out.write_all(b"]")?;
    }
    if !item.attributes.is_empty() {
        fields.name("attributes")?;
        let mut entries: Vec<_> = item.attributes.iter().collect();
        entries.sort_unstable();
        let mut map = Fields::new(fields.out)?;
        for (key, value) in entries {
            map.name(key)?;
            write_string(map.out, value)?;
        }
        map.end()?;
    }
    if let Some(created_at) = &item.created_at {
        fields.name("createdAt")?;
        write!(fields.out, "\"{created_at}\"")?;
    }
    if let Some(dimensions) = &item.dimensions {
        fields.name("dimensions")?;
        write_dimensions(fields.out, dimensions)?;
    }
    fields.end()?;
    out.write_all(b"\n")
}

fn write_money(out: &mut impl Write, money: &Money) -> io::Result<()> {
    let mut fields = Fields::new(out)?;
    if !money.currency_code.is_empty() {
        fields.name("currencyCode")?;
        write_string(fields.out, &money.currency_code)?;
    }
    if money.units != 0 {
        fields.name("units")?;
        write_int64(fields.out, money.units)?;
    }
    if money.nanos != 0 {
        fields.name("nanos")?;
        write!(fields.out, "{}", money.nanos)?;
    }
    fields.end()
}

fn write_dimensions(out: &mut impl Write, dimensions: &Dimensions) -> io::Result<()> {
    let mut fields = Fields::new(out)?;
    for (name, value) in [
        ("widthCm", dimensions.width_cm),
        ("heightCm", dimensions.height_cm),
        ("depthCm", dimensions.depth_cm),
    ] {
        if value != 0.0 {
            fields.name(name)?;
            write_double(fields.out, value)?;
        }
    }
    fields.end()
}

/// Writes the summary of a client stream as one line of protobuf JSON.
fn write_summary(out: &mut impl Write, summary: &CreateItemsSummary) -> io::Result<()> {
    let mut fields = Fields::new(out)?;
    if summary.count != 0 {
        fields.name("count")?;
        write!(fields.out, "{}", summary.count)?;
    }
    if !summary.ids.is_empty() {
        fields.name("ids")?;
        fields.out.write_all(b"[")?;
        for (i, id) in summary.ids.iter().enumerate() {
            if i > 0 {
                fields.out.write_all(b",")?;
            }
            write_int64(fields.out, *id)?;
        }
        fields.out.write_all(b"]")?;
    }
    fields.end()?;
    out.write_all(b"\n")
}

/// The members of one JSON object, written as they come.
struct Fields<'a, W: Write> {
    out: &'a mut W,
    first: bool,
}

impl<'a, W: Write> Fields<'a, W> {
    fn new(out: &'a mut W) -> io::Result<Self> {
        out.write_all(b"{")?;
        Ok(Fields { out, first: true })
    }

    /// Starts a member: the comma before all but the first, the quoted name and the colon.
    fn name(&mut self, name: &str) -> io::Result<()> {
        if !self.first {
            self.out.write_all(b",")?;
        }
        self.first = false;
        write_string(self.out, name)?;
        self.out.write_all(b":")
    }

    fn end(self) -> io::Result<()> {
        self.out.write_all(b"}")
    }
}

/// int64 values are strings in protobuf JSON.
fn write_int64(out: &mut impl Write, value: i64) -> io::Result<()> {
    write!(out, "\"{value}\"")
}

/// Enums by name, or by number when the schema does not know the value.
fn write_category(out: &mut impl Write, value: i32) -> io::Result<()> {
    match Category::try_from(value) {
        Ok(category) => write_string(out, category.as_str_name()),
        Err(_) => write!(out, "{value}"),
    }
}

/// Doubles as numbers, and the three special values as the strings protobuf JSON uses.
fn write_double(out: &mut impl Write, value: f64) -> io::Result<()> {
    if value.is_nan() {
        out.write_all(b"\"NaN\"")
    } else if value.is_infinite() {
        let text: &[u8] = if value > 0.0 {
            b"\"Infinity\""
        } else {
            b"\"-Infinity\""
        };
        out.write_all(text)
    } else {
        serde_json::to_writer(out, &value).map_err(io::Error::other)
    }
}

/// A JSON string, escaped.
fn write_string(out: &mut impl Write, text: &str) -> io::Result<()> {
    out.write_all(b"\"")?;
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match byte {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x00..=0x1f => None,
            _ => continue,
        };
        out.write_all(bytes.get(start..i).unwrap_or_default())?;
        match escape {
            Some(escape) => out.write_all(escape)?,
            None => write!(out, "\\u{byte:04x}")?,
        }
        start = i + 1;
    }
    out.write_all(bytes.get(start..).unwrap_or_default())?;
    out.write_all(b"\"")
}
