//! A tonic codec for messages known at run time, after tonic's json-codec example, that moves
//! encoded bytes both ways: requests come encoded already (straight from JSON, see `encode`),
//! and responses are kept as their encoded bytes, so that the output can write JSON straight
//! from the wire (see `output::transcode`) and decode into a `DynamicMessage` only when it
//! needs one.

use bytes::{Buf as _, BufMut as _, Bytes};
use prost_reflect::{DynamicMessage, MessageDescriptor};
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

#[derive(Default)]
pub struct DynamicCodec;

impl Codec for DynamicCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        RawEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawDecoder
    }
}

pub struct RawEncoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

pub struct RawDecoder;

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// A response message as it came off the wire, with its type.
#[derive(Debug, Clone, Copy)]
pub struct Response<'a> {
    pub descriptor: &'a MessageDescriptor,
    pub bytes: &'a [u8],
}

impl Response<'_> {
    /// The message, decoded.
    pub fn decode(&self) -> Result<DynamicMessage, prost::DecodeError> {
        DynamicMessage::decode(self.descriptor.clone(), self.bytes)
    }
}
