//! Everything an owner holds at one block ([`Client::holdings`]) against real contracts on
//! anvil (tests/common/anvil.rs), with Multicall3: ERC-20s received with events (found in the
//! logs) and without (found only through a token list), ERC-721 items moved in and out, an
//! ERC-1155 contract whose ids arrive by `TransferBatch` and `TransferSingle`, tokens sent
//! away entirely, the native coin; a token list in the Uniswap schema with entries of other
//! chains, a token the owner never held, a contract whose `balanceOf` reverts and an address
//! without code; log discovery from block 0, from a later block and not at all; an earlier
//! pin; what reading 30 candidates costs in requests (counted by a recording proxy).
//!
//! The contracts are evm-fixtures' (see its README): ScriptedERC20, TestUSD6, TestERC20,
//! SilentERC20 (balances written without events), ScriptedERC721(Enumerable),
//! ScriptedERC1155, Reverting. Every expectation comes from a model of the balances and of
//! the events naming each owner as recipient, kept here as the script runs ([`Script`]) and
//! checked against the chain; never from the library.
//!
//! Every anvil test starts its own node (and skips, with a note, where there is none outside
//! CI).

#[path = "common/anvil.rs"]
mod anvil;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy_primitives::{address, hex, Address, U256};
use alloy_sol_types::SolCall;
use anvil::{Anvil, ScriptedERC1155, ScriptedERC20, ScriptedERC721, SilentERC20, CHAIN_ID};
use serde_json::{json, Value};
use tokbal::holdings::{Discovery, HoldingsOptions, HoldingsOutput, OwnerHoldings, TokenList};
use tokbal::retry::RetryPolicy;
use tokbal::{Asset, At, Client, ErrorKind, Network, Query, TokenMetadata};

/// anvil as tokbal names it.
const NET: Network = Network::Evm(CHAIN_ID);
/// An address without code: a list entry no contract answers for.
const NO_CODE: Address = address!("00000000000000000000000000000000000c0de0");

fn u(n: u128) -> U256 {
    U256::from(n)
}

/// An owner of the scripts: addresses with no code (ERC-1155 transfers to them need no
/// receiver hook).
fn who(n: u64) -> Address {
    Address::left_padding_from(&(0x0a1d_0000_u64 + n).to_be_bytes())
}

fn lower(address: Address) -> String {
    hex::encode_prefixed(address)
}

fn q(s: &str) -> Query {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn asset(s: &str) -> Asset {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// `owner` as a holdings owner: the network and the address, no token.
fn owner_query(owner: Address) -> Query {
    q(&format!("{NET}:{}", lower(owner)))
}

fn meta(symbol: &str, name: &str, decimals: u8) -> TokenMetadata {
    TokenMetadata::new(Some(symbol), Some(name), Some(decimals))
}

/// The native coin of an `evm-<id>` network: no symbol or name, 18 decimals.
fn native_meta() -> TokenMetadata {
    TokenMetadata::new(None::<String>, None::<String>, Some(18))
}

fn at_block(block: u64) -> At {
    At::Blocks(BTreeMap::from([(NET, block)]))
}

/// A client of anvil's chain at `url`: no retries, the default calls per Multicall3 request,
/// no Aptos key from the environment (and Aptos sent to a closed loopback port).
fn client(url: &str) -> Client {
    Client::builder()
        .endpoint(NET, url)
        .timeout(Duration::from_secs(60))
        .retry_policy(RetryPolicy::none())
        .aptos_api_key(None)
        .aptos_url("http://127.0.0.1:9/v1")
        .build()
        .expect("a client")
}

/// `amount / 10^decimals` written out in full, computed here apart from the library: no
/// exponent, no trailing zeros, no trailing point.
fn units(amount: U256, decimals: u8) -> String {
    let digits = amount.to_string();
    let d = usize::from(decimals);
    if d == 0 {
        return digits;
    }
    let padded = format!("{digits:0>width$}", width = d + 1);
    let (whole, fraction) = padded.split_at(padded.len() - d);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{fraction}")
    }
}

#[test]
fn units_is_right_on_its_own() {
    assert_eq!(units(u(1_500_000), 6), "1.5");
    assert_eq!(units(u(1), 6), "0.000001");
    assert_eq!(units(u(7), 0), "7");
    assert_eq!(units(u(1_000_000_000_000_000_000), 18), "1");
}

// ---------------------------------------------------------------------------------------
// The model

/// A token as the model names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Tok {
    Native,
    Erc20(Address),
    /// An ERC-721 collection: the owner's count of its items.
    Erc721(Address),
    Erc1155(Address, u64),
}

impl Tok {
    /// The query a holding of this token by `owner` is reported under.
    fn query(self, owner: Address) -> Query {
        let o = lower(owner);
        q(&match self {
            Tok::Native => format!("{NET}:{o}"),
            Tok::Erc20(c) => format!("{NET}:{o}/erc20:{}", lower(c)),
            Tok::Erc721(c) => format!("{NET}:{o}/erc721:{}", lower(c)),
            Tok::Erc1155(c, id) => format!("{NET}:{o}/erc1155:{}:{id}", lower(c)),
        })
    }
}

/// One owner's holding of one token: its balance, and the blocks whose events named the
/// owner as its recipient.
#[derive(Clone, Debug, Default)]
struct Held {
    balance: U256,
    received: BTreeSet<u64>,
}

/// Every (owner, token) the script touched.
#[derive(Clone, Debug, Default)]
struct Book {
    held: BTreeMap<(Address, Tok), Held>,
}

impl Book {
    fn credit(&mut self, owner: Address, tok: Tok, amount: U256, event_in: Option<u64>) {
        let h = self.held.entry((owner, tok)).or_default();
        h.balance += amount;
        h.received.extend(event_in);
    }

    fn debit(&mut self, owner: Address, tok: Tok, amount: U256) {
        let h = self.held.entry((owner, tok)).or_default();
        assert!(
            h.balance >= amount,
            "the script takes {amount} of {tok:?} from {owner}, who has {}",
            h.balance
        );
        h.balance -= amount;
    }

    /// A balance written without an event.
    fn set(&mut self, owner: Address, tok: Tok, amount: U256) {
        self.held.entry((owner, tok)).or_default().balance = amount;
    }

    fn balance(&self, owner: Address, tok: Tok) -> U256 {
        self.held
            .get(&(owner, tok))
            .map(|h| h.balance)
            .unwrap_or_default()
    }
}

/// What a holdings read of one owner must say.
#[derive(Debug)]
struct Expected {
    /// Every holding with its balance and metadata.
    held: BTreeMap<Query, (U256, TokenMetadata)>,
    /// The candidates whose read must fail.
    failing: BTreeSet<Query>,
    /// Distinct candidates.
    candidates: u64,
}

/// The chain's history as the script writes it, and the model after each block written.
struct Script<'a> {
    node: &'a Anvil,
    now: Book,
    after: BTreeMap<u64, Book>,
    meta: BTreeMap<Address, TokenMetadata>,
}

impl<'a> Script<'a> {
    fn new(node: &'a Anvil) -> Self {
        Script {
            node,
            now: Book::default(),
            after: BTreeMap::new(),
            meta: BTreeMap::new(),
        }
    }

    async fn deploy(&mut self, artifact: &str, metadata: TokenMetadata) -> Address {
        let token = self.node.deploy(artifact).await;
        self.meta.insert(token, metadata);
        token
    }

    /// Sends `calldata` to `to`, then applies `apply` to the model with the block it landed
    /// in and records the model after that block.
    async fn step(
        &mut self,
        to: Address,
        calldata: Vec<u8>,
        apply: impl FnOnce(&mut Book, u64),
    ) -> u64 {
        let block = self.node.send(to, calldata).await.block;
        apply(&mut self.now, block);
        self.after.insert(block, self.now.clone());
        block
    }

    async fn erc20_mint(&mut self, token: Address, to: Address, amount: U256) -> u64 {
        let call = ScriptedERC20::mintCall { to, amount }.abi_encode();
        self.step(token, call, |b, n| {
            b.credit(to, Tok::Erc20(token), amount, Some(n))
        })
        .await
    }

    async fn erc20_move(&mut self, token: Address, from: Address, to: Address, amount: U256) {
        let call = ScriptedERC20::moveCall { from, to, amount }.abi_encode();
        self.step(token, call, |b, n| {
            b.debit(from, Tok::Erc20(token), amount);
            b.credit(to, Tok::Erc20(token), amount, Some(n));
        })
        .await;
    }

    /// SilentERC20.setBalanceSilently: a balance no event shows.
    async fn erc20_silently(&mut self, token: Address, owner: Address, amount: U256) {
        let call = SilentERC20::setBalanceSilentlyCall { owner, amount }.abi_encode();
        self.step(token, call, |b, _| b.set(owner, Tok::Erc20(token), amount))
            .await;
    }

    async fn erc721_mint(&mut self, token: Address, to: Address, id: u64) {
        let call = ScriptedERC721::mintCall {
            to,
            id: U256::from(id),
        }
        .abi_encode();
        self.step(token, call, |b, n| {
            b.credit(to, Tok::Erc721(token), U256::ONE, Some(n))
        })
        .await;
    }

    async fn erc721_move(&mut self, token: Address, from: Address, to: Address, id: u64) {
        let call = ScriptedERC721::moveCall {
            from,
            to,
            id: U256::from(id),
        }
        .abi_encode();
        self.step(token, call, |b, n| {
            b.debit(from, Tok::Erc721(token), U256::ONE);
            b.credit(to, Tok::Erc721(token), U256::ONE, Some(n));
        })
        .await;
    }

    async fn erc721_burn(&mut self, token: Address, owner: Address, id: u64) {
        let call = ScriptedERC721::burnCall { id: U256::from(id) }.abi_encode();
        self.step(token, call, |b, _| {
            b.debit(owner, Tok::Erc721(token), U256::ONE)
        })
        .await;
    }

    async fn erc1155_mint_batch(&mut self, token: Address, to: Address, batch: &[(u64, u128)]) {
        let call = ScriptedERC1155::mintBatchCall {
            to,
            ids: batch.iter().map(|(id, _)| U256::from(*id)).collect(),
            amounts: batch.iter().map(|(_, v)| u(*v)).collect(),
        }
        .abi_encode();
        self.step(token, call, |b, n| {
            for (id, amount) in batch {
                b.credit(to, Tok::Erc1155(token, *id), u(*amount), Some(n));
            }
        })
        .await;
    }

    async fn erc1155_move(
        &mut self,
        token: Address,
        from: Address,
        to: Address,
        id: u64,
        amount: u128,
    ) {
        let call = ScriptedERC1155::moveCall {
            from,
            to,
            id: U256::from(id),
            amount: u(amount),
        }
        .abi_encode();
        self.step(token, call, |b, n| {
            b.debit(from, Tok::Erc1155(token, id), u(amount));
            b.credit(to, Tok::Erc1155(token, id), u(amount), Some(n));
        })
        .await;
    }

    async fn erc1155_move_batch(
        &mut self,
        token: Address,
        from: Address,
        to: Address,
        batch: &[(u64, u128)],
    ) {
        let call = ScriptedERC1155::moveBatchCall {
            from,
            to,
            ids: batch.iter().map(|(id, _)| U256::from(*id)).collect(),
            amounts: batch.iter().map(|(_, v)| u(*v)).collect(),
        }
        .abi_encode();
        self.step(token, call, |b, n| {
            for (id, amount) in batch {
                b.debit(from, Tok::Erc1155(token, *id), u(*amount));
                b.credit(to, Tok::Erc1155(token, *id), u(*amount), Some(n));
            }
        })
        .await;
    }

    /// Sets `owner`'s native balance in a new block (see [`Anvil::set_native_balance`]).
    async fn native(&mut self, owner: Address, wei: U256) {
        let (block, _) = self.node.set_native_balance(owner, wei).await;
        self.now.set(owner, Tok::Native, wei);
        self.after.insert(block, self.now.clone());
    }

    /// The model at `block`: after the last block written at or before it.
    fn at(&self, block: u64) -> Book {
        self.after
            .range(..=block)
            .next_back()
            .map(|(_, b)| b.clone())
            .unwrap_or_default()
    }

    fn meta_of(&self, tok: Tok) -> TokenMetadata {
        match tok {
            Tok::Native => native_meta(),
            Tok::Erc20(c) | Tok::Erc721(c) | Tok::Erc1155(c, _) => self
                .meta
                .get(&c)
                .cloned()
                .unwrap_or_else(|| panic!("no metadata for {c}")),
        }
    }

    /// What a read of `owner` at `block` must find: the native coin; with `logs_from`, every
    /// token an event named the owner as recipient of in `logs_from..=block`; every token of
    /// `listed` (ERC-20 contracts on anvil's chain) and of `failing` (listed contracts whose
    /// read fails). Holdings are the candidates with a balance.
    fn expect(
        &self,
        owner: Address,
        block: u64,
        logs_from: Option<u64>,
        listed: &[Address],
        failing: &[Address],
    ) -> Expected {
        let book = self.at(block);
        let mut candidates: BTreeSet<Tok> = BTreeSet::from([Tok::Native]);
        if let Some(from) = logs_from {
            for ((o, tok), h) in &book.held {
                if *o == owner && h.received.range(from..=block).next().is_some() {
                    candidates.insert(*tok);
                }
            }
        }
        candidates.extend(listed.iter().map(|a| Tok::Erc20(*a)));
        let failing_toks: BTreeSet<Tok> = failing.iter().map(|a| Tok::Erc20(*a)).collect();
        candidates.extend(&failing_toks);
        let held = candidates
            .iter()
            .filter(|tok| !failing_toks.contains(tok))
            .filter_map(|tok| {
                let balance = book.balance(owner, *tok);
                (!balance.is_zero()).then(|| (tok.query(owner), (balance, self.meta_of(*tok))))
            })
            .collect();
        Expected {
            held,
            failing: failing_toks.iter().map(|t| t.query(owner)).collect(),
            candidates: candidates.len() as u64,
        }
    }

    /// The model against the chain at `block`: every balance it knows.
    async fn check_model(&self, block: u64) {
        for ((owner, tok), h) in &self.at(block).held {
            let got = match tok {
                Tok::Native => self.node.native_balance(*owner, block).await,
                Tok::Erc20(c) | Tok::Erc721(c) => {
                    let call = ScriptedERC20::balanceOfCall { owner: *owner };
                    let got = self.node.eth_call(*c, call.abi_encode(), block).await;
                    U256::from_be_slice(&got.unwrap_or_else(|e| panic!("{tok:?}: {e}")))
                }
                Tok::Erc1155(c, id) => {
                    let call = ScriptedERC1155::balanceOfCall {
                        account: *owner,
                        id: U256::from(*id),
                    };
                    let got = self.node.eth_call(*c, call.abi_encode(), block).await;
                    U256::from_be_slice(&got.unwrap_or_else(|e| panic!("{tok:?}: {e}")))
                }
            };
            assert_eq!(got, h.balance, "the model: {owner} {tok:?} at {block}");
        }
    }
}

/// One owner's holdings against `want`, all read at `block`: the owner named as
/// `NETWORK:OWNER`, each holding once, exact, with its metadata and amount in whole tokens;
/// each failing candidate kept with its error; nothing else.
#[track_caller]
fn assert_holdings(got: &OwnerHoldings, owner: Address, block: u64, want: &Expected, what: &str) {
    assert_eq!(
        got.owner,
        format!("{NET}:{}", lower(owner)),
        "{what}: owner"
    );
    let mut held = BTreeMap::new();
    let mut failed = BTreeSet::new();
    for (query, result) in &got.holdings {
        assert_eq!(query.network(), NET, "{what}: {query}");
        assert_eq!(
            query.owner().to_string(),
            lower(owner),
            "{what}: {query} is another owner's"
        );
        match result {
            Ok(b) => {
                assert!(
                    held.insert(query.clone(), b).is_none(),
                    "{what}: {query} reported twice"
                );
            }
            Err(e) => {
                assert!(!e.to_string().is_empty());
                assert!(failed.insert(query.clone()), "{what}: {query} failed twice");
            }
        }
    }
    let got_amounts: BTreeMap<&Query, U256> =
        held.iter().map(|(q, b)| (q, b.amount.as_u256())).collect();
    let want_amounts: BTreeMap<&Query, U256> =
        want.held.iter().map(|(q, (a, _))| (q, *a)).collect();
    assert_eq!(got_amounts, want_amounts, "{what}: holdings");
    for (query, (amount, metadata)) in &want.held {
        let b = held[query];
        assert!(!amount.is_zero(), "{what}: the model holds no zero");
        assert_eq!(
            b.block,
            Some(block),
            "{what}: {query} read at another block"
        );
        assert_eq!(
            b.token.as_deref(),
            Some(metadata),
            "{what}: {query}'s metadata"
        );
        assert_eq!(
            b.formatted(),
            metadata.decimals.map(|d| units(*amount, d)),
            "{what}: {query} in whole tokens"
        );
    }
    assert_eq!(failed, want.failing, "{what}: failing candidates");
    assert_eq!(
        got.discovery.candidates, want.candidates,
        "{what}: candidates {:?}",
        got.discovery
    );
}

fn sources(d: &Discovery) -> BTreeSet<&str> {
    d.sources.iter().map(String::as_str).collect()
}

/// Logs read from block 0 to `to`: the list is whole.
#[track_caller]
fn assert_complete(d: &Discovery, to: u64, listed: bool, what: &str) {
    let mut want = BTreeSet::from(["native", "logs"]);
    if listed {
        want.insert("list");
    }
    assert_eq!(sources(d), want, "{what}: {d:?}");
    assert_eq!((d.from_block, d.to_block), (Some(0), Some(to)), "{what}");
    assert!(d.complete, "{what}: {d:?}");
    assert_eq!(d.reason, None, "{what}");
}

/// Not whole, and saying why.
#[track_caller]
fn assert_incomplete(d: &Discovery, what: &str) {
    assert!(!d.complete, "{what}: {d:?}");
    let reason = d.reason.as_deref().unwrap_or_default();
    assert!(!reason.trim().is_empty(), "{what}: no reason: {d:?}");
    // For a person: words, one space apart, on one line.
    assert_eq!(reason, reason.trim(), "{what}: {reason:?}");
    assert!(
        !reason.contains("  ") && !reason.chars().any(char::is_control),
        "{what}: {reason:?}"
    );
}

/// A token list in the Uniswap token-lists schema.
fn token_list_json(entries: &[(u64, Address, &str, &str, u8)]) -> String {
    let tokens: Vec<Value> = entries
        .iter()
        .map(|(chain, address, symbol, name, decimals)| {
            json!({
                "chainId": chain,
                // EIP-55 mixed case, as lists write addresses.
                "address": address.to_checksum(None),
                "symbol": symbol,
                "name": name,
                "decimals": decimals,
                "logoURI": "https://example.invalid/logo.png",
                "tags": ["test"],
            })
        })
        .collect();
    json!({
        "name": "Tokbal Test List",
        "timestamp": "2026-01-01T00:00:00.000Z",
        "version": {"major": 1, "minor": 0, "patch": 0},
        "keywords": ["tokbal", "test"],
        "tokens": tokens,
    })
    .to_string()
}

fn token_list(entries: &[(u64, Address, &str, &str, u8)]) -> TokenList {
    let text = token_list_json(entries);
    TokenList::from_json(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

async fn holdings(
    client: &Client,
    owners: &[Address],
    at: At,
    options: HoldingsOptions,
) -> HoldingsOutput {
    let owners: Vec<Query> = owners.iter().map(|o| owner_query(*o)).collect();
    let out = client.holdings(&owners, at, options).await;
    assert_eq!(out.owners.len(), owners.len(), "one entry per owner");
    out
}

// ---------------------------------------------------------------------------------------
// The history

/// The tokens of [`history`].
struct Tokens {
    /// ScriptedERC20: received with events, on no list.
    logs_only: Address,
    /// TestUSD6: received with events, and on the list.
    usd: Address,
    /// SilentERC20: held without an event; on the list.
    silent: Address,
    /// ScriptedERC20: received, then all of it sent away.
    gone: Address,
    /// TestERC20: on the list; only `other` ever held it.
    never: Address,
    /// SilentERC20: held without an event; listed only under other chains' ids.
    hidden: Address,
    /// Reverting: on the list; every `balanceOf` reverts.
    broken: Address,
    /// ScriptedERC721: items moved in, one minted and burnt.
    nft: Address,
    /// ScriptedERC721Enumerable: an item received and sent away.
    nft_gone: Address,
    /// ScriptedERC1155: ids by batch and single transfers.
    multi: Address,
}

/// The list of [`history`]: anvil's chain's entries (`silent`, `usd`, `never`, `broken`, an
/// address without code), and `hidden` and `logs_only` under other chains' ids.
fn history_list(t: &Tokens) -> TokenList {
    let list = token_list(&[
        (CHAIN_ID, t.silent, "TBSIL", "Tokbal Silent Token", 18),
        (CHAIN_ID, t.usd, "USDT6", "USD Test", 6),
        (CHAIN_ID, t.never, "TBT", "Tokbal Test Token", 18),
        (CHAIN_ID, t.broken, "BRK", "Broken", 18),
        (CHAIN_ID, NO_CODE, "NONE", "No Contract", 18),
        (1, t.hidden, "HID", "Hidden on mainnet", 18),
        (10, t.hidden, "HID", "Hidden on Optimism", 18),
        (8453, t.logs_only, "TBS", "Tokbal Scripted Token", 18),
    ]);
    assert_eq!(list.len(), 8, "every entry, whatever its chain");
    list
}

/// `owner` and `other` receive, move and lose tokens of every kind; returns the tokens and
/// the last block of the ERC-20 part (before any NFT moves).
async fn history(s: &mut Script<'_>, owner: Address, other: Address) -> (Tokens, u64) {
    let scripted = || meta("TBS", "Tokbal Scripted Token", 18);
    let silent_meta = || meta("TBSIL", "Tokbal Silent Token", 18);
    let logs_only = s.deploy("ScriptedERC20", scripted()).await;
    let usd = s.deploy("TestUSD6", meta("USDT6", "USD Test", 6)).await;
    let silent = s.deploy("SilentERC20", silent_meta()).await;
    let gone = s.deploy("ScriptedERC20", scripted()).await;
    let never = s
        .deploy("TestERC20", meta("TBT", "Tokbal Test Token", 18))
        .await;
    let hidden = s.deploy("SilentERC20", silent_meta()).await;
    let broken = s.deploy("Reverting", TokenMetadata::default()).await;

    s.erc20_mint(logs_only, owner, u(1_234_500_000_000_000_000))
        .await;
    s.erc20_mint(logs_only, other, u(5)).await;
    s.erc20_move(logs_only, owner, other, u(234_500_000_000_000_000))
        .await;
    s.erc20_mint(usd, owner, u(2_500_000)).await;
    s.erc20_silently(silent, owner, u(700_000_000_000_000_000))
        .await;
    s.erc20_mint(gone, owner, u(50)).await;
    s.erc20_move(gone, owner, other, u(50)).await; // all of it
    s.erc20_mint(never, other, u(9)).await;
    s.erc20_silently(hidden, owner, u(11)).await;
    let (erc20_end, _, _) = s.node.tip().await;

    let nft = s
        .deploy("ScriptedERC721", meta("TBSNFT", "Tokbal Scripted NFT", 0))
        .await;
    for id in [1, 2, 3] {
        s.erc721_mint(nft, other, id).await;
    }
    s.erc721_move(nft, other, owner, 1).await;
    s.erc721_move(nft, other, owner, 2).await;
    s.erc721_mint(nft, owner, 5).await;
    s.erc721_burn(nft, owner, 5).await;
    let nft_gone = s
        .deploy(
            "ScriptedERC721Enumerable",
            meta("TBSENFT", "Tokbal Scripted Enumerable NFT", 0),
        )
        .await;
    s.erc721_mint(nft_gone, owner, 9).await;
    s.erc721_move(nft_gone, owner, other, 9).await; // the only item, sent away
    let multi = s
        .deploy(
            "ScriptedERC1155",
            TokenMetadata::new(None::<String>, None::<String>, Some(0)),
        )
        .await;
    s.erc1155_mint_batch(multi, other, &[(7, 10), (8, 20), (9, 30)])
        .await;
    // One TransferBatch to the owner, id 7 twice.
    s.erc1155_move_batch(multi, other, owner, &[(7, 4), (8, 20), (7, 1)])
        .await;
    s.erc1155_move(multi, owner, other, 8, 20).await; // id 8 leaves whole
    s.erc1155_mint_batch(multi, owner, &[(11, 3), (12, 6)])
        .await;
    s.erc1155_move(multi, owner, other, 12, 6).await;
    s.native(owner, u(1_500_000_000_000_000_000)).await;
    s.native(other, u(1)).await;
    s.node.rpc_ok("anvil_mine", json!([3])).await;

    let tokens = Tokens {
        logs_only,
        usd,
        silent,
        gone,
        never,
        hidden,
        broken,
        nft,
        nft_gone,
        multi,
    };
    (tokens, erc20_end)
}

// ---------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn holdings_follow_the_history_with_a_token_list() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let [owner, other, nobody] = [1, 2, 3].map(who);
    let mut s = Script::new(&node);
    let (t, _) = history(&mut s, owner, other).await;
    let (tip, _, _) = node.tip().await;
    s.check_model(tip).await;

    // The model says what the script meant.
    let book = s.at(tip);
    for (tok, want) in [
        (Tok::Erc20(t.logs_only), u(1_000_000_000_000_000_000)),
        (Tok::Erc20(t.usd), u(2_500_000)),
        (Tok::Erc20(t.silent), u(700_000_000_000_000_000)),
        (Tok::Erc20(t.gone), U256::ZERO),
        (Tok::Erc20(t.hidden), u(11)),
        (Tok::Erc721(t.nft), u(2)),
        (Tok::Erc721(t.nft_gone), U256::ZERO),
        (Tok::Erc1155(t.multi, 7), u(5)),
        (Tok::Erc1155(t.multi, 8), U256::ZERO),
        (Tok::Erc1155(t.multi, 11), u(3)),
        (Tok::Erc1155(t.multi, 12), U256::ZERO),
        (Tok::Native, u(1_500_000_000_000_000_000)),
    ] {
        assert_eq!(book.balance(owner, tok), want, "the model: {tok:?}");
    }

    let list = history_list(&t);
    let listed = [t.silent, t.usd, t.never];
    let failing = [t.broken, NO_CODE];
    let client = client(node.url());
    let out = holdings(
        &client,
        &[owner, other, nobody],
        At::Latest,
        HoldingsOptions::default().token_list(&list),
    )
    .await;
    assert_eq!(out.snapshot.block(NET), Some(tip));
    for (i, who) in [owner, other, nobody].into_iter().enumerate() {
        let what = format!("owner {i} ({who})");
        let want = s.expect(who, tip, Some(0), &listed, &failing);
        assert_holdings(&out.owners[i], who, tip, &want, &what);
        assert_complete(&out.owners[i].discovery, tip, true, &what);
    }
    // Spelled out for the owner: what is held, whichever way it was found; nothing sent away,
    // never held, or listed under another chain.
    let want = s.expect(owner, tip, Some(0), &listed, &failing);
    let held: BTreeSet<Query> = want.held.keys().cloned().collect();
    let spelled: BTreeSet<Query> = [
        Tok::Native,
        Tok::Erc20(t.logs_only),
        Tok::Erc20(t.usd),
        Tok::Erc20(t.silent),
        Tok::Erc721(t.nft),
        Tok::Erc1155(t.multi, 7),
        Tok::Erc1155(t.multi, 11),
    ]
    .into_iter()
    .map(|tok| tok.query(owner))
    .collect();
    assert_eq!(held, spelled);
    // native; logs: logs_only, usd, gone, nft, nft_gone, multi 7, 8, 11, 12; the list adds
    // silent, never, broken and the address without code.
    assert_eq!(want.candidates, 14);
    // The failing candidates carry their errors; the one without code says so.
    let no_code = Tok::Erc20(NO_CODE).query(owner);
    let error = out.owners[0]
        .holdings
        .iter()
        .find(|(q, _)| *q == no_code)
        .and_then(|(_, r)| r.as_ref().err())
        .expect("the address without code is reported");
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    // Nobody holds nothing, yet every candidate was checked: the native coin and the list.
    assert!(out.owners[2]
        .holdings
        .iter()
        .all(|(q, r)| r.is_err() && *q != Tok::Native.query(nobody)));
    assert_eq!(out.owners[2].discovery.candidates, 1 + 5);
}

#[tokio::test]
async fn logs_find_what_no_list_names_and_a_list_what_no_log_shows() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let [owner, other] = [1, 2].map(who);
    let mut s = Script::new(&node);
    let (t, erc20_end) = history(&mut s, owner, other).await;
    let (tip, _, _) = node.tip().await;
    let client = client(node.url());
    let list = history_list(&t);
    let listed = [t.silent, t.usd, t.never];
    let failing = [t.broken, NO_CODE];

    // Logs alone: the silent balance is not found; the list's tokens are not candidates.
    let out = holdings(&client, &[owner], At::Latest, HoldingsOptions::default()).await;
    let want = s.expect(owner, tip, Some(0), &[], &[]);
    assert!(want
        .held
        .contains_key(&Tok::Erc20(t.logs_only).query(owner)));
    assert!(!want.held.contains_key(&Tok::Erc20(t.silent).query(owner)));
    assert!(!want.held.contains_key(&Tok::Erc20(t.hidden).query(owner)));
    assert_holdings(&out.owners[0], owner, tip, &want, "logs alone");
    assert_complete(&out.owners[0].discovery, tip, false, "logs alone");

    // The list alone (--no-logs): the native coin and the list; nothing only the logs show.
    let out = holdings(
        &client,
        &[owner],
        At::Latest,
        HoldingsOptions::default().token_list(&list).no_logs(),
    )
    .await;
    let want = s.expect(owner, tip, None, &listed, &failing);
    assert!(!want
        .held
        .contains_key(&Tok::Erc20(t.logs_only).query(owner)));
    assert!(!want.held.contains_key(&Tok::Erc721(t.nft).query(owner)));
    assert!(want.held.contains_key(&Tok::Erc20(t.silent).query(owner)));
    assert_holdings(&out.owners[0], owner, tip, &want, "no logs");
    let d = &out.owners[0].discovery;
    assert_eq!(sources(d), BTreeSet::from(["native", "list"]), "{d:?}");
    assert_eq!(
        (d.from_block, d.to_block),
        (None, None),
        "no logs were read"
    );
    assert_incomplete(d, "no logs");
    assert_eq!(out.snapshot.block(NET), Some(tip));

    // Tokens given one by one, as `--tokens` does: this network's are checked, others not.
    let out = holdings(
        &client,
        &[owner],
        At::Latest,
        HoldingsOptions::default().tokens([
            asset(&format!("{NET}:erc20:{}", lower(t.silent))),
            asset(&format!("ethereum:erc20:{}", lower(t.hidden))),
            asset(&format!("{NET}:erc1155:{}:9", lower(t.multi))),
        ]),
    )
    .await;
    let mut want = s.expect(owner, tip, Some(0), &[t.silent], &[]);
    // Id 9 was never the owner's: a candidate more, no holding.
    want.candidates += 1;
    assert_holdings(&out.owners[0], owner, tip, &want, "tokens given");
    assert_complete(&out.owners[0].discovery, tip, true, "tokens given");

    // Logs from a later block: what arrived only before it is missed, and the list says it
    // may not be whole.
    let split = erc20_end + 1;
    let out = holdings(
        &client,
        &[owner],
        At::Latest,
        HoldingsOptions::default()
            .token_list(&list)
            .from_block(split),
    )
    .await;
    let want = s.expect(owner, tip, Some(split), &listed, &failing);
    assert!(
        !want
            .held
            .contains_key(&Tok::Erc20(t.logs_only).query(owner)),
        "received only before the split"
    );
    assert!(
        want.held.contains_key(&Tok::Erc20(t.usd).query(owner)),
        "the list still names it"
    );
    assert!(want.held.contains_key(&Tok::Erc721(t.nft).query(owner)));
    assert_holdings(&out.owners[0], owner, tip, &want, "from a later block");
    let d = &out.owners[0].discovery;
    assert_eq!(
        sources(d),
        BTreeSet::from(["native", "logs", "list"]),
        "{d:?}"
    );
    assert_eq!((d.from_block, d.to_block), (Some(split), Some(tip)));
    assert_incomplete(d, "from a later block");
}

#[tokio::test]
async fn an_earlier_pin_finds_what_was_held_then() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let [owner, other] = [1, 2].map(who);
    let mut s = Script::new(&node);
    let (t, erc20_end) = history(&mut s, owner, other).await;
    s.check_model(erc20_end).await;
    let client = client(node.url());
    let list = history_list(&t);
    for block in [erc20_end, erc20_end + 9] {
        let out = holdings(
            &client,
            &[owner, other],
            at_block(block),
            HoldingsOptions::default().token_list(&list),
        )
        .await;
        assert_eq!(out.snapshot.block(NET), Some(block));
        for (i, who) in [owner, other].into_iter().enumerate() {
            let what = format!("owner {i} at {block}");
            let want = s.expect(
                who,
                block,
                Some(0),
                &[t.silent, t.usd, t.never],
                &[t.broken, NO_CODE],
            );
            assert_holdings(&out.owners[i], who, block, &want, &what);
            assert_complete(&out.owners[i].discovery, block, true, &what);
        }
    }
    // Then, the owner had no NFT and no native coin yet.
    let then = s.expect(owner, erc20_end, Some(0), &[], &[]);
    assert!(!then.held.contains_key(&Tok::Native.query(owner)));
    assert!(!then.held.keys().any(|q| q.to_string().contains("erc721")));
    assert!(then
        .held
        .contains_key(&Tok::Erc20(t.logs_only).query(owner)));
}

#[test]
fn a_malformed_token_list_names_the_field() {
    for bad in [
        "",
        "[]",
        "{}",
        r#"{"tokens": {}}"#,
        r#"{"tokens": [{"chainId": 1}]}"#,
        r#"{"tokens": [{"chainId": 1, "address": "0x12"}]}"#,
        r#"{"tokens": [{"chainId": "one", "address": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"}]}"#,
        r#"{"tokens": [{"chainId": 1, "address": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48""#,
    ] {
        let error = match TokenList::from_json(bad) {
            Ok(list) => panic!("{bad:?}: read as a list of {}", list.len()),
            Err(e) => e,
        };
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{bad:?}: {error}");
        assert_eq!(error.field(), Some("token_list"), "{bad:?}: {error}");
    }
    let list = token_list(&[(CHAIN_ID, who(1), "A", "A", 18), (1, who(2), "B", "B", 6)]);
    assert_eq!(list.len(), 2);
}

// ---------------------------------------------------------------------------------------
// What it costs

/// A JSON-RPC proxy on 127.0.0.1 in front of anvil that records the methods each HTTP request
/// carried (one for a single call, each call's for a batch).
struct Recorder {
    url: String,
    seen: Arc<Mutex<Vec<Vec<String>>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[derive(Clone)]
struct Upstream {
    url: String,
    http: reqwest::Client,
    seen: Arc<Mutex<Vec<Vec<String>>>>,
}

impl Recorder {
    async fn start(upstream: &str) -> Recorder {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = Upstream {
            url: upstream.to_owned(),
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("an HTTP client"),
            seen: Arc::clone(&seen),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port on 127.0.0.1");
        let port = listener.local_addr().expect("the proxy's address").port();
        let app = axum::Router::new()
            .route("/", axum::routing::post(forward))
            .with_state(state);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Recorder {
            url: format!("http://127.0.0.1:{port}"),
            seen,
            server,
        }
    }

    /// Every HTTP request so far: the methods it carried.
    fn requests(&self) -> Vec<Vec<String>> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

async fn forward(
    axum::extract::State(up): axum::extract::State<Upstream>,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    let method = |call: &Value| {
        call.get("method")
            .and_then(Value::as_str)
            .unwrap_or("(none)")
            .to_owned()
    };
    let methods = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(calls)) => calls.iter().map(method).collect(),
        Ok(call) => vec![method(&call)],
        Err(_) => vec!["(not JSON)".to_owned()],
    };
    up.seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(methods);
    let answer = up
        .http
        .post(&up.url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    match answer {
        Ok(answer) => {
            let status =
                StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let bytes = answer.bytes().await.unwrap_or_default();
            (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// The methods that read balances and metadata (and check that a contract exists).
const READS: [&str; 3] = ["eth_call", "eth_getBalance", "eth_getCode"];
/// The methods that pin a block and check it is still the chain's.
const PIN: [&str; 4] = [
    "eth_chainId",
    "eth_blockNumber",
    "eth_getBlockByNumber",
    "eth_getBlockByHash",
];

/// The requests a holdings read sent, by what they were for: (log scan, reads, pin).
fn classify(requests: &[Vec<String>]) -> (usize, usize, usize) {
    let has = |r: &Vec<String>, set: &[&str]| r.iter().any(|m| set.contains(&m.as_str()));
    let reads = requests.iter().filter(|r| has(r, &READS)).count();
    let logs = requests
        .iter()
        .filter(|r| !has(r, &READS) && has(r, &["eth_getLogs"]))
        .count();
    let others: Vec<&Vec<String>> = requests
        .iter()
        .filter(|r| !has(r, &READS) && !has(r, &["eth_getLogs"]))
        .collect();
    for r in &others {
        assert!(
            r.iter().all(|m| PIN.contains(&m.as_str())),
            "a request neither for the logs, the reads nor the pin: {r:?} (all: {requests:?})"
        );
    }
    (logs, reads, others.len())
}

#[tokio::test]
async fn thirty_candidates_cost_the_log_scan_and_two_requests() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let owner = who(1);
    let mut s = Script::new(&node);
    // 20 ERC-20s received with events, 8 held silently and named by the list, two ERC-1155
    // ids in one batch: 30 tokens, and the native coin.
    let mut received = Vec::new();
    for i in 0..20u128 {
        let token = s
            .deploy("ScriptedERC20", meta("TBS", "Tokbal Scripted Token", 18))
            .await;
        s.erc20_mint(token, owner, u(1_000 + i)).await;
        received.push(token);
    }
    let mut silent = Vec::new();
    for i in 0..8u128 {
        let token = s
            .deploy("SilentERC20", meta("TBSIL", "Tokbal Silent Token", 18))
            .await;
        s.erc20_silently(token, owner, u(10_000_000_000_000_000 * (i + 1)))
            .await;
        silent.push(token);
    }
    let multi = s
        .deploy(
            "ScriptedERC1155",
            TokenMetadata::new(None::<String>, None::<String>, Some(0)),
        )
        .await;
    s.erc1155_mint_batch(multi, owner, &[(1, 2), (2, 3)]).await;
    s.native(owner, u(3_000_000_000_000_000_000)).await;
    let (tip, _, _) = node.tip().await;
    s.check_model(tip).await;
    let entries: Vec<(u64, Address, &str, &str, u8)> = silent
        .iter()
        .map(|a| (CHAIN_ID, *a, "TBSIL", "Tokbal Silent Token", 18))
        .collect();
    let list = token_list(&entries);

    let proxy = Recorder::start(node.url()).await;
    let out = holdings(
        &client(&proxy.url),
        &[owner],
        At::Latest,
        HoldingsOptions::default().token_list(&list),
    )
    .await;
    let want = s.expect(owner, tip, Some(0), &silent, &[]);
    assert_eq!(want.candidates, 31, "30 tokens and the native coin");
    assert_eq!(want.held.len(), 31, "all held");
    assert_holdings(&out.owners[0], owner, tip, &want, "30 candidates");
    assert_complete(&out.owners[0].discovery, tip, true, "30 candidates");
    let requests = proxy.requests();
    let (logs, reads, pin) = classify(&requests);
    assert!(logs >= 1, "the logs were scanned: {requests:?}");
    assert!(
        reads <= 2,
        "{reads} requests for 31 balances and their metadata: {requests:?}"
    );
    // The pin: the chain id and the block, and the check that the block is still the
    // chain's once its logs are read.
    assert!(pin <= 3, "{pin} requests to pin: {requests:?}");

    // Without logs: no log request at all, and the same two at most for the rest.
    let proxy = Recorder::start(node.url()).await;
    let list = token_list(
        &received
            .iter()
            .chain(&silent)
            .map(|a| (CHAIN_ID, *a, "TB", "Tokbal", 18))
            .collect::<Vec<_>>(),
    );
    let out = holdings(
        &client(&proxy.url),
        &[owner],
        At::Latest,
        HoldingsOptions::default().token_list(&list).no_logs(),
    )
    .await;
    let mut listed = received.clone();
    listed.extend(&silent);
    let want = s.expect(owner, tip, None, &listed, &[]);
    assert_eq!(want.candidates, 29);
    assert_holdings(&out.owners[0], owner, tip, &want, "no logs");
    assert_incomplete(&out.owners[0].discovery, "no logs");
    let requests = proxy.requests();
    let (logs, reads, pin) = classify(&requests);
    assert_eq!(logs, 0, "{requests:?}");
    assert!(reads <= 2, "{requests:?}");
    assert!(pin <= 3, "{requests:?}");
}
