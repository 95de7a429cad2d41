//! The Aptos node client, generated at build time by `build.rs` from `specs/aptos.yaml`.
//!
//! Nothing here is written by hand: the code comes from `$OUT_DIR/aptos_client.rs`. Its
//! behaviour is extended through [`progenitor_client::ClientHooks`], implemented
//! in `hooks.rs`, and wrapped by [`AptosBackend`](super::AptosBackend).
#![allow(missing_docs, unused_imports, clippy::all, clippy::pedantic)]

include!(concat!(env!("OUT_DIR"), "/aptos_client.rs"));
