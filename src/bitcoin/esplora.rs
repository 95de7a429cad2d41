//! [`EsploraClient`]: the calls tokbal makes to an Esplora HTTP API, each retried and paced
//! by the shared policy, every failure mapped to an [`Error`] kind.
//!
//! The JSON endpoints go through the client generated from `specs/esplora.yaml`. The three
//! endpoints that answer `text/plain` (`GET /blocks/tip/height`, `GET /blocks/tip/hash`,
//! `GET /block-height/{height}`) are called by hand here, through [`EsploraClient::get_text`]:
//! progenitor types a `text/plain` answer as an undecoded byte stream, so a generated method
//! would return neither a height nor a hash, would read the body without a limit, and would
//! leave the parsing (and the trailing newline some servers add) to hand-written code
//! anyway. Three short GETs are clearer written out than generated and then unwrapped.

use reqwest::header::{HeaderValue, ACCEPT};

use super::errors::{self, esplora_error, map_error, Subject};
use super::generated::{self, types};
use super::hooks::MAX_ERROR_BODY;
use crate::error::{Error, ErrorKind};
use crate::retry::{RateLimit, RetryPolicy};
use crate::transport::{read_limited, Transport};
use progenitor_client::ClientInfo;

/// Largest body read from the three text/plain endpoints: a height is at most 20 digits and
/// a hash 64, so anything near this is not an answer.
pub const MAX_TEXT_BODY: usize = 1024;

/// A block, as `GET /block/{hash}` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Block {
    /// Block hash, 64 lower-case hex digits.
    pub hash: String,
    /// Height, from 0 (the genesis block).
    pub height: u64,
    /// Header time, seconds since the Unix epoch. Miners may set it hours off, and it can
    /// go backwards from one block to the next.
    pub timestamp: u64,
    /// Median header time of the 11 blocks ending with this one, seconds since the Unix
    /// epoch: it never decreases along the chain, so it is the time to search by.
    pub median_time: u64,
    /// The parent's hash; `None` for the genesis block.
    pub previous_hash: Option<String>,
    /// Transactions in the block.
    pub tx_count: u64,
}

/// What the confirmed transactions of an address add up to (Esplora's `chain_stats`; the
/// mempool is left out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AddressStats {
    /// Satoshis paid to the address, in all.
    pub funded_txo_sum: u64,
    /// Satoshis spent from the address, in all.
    pub spent_txo_sum: u64,
    /// Confirmed transactions touching the address.
    pub tx_count: u64,
}

impl AddressStats {
    /// The confirmed balance in satoshis, `funded_txo_sum - spent_txo_sum`; `None` when the
    /// server claims more was spent than received.
    pub fn balance(&self) -> Option<u64> {
        self.funded_txo_sum.checked_sub(self.spent_txo_sum)
    }
}

/// One confirmed transaction of an address, reduced to what a balance needs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AddressTx {
    /// Transaction id, 64 lower-case hex digits.
    pub txid: String,
    /// Height of the confirming block; `None` if the server lists it as unconfirmed.
    pub height: Option<u64>,
    /// What the transaction did to the address's balance, in satoshis: the outputs paying
    /// it minus the outputs of it that the inputs spend.
    pub net: i128,
}

/// A client for one Esplora HTTP API (Blockstream's electrs, mempool.space's, or any
/// compatible server), e.g. `https://blockstream.info/api`.
///
/// Every call waits for the rate limit, is retried under the transport's policy when a
/// retry can help (throttling, 5xx, timeouts, broken connections, a block not mined yet),
/// and maps every failure to an [`Error`] kind. Inputs are checked before anything is sent.
///
/// ```no_run
/// # async fn run() -> Result<(), tokbal::Error> {
/// use tokbal::bitcoin::EsploraClient;
/// use tokbal::retry::RateLimit;
/// use tokbal::Transport;
/// let esplora = EsploraClient::new(
///     "https://blockstream.info/api",
///     &Transport::default(),
///     RateLimit::per_second(5),
/// )?;
/// let tip = esplora.tip_height().await?;
/// let stats = esplora.address_stats("bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh").await?;
/// println!("{:?} sat at height {tip}", stats.balance());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct EsploraClient {
    client: generated::Client,
    endpoint: String,
    retry: RetryPolicy,
    limit: RateLimit,
}

/// Shows the endpoint's scheme, host and port only: some providers put a key in the path.
impl std::fmt::Debug for EsploraClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsploraClient")
            .field("endpoint", &crate::endpoint::shown(&self.endpoint))
            .field("retry", &self.retry)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl EsploraClient {
    /// A client for the Esplora API at `endpoint` (the base URL, before `/blocks`), sending
    /// under `transport`'s timeout and retry policy and pacing every request by `limit`
    /// (shared with whatever else holds a clone of it). Fails only on an endpoint that is
    /// not an http(s) URL without query, fragment or credentials, or that is plain http to a
    /// host other than loopback without `transport.allow_insecure_http` (field `endpoint`).
    pub fn new(endpoint: &str, transport: &Transport, limit: RateLimit) -> Result<Self, Error> {
        let http = transport.http_client(reqwest::header::HeaderMap::new())?;
        Self::with_http(endpoint, transport, limit, http)
    }

    /// [`new`](Self::new), sending through `http` (one HTTP client, and its connections,
    /// shared by every endpoint a client builder sets up alike).
    pub(crate) fn with_http(
        endpoint: &str,
        transport: &Transport,
        limit: RateLimit,
        http: reqwest::Client,
    ) -> Result<Self, Error> {
        let endpoint = crate::endpoint::check("endpoint", endpoint, transport.allow_insecure_http)?;
        Ok(EsploraClient {
            client: generated::Client::new_with_client(&endpoint, http),
            endpoint,
            retry: transport.retry.clone(),
            limit,
        })
    }

    /// The base URL requests go to, without a trailing slash.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The height of the server's best block.
    pub async fn tip_height(&self) -> Result<u64, Error> {
        self.retry
            .run(&self.limit, || async {
                let text = self
                    .get_text("/blocks/tip/height", Subject::TipHeight)
                    .await?;
                parse_height(&text, Subject::TipHeight)
            })
            .await
    }

    /// The hash of the server's best block, lower case.
    pub async fn tip_hash(&self) -> Result<String, Error> {
        self.retry
            .run(&self.limit, || async {
                let text = self.get_text("/blocks/tip/hash", Subject::TipHash).await?;
                parse_hash(&text, Subject::TipHash)
            })
            .await
    }

    /// The hash of the block at `height` on the server's best chain, lower case. A height
    /// past the server's tip is [`ErrorKind::NotYetAvailable`] (retried under the policy, as
    /// the block may come).
    pub async fn block_hash_at(&self, height: u64) -> Result<String, Error> {
        let subject = Subject::HashAtHeight(height);
        self.retry
            .run(&self.limit, || async {
                let text = self
                    .get_text(&format!("/block-height/{height}"), subject)
                    .await?;
                parse_hash(&text, subject)
            })
            .await
    }

    /// The block with hash `hash` (64 hex digits). A hash the server does not know is
    /// [`ErrorKind::NotFound`]; an answer about another block is [`ErrorKind::Decode`].
    pub async fn block(&self, hash: &str) -> Result<Block, Error> {
        let hash = check_hash("block_hash", hash)?;
        let subject = Subject::Block(&hash);
        self.retry
            .run(&self.limit, || async {
                let b = match self.client.get_block(&hash).await {
                    Ok(r) => r.into_inner(),
                    Err(e) => return Err(map_error(e, subject).await),
                };
                let block = reduce_block(b, subject)?;
                if block.hash != hash {
                    return Err(esplora_error(
                        ErrorKind::Decode,
                        format!(
                            "{}: the server answered with block {}",
                            subject.describe(),
                            block.hash
                        ),
                    ));
                }
                Ok(block)
            })
            .await
    }

    /// Consecutive blocks, newest first: from `start_height` down (from the tip when
    /// `None`), ten on Esplora (fewer near the genesis block), each with its header time and
    /// median time past, in one request. A height past the server's tip is
    /// [`ErrorKind::NotYetAvailable`] (retried under the policy, as the block may come). An
    /// answer that is empty, does not start at `start_height`, or whose blocks do not follow
    /// one another (heights, parent hashes) is [`ErrorKind::Decode`].
    pub async fn blocks(&self, start_height: Option<u64>) -> Result<Vec<Block>, Error> {
        let subject = Subject::Blocks(start_height);
        self.retry
            .run(&self.limit, || async {
                let answer = match start_height {
                    None => self.client.get_blocks().await,
                    Some(h) => self.client.get_blocks_from(h).await,
                };
                let list = match answer {
                    Ok(r) => r.into_inner().0,
                    Err(e) => return Err(map_error(e, subject).await),
                };
                let blocks = list
                    .into_iter()
                    .map(|b| reduce_block(b, subject))
                    .collect::<Result<Vec<Block>, Error>>()?;
                check_consecutive(&blocks, start_height, subject)?;
                Ok(blocks)
            })
            .await
    }

    /// What the confirmed transactions of `address` add up to. An address the server
    /// refuses (another network's, a bad checksum) is [`ErrorKind::InvalidInput`] naming it;
    /// one never used reads as zeros.
    pub async fn address_stats(&self, address: &str) -> Result<AddressStats, Error> {
        check_address(address)?;
        let subject = Subject::AddressStats(address);
        self.retry
            .run(&self.limit, || async {
                match self.client.get_address(address).await {
                    Ok(r) => {
                        let s = r.into_inner().chain_stats;
                        Ok(AddressStats {
                            funded_txo_sum: s.funded_txo_sum,
                            spent_txo_sum: s.spent_txo_sum,
                            tx_count: s.tx_count,
                        })
                    }
                    Err(e) => Err(map_error(e, subject).await),
                }
            })
            .await
    }

    /// One page (25 at most on Esplora) of the confirmed transactions of `address`, newest
    /// first: the newest page when `last_seen` is `None`, else the page after the
    /// transaction `last_seen` (the last txid of the previous page). An empty page is the
    /// end. Each transaction comes with its net effect on `address`.
    ///
    /// `last_seen` must be 64 hex digits: Esplora answers the first page again for one it
    /// cannot parse, which would make a paging loop run forever.
    pub async fn address_txs_chain(
        &self,
        address: &str,
        last_seen: Option<&str>,
    ) -> Result<Vec<AddressTx>, Error> {
        check_address(address)?;
        let last_seen = last_seen.map(|t| check_hash("last_seen", t)).transpose()?;
        let subject = Subject::AddressTxs(address);
        self.retry
            .run(&self.limit, || async {
                let page = match &last_seen {
                    None => self.client.get_address_txs_chain(address).await,
                    Some(txid) => self.client.get_address_txs_chain_after(address, txid).await,
                };
                let page = match page {
                    Ok(r) => r.into_inner().0,
                    Err(e) => return Err(map_error(e, subject).await),
                };
                page.iter().map(|tx| reduce(tx, address, subject)).collect()
            })
            .await
    }

    /// One GET of a text/plain endpoint, hand-written because the generator would hand the
    /// body back as an undecoded stream (see the module documentation). The answer's text,
    /// trimmed of surrounding whitespace (servers differ on a trailing newline).
    async fn get_text(&self, path: &str, subject: Subject<'_>) -> Result<String, Error> {
        let url = format!("{}{path}", self.client.baseurl());
        let response = self
            .client
            .client()
            .get(url)
            .header(ACCEPT, HeaderValue::from_static("text/plain"))
            .send()
            .await
            .map_err(|e| errors::transport(e, subject))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let headers = response.headers().clone();
            let body = read_limited(response, MAX_ERROR_BODY)
                .await
                .map_err(|e| errors::transport(e, subject))?;
            return Err(errors::from_status(subject, status, &headers, &body));
        }
        let oversize = || {
            esplora_error(
                ErrorKind::Decode,
                format!(
                    "{}: the answer is over the {MAX_TEXT_BODY}-byte limit",
                    subject.describe()
                ),
            )
            .with_status(status)
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_TEXT_BODY as u64)
        {
            return Err(oversize());
        }
        let body = read_limited(response, MAX_TEXT_BODY + 1)
            .await
            .map_err(|e| errors::transport(e, subject))?;
        if body.len() > MAX_TEXT_BODY {
            return Err(oversize());
        }
        match std::str::from_utf8(&body) {
            Ok(text) => Ok(text.trim().to_string()),
            Err(_) => Err(esplora_error(
                ErrorKind::Decode,
                format!(
                    "{}: the answer is not text: {}",
                    subject.describe(),
                    crate::transport::excerpt(&body)
                ),
            )
            .with_status(status)),
        }
    }
}

/// A block of an answer, its hashes checked and lower-cased.
fn reduce_block(b: types::Block, subject: Subject<'_>) -> Result<Block, Error> {
    Ok(Block {
        hash: parse_hash(&b.id, subject)?,
        height: b.height,
        timestamp: b.timestamp,
        median_time: b.mediantime,
        previous_hash: b
            .previousblockhash
            .map(|p| parse_hash(&p, subject))
            .transpose()?,
        tx_count: b.tx_count,
    })
}

/// Checks that `blocks` is a run of consecutive blocks, newest first, starting at `start`
/// when one was asked for: each block's parent is the next one listed.
fn check_consecutive(
    blocks: &[Block],
    start: Option<u64>,
    subject: Subject<'_>,
) -> Result<(), Error> {
    let bad =
        |why: String| esplora_error(ErrorKind::Decode, format!("{}: {why}", subject.describe()));
    let Some(first) = blocks.first() else {
        return Err(bad("the answer lists no block".into()));
    };
    if let Some(start) = start {
        if first.height != start {
            return Err(bad(format!(
                "the answer starts at height {}, not {start}",
                first.height
            )));
        }
    }
    for pair in blocks.windows(2) {
        let [newer, older] = pair else { continue };
        if older.height.checked_add(1) != Some(newer.height)
            || newer.previous_hash.as_deref() != Some(older.hash.as_str())
        {
            return Err(bad(format!(
                "block {} at height {} does not follow block {} at height {}",
                newer.hash, newer.height, older.hash, older.height
            )));
        }
    }
    Ok(())
}

/// A block height as the tip endpoint writes it: decimal digits only, within u64.
fn parse_height(text: &str, subject: Subject<'_>) -> Result<u64, Error> {
    let bad = |why: &str| {
        esplora_error(
            ErrorKind::Decode,
            format!(
                "{}: the answer {} is not a block height ({why})",
                subject.describe(),
                crate::error::quote(text)
            ),
        )
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("decimal digits expected"));
    }
    text.parse()
        .map_err(|_| bad("larger than the largest 64-bit integer"))
}

/// A block hash or txid in an answer: 64 hex digits, returned in lower case.
fn parse_hash(text: &str, subject: Subject<'_>) -> Result<String, Error> {
    if is_hash(text) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(esplora_error(
            ErrorKind::Decode,
            format!(
                "{}: {} in the answer is not a hash (64 hex digits)",
                subject.describe(),
                crate::error::quote(text)
            ),
        ))
    }
}

fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A hash given as input: 64 hex digits, returned in lower case; nothing is sent otherwise.
fn check_hash(field: &'static str, value: &str) -> Result<String, Error> {
    if is_hash(value) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(Error::invalid_input(
            field,
            value,
            "a hash is 64 hex digits",
        ))
    }
}

/// The shape every Bitcoin address has: 1 to 100 ASCII letters and digits (base58 and
/// bech32 both). Whether it is valid for the network is the server's call (400); this only
/// keeps anything else (`/`, `..`, `?`, spaces) out of the request path.
fn check_address(address: &str) -> Result<(), Error> {
    if address.is_empty()
        || address.len() > 100
        || !address.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(Error::invalid_input(
            "address",
            address,
            "a Bitcoin address is 1 to 100 ASCII letters and digits",
        ));
    }
    Ok(())
}

/// Whether `candidate`, an address the server wrote, is `address`. Bech32 addresses are
/// compared without regard to case (they are case-insensitive); base58 ones exactly.
fn same_address(candidate: &str, address: &str) -> bool {
    let bech32 = |s: &str| {
        let l = s.get(..5).unwrap_or(s).to_ascii_lowercase();
        l.starts_with("bc1") || l.starts_with("tb1") || l.starts_with("bcrt1")
    };
    if bech32(address) {
        candidate.eq_ignore_ascii_case(address)
    } else {
        candidate == address
    }
}

/// What `tx` did to the balance of `address`, in satoshis: the outputs paying it minus the
/// outputs of it its inputs spend. An input other than the coinbase without its prevout
/// cannot be told apart, so it is an error rather than a guess.
pub(crate) fn net_effect(tx: &types::Transaction, address: &str) -> Result<i128, String> {
    let received: i128 = tx
        .vout
        .iter()
        .filter(|o| {
            o.scriptpubkey_address
                .as_deref()
                .is_some_and(|a| same_address(a, address))
        })
        .map(|o| i128::from(o.value))
        .sum();
    let mut spent: i128 = 0;
    for (i, input) in tx.vin.iter().enumerate() {
        match &input.prevout {
            Some(prevout) => {
                if prevout
                    .scriptpubkey_address
                    .as_deref()
                    .is_some_and(|a| same_address(a, address))
                {
                    spent += i128::from(prevout.value);
                }
            }
            None if input.is_coinbase => {}
            None => return Err(format!("input {i} has no prevout")),
        }
    }
    Ok(received - spent)
}

/// A transaction of a page reduced to its txid, height and net effect on `address`.
fn reduce(
    tx: &types::Transaction,
    address: &str,
    subject: Subject<'_>,
) -> Result<AddressTx, Error> {
    let txid = parse_hash(&tx.txid, subject)?;
    let bad = |why: String| {
        esplora_error(
            ErrorKind::Decode,
            format!("{}: transaction {txid}: {why}", subject.describe()),
        )
    };
    let height = match (tx.status.confirmed, tx.status.block_height) {
        (true, Some(h)) => Some(h),
        (true, None) => return Err(bad("confirmed, but without a block height".into())),
        (false, _) => None,
    };
    let net = net_effect(tx, address).map_err(bad)?;
    Ok(AddressTx { txid, height, net })
}
