//! [`Client::metadata`]: the symbol, name and decimals of a list of tokens at one moment,
//! without reading a balance.

use std::collections::HashMap;

use futures::stream::{self, StreamExt};

use super::gate::Gate;
use super::pins::Pins;
use crate::client::Client;
use crate::error::Error;
use crate::metadata::{Asset, TokenMetadata};
use crate::pin::{At, Snapshot};
use crate::query::Network;

/// The answer to [`Client::metadata`]: one result per token, in input order, and the moment
/// read at.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MetadataOutput {
    /// What each network was read at (a network whose tokens are all native coins is not
    /// read, so not pinned).
    pub snapshot: Snapshot,
    /// One result per token, in the order given: fields the chain does not give are `None`;
    /// an `Err` is a read that failed as a whole.
    pub results: Vec<Result<TokenMetadata, Error>>,
}

/// Tokens of one pin scope read in one request's worth.
struct Chunk {
    source: usize,
    network: Network,
    scope: crate::source::Scope,
    assets: Vec<Asset>,
    /// Each asset's position among the distinct tokens.
    slots: Vec<usize>,
    weight: usize,
}

impl Client {
    /// Reads the symbol, name and decimals of `assets` at one moment (as
    /// [`balances`](Self::balances) pins it): each distinct token once, as many per request
    /// as the source carries (on EVM chains, many tokens' calls in one Multicall3 request),
    /// the native coins from the network table without a request.
    ///
    /// ```no_run
    /// # async fn run(client: tokbal::Client) -> Result<(), tokbal::Error> {
    /// let usdc: tokbal::Asset = "ethereum:erc20:0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48".parse()?;
    /// let out = client.metadata(&[usdc], tokbal::At::Latest).await;
    /// let usdc = out.results[0].clone()?;
    /// assert_eq!(usdc.decimals, Some(6));
    /// # Ok(()) }
    /// ```
    pub async fn metadata(&self, assets: &[Asset], at: At) -> MetadataOutput {
        let pins = Pins::new(at);
        let gate = Gate::new(self.concurrency);
        let mut distinct: HashMap<Asset, usize, foldhash::fast::RandomState> = HashMap::default();
        let mut slot_of_input = Vec::with_capacity(assets.len());
        let mut slots: Vec<Option<Result<TokenMetadata, Error>>> = Vec::new();
        let mut chunks: Vec<Chunk> = Vec::new();
        let mut open: HashMap<(usize, crate::source::Scope), usize> = HashMap::new();
        for asset in assets {
            let key = asset.metadata_key();
            if let Some(&slot) = distinct.get(&key) {
                slot_of_input.push(slot);
                continue;
            }
            let slot = slots.len();
            distinct.insert(key.clone(), slot);
            slot_of_input.push(slot);
            if key.token().is_native() {
                slots.push(Some(Ok(key.network().native_metadata())));
                continue;
            }
            let (index, source) = match self.sources.for_network(key.network()) {
                Ok(found) => found,
                Err(e) => {
                    slots.push(Some(Err(e)));
                    continue;
                }
            };
            slots.push(None);
            let scope = source.scope(key.network());
            let cost = source.metadata_cost(&key);
            let max = source.max_group().max(1);
            let at = match open.get(&(index, scope)) {
                Some(&at) if chunks[at].weight + cost <= max => at,
                _ => {
                    chunks.push(Chunk {
                        source: index,
                        network: key.network(),
                        scope,
                        assets: Vec::new(),
                        slots: Vec::new(),
                        weight: 0,
                    });
                    open.insert((index, scope), chunks.len() - 1);
                    chunks.len() - 1
                }
            };
            let chunk = &mut chunks[at];
            chunk.weight += cost;
            chunk.assets.push(key);
            chunk.slots.push(slot);
        }
        let (pins, gate) = (&pins, &gate);
        let mut answered = stream::iter(chunks)
            .map(|chunk| async move {
                let results = match self.sources.get(chunk.source) {
                    Some(source) => {
                        let cell = pins.cell((chunk.source, chunk.scope));
                        let networks: Vec<Network> = {
                            let mut n: Vec<Network> =
                                chunk.assets.iter().map(Asset::network).collect();
                            n.dedup();
                            n
                        };
                        let pin = Box::pin(async {
                            let pin = cell
                                .get_or_init(|| source.pin(chunk.network, &pins.at))
                                .await;
                            if let Ok(pin) = pin {
                                for &network in &networks {
                                    pins.record(network, pin);
                                }
                            }
                            pin.clone()
                        });
                        source
                            .read_with_metadata(&[], &chunk.assets, pin, &pins.at, gate)
                            .await
                            .1
                    }
                    None => Vec::new(),
                };
                (chunk.slots, results)
            })
            .buffer_unordered(self.concurrency);
        while let Some((chunk_slots, results)) = answered.next().await {
            let mut results = results.into_iter();
            for slot in chunk_slots {
                let result = results.next().unwrap_or_else(|| {
                    Err(Error::new(
                        crate::ErrorKind::Unavailable,
                        "internal: a source gave fewer metadata than tokens",
                    ))
                });
                if let Some(s) = slots.get_mut(slot) {
                    *s = Some(result);
                }
            }
        }
        drop(answered);
        let results = slot_of_input
            .into_iter()
            .map(|slot| {
                slots.get(slot).cloned().flatten().unwrap_or_else(|| {
                    Err(Error::new(
                        crate::ErrorKind::Unavailable,
                        "internal: a token was planned but not answered",
                    ))
                })
            })
            .collect();
        MetadataOutput {
            snapshot: pins.snapshot(),
            results,
        }
    }
}
