// The interop service (fixtures/interop/) on @grpc/grpc-js, the pure JavaScript gRPC stack, with
// the schema loaded at run time by @grpc/proto-loader and reflection served by @grpc/reflection.
//
// Started by tests/interop/main.rs: `node server.js SCHEMA_ROOT`, with NODE_PATH pointing at the
// node_modules folder the suite installed with `npm ci`. Binds 127.0.0.1 on a free port, prints
// the port on one line of stdout, and serves until its standard input closes (the test process
// went away) or a time limit passes, so that no server outlives its tests.
'use strict';

const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { ReflectionService } = require('@grpc/reflection');
const protobuf = require('protobufjs');

const STACK = `grpc-js ${require('@grpc/grpc-js/package.json').version}`;
const LIFETIME_MS = 600 * 1000;
const MASK64 = (1n << 64n) - 1n;

const schemaRoot = process.argv[2];
const FILES = [
  'interop/v1/service.proto',
  'interop/v1/scalars.proto',
  'interop/v1/well_known.proto',
  'interop/v1/shared/common.proto',
];
const packageDefinition = protoLoader.loadSync(FILES, {
  includeDirs: [schemaRoot],
  // Field names as the .proto files write them, in the objects and in reflection.
  keepCase: true,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: false,
  oneofs: true,
});
const InteropService = grpc.loadPackageDefinition(packageDefinition).interop.v1.InteropService;

// google.rpc.Status and the details sent, for grpc-status-details-bin: grpc-js has no helper
// for rich errors, so a server encodes them itself, as here with protobufjs.
const rpcRoot = new protobuf.Root();
rpcRoot.addJSON(protobuf.common['google/protobuf/any.proto'].nested);
protobuf.parse(
  `syntax = "proto3";
  package google.rpc;
  message Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
  message BadRequest {
    message FieldViolation { string field = 1; string description = 2; }
    repeated FieldViolation field_violations = 1;
  }
  message ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }`,
  rpcRoot,
  { keepCase: true },
);
const Status = rpcRoot.lookupType('google.rpc.Status');
const BadRequest = rpcRoot.lookupType('google.rpc.BadRequest');
const ErrorInfo = rpcRoot.lookupType('google.rpc.ErrorInfo');

function pack(type, value) {
  return {
    type_url: `type.googleapis.com/${type.fullName.replace(/^\./, '')}`,
    value: type.encode(type.fromObject(value)).finish(),
  };
}

// 64-bit integers arrive as decimal strings (longs: String); absent ones as undefined.
function big(value) {
  return BigInt(value === undefined ? 0 : value);
}

function millis(seconds, nanos) {
  return (big(seconds) * 1000n + BigInt(Math.trunc((nanos || 0) / 1e6))).toString();
}

function seen(request) {
  const scalars = request.scalars || {};
  const wellKnown = request.well_known || {};
  const any = wellKnown.any || {};
  const duration = wellKnown.duration || {};
  const timestamp = wellKnown.timestamp || {};
  return {
    choice_case: request.choice || '',
    int64_text: big(scalars.f_int64).toString(),
    uint64_text: big(scalars.f_uint64).toString(),
    sint64_text: big(scalars.f_sint64).toString(),
    fixed64_text: big(scalars.f_fixed64).toString(),
    sfixed64_text: big(scalars.f_sfixed64).toString(),
    bytes_hex: (scalars.f_bytes || Buffer.alloc(0)).toString('hex'),
    any_type_url: any.type_url || '',
    duration_millis: millis(duration.seconds, duration.nanos),
    timestamp_millis: millis(timestamp.seconds, timestamp.nanos),
    label_keys: Object.keys(request.labels || {}).sort(),
    name_ids: Object.keys(request.names_by_id || {})
      .map(BigInt)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map(String),
    mask_paths: (wellKnown.field_mask || {}).paths || [],
  };
}

// protobufjs decodes a 64-bit map key into an 8-character hash of its bits (util.longToHash),
// or "0" when the entry leaves the key out, and its encoder does not read a hash back (it
// writes 0): a service on this stack turns the keys into decimal text, which the encoder reads.
function decimalKeys(map) {
  const out = {};
  for (const [key, value] of Object.entries(map || {})) {
    out[key.length === 8 ? protobuf.util.longFromHash(key, false).toString() : key] = value;
  }
  return out;
}

const handlers = {
  Echo(call, callback) {
    const request = {
      ...call.request,
      names_by_id: decimalKeys(call.request.names_by_id),
      numbers: decimalKeys(call.request.numbers),
    };
    callback(null, { echo: request, seen: seen(request) });
  },

  Range(call) {
    const start = big(call.request.start);
    const step = big(call.request.step);
    for (let index = 0; index < (call.request.count || 0); index++) {
      const value = start + BigInt(index) * step;
      call.write({
        index,
        value: value.toString(),
        text: value.toString(),
        unsigned: (value & MASK64).toString(),
      });
    }
    call.end();
  },

  Sum(call, callback) {
    let total = 0n;
    let count = 0n;
    const names = [];
    const byName = new Map();
    call.on('data', (item) => {
      const value = big(item.value);
      const name = item.name || '';
      total += value;
      count += 1n;
      names.push(name);
      byName.set(name, (byName.get(name) || 0n) + value);
    });
    call.on('end', () => {
      const by_name = {};
      for (const [name, value] of byName) by_name[name] = value.toString();
      callback(null, { total: total.toString(), count: count.toString(), names, by_name });
    });
  },

  Chat(call) {
    call.on('data', (message) => {
      const seq = message.seq || 0;
      const reply = { seq, color: seq % 4 };
      if (message.payload === 'text') reply.text = message.text.toUpperCase();
      if (message.payload === 'number') reply.number = (-big(message.number)).toString();
      if (message.payload === 'blob') reply.blob = Buffer.from(message.blob).reverse();
      call.write(reply);
    });
    call.on('end', () => call.end());
  },

  WhoAmI(call, callback) {
    const metadata = call.metadata.getMap();
    const apiKey = metadata['x-api-key'];
    if (!apiKey) {
      callback({ code: grpc.status.UNAUTHENTICATED, details: 'missing x-api-key metadata' });
      return;
    }
    const x_headers = {};
    for (const [key, value] of Object.entries(metadata)) {
      if (key.startsWith('x-') && !key.endsWith('-bin')) x_headers[key] = String(value);
    }
    const trailers = new grpc.Metadata();
    trailers.set('x-interop-stack', STACK);
    callback(null, { api_key: String(apiKey), x_headers, stack: STACK }, trailers);
  },

  Reject(call, callback) {
    const field = call.request.field || '';
    const message = `rejected field ${field}`;
    const status = {
      code: grpc.status.INVALID_ARGUMENT,
      message,
      details: [
        pack(BadRequest, {
          field_violations: [{ field, description: call.request.reason || '' }],
        }),
        pack(ErrorInfo, {
          reason: 'INTEROP_REJECTED',
          domain: 'interop.v1',
          metadata: { field, stack: STACK },
        }),
      ],
    };
    const metadata = new grpc.Metadata();
    metadata.set('grpc-status-details-bin', Buffer.from(Status.encode(Status.fromObject(status)).finish()));
    callback({ code: grpc.status.INVALID_ARGUMENT, details: message, metadata });
  },
};

const server = new grpc.Server();
server.addService(InteropService.service, handlers);
new ReflectionService(packageDefinition).addToServer(server);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) {
    process.stderr.write(`bind failed: ${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${port}\n`);
});

function stop() {
  server.forceShutdown();
  process.exit(0);
}
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
setTimeout(stop, LIFETIME_MS);
