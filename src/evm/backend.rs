//! [`EvmBackend`]: one EVM network's JSON-RPC endpoint: its chain id checked once, blocks,
//! pins, and reads of many queries at one pinned block.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy_primitives::{Address, Bytes, U256};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use super::calls::{
    aggregate3, aggregate3_results, assemble_metadata, Answer, Call, MetaField, Want,
};
use super::early::EarlyCall;
use super::rpc::{evm_error, is_batch_refusal, map_rpc_error, EthCallRequest, Rpc, RpcError};
use super::url::RpcUrl;
use super::{
    ANONYMOUS_PUBLIC_RATE_LIMIT, CALL_GAS_LIMIT, DEFAULT_BATCH_SIZE, DEFAULT_CALLS_PER_REQUEST,
    MULTICALL3,
};
use crate::amount::Amount;
use crate::balance::Balance;
use crate::batch::{Gate, Permit};
use crate::error::{Error, ErrorKind};
use crate::metadata::Asset;
use crate::pin::{At, BlockSnapshot};
use crate::query::{Network, Query};
use crate::retry::RateLimit;
use crate::source::Answers;
use crate::timesearch::{last_at_or_before, BlockCache, Point};
use crate::transport::Transport;

/// How to reach one EVM network's JSON-RPC node.
///
/// ```
/// use tokbal::evm::EvmConfig;
/// let config = EvmConfig::new("https://mainnet.base.org").with_calls_per_request(200);
/// assert_eq!(config.calls_per_request(), 200);
/// ```
#[derive(Clone, Debug)]
pub struct EvmConfig {
    url: RpcUrl,
    transport: Transport,
    calls_per_request: usize,
    batch_size: usize,
}

impl EvmConfig {
    /// A JSON-RPC endpoint (the whole URL is treated as a secret).
    pub fn new(url: impl Into<String>) -> Self {
        EvmConfig {
            url: RpcUrl::new(url),
            transport: Transport::default(),
            calls_per_request: DEFAULT_CALLS_PER_REQUEST,
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }

    /// The network's default public endpoint, if it has one.
    pub fn for_network(network: Network) -> Option<Self> {
        network.evm_chain().map(|c| EvmConfig::new(c.default_rpc))
    }

    /// Timeout, retries, pacing and the plain-http switch.
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Calls per `eth_call` to Multicall3 (at least 1; default
    /// [`DEFAULT_CALLS_PER_REQUEST`](super::DEFAULT_CALLS_PER_REQUEST)).
    pub fn with_calls_per_request(mut self, k: usize) -> Self {
        self.calls_per_request = k.max(1);
        self
    }

    /// Calls per JSON-RPC batch where Multicall3 is absent (at least 1; default
    /// [`DEFAULT_BATCH_SIZE`](super::DEFAULT_BATCH_SIZE)).
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// Calls per `eth_call` to Multicall3.
    pub fn calls_per_request(&self) -> usize {
        self.calls_per_request
    }

    /// The rate limit in force: the one set, or a conservative one for a chain's default
    /// public endpoint.
    fn effective_rate_limit(&self) -> RateLimit {
        if let Some(limit) = &self.transport.rate_limit {
            return limit.clone();
        }
        let public = crate::query::EVM_CHAINS
            .iter()
            .any(|c| c.default_rpc == self.url.expose());
        if public {
            RateLimit::per_second(ANONYMOUS_PUBLIC_RATE_LIMIT)
        } else {
            RateLimit::unlimited()
        }
    }
}

/// A client for one EVM network's JSON-RPC node.
#[derive(Debug)]
pub struct EvmBackend {
    network: Network,
    chain_id: u64,
    rpc: Rpc,
    calls_per_request: usize,
    batch_size: AtomicUsize,
    /// The chain id the endpoint reported, once it answered (a failure to ask is not kept).
    chain_seen: OnceCell<u64>,
    /// Whether the node takes the EIP-1898 `{"blockHash": ...}` form (until it says no).
    by_hash: AtomicBool,
    /// Whether Multicall3 has code, per pinned block hash.
    multicall: Mutex<HashMap<[u8; 32], bool>>,
    /// Whether Multicall3 has answered at any block yet (its requests may then be sent
    /// before a block is known, on a network not in the table of named chains too).
    multicall_seen: AtomicBool,
    /// Blocks learned by time searches (height -> time, hash).
    blocks: BlockCache<[u8; 32]>,
}

impl EvmBackend {
    /// A client for `network` at the endpoint `config` gives. Fails on a malformed URL (the
    /// error shows its scheme and host only) or on a network that is not an EVM chain.
    pub fn new(network: Network, config: EvmConfig) -> Result<Self, Error> {
        Self::with_http(network, config, None)
    }

    /// [`new`](Self::new), sending through `http` when given (one HTTP client, and its
    /// connections, shared by every endpoint a client builder sets up alike).
    pub(crate) fn with_http(
        network: Network,
        config: EvmConfig,
        http: Option<reqwest::Client>,
    ) -> Result<Self, Error> {
        let chain_id = network.evm_chain_id().ok_or_else(|| {
            Error::invalid_input("network", &network.name(), "not an EVM network")
        })?;
        crate::endpoint::check_rpc(
            "endpoint",
            &config.url,
            config.transport.allow_insecure_http,
        )?;
        let limit = config.effective_rate_limit();
        Ok(EvmBackend {
            network,
            chain_id,
            rpc: Rpc::new(config.url, &config.transport, limit, http)?,
            calls_per_request: config.calls_per_request,
            batch_size: AtomicUsize::new(config.batch_size),
            chain_seen: OnceCell::new(),
            by_hash: AtomicBool::new(true),
            multicall: Mutex::new(HashMap::new()),
            multicall_seen: AtomicBool::new(false),
            blocks: BlockCache::default(),
        })
    }

    /// HTTP requests sent to this endpoint so far, retries included.
    pub fn requests_sent(&self) -> u64 {
        self.rpc.requests_sent()
    }

    /// [`requests_sent`](Self::requests_sent) less the `eth_getLogs` requests.
    pub(crate) fn requests_besides_logs(&self) -> u64 {
        self.rpc.requests_besides_logs()
    }

    /// The JSON-RPC client.
    pub(super) fn rpc_ref(&self) -> &Rpc {
        &self.rpc
    }

    /// The endpoint, as it may be shown (scheme and host).
    pub fn url(&self) -> &RpcUrl {
        self.rpc.url()
    }

    /// Calls per `eth_call` to Multicall3.
    pub fn calls_per_request(&self) -> usize {
        self.calls_per_request
    }

    /// The chain id the endpoint reports (`eth_chainId`).
    pub async fn chain_id(&self) -> Result<u64, Error> {
        let v = self.rpc.call("eth_chainId", json!([])).await?;
        quantity_u64(&v, "eth_chainId")
    }

    /// Checks that the endpoint serves this network's chain. The chain id is asked once (a
    /// failure to ask is not remembered: the next batch asks again); a wrong one fails every
    /// query of the network, naming both ids.
    async fn check_chain(&self) -> Result<(), Error> {
        let got = *self.chain_seen.get_or_try_init(|| self.chain_id()).await?;
        if got == self.chain_id {
            Ok(())
        } else {
            Err(evm_error(
                ErrorKind::InvalidInput,
                format!(
                    "the endpoint given for {} ({}) serves chain id {got}, not {}: no balance \
                     is read from it",
                    self.network,
                    self.rpc.url(),
                    self.chain_id
                ),
            )
            .with_code("wrong_chain_id"))
        }
    }

    /// A block by tag (`latest`, `finalized`, ...) or number.
    pub async fn block(&self, which: BlockRef) -> Result<BlockSnapshot, Error> {
        let v = self
            .rpc
            .call("eth_getBlockByNumber", json!([block_tag(which), false]))
            .await?;
        self.block_answer(which, &v)
    }

    /// [`block`](Self::block) after the chain id check; the first time, both go in one
    /// JSON-RPC batch, so pinning costs one request and one round trip (two, in parallel,
    /// where the node refuses batches).
    async fn block_checked(&self, which: BlockRef) -> Result<BlockSnapshot, Error> {
        if self.chain_seen.get().is_some() {
            self.check_chain().await?;
            return self.block(which).await;
        }
        let calls = [
            ("eth_chainId", json!([])),
            ("eth_getBlockByNumber", json!([block_tag(which), false])),
        ];
        match self.rpc.batch(&calls).await {
            Ok(answers) => {
                let mut answers = answers.into_iter();
                let (Some(id), Some(block)) = (answers.next(), answers.next()) else {
                    return Err(evm_error(
                        ErrorKind::Decode,
                        "a batch answer left calls out",
                    ));
                };
                let id = id.map_err(|e| map_rpc_error("eth_chainId", &e))?;
                let _ = self.chain_seen.set(quantity_u64(&id, "eth_chainId")?);
                self.check_chain().await?;
                let block = block.map_err(|e| map_rpc_error("eth_getBlockByNumber", &e))?;
                self.block_answer(which, &block)
            }
            Err(e) if is_batch_refusal(&e) => {
                let (checked, block) = futures::join!(self.check_chain(), self.block(which));
                checked?;
                block
            }
            Err(e) => Err(e),
        }
    }

    fn block_answer(&self, which: BlockRef, v: &Value) -> Result<BlockSnapshot, Error> {
        if v.is_null() {
            return Err(evm_error(
                ErrorKind::NotYetAvailable,
                format!("{}: the node has no block {which:?} yet", self.network),
            ));
        }
        block_of(v)
    }

    /// The block every read of a batch carries, for `at`.
    pub(crate) async fn pin(&self, at: &At) -> Result<BlockSnapshot, Error> {
        match *at {
            At::Snapshot(ref given) => match given.get(self.network) {
                // The block a snapshot names is read by its hash, as it was then.
                Some(entry) => match (entry.block, &entry.block_hash, entry.block_time) {
                    (Some(number), Some(hash), Some(time)) => {
                        self.check_chain().await?;
                        let mut b = BlockSnapshot::new(number, hash.clone(), time);
                        b.at = entry.at;
                        b.at_tip = entry.at_tip;
                        b.finalized = entry.finalized;
                        Ok(b)
                    }
                    _ => Err(evm_error(
                        ErrorKind::InvalidInput,
                        format!(
                            "the snapshot's entry for {} has no block, block_hash and block_time",
                            self.network
                        ),
                    )),
                },
                None => self.block_checked(BlockRef::Latest).await,
            },
            At::Blocks(ref chosen) => match chosen.get(&self.network) {
                Some(&n) => self.block_checked(BlockRef::Number(n)).await,
                None => self.block_checked(BlockRef::Latest).await,
            },
            At::Latest | At::AptosVersion(_) => self.block_checked(BlockRef::Latest).await,
            At::Finalized => {
                let mut b = self.block_checked(BlockRef::Finalized).await?;
                b.finalized = true;
                Ok(b)
            }
            At::Time(t) => self.block_at_time(t).await,
        }
    }

    /// The block [`pin`](Self::pin) settles on for `at`, named as the node resolves it itself
    /// (a tag or a number), for a request sent before the pin is known; and whether it is
    /// that very block (`false` for a time, whose block is at or before the tip named).
    pub(crate) fn pin_ahead(&self, at: &At) -> (BlockRef, bool) {
        match at {
            At::Snapshot(given) => match given.get(self.network).and_then(|entry| entry.block) {
                Some(n) => (BlockRef::Number(n), true),
                None => (BlockRef::Latest, true),
            },
            At::Blocks(chosen) => match chosen.get(&self.network) {
                Some(&n) => (BlockRef::Number(n), true),
                None => (BlockRef::Latest, true),
            },
            At::Latest | At::AptosVersion(_) => (BlockRef::Latest, true),
            At::Finalized => (BlockRef::Finalized, true),
            At::Time(_) => (BlockRef::Latest, false),
        }
    }

    /// The last block with a timestamp at or before `t`; the tip (marked so) when `t` is past
    /// it; an error before the first block.
    async fn block_at_time(&self, t: SystemTime) -> Result<BlockSnapshot, Error> {
        let when = crate::time::format_rfc3339(t);
        let target = t
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::invalid_input("at", &when, "before 1970-01-01T00:00:00Z"))?
            .as_secs();
        let tip = self.block_checked(BlockRef::Latest).await?;
        if target >= secs(tip.time) {
            let mut b = tip;
            b.at = Some(t);
            b.at_tip = true;
            return Ok(b);
        }
        let lo = self.block_point(0).await?;
        if lo.time > target {
            return Err(evm_error(
                ErrorKind::InvalidInput,
                format!("{when} is before {}'s first block", self.network),
            ));
        }
        let hi = Point {
            height: tip.number + 1,
            time: secs(tip.time).saturating_add(1),
            data: [0; 32],
        };
        let found =
            last_at_or_before(target, lo, hi, &self.blocks, |h| self.block_point(h)).await?;
        let mut b = BlockSnapshot::new(
            found.height,
            hex(&found.data),
            UNIX_EPOCH + Duration::from_secs(found.time),
        );
        b.at = Some(t);
        Ok(b)
    }

    async fn block_point(&self, height: u64) -> Result<Point<[u8; 32]>, Error> {
        if let Some(p) = self.blocks.get(height) {
            return Ok(p);
        }
        let b = self.block(BlockRef::Number(height)).await?;
        let p = Point {
            height: b.number,
            time: secs(b.time),
            data: hash_bytes(&b.hash)?,
        };
        self.blocks.insert(p);
        Ok(p)
    }

    /// The block parameter every read of `pin` carries: its hash (EIP-1898), or its number
    /// where the node does not take the object form.
    fn block_param(&self, pin: &BlockSnapshot) -> Value {
        if self.by_hash.load(Ordering::Relaxed) {
            json!({"blockHash": pin.hash, "requireCanonical": true})
        } else {
            json!(quantity(pin.number))
        }
    }

    /// What reading `queries`, and the metadata of `assets`, takes before a block is chosen:
    /// each query's call (or why it has none), each asset's metadata calls after them, and
    /// the Multicall3 request for every call, written but for its block.
    pub(crate) fn prepare<'g>(&self, queries: &[Query], assets: &[Asset]) -> Prepared<'g> {
        let mut results: Vec<Option<Result<Balance, Error>>> = Vec::with_capacity(queries.len());
        let mut calls = Vec::with_capacity(queries.len());
        let mut positions = Vec::with_capacity(queries.len());
        for (i, q) in queries.iter().enumerate() {
            match Call::for_query(q) {
                Ok(c) => {
                    calls.push(c);
                    positions.push(i);
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        // Metadata calls go after every balance call: whatever one of them does with its
        // gas, the balances have been read by then.
        let mut meta = Vec::new();
        for (a, asset) in assets.iter().enumerate() {
            for call in Call::for_metadata(asset) {
                if let Want::Meta(field) = call.want {
                    meta.push((a, field));
                }
                calls.push(call);
            }
        }
        if !meta.is_empty() {
            calls.push(Call::canary());
        }
        let multicall =
            (!calls.is_empty()).then(|| Multicall::Ready(multicall_request(&mut calls)));
        Prepared {
            results,
            calls,
            positions,
            meta,
            multicall,
        }
    }

    /// Whether a group's request may go out before the pin for `at` is back: only for a pin
    /// that takes one round trip (the latest or finalized block), blocks named by hash
    /// (whose parameter has one length), and where Multicall3 is sure to answer (a named
    /// chain, or one where it has answered before), so that no request is sent in vain.
    pub(crate) fn may_start_early(&self, at: &At) -> bool {
        matches!(at, At::Latest | At::Finalized | At::AptosVersion(_))
            && self.by_hash.load(Ordering::Relaxed)
            && (!matches!(self.network, Network::Evm(_))
                || self.multicall_seen.load(Ordering::Relaxed))
    }

    /// Sends the group's Multicall3 request now, under `permit`, all but its block parameter
    /// ([`may_start_early`](Self::may_start_early) tells when).
    pub(crate) fn start_early<'g>(&self, prepared: &mut Prepared<'g>, permit: Permit<'g>) {
        if let Some(Multicall::Ready(request)) = prepared.multicall.take() {
            let call = self.rpc.start_eth_call(request);
            prepared.multicall = Some(Multicall::Started(call, permit));
        }
    }

    /// Reads what [`prepare`](Self::prepare) made ready, at `pin`, each request let through
    /// by `gate`: one result per query and one per asset of `assets` (the ones given to
    /// `prepare`), in order.
    pub(crate) async fn read_prepared<'g>(
        &self,
        prepared: Prepared<'g>,
        assets: &[Asset],
        pin: &BlockSnapshot,
        gate: &'g Gate,
    ) -> Answers {
        let Prepared {
            mut results,
            mut calls,
            positions,
            meta,
            multicall,
        } = prepared;
        let mut answers = Vec::new();
        if let Some(request) = multicall {
            let by_hash = self.by_hash.load(Ordering::Relaxed);
            answers = self.read_calls(&calls, request, pin, gate).await;
            // A node that does not take a block hash: read by number, then make sure the
            // number still names the pinned block.
            if by_hash && !self.by_hash.load(Ordering::Relaxed) {
                let again = Multicall::Ready(multicall_request(&mut calls));
                answers = self.read_calls(&calls, again, pin, gate).await;
            }
            if !meta.is_empty() {
                self.isolate_metadata(&mut calls, positions.len(), &mut answers, pin, gate)
                    .await;
            }
            if !self.by_hash.load(Ordering::Relaxed) {
                let _permit = gate.enter().await;
                if let Err(e) = self.check_still_canonical(pin).await {
                    answers = vec![Err(e); calls.len()];
                }
            } else if answers
                .iter()
                .any(|a| matches!(a, Err(e) if e.kind() == ErrorKind::NotYetAvailable))
            {
                // The node does not know the pinned hash: a replica behind, or a block that
                // left the chain. Its block at that height tells which.
                let _permit = gate.enter().await;
                if let Err(e) = self.check_still_canonical(pin).await {
                    if e.code() == Some(crate::batch::REORGED) {
                        answers = vec![Err(e); calls.len()];
                    }
                }
            }
        }
        let mut answers = answers.into_iter();
        for (pos, answer) in positions.into_iter().zip(answers.by_ref()) {
            results[pos] = Some(
                answer
                    .and_then(Answer::amount)
                    .map(|a| Balance::at_block(a, pin.number)),
            );
        }
        let balances = results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(evm_error(
                        ErrorKind::Decode,
                        "internal: a read was not answered",
                    ))
                })
            })
            .collect();
        let mut per_asset: Vec<Vec<(MetaField, Result<Answer, Error>)>> =
            assets.iter().map(|_| Vec::new()).collect();
        for ((a, field), answer) in meta.into_iter().zip(answers) {
            if let Some(slot) = per_asset.get_mut(a) {
                slot.push((field, answer));
            }
        }
        let metadata = assets
            .iter()
            .zip(per_asset)
            .map(|(asset, answers)| assemble_metadata(asset.token(), answers))
            .collect();
        (balances, metadata)
    }

    /// Keeps a group's metadata calls from costing its balances, and asks again the ones that
    /// may only have run short of gas. `calls` are `balances` balance calls, then metadata
    /// calls; `answers` one per call.
    ///
    /// Inside one `aggregate3`, a metadata call that loops until its gas is gone, or answers
    /// megabytes, can leave the request itself short of gas, and the node then fails it as
    /// a whole: the balance calls are then read again alone, and the metadata calls each on
    /// its own with [`METADATA_GAS_LIMIT`](super::METADATA_GAS_LIMIT), in one JSON-RPC batch.
    /// When the request ran out of gas before its end (its last call, Multicall3's
    /// `getBlockNumber()`, failed), a metadata call that failed inside it without a word (as
    /// one out of gas does, or one after it) is asked again the same way.
    async fn isolate_metadata(
        &self,
        calls: &mut [Call],
        balances: usize,
        answers: &mut Vec<Result<Answer, Error>>,
        pin: &BlockSnapshot,
        gate: &Gate,
    ) {
        // What the request's calls did, not how it travelled: the node ran it and failed it.
        let whole_failed = answers.iter().all(|a| {
            matches!(a, Err(e) if e.code() != Some(crate::batch::REORGED)
                && matches!(e.kind(), ErrorKind::Unsupported | ErrorKind::Unavailable | ErrorKind::Decode))
        });
        if whole_failed {
            let (balance_calls, meta_calls) = calls.split_at_mut(balances.min(calls.len()));
            let mut again = Vec::with_capacity(answers.len());
            if !balance_calls.is_empty() {
                let request = Multicall::Ready(multicall_request(balance_calls));
                again.extend(self.read_calls(balance_calls, request, pin, gate).await);
            }
            again.extend(self.read_batched(meta_calls, pin, gate).await);
            *answers = again;
            return;
        }
        // The canary, last, answered: the request did not run out of gas before its end, and
        // a metadata call that failed without a word failed on its own (a contract without
        // `name()`, say): asking again would cost a request for the same answer.
        let canary_ok = matches!(answers.last(), Some(Ok(Answer::Meta(Ok(_)))));
        if canary_ok {
            return;
        }
        let retry: Vec<usize> = (balances..answers.len())
            .filter(|&i| matches!(answers.get(i), Some(Ok(Answer::Meta(Err(true))))))
            .collect();
        if retry.is_empty() {
            return;
        }
        let single: Vec<Call> = retry
            .iter()
            .filter_map(|&i| calls.get(i).cloned())
            .collect();
        let got = self.read_batched(&single, pin, gate).await;
        for (i, answer) in retry.into_iter().zip(got) {
            if let Some(slot) = answers.get_mut(i) {
                *slot = answer;
            }
        }
    }

    pub(super) async fn check_still_canonical(&self, pin: &BlockSnapshot) -> Result<(), Error> {
        let now = self.block(BlockRef::Number(pin.number)).await?;
        if now.hash == pin.hash {
            Ok(())
        } else {
            Err(reorged(self.network, pin))
        }
    }

    /// One answer (or error) per call, at `pin`: through Multicall3 where it has code at that
    /// block, else as JSON-RPC batches.
    async fn read_calls<'g>(
        &self,
        calls: &[Call],
        multicall: Multicall<'g>,
        pin: &BlockSnapshot,
        gate: &'g Gate,
    ) -> Vec<Result<Answer, Error>> {
        let key = hash_bytes(&pin.hash).unwrap_or([0; 32]);
        let known = self
            .multicall
            .lock()
            .ok()
            .and_then(|m| m.get(&key).copied());
        if known != Some(false) {
            match self.read_multicall(calls, multicall, pin, gate).await {
                Some(answers) => {
                    if let Ok(mut m) = self.multicall.lock() {
                        m.insert(key, true);
                    }
                    return answers;
                }
                None => {
                    if let Ok(mut m) = self.multicall.lock() {
                        m.insert(key, false);
                    }
                }
            }
        }
        self.read_batched(calls, pin, gate).await
    }

    /// `None` when Multicall3 has no code at the pinned block (its call answers nothing).
    async fn read_multicall<'g>(
        &self,
        calls: &[Call],
        request: Multicall<'g>,
        pin: &BlockSnapshot,
        gate: &'g Gate,
    ) -> Option<Vec<Result<Answer, Error>>> {
        let block = self.block_param(pin);
        let (answer, permit) = match request {
            Multicall::Ready(request) => {
                let permit = gate.enter().await;
                (self.rpc.eth_call(request, &block).await, permit)
            }
            Multicall::Started(call, permit) => {
                (self.rpc.finish_eth_call(call, &block).await, permit)
            }
        };
        // The answer is decoded after the next request has gone.
        drop(permit);
        let data = match answer {
            Ok(Ok(data)) => data,
            Ok(Err(e)) => {
                if self.refuses_block_hash(&e) {
                    return Some(vec![Err(map_rpc_error("eth_call", &e)); calls.len()]);
                }
                let e = self.rpc_error("eth_call (Multicall3 aggregate3)", &e, pin);
                return Some(vec![Err(e); calls.len()]);
            }
            Err(e) => return Some(vec![Err(e); calls.len()]),
        };
        if data.is_empty() {
            return None;
        }
        let Some(results) = aggregate3_results(&data, calls.len()) else {
            let e = evm_error(
                ErrorKind::Decode,
                format!(
                    "Multicall3 at {MULTICALL3} answered {} bytes that are not an aggregate3 result",
                    data.len()
                ),
            );
            return Some(vec![Err(e); calls.len()]);
        };
        self.multicall_seen.store(true, Ordering::Relaxed);
        let mut answers = Vec::with_capacity(calls.len());
        let mut empty = Vec::new();
        for (i, (call, (success, data))) in calls.iter().zip(results).enumerate() {
            answers.push(match (call.want, success) {
                (Want::Meta(_) | Want::Canary, true) => Ok(Answer::Meta(Ok(data))),
                (Want::Meta(_) | Want::Canary, false) => Ok(Answer::Meta(Err(data.is_empty()))),
                (_, true) => match call.decode(&data) {
                    Ok(Some(a)) => Ok(Answer::Amount(a)),
                    Ok(None) => {
                        empty.push(i);
                        Err(call.empty_answer())
                    }
                    Err(e) => Err(e),
                },
                (_, false) => call.reverted(&data).map(Answer::Amount),
            });
        }
        self.explain_empty(calls, &empty, &mut answers, pin, gate)
            .await;
        Some(answers)
    }

    /// Where Multicall3 is absent: the same reads as JSON-RPC batches (`eth_call`,
    /// `eth_getBalance`), smaller when the provider refuses a size, down to single requests.
    async fn read_batched(
        &self,
        calls: &[Call],
        pin: &BlockSnapshot,
        gate: &Gate,
    ) -> Vec<Result<Answer, Error>> {
        let block = self.block_param(pin);
        let requests: Vec<(&str, Value)> = calls
            .iter()
            .map(|c| match c.native_of {
                Some(owner) => ("eth_getBalance", json!([owner.to_string(), block])),
                None => (
                    "eth_call",
                    json!([
                        {
                            "to": c.target.to_string(),
                            "input": c.data.to_string(),
                            "gas": quantity(c.gas_limit()),
                        },
                        block
                    ]),
                ),
            })
            .collect();
        let mut raw: Vec<Result<Value, Result<RpcError, Error>>> = Vec::with_capacity(calls.len());
        let mut start = 0;
        // One request at a time, under one permit.
        let permit = gate.enter().await;
        while start < requests.len() {
            let size = self.batch_size.load(Ordering::Relaxed).max(1);
            let end = (start + size).min(requests.len());
            let chunk = &requests[start..end];
            if chunk.len() == 1 {
                let (method, params) = &chunk[0];
                raw.push(match self.rpc.call_raw(method, params.clone()).await {
                    Ok(Ok(v)) => Ok(v),
                    Ok(Err(e)) => Err(Ok(e)),
                    Err(e) => Err(Err(e)),
                });
                start = end;
                continue;
            }
            match self.rpc.batch(chunk).await {
                Ok(answers) => {
                    raw.extend(answers.into_iter().map(|a| a.map_err(Ok)));
                    start = end;
                }
                Err(e) if is_batch_refusal(&e) => {
                    // Smaller batches from now on, for every later read too.
                    self.batch_size
                        .store((chunk.len() / 2).max(1), Ordering::Relaxed);
                }
                Err(e) => {
                    raw.extend(chunk.iter().map(|_| Err(Err(e.clone()))));
                    start = end;
                }
            }
        }
        drop(permit);
        let mut answers = Vec::with_capacity(calls.len());
        let mut empty = Vec::new();
        for (i, (call, r)) in calls.iter().zip(raw).enumerate() {
            answers.push(match r {
                // A metadata call's failure is a field without a value, whatever the node
                // said about it (a revert, running out of its gas, an answer too large).
                Ok(v) if matches!(call.want, Want::Meta(_) | Want::Canary) => {
                    Ok(Answer::Meta(bytes_of(&v).map_err(|_| false)))
                }
                Err(Ok(_)) if matches!(call.want, Want::Meta(_) | Want::Canary) => {
                    Ok(Answer::Meta(Err(false)))
                }
                Ok(v) if call.native_of.is_some() => {
                    quantity_u256(&v, "eth_getBalance").map(|v| Answer::Amount(Amount::from(v)))
                }
                Ok(v) => match bytes_of(&v).and_then(|d| call.decode(&d)) {
                    Ok(Some(a)) => Ok(Answer::Amount(a)),
                    Ok(None) => {
                        empty.push(i);
                        Err(call.empty_answer())
                    }
                    Err(e) => Err(e),
                },
                Err(Ok(e)) if is_revert(&e) => {
                    let data = e
                        .data
                        .as_ref()
                        .and_then(|d| bytes_of(d).ok())
                        .unwrap_or_default();
                    call.reverted(&data).map(Answer::Amount)
                }
                Err(Ok(e)) => {
                    self.refuses_block_hash(&e);
                    Err(self.rpc_error(requests[i].0, &e, pin))
                }
                Err(Err(e)) => Err(e),
            });
        }
        self.explain_empty(calls, &empty, &mut answers, pin, gate)
            .await;
        answers
    }

    /// For calls that answered nothing: `not_found` where the contract has no code at the
    /// pinned block, `decode` (already set) where it has.
    async fn explain_empty(
        &self,
        calls: &[Call],
        empty: &[usize],
        answers: &mut [Result<Answer, Error>],
        pin: &BlockSnapshot,
        gate: &Gate,
    ) {
        for &i in empty {
            let Some(contract) = calls[i].contract else {
                continue;
            };
            let _permit = gate.enter().await;
            match self.code_at(contract, pin).await {
                Ok(code) if code.is_empty() => answers[i] = Err(calls[i].no_contract(pin.number)),
                Ok(_) => {}
                Err(e) => answers[i] = Err(e),
            }
        }
    }

    pub(super) async fn code_at(
        &self,
        contract: Address,
        pin: &BlockSnapshot,
    ) -> Result<Bytes, Error> {
        let v = self
            .rpc
            .call(
                "eth_getCode",
                json!([contract.to_string(), self.block_param(pin)]),
            )
            .await?;
        bytes_of(&v)
    }

    /// Whether `e` is the node refusing the `{"blockHash": ...}` form; if so, reads go by
    /// number from now on.
    fn refuses_block_hash(&self, e: &RpcError) -> bool {
        let refused = self.by_hash.load(Ordering::Relaxed) && e.code == -32602;
        if refused {
            self.by_hash.store(false, Ordering::Relaxed);
        }
        refused
    }

    /// A JSON-RPC error on a read at `pin`, with a reorg named as such.
    fn rpc_error(&self, method: &str, e: &RpcError, pin: &BlockSnapshot) -> Error {
        if e.message.to_ascii_lowercase().contains("canonical") {
            return reorged(self.network, pin);
        }
        map_rpc_error(method, e)
    }
}

/// A group's read as far as it goes before its block is chosen (see
/// [`EvmBackend::prepare`]).
#[derive(Debug)]
pub(crate) struct Prepared<'g> {
    /// Per query: its result when it has no call, else `None` until read.
    results: Vec<Option<Result<Balance, Error>>>,
    /// The calls, and the position of each one's query.
    calls: Vec<Call>,
    positions: Vec<usize>,
    /// For each call after the balance calls: the asset (by position) and field it reads.
    meta: Vec<(usize, MetaField)>,
    /// The Multicall3 request for every call (none when no query has one).
    multicall: Option<Multicall<'g>>,
}

/// A group's Multicall3 request: written but for its block, or already under way (its end
/// to follow with the block) with the permit it went out under.
#[derive(Debug)]
enum Multicall<'g> {
    Ready(EthCallRequest),
    Started(EarlyCall, Permit<'g>),
}

/// The Multicall3 `aggregate3` request for `calls`, written but for its block.
fn multicall_request(calls: &mut [Call]) -> EthCallRequest {
    EthCallRequest::new(&MULTICALL3, &aggregate3(calls), CALL_GAS_LIMIT)
}

/// Which block to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockRef {
    /// The node's latest block.
    Latest,
    /// The latest block the chain has finalized.
    Finalized,
    /// A block by number.
    Number(u64),
}

pub(super) fn block_tag(which: BlockRef) -> Value {
    match which {
        BlockRef::Latest => json!("latest"),
        BlockRef::Finalized => json!("finalized"),
        BlockRef::Number(n) => json!(quantity(n)),
    }
}

fn reorged(network: Network, pin: &BlockSnapshot) -> Error {
    evm_error(
        ErrorKind::Unavailable,
        format!(
            "{network}: block {} ({}) is no longer on the chain (a reorganization during the \
             batch); read again to pin a block that is",
            pin.number, pin.hash
        ),
    )
    .with_code(crate::batch::REORGED)
}

fn is_revert(e: &RpcError) -> bool {
    e.code == 3
        || e.message
            .to_ascii_lowercase()
            .contains("execution reverted")
}

fn quantity(n: u64) -> String {
    format!("0x{n:x}")
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn hex(bytes: &[u8]) -> String {
    alloy_primitives::hex::encode_prefixed(bytes)
}

fn bad(what: &str, v: &Value) -> Error {
    let shown: String = v.to_string().chars().take(80).collect();
    evm_error(
        ErrorKind::Decode,
        format!("{what}: unexpected value {shown}"),
    )
}

fn quantity_u64(v: &Value, what: &str) -> Result<u64, Error> {
    v.as_str()
        .and_then(|s| s.strip_prefix("0x"))
        .filter(|d| !d.is_empty() && d.len() <= 16)
        .and_then(|d| u64::from_str_radix(d, 16).ok())
        .ok_or_else(|| bad(what, v))
}

fn quantity_u256(v: &Value, what: &str) -> Result<U256, Error> {
    v.as_str()
        .and_then(|s| s.strip_prefix("0x"))
        .filter(|d| !d.is_empty() && d.len() <= 64)
        .and_then(|d| U256::from_str_radix(d, 16).ok())
        .ok_or_else(|| bad(what, v))
}

fn bytes_of(v: &Value) -> Result<Bytes, Error> {
    v.as_str()
        .and_then(|s| s.parse::<Bytes>().ok())
        .ok_or_else(|| bad("return data", v))
}

fn hash_bytes(h: &str) -> Result<[u8; 32], Error> {
    let b: Bytes = h
        .parse()
        .map_err(|_| bad("block hash", &Value::String(h.to_string())))?;
    <[u8; 32]>::try_from(b.as_ref()).map_err(|_| bad("block hash", &Value::String(h.to_string())))
}

/// A block answer's number, hash and time.
fn block_of(v: &Value) -> Result<BlockSnapshot, Error> {
    let number = quantity_u64(v.get("number").unwrap_or(&Value::Null), "block number")?;
    let hash_v = v.get("hash").unwrap_or(&Value::Null);
    let hash =
        hash_bytes(hash_v.as_str().unwrap_or_default()).map_err(|_| bad("block hash", hash_v))?;
    let time = quantity_u64(
        v.get("timestamp").unwrap_or(&Value::Null),
        "block timestamp",
    )?;
    Ok(BlockSnapshot::new(
        number,
        hex(&hash),
        UNIX_EPOCH + Duration::from_secs(time),
    ))
}
