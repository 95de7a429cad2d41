//! An in-process AWS Managed Blockchain (AMB) Query endpoint: `BatchGetTokenBalance`, as
//! AWS speaks it, so that the real `aws-sdk-managedblockchainquery` pointed at it (with the
//! test credentials [`TEST_ACCESS_KEY_ID`] / [`TEST_SECRET_ACCESS_KEY`]) works unchanged.
//!
//! [`AmbNode`] holds balance histories, the [`Faults`] switches and request counters. The
//! HTTP server that answers for it is started by [`Devnet`](super::Devnet) and serves:
//!
//! | route | answer |
//! |---|---|
//! | `POST /batch-get-token-balance` | `BatchGetTokenBalanceOutput`: `{"tokenBalances": [...], "errors": [...]}`, both always present |
//! | anything else | 404, `x-amzn-errortype: UnknownOperationException` |
//!
//! # Protocol (restJson1 with SigV4)
//!
//! Every request must be signed with SigV4 for region `us-east-1` and signing name
//! `managedblockchain-query`. The node recomputes the signature over the received method,
//! path, query, the headers named in `SignedHeaders` and the SHA-256 of the received body
//! (whatever `x-amz-content-sha256` says), at the time given by `X-Amz-Date`, and refuses
//! the request as AWS does, with a 403 whose `x-amzn-errortype` is one the model does not
//! list (the SDK reports them as unhandled errors with that code):
//!
//! | problem | `x-amzn-errortype` |
//! |---|---|
//! | no `Authorization` header | `MissingAuthenticationTokenException` (`Missing Authentication Token`) |
//! | malformed `Authorization`, no `X-Amz-Date` | `IncompleteSignatureException` |
//! | unknown access key id, or any `X-Amz-Security-Token` | `UnrecognizedClientException` |
//! | wrong signature, wrong scope (region, service, date), more than 5 minutes of clock skew, `host` not signed | `InvalidSignatureException` |
//!
//! Whole-call errors have the status of the shape's `httpError`, the header
//! `x-amzn-errortype: <ShapeName>`, and a JSON body with the shape's members;
//! `ThrottlingException` (429) and `InternalServerException` (500) also carry
//! `Retry-After: <seconds>`, which the model binds to `retryAfterSeconds`. Every answer
//! carries an `x-amzn-requestid`.
//!
//! | request | answer |
//! |---|---|
//! | body not JSON, not an object, or a member of the wrong JSON type | 400 `ValidationException`, reason `cannotParse` (AWS's front ends answer some of these with an unmodeled `SerializationException`; the model's `cannotParse` reason is used instead so that the SDK parses it) |
//! | `getTokenBalanceInputs` missing, empty, or more than 10 items | 400 `ValidationException`, reason `fieldValidationFailed`, `fieldList` naming `getTokenBalanceInputs` |
//! | a required member missing, or a `network` outside `QueryNetwork` | 400 `ValidationException`, reason `fieldValidationFailed`, `fieldList` naming the member (`getTokenBalanceInputs.1.member.tokenIdentifier.network`, 1-based as AWS's validation messages count) |
//!
//! # Per-item answers
//!
//! Each item is answered on its own, in input order (AWS does not document the order):
//! a balance in `tokenBalances`, or an entry in `errors` whose `errorCode` is one of:
//!
//! | `errorCode` | `errorType` | when |
//! |---|---|---|
//! | `InvalidOwnerAddress` | `VALIDATION_EXCEPTION` | owner does not match `^[-A-Za-z0-9]{13,74}$`; on Ethereum networks not `0x` and 40 hex digits, or the null address |
//! | `InvalidContractAddress` | `VALIDATION_EXCEPTION` | contract does not match the pattern; a contract on a Bitcoin network; on Ethereum networks not `0x` and 40 hex digits, or the null address |
//! | `InvalidTokenId` | `VALIDATION_EXCEPTION` | token id does not match `^[a-zA-Z0-9]{1,66}$`; without a contract, not the network's native token (`eth` on Ethereum, `btc` on Bitcoin); with a contract, not absent (ERC-20) or 64 hex digits (ERC-721/1155) |
//! | `InvalidBlockchainInstant` | `VALIDATION_EXCEPTION` | `atBlockchainInstant.time` after the node's "now" |
//! | `ContractNotFound` | `RESOURCE_NOT_FOUND_EXCEPTION` | a contract of which the node has no history at all on that network |
//!
//! The identifiers in every answer item are echoed exactly as sent.
//!
//! # Ledger model
//!
//! Balances are histories of changes per (network, owner, contract or none, token id),
//! each a list of (epoch second, balance up to 2^256 - 1) sorted by time. `0x` addresses,
//! bech32 addresses and hex token ids are compared without regard to case. A read at
//! second `t` (the requested `atBlockchainInstant.time`, rounded down to the second, or
//! "now") sees the last change at or before `t`: the answer's `atBlockchainInstant` is `t`
//! and its `lastUpdatedTime` is the time of that change. An owner with no change at or
//! before `t` of a native token, or of a contract the node knows, holds `"0"` (with no
//! `lastUpdatedTime`). "Now" is the wall clock, rounded down to the second, unless
//! [`AmbNode::set_clock`] fixed it; a lag fault ([`Faults::lag`]) of `n` makes reads
//! without an instant answer at "now" minus `n` seconds.
//!
//! # Faults
//!
//! The [`Faults`] switches apply to requests whose signature verified (refused requests are
//! answered at once): throttling answers 429 `ThrottlingException` with `Retry-After`;
//! failures answer, by status, 400 `ValidationException` (reason `other`), 402
//! `ServiceQuotaExceededException`, 403 `AccessDeniedException`, 404
//! `ResourceNotFoundException`, 429 `ThrottlingException`, 503 the unmodeled
//! `ServiceUnavailableException`, any other 4xx `ValidationException` and any other 5xx
//! `InternalServerException` (with `Retry-After`, from [`Faults::set_retry_after_secs`]);
//! a drop sends the head and half of the normal answer, then cuts the connection.

use std::collections::{HashMap, HashSet};

use crate::seen::Seen;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use ruint::aliases::U256;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::faults::{cut_body, mix64, FaultAction, Faults};
use super::InvalidInput;

/// Access key id of the test credentials the node accepts.
pub const TEST_ACCESS_KEY_ID: &str = "AKIDTOKBALDEVNET";
/// Secret access key of the test credentials the node accepts (public: it only ever opens
/// the devnet).
pub const TEST_SECRET_ACCESS_KEY: &str = "tokbal/devnet/TEST+secret+not+an+AWS+key";
/// The only region the node accepts in a credential scope.
pub const AMB_REGION: &str = "us-east-1";
/// The SigV4 signing name (service) the node accepts in a credential scope.
pub const AMB_SIGNING_NAME: &str = "managedblockchain-query";
/// The path of `BatchGetTokenBalance`.
pub const BATCH_GET_TOKEN_BALANCE_PATH: &str = "/batch-get-token-balance";
/// Most items one `BatchGetTokenBalance` call may carry (the model's `@length(max: 10)`).
pub const MAX_BATCH_ITEMS: usize = 10;
/// The networks of the model's `QueryNetwork` enum.
pub const AMB_NETWORKS: [&str; 4] = [
    "ETHEREUM_MAINNET",
    "ETHEREUM_SEPOLIA_TESTNET",
    "BITCOIN_MAINNET",
    "BITCOIN_TESTNET",
];
/// How many calls [`AmbNode::seen_calls`] keeps (the most recent ones).
pub const SEEN_CALLS_LIMIT: usize = 1_000;
/// Longest request body [`AmbNode::seen_calls`] keeps for one call, in bytes (longer ones
/// are cut).
pub const SEEN_BODY_MAX_LEN: usize = 64 * 1024;
/// Largest request body the node reads; larger ones are answered 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Largest clock skew between `X-Amz-Date` and the wall clock that the node accepts.
pub const MAX_SIGNATURE_SKEW: Duration = Duration::from_secs(5 * 60);

/// First second of the demo data: 2026-01-01T00:00:00Z, the Aptos half's default genesis.
pub const DEMO_AMB_START_SECS: i64 = 1_767_225_600;
/// First Ethereum demo owner (see [`DevnetBuilder::with_demo_data`](super::DevnetBuilder::with_demo_data)).
pub const DEMO_ETH_OWNER: &str = "0x8ba1f109551bd432803012645ac136ddd64dba72";
/// Second Ethereum demo owner.
pub const DEMO_ETH_OWNER_2: &str = "0x71c7656ec7ab88b098defb751b7401b5f6d8976f";
/// Demo ERC-20 contract (balances above 2^128, up to 2^256 - 1).
pub const DEMO_ERC20_CONTRACT: &str = "0x20c0ffee20c0ffee20c0ffee20c0ffee20c0ffee";
/// Demo ERC-721 contract.
pub const DEMO_ERC721_CONTRACT: &str = "0x721beef0721beef0721beef0721beef0721beef0";
/// The demo ERC-721 token (id 1337, as 64 hex digits).
pub const DEMO_ERC721_TOKEN_ID: &str =
    "0000000000000000000000000000000000000000000000000000000000000539";
/// Demo ERC-1155 contract.
pub const DEMO_ERC1155_CONTRACT: &str = "0x1155cafe1155cafe1155cafe1155cafe1155cafe";
/// The demo ERC-1155 token (id 7, as 64 hex digits).
pub const DEMO_ERC1155_TOKEN_ID: &str =
    "0000000000000000000000000000000000000000000000000000000000000007";
/// Demo Bitcoin owner (a bech32 P2WPKH address).
pub const DEMO_BTC_ADDRESS: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";

/// The Ethereum null address, refused as an owner.
const NULL_ETH_ADDRESS: &str = "0x0000000000000000000000000000000000000000";
/// Longest decimal form of a U256 (2^256 - 1 has 78 digits).
const MAX_BALANCE_DIGITS: usize = 78;

// ---------------------------------------------------------------------------------------
// Public value types
// ---------------------------------------------------------------------------------------

/// A balance as the node would answer it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AmbBalance {
    /// The balance, a decimal integer (up to 2^256 - 1).
    pub balance: String,
    /// Epoch second of the change that set it; `None` when no change was recorded at or
    /// before the instant read.
    pub last_updated_secs: Option<i64>,
}

/// How many requests the node has received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AmbRequestCounts {
    /// Every request, whatever its path or outcome.
    pub total: u64,
    /// Requests refused by signature verification (403).
    pub refused_auth: u64,
    /// Signed `POST /batch-get-token-balance` requests, faults included.
    pub calls: u64,
    /// Items in those calls (counted when `getTokenBalanceInputs` is a JSON array, even
    /// one longer than 10).
    pub items: u64,
    /// Signed requests to any other path or method.
    pub other: u64,
}

/// One item of a call, as received (strings exactly as sent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenItem {
    /// `tokenIdentifier.network`.
    pub network: String,
    /// `ownerIdentifier.address`.
    pub owner: String,
    /// `tokenIdentifier.contractAddress`.
    pub contract: Option<String>,
    /// `tokenIdentifier.tokenId`.
    pub token_id: Option<String>,
    /// `atBlockchainInstant.time`, rounded down to the second.
    pub at_epoch_secs: Option<i64>,
}

/// One request to `/batch-get-token-balance`, as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenCall {
    /// The request body (lossy UTF-8, cut at [`SEEN_BODY_MAX_LEN`] bytes).
    pub body: String,
    /// The items of the body, in order; empty when it is not a `BatchGetTokenBalance`
    /// input (items that are not objects are left out).
    pub items: Vec<SeenItem>,
    /// Header names from `SignedHeaders` in the `Authorization` header (empty if none).
    pub signed_headers: Vec<String>,
    /// Whether the signature verified.
    pub authenticated: bool,
}

// ---------------------------------------------------------------------------------------
// Networks, identifiers, validation
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Net {
    EthereumMainnet,
    EthereumSepolia,
    BitcoinMainnet,
    BitcoinTestnet,
}

impl Net {
    fn parse(s: &str) -> Option<Net> {
        match s {
            "ETHEREUM_MAINNET" => Some(Net::EthereumMainnet),
            "ETHEREUM_SEPOLIA_TESTNET" => Some(Net::EthereumSepolia),
            "BITCOIN_MAINNET" => Some(Net::BitcoinMainnet),
            "BITCOIN_TESTNET" => Some(Net::BitcoinTestnet),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Net::EthereumMainnet => "ETHEREUM_MAINNET",
            Net::EthereumSepolia => "ETHEREUM_SEPOLIA_TESTNET",
            Net::BitcoinMainnet => "BITCOIN_MAINNET",
            Net::BitcoinTestnet => "BITCOIN_TESTNET",
        }
    }

    fn is_ethereum(self) -> bool {
        matches!(self, Net::EthereumMainnet | Net::EthereumSepolia)
    }

    fn native(self) -> &'static str {
        if self.is_ethereum() {
            "eth"
        } else {
            "btc"
        }
    }
}

/// Where balances are kept: network, owner, contract (or none for the native token) and
/// token id (`eth`, `btc`, 64 hex digits, or none for ERC-20), all normalized.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct BalanceKey {
    net: Net,
    owner: String,
    contract: Option<String>,
    token_id: Option<String>,
}

/// A per-item error: `errorCode`, `errorType` and `errorMessage`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ItemError {
    code: &'static str,
    error_type: &'static str,
    message: String,
}

const VALIDATION_EXCEPTION: &str = "VALIDATION_EXCEPTION";
const RESOURCE_NOT_FOUND_EXCEPTION: &str = "RESOURCE_NOT_FOUND_EXCEPTION";

impl ItemError {
    fn validation(code: &'static str, message: String) -> ItemError {
        ItemError {
            code,
            error_type: VALIDATION_EXCEPTION,
            message,
        }
    }
}

/// `^[-A-Za-z0-9]{13,74}$` (the model's `ChainAddress`).
fn is_chain_address(s: &str) -> bool {
    (13..=74).contains(&s.len()) && s.bytes().all(|b| b == b'-' || b.is_ascii_alphanumeric())
}

/// `^[a-zA-Z0-9]{1,66}$` (the model's `QueryTokenId`).
fn is_query_token_id(s: &str) -> bool {
    (1..=66).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `0x` and exactly 40 hex digits, either case.
fn is_eth_address(s: &str) -> bool {
    s.len() == 42 && s.starts_with("0x") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// An owner as stored: `0x` addresses and bech32 addresses (case-insensitive by their
/// definition) in lower case, base58 addresses as given.
fn normalize_owner(net: Net, owner: &str) -> String {
    let lower = owner.to_ascii_lowercase();
    let bech32 = ["bc1", "tb1", "bcrt1"].iter().any(|p| lower.starts_with(p));
    if net.is_ethereum() || bech32 {
        lower
    } else {
        owner.to_owned()
    }
}

/// Checks an item's identifiers as the service does and gives the key its balance is kept
/// under.
fn check_identity(
    net: Net,
    owner: &str,
    contract: Option<&str>,
    token_id: Option<&str>,
) -> Result<BalanceKey, ItemError> {
    let network = net.as_str();
    if !is_chain_address(owner) {
        return Err(ItemError::validation(
            "InvalidOwnerAddress",
            format!(
                "The owner address {owner:?} is not valid: it must match ^[-A-Za-z0-9]{{13,74}}$"
            ),
        ));
    }
    if let Some(c) = contract {
        if !is_chain_address(c) {
            return Err(ItemError::validation(
                "InvalidContractAddress",
                format!(
                    "The contract address {c:?} is not valid: it must match \
                     ^[-A-Za-z0-9]{{13,74}}$"
                ),
            ));
        }
    }
    if let Some(t) = token_id {
        if !is_query_token_id(t) {
            return Err(ItemError::validation(
                "InvalidTokenId",
                format!("The token id {t:?} is not valid: it must match ^[a-zA-Z0-9]{{1,66}}$"),
            ));
        }
    }
    if net.is_ethereum() {
        if !is_eth_address(owner) {
            return Err(ItemError::validation(
                "InvalidOwnerAddress",
                format!(
                    "The owner address {owner:?} is not a valid {network} address: expected \
                     0x and 40 hexadecimal digits"
                ),
            ));
        }
        if owner.eq_ignore_ascii_case(NULL_ETH_ADDRESS) {
            return Err(ItemError::validation(
                "InvalidOwnerAddress",
                format!("The null address {owner} cannot own tokens on {network}"),
            ));
        }
        if let Some(c) = contract {
            if !is_eth_address(c) || c.eq_ignore_ascii_case(NULL_ETH_ADDRESS) {
                return Err(ItemError::validation(
                    "InvalidContractAddress",
                    format!(
                        "The contract address {c:?} is not a valid {network} contract address: \
                         expected 0x and 40 hexadecimal digits, not the null address"
                    ),
                ));
            }
        }
    } else if let Some(c) = contract {
        return Err(ItemError::validation(
            "InvalidContractAddress",
            format!(
                "{network} has no token contracts; remove the contract address {c:?} and use \
                 the token id btc"
            ),
        ));
    }
    let native = net.native();
    let token_id = match (contract, token_id) {
        (None, Some(t)) if t.eq_ignore_ascii_case(native) => Some(native.to_owned()),
        (None, Some(t)) => {
            return Err(ItemError::validation(
                "InvalidTokenId",
                format!(
                    "The token id {t:?} is not supported on {network} without a contract \
                     address: the native token's id is {native}"
                ),
            ))
        }
        (None, None) => {
            return Err(ItemError::validation(
                "InvalidTokenId",
                format!(
                    "A token id is required without a contract address: use {native} for the \
                     native token of {network}"
                ),
            ))
        }
        (Some(_), None) => None,
        (Some(_), Some(t)) if is_hex64(t) => Some(t.to_ascii_lowercase()),
        (Some(_), Some(t)) => {
            return Err(ItemError::validation(
                "InvalidTokenId",
                format!(
                    "The token id {t:?} is not valid with a contract address: ERC-721 and \
                     ERC-1155 token ids are 64 hexadecimal digits, ERC-20 tokens have none"
                ),
            ))
        }
    };
    Ok(BalanceKey {
        net,
        owner: normalize_owner(net, owner),
        contract: contract.map(str::to_ascii_lowercase),
        token_id,
    })
}

fn parse_network(network: &str) -> Result<Net, InvalidInput> {
    Net::parse(network).ok_or_else(|| {
        InvalidInput(format!(
            "unknown network {network:?}: expected one of {}",
            AMB_NETWORKS.join(", ")
        ))
    })
}

/// A balance: decimal digits only, at most 2^256 - 1.
fn parse_balance(balance: &str) -> Result<U256, InvalidInput> {
    let bad = || {
        InvalidInput(format!(
            "invalid balance {balance:?}: expected a decimal integer from 0 to 2^256 - 1"
        ))
    };
    if balance.is_empty()
        || balance.len() > MAX_BALANCE_DIGITS + 8
        || !balance.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    U256::from_str_radix(balance, 10).map_err(|_| bad())
}

// ---------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------

/// The wall clock in whole seconds since the Unix epoch.
fn wall_clock_secs() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Parses SigV4's `YYYYMMDDTHHMMSSZ` into epoch seconds.
fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = &s[r];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (h, mi, se) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3_600 + mi * 60 + se)
}

/// Formats epoch seconds as SigV4's `YYYYMMDDTHHMMSSZ`.
fn format_amz_date(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

fn system_time(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

// ---------------------------------------------------------------------------------------
// SigV4 verification
// ---------------------------------------------------------------------------------------

/// Why a request's signature was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
enum AuthFailure {
    Missing,
    Incomplete(String),
    Unrecognized,
    Invalid(String),
}

impl AuthFailure {
    fn answer(&self) -> Answer {
        let (error_type, message) = match self {
            AuthFailure::Missing => (
                "MissingAuthenticationTokenException",
                "Missing Authentication Token".to_owned(),
            ),
            AuthFailure::Incomplete(m) => ("IncompleteSignatureException", m.clone()),
            AuthFailure::Unrecognized => (
                "UnrecognizedClientException",
                "The security token included in the request is invalid.".to_owned(),
            ),
            AuthFailure::Invalid(m) => ("InvalidSignatureException", m.clone()),
        };
        Answer::message_error(StatusCode::FORBIDDEN, error_type, &message)
    }
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug, Default)]
struct AuthHeader {
    credential: Option<String>,
    signed_headers: Option<String>,
    signature: Option<String>,
}

fn parse_authorization(value: &str) -> Result<AuthHeader, AuthFailure> {
    let value = value.trim();
    let (algorithm, rest) = value.split_once(' ').unwrap_or((value, ""));
    if algorithm != "AWS4-HMAC-SHA256" {
        return Err(AuthFailure::Incomplete(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'"
        )));
    }
    let mut out = AuthHeader::default();
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(AuthFailure::Incomplete(format!(
                "'{part}' not a valid key=value pair (missing equal-sign) in Authorization \
                 header: '{value}'."
            )));
        };
        match k.trim() {
            "Credential" => out.credential = Some(v.trim().to_owned()),
            "SignedHeaders" => out.signed_headers = Some(v.trim().to_owned()),
            "Signature" => out.signature = Some(v.trim().to_owned()),
            _ => {}
        }
    }
    Ok(out)
}

/// The `SignedHeaders` of a request's `Authorization` header, if it has one that parses.
fn signed_header_names(headers: &HeaderMap) -> Vec<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_authorization(v).ok())
        .and_then(|a| a.signed_headers)
        .map(|s| s.split(';').map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Verifies a request's SigV4 `Authorization` header; gives the access key id.
fn verify_sigv4(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    keys: &HashMap<String, String>,
    now_secs: i64,
) -> Result<String, AuthFailure> {
    let raw = match headers.get(header::AUTHORIZATION) {
        None => return Err(AuthFailure::Missing),
        Some(v) => v.to_str().map_err(|_| {
            AuthFailure::Incomplete("The Authorization header is not valid ASCII.".to_owned())
        })?,
    };
    if raw.trim().is_empty() {
        return Err(AuthFailure::Missing);
    }
    let auth = parse_authorization(raw)?;
    let amz_date = headers.get("x-amz-date").and_then(|v| v.to_str().ok());
    let mut missing = Vec::new();
    for (name, present) in [
        ("Credential", auth.credential.is_some()),
        ("Signature", auth.signature.is_some()),
        ("SignedHeaders", auth.signed_headers.is_some()),
    ] {
        if !present {
            missing.push(format!("Authorization header requires '{name}' parameter."));
        }
    }
    if amz_date.is_none() {
        missing.push(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' \
             header."
                .to_owned(),
        );
    }
    let (Some(credential), Some(signature), Some(signed), Some(amz_date), true) = (
        auth.credential,
        auth.signature,
        auth.signed_headers,
        amz_date,
        missing.is_empty(),
    ) else {
        return Err(AuthFailure::Incomplete(format!(
            "{} Authorization={raw}",
            missing.join(" ")
        )));
    };

    let scope: Vec<&str> = credential.split('/').collect();
    let [key_id, scope_date, region, service, terminator] = scope[..] else {
        return Err(AuthFailure::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. \
             keyid/date/region/service/term, got '{credential}'"
        )));
    };
    let secret = keys.get(key_id).ok_or(AuthFailure::Unrecognized)?;
    if headers.contains_key("x-amz-security-token") {
        // The devnet's keys are long-term keys: no session token belongs to them.
        return Err(AuthFailure::Unrecognized);
    }
    let request_secs = parse_amz_date(amz_date).ok_or_else(|| {
        AuthFailure::Incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See \
             http://en.wikipedia.org/wiki/ISO_8601"
        ))
    })?;
    if scope_date != &amz_date[..8] {
        return Err(AuthFailure::Invalid(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
             from HTTP: '{scope_date}' != '{}', from '{amz_date}'.",
            &amz_date[..8]
        )));
    }
    if region != AMB_REGION {
        return Err(AuthFailure::Invalid(format!(
            "Credential should be scoped to a valid region, not '{region}'. "
        )));
    }
    if service != AMB_SIGNING_NAME {
        return Err(AuthFailure::Invalid(format!(
            "Credential should be scoped to correct service: '{AMB_SIGNING_NAME}'. "
        )));
    }
    if terminator != "aws4_request" {
        return Err(AuthFailure::Invalid(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not \
             '{terminator}'. "
        )));
    }
    let skew = i64::try_from(MAX_SIGNATURE_SKEW.as_secs()).unwrap_or(300);
    if request_secs < now_secs - skew {
        return Err(AuthFailure::Invalid(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 5 min.)",
            format_amz_date(now_secs - skew),
            format_amz_date(now_secs)
        )));
    }
    if request_secs > now_secs + skew {
        return Err(AuthFailure::Invalid(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 5 min.)",
            format_amz_date(now_secs + skew),
            format_amz_date(now_secs)
        )));
    }
    let names: Vec<&str> = signed.split(';').collect();
    if !names.contains(&"host") {
        return Err(AuthFailure::Invalid(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".to_owned(),
        ));
    }

    let mismatch = || {
        AuthFailure::Invalid(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details."
                .to_owned(),
        )
    };
    // The signed headers as received; the signer adds x-amz-date itself from the time.
    let mut signed_values: Vec<(&str, &str)> = Vec::new();
    for name in &names {
        if *name == "x-amz-date" {
            continue;
        }
        for value in headers.get_all(*name) {
            signed_values.push((name, value.to_str().map_err(|_| mismatch())?));
        }
    }
    let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let identity: Identity =
        aws_credential_types::Credentials::new(key_id, secret, None, None, "tokbal-devnet").into();
    let mut settings = SigningSettings::default();
    // Sign exactly the headers the client listed, whatever they are.
    settings.excluded_headers = None;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(AMB_REGION)
        .name(AMB_SIGNING_NAME)
        .time(system_time(request_secs))
        .settings(settings)
        .build()
        .map_err(|_| mismatch())?
        .into();
    let request = SignableRequest::new(
        method.as_str(),
        format!("http://localhost{target}"),
        signed_values.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|_| mismatch())?;
    let expected = sign(request, &params).map_err(|_| mismatch())?;
    if expected.signature() != signature {
        return Err(mismatch());
    }
    Ok(key_id.to_owned())
}

// ---------------------------------------------------------------------------------------
// The node
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Ledger {
    /// Per key: changes as (epoch second, balance), sorted by time.
    balances: HashMap<BalanceKey, Vec<(i64, U256)>>,
    /// Every (network, contract) with at least one change.
    contracts: HashSet<(Net, String)>,
    /// A fixed "now", or `None` for the wall clock.
    clock: Option<i64>,
}

#[derive(Debug, Default)]
struct Counters {
    total: AtomicU64,
    refused_auth: AtomicU64,
    calls: AtomicU64,
    items: AtomicU64,
    other: AtomicU64,
}

/// Accepted access keys: id to secret. `Debug` shows the ids only.
#[derive(Clone, Default)]
struct Keys(HashMap<String, String>);

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

#[derive(Debug)]
struct Inner {
    ledger: Mutex<Ledger>,
    keys: Mutex<Keys>,
    faults: Faults,
    counters: Counters,
    seen: Seen<SeenCall>,
    request_seq: AtomicU64,
    seed: u64,
}

/// Handle to the AMB half of the devnet: balance histories, accepted keys, fault switches
/// and request counters. Cheap to clone (all clones share the same state) and safe to use
/// from any thread while the server answers requests.
///
/// ```
/// use tokbal_devnet::{Devnet, DEMO_ETH_OWNER};
///
/// let amb = Devnet::builder().build_amb_node();
/// amb.set_balance("ETHEREUM_MAINNET", DEMO_ETH_OWNER, None, Some("eth"), 1_000, "5").unwrap();
/// amb.set_balance("ETHEREUM_MAINNET", DEMO_ETH_OWNER, None, Some("eth"), 2_000, "7").unwrap();
/// let b = amb.balance_at("ETHEREUM_MAINNET", DEMO_ETH_OWNER, None, Some("eth"), 1_999).unwrap();
/// assert_eq!((b.balance.as_str(), b.last_updated_secs), ("5", Some(1_000)));
/// let before = amb.balance_at("ETHEREUM_MAINNET", DEMO_ETH_OWNER, None, Some("eth"), 999).unwrap();
/// assert_eq!((before.balance.as_str(), before.last_updated_secs), ("0", None));
/// ```
#[derive(Clone, Debug)]
pub struct AmbNode {
    inner: Arc<Inner>,
}

impl AmbNode {
    /// An empty ledger that accepts the test credentials; fault ratios draw from `fault_seed`.
    pub(crate) fn new(fault_seed: u64) -> AmbNode {
        let mut keys = HashMap::new();
        keys.insert(
            TEST_ACCESS_KEY_ID.to_owned(),
            TEST_SECRET_ACCESS_KEY.to_owned(),
        );
        AmbNode {
            inner: Arc::new(Inner {
                ledger: Mutex::new(Ledger::default()),
                keys: Mutex::new(Keys(keys)),
                faults: Faults::new(fault_seed),
                counters: Counters::default(),
                seen: Seen::new(SEEN_CALLS_LIMIT),
                request_seq: AtomicU64::new(0),
                seed: fault_seed,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Ledger> {
        self.inner.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn keys(&self) -> HashMap<String, String> {
        self.inner
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone()
    }

    /// Also accepts requests signed with this key pair (the test pair is always accepted).
    pub fn add_access_key(&self, access_key_id: &str, secret_access_key: &str) {
        self.inner
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .insert(access_key_id.to_owned(), secret_access_key.to_owned());
    }

    /// Records that `owner` holds `balance` (a decimal integer up to 2^256 - 1) of a token
    /// from second `at_epoch_secs` on, replacing a change already recorded at that second.
    ///
    /// `network` is a `QueryNetwork` value (`ETHEREUM_MAINNET`, `ETHEREUM_SEPOLIA_TESTNET`,
    /// `BITCOIN_MAINNET`, `BITCOIN_TESTNET`). The token is `contract: None` with
    /// `token_id: Some("eth")` or `Some("btc")` for the native token, a contract with
    /// `token_id: None` for an ERC-20 token, or a contract with a 64-hex-digit token id for
    /// an ERC-721 or ERC-1155 token. The same rules as for the HTTP API's items apply (see
    /// the [module documentation](self)); a refused item is an [`InvalidInput`] with the
    /// `errorMessage` the API would send.
    pub fn set_balance(
        &self,
        network: &str,
        owner: &str,
        contract: Option<&str>,
        token_id: Option<&str>,
        at_epoch_secs: i64,
        balance: &str,
    ) -> Result<(), InvalidInput> {
        let key = balance_key(network, owner, contract, token_id)?;
        let amount = parse_balance(balance)?;
        let mut l = self.lock();
        if let Some(c) = &key.contract {
            l.contracts.insert((key.net, c.clone()));
        }
        let hist = l.balances.entry(key).or_default();
        match hist.binary_search_by_key(&at_epoch_secs, |(t, _)| *t) {
            Ok(i) => hist[i].1 = amount,
            Err(i) => hist.insert(i, (at_epoch_secs, amount)),
        }
        Ok(())
    }

    /// The balance the HTTP API would answer at second `at_epoch_secs` (without the checks
    /// on the instant): `"0"` with no `last_updated_secs` when nothing was recorded at or
    /// before it, including for a contract the node does not know (which the API answers
    /// with `RESOURCE_NOT_FOUND_EXCEPTION`; see [`AmbNode::knows_contract`]).
    pub fn balance_at(
        &self,
        network: &str,
        owner: &str,
        contract: Option<&str>,
        token_id: Option<&str>,
        at_epoch_secs: i64,
    ) -> Result<AmbBalance, InvalidInput> {
        let key = balance_key(network, owner, contract, token_id)?;
        Ok(self.read(&key, at_epoch_secs))
    }

    /// Whether any balance was ever recorded for `contract` on `network`.
    pub fn knows_contract(&self, network: &str, contract: &str) -> Result<bool, InvalidInput> {
        let net = parse_network(network)?;
        Ok(self
            .lock()
            .contracts
            .contains(&(net, contract.to_ascii_lowercase())))
    }

    fn read(&self, key: &BalanceKey, t: i64) -> AmbBalance {
        let l = self.lock();
        let last = l.balances.get(key).and_then(|hist| {
            let i = hist.partition_point(|(at, _)| *at <= t);
            i.checked_sub(1).map(|i| hist[i])
        });
        match last {
            Some((at, amount)) => AmbBalance {
                balance: amount.to_string(),
                last_updated_secs: Some(at),
            },
            None => AmbBalance {
                balance: "0".to_owned(),
                last_updated_secs: None,
            },
        }
    }

    /// Fixes the node's "now" at `epoch_secs` (reads without an instant answer at it, and
    /// instants after it are refused), or with `None` goes back to the wall clock.
    pub fn set_clock(&self, epoch_secs: Option<i64>) {
        self.lock().clock = epoch_secs;
    }

    /// The node's "now": the fixed clock, or the wall clock rounded down to the second.
    pub fn now_secs(&self) -> i64 {
        self.lock().clock.unwrap_or_else(wall_clock_secs)
    }

    /// The fault switches, read once per signed request.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// How many requests the node has received.
    pub fn requests(&self) -> AmbRequestCounts {
        let c = &self.inner.counters;
        AmbRequestCounts {
            total: c.total.load(Ordering::Relaxed),
            refused_auth: c.refused_auth.load(Ordering::Relaxed),
            calls: c.calls.load(Ordering::Relaxed),
            items: c.items.load(Ordering::Relaxed),
            other: c.other.load(Ordering::Relaxed),
        }
    }

    /// The most recent requests to `/batch-get-token-balance` (signed or not), oldest
    /// first, at most [`SEEN_CALLS_LIMIT`] of them.
    pub fn seen_calls(&self) -> Vec<SeenCall> {
        self.inner.seen.list()
    }

    /// The bodies of [`AmbNode::seen_calls`].
    pub fn seen_bodies(&self) -> Vec<String> {
        self.inner.seen.map(|c| c.body.clone())
    }

    /// Sets the request counters back to zero and forgets the seen calls.
    pub fn reset_requests(&self) {
        let c = &self.inner.counters;
        for a in [&c.total, &c.refused_auth, &c.calls, &c.items, &c.other] {
            a.store(0, Ordering::Relaxed);
        }
        self.inner.seen.clear();
    }

    /// Seeds the demo balances described at
    /// [`DevnetBuilder::with_demo_data`](super::DevnetBuilder::with_demo_data).
    pub(crate) fn seed_demo_data(&self) {
        const ETH: &str = "ETHEREUM_MAINNET";
        const BTC: &str = "BITCOIN_MAINNET";
        let at = |secs: i64| DEMO_AMB_START_SECS + secs;
        let u256_max = U256::MAX.to_string();
        type Change<'a> = (
            &'a str,
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            i64,
            &'a str,
        );
        let changes: [Change<'_>; 13] = [
            (
                ETH,
                DEMO_ETH_OWNER,
                None,
                Some("eth"),
                at(0),
                "5000000000000000000",
            ),
            (
                ETH,
                DEMO_ETH_OWNER,
                None,
                Some("eth"),
                at(3_600),
                "4200000000000000000",
            ),
            (
                ETH,
                DEMO_ETH_OWNER,
                None,
                Some("eth"),
                at(10_800),
                "12500000000000000000",
            ),
            (
                ETH,
                DEMO_ETH_OWNER_2,
                None,
                Some("eth"),
                at(1_800),
                "1000000000000000000",
            ),
            (
                ETH,
                DEMO_ETH_OWNER_2,
                None,
                Some("eth"),
                at(7_200),
                "750000000000000000",
            ),
            (
                ETH,
                DEMO_ETH_OWNER,
                Some(DEMO_ERC20_CONTRACT),
                None,
                at(5_400),
                "340282366920938463463374607431768211457",
            ),
            (
                ETH,
                DEMO_ETH_OWNER_2,
                Some(DEMO_ERC20_CONTRACT),
                None,
                at(14_400),
                &u256_max,
            ),
            (
                ETH,
                DEMO_ETH_OWNER_2,
                Some(DEMO_ERC721_CONTRACT),
                Some(DEMO_ERC721_TOKEN_ID),
                at(1_200),
                "1",
            ),
            (
                ETH,
                DEMO_ETH_OWNER_2,
                Some(DEMO_ERC721_CONTRACT),
                Some(DEMO_ERC721_TOKEN_ID),
                at(7_200),
                "0",
            ),
            (
                ETH,
                DEMO_ETH_OWNER,
                Some(DEMO_ERC721_CONTRACT),
                Some(DEMO_ERC721_TOKEN_ID),
                at(7_200),
                "1",
            ),
            (
                ETH,
                DEMO_ETH_OWNER_2,
                Some(DEMO_ERC1155_CONTRACT),
                Some(DEMO_ERC1155_TOKEN_ID),
                at(9_000),
                "250",
            ),
            (BTC, DEMO_BTC_ADDRESS, None, Some("btc"), at(0), "150000000"),
            (
                BTC,
                DEMO_BTC_ADDRESS,
                None,
                Some("btc"),
                at(10_800),
                "98765432",
            ),
        ];
        for (network, owner, contract, token_id, secs, balance) in changes {
            // The constants above are valid by construction (a unit test checks it).
            let _ = self.set_balance(network, owner, contract, token_id, secs, balance);
        }
    }

    fn next_request_id(&self) -> String {
        let seq = self.inner.request_seq.fetch_add(1, Ordering::Relaxed);
        let a = mix64(self.inner.seed ^ 0x0a3b_0000 ^ seq);
        let b = mix64(a ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    fn record_call(&self, body: &[u8], headers: &HeaderMap, authenticated: bool) {
        let cut = &body[..body.len().min(SEEN_BODY_MAX_LEN)];
        let call = SeenCall {
            body: String::from_utf8_lossy(cut).into_owned(),
            items: seen_items(body),
            signed_headers: signed_header_names(headers),
            authenticated,
        };
        self.inner.seen.push(call);
    }

    /// The answer to a signed `BatchGetTokenBalance` body.
    fn answer_batch(&self, body: &[u8], lag: u64) -> Answer {
        let items = match parse_request(body) {
            Ok(items) => items,
            Err(e) => return e.answer(),
        };
        let now = self.now_secs();
        let default_at = now.saturating_sub(i64::try_from(lag).unwrap_or(i64::MAX));
        let mut out = BatchOut::default();
        for item in items {
            match self.answer_item(&item, now, default_at) {
                Ok(balance) => out.token_balances.push(BalanceOut {
                    owner_identifier: item.owner_out(),
                    token_identifier: item.token_out(),
                    balance: balance.balance,
                    at_blockchain_instant: InstantOut {
                        time: item.at.unwrap_or(default_at),
                    },
                    last_updated_time: balance.last_updated_secs.map(|time| InstantOut { time }),
                }),
                Err(e) => out.errors.push(ErrorOut {
                    token_identifier: item.token_out(),
                    owner_identifier: item.owner_out(),
                    at_blockchain_instant: item.at.map(|time| InstantOut { time }),
                    error_code: e.code,
                    error_message: e.message,
                    error_type: e.error_type,
                }),
            }
        }
        Answer::json(StatusCode::OK, &out)
    }

    fn answer_item(
        &self,
        item: &InItem,
        now: i64,
        default_at: i64,
    ) -> Result<AmbBalance, ItemError> {
        let key = check_identity(
            item.net,
            &item.owner,
            item.contract.as_deref(),
            item.token_id.as_deref(),
        )?;
        if let Some(t) = item.at {
            if t > now {
                return Err(ItemError::validation(
                    "InvalidBlockchainInstant",
                    format!(
                        "The time {} ({t}) of atBlockchainInstant is in the future: it must be \
                         at or before {} ({now})",
                        format_amz_date(t),
                        format_amz_date(now)
                    ),
                ));
            }
        }
        if let Some(c) = &key.contract {
            if !self.lock().contracts.contains(&(key.net, c.clone())) {
                return Err(ItemError {
                    code: "ContractNotFound",
                    error_type: RESOURCE_NOT_FOUND_EXCEPTION,
                    message: format!(
                        "The token contract {} was not found on {}",
                        item.contract.as_deref().unwrap_or_default(),
                        key.net.as_str()
                    ),
                });
            }
        }
        Ok(self.read(&key, item.at.unwrap_or(default_at)))
    }
}

fn balance_key(
    network: &str,
    owner: &str,
    contract: Option<&str>,
    token_id: Option<&str>,
) -> Result<BalanceKey, InvalidInput> {
    let net = parse_network(network)?;
    check_identity(net, owner, contract, token_id).map_err(|e| InvalidInput(e.message))
}

// ---------------------------------------------------------------------------------------
// Request parsing
// ---------------------------------------------------------------------------------------

/// One request item that passed the whole-call checks.
#[derive(Clone, Debug)]
struct InItem {
    net: Net,
    network: String,
    owner: String,
    contract: Option<String>,
    token_id: Option<String>,
    at: Option<i64>,
}

impl InItem {
    fn token_out(&self) -> TokenOut {
        TokenOut {
            network: self.network.clone(),
            contract_address: self.contract.clone(),
            token_id: self.token_id.clone(),
        }
    }

    fn owner_out(&self) -> OwnerOut {
        OwnerOut {
            address: self.owner.clone(),
        }
    }
}

/// A whole-call error, rendered as the model's exception shapes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum CallError {
    Validation {
        reason: &'static str,
        message: String,
        fields: Vec<(String, String)>,
    },
}

impl CallError {
    fn cannot_parse(message: String, fields: Vec<(String, String)>) -> CallError {
        CallError::Validation {
            reason: "cannotParse",
            message,
            fields,
        }
    }

    /// `fieldValidationFailed` for `problems` as (field, value shown, constraint).
    fn field_validation(problems: Vec<(String, String, String)>) -> CallError {
        let n = problems.len();
        let details: Vec<String> = problems
            .iter()
            .map(|(field, value, constraint)| {
                format!("Value {value} at '{field}' failed to satisfy constraint: {constraint}")
            })
            .collect();
        CallError::Validation {
            reason: "fieldValidationFailed",
            message: format!(
                "{n} validation error{} detected: {}",
                if n == 1 { "" } else { "s" },
                details.join("; ")
            ),
            fields: problems
                .into_iter()
                .map(|(field, _, constraint)| (field, constraint))
                .collect(),
        }
    }

    fn answer(&self) -> Answer {
        match self {
            CallError::Validation {
                reason,
                message,
                fields,
            } => Answer::validation(message, reason, fields),
        }
    }
}

/// Reads an optional string member; `null` counts as absent.
fn opt_str(obj: &Map<String, Value>, name: &str, path: &str) -> Result<Option<String>, CallError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(type_error(&format!("{path}.{name}"), "a string", other)),
    }
}

/// Reads an optional object member; `null` counts as absent.
fn opt_obj<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    path: &str,
) -> Result<Option<&'a Map<String, Value>>, CallError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(type_error(&format!("{path}.{name}"), "an object", other)),
    }
}

fn type_error(field: &str, expected: &str, got: &Value) -> CallError {
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    let message = format!("expected {expected}, found {kind}");
    CallError::cannot_parse(
        format!("Could not parse the request body: at '{field}': {message}"),
        vec![(field.to_owned(), message)],
    )
}

/// Epoch seconds from a restJson1 timestamp (a JSON number, possibly fractional), rounded
/// down to the second.
fn epoch_secs(v: &Value, field: &str) -> Result<Option<i64>, CallError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return Ok(Some(i));
            }
            match n.as_f64() {
                Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(Some(f.floor() as i64)),
                _ => Err(CallError::cannot_parse(
                    format!(
                        "Could not parse the request body: at '{field}': timestamp out of range"
                    ),
                    vec![(field.to_owned(), "timestamp out of range".to_owned())],
                )),
            }
        }
        other => Err(type_error(field, "a number (epoch seconds)", other)),
    }
}

/// Parses and checks a `BatchGetTokenBalance` body as a whole.
fn parse_request(body: &[u8]) -> Result<Vec<InItem>, CallError> {
    const LIST: &str = "getTokenBalanceInputs";
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body).map_err(|e| {
            CallError::cannot_parse(
                format!("Could not parse the request body as JSON: {e}"),
                Vec::new(),
            )
        })?
    };
    let Value::Object(obj) = value else {
        return Err(CallError::cannot_parse(
            "Could not parse the request body: expected a JSON object".to_owned(),
            Vec::new(),
        ));
    };
    let list = match obj.get(LIST) {
        None | Some(Value::Null) => {
            return Err(CallError::field_validation(vec![(
                LIST.to_owned(),
                "null".to_owned(),
                "Member must not be null".to_owned(),
            )]))
        }
        Some(Value::Array(a)) => a,
        Some(other) => return Err(type_error(LIST, "an array", other)),
    };
    if list.is_empty() || list.len() > MAX_BATCH_ITEMS {
        let constraint = if list.is_empty() {
            "Member must have length greater than or equal to 1".to_owned()
        } else {
            format!("Member must have length less than or equal to {MAX_BATCH_ITEMS}")
        };
        return Err(CallError::field_validation(vec![(
            LIST.to_owned(),
            format!("with length {}", list.len()),
            constraint,
        )]));
    }
    let mut problems = Vec::new();
    let mut items = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let path = format!("{LIST}.{}.member", i + 1);
        let Value::Object(item) = v else {
            return Err(type_error(&path, "an object", v));
        };
        let token_path = format!("{path}.tokenIdentifier");
        let owner_path = format!("{path}.ownerIdentifier");
        let token = opt_obj(item, "tokenIdentifier", &path)?;
        let owner = opt_obj(item, "ownerIdentifier", &path)?;
        let instant = opt_obj(item, "atBlockchainInstant", &path)?;
        let (mut network, mut contract, mut token_id) = (None, None, None);
        match token {
            None => problems.push((
                token_path.clone(),
                "null".to_owned(),
                "Member must not be null".to_owned(),
            )),
            Some(t) => {
                network = opt_str(t, "network", &token_path)?;
                contract = opt_str(t, "contractAddress", &token_path)?;
                token_id = opt_str(t, "tokenId", &token_path)?;
                if network.is_none() {
                    problems.push((
                        format!("{token_path}.network"),
                        "null".to_owned(),
                        "Member must not be null".to_owned(),
                    ));
                }
            }
        }
        let address = match owner {
            None => {
                problems.push((
                    owner_path.clone(),
                    "null".to_owned(),
                    "Member must not be null".to_owned(),
                ));
                None
            }
            Some(o) => {
                let a = opt_str(o, "address", &owner_path)?;
                if a.is_none() {
                    problems.push((
                        format!("{owner_path}.address"),
                        "null".to_owned(),
                        "Member must not be null".to_owned(),
                    ));
                }
                a
            }
        };
        let at = match instant.and_then(|m| m.get("time")) {
            None => None,
            Some(t) => epoch_secs(t, &format!("{path}.atBlockchainInstant.time"))?,
        };
        let net = network.as_deref().and_then(|n| {
            let net = Net::parse(n);
            if net.is_none() {
                problems.push((
                    format!("{token_path}.network"),
                    format!("'{n}'"),
                    format!(
                        "Member must satisfy enum value set: [{}]",
                        AMB_NETWORKS.join(", ")
                    ),
                ));
            }
            net
        });
        if let (Some(net), Some(network), Some(owner)) = (net, network, address) {
            items.push(InItem {
                net,
                network,
                owner,
                contract,
                token_id,
                at,
            });
        }
    }
    if !problems.is_empty() {
        return Err(CallError::field_validation(problems));
    }
    Ok(items)
}

/// The items of a body, leniently (for [`SeenCall::items`]).
fn seen_items(body: &[u8]) -> Vec<SeenItem> {
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let Some(Value::Array(list)) = obj.get("getTokenBalanceInputs") else {
        return Vec::new();
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    list.iter()
        .filter_map(Value::as_object)
        .map(|item| {
            let token = item.get("tokenIdentifier");
            SeenItem {
                network: text(token.and_then(|t| t.get("network"))).unwrap_or_default(),
                owner: text(item.get("ownerIdentifier").and_then(|o| o.get("address")))
                    .unwrap_or_default(),
                contract: text(token.and_then(|t| t.get("contractAddress"))),
                token_id: text(token.and_then(|t| t.get("tokenId"))),
                at_epoch_secs: item
                    .get("atBlockchainInstant")
                    .and_then(|i| i.get("time"))
                    .and_then(|t| epoch_secs(t, "").ok().flatten()),
            }
        })
        .collect()
}

/// How many items a body holds, if `getTokenBalanceInputs` is an array.
fn item_count(body: &[u8]) -> u64 {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(obj)) => match obj.get("getTokenBalanceInputs") {
            Some(Value::Array(a)) => a.len() as u64,
            _ => 0,
        },
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenOut {
    network: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    contract_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_id: Option<String>,
}

#[derive(Serialize)]
struct OwnerOut {
    address: String,
}

#[derive(Serialize)]
struct InstantOut {
    time: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BalanceOut {
    owner_identifier: OwnerOut,
    token_identifier: TokenOut,
    balance: String,
    at_blockchain_instant: InstantOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_updated_time: Option<InstantOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorOut {
    token_identifier: TokenOut,
    owner_identifier: OwnerOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    at_blockchain_instant: Option<InstantOut>,
    error_code: &'static str,
    error_message: String,
    error_type: &'static str,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct BatchOut {
    token_balances: Vec<BalanceOut>,
    errors: Vec<ErrorOut>,
}

#[derive(Serialize)]
struct FieldOut<'a> {
    name: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ValidationOut<'a> {
    message: &'a str,
    reason: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    field_list: Vec<FieldOut<'a>>,
}

/// An answer before the request id is added.
struct Answer {
    status: StatusCode,
    /// `x-amzn-errortype`, for errors.
    error_type: Option<&'static str>,
    body: Vec<u8>,
    retry_after: Option<u64>,
}

/// Service code sent in `ThrottlingException` and `ServiceQuotaExceededException`.
const SERVICE_CODE: &str = "managedblockchain-query";

impl Answer {
    fn json<T: Serialize>(status: StatusCode, value: &T) -> Answer {
        match serde_json::to_vec(value) {
            Ok(body) => Answer {
                status,
                error_type: None,
                body,
                retry_after: None,
            },
            Err(e) => Answer::internal(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("failed to serialize the answer: {e}"),
                None,
            ),
        }
    }

    /// An error shape given as a JSON value.
    fn shape(status: StatusCode, error_type: &'static str, body: Value) -> Answer {
        Answer {
            status,
            error_type: Some(error_type),
            body: body.to_string().into_bytes(),
            retry_after: None,
        }
    }

    /// An error whose body is only `{"message"}` (AccessDenied, and the unmodeled ones).
    fn message_error(status: StatusCode, error_type: &'static str, message: &str) -> Answer {
        Answer::shape(
            status,
            error_type,
            serde_json::json!({ "message": message }),
        )
    }

    fn validation(message: &str, reason: &str, fields: &[(String, String)]) -> Answer {
        let body = ValidationOut {
            message,
            reason,
            field_list: fields
                .iter()
                .map(|(name, message)| FieldOut { name, message })
                .collect(),
        };
        Answer {
            status: StatusCode::BAD_REQUEST,
            error_type: Some("ValidationException"),
            // Strings only: serializing cannot fail.
            body: serde_json::to_vec(&body).unwrap_or_default(),
            retry_after: None,
        }
    }

    fn throttled(retry_after_secs: u64) -> Answer {
        let mut a = Answer::shape(
            StatusCode::TOO_MANY_REQUESTS,
            "ThrottlingException",
            serde_json::json!({
                "message": "Rate exceeded (injected fault)",
                "serviceCode": SERVICE_CODE,
                "quotaCode": "devnet-requests-per-second",
            }),
        );
        a.retry_after = Some(retry_after_secs);
        a
    }

    fn internal(status: StatusCode, message: &str, retry_after: Option<u64>) -> Answer {
        let mut a = Answer::message_error(status, "InternalServerException", message);
        a.retry_after = retry_after;
        a
    }

    fn injected_failure(status: u16, retry_after_secs: u64) -> Answer {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match status.as_u16() {
            400 => Answer::validation("The request was refused (injected fault)", "other", &[]),
            402 => Answer::shape(
                status,
                "ServiceQuotaExceededException",
                serde_json::json!({
                    "message": "The service quota has been exceeded (injected fault)",
                    "resourceId": "batch-get-token-balance",
                    "resourceType": "collection",
                    "serviceCode": SERVICE_CODE,
                    "quotaCode": "devnet-monthly-calls",
                }),
            ),
            403 => Answer::message_error(
                status,
                "AccessDeniedException",
                "User: arn:aws:iam::000000000000:user/tokbal-devnet is not authorized to \
                 perform: managedblockchain-query:BatchGetTokenBalance (injected fault)",
            ),
            404 => Answer::shape(
                status,
                "ResourceNotFoundException",
                serde_json::json!({
                    "message": "The resource was not found (injected fault)",
                    "resourceId": "batch-get-token-balance",
                    "resourceType": "collection",
                }),
            ),
            429 => Answer::throttled(retry_after_secs),
            503 => Answer::message_error(
                status,
                "ServiceUnavailableException",
                "Service Unavailable (injected fault)",
            ),
            _ if status.is_client_error() => Answer::shape(
                status,
                "ValidationException",
                serde_json::json!({
                    "message": "The request was refused (injected fault)",
                    "reason": "other",
                }),
            ),
            _ => Answer::internal(
                status,
                "Internal server error (injected fault)",
                Some(retry_after_secs),
            ),
        }
    }

    fn into_response(self, request_id: &str, drop_mid_body: bool) -> Response {
        let body = if drop_mid_body {
            cut_body(self.body)
        } else {
            Body::from(self.body)
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = self.status;
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Ok(v) = HeaderValue::from_str(request_id) {
            h.insert(HeaderName::from_static("x-amzn-requestid"), v);
        }
        if let Some(t) = self.error_type {
            h.insert(
                HeaderName::from_static("x-amzn-errortype"),
                HeaderValue::from_static(t),
            );
        }
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

// ---------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------

/// Shared by the handler: the node and the server's shutdown signal.
#[derive(Clone)]
struct ServerState {
    node: AmbNode,
    cancel: CancellationToken,
}

async fn handle(State(st): State<ServerState>, req: Request) -> Response {
    let node = &st.node;
    let counters = &node.inner.counters;
    counters.total.fetch_add(1, Ordering::Relaxed);
    let request_id = node.next_request_id();
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return Answer::message_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLargeException",
                "Request Entity Too Large",
            )
            .into_response(&request_id, false)
        }
    };
    let is_call = parts.method == Method::POST && parts.uri.path() == BATCH_GET_TOKEN_BALANCE_PATH;
    let auth = verify_sigv4(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &body,
        &node.keys(),
        wall_clock_secs(),
    );
    if parts.uri.path() == BATCH_GET_TOKEN_BALANCE_PATH {
        node.record_call(&body, &parts.headers, auth.is_ok());
    }
    if let Err(failure) = auth {
        counters.refused_auth.fetch_add(1, Ordering::Relaxed);
        return failure.answer().into_response(&request_id, false);
    }
    if !is_call {
        counters.other.fetch_add(1, Ordering::Relaxed);
        return Answer::message_error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            &format!("No operation matches {} {}", parts.method, parts.uri.path()),
        )
        .into_response(&request_id, false);
    }
    counters.calls.fetch_add(1, Ordering::Relaxed);
    counters
        .items
        .fetch_add(item_count(&body), Ordering::Relaxed);

    let decision = node.faults().decide();
    let handled = super::faults::delayed(decision.delay, &st.cancel, || match decision.action {
        Some(FaultAction::Throttle { retry_after_secs }) => Answer::throttled(retry_after_secs),
        Some(FaultAction::Fail { status }) => {
            Answer::injected_failure(status, node.faults().retry_after_secs())
        }
        Some(FaultAction::Drop) | None => node.answer_batch(&body, decision.lag),
    });
    let Some(answer) = handled.await else {
        return Answer::message_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailableException",
            "The devnet is shutting down",
        )
        .into_response(&request_id, false);
    };
    answer.into_response(&request_id, decision.action == Some(FaultAction::Drop))
}

/// The axum router answering for `node`.
pub(crate) fn router(node: AmbNode, cancel: CancellationToken) -> Router {
    Router::new()
        .fallback(handle)
        .with_state(ServerState { node, cancel })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates_round_trip() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(
            parse_amz_date("20260101T000000Z"),
            Some(DEMO_AMB_START_SECS)
        );
        assert_eq!(parse_amz_date("20240229T235959Z"), Some(1_709_251_199));
        for secs in [0, DEMO_AMB_START_SECS, 1_709_251_199, 4_102_444_800] {
            assert_eq!(parse_amz_date(&format_amz_date(secs)), Some(secs));
        }
        for bad in [
            "",
            "20260101T000000",
            "2026-01-01T00:00:00Z",
            "20261301T000000Z",
            "2026010aT000000Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let node = AmbNode::new(1);
        node.add_access_key("AKIDOTHER", "very-secret");
        let text = format!("{node:?}");
        assert!(text.contains("AKIDOTHER") && text.contains(TEST_ACCESS_KEY_ID));
        assert!(!text.contains("very-secret") && !text.contains(TEST_SECRET_ACCESS_KEY));
    }

    #[test]
    fn demo_data_is_valid() {
        let node = AmbNode::new(1);
        node.seed_demo_data();
        let l = node.lock();
        assert_eq!(l.balances.values().map(Vec::len).sum::<usize>(), 13);
        assert_eq!(l.contracts.len(), 3);
    }

    #[test]
    fn identities_follow_the_rules() {
        let eth = Net::EthereumMainnet;
        let owner = DEMO_ETH_OWNER;
        let ok = |c: Option<&str>, t: Option<&str>| check_identity(eth, owner, c, t);
        assert_eq!(
            ok(None, Some("ETH")).unwrap().token_id.as_deref(),
            Some("eth")
        );
        assert!(ok(Some(DEMO_ERC20_CONTRACT), None)
            .unwrap()
            .token_id
            .is_none());
        assert_eq!(
            ok(
                Some(DEMO_ERC721_CONTRACT),
                Some(&DEMO_ERC721_TOKEN_ID.to_uppercase())
            )
            .unwrap()
            .token_id
            .as_deref(),
            Some(DEMO_ERC721_TOKEN_ID)
        );
        let code = |r: Result<BalanceKey, ItemError>| r.unwrap_err().code;
        assert_eq!(code(ok(None, Some("btc"))), "InvalidTokenId");
        assert_eq!(code(ok(None, None)), "InvalidTokenId");
        assert_eq!(
            code(ok(Some(DEMO_ERC20_CONTRACT), Some("eth"))),
            "InvalidTokenId"
        );
        assert_eq!(code(ok(Some("0x12"), None)), "InvalidContractAddress");
        assert_eq!(
            code(check_identity(eth, NULL_ETH_ADDRESS, None, Some("eth"))),
            "InvalidOwnerAddress"
        );
        assert_eq!(
            code(check_identity(
                eth,
                "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
                None,
                Some("eth")
            )),
            "InvalidOwnerAddress"
        );
        let btc = Net::BitcoinMainnet;
        let key = check_identity(btc, &DEMO_BTC_ADDRESS.to_uppercase(), None, Some("btc")).unwrap();
        assert_eq!(key.owner, DEMO_BTC_ADDRESS);
        let base58 = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2";
        assert_eq!(
            check_identity(btc, base58, None, Some("btc"))
                .unwrap()
                .owner,
            base58
        );
        assert_eq!(
            code(check_identity(
                btc,
                DEMO_BTC_ADDRESS,
                Some(DEMO_ERC20_CONTRACT),
                Some("btc")
            )),
            "InvalidContractAddress"
        );
        assert_eq!(
            code(check_identity(btc, "short", None, Some("btc"))),
            "InvalidOwnerAddress"
        );
        assert_eq!(
            code(check_identity(btc, DEMO_BTC_ADDRESS, None, Some("bt_c"))),
            "InvalidTokenId"
        );
    }

    #[test]
    fn balances_parse_strictly() {
        assert_eq!(parse_balance("0").unwrap(), U256::ZERO);
        assert_eq!(parse_balance(&U256::MAX.to_string()).unwrap(), U256::MAX);
        for bad in [
            "",
            "-1",
            "0x10",
            "1_000",
            "1.5",
            " 1",
            "115792089237316195423570985008687907853269984665640564039457584007913129639936",
        ] {
            assert!(parse_balance(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn whole_call_validation() {
        let reason = |body: &str| match parse_request(body.as_bytes()) {
            Err(CallError::Validation { reason, fields, .. }) => (reason, fields),
            Ok(_) => ("ok", Vec::new()),
        };
        assert_eq!(reason("not json").0, "cannotParse");
        assert_eq!(reason("[]").0, "cannotParse");
        let (r, f) = reason("{}");
        assert_eq!(
            (r, f[0].0.as_str()),
            ("fieldValidationFailed", "getTokenBalanceInputs")
        );
        assert_eq!(reason("").0, "fieldValidationFailed");
        assert_eq!(
            reason(r#"{"getTokenBalanceInputs": []}"#).0,
            "fieldValidationFailed"
        );
        let item = r#"{"tokenIdentifier":{"network":"SOLANA"},"ownerIdentifier":{"address":"x"}}"#;
        let (r, f) = reason(&format!(r#"{{"getTokenBalanceInputs": [{item}]}}"#));
        assert_eq!(r, "fieldValidationFailed");
        assert_eq!(
            f[0].0,
            "getTokenBalanceInputs.1.member.tokenIdentifier.network"
        );
        let item =
            r#"{"tokenIdentifier":{"network":"BITCOIN_MAINNET"},"ownerIdentifier":{"address":7}}"#;
        assert_eq!(
            reason(&format!(r#"{{"getTokenBalanceInputs": [{item}]}}"#)).0,
            "cannotParse"
        );
        let item = r#"{"tokenIdentifier":{"network":"BITCOIN_MAINNET"},"ownerIdentifier":{"address":"a"},"atBlockchainInstant":{"time":1.9}}"#;
        let items =
            parse_request(format!(r#"{{"getTokenBalanceInputs": [{item}]}}"#).as_bytes()).unwrap();
        assert_eq!(items[0].at, Some(1));
    }
}
