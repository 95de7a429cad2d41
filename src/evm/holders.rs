//! Finding a token's holders on an EVM chain: every address its transfer events ever named,
//! from its creation block (found by bisection on `eth_getCode`, the logs of the blocks it
//! has reached read while it goes on) to the pinned block, and the supply figures the list
//! is proven against.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolCall, SolEvent};
use futures::future::{BoxFuture, Either};
use serde_json::{json, Value};
use tokio::sync::watch;

use super::abi::{IERC1155Supply, ITransfers};
use super::calls::revert_reason;
use super::log_answer::Log;
use super::logs::{Early, LogFilter, Refusal, Start};
use super::rpc::evm_error;
use super::EvmBackend;
use crate::amount::Amount;
use crate::batch::Gate;
use crate::error::{Error, ErrorKind};
use crate::holders::{Discovery, Found, HoldersScan, Progress};
use crate::metadata::Asset;
use crate::pin::BlockSnapshot;
use crate::query::{EvmAddress, Owner, Token};
use crate::source::Pin;

/// An address as a key of the candidates' set, hashed as three words rather than as a slice
/// of twenty bytes (a scan names each holder many times over, so the set is filled on the
/// hot path). The hasher stays seeded: a token's logs choose the addresses.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key([u8; 20]);

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&self.0[at..at + 8]);
            u64::from_le_bytes(w)
        };
        let mut last = [0u8; 4];
        last.copy_from_slice(&self.0[16..]);
        state.write_u64(word(0));
        state.write_u64(word(8));
        state.write_u32(u32::from_le_bytes(last));
    }
}

/// What the discovery works from, once the pin is known.
struct Pinned<'a> {
    asset: &'a Asset,
    contract: Address,
    filter: &'a LogFilter,
    pin: &'a BlockSnapshot,
    from_block: Option<u64>,
    gate: &'a Gate,
    progress: &'a Progress,
}

/// What the logs of one token say: who they named, and what they minted and burned.
#[derive(Default)]
struct Tally {
    candidates: HashSet<Key, foldhash::fast::RandomState>,
    /// Candidates named for the first time since they were last handed on.
    fresh: Vec<[u8; 20]>,
    minted: U256,
    burned: U256,
    overflow: bool,
}

impl Tally {
    fn name(&mut self, topic: &B256) {
        let address: [u8; 20] = topic[12..].try_into().unwrap_or([0; 20]);
        if address != [0; 20] && self.candidates.insert(Key(address)) {
            self.fresh.push(address);
        }
    }

    fn moved(&mut self, from: &B256, to: &B256, amount: U256) {
        self.name(from);
        self.name(to);
        if from.is_zero() {
            self.minted = self.minted.checked_add(amount).unwrap_or_else(|| {
                self.overflow = true;
                U256::MAX
            });
        }
        if to.is_zero() {
            self.burned = self.burned.checked_add(amount).unwrap_or_else(|| {
                self.overflow = true;
                U256::MAX
            });
        }
    }

    /// Takes in one log of the token (`id`: the ERC-1155 id listed).
    fn take(&mut self, log: Log<'_>, token: &Token) {
        let topics = log.topics;
        match token {
            // ERC-20 and ERC-721 share the event; an ERC-721 transfer has the id indexed.
            Token::Erc20 { .. } | Token::Erc721Count { .. } if topics.len() >= 3 => {
                let amount = match token {
                    Token::Erc721Count { .. } => U256::from(1u8),
                    _ => log
                        .data
                        .get(..32)
                        .map(U256::from_be_slice)
                        .unwrap_or_default(),
                };
                self.moved(&topics[1], &topics[2], amount);
            }
            Token::Erc1155 { token_id, .. } if topics.len() >= 4 => {
                let (from, to) = (&topics[2], &topics[3]);
                if topics[0] == ITransfers::TransferSingle::SIGNATURE_HASH {
                    let word =
                        |i: usize| log.data.get(32 * i..32 * (i + 1)).map(U256::from_be_slice);
                    if let (Some(id), Some(value)) = (word(0), word(1)) {
                        if id == token_id.0 {
                            self.moved(from, to, value);
                        }
                    }
                } else if let Ok(batch) =
                    <ITransfers::TransferBatch as SolEvent>::abi_decode_data(log.data)
                {
                    let (ids, values) = batch;
                    for (id, value) in ids.iter().zip(values.iter()) {
                        if *id == token_id.0 {
                            self.moved(from, to, *value);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

impl EvmBackend {
    /// The candidates and supply figures of `scan.asset` at the pin (see the module docs).
    /// With the first block given, the logs are asked for beside the pin, to learn how the
    /// provider caps them a round trip early. A node that does not know the pinned block is
    /// asked which block is at its height: one that left the chain is named so (`reorged`),
    /// not a replica behind.
    pub(crate) async fn discover_holders(&self, scan: HoldersScan<'_>) -> Result<Discovery, Error> {
        let HoldersScan {
            asset,
            at,
            pin,
            from_block,
            early,
            gate,
            progress,
            found,
        } = scan;
        let contract = match asset.token() {
            Token::Erc20 { contract }
            | Token::Erc721Count { contract }
            | Token::Erc1155 { contract, .. } => Address::from(*contract.as_bytes()),
            _ => {
                return Err(Error::invalid_input(
                    "token",
                    &asset.to_string(),
                    "not a token contract whose holders can be listed",
                ))
            }
        };
        let topics = match asset.token() {
            Token::Erc1155 { .. } => vec![Some(vec![
                ITransfers::TransferSingle::SIGNATURE_HASH,
                ITransfers::TransferBatch::SIGNATURE_HASH,
            ])],
            _ => vec![Some(vec![ITransfers::Transfer::SIGNATURE_HASH])],
        };
        let filter = LogFilter {
            address: Some(contract),
            topics,
        };
        let block = Box::pin(async move {
            match pin.await? {
                Pin::Block(block) => Ok(block),
                other => Err(evm_error(
                    ErrorKind::Unsupported,
                    format!("an EVM node reads at a block, not at {other:?}"),
                )),
            }
        });
        let (pin, early) = match from_block.filter(|_| early) {
            None => (block.await?, None),
            Some(from) => {
                let (to, whole) = self.pin_ahead(at);
                let refusal: BoxFuture<'_, Option<Refusal>> =
                    Box::pin(self.probe_logs(&filter, from, to, gate, progress));
                match futures::future::select(block, refusal).await {
                    Either::Left((pin, refusal)) => (pin?, Some(Early { refusal, whole })),
                    Either::Right((refusal, block)) => {
                        let refusal = Box::pin(futures::future::ready(refusal));
                        (block.await?, Some(Early { refusal, whole }))
                    }
                }
            }
        };
        let pinned = Pinned {
            asset,
            contract,
            filter: &filter,
            pin: &pin,
            from_block,
            gate,
            progress,
        };
        match self.discover_at(pinned, early, found).await {
            Err(e) if e.kind() == ErrorKind::NotYetAvailable => {
                self.check_still_canonical(&pin).await?;
                Err(e)
            }
            other => other,
        }
    }

    async fn discover_at(
        &self,
        pinned: Pinned<'_>,
        early: Option<Early<'_>>,
        mut found: Found<'_>,
    ) -> Result<Discovery, Error> {
        let Pinned {
            asset,
            contract,
            filter,
            pin,
            from_block,
            gate,
            progress,
        } = pinned;
        if let Some(from) = from_block.filter(|&from| from > pin.number) {
            return Err(Error::invalid_input(
                "from_block",
                &from.to_string(),
                format!("after the pinned block {}", pin.number),
            ));
        }
        // Without a first block, the contract's creation is searched for, and the logs of
        // the blocks it is known to span are read while the search goes on.
        let (reached, start) = match from_block {
            Some(from) => (None, Start::At(from)),
            None => {
                let (reached, search) = watch::channel((pin.number.saturating_add(1), false));
                (Some(reached), Start::Searched(search))
            }
        };
        let search = async {
            match reached {
                Some(reached) => self.creation_block(contract, pin, &reached).await,
                None => Ok((from_block.unwrap_or_default(), 0)),
            }
        };
        let mut tally = Tally::default();
        let token = asset.token().clone();
        let scan = self.scan_logs(filter, start, pin.number, gate, progress, early, |logs| {
            for log in logs.iter() {
                tally.take(log, &token);
            }
            progress
                .candidates
                .store(tally.candidates.len() as u64, Ordering::Relaxed);
            // Handed on as found, so that their balances are read while the scan goes on.
            if !tally.fresh.is_empty() {
                let fresh = std::mem::take(&mut tally.fresh);
                found(
                    fresh
                        .into_iter()
                        .map(|a| Owner::Evm(EvmAddress::from_bytes(a)))
                        .collect(),
                );
            }
        });
        let ((from, search_requests), ()) = futures::try_join!(search, scan)?;
        // Every candidate is named: the last are read while the rest is checked.
        drop(found);
        // The logs are read: if the pinned block left the chain meanwhile, they may be
        // another chain's. The supply is read at the same time (at the block by hash).
        let (still, supply) = futures::join!(
            self.check_still_canonical(pin),
            self.total_supply(contract, asset.token(), pin)
        );
        still?;
        let (total_supply, supply_requests) = supply?;
        let minted_minus_burned = match asset.token() {
            Token::Erc721Count { .. } | Token::Erc1155 { .. } if !tally.overflow => {
                tally.minted.checked_sub(tally.burned).map(Amount::from)
            }
            _ => None,
        };
        Ok(Discovery {
            candidates: tally.candidates.len() as u64,
            from_block: from,
            to_block: pin.number,
            minted_minus_burned,
            total_supply,
            // The creation search, the canonical check and the supply.
            other_requests: search_requests + 1 + supply_requests,
        })
    }

    /// The first block at which `contract` has code, by bisection on `eth_getCode` between
    /// block 0 and the pinned block: about log2(blocks) + 2 requests. Each block found with
    /// code is sent to `reached` as it is (every block from it to the pin is the contract's),
    /// and the last with the search settled. A node that keeps no old state cannot answer;
    /// the error then says to give the block.
    async fn creation_block(
        &self,
        contract: Address,
        pin: &BlockSnapshot,
        reached: &watch::Sender<(u64, bool)>,
    ) -> Result<(u64, u64), Error> {
        let asked = &std::sync::atomic::AtomicU64::new(0);
        let code = |block: Option<u64>| async move {
            asked.fetch_add(1, Ordering::Relaxed);
            let at = match block {
                Some(n) => json!(format!("0x{n:x}")),
                None => json!({"blockHash": pin.hash}),
            };
            let v = self
                .rpc_ref()
                .call("eth_getCode", json!([contract.to_string(), at]))
                .await
                .map_err(|e| {
                    if e.kind() == ErrorKind::Pruned {
                        Error::new(
                            ErrorKind::Pruned,
                            format!(
                                "{e}; give the block to read logs from (--from-block, \
                                 HoldersOptions::from_block) instead of searching for the \
                                 contract's creation"
                            ),
                        )
                        .with_backend(crate::query::Backend::Evm)
                    } else {
                        e
                    }
                })?;
            Ok::<bool, Error>(v.as_str().is_some_and(|s| s.len() > 2))
        };
        // Both ends at once: a round trip less (and one request more only when there is no
        // contract at all).
        let (at_pin, at_genesis) = futures::join!(code(None), code(Some(0)));
        if !at_pin? {
            return Err(evm_error(
                ErrorKind::NotFound,
                format!("no contract at {contract} at block {}", pin.number),
            ));
        }
        if at_genesis? {
            reached.send_replace((0, true));
            return Ok((0, asked.load(Ordering::Relaxed)));
        }
        // Code at `hi`, none at `lo`.
        let (mut lo, mut hi) = (0u64, pin.number);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if code(Some(mid)).await? {
                hi = mid;
                reached.send_replace((hi, false));
            } else {
                lo = mid;
            }
        }
        reached.send_replace((hi, true));
        Ok((hi, asked.load(Ordering::Relaxed)))
    }

    /// What the contract says exists, where it says, and the requests asked: `totalSupply()`
    /// (ERC-20, ERC-721 Enumerable), `totalSupply(id)` (ERC-1155 Supply). A contract
    /// without it answers nothing (`None`); an ERC-20 that reverts is named in the proof.
    async fn total_supply(
        &self,
        contract: Address,
        token: &Token,
        pin: &BlockSnapshot,
    ) -> Result<(Option<Amount>, u64), Error> {
        let data = match token {
            Token::Erc1155 { token_id, .. } => {
                IERC1155Supply::totalSupplyCall { id: token_id.0 }.abi_encode()
            }
            _ => ITransfers::totalSupplyCall {}.abi_encode(),
        };
        let block = json!({"blockHash": pin.hash, "requireCanonical": true});
        let call = json!([
            {"to": contract.to_string(), "input": alloy_primitives::hex::encode_prefixed(&data)},
            block
        ]);
        let answer = self.rpc_ref().call_raw("eth_call", call).await?;
        let data = match answer {
            Ok(Value::String(s)) => alloy_primitives::hex::decode(&s).ok(),
            Ok(_) => None,
            Err(e) => {
                let why = e
                    .data
                    .as_ref()
                    .and_then(Value::as_str)
                    .and_then(|d| alloy_primitives::hex::decode(d).ok())
                    .map(|d| revert_reason(&d))
                    .unwrap_or_else(|| e.message.clone());
                tracing::debug!("totalSupply on {contract}: {why}");
                None
            }
        };
        let supply = data
            .filter(|d| d.len() >= 32)
            .map(|d| Amount::from(U256::from_be_slice(&d[..32])));
        Ok((supply, 1))
    }
}
