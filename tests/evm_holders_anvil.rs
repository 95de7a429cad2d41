//! Every holder of a token at one block ([`Client::holders`]) against real contracts on anvil
//! (tests/common/anvil.rs), with Multicall3: scripted histories of mints, transfers, burns,
//! transfers to self, holders who leave, many events in one block, ERC-721 items that move
//! and burn, ERC-1155 batches that mix ids, a balance that changes without an event; read
//! directly and through a proxy that refuses `eth_getLogs` as providers do, rate-limits, adds
//! logs marked removed, or reorganises the chain while the logs are read
//! (tests/common/logs_proxy.rs).
//!
//! The contracts are evm-fixtures' ScriptedERC20, ScriptedERC721(Enumerable),
//! ScriptedERC1155(Supply) and SilentERC20 (see its README): one sender scripts every
//! transfer. Every expectation comes from a model of the balances kept here as the script
//! runs ([`Ledger`]), never from the library; the model is checked against the chain too.
//!
//! Every anvil test starts its own node (and skips, with a note, where there is none outside
//! CI).

#[path = "common/anvil.rs"]
mod anvil;
#[path = "common/logs_proxy.rs"]
mod logs_proxy;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use alloy_primitives::{hex, Address, U256};
use alloy_sol_types::SolCall;
use anvil::{Anvil, ScriptedERC1155, ScriptedERC20, ScriptedERC721, SilentERC20, CHAIN_ID};
use futures::StreamExt;
use logs_proxy::{Limits, LogsProxy, Outcome, Shape, Throttle, ThrottleShape};
use tokbal::retry::RetryPolicy;
use tokbal::{
    Amount, Asset, At, Client, ErrorKind, HoldersOptions, HoldersOutput, Network, TokenMetadata,
};

/// anvil as tokbal names it.
const NET: Network = Network::Evm(CHAIN_ID);
/// Calls per Multicall3 request: small, so that the balances take several requests.
const K: usize = 20;
/// The proxy's caps in the limited runs.
const MAX_BLOCKS: u64 = 16;
const MAX_LOGS: usize = 40;

fn u(n: u64) -> U256 {
    U256::from(n)
}

/// A holder of the scripts: addresses with no code (ERC-1155 transfers to them need no
/// receiver hook).
fn who(n: u64) -> Address {
    Address::left_padding_from(&(0xa11c_e000_u64 + n).to_be_bytes())
}

fn lower(address: Address) -> String {
    hex::encode_prefixed(address)
}

fn asset(s: &str) -> Asset {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn erc20(token: Address) -> Asset {
    asset(&format!("{NET}:erc20:{}", lower(token)))
}

fn erc721(token: Address) -> Asset {
    asset(&format!("{NET}:erc721:{}", lower(token)))
}

fn erc1155(token: Address, id: u64) -> Asset {
    asset(&format!("{NET}:erc1155:{}:{id}", lower(token)))
}

fn at_block(block: u64) -> At {
    At::Blocks(BTreeMap::from([(NET, block)]))
}

/// A client reading anvil's chain at `url`: K calls per Multicall3 request, no Aptos key
/// from the environment (and Aptos, where it is built in, sent to a closed loopback port).
fn client_with(url: &str, retry: RetryPolicy) -> Client {
    builder(url, retry).build().expect("a client")
}

/// The builder of [`client_with`], for a test to set more.
fn builder(url: &str, retry: RetryPolicy) -> tokbal::ClientBuilder {
    let builder = Client::builder()
        .endpoint(NET, url)
        .timeout(Duration::from_secs(60))
        .retry_policy(retry)
        .evm_calls_per_request(K);
    #[cfg(feature = "aptos")]
    let builder = builder
        .aptos_api_key(None)
        .aptos_url("http://127.0.0.1:9/v1");
    builder
}

/// No retries: every answer is looked at as it came.
fn client(url: &str) -> Client {
    client_with(url, RetryPolicy::none())
}

/// Retries as a user's client would (rate limits honoured).
fn patient_client(url: &str) -> Client {
    client_with(
        url,
        RetryPolicy::default()
            .with_max_attempts(8)
            .with_max_total_delay(Duration::from_secs(60)),
    )
}

async fn holders(client: &Client, asset: &Asset, at: At, options: HoldersOptions) -> HoldersOutput {
    client
        .holders(asset, at, options)
        .await
        .unwrap_or_else(|e| panic!("holders of {asset}: {e}"))
}

/// The holders as (owner, balance), in the order given.
fn listed(out: &HoldersOutput) -> Vec<(Address, U256)> {
    out.holders
        .iter()
        .map(|h| (Address::from(*h.owner.as_bytes()), h.balance.as_u256()))
        .collect()
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

// ---------------------------------------------------------------------------------------
// The model

/// Balances of one token (an ERC-20, an ERC-721 collection's counts, one ERC-1155 id) as the
/// script leaves them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Ledger {
    balances: BTreeMap<Address, U256>,
    minted: U256,
    burned: U256,
    /// Every address an event named as sender or receiver (the zero address aside).
    touched: BTreeSet<Address>,
}

impl Ledger {
    fn credit(&mut self, to: Address, amount: U256) {
        *self.balances.entry(to).or_default() += amount;
    }

    fn debit(&mut self, from: Address, amount: U256) {
        let balance = self.balances.entry(from).or_default();
        assert!(
            *balance >= amount,
            "the script takes {amount} from {from}, who has {balance}"
        );
        *balance -= amount;
    }

    fn mint(&mut self, to: Address, amount: U256) {
        self.credit(to, amount);
        self.minted += amount;
        self.touched.insert(to);
    }

    fn burn(&mut self, from: Address, amount: U256) {
        self.debit(from, amount);
        self.burned += amount;
        self.touched.insert(from);
    }

    fn transfer(&mut self, from: Address, to: Address, amount: U256) {
        self.debit(from, amount);
        self.credit(to, amount);
        self.touched.extend([from, to]);
    }

    /// A balance written without an event, the supply following it (SilentERC20).
    fn set_silently(&mut self, owner: Address, amount: U256) {
        let old = self.balances.insert(owner, amount).unwrap_or_default();
        if amount >= old {
            self.minted += amount - old;
        } else {
            self.burned += old - amount;
        }
    }

    fn balance(&self, owner: Address) -> U256 {
        self.balances.get(&owner).copied().unwrap_or_default()
    }

    fn supply(&self) -> U256 {
        self.minted - self.burned
    }

    fn sum(&self) -> U256 {
        self.balances.values().fold(U256::ZERO, |s, b| s + *b)
    }

    /// The holders with at least `min` (and more than nothing): largest first, then by
    /// owner (byte order, which is the order of their lower-case hex).
    fn holders(&self, min: U256) -> Vec<(Address, U256)> {
        let mut holders: Vec<_> = self
            .balances
            .iter()
            .filter(|(_, b)| !b.is_zero() && **b >= min)
            .map(|(a, b)| (*a, *b))
            .collect();
        holders.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        holders
    }
}

/// A model and its state after each block the script wrote to.
#[derive(Debug, Default)]
struct Recorded<M> {
    now: M,
    after: BTreeMap<u64, M>,
    /// The events the script's transactions emitted, in all.
    events: u64,
}

impl<M: Clone + Default> Recorded<M> {
    fn record(&mut self, block: u64, events: u64) {
        self.after.insert(block, self.now.clone());
        self.events += events;
    }

    /// The state at `block`: after the last block written at or before it.
    fn at(&self, block: u64) -> M {
        self.after
            .range(..=block)
            .next_back()
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    fn last_block(&self) -> u64 {
        self.after.keys().next_back().copied().unwrap_or(0)
    }
}

// ---------------------------------------------------------------------------------------
// Scripts

/// One step of an ERC-20 script.
#[derive(Clone, Debug)]
enum Step {
    Mint(Address, U256),
    MintMany(Vec<(Address, U256)>),
    Burn(Address, U256),
    Transfer(Address, Address, U256),
}

impl Step {
    fn calldata(&self) -> Vec<u8> {
        match self {
            Step::Mint(to, amount) => ScriptedERC20::mintCall {
                to: *to,
                amount: *amount,
            }
            .abi_encode(),
            Step::MintMany(list) => ScriptedERC20::mintManyCall {
                to: list.iter().map(|(a, _)| *a).collect(),
                amounts: list.iter().map(|(_, v)| *v).collect(),
            }
            .abi_encode(),
            Step::Burn(from, amount) => ScriptedERC20::burnCall {
                from: *from,
                amount: *amount,
            }
            .abi_encode(),
            Step::Transfer(from, to, amount) => ScriptedERC20::moveCall {
                from: *from,
                to: *to,
                amount: *amount,
            }
            .abi_encode(),
        }
    }

    /// A gas limit the step stays within (a new balance slot and an event: under 60,000 an
    /// address).
    fn gas(&self) -> u64 {
        match self {
            Step::MintMany(list) => 100_000 + 60_000 * list.len() as u64,
            _ => 150_000,
        }
    }

    /// Applies the step to the model; the events it emits.
    fn apply(&self, ledger: &mut Ledger) -> u64 {
        match self {
            Step::Mint(to, amount) => ledger.mint(*to, *amount),
            Step::MintMany(list) => {
                for (to, amount) in list {
                    ledger.mint(*to, *amount);
                }
                return list.len() as u64;
            }
            Step::Burn(from, amount) => ledger.burn(*from, *amount),
            Step::Transfer(from, to, amount) => ledger.transfer(*from, *to, *amount),
        }
        1
    }
}

/// An ERC-20 (ScriptedERC20, or SilentERC20 for mints and transfers: same selectors) and
/// its model.
struct Erc20<'a> {
    node: &'a Anvil,
    token: Address,
    /// The block it was deployed in.
    created: u64,
    model: Recorded<Ledger>,
}

impl<'a> Erc20<'a> {
    async fn deploy(node: &'a Anvil, artifact: &str) -> Erc20<'a> {
        let token = node.deploy(artifact).await;
        let (created, _, _) = node.tip().await;
        Erc20 {
            node,
            token,
            created,
            model: Recorded::default(),
        }
    }

    async fn run(&mut self, step: Step) -> u64 {
        let landed = self.node.send(self.token, step.calldata()).await;
        let events = step.apply(&mut self.model.now);
        self.model.record(landed.block, events);
        landed.block
    }

    async fn mint(&mut self, to: Address, amount: U256) -> u64 {
        self.run(Step::Mint(to, amount)).await
    }

    async fn burn(&mut self, from: Address, amount: U256) -> u64 {
        self.run(Step::Burn(from, amount)).await
    }

    async fn transfer(&mut self, from: Address, to: Address, amount: U256) -> u64 {
        self.run(Step::Transfer(from, to, amount)).await
    }

    /// Every step in one block (automine off, then one `evm_mine`); returns the block.
    async fn in_one_block(&mut self, steps: Vec<Step>) -> u64 {
        self.node.set_automine(false).await;
        let mut sent = Vec::new();
        for step in &steps {
            sent.push(
                self.node
                    .submit(self.token, step.calldata(), step.gas())
                    .await,
            );
        }
        let (block, _) = self.node.mine().await;
        self.node.set_automine(true).await;
        let mut events = 0;
        for (tx, step) in sent.into_iter().zip(&steps) {
            assert_eq!(self.node.landed(tx).await.block, block, "{step:?}");
            events += step.apply(&mut self.model.now);
        }
        self.model.record(block, events);
        block
    }

    /// SilentERC20.setBalanceSilently(owner, amount): no event.
    async fn set_silently(&mut self, owner: Address, amount: U256) -> u64 {
        let call = SilentERC20::setBalanceSilentlyCall { owner, amount };
        let landed = self.node.send(self.token, call.abi_encode()).await;
        self.model.now.set_silently(owner, amount);
        self.model.record(landed.block, 0);
        landed.block
    }

    /// The model against the chain at `block`: every balance and the total supply.
    async fn check_model(&self, block: u64) {
        let ledger = self.model.at(block);
        for (owner, expected) in &ledger.balances {
            let call = ScriptedERC20::balanceOfCall { owner: *owner };
            let got = self
                .node
                .eth_call(self.token, call.abi_encode(), block)
                .await;
            let got = got.unwrap_or_else(|e| panic!("balanceOf({owner}) at {block}: {e}"));
            assert_eq!(U256::from_be_slice(&got), *expected, "{owner} at {block}");
        }
        let got = self
            .node
            .eth_call(
                self.token,
                ScriptedERC20::totalSupplyCall {}.abi_encode(),
                block,
            )
            .await
            .unwrap_or_else(|e| panic!("totalSupply at {block}: {e}"));
        assert_eq!(
            U256::from_be_slice(&got),
            ledger.supply(),
            "supply at {block}"
        );
    }
}

/// What a holders read must say for `ledger`, `min` aside: the holders in order, the sum of
/// all holders, the supply, verified; the block and the snapshot.
fn assert_matches(out: &HoldersOutput, ledger: &Ledger, min: U256, block: u64, what: &str) {
    assert_eq!(listed(out), ledger.holders(min), "{what}: holders");
    for h in &out.holders {
        let owner = Address::from(*h.owner.as_bytes());
        assert_eq!(h.owner.to_string(), lower(owner), "{what}: lower case");
    }
    let s = &out.summary;
    assert_eq!(s.sum.as_u256(), ledger.sum(), "{what}: sum");
    assert!(s.verified, "{what}: not verified: {:?}", s.reason);
    assert_eq!(s.reason, None, "{what}");
    assert_eq!(s.to_block, block, "{what}: to_block");
    assert_eq!(out.snapshot.block(NET), Some(block), "{what}: snapshot");
    assert!(s.log_requests >= 1, "{what}: {s:?}");
}

/// A history with many events: single mints and transfers over many blocks, a run of empty
/// blocks, one block with more events than [`MAX_LOGS`] (a `mintMany` and separate
/// transactions), then burns and holders who leave.
async fn busy_history(node: &Anvil) -> Erc20<'_> {
    let mut t = Erc20::deploy(node, "ScriptedERC20").await;
    for i in 0..24 {
        t.mint(who(i), u(1_000 + i)).await;
    }
    for i in 0..12 {
        t.transfer(who(i), who(100 + i), u(10 * (i + 1))).await;
    }
    node.rpc_ok("anvil_mine", serde_json::json!([40])).await;
    let mut crowd: Vec<Step> = vec![Step::MintMany((200..300).map(|i| (who(i), u(i))).collect())];
    for i in 0..20 {
        crowd.push(Step::Transfer(who(i), who(300 + i), u(1)));
    }
    crowd.push(Step::Transfer(who(200), who(200), u(5)));
    crowd.push(Step::Burn(who(201), u(201)));
    t.in_one_block(crowd).await;
    for i in 0..8 {
        // Holders who leave: everything moved on, or burnt.
        let all = t.model.now.balance(who(100 + i));
        t.transfer(who(100 + i), who(400), all).await;
        let all = t.model.now.balance(who(300 + i));
        t.burn(who(300 + i), all).await;
    }
    node.rpc_ok("anvil_mine", serde_json::json!([10])).await;
    t
}

/// The busy history, on a node with Multicall3, and its holders read without limits.
async fn busy_and_unlimited(node: &Anvil) -> (Erc20<'_>, HoldersOutput) {
    node.deploy_multicall3().await;
    let t = busy_history(node).await;
    let unlimited = holders(
        &client(node.url()),
        &erc20(t.token),
        At::Latest,
        HoldersOptions::default(),
    )
    .await;
    (t, unlimited)
}

// ---------------------------------------------------------------------------------------
// ERC-20

#[tokio::test]
async fn erc20_holders_follow_the_history() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let mut t = Erc20::deploy(&node, "ScriptedERC20").await;
    let [a, b, c, d, e, f, g, h] = [1, 2, 3, 4, 5, 6, 7, 8].map(who);
    t.mint(a, u(1_000)).await;
    t.mint(b, u(500)).await;
    let early = t.mint(c, u(250)).await;
    t.transfer(a, d, u(100)).await;
    t.transfer(b, b, u(50)).await; // to self
    t.transfer(c, e, u(250)).await; // c leaves
    let middle = t.burn(d, u(100)).await; // d leaves by a burn
    t.mint(f, u(1)).await;
    t.transfer(a, g, u(7)).await;
    t.transfer(g, a, u(7)).await; // g comes and goes
    t.mint(h, U256::ONE << 200).await;
    t.burn(a, u(1)).await;
    let (tip, _, _) = node.tip().await;
    t.check_model(tip).await;
    t.check_model(early).await;

    let client = client(node.url());
    let out = holders(
        &client,
        &erc20(t.token),
        At::Latest,
        HoldersOptions::default(),
    )
    .await;
    let ledger = &t.model.now;
    assert_eq!(
        ledger
            .holders(U256::ZERO)
            .iter()
            .map(|(o, _)| *o)
            .collect::<Vec<_>>(),
        [h, a, b, e, f],
        "the model"
    );
    assert_matches(&out, ledger, U256::ZERO, tip, "latest");
    let s = &out.summary;
    assert_eq!(s.holders, 5);
    assert_eq!(s.total_supply.map(|a| a.as_u256()), Some(ledger.supply()));
    assert_eq!(s.from_block, t.created, "the creation block");
    assert_eq!(s.logs, t.model.events);
    assert_eq!(s.candidates, ledger.touched.len() as u64);
    assert_eq!(s.candidates, 8);
    let floor = (s.candidates as usize).div_ceil(K) as u64;
    assert!(
        (floor..=floor + 1).contains(&s.balance_requests),
        "{} balance requests for {} candidates, {K} a request",
        s.balance_requests,
        s.candidates
    );
    assert_eq!(s.token, None, "no metadata asked for");
    assert!(out.holders.iter().all(|h| h.formatted.is_none()));

    // Earlier blocks: the holders the history had then.
    for (block, expected) in [(early, vec![a, b, c]), (middle, vec![a, b, e])] {
        let then = t.model.at(block);
        let mut owners: Vec<_> = then
            .holders(U256::ZERO)
            .into_iter()
            .map(|(o, _)| o)
            .collect();
        owners.sort();
        assert_eq!(owners, expected, "the model at {block}");
        let out = holders(
            &client,
            &erc20(t.token),
            at_block(block),
            HoldersOptions::default(),
        )
        .await;
        assert_matches(&out, &then, U256::ZERO, block, &format!("block {block}"));
        assert_eq!(
            out.summary.total_supply.map(|a| a.as_u256()),
            Some(then.supply())
        );
        assert_ne!(listed(&out), ledger.holders(U256::ZERO));
    }
}

#[tokio::test]
async fn min_and_from_block_narrow_the_list() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let mut t = Erc20::deploy(&node, "ScriptedERC20").await;
    let [a, b, c, d, e] = [1, 2, 3, 4, 5].map(who);
    t.mint(a, u(1_000)).await;
    t.mint(b, u(300)).await;
    t.mint(c, u(5)).await;
    let later = t.transfer(a, d, u(200)).await;
    t.mint(e, u(299)).await;
    let (tip, _, _) = node.tip().await;
    let client = client(node.url());
    let ledger = t.model.now.clone();

    // --min: at or above it, exactly 300 included; the sum stays every holder's.
    let min = u(300);
    let options = HoldersOptions::default().min(Amount::from(300u64));
    let out = holders(&client, &erc20(t.token), At::Latest, options).await;
    assert_eq!(
        ledger
            .holders(min)
            .iter()
            .map(|(o, _)| *o)
            .collect::<Vec<_>>(),
        [a, b]
    );
    assert_matches(&out, &ledger, min, tip, "--min 300");
    assert_eq!(
        out.summary.total_supply.map(|a| a.as_u256()),
        Some(ledger.supply())
    );

    // From a later block: only the addresses its events name are found (a, d, e), which
    // cannot add up to the supply; the list says so, and the holders found are still there.
    let options = HoldersOptions::default().from_block(later);
    let out = holders(&client, &erc20(t.token), At::Latest, options).await;
    let found: Vec<_> = ledger
        .holders(U256::ZERO)
        .into_iter()
        .filter(|(o, _)| [a, d, e].contains(o))
        .collect();
    assert_eq!(listed(&out), found);
    let s = &out.summary;
    assert_eq!(s.from_block, later);
    assert_eq!(s.to_block, tip);
    assert_eq!(s.candidates, 3);
    assert_eq!(s.logs, 2);
    let found_sum = found.iter().fold(U256::ZERO, |s, (_, b)| s + *b);
    assert_eq!(s.sum.as_u256(), found_sum);
    assert_eq!(s.total_supply.map(|a| a.as_u256()), Some(ledger.supply()));
    assert!(found_sum < ledger.supply());
    assert!(!s.verified);
    assert!(s.reason.as_deref().is_some_and(|r| !r.is_empty()), "{s:?}");
}

#[tokio::test]
async fn many_events_in_one_block_and_holders_who_leave() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let t = busy_history(&node).await;
    let (tip, _, _) = node.tip().await;
    t.check_model(tip).await;
    let out = holders(
        &client(node.url()),
        &erc20(t.token),
        At::Latest,
        HoldersOptions::default(),
    )
    .await;
    let ledger = &t.model.now;
    assert_matches(&out, ledger, U256::ZERO, tip, "busy history");
    for i in 0..8 {
        assert!(!listed(&out)
            .iter()
            .any(|(o, _)| *o == who(100 + i) || *o == who(300 + i)));
    }
    assert!(
        listed(&out).iter().any(|(o, _)| *o == who(200)),
        "a transfer to self keeps its holder"
    );
    assert!(
        !listed(&out).iter().any(|(o, _)| *o == who(201)),
        "burnt whole"
    );
    let s = &out.summary;
    assert_eq!(s.logs, t.model.events);
    assert_eq!(s.candidates, ledger.touched.len() as u64);
    assert_eq!(s.holders, ledger.holders(U256::ZERO).len() as u64);

    // One request at a time (the scan and the balances then share it): the same list, and
    // the same number of balance requests.
    let single = builder(node.url(), RetryPolicy::none())
        .concurrency(1)
        .build()
        .expect("a client");
    let one = holders(
        &single,
        &erc20(t.token),
        At::Latest,
        HoldersOptions::default(),
    )
    .await;
    assert_eq!(listed(&one), listed(&out));
    assert_eq!(one.summary.balance_requests, s.balance_requests);
    assert!(one.summary.verified);
}

/// The log requests a limited provider needs at most: 1.5 times the floor (one request per
/// MAX_LOGS logs plus one per MAX_BLOCKS blocks) plus 20.
fn assert_log_requests_bounded(requests: u64, logs: u64, blocks: u64, what: &str) {
    let floor = logs.div_ceil(MAX_LOGS as u64) + blocks.div_ceil(MAX_BLOCKS);
    assert!(
        2 * requests <= 3 * floor + 40,
        "{what}: {requests} log requests for {logs} logs over {blocks} blocks (floor {floor})"
    );
}

/// `log_requests` is what the provider saw: every `eth_getLogs` sent, refused, throttled and
/// retried ones included (what a provider bills).
fn assert_log_requests_seen(out: &HoldersOutput, proxy: &LogsProxy, what: &str) {
    assert_eq!(
        out.summary.log_requests,
        proxy.method_count("eth_getLogs"),
        "{what}: log_requests is not the eth_getLogs requests the provider saw ({} of them \
         throttled)",
        proxy.throttled_log_requests()
    );
}

/// Reads the busy history through the proxy under `limits` and checks that the holders are
/// those read without limits and that the refusals were followed within bounds.
async fn through_proxy(
    node: &Anvil,
    t: &Erc20<'_>,
    limits: Limits,
    unlimited: &HoldersOutput,
) -> (LogsProxy, HoldersOutput) {
    let what = format!("{limits:?}");
    let proxy = LogsProxy::start(node.url(), limits).await;
    let out = holders(
        &patient_client(proxy.url()),
        &erc20(t.token),
        At::Latest,
        HoldersOptions::default(),
    )
    .await;
    assert_eq!(
        listed(&out),
        listed(unlimited),
        "{what}: not the holders read without limits"
    );
    assert_eq!(out.summary.sum, unlimited.summary.sum, "{what}");
    assert!(out.summary.verified, "{what}: {:?}", out.summary.reason);
    assert_eq!(out.summary.from_block, t.created, "{what}");
    assert_eq!(out.summary.logs, t.model.events, "{what}");

    let seen = proxy.log_requests();
    assert!(
        proxy.refusals() >= 1,
        "{what}: the caps were never hit: {seen:?}"
    );
    // The crowded block was read whole, in one request past the result cap.
    assert!(
        seen.iter()
            .any(|r| matches!(r.outcome, Outcome::Answered(n) if n > MAX_LOGS)),
        "{what}: {seen:?}"
    );
    if limits.throttle == Throttle::Never {
        assert_log_requests_seen(&out, &proxy, &what);
    }
    let blocks = out.summary.to_block - out.summary.from_block + 1;
    assert_log_requests_bounded(out.summary.log_requests, t.model.events, blocks, &what);
    // The creation block by bisection: about log2(B) + 2 eth_getCode (counted where no
    // request was throttled, which would add its retries).
    let log2 = u64::BITS - out.summary.to_block.leading_zeros();
    if limits.throttle == Throttle::Never {
        assert!(
            proxy.method_count("eth_getCode") <= u64::from(log2) + 2,
            "{what}: {} eth_getCode for block {}",
            proxy.method_count("eth_getCode"),
            out.summary.to_block
        );
    }
    // With the first block given, the logs are asked for beside the pin (to the tip):
    // the same holders, the same balance requests, every log request counted.
    let given = LogsProxy::start(node.url(), limits).await;
    let options = HoldersOptions::default().from_block(t.created);
    let early = holders(
        &patient_client(given.url()),
        &erc20(t.token),
        At::Latest,
        options,
    )
    .await;
    assert_eq!(listed(&early), listed(unlimited), "{what}, from the block");
    assert!(early.summary.verified, "{what}: {:?}", early.summary.reason);
    assert_eq!(early.summary.logs, t.model.events, "{what}");
    if limits.throttle == Throttle::Never {
        // (A throttled request is counted again when it is retried.)
        assert_eq!(
            early.summary.balance_requests, unlimited.summary.balance_requests,
            "{what}: the pin's and the probe's requests are not balance requests"
        );
        assert_log_requests_seen(&early, &given, &what);
    }
    let blocks = early.summary.to_block - early.summary.from_block + 1;
    assert_log_requests_bounded(early.summary.log_requests, t.model.events, blocks, &what);
    (proxy, out)
}

#[tokio::test]
async fn every_refusal_shape_gives_the_same_holders() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    let (t, unlimited) = busy_and_unlimited(&node).await;
    assert_eq!(listed(&unlimited), t.model.now.holders(U256::ZERO));
    for shape in Shape::REQUIRED {
        for limits in [
            Limits::new().max_logs(MAX_LOGS),
            Limits::new().max_blocks(MAX_BLOCKS),
            Limits::new().max_blocks(MAX_BLOCKS).max_logs(MAX_LOGS),
        ] {
            through_proxy(&node, &t, limits.shape(shape), &unlimited).await;
        }
    }
}

/// With the first block given, the logs are asked for beside the pin: a refusal that comes
/// before the pin (slow here) stands for the first range's, which is then never asked for.
#[tokio::test]
async fn a_refusal_asked_beside_a_slow_pin_spares_the_first_request() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    let (t, unlimited) = busy_and_unlimited(&node).await;
    let (tip, _, _) = node.tip().await;
    for shape in Shape::REQUIRED {
        let limits = Limits::new()
            .max_logs(MAX_LOGS)
            .shape(shape)
            .slow("eth_getBlockByNumber", 300);
        let what = format!("{limits:?}");
        let proxy = LogsProxy::start(node.url(), limits).await;
        let options = HoldersOptions::default().from_block(t.created);
        let out = holders(
            &patient_client(proxy.url()),
            &erc20(t.token),
            At::Latest,
            options,
        )
        .await;
        assert_eq!(listed(&out), listed(&unlimited), "{what}");
        assert!(out.summary.verified, "{what}");
        assert_log_requests_seen(&out, &proxy, &what);
        let seen = proxy.log_requests();
        let whole = Some((t.created, tip));
        assert_eq!(
            seen[0].range, whole,
            "{what}: the first is asked to the tip"
        );
        let Outcome::Refused { suggested } = seen[0].outcome else {
            panic!("{what}: the whole history is over the cap: {seen:?}");
        };
        assert_eq!(
            seen.iter().filter(|r| r.range == whole).count(),
            1,
            "{what}: the first range was asked for after the refusal that stood for it: \
             {seen:?}"
        );
        if let Some(named) = suggested {
            assert!(
                seen.iter().any(|r| r.range == Some(named)),
                "{what}: the range named was not read: {seen:?}"
            );
        }
    }
}

/// Without a first block, the logs of the blocks the creation search has reached are read
/// while it goes on (here a slow one): the same holders, the same `eth_getCode` requests.
#[tokio::test]
async fn logs_are_read_while_the_creation_block_is_searched_for() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    let (t, unlimited) = busy_and_unlimited(&node).await;
    let limits = Limits::new()
        .max_blocks(MAX_BLOCKS)
        .max_logs(MAX_LOGS)
        .slow("eth_getCode", 40);
    let what = format!("{limits:?}");
    let (proxy, out) = through_proxy(&node, &t, limits, &unlimited).await;
    assert_eq!(out.summary.from_block, t.created, "{what}");
    let arrivals = proxy.arrivals();
    let first_logs = arrivals.iter().position(|m| m == "eth_getLogs");
    let last_search = arrivals.iter().rposition(|m| m == "eth_getCode");
    let (Some(first_logs), Some(last_search)) = (first_logs, last_search) else {
        panic!("{what}: no search or no logs: {arrivals:?}");
    };
    assert!(
        first_logs < last_search,
        "{what}: no log was asked for before the search ended: {arrivals:?}"
    );
}

#[tokio::test]
async fn rate_limits_are_waited_out_never_split() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    let (t, unlimited) = busy_and_unlimited(&node).await;
    let capped = Limits::new().max_blocks(MAX_BLOCKS).max_logs(MAX_LOGS);
    for (throttle, shape) in [
        (Throttle::First(2), ThrottleShape::Http429),
        (Throttle::Every(5), ThrottleShape::Http429),
        (Throttle::Every(5), ThrottleShape::RateMessage),
    ] {
        let limits = capped.throttle(throttle).throttle_shape(shape);
        let (proxy, out) = through_proxy(&node, &t, limits, &unlimited).await;
        assert!(proxy.throttled() >= 1, "{limits:?}");
        if let Throttle::Every(_) = throttle {
            // The scan's requests are consecutive (five at least): one in five is throttled,
            // and a throttled range is asked for again as it was, never split.
            let seen = proxy.log_requests();
            assert!(seen.len() >= 5, "{seen:?}");
            assert!(proxy.throttled_log_requests() >= 1, "{limits:?}: {seen:?}");
            for (i, r) in seen.iter().enumerate() {
                if r.outcome != Outcome::Throttled {
                    continue;
                }
                let range = r.range.expect("the library asks for numbered ranges");
                assert!(
                    seen[i + 1..]
                        .iter()
                        .any(|later| later.range == Some(range)
                            && later.outcome != Outcome::Throttled),
                    "{limits:?}: [{}, {}] was throttled and never asked for again: {seen:?}",
                    range.0,
                    range.1
                );
            }
        }
        let what = format!("{limits:?}");
        assert_log_requests_seen(&out, &proxy, &what);
    }
}

/// Reads the busy history through the proxy refusing in `shape`, as
/// [`every_refusal_shape_gives_the_same_holders`] does for the shapes every client follows.
async fn quirk(shape: Shape) {
    let Some(node) = Anvil::start().await else {
        return;
    };
    let (t, unlimited) = busy_and_unlimited(&node).await;
    let limits = Limits::new()
        .max_blocks(MAX_BLOCKS)
        .max_logs(MAX_LOGS)
        .shape(shape);
    through_proxy(&node, &t, limits, &unlimited).await;
}

/// reth before it was fixed: "retry with the range A-B" naming the very range asked for.
#[tokio::test]
async fn a_suggested_range_that_is_the_range_asked_for_is_halved() {
    quirk(Shape::EchoedRange).await;
}

/// Infura's block-range cap: -32602 "range 104 exceeds limit of 16".
#[tokio::test]
async fn infura_range_exceeds_limit_gives_the_same_holders() {
    quirk(Shape::RangeExceedsLimit).await;
}

/// QuickNode: HTTP 413 with -32614 "eth_getLogs is limited to a 16 range".
#[tokio::test]
async fn http_413_limited_range_gives_the_same_holders() {
    quirk(Shape::Http413).await;
}

#[tokio::test]
async fn metadata_adds_the_token_and_formatted_balances() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let mut t = Erc20::deploy(&node, "ScriptedERC20").await;
    t.mint(who(1), u(1_500_000_000_000_000_000)).await;
    t.mint(who(2), u(1)).await;
    t.mint(who(3), U256::ONE << 100).await;
    let (tip, _, _) = node.tip().await;
    let client = client(node.url()).with_metadata();
    let out = holders(
        &client,
        &erc20(t.token),
        At::Latest,
        HoldersOptions::default(),
    )
    .await;
    assert_matches(&out, &t.model.now, U256::ZERO, tip, "with metadata");
    assert_eq!(
        out.summary.token,
        Some(TokenMetadata::new(
            Some("TBS"),
            Some("Tokbal Scripted Token"),
            Some(18)
        ))
    );
    for h in &out.holders {
        assert_eq!(
            h.formatted.as_deref(),
            Some(units(h.balance.as_u256(), 18).as_str()),
            "{h:?}"
        );
    }
    assert_eq!(
        out.holders[0].formatted.as_deref(),
        Some("1267650600228.229401496703205376")
    );
    assert_eq!(out.holders[1].formatted.as_deref(), Some("1.5"));
    assert_eq!(
        out.holders[2].formatted.as_deref(),
        Some("0.000000000000000001")
    );
}

// ---------------------------------------------------------------------------------------
// Balances without events

#[tokio::test]
async fn a_balance_changed_without_an_event_is_not_verified() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let mut t = Erc20::deploy(&node, "SilentERC20").await;
    let [a, b, c, z] = [1, 2, 3, 26].map(who);
    t.mint(a, u(100)).await;
    t.mint(b, u(50)).await;
    t.transfer(a, c, u(30)).await;
    // A holder's balance rewritten silently: read at the block, not summed from the logs,
    // it is exact, and the list still adds up to the supply.
    let rebased = t.set_silently(b, u(80)).await;
    t.check_model(rebased).await;
    let client = client(node.url());
    let out = holders(
        &client,
        &erc20(t.token),
        At::Latest,
        HoldersOptions::default(),
    )
    .await;
    assert_matches(
        &out,
        &t.model.now,
        U256::ZERO,
        rebased,
        "a known holder rebased",
    );
    assert_eq!(listed(&out), [(b, u(80)), (a, u(70)), (c, u(30))]);

    // An address no event ever named is given a balance: the list cannot find it.
    let hidden = t.set_silently(z, u(40)).await;
    t.check_model(hidden).await;
    let out = holders(
        &client,
        &erc20(t.token),
        At::Latest,
        HoldersOptions::default(),
    )
    .await;
    assert_eq!(
        listed(&out),
        [(b, u(80)), (a, u(70)), (c, u(30))],
        "the holders are still listed"
    );
    let s = &out.summary;
    assert!(!s.verified);
    assert_eq!(s.sum.as_u256(), u(180));
    assert_eq!(s.total_supply.map(|a| a.as_u256()), Some(u(220)));
    let reason = s
        .reason
        .as_deref()
        .unwrap_or_else(|| panic!("no reason: {s:?}"));
    assert!(
        reason.contains("180") && reason.contains("220"),
        "both figures named: {reason}"
    );
    assert_eq!(out.snapshot.block(NET), Some(hidden));

    // At the block before, the list was complete.
    let out = holders(
        &client,
        &erc20(t.token),
        at_block(rebased),
        HoldersOptions::default(),
    )
    .await;
    assert!(out.summary.verified, "{:?}", out.summary.reason);
}

// ---------------------------------------------------------------------------------------
// Reorganisations

/// The pinned block leaves the chain while the logs are read (the proxy has anvil replace
/// the last two blocks with empty ones when the first `eth_getLogs` arrives): the read is
/// pinned again, at the new block of the same number, and lists the new chain's holders. A
/// snapshot naming the block that left is an error, not a list.
#[tokio::test]
async fn a_pinned_block_that_leaves_the_chain_is_pinned_again() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let mut t = Erc20::deploy(&node, "ScriptedERC20").await;
    let [a, b, c] = [1, 2, 3].map(who);
    t.mint(a, u(100)).await;
    let kept = t.mint(b, u(50)).await;
    t.transfer(a, c, u(30)).await; // both dropped by the reorganisation
    t.mint(c, u(7)).await;
    let (tip, old_hash, _) = node.tip().await;
    assert_eq!(tip, kept + 2);
    let direct = client(node.url());
    let before = holders(
        &direct,
        &erc20(t.token),
        At::Latest,
        HoldersOptions::default(),
    )
    .await;
    assert_matches(&before, &t.model.now, U256::ZERO, tip, "before");

    let proxy = LogsProxy::start(node.url(), Limits::new().reorg_on_logs(2)).await;
    let out = holders(
        &client(proxy.url()),
        &erc20(t.token),
        At::Latest,
        HoldersOptions::default(),
    )
    .await;
    assert_eq!(proxy.reorgs(), 1);
    let (number, new_hash, _) = node.tip().await;
    assert_eq!(number, tip);
    assert_ne!(new_hash, old_hash);
    let then = t.model.at(kept);
    assert_eq!(then.holders(U256::ZERO), [(a, u(100)), (b, u(50))]);
    assert_matches(&out, &then, U256::ZERO, tip, "after the reorganisation");
    let pinned = out.snapshot.get(NET).and_then(|n| n.block_hash.clone());
    assert_eq!(
        pinned,
        Some(new_hash.to_string()),
        "pinned again at the new block"
    );

    let gone = direct
        .holders(
            &erc20(t.token),
            At::Snapshot(before.snapshot.clone()),
            HoldersOptions::default(),
        )
        .await;
    assert!(
        gone.is_err(),
        "a block that left the chain listed: {:?}",
        gone.map(|o| o.summary)
    );
}

// ---------------------------------------------------------------------------------------
// ERC-721

/// An ERC-721 collection: who owns each item, and the counts.
#[derive(Clone, Debug, Default)]
struct Items {
    owners: BTreeMap<u64, Address>,
    counts: Ledger,
}

struct Erc721<'a> {
    node: &'a Anvil,
    token: Address,
    model: Recorded<Items>,
}

impl<'a> Erc721<'a> {
    async fn mint(&mut self, to: Address, id: u64) {
        let call = ScriptedERC721::mintCall { to, id: u(id) };
        let landed = self.node.send(self.token, call.abi_encode()).await;
        assert!(
            self.model.now.owners.insert(id, to).is_none(),
            "item {id} minted twice"
        );
        self.model.now.counts.mint(to, U256::ONE);
        self.model.record(landed.block, 1);
    }

    async fn transfer(&mut self, from: Address, to: Address, id: u64) {
        let call = ScriptedERC721::moveCall {
            from,
            to,
            id: u(id),
        };
        let landed = self.node.send(self.token, call.abi_encode()).await;
        assert_eq!(
            self.model.now.owners.insert(id, to),
            Some(from),
            "item {id}"
        );
        self.model.now.counts.transfer(from, to, U256::ONE);
        self.model.record(landed.block, 1);
    }

    async fn burn(&mut self, id: u64) {
        let call = ScriptedERC721::burnCall { id: u(id) };
        let landed = self.node.send(self.token, call.abi_encode()).await;
        let owner = self.model.now.owners.remove(&id).expect("the item exists");
        self.model.now.counts.burn(owner, U256::ONE);
        self.model.record(landed.block, 1);
    }
}

#[tokio::test]
async fn erc721_holders_with_their_counts() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let client = client(node.url());
    let [a, b, c, d, e] = [1, 2, 3, 4, 5].map(who);
    for (artifact, enumerable) in [
        ("ScriptedERC721", false),
        ("ScriptedERC721Enumerable", true),
    ] {
        let token = node.deploy(artifact).await;
        let (created, _, _) = node.tip().await;
        let mut t = Erc721 {
            node: &node,
            token,
            model: Recorded::default(),
        };
        for (to, id) in [(a, 1), (a, 2), (b, 3), (c, 4), (c, 5), (c, 6), (d, 7)] {
            t.mint(to, id).await;
        }
        let early = t.model.last_block();
        t.transfer(a, b, 1).await;
        t.transfer(c, c, 4).await; // to self
        t.burn(5).await;
        t.transfer(b, e, 3).await;
        t.burn(2).await; // a leaves by a burn
        t.transfer(d, e, 7).await; // d leaves by a transfer
        let (tip, _, _) = node.tip().await;
        // The model against the chain.
        for (id, owner) in &t.model.now.owners {
            let call = ScriptedERC721::ownerOfCall { id: u(*id) };
            let got = node
                .eth_call(token, call.abi_encode(), tip)
                .await
                .expect("ownerOf");
            assert_eq!(
                Address::from_word(got[..].try_into().expect("a word")),
                *owner
            );
        }

        for (block, items) in [(tip, t.model.now.clone()), (early, t.model.at(early))] {
            let what = format!("{artifact} at {block}");
            let out = holders(
                &client,
                &erc721(token),
                at_block(block),
                HoldersOptions::default(),
            )
            .await;
            assert_matches(&out, &items.counts, U256::ZERO, block, &what);
            let s = &out.summary;
            let live = u(items.owners.len() as u64);
            assert_eq!(s.sum.as_u256(), live, "{what}");
            assert_eq!(
                s.minted_minus_burned.map(|a| a.as_u256()),
                Some(live),
                "{what}"
            );
            let supply = enumerable.then_some(live);
            assert_eq!(s.total_supply.map(|a| a.as_u256()), supply, "{what}");
            assert_eq!(s.from_block, created, "{what}");
        }
        assert_eq!(
            t.model.now.counts.holders(U256::ZERO),
            [(c, u(2)), (e, u(2)), (b, u(1))]
        );
    }
}

/// Sorting the way holders are listed, for literal expectations.
trait TapSorted {
    fn tap_sorted(self) -> Self;
}

impl TapSorted for Vec<(Address, U256)> {
    fn tap_sorted(mut self) -> Self {
        self.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        self
    }
}

/// A node that answers logs marked `removed` (as after a reorganisation): they are not
/// counted, neither as candidates nor as mints or burns in the proof.
#[tokio::test]
async fn removed_logs_are_ignored() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let token = node.deploy("ScriptedERC721").await;
    let mut t = Erc721 {
        node: &node,
        token,
        model: Recorded::default(),
    };
    let [a, b, c] = [1, 2, 3].map(who);
    t.mint(a, 1).await;
    t.mint(b, 2).await;
    t.mint(c, 3).await;
    t.transfer(a, b, 1).await;
    t.burn(3).await;
    let (tip, _, _) = node.tip().await;
    // Two blocks a request: every answer with logs gets a removed copy of its first one (a
    // mint, in the first answers), naming an owner no one paid.
    let limits = Limits::new().max_blocks(2).removed_logs(true);
    let proxy = LogsProxy::start(node.url(), limits).await;
    let out = holders(
        &client(proxy.url()),
        &erc721(token),
        At::Latest,
        HoldersOptions::default(),
    )
    .await;
    let items = &t.model.now;
    assert_matches(&out, &items.counts, U256::ZERO, tip, "removed logs");
    let s = &out.summary;
    assert_eq!(s.minted_minus_burned.map(|a| a.as_u256()), Some(u(2)));
    assert_eq!(s.candidates, items.counts.touched.len() as u64);
    assert_eq!(s.logs, t.model.events);
    let with_logs = proxy
        .log_requests()
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Answered(n) if n > 0))
        .count();
    assert!(
        with_logs >= 2,
        "no removed log was added: {:?}",
        proxy.log_requests()
    );
}

// ---------------------------------------------------------------------------------------
// ERC-1155

/// An ERC-1155 contract: one ledger per id.
type Ids = BTreeMap<u64, Ledger>;

struct Erc1155<'a> {
    node: &'a Anvil,
    token: Address,
    model: Recorded<Ids>,
}

impl<'a> Erc1155<'a> {
    async fn send(&mut self, calldata: Vec<u8>) -> u64 {
        let landed = self.node.send(self.token, calldata).await;
        self.model.record(landed.block, 1);
        landed.block
    }

    async fn mint(&mut self, to: Address, id: u64, amount: u64) -> u64 {
        self.model.now.entry(id).or_default().mint(to, u(amount));
        let call = ScriptedERC1155::mintCall {
            to,
            id: u(id),
            amount: u(amount),
        };
        self.send(call.abi_encode()).await
    }

    async fn mint_batch(&mut self, to: Address, batch: &[(u64, u64)]) -> u64 {
        for (id, amount) in batch {
            self.model.now.entry(*id).or_default().mint(to, u(*amount));
        }
        let call = ScriptedERC1155::mintBatchCall {
            to,
            ids: batch.iter().map(|(id, _)| u(*id)).collect(),
            amounts: batch.iter().map(|(_, v)| u(*v)).collect(),
        };
        self.send(call.abi_encode()).await
    }

    async fn burn(&mut self, from: Address, id: u64, amount: u64) -> u64 {
        self.model.now.entry(id).or_default().burn(from, u(amount));
        let call = ScriptedERC1155::burnCall {
            from,
            id: u(id),
            amount: u(amount),
        };
        self.send(call.abi_encode()).await
    }

    async fn burn_batch(&mut self, from: Address, batch: &[(u64, u64)]) -> u64 {
        for (id, amount) in batch {
            self.model
                .now
                .entry(*id)
                .or_default()
                .burn(from, u(*amount));
        }
        let call = ScriptedERC1155::burnBatchCall {
            from,
            ids: batch.iter().map(|(id, _)| u(*id)).collect(),
            amounts: batch.iter().map(|(_, v)| u(*v)).collect(),
        };
        self.send(call.abi_encode()).await
    }

    async fn transfer(&mut self, from: Address, to: Address, id: u64, amount: u64) -> u64 {
        self.model
            .now
            .entry(id)
            .or_default()
            .transfer(from, to, u(amount));
        let call = ScriptedERC1155::moveCall {
            from,
            to,
            id: u(id),
            amount: u(amount),
        };
        self.send(call.abi_encode()).await
    }

    async fn transfer_batch(&mut self, from: Address, to: Address, batch: &[(u64, u64)]) -> u64 {
        for (id, amount) in batch {
            self.model
                .now
                .entry(*id)
                .or_default()
                .transfer(from, to, u(*amount));
        }
        let call = ScriptedERC1155::moveBatchCall {
            from,
            to,
            ids: batch.iter().map(|(id, _)| u(*id)).collect(),
            amounts: batch.iter().map(|(_, v)| u(*v)).collect(),
        };
        self.send(call.abi_encode()).await
    }

    /// The model against the chain at `block`, for every id and owner it knows.
    async fn check_model(&self, block: u64) {
        for (id, ledger) in self.model.at(block) {
            for (owner, expected) in &ledger.balances {
                let call = ScriptedERC1155::balanceOfCall {
                    account: *owner,
                    id: u(id),
                };
                let got = self
                    .node
                    .eth_call(self.token, call.abi_encode(), block)
                    .await;
                let got = got.unwrap_or_else(|e| panic!("balanceOf({owner}, {id}): {e}"));
                assert_eq!(
                    U256::from_be_slice(&got),
                    *expected,
                    "{owner} of {id} at {block}"
                );
            }
        }
    }
}

#[tokio::test]
async fn erc1155_holders_of_one_id_across_batches() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let direct = client(node.url());
    let [a, b, c, d, e] = [1, 2, 3, 4, 5].map(who);
    for (artifact, with_supply) in [("ScriptedERC1155", false), ("ScriptedERC1155Supply", true)] {
        let token = node.deploy(artifact).await;
        let (created, _, _) = node.tip().await;
        let mut t = Erc1155 {
            node: &node,
            token,
            model: Recorded::default(),
        };
        t.mint_batch(a, &[(7, 10), (8, 20)]).await;
        t.mint(b, 7, 5).await;
        t.mint(b, 9, 4).await;
        // One TransferBatch naming id 7 twice.
        t.transfer_batch(a, c, &[(7, 1), (8, 2), (7, 3)]).await;
        let early = t.transfer_batch(b, d, &[(9, 4), (7, 5)]).await; // b leaves
        t.burn_batch(c, &[(7, 4), (8, 2)]).await; // c leaves
        t.burn(a, 8, 18).await; // a leaves id 8
        t.transfer(d, d, 7, 5).await; // to self
        t.mint(e, 8, 3).await;
        t.transfer(a, e, 7, 1).await;
        let (tip, _, _) = node.tip().await;
        t.check_model(tip).await;
        t.check_model(early).await;
        let ids = t.model.now.clone();
        assert_eq!(
            ids[&7].holders(U256::ZERO),
            [(a, u(5)), (d, u(5)), (e, u(1))]
        );
        assert_eq!(ids[&8].holders(U256::ZERO), [(e, u(3))]);
        assert_eq!(ids[&9].holders(U256::ZERO), [(d, u(4))]);

        // Through a proxy with small caps too: the batches' logs split across requests.
        let proxy = LogsProxy::start(node.url(), Limits::new().max_blocks(3).max_logs(2)).await;
        let limited = patient_client(proxy.url());
        for (id, block) in [
            (7, tip),
            (8, tip),
            (9, tip),
            (7, early),
            (8, early),
            (10, tip),
        ] {
            let ledger = t.model.at(block).get(&id).cloned().unwrap_or_default();
            for (client, how) in [(&direct, "direct"), (&limited, "through the proxy")] {
                let what = format!("{artifact} id {id} at {block}, {how}");
                let out = holders(
                    client,
                    &erc1155(token, id),
                    at_block(block),
                    HoldersOptions::default(),
                )
                .await;
                assert_matches(&out, &ledger, U256::ZERO, block, &what);
                let s = &out.summary;
                assert_eq!(
                    s.minted_minus_burned.map(|a| a.as_u256()),
                    Some(ledger.supply()),
                    "{what}"
                );
                let supply = with_supply.then_some(ledger.supply());
                assert_eq!(s.total_supply.map(|a| a.as_u256()), supply, "{what}");
                assert_eq!(s.from_block, created, "{what}");
            }
        }
        assert!(proxy.refusals() >= 1, "{:?}", proxy.log_requests());
    }
}

// ---------------------------------------------------------------------------------------
// What cannot be listed

#[tokio::test]
async fn what_cannot_be_listed_is_refused_before_any_request() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let mut t = Erc20::deploy(&node, "ScriptedERC20").await;
    t.mint(who(1), u(1)).await;
    let proxy = LogsProxy::start(node.url(), Limits::new()).await;
    let client = client(proxy.url());
    let item = format!("{NET}:erc721:{}:5", lower(t.token));
    for token in [
        format!("{NET}"),
        format!("{NET}:native"),
        item,
        "aptos:0x1::aptos_coin::AptosCoin".to_owned(),
        "aptos:0xa".to_owned(),
    ] {
        let error = match client
            .holders(&asset(&token), At::Latest, HoldersOptions::default())
            .await
        {
            Ok(out) => panic!("{token}: listed {:?}", out.summary),
            Err(e) => e,
        };
        assert!(
            matches!(
                error.kind(),
                ErrorKind::InvalidInput | ErrorKind::Unsupported
            ),
            "{token}: {error:?}"
        );
        assert_eq!(error.field(), Some("token"), "{token}: {error:?}");
        assert!(!error.to_string().is_empty());
    }
    assert_eq!(proxy.requests(), 0, "{:?}", proxy.methods());

    // The same client lists the token itself.
    let out = holders(
        &client,
        &erc20(t.token),
        At::Latest,
        HoldersOptions::default(),
    )
    .await;
    assert_eq!(listed(&out), [(who(1), u(1))]);
    assert!(proxy.requests() > 0);
}

// ---------------------------------------------------------------------------------------
// The stream

#[tokio::test]
async fn the_stream_yields_the_same_holders_then_the_summary() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let t = busy_history(&node).await;
    let client = client(node.url());
    let mut stream = std::pin::pin!(client.holders_stream(
        &erc20(t.token),
        At::Latest,
        HoldersOptions::default()
    ));
    let mut got = Vec::new();
    while let Some(holder) = stream.next().await {
        let holder = holder.unwrap_or_else(|e| panic!("a holder: {e}"));
        got.push((
            Address::from(*holder.owner.as_bytes()),
            holder.balance.as_u256(),
        ));
    }
    let got = got.tap_sorted();
    assert_eq!(got, t.model.now.holders(U256::ZERO));
    let summary = stream.summary().expect("the summary once the stream ended");
    assert!(summary.verified, "{:?}", summary.reason);
    assert_eq!(summary.holders, got.len() as u64);
    assert_eq!(summary.sum.as_u256(), t.model.now.sum());
}
