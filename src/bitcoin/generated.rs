//! The Esplora client, generated at build time by `build.rs` from `specs/esplora.yaml`.
//!
//! Nothing here is written by hand: the code comes from `$OUT_DIR/esplora_client.rs`. It
//! covers the JSON endpoints only; the three text/plain ones are hand-written in
//! `esplora.rs` (see `specs/README.md`). Its behaviour is extended through
//! [`progenitor_client::ClientHooks`], implemented in `hooks.rs`, and wrapped by
//! [`EsploraClient`](super::EsploraClient).
#![allow(missing_docs, unused_imports, clippy::all, clippy::pedantic)]

include!(concat!(env!("OUT_DIR"), "/esplora_client.rs"));
