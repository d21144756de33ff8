//! The HTTP side: `grpcx gateway` puts any gRPC server behind plain HTTP and JSON, with the
//! REST routes of its `google.api.http` rules and a generic route for every method, read
//! from the schema at run time (nothing generated).
//!
//! By concern: `template` (path templates, parsed and matched), `rules` (the rules, from
//! method options or a service config file), `routes` (the table, its conflicts and lookup),
//! `request` (path, query string and body as one request message) and `server` (the HTTP
//! server, calls and answers). It builds on schema, invoke and output, and prints nothing:
//! what it has to say goes to the command through channels.

pub mod request;
pub mod routes;
pub mod rules;
pub mod server;
pub mod template;
