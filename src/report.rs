//! The records tokbal's JSON output is made of, so that programs can produce and read the
//! same shape the CLI prints. Their JSON Schema ([`record_schema`], [`document_schema`]) is
//! derived from these very types, so it cannot drift from the output.

use schemars::JsonSchema;
use serde::Serialize;

use crate::balance::Balance;
use crate::error::{Error, ErrorKind};
use crate::metadata::TokenMetadata;
use crate::pin::Snapshot;
use crate::time::format_rfc3339;

/// One query's result, as printed by `tokbal get --format json`.
///
/// Exactly one of `balance` and `error` is present.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[non_exhaustive]
pub struct ResultRecord {
    /// The query exactly as the user wrote it.
    pub query: String,
    /// The balance as a decimal string, in the token's smallest unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance: Option<String>,
    /// With metadata: the balance in whole tokens, exact (`"1.5"` for 1,500,000 units of a
    /// 6-decimal token); absent when the token's decimals are unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// With metadata: the token's symbol, name and decimals, each null where the chain does
    /// not give it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenMetadata>,
    /// For Aptos, the ledger version read at, as a decimal string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger_version: Option<String>,
    /// Through AMB, the instant read at, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Through AMB, when the balance last changed, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    /// For chains read at a block (EVM chains, Bitcoin), the block number, as a decimal string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block: Option<String>,
    /// Why there is no balance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord>,
}

/// An error in the JSON output.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[non_exhaustive]
pub struct ErrorRecord {
    /// The kind, in snake_case (`invalid_input`, `pruned`, ...).
    pub kind: ErrorKind,
    /// The upstream error code, when the server sent one.
    pub code: Option<String>,
    /// What went wrong, for a person.
    pub message: String,
}

impl From<&Error> for ErrorRecord {
    fn from(e: &Error) -> Self {
        ErrorRecord {
            kind: e.kind(),
            code: e.code().map(str::to_string),
            message: e.to_string(),
        }
    }
}

impl ResultRecord {
    /// The record for `query` (as written) and its result.
    pub fn new(query: impl Into<String>, result: &Result<Balance, Error>) -> Self {
        let query = query.into();
        match result {
            Ok(b) => ResultRecord {
                query,
                balance: Some(b.amount.to_string()),
                formatted: b.formatted(),
                token: b.token.as_deref().cloned(),
                ledger_version: b.ledger_version.map(|v| v.to_string()),
                at: b.at.map(format_rfc3339),
                last_updated: b.last_updated.map(format_rfc3339),
                block: b.block.map(|n| n.to_string()),
                error: None,
            },
            Err(e) => ResultRecord {
                query,
                balance: None,
                formatted: None,
                token: None,
                ledger_version: None,
                at: None,
                last_updated: None,
                block: None,
                error: Some(ErrorRecord::from(e)),
            },
        }
    }
}

/// The whole JSON document: the snapshot, then one record per query in input order.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[non_exhaustive]
pub struct Document {
    /// What each network was read at.
    pub snapshot: Snapshot,
    /// One record per query, in input order.
    pub results: Vec<ResultRecord>,
}

impl Document {
    /// A document from a snapshot and its records.
    pub fn new(snapshot: Snapshot, results: Vec<ResultRecord>) -> Self {
        Document { snapshot, results }
    }
}

/// One line of `tokbal batch --format jsonl` (and one element of its `json` results): a
/// result record plus the query's line number in the input.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[non_exhaustive]
pub struct BatchRecord {
    /// The query's line number in the input, from 1.
    pub line: u64,
    /// The result.
    #[serde(flatten)]
    pub record: ResultRecord,
}

impl BatchRecord {
    /// A record for the query on `line`.
    pub fn new(line: u64, record: ResultRecord) -> Self {
        BatchRecord { line, record }
    }
}

/// The whole `tokbal batch --format json` document.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[non_exhaustive]
pub struct BatchDocument {
    /// What each network was read at.
    pub snapshot: Snapshot,
    /// One record per query, in input order.
    pub results: Vec<BatchRecord>,
}

impl BatchDocument {
    /// A document from a snapshot and its records (in input order).
    pub fn new(snapshot: Snapshot, results: Vec<BatchRecord>) -> Self {
        BatchDocument { snapshot, results }
    }
}

/// The JSON Schema of one result record as `tokbal batch --format jsonl` prints it.
pub fn record_schema() -> schemars::Schema {
    schemars::schema_for!(BatchRecord)
}

/// The JSON Schema of the document `tokbal get --format json` prints.
pub fn document_schema() -> schemars::Schema {
    schemars::schema_for!(Document)
}
