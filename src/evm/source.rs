//! The EVM source as the engine sees it: K calls per request, one block per network, taken
//! once (number and hash) before the first read.

use std::collections::BTreeMap;

use futures::future::BoxFuture;

use super::backend::EvmBackend;
use super::calls::MetaField;
use super::rpc::evm_error;
use crate::balance::Balance;
use crate::batch::Gate;
use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::metadata::{Asset, TokenMetadata};
use crate::pin::At;
use crate::query::{Backend, Network, Query};
use crate::source::{Answers, Pin, Read, Source};

/// One JSON-RPC endpoint per EVM network.
pub(crate) struct EvmSource {
    nodes: BTreeMap<Network, EvmBackend>,
    calls_per_request: usize,
}

impl EvmSource {
    pub(crate) fn new(nodes: BTreeMap<Network, EvmBackend>, calls_per_request: usize) -> Self {
        EvmSource {
            nodes,
            calls_per_request: calls_per_request.max(1),
        }
    }

    /// The EVM networks this source serves.
    pub(crate) fn networks(&self) -> Vec<Network> {
        self.nodes.keys().copied().collect()
    }

    fn node(&self, network: Network) -> Result<&EvmBackend, Error> {
        self.nodes.get(&network).ok_or_else(|| no_endpoint(network))
    }
}

/// The error for an EVM network no endpoint was given for (one without a public default).
pub(crate) fn no_endpoint(network: Network) -> Error {
    evm_error(
        ErrorKind::Unsupported,
        format!(
            "{network}: no JSON-RPC endpoint is configured; give one with \
             ClientBuilder::endpoint (CLI: --endpoint {network}=URL)"
        ),
    )
}

impl Source for EvmSource {
    fn backend(&self) -> Backend {
        Backend::Evm
    }

    fn max_group(&self) -> usize {
        self.calls_per_request
    }

    fn pin<'a>(&'a self, network: Network, at: &'a At) -> BoxFuture<'a, Result<Pin, Error>> {
        Box::pin(async move { self.node(network)?.pin(at).await.map(Pin::Block) })
    }

    fn read<'a>(&'a self, queries: &'a [Query], pin: Option<&'a Pin>) -> BoxFuture<'a, Read> {
        Box::pin(async move {
            let pin = pin.cloned().ok_or_else(|| {
                evm_error(
                    ErrorKind::Unsupported,
                    "an EVM node reads at a block, not without a pin",
                )
            });
            // The engine bounds the requests of a read it makes this way itself.
            let gate = Gate::new(usize::MAX >> 4);
            Read {
                results: self
                    .read_group(queries, &[], Box::pin(async { pin }), &At::Latest, &gate)
                    .await
                    .0,
                pin: None,
            }
        })
    }

    fn read_at<'a>(
        &'a self,
        queries: &'a [Query],
        pin: BoxFuture<'a, Result<Pin, Error>>,
        at: &'a At,
        gate: &'a Gate,
    ) -> BoxFuture<'a, Vec<Result<Balance, Error>>> {
        Box::pin(async move { self.read_group(queries, &[], pin, at, gate).await.0 })
    }

    /// Calls per asset: `decimals`, `symbol`, `name` for an ERC-20; `symbol`, `name` for
    /// ERC-721 and ERC-1155 (whose items are whole).
    fn metadata_cost(&self, asset: &Asset) -> usize {
        MetaField::of(asset.token()).0.len()
    }

    fn discover_holders<'a>(
        &'a self,
        scan: crate::holders::HoldersScan<'a>,
    ) -> BoxFuture<'a, Result<crate::holders::Discovery, Error>> {
        Box::pin(async move {
            let node = self.node(scan.asset.network())?;
            node.discover_holders(scan).await
        })
    }

    fn discover_holdings<'a>(
        &'a self,
        owner: &'a Query,
        pin: &'a Pin,
        scan: crate::holdings::Scan,
    ) -> BoxFuture<'a, Result<crate::holdings::Found, Error>> {
        Box::pin(async move {
            let node = self.node(owner.network())?;
            let (Pin::Block(block), crate::query::Owner::Evm(account)) = (pin, owner.owner())
            else {
                return Err(evm_error(
                    ErrorKind::Unsupported,
                    format!("{owner}: not an EVM account read at a block"),
                ));
            };
            node.discover_holdings(account, block, scan).await
        })
    }

    fn requests_sent(&self) -> u64 {
        self.nodes.values().map(EvmBackend::requests_sent).sum()
    }

    fn requests_besides_logs(&self) -> u64 {
        self.nodes
            .values()
            .map(EvmBackend::requests_besides_logs)
            .sum()
    }

    fn read_metadata<'a>(
        &'a self,
        assets: &'a [Asset],
        pin: &'a Pin,
    ) -> BoxFuture<'a, Vec<Result<TokenMetadata, Error>>> {
        Box::pin(async move {
            let gate = Gate::new(usize::MAX >> 4);
            let pin = Ok(pin.clone());
            self.read_group(&[], assets, Box::pin(async { pin }), &At::Latest, &gate)
                .await
                .1
        })
    }

    fn read_with_metadata<'a>(
        &'a self,
        queries: &'a [Query],
        assets: &'a [Asset],
        pin: BoxFuture<'a, Result<Pin, Error>>,
        at: &'a At,
        gate: &'a Gate,
    ) -> BoxFuture<'a, Answers> {
        Box::pin(self.read_group(queries, assets, pin, at, gate))
    }
}

impl EvmSource {
    /// Reads one group (all of one network), balances and metadata, at the block `pin`
    /// resolves to, its request prepared while that happens and sent when `gate` lets it.
    async fn read_group(
        &self,
        queries: &[Query],
        assets: &[Asset],
        mut pin: BoxFuture<'_, Result<Pin, Error>>,
        at: &At,
        gate: &Gate,
    ) -> Answers {
        let failed = |e: Error| {
            (
                vec![Err(e.clone()); queries.len()],
                vec![Err(e); assets.len()],
            )
        };
        let network = queries
            .first()
            .map(Query::network)
            .or_else(|| assets.first().map(Asset::network));
        let Some(network) = network else {
            return (Vec::new(), Vec::new());
        };
        let node = match self.node(network) {
            Ok(node) => node,
            Err(e) => return failed(e),
        };
        let mut prepared = node.prepare(queries, assets);
        // The pin's own request goes first (for the group that resolves it); then, while it
        // is out, this group's request if a permit is free and the pin will be quick.
        let pin = match futures::poll!(pin.as_mut()) {
            std::task::Poll::Ready(pin) => pin,
            std::task::Poll::Pending => {
                if node.may_start_early(at) {
                    if let Some(permit) = gate.try_enter() {
                        node.start_early(&mut prepared, permit);
                    }
                }
                pin.await
            }
        };
        match pin {
            Ok(Pin::Block(block)) => node.read_prepared(prepared, assets, &block, gate).await,
            Ok(other) => failed(evm_error(
                ErrorKind::Unsupported,
                format!("an EVM node reads at a block, not at {other:?}"),
            )),
            Err(e) => failed(e),
        }
    }
}

impl Client {
    /// The EVM back end serving `network`, if one is configured.
    pub fn evm(&self, network: Network) -> Option<&EvmBackend> {
        self.sources.find::<EvmSource>()?.nodes.get(&network)
    }
}
