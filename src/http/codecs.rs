//! What a method's messages are read and written with, built once per method instead of once
//! per request: the plan that encodes its requests from JSON, and the plans that write its
//! responses as JSON. Building a plan walks every message type the method reaches (for a
//! rich type, dozens of allocations); a request then only runs it.
//!
//! An encoder is shared by every request. A response writer keeps scratch space between
//! messages (so it is not `Sync`): each request borrows one from the method's pool and puts
//! it back when done.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use prost_reflect::{MessageDescriptor, MethodDescriptor};

use crate::invoke::encode::Encoder;
use crate::invoke::input::JsonInput;
use crate::output::MessageJson;

/// How responses are written, from the gateway's options.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonOutput {
    pub emit_defaults: bool,
    pub proto_names: bool,
}

/// The codecs of one method.
pub struct MethodCodecs {
    /// `None` when the request type needs the reference path.
    pub encoder: Option<Encoder>,
    output: MessageDescriptor,
    json: JsonOutput,
    /// Writers not lent out right now.
    writers: Mutex<Vec<MessageJson>>,
}

impl MethodCodecs {
    fn new(method: &MethodDescriptor, input: JsonInput, json: JsonOutput) -> MethodCodecs {
        MethodCodecs {
            encoder: Encoder::new(&method.input(), input),
            output: method.output(),
            json,
            writers: Mutex::new(Vec::new()),
        }
    }

    /// A response writer for one request; it goes back to the pool when dropped.
    pub fn writer(self: &Arc<MethodCodecs>) -> Writer {
        let pooled = self
            .writers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let json = pooled.unwrap_or_else(|| {
            MessageJson::new(&self.output, self.json.emit_defaults, self.json.proto_names)
        });
        Writer {
            json: Some(json),
            home: self.clone(),
        }
    }
}

/// A response writer lent by a method's pool.
pub struct Writer {
    json: Option<MessageJson>,
    home: Arc<MethodCodecs>,
}

impl std::ops::Deref for Writer {
    type Target = MessageJson;

    fn deref(&self) -> &MessageJson {
        // Only `drop` takes it out.
        self.json.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Some(json) = self.json.take() {
            self.home
                .writers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(json);
        }
    }
}

/// The codecs of every method served, made on first use.
#[derive(Default)]
pub struct Codecs {
    by_method: Mutex<HashMap<String, Arc<MethodCodecs>>>,
}

impl Codecs {
    pub fn of(
        &self,
        method: &MethodDescriptor,
        input: JsonInput,
        json: JsonOutput,
    ) -> Arc<MethodCodecs> {
        let mut by_method = self
            .by_method
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(codecs) = by_method.get(method.full_name()) {
            return codecs.clone();
        }
        let codecs = Arc::new(MethodCodecs::new(method, input, json));
        by_method.insert(method.full_name().to_string(), codecs.clone());
        codecs
    }
}
