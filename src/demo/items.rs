//! The demo ItemService: an in-memory catalogue behind the four kinds of RPC.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use prost::Message;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::metadata::KeyAndValueRef;
use tonic::{Request, Response, Status, Streaming};

use super::pb::item::Dimensions;
use super::pb::item_service_server::ItemService;
use super::pb::sync_request::Action;
use super::pb::sync_response::Outcome;
use super::pb::{
    Category, CreateItemsSummary, GetItemRequest, Item, ListItemsRequest, Money, SyncRequest,
    SyncResponse,
};
use super::request_log::RequestLog;
use super::rpc;

/// How many responses a streaming call may have queued before the server waits for the client.
const STREAM_BUFFER: usize = 64;

#[derive(Debug, Default)]
struct Catalogue {
    /// Boxed: a B-tree moves its values around as it grows, and items are large.
    items: BTreeMap<i64, Box<Item>>,
    next_id: i64,
}

impl Catalogue {
    /// Stores `item`, giving it a fresh id when it has none; returns the id and whether an
    /// existing item was replaced.
    fn put(&mut self, mut item: Item) -> (i64, bool) {
        if item.id <= 0 {
            item.id = self.next_id;
        }
        self.next_id = self.next_id.max(item.id.saturating_add(1));
        if item.created_at.is_none() {
            item.created_at = Some(prost_types::Timestamp::from(std::time::SystemTime::now()));
        }
        let id = item.id;
        let replaced = self.items.insert(id, Box::new(item)).is_some();
        (id, replaced)
    }
}

/// The demo service's state, shared by every call.
#[derive(Debug, Clone, Default)]
pub struct ItemStore {
    catalogue: Arc<Mutex<Catalogue>>,
    /// Where cancellations and broken streams are noted.
    log: RequestLog,
}

impl ItemStore {
    /// A store holding the demo's seed items, with ids from 1, and `extra` generated ones,
    /// noting events in `log`.
    pub fn seeded(log: RequestLog, extra: u32) -> ItemStore {
        let store = ItemStore {
            log,
            ..ItemStore::default()
        };
        {
            let mut catalogue = store.lock();
            catalogue.next_id = 1;
            for item in seed_items() {
                catalogue.put(item);
            }
            for n in 1..=extra {
                catalogue.put(Item {
                    name: format!("item {n}"),
                    category: Category::Tool as i32,
                    created_at: Some(prost_types::Timestamp {
                        seconds: 1_767_225_600,
                        nanos: 0,
                    }),
                    ..Item::default()
                });
            }
        }
        store
    }

    fn lock(&self) -> MutexGuard<'_, Catalogue> {
        // A panic while holding the lock cannot leave the map half-updated (each update is one
        // insert), so a poisoned lock is still safe to use.
        self.catalogue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn seed_items() -> Vec<Item> {
    let at = |seconds: i64| Some(prost_types::Timestamp { seconds, nanos: 0 });
    let money = |units: i64, nanos: i32| {
        Some(Money {
            currency_code: "EUR".to_string(),
            units,
            nanos,
        })
    };
    vec![
        Item {
            id: 1,
            name: "Claw hammer".to_string(),
            category: Category::Tool as i32,
            price: money(24, 990_000_000),
            tags: vec!["steel".to_string(), "workshop".to_string()],
            attributes: [("weight".to_string(), "450g".to_string())].into(),
            created_at: at(1_767_225_600), // 2026-01-01T00:00:00Z
            dimensions: Some(Dimensions {
                width_cm: 12.0,
                height_cm: 33.0,
                depth_cm: 3.5,
            }),
        },
        Item {
            id: 2,
            name: "The Rust Programming Language".to_string(),
            category: Category::Book as i32,
            price: money(39, 0),
            tags: vec!["rust".to_string(), "programming".to_string()],
            attributes: [
                ("isbn".to_string(), "978-1718503106".to_string()),
                ("pages".to_string(), "560".to_string()),
            ]
            .into(),
            created_at: at(1_767_312_000), // 2026-01-02T00:00:00Z
            dimensions: None,
        },
        Item {
            id: 3,
            name: "Espresso beans".to_string(),
            category: Category::Food as i32,
            price: money(12, 500_000_000),
            tags: vec!["coffee".to_string()],
            attributes: [("origin".to_string(), "Brazil".to_string())].into(),
            created_at: at(1_767_398_400), // 2026-01-03T00:00:00Z
            dimensions: None,
        },
        Item {
            id: 4,
            name: "Torque wrench".to_string(),
            category: Category::Tool as i32,
            price: money(89, 0),
            tags: vec!["steel".to_string()],
            attributes: BTreeMap::new().into_iter().collect(),
            created_at: at(1_767_484_800), // 2026-01-04T00:00:00Z
            dimensions: None,
        },
    ]
}

/// The deadline the client sent in `grpc-timeout`, if any.
fn deadline_of<T>(request: &Request<T>) -> Option<Instant> {
    let value = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    if value.len() < 2 {
        return None;
    }
    let (amount, unit) = value.split_at(value.len() - 1);
    let amount: u64 = amount.parse().ok()?;
    let timeout = match unit {
        "H" => Duration::from_secs(amount.checked_mul(3600)?),
        "M" => Duration::from_secs(amount.checked_mul(60)?),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    };
    Instant::now().checked_add(timeout)
}

/// Runs `work` until the client's deadline, if it set one.
async fn within<T>(
    deadline: Option<Instant>,
    work: impl std::future::Future<Output = T>,
) -> Result<T, Status> {
    match deadline {
        None => Ok(work.await),
        Some(deadline) => tokio::time::timeout_at(deadline, work)
            .await
            .map_err(|_| Status::deadline_exceeded("the deadline passed before the stream ended")),
    }
}

/// A status with rich error details (google.rpc.Status in grpc-status-details-bin), as the
/// gRPC error model recommends.
fn rich_status(code: Code, message: String, details: Vec<prost_types::Any>) -> Status {
    let status = rpc::Status {
        code: code as i32,
        message: message.clone(),
        details,
    };
    Status::with_details(code, message, status.encode_to_vec().into())
}

fn any<M: Message>(type_name: &str, message: &M) -> prost_types::Any {
    prost_types::Any {
        type_url: format!("type.googleapis.com/{type_name}"),
        value: message.encode_to_vec(),
    }
}

fn not_found(id: i64) -> Status {
    let resource = rpc::ResourceInfo {
        resource_type: "grpcx.demo.v1.Item".to_string(),
        resource_name: format!("items/{id}"),
        owner: String::new(),
        description: "the catalogue has no item with this id; ListItems shows the ids".to_string(),
    };
    rich_status(
        Code::NotFound,
        format!("no item with id {id}"),
        vec![any("google.rpc.ResourceInfo", &resource)],
    )
}

fn validate(item: &Item, position: usize) -> Result<(), Status> {
    if item.name.trim().is_empty() {
        let bad_request = rpc::BadRequest {
            field_violations: vec![rpc::bad_request::FieldViolation {
                field: "name".to_string(),
                description: "every item needs a non-empty name".to_string(),
                reason: "NAME_EMPTY".to_string(),
                localized_message: None,
            }],
        };
        return Err(rich_status(
            Code::InvalidArgument,
            format!("item {position} has no name; every item needs a non-empty name"),
            vec![any("google.rpc.BadRequest", &bad_request)],
        ));
    }
    Ok(())
}

/// Notes a cancellation when dropped before `disarm`: tonic drops a unary call's future when
/// its client goes away, so a drop is how the handler learns of it.
struct CancelNote<'a> {
    log: &'a RequestLog,
    event: Option<String>,
}

impl<'a> CancelNote<'a> {
    fn new(log: &'a RequestLog, event: String) -> CancelNote<'a> {
        CancelNote {
            log,
            event: Some(event),
        }
    }

    fn disarm(&mut self) {
        self.event = None;
    }
}

impl Drop for CancelNote<'_> {
    fn drop(&mut self) {
        if let Some(event) = self.event.take() {
            self.log.note(event);
        }
    }
}

type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl ItemService for ItemStore {
    async fn get_item(&self, request: Request<GetItemRequest>) -> Result<Response<Item>, Status> {
        let id = request.get_ref().id;
        if let Some(delay) = request.get_ref().delay {
            let delay = Duration::try_from(delay).map_err(|_| {
                Status::invalid_argument("delay must be a non-negative duration, e.g. \"0.2s\"")
            })?;
            // tonic drops a call's future when the client cancels: the guard notes that.
            let mut pending = CancelNote::new(
                &self.log,
                format!("GetItem: the client cancelled while item {id} was being fetched"),
            );
            within(deadline_of(&request), tokio::time::sleep(delay)).await?;
            pending.disarm();
        }
        let found = self.lock().items.get(&id).map(|item| Item::clone(item));
        let mut response = found.map(Response::new).ok_or_else(|| not_found(id))?;
        // Metadata under x-echo… comes back in the response headers, text and binary alike,
        // so that a person can watch metadata travel both ways (`grpcx -v`).
        for entry in request.metadata().iter() {
            match entry {
                KeyAndValueRef::Ascii(key, value) if key.as_str().starts_with("x-echo") => {
                    response.metadata_mut().append(key.clone(), value.clone());
                }
                KeyAndValueRef::Binary(key, value) if key.as_str().starts_with("x-echo") => {
                    response
                        .metadata_mut()
                        .append_bin(key.clone(), value.clone());
                }
                _ => {}
            }
        }
        Ok(response)
    }

    type ListItemsStream = ResponseStream<Item>;

    async fn list_items(
        &self,
        request: Request<ListItemsRequest>,
    ) -> Result<Response<Self::ListItemsStream>, Status> {
        let deadline = deadline_of(&request);
        let filter = request.into_inner();
        let delay = match filter.delay {
            None => Duration::ZERO,
            Some(delay) => Duration::try_from(delay).map_err(|_| {
                Status::invalid_argument("delay must be a non-negative duration, e.g. \"0.2s\"")
            })?,
        };
        let needle = filter.name_contains.to_lowercase();
        let limit = match filter.limit {
            0 => usize::MAX,
            n => n as usize,
        };
        let items: Vec<Item> = self
            .lock()
            .items
            .values()
            .filter(|item| needle.is_empty() || item.name.to_lowercase().contains(&needle))
            .filter(|item| filter.category == 0 || item.category == filter.category)
            .take(limit)
            .map(|item| Item::clone(item))
            .collect();

        // Without a delay, tonic pulls the items straight from the list, encoding many per
        // write: no task and no channel in between.
        if delay.is_zero() {
            return Ok(Response::new(Box::pin(tokio_stream::iter(
                items.into_iter().map(Ok),
            ))));
        }
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
        let log = self.log.clone();
        tokio::spawn(async move {
            let total = items.len();
            let cancelled = |sent: usize| {
                log.note(format!(
                    "ListItems: the client cancelled after {sent} of {total} items"
                ));
            };
            for (sent, item) in items.into_iter().enumerate() {
                if !delay.is_zero() {
                    let pause = within(deadline, tokio::time::sleep(delay));
                    let paused = tokio::select! {
                        paused = pause => paused,
                        _ = sender.closed() => return cancelled(sent),
                    };
                    if let Err(status) = paused {
                        let _ = sender.send(Err(status)).await;
                        return;
                    }
                }
                if sender.send(Ok(item)).await.is_err() {
                    return cancelled(sent);
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }

    async fn create_items(
        &self,
        request: Request<Streaming<Item>>,
    ) -> Result<Response<CreateItemsSummary>, Status> {
        let deadline = deadline_of(&request);
        let mut incoming = request.into_inner();
        let mut ids = Vec::new();
        // Each item is stored as it arrives: a cancel or an error later does not roll back.
        loop {
            let item = match within(deadline, incoming.message()).await? {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(status) => {
                    self.log.note(format!(
                        "CreateItems: the stream broke off ({}) after {} items were stored; they stay stored",
                        crate::status::code_name(status.code()),
                        ids.len()
                    ));
                    return Err(status);
                }
            };
            validate(&item, ids.len() + 1)?;
            let (id, _) = self.lock().put(item);
            ids.push(id);
        }
        Ok(Response::new(CreateItemsSummary {
            count: u32::try_from(ids.len()).unwrap_or(u32::MAX),
            ids,
        }))
    }

    type SyncItemsStream = ResponseStream<SyncResponse>;

    async fn sync_items(
        &self,
        request: Request<Streaming<SyncRequest>>,
    ) -> Result<Response<Self::SyncItemsStream>, Status> {
        let deadline = deadline_of(&request);
        let mut incoming = request.into_inner();
        let store = self.clone();
        let (sender, receiver) = mpsc::channel(STREAM_BUFFER);
        let log = self.log.clone();
        tokio::spawn(async move {
            let mut position = 0;
            loop {
                let request = match within(deadline, incoming.message()).await {
                    Ok(Ok(Some(request))) => request,
                    Ok(Ok(None)) => return,
                    Ok(Err(status)) | Err(status) => {
                        log.note(format!(
                            "SyncItems: the stream broke off after {position} requests: {}",
                            status.message()
                        ));
                        let _ = sender.send(Err(status)).await;
                        return;
                    }
                };
                position += 1;
                let answer = store.sync_one(request, position);
                let failed = answer.is_err();
                if sender.send(answer).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }
}

impl ItemStore {
    fn sync_one(&self, request: SyncRequest, position: usize) -> Result<SyncResponse, Status> {
        let mut catalogue = self.lock();
        let answer = |outcome: Outcome, id: i64, item: Option<Item>| SyncResponse {
            outcome: outcome as i32,
            id,
            item,
        };
        match request.action {
            None => Err(Status::invalid_argument(format!(
                "request {position} has no action; set one of put, getId, deleteId"
            ))),
            Some(Action::Put(item)) => {
                validate(&item, position)?;
                let (id, replaced) = catalogue.put(item);
                let outcome = if replaced {
                    Outcome::Updated
                } else {
                    Outcome::Created
                };
                Ok(answer(
                    outcome,
                    id,
                    catalogue.items.get(&id).map(|item| Item::clone(item)),
                ))
            }
            Some(Action::GetId(id)) => Ok(match catalogue.items.get(&id) {
                Some(item) => answer(Outcome::Found, id, Some(Item::clone(item))),
                None => answer(Outcome::NotFound, id, None),
            }),
            Some(Action::DeleteId(id)) => Ok(match catalogue.items.remove(&id) {
                Some(item) => answer(Outcome::Deleted, id, Some(*item)),
                None => answer(Outcome::NotFound, id, None),
            }),
        }
    }
}
