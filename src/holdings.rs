//! Everything an owner holds at one moment, and how sure tokbal is that the list is whole:
//! [`Client::holdings`].
//!
//! Each owner's network is pinned once; its source *discovers* candidate tokens (EVM chains:
//! the native coin, and every token a transfer log ever sent to the owner; Aptos: APT and
//! every coin store among the account's resources; Bitcoin: BTC), the token lists given add
//! theirs, and every candidate's balance is read at the pin with its metadata, through the
//! batch engine. Holdings are the candidates with a balance; an error reading one is kept
//! with it. Each owner's [`Discovery`] says where the candidates came from and whether they
//! cover every way the owner could hold a token.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use serde::Deserialize;

use crate::balance::Balance;
use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::metadata::Asset;
use crate::pin::{At, Snapshot};
use crate::query::{Chain, EvmAddress, Network, Query, Token};

/// How to look for an owner's holdings.
#[derive(Clone, Debug, Default)]
pub struct HoldingsOptions {
    tokens: Vec<Asset>,
    from_block: Option<u64>,
    no_logs: bool,
}

impl HoldingsOptions {
    /// Tokens to check besides those found (each owner gets its own network's).
    pub fn tokens(mut self, tokens: impl IntoIterator<Item = Asset>) -> Self {
        self.tokens.extend(tokens);
        self
    }

    /// The tokens of a token list (each owner gets those whose `chainId` is its network's).
    pub fn token_list(self, list: &TokenList) -> Self {
        let tokens = list.assets.clone();
        self.tokens(tokens)
    }

    /// EVM chains: reads transfer logs from `block` on (by default from block 0, the
    /// chain's first: the only start from which the list can be whole).
    pub fn from_block(mut self, block: u64) -> Self {
        self.from_block = Some(block);
        self
    }

    /// EVM chains: no log discovery, only the native coin and the tokens given.
    pub fn no_logs(mut self) -> Self {
        self.no_logs = true;
        self
    }
}

/// A token list in the Uniswap token-lists schema: `{"tokens": [{"chainId", "address", ...}]}`.
/// Entries of chains tokbal does not name by chain id are kept for `evm-<id>` networks.
#[derive(Clone, Debug, Default)]
pub struct TokenList {
    assets: Vec<Asset>,
}

impl TokenList {
    /// Reads a token list; a malformed one is an `invalid_input` error on the field
    /// `token_list` naming what is wrong.
    pub fn from_json(text: &str) -> Result<TokenList, Error> {
        #[derive(Deserialize)]
        struct List {
            tokens: Vec<Entry>,
        }
        #[derive(Deserialize)]
        struct Entry {
            #[serde(rename = "chainId")]
            chain_id: u64,
            address: String,
        }
        let bad = |why: String| Error::invalid_input("token_list", "", why);
        let list: List = serde_json::from_str(text)
            .map_err(|e| bad(format!("not a token list ({{\"tokens\": [...]}}): {e}")))?;
        let mut assets = Vec::with_capacity(list.tokens.len());
        for (i, entry) in list.tokens.iter().enumerate() {
            let contract = EvmAddress::parse_field("contract", &entry.address)
                .map_err(|e| bad(format!("token {i}: {}", e.message())))?;
            let network = Network::from_evm_chain_id(entry.chain_id);
            assets.push(Asset::new(network, Token::Erc20 { contract })?);
        }
        Ok(TokenList { assets })
    }

    /// How many tokens the list names.
    pub fn len(&self) -> usize {
        self.assets.len()
    }

    /// Whether the list names none.
    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
    }
}

/// Where one owner's candidate tokens came from, and whether they can be all it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Discovery {
    /// Among `native`, `list`, `logs`, `resources`.
    pub sources: Vec<String>,
    /// Distinct tokens checked.
    pub candidates: u64,
    /// EVM chains: the first block whose logs were read.
    pub from_block: Option<u64>,
    /// EVM chains: the last (the pinned block).
    pub to_block: Option<u64>,
    /// Whether the sources cover every way the owner could hold a token of its network.
    pub complete: bool,
    /// Why not, for a person.
    pub reason: Option<String>,
}

/// One owner's holdings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OwnerHoldings {
    /// The owner, `NETWORK:OWNER`.
    pub owner: String,
    /// Where the candidates came from.
    pub discovery: Discovery,
    /// Every candidate with a balance (with its metadata), and every one that could not be
    /// read, with its error; in the order found.
    pub holdings: Vec<(Query, Result<Balance, Error>)>,
}

/// Every owner's holdings, all read at one snapshot.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HoldingsOutput {
    /// What each network was read at.
    pub snapshot: Snapshot,
    /// One entry per owner, in the order given.
    pub owners: Vec<OwnerHoldings>,
}

/// What a source found for one owner.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub tokens: Vec<Token>,
    pub sources: Vec<&'static str>,
    pub from_block: Option<u64>,
    pub to_block: Option<u64>,
    pub complete: bool,
    pub reason: Option<String>,
}

/// Owners whose candidates are looked for at once.
const DISCOVERIES_AT_ONCE: usize = 4;

/// How a source looks for an owner's tokens (log scanning: EVM chains).
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(not(feature = "evm"), allow(dead_code))]
pub(crate) struct Scan {
    pub from_block: Option<u64>,
    pub no_logs: bool,
    pub concurrency: usize,
}

impl Client {
    /// Everything each of `owners` (queries without a token: `ethereum:0xOWNER`,
    /// `aptos:0xACCOUNT`, `bitcoin:bc1...`) holds at the moment `at` pins, each holding with
    /// its metadata, and how the list was found (see the [module docs](crate::holdings)).
    ///
    /// ```no_run
    /// # async fn run(client: tokbal::Client) -> Result<(), tokbal::Error> {
    /// use tokbal::holdings::HoldingsOptions;
    /// let owner: tokbal::Query = "ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7".parse()?;
    /// let out = client.holdings(&[owner], tokbal::At::Finalized, HoldingsOptions::default()).await;
    /// for (query, balance) in &out.owners[0].holdings {
    ///     println!("{query}: {:?}", balance.as_ref().map(|b| b.formatted()));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn holdings(
        &self,
        owners: &[Query],
        at: At,
        options: HoldingsOptions,
    ) -> HoldingsOutput {
        let networks: Vec<Network> = owners.iter().map(Query::network).collect();
        let (snapshot, failed) = self.pin(&networks, at.clone()).await;
        let failed: BTreeMap<Network, Error> = failed.into_iter().collect();
        let pinned = At::Snapshot(snapshot.clone());
        let scan = Scan {
            from_block: options.from_block,
            no_logs: options.no_logs,
            concurrency: self.concurrency,
        };
        // Each owner's candidates, found at its network's pin: a few owners at a time (each
        // discovery runs requests of its own in parallel), in the order given.
        let (failed, pinned) = (&failed, &pinned);
        let found: Vec<Result<Found, Error>> = futures::stream::iter(owners)
            .map(|owner| async move {
                match failed.get(&owner.network()) {
                    Some(e) => Err(e.clone()),
                    None => self.discover_holdings(owner, pinned, scan).await,
                }
            })
            .buffered(DISCOVERIES_AT_ONCE)
            .collect()
            .await;
        // Every candidate of every owner, read in one batch at the snapshot, with metadata.
        let mut plan: Vec<(usize, Query)> = Vec::new();
        let mut discoveries = Vec::with_capacity(owners.len());
        let mut errors: Vec<Option<Error>> = Vec::with_capacity(owners.len());
        for (i, (owner, result)) in owners.iter().zip(found).enumerate() {
            match result {
                Ok(found) => {
                    let (tokens, discovery) = candidates(owner, found, &options.tokens);
                    plan.extend(tokens.into_iter().map(|t| {
                        (
                            i,
                            Query::from_parts(owner.network(), owner.owner().clone(), t),
                        )
                    }));
                    discoveries.push(discovery);
                    errors.push(None);
                }
                Err(e) => {
                    discoveries.push(Discovery {
                        sources: Vec::new(),
                        candidates: 0,
                        from_block: None,
                        to_block: None,
                        complete: false,
                        reason: Some(format!("the owner's tokens could not be listed: {e}")),
                    });
                    errors.push(Some(e));
                }
            }
        }
        let reader = self.with_metadata();
        let queries: Vec<Query> = plan.iter().map(|(_, q)| q.clone()).collect();
        let mut results: Vec<Option<Result<Balance, Error>>> = vec![None; queries.len()];
        let mut stream = reader.balances_stream(queries, pinned.clone());
        while let Some((i, result)) = stream.next().await {
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(result);
            }
        }
        drop(stream);
        let mut holdings: Vec<Vec<(Query, Result<Balance, Error>)>> =
            owners.iter().map(|_| Vec::new()).collect();
        for ((owner, query), result) in plan.into_iter().zip(results) {
            let result = result.unwrap_or_else(|| {
                Err(Error::new(
                    ErrorKind::Unavailable,
                    "internal: a holding was planned but not read",
                ))
            });
            // Only what is held; an error is kept with its candidate.
            if matches!(&result, Ok(b) if b.amount == crate::Amount::ZERO) {
                continue;
            }
            if let Some(list) = holdings.get_mut(owner) {
                list.push((query, result));
            }
        }
        let owners = owners
            .iter()
            .zip(discoveries)
            .zip(holdings)
            .zip(errors)
            .map(|(((owner, discovery), mut holdings), error)| {
                if let Some(e) = error {
                    // The owner's tokens could not be listed: its native coin's query carries
                    // why, so that the error is seen where the holdings would be.
                    holdings.push((owner.clone(), Err(e)));
                }
                OwnerHoldings {
                    owner: format!("{}:{}", owner.network(), owner.owner()),
                    discovery,
                    holdings,
                }
            })
            .collect();
        HoldingsOutput { snapshot, owners }
    }

    async fn discover_holdings(&self, owner: &Query, at: &At, scan: Scan) -> Result<Found, Error> {
        let network = owner.network();
        let (_, source) = self.sources.for_network(network)?;
        let pin = source.pin(network, at).await?;
        source.discover_holdings(owner, &pin, scan).await
    }
}

/// An owner's candidate tokens: what its source found, then the tokens given for its
/// network, each once; and the discovery report.
fn candidates(owner: &Query, found: Found, given: &[Asset]) -> (Vec<Token>, Discovery) {
    let network = owner.network();
    let mut seen: BTreeSet<Token> = BTreeSet::new();
    let mut tokens = Vec::new();
    for t in found.tokens {
        if seen.insert(t.clone()) {
            tokens.push(t);
        }
    }
    let mut sources: Vec<String> = found.sources.iter().map(|s| s.to_string()).collect();
    let mut listed = false;
    for asset in given.iter().filter(|a| a.network() == network) {
        let token = asset.token().clone();
        // APT's coin and its paired fungible asset are one holding, read by the coin type
        // (the node's balance of a coin includes its paired store).
        let apt_fa = Token::Aptos(crate::query::AssetType::apt_fungible_asset());
        if network.chain() == Chain::Aptos && token == apt_fa && seen.contains(&apt()) {
            continue;
        }
        listed = true;
        if seen.insert(token.clone()) {
            tokens.push(token);
        }
    }
    if listed {
        sources.push("list".to_string());
    }
    let discovery = Discovery {
        sources,
        candidates: tokens.len() as u64,
        from_block: found.from_block,
        to_block: found.to_block,
        complete: found.complete,
        reason: found.reason,
    };
    (tokens, discovery)
}

fn apt() -> Token {
    Token::Aptos(crate::query::AssetType::apt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_lists_read_the_uniswap_schema_and_refuse_what_is_not() {
        let list = TokenList::from_json(
            r#"{"name": "x", "tokens": [
                {"chainId": 1, "address": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "symbol": "USDC", "decimals": 6},
                {"chainId": 8453, "address": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list.assets[1].network(), Network::Base);
        for bad in [
            "[]",
            "{}",
            r#"{"tokens": [{"chainId": 1, "address": "0x12"}]}"#,
            r#"{"tokens": [{"chainId": -1, "address": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"}]}"#,
        ] {
            let e = TokenList::from_json(bad).unwrap_err();
            assert_eq!(e.field(), Some("token_list"), "{bad}");
        }
    }

    #[test]
    fn given_tokens_join_once_and_apt_is_read_by_its_coin() {
        let owner: Query = "aptos:0xa11ce".parse().unwrap();
        let found = Found {
            tokens: vec![apt()],
            sources: vec!["native", "resources"],
            ..Found::default()
        };
        let given: Vec<Asset> = ["aptos:0xa", "aptos:0xfa", "aptos:0xfa", "ethereum:eth"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let (tokens, d) = candidates(&owner, found, &given);
        assert_eq!(tokens.len(), 2, "APT, and 0xfa once: {tokens:?}");
        assert_eq!(d.sources, ["native", "resources", "list"]);
        assert_eq!(d.candidates, 2);
    }
}
