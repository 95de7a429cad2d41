//! The Bitcoin ledger: stored transactions (with the outputs they spend tracked), the
//! mempool, per-address histories, and the seeded histories computed when read.
//!
//! Every transaction is kept with its confirming height (`None` in the mempool) and an
//! order inside its block. A stored transaction gets a sequence number when made; since a
//! spend can only reference an output that exists when it is made (at the same height or
//! below), ordering by (height, sequence) is always a valid block order.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use alloy_primitives::keccak256;

use super::address::BtcAddress;
use super::{EsploraNetwork, MAX_MEMPOOL_TXS, TRANSFER_FEE_SATS, TXS_PER_PAGE};
use crate::faults::{mix64, SplitMix64};

/// The smallest output the seeded histories make (the P2WPKH dust limit of a node).
const SEED_DUST: u64 = 546;
/// Mixed into the seed of a seeded history.
const SEED_SALT: u64 = 0x5eed_b17c_0000_0001;

/// Order classes inside a block: coinbase first, then seeded, then stored transactions.
const ORDER_COINBASE: u8 = 0;
const ORDER_SEEDED: u8 = 1;
const ORDER_STORED: u8 = 2;

/// One input: the output it spends.
#[derive(Clone, Debug)]
pub(super) struct TxIn {
    /// Txid of the spent output (zeros for a coinbase input).
    pub(super) txid: [u8; 32],
    /// Index of the spent output (`u32::MAX` for a coinbase input).
    pub(super) vout: u32,
    /// The spent output's address and value; `None` for a coinbase input.
    pub(super) prevout: Option<(String, u64)>,
}

/// One output.
#[derive(Clone, Debug)]
pub(super) struct TxOut {
    /// Canonical address paid.
    pub(super) address: String,
    /// Satoshis.
    pub(super) value: u64,
}

/// A transaction, stored or seeded.
#[derive(Clone, Debug)]
pub(super) struct Tx {
    pub(super) txid: [u8; 32],
    pub(super) inputs: Vec<TxIn>,
    pub(super) outputs: Vec<TxOut>,
    /// Confirming block; `None` in the mempool.
    pub(super) height: Option<u64>,
    /// Order inside a block (class, then number).
    pub(super) order: (u8, u64),
    /// The transaction's JSON as the address endpoints answer it, cut around the value of
    /// `"status"` (which depends on the tip), made once when first answered: nothing else
    /// in it changes once the transaction is made (a coinbase, whose input shows its
    /// height, never moves).
    pub(super) rendered: OnceLock<(Box<str>, Box<str>)>,
}

impl Tx {
    pub(super) fn is_coinbase(&self) -> bool {
        self.inputs.first().is_some_and(|i| i.prevout.is_none())
    }

    /// Inputs minus outputs (0 for a coinbase).
    pub(super) fn fee(&self) -> u64 {
        if self.is_coinbase() {
            return 0;
        }
        let ins = self
            .inputs
            .iter()
            .filter_map(|i| i.prevout.as_ref())
            .fold(0u64, |a, (_, v)| a.saturating_add(*v));
        let outs = self
            .outputs
            .iter()
            .fold(0u64, |a, o| a.saturating_add(o.value));
        ins.saturating_sub(outs)
    }

    /// Sort key: height (mempool last), then the order inside the block.
    fn key(&self) -> (u64, u8, u64) {
        (self.height.unwrap_or(u64::MAX), self.order.0, self.order.1)
    }

    /// Whether the transaction is confirmed at or below `tip`.
    pub(super) fn confirmed_by(&self, tip: u64) -> bool {
        self.height.is_some_and(|h| h <= tip)
    }
}

/// Esplora's `chain_stats` / `mempool_stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Stats {
    pub(super) tx_count: u64,
    pub(super) funded_txo_count: u64,
    pub(super) funded_txo_sum: u64,
    pub(super) spent_txo_count: u64,
    pub(super) spent_txo_sum: u64,
}

impl Stats {
    fn add(&mut self, tx: &Tx, address: &str) {
        let mut touched = false;
        for o in tx.outputs.iter().filter(|o| o.address == address) {
            touched = true;
            self.funded_txo_count += 1;
            self.funded_txo_sum = self.funded_txo_sum.saturating_add(o.value);
        }
        for (_, v) in tx
            .inputs
            .iter()
            .filter_map(|i| i.prevout.as_ref())
            .filter(|(a, _)| a == address)
        {
            touched = true;
            self.spent_txo_count += 1;
            self.spent_txo_sum = self.spent_txo_sum.saturating_add(*v);
        }
        if touched {
            self.tx_count += 1;
        }
    }

    /// Funded minus spent.
    pub(super) fn balance(&self) -> u64 {
        self.funded_txo_sum.saturating_sub(self.spent_txo_sum)
    }
}

/// Where a new transaction goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Placement {
    /// Confirmed in this block (mined or still to come).
    Block(u64),
    /// Unconfirmed.
    Mempool,
}

/// An input asked for by a caller.
#[derive(Clone, Debug)]
pub(super) enum InputSpec {
    /// The coinbase input (nothing spent).
    Coinbase,
    /// A made-up output of the faucet worth this much.
    Faucet(u64),
    /// The oldest spendable output of this address worth exactly this much.
    Exact(String, u64),
    /// The oldest spendable outputs of this address, enough to cover this much.
    Cover(String, u64),
}

/// The seeded histories: how many addresses, how many transactions each, where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SeedSpec {
    pub(super) count: u64,
    pub(super) min_txs: u32,
    pub(super) max_txs: u32,
    pub(super) seed: u64,
    pub(super) first_height: u64,
    pub(super) last_height: u64,
}

#[derive(Debug)]
struct Stored {
    tx: Tx,
    /// For each output, the stored transaction that spends it.
    spent_by: Vec<Option<usize>>,
}

/// Every stored transaction, indexed by address and height, and the seeded histories.
#[derive(Debug)]
pub(super) struct Ledger {
    network: EsploraNetwork,
    faucet: String,
    txs: Vec<Stored>,
    by_address: HashMap<String, Vec<usize>>,
    /// Height → (coinbase transactions, other stored transactions).
    per_height: BTreeMap<u64, (u64, u64)>,
    pub(super) seeded: Option<SeedSpec>,
    /// Seeded histories already computed, for the spec they were computed under.
    seeded_cache: Mutex<SeededCache>,
}

/// Most seeded transactions [`Ledger::seeded_history`] keeps computed; past it the cache
/// starts over (memory stays bounded however many addresses are read).
const SEEDED_CACHE_MAX_TXS: usize = 250_000;

#[derive(Debug, Default)]
struct SeededCache {
    spec: Option<SeedSpec>,
    txs: usize,
    by_index: HashMap<u64, Arc<Vec<Tx>>>,
}

/// `keccak256(tag ‖ network ‖ a ‖ b ‖ c)`, for made-up txids.
fn made_up_id(tag: &[u8], network: EsploraNetwork, a: u64, b: u64, c: u64) -> [u8; 32] {
    let mut pre = Vec::with_capacity(tag.len() + 25);
    pre.extend_from_slice(tag);
    pre.push(network as u8);
    for x in [a, b, c] {
        pre.extend_from_slice(&x.to_be_bytes());
    }
    keccak256(&pre).0
}

/// The txid of the faucet output spent by input `index` of transaction `txid`.
fn faucet_prev_txid(txid: &[u8; 32], index: usize) -> [u8; 32] {
    let mut pre = Vec::with_capacity(48);
    pre.extend_from_slice(b"tokbal-faucet");
    pre.extend_from_slice(txid);
    pre.extend_from_slice(&(index as u64).to_be_bytes());
    keccak256(&pre).0
}

impl Ledger {
    pub(super) fn new(network: EsploraNetwork, faucet: String) -> Ledger {
        Ledger {
            network,
            faucet,
            txs: Vec::new(),
            by_address: HashMap::new(),
            per_height: BTreeMap::new(),
            seeded: None,
            seeded_cache: Mutex::new(SeededCache::default()),
        }
    }

    /// Transactions stored at `height` (coinbase ones, others).
    pub(super) fn stored_at(&self, height: u64) -> (u64, u64) {
        self.per_height.get(&height).copied().unwrap_or((0, 0))
    }

    /// The spendable outputs of `address` for a transaction placed at `at` (with the chain
    /// at `tip`), oldest first: `(tx index, vout, value)`.
    fn spendable(&self, address: &str, at: Placement, tip: u64) -> Vec<(usize, u32, u64)> {
        let Some(list) = self.by_address.get(address) else {
            return Vec::new();
        };
        // (sort key of the making transaction, its index, vout, value)
        type Candidate = ((u64, u8, u64), usize, u32, u64);
        let mut out: Vec<Candidate> = Vec::new();
        for &i in list {
            let s = &self.txs[i];
            let usable = match (at, s.tx.height) {
                (Placement::Block(h), Some(made)) => made <= h,
                (Placement::Block(_), None) => false,
                (Placement::Mempool, Some(made)) => made <= tip,
                (Placement::Mempool, None) => true,
            };
            if !usable {
                continue;
            }
            for (v, o) in s.tx.outputs.iter().enumerate() {
                if o.address == address && s.spent_by[v].is_none() {
                    out.push((s.tx.key(), i, v as u32, o.value));
                }
            }
        }
        out.sort_by_key(|(k, i, v, _)| (*k, *i, *v));
        out.into_iter()
            .map(|(_, i, v, value)| (i, v, value))
            .collect()
    }

    /// What the oldest spendable outputs of `address` covering `needed` add up to (what
    /// [`InputSpec::Cover`] spends).
    pub(super) fn covered(
        &self,
        address: &str,
        needed: u64,
        at: Placement,
        tip: u64,
    ) -> Result<u64, String> {
        let mut got = 0u64;
        for (_, _, value) in self.spendable(address, at, tip) {
            if got >= needed && got > 0 {
                break;
            }
            got = got.saturating_add(value);
        }
        if got < needed || got == 0 {
            return Err(format!(
                "{address} has {got} sats spendable {}, {needed} needed",
                where_(at)
            ));
        }
        Ok(got)
    }

    /// Makes and stores a transaction; returns its txid.
    pub(super) fn add(
        &mut self,
        at: Placement,
        inputs: &[InputSpec],
        outputs: &[TxOut],
        tip: u64,
    ) -> Result<[u8; 32], String> {
        if inputs.is_empty() {
            return Err("a transaction has at least one input".into());
        }
        if outputs.is_empty() {
            return Err("a transaction has at least one output".into());
        }
        let coinbase = matches!(inputs[0], InputSpec::Coinbase);
        if coinbase && (inputs.len() > 1 || at == Placement::Mempool) {
            return Err("a coinbase transaction has one input and is confirmed".into());
        }
        if !coinbase && inputs.iter().any(|i| matches!(i, InputSpec::Coinbase)) {
            return Err("only the first and only input of a coinbase spends nothing".into());
        }
        let index = self.txs.len();
        let txid = made_up_id(
            b"tokbal-devnet/esplora/tx",
            self.network,
            index as u64,
            0,
            0,
        );
        let mut spends: Vec<(usize, u32)> = Vec::new();
        let mut tx_inputs: Vec<TxIn> = Vec::new();
        for spec in inputs {
            match spec {
                InputSpec::Coinbase => tx_inputs.push(TxIn {
                    txid: [0; 32],
                    vout: u32::MAX,
                    prevout: None,
                }),
                InputSpec::Faucet(value) => {
                    let prev = faucet_prev_txid(&txid, tx_inputs.len());
                    tx_inputs.push(TxIn {
                        txid: prev,
                        vout: 0,
                        prevout: Some((self.faucet.clone(), *value)),
                    });
                }
                InputSpec::Exact(address, value) => {
                    let (i, v, _) = self
                        .spendable(address, at, tip)
                        .into_iter()
                        .find(|(i, v, val)| val == value && !spends.contains(&(*i, *v)))
                        .ok_or_else(|| {
                            format!(
                                "{address} has no spendable output of {value} sats {}",
                                where_(at)
                            )
                        })?;
                    spends.push((i, v));
                    tx_inputs.push(self.input_spending(i, v));
                }
                InputSpec::Cover(address, needed) => {
                    let mut got = 0u64;
                    for (i, v, value) in self.spendable(address, at, tip) {
                        if got >= *needed && got > 0 {
                            break;
                        }
                        if spends.contains(&(i, v)) {
                            continue;
                        }
                        got = got.saturating_add(value);
                        spends.push((i, v));
                        tx_inputs.push(self.input_spending(i, v));
                    }
                    if got < *needed || got == 0 {
                        return Err(format!(
                            "{address} has {got} sats spendable {}, {needed} needed",
                            where_(at)
                        ));
                    }
                }
            }
        }
        let total_in = tx_inputs
            .iter()
            .filter_map(|i| i.prevout.as_ref())
            .try_fold(0u64, |a, (_, v)| a.checked_add(*v))
            .ok_or("the inputs add up to more than 2^64 - 1 sats")?;
        let total_out = outputs
            .iter()
            .try_fold(0u64, |a, o| a.checked_add(o.value))
            .ok_or("the outputs add up to more than 2^64 - 1 sats")?;
        if !coinbase && total_out > total_in {
            return Err(format!(
                "the outputs ({total_out} sats) are more than the inputs ({total_in} sats)"
            ));
        }
        let tx = Tx {
            txid,
            inputs: tx_inputs,
            outputs: outputs.to_vec(),
            height: match at {
                Placement::Block(h) => Some(h),
                Placement::Mempool => None,
            },
            order: (
                if coinbase {
                    ORDER_COINBASE
                } else {
                    ORDER_STORED
                },
                index as u64,
            ),
            rendered: OnceLock::new(),
        };
        for (i, v) in &spends {
            self.txs[*i].spent_by[*v as usize] = Some(index);
        }
        let mut touched: Vec<&str> = tx
            .outputs
            .iter()
            .map(|o| o.address.as_str())
            .chain(
                tx.inputs
                    .iter()
                    .filter_map(|i| i.prevout.as_ref().map(|(a, _)| a.as_str())),
            )
            .filter(|a| *a != self.faucet)
            .collect();
        touched.sort_unstable();
        touched.dedup();
        for a in touched {
            self.by_address.entry(a.to_owned()).or_default().push(index);
        }
        if let Some(h) = tx.height {
            let e = self.per_height.entry(h).or_default();
            if coinbase {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
        let spent_by = vec![None; tx.outputs.len()];
        self.txs.push(Stored { tx, spent_by });
        Ok(txid)
    }

    /// The input spending output `vout` of stored transaction `i`.
    fn input_spending(&self, i: usize, vout: u32) -> TxIn {
        let t = &self.txs[i].tx;
        let o = &t.outputs[vout as usize];
        TxIn {
            txid: t.txid,
            vout,
            prevout: Some((o.address.clone(), o.value)),
        }
    }

    fn rebuild_per_height(&mut self) {
        self.per_height.clear();
        for s in &self.txs {
            if let Some(h) = s.tx.height {
                let e = self.per_height.entry(h).or_default();
                if s.tx.is_coinbase() {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
            }
        }
    }

    /// Sends every stored transaction confirmed at `first` or above (coinbases excepted)
    /// back to the mempool; returns how many moved.
    pub(super) fn unconfirm_from(&mut self, first: u64) -> usize {
        let mut moved = 0;
        for s in &mut self.txs {
            if !s.tx.is_coinbase() && s.tx.height.is_some_and(|h| h >= first) {
                s.tx.height = None;
                moved += 1;
            }
        }
        self.rebuild_per_height();
        moved
    }

    /// Confirms every mempool transaction at `height`; returns how many.
    pub(super) fn confirm_mempool(&mut self, height: u64) -> usize {
        let mut moved = 0;
        for s in &mut self.txs {
            if s.tx.height.is_none() {
                s.tx.height = Some(height);
                moved += 1;
            }
        }
        self.rebuild_per_height();
        moved
    }

    /// The seeded history of `address`, if it is a seeded address (computed on first
    /// read, then kept).
    pub(super) fn seeded_history(&self, address: &BtcAddress) -> Arc<Vec<Tx>> {
        let (Some(spec), Some(i)) = (self.seeded, address.seed_index()) else {
            return Arc::default();
        };
        if i >= spec.count {
            return Arc::default();
        }
        let mut cache = self.seeded_cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.spec != Some(spec) {
            *cache = SeededCache {
                spec: Some(spec),
                ..SeededCache::default()
            };
        }
        if let Some(h) = cache.by_index.get(&i) {
            return Arc::clone(h);
        }
        let h = Arc::new(seeded_txs(
            &spec,
            i,
            self.network,
            &address.canonical,
            &self.faucet,
        ));
        if cache.txs + h.len() > SEEDED_CACHE_MAX_TXS {
            cache.by_index.clear();
            cache.txs = 0;
        }
        cache.txs += h.len();
        cache.by_index.insert(i, Arc::clone(&h));
        h
    }

    /// Every transaction touching `address` (seeded ones first, then stored ones, in no
    /// particular order); `seeded` is [`Ledger::seeded_history`]'s answer.
    pub(super) fn history<'a>(&'a self, address: &BtcAddress, seeded: &'a [Tx]) -> Vec<&'a Tx> {
        let stored = self
            .by_address
            .get(&address.canonical)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        seeded
            .iter()
            .chain(stored.iter().map(|i| &self.txs[*i].tx))
            .collect()
    }
}

/// `at`, as words for an error message.
fn where_(at: Placement) -> String {
    match at {
        Placement::Block(h) => format!("at block {h}"),
        Placement::Mempool => "for the mempool".into(),
    }
}

/// Chain and mempool statistics of `address` among `txs`, as seen at `tip` (a
/// transaction in a block above `tip` is unconfirmed, as in the mempool of a node at
/// `tip`).
pub(super) fn stats(txs: &[&Tx], address: &str, tip: u64) -> (Stats, Stats) {
    let (mut chain, mut mempool) = (Stats::default(), Stats::default());
    for tx in txs {
        if tx.confirmed_by(tip) {
            chain.add(tx, address);
        } else {
            mempool.add(tx, address);
        }
    }
    (chain, mempool)
}

/// Confirmed transactions at or below `tip`, newest first.
pub(super) fn confirmed_newest_first<'a>(txs: &[&'a Tx], tip: u64) -> Vec<&'a Tx> {
    let mut out: Vec<&Tx> = txs
        .iter()
        .copied()
        .filter(|t| t.confirmed_by(tip))
        .collect();
    out.sort_by_key(|t| std::cmp::Reverse(t.key()));
    out
}

/// One page of confirmed transactions: the first [`TXS_PER_PAGE`], or those after
/// `last_seen` (none when it is not among them), as Esplora pages.
pub(super) fn chain_page<'a>(
    txs: &[&'a Tx],
    tip: u64,
    last_seen: Option<&[u8; 32]>,
) -> Vec<&'a Tx> {
    let all = confirmed_newest_first(txs, tip);
    let start = match last_seen {
        None => 0,
        Some(id) => match all.iter().position(|t| t.txid == *id) {
            Some(p) => p + 1,
            None => all.len(),
        },
    };
    all.into_iter().skip(start).take(TXS_PER_PAGE).collect()
}

/// Transactions unconfirmed at `tip` (in the mempool, or in a block above `tip`), newest
/// first, at most [`MAX_MEMPOOL_TXS`].
pub(super) fn mempool_page<'a>(txs: &[&'a Tx], tip: u64) -> Vec<&'a Tx> {
    let mut out: Vec<&Tx> = txs
        .iter()
        .copied()
        .filter(|t| !t.confirmed_by(tip))
        .collect();
    out.sort_by_key(|t| std::cmp::Reverse(t.key()));
    out.truncate(MAX_MEMPOOL_TXS);
    out
}

/// Seeded address `i`'s history: between `min_txs` and `max_txs` transactions at seeded
/// heights in the spec's range, each a payment from the faucet or (two times in five, when
/// an output is worth it) a spend of the oldest output, part to the faucet and the change
/// back.
fn seeded_txs(
    spec: &SeedSpec,
    i: u64,
    network: EsploraNetwork,
    address: &str,
    faucet: &str,
) -> Vec<Tx> {
    let mut rng = SplitMix64::new(mix64(
        spec.seed ^ SEED_SALT ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
    ));
    let span = u64::from(spec.max_txs - spec.min_txs) + 1;
    let k = u64::from(spec.min_txs) + rng.next_u64() % span;
    let width = u128::from(spec.last_height - spec.first_height) + 1;
    let mut heights: Vec<u64> = (0..k)
        .map(|_| spec.first_height + (u128::from(rng.next_u64()) % width) as u64)
        .collect();
    heights.sort_unstable();
    let min_spendable = TRANSFER_FEE_SATS + 2 * SEED_DUST;
    let mut utxos: VecDeque<([u8; 32], u32, u64)> = VecDeque::new();
    let mut out = Vec::with_capacity(heights.len());
    for (j, h) in heights.into_iter().enumerate() {
        let txid = made_up_id(
            b"tokbal-devnet/esplora/seeded",
            network,
            spec.seed,
            i,
            j as u64,
        );
        let spend = rng.next_u64() % 5 < 2;
        let (inputs, outputs) = match utxos.front().copied() {
            Some((ptxid, pvout, pvalue)) if spend && pvalue >= min_spendable => {
                utxos.pop_front();
                let room = pvalue - TRANSFER_FEE_SATS - 2 * SEED_DUST;
                let amount = SEED_DUST + rng.next_u64() % (room + 1);
                let change = pvalue - TRANSFER_FEE_SATS - amount;
                utxos.push_back((txid, 1, change));
                (
                    vec![TxIn {
                        txid: ptxid,
                        vout: pvout,
                        prevout: Some((address.to_owned(), pvalue)),
                    }],
                    vec![
                        TxOut {
                            address: faucet.to_owned(),
                            value: amount,
                        },
                        TxOut {
                            address: address.to_owned(),
                            value: change,
                        },
                    ],
                )
            }
            _ => {
                let value = 10_000 + rng.next_u64() % 100_000_000;
                utxos.push_back((txid, 0, value));
                (
                    vec![TxIn {
                        txid: faucet_prev_txid(&txid, 0),
                        vout: 0,
                        prevout: Some((faucet.to_owned(), value + TRANSFER_FEE_SATS)),
                    }],
                    vec![TxOut {
                        address: address.to_owned(),
                        value,
                    }],
                )
            }
        };
        out.push(Tx {
            txid,
            inputs,
            outputs,
            height: Some(h),
            order: (ORDER_SEEDED, j as u64),
            rendered: OnceLock::new(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::esplora::address::{faucet_address_on, parse, seed_address_on};

    const NET: EsploraNetwork = EsploraNetwork::Mainnet;
    const A: &str = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
    const B: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";

    fn ledger() -> Ledger {
        Ledger::new(NET, faucet_address_on(NET))
    }

    fn out(address: &str, value: u64) -> TxOut {
        TxOut {
            address: address.into(),
            value,
        }
    }

    fn addr(s: &str) -> BtcAddress {
        parse(NET, s).unwrap()
    }

    fn chain_stats(l: &Ledger, s: &str, tip: u64) -> Stats {
        let a = addr(s);
        let seeded = l.seeded_history(&a);
        stats(&l.history(&a, &seeded), s, tip).0
    }

    #[test]
    fn transfers_spend_oldest_first_with_change() {
        let mut l = ledger();
        l.add(
            Placement::Block(5),
            &[InputSpec::Faucet(101_000)],
            &[out(A, 100_000)],
            10,
        )
        .unwrap();
        l.add(
            Placement::Block(3),
            &[InputSpec::Faucet(50_000)],
            &[out(A, 40_000)],
            10,
        )
        .unwrap();
        // At block 4 only the 40,000 output exists.
        let e = l
            .add(
                Placement::Block(4),
                &[InputSpec::Cover(A.into(), 41_000)],
                &[out(B, 40_000)],
                10,
            )
            .unwrap_err();
        assert!(e.contains("40000 sats spendable at block 4"), "{e}");
        let id = l
            .add(
                Placement::Block(6),
                &[InputSpec::Cover(A.into(), 60_000 + TRANSFER_FEE_SATS)],
                &[out(B, 60_000), out(A, 80_000 - TRANSFER_FEE_SATS)],
                10,
            )
            .unwrap();
        let t = &l.txs[2].tx;
        assert_eq!(t.txid, id);
        assert_eq!(t.inputs.len(), 2);
        assert_eq!(
            t.inputs[0].prevout.as_ref().unwrap().1,
            40_000,
            "oldest first"
        );
        assert_eq!(t.fee(), TRANSFER_FEE_SATS);
        let s = chain_stats(&l, A, 10);
        assert_eq!(s.tx_count, 3);
        assert_eq!((s.funded_txo_count, s.spent_txo_count), (3, 2));
        assert_eq!(s.balance(), 80_000 - TRANSFER_FEE_SATS);
        assert_eq!(chain_stats(&l, A, 5).balance(), 140_000);
        assert_eq!(chain_stats(&l, B, 10).balance(), 60_000);
        // Both outputs are spent: nothing of exactly 40,000 is left.
        assert!(l
            .add(
                Placement::Block(7),
                &[InputSpec::Exact(A.into(), 40_000)],
                &[out(B, 1)],
                10
            )
            .is_err());
    }

    #[test]
    fn bad_transactions_are_refused() {
        let mut l = ledger();
        let p = Placement::Block(1);
        assert!(l.add(p, &[], &[out(A, 1)], 0).is_err());
        assert!(l.add(p, &[InputSpec::Faucet(1)], &[], 0).is_err());
        assert!(l
            .add(p, &[InputSpec::Faucet(1)], &[out(A, 2)], 0)
            .unwrap_err()
            .contains("more than the inputs"));
        assert!(l
            .add(
                p,
                &[InputSpec::Faucet(u64::MAX), InputSpec::Faucet(1)],
                &[out(A, 1)],
                0
            )
            .is_err());
        assert!(l
            .add(Placement::Mempool, &[InputSpec::Coinbase], &[out(A, 1)], 0)
            .is_err());
        assert!(l
            .add(
                p,
                &[InputSpec::Faucet(5), InputSpec::Coinbase],
                &[out(A, 1)],
                0
            )
            .is_err());
        assert!(l.txs.is_empty());
        l.add(p, &[InputSpec::Coinbase], &[out(A, 5_000_000_000)], 0)
            .unwrap();
        assert_eq!(l.stored_at(1), (1, 0));
        assert!(l.txs[0].tx.is_coinbase());
        assert_eq!(l.txs[0].tx.fee(), 0);
    }

    #[test]
    fn mempool_unconfirm_and_confirm() {
        let mut l = ledger();
        l.add(
            Placement::Block(2),
            &[InputSpec::Faucet(10_000)],
            &[out(A, 9_000)],
            5,
        )
        .unwrap();
        // A mempool spend of a confirmed output, and of a mempool output.
        l.add(
            Placement::Mempool,
            &[InputSpec::Exact(A.into(), 9_000)],
            &[out(A, 8_000)],
            5,
        )
        .unwrap();
        l.add(
            Placement::Mempool,
            &[InputSpec::Exact(A.into(), 8_000)],
            &[out(B, 7_000)],
            5,
        )
        .unwrap();
        // A confirmed transaction cannot spend a mempool output.
        assert!(l
            .add(
                Placement::Block(6),
                &[InputSpec::Exact(B.into(), 7_000)],
                &[out(A, 1)],
                5
            )
            .is_err());
        let a = addr(A);
        let h = l.history(&a, &[]);
        let (chain, mempool) = stats(&h, A, 5);
        assert_eq!((chain.tx_count, chain.balance()), (1, 9_000));
        assert_eq!(mempool.tx_count, 2);
        assert_eq!(
            (mempool.funded_txo_sum, mempool.spent_txo_sum),
            (8_000, 17_000)
        );
        assert_eq!(mempool_page(&h, 5).len(), 2);
        assert_eq!(
            mempool_page(&h, 5)[0].txid,
            l.txs[2].tx.txid,
            "newest first"
        );
        assert_eq!(mempool_page(&h, 1).len(), 3, "block 2 is not mined at 1");
        assert_eq!(stats(&h, A, 1).1.tx_count, 3);
        assert_eq!(l.confirm_mempool(6), 2);
        assert_eq!(l.stored_at(6), (0, 2));
        assert_eq!(chain_stats(&l, A, 6).balance(), 0);
        assert_eq!(chain_stats(&l, B, 6).balance(), 7_000);
        assert_eq!(l.unconfirm_from(3), 2);
        assert_eq!(l.stored_at(6), (0, 0));
        assert_eq!(chain_stats(&l, A, 6).balance(), 9_000);
    }

    #[test]
    fn pages_follow_last_seen() {
        let mut l = ledger();
        for k in 0..60u64 {
            l.add(
                Placement::Block(k / 2),
                &[InputSpec::Faucet(1_000 + k)],
                &[out(A, 1_000 + k)],
                100,
            )
            .unwrap();
        }
        let a = addr(A);
        let h = l.history(&a, &[]);
        let p1 = chain_page(&h, 100, None);
        assert_eq!(p1.len(), 25);
        assert_eq!(p1[0].outputs[0].value, 1_059, "newest first");
        let p2 = chain_page(&h, 100, Some(&p1[24].txid));
        assert_eq!(p2.len(), 25);
        assert_eq!(p2[0].outputs[0].value, 1_034);
        let p3 = chain_page(&h, 100, Some(&p2[24].txid));
        assert_eq!(p3.len(), 10);
        assert_eq!(p3[9].outputs[0].value, 1_000);
        assert!(chain_page(&h, 100, Some(&p3[9].txid)).is_empty());
        assert!(chain_page(&h, 100, Some(&[7; 32])).is_empty());
        assert_eq!(chain_page(&h, 9, None).len(), 20, "blocks 0..=9 only");
    }

    #[test]
    fn seeded_histories_are_deterministic_and_consistent() {
        let mut l = ledger();
        l.seeded = Some(SeedSpec {
            count: 100,
            min_txs: 1,
            max_txs: 200,
            seed: 9,
            first_height: 10,
            last_height: 1_000,
        });
        let mut lens = Vec::new();
        for i in 0..100 {
            let s = seed_address_on(NET, i);
            let a = addr(&s);
            let h = l.seeded_history(&a);
            assert!((1..=200).contains(&h.len()));
            lens.push(h.len());
            let again = l.seeded_history(&a);
            assert_eq!(h.len(), again.len());
            assert!(h.iter().zip(again.iter()).all(|(x, y)| x.txid == y.txid));
            // Each spend references an earlier output of the address.
            let mut unspent: Vec<([u8; 32], u32, u64)> = Vec::new();
            let mut balance = 0u64;
            for t in h.iter() {
                assert!((10..=1_000).contains(&t.height.unwrap()));
                for input in &t.inputs {
                    let (pa, pv) = input.prevout.clone().unwrap();
                    if pa == s {
                        let k = unspent
                            .iter()
                            .position(|u| (u.0, u.1, u.2) == (input.txid, input.vout, pv))
                            .expect("spends a known output");
                        unspent.remove(k);
                        balance -= pv;
                    }
                }
                for (v, o) in t.outputs.iter().enumerate() {
                    assert!(o.value >= SEED_DUST);
                    if o.address == s {
                        unspent.push((t.txid, v as u32, o.value));
                        balance += o.value;
                    }
                }
                assert_eq!(t.fee(), TRANSFER_FEE_SATS);
            }
            let refs: Vec<&Tx> = h.iter().collect();
            assert_eq!(stats(&refs, &s, 1_000).0.balance(), balance);
        }
        lens.sort_unstable();
        assert!(lens[0] < 50 && lens[99] > 150, "spread: {lens:?}");
        let beyond = addr(&seed_address_on(NET, 100));
        assert!(l.seeded_history(&beyond).is_empty());
    }
}
