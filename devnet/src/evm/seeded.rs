//! Seeded transfer histories: many ERC-20 `Transfer` logs among many holders, generated once
//! from a seed and kept compact, from which the logs of any block range, and every holder's
//! balance and the supply at any block, are computed when read.
//!
//! A history of `logs` logs over `blocks` blocks starting at block `first` puts log `k` at
//! block `first + floor(k * blocks / logs)` (so several logs share a block when there are
//! more logs than blocks), each in a transaction of its own. Holder `j` (the address
//! [`seed_holder_address`](super::seed_holder_address)`(j)`) first appears in log
//! `floor(j * logs / holders)`, minted to or sent from an earlier holder; the other logs are
//! transfers between holders (95 %, one in twenty of them to the sender itself), mints and
//! burns, drawn from a generator seeded by the contract address. No log ever takes more than
//! half of a balance, so every holder holds something at the end: the holders at the last
//! block are exactly the `holders` addresses, and the supply is what the mints and burns
//! add up to.
//!
//! Per log, the history keeps its two parties (4 bytes each) and its amount (16 bytes); per
//! holder, where its logs are listed (4 bytes, plus 4 per log it is a party to) and its
//! balance after the last log (16 bytes). A million logs among a million holders take about
//! 48 MB.

use alloy_primitives::{Address, U256};

use super::state::holder_index;
use super::SEED_HOLDER_BASE;
use crate::faults::{mix64, SplitMix64};

/// The zero address among a history's parties (a mint's sender, a burn's receiver).
const ZERO: u32 = u32::MAX;
/// Logs between two checkpoints of the supply.
const MARK_EVERY: u64 = 1024;
/// Mixed into the generator's seed.
const SEED_SALT: u64 = 0x5eed_7f00_0000_0001;
/// The most logs a history may have.
pub(super) const MAX_SEEDED_LOGS: u64 = 100_000_000;

/// A seeded transfer history of one ERC-20 contract.
#[derive(Debug)]
pub(super) struct SeededTransfers {
    pub(super) contract: Address,
    /// Block of the first log (the contract is deployed there).
    pub(super) first: u64,
    blocks: u64,
    logs: u64,
    holders: u64,
    /// Logs in blocks at or after this one are gone (a reorg replaced their blocks).
    end: u64,
    /// Per log: the sender's holder number, or [`ZERO`].
    from: Vec<u32>,
    /// Per log: the receiver's holder number, or [`ZERO`].
    to: Vec<u32>,
    /// Per log: the amount moved.
    amount: Vec<u128>,
    /// Holder `i`'s logs are `entries[offsets[i]..offsets[i + 1]]`, in log order.
    offsets: Vec<u32>,
    entries: Vec<u32>,
    /// The supply before log `c * MARK_EVERY`, for every `c` up to `logs / MARK_EVERY`.
    marks: Vec<u128>,
    /// Each holder's balance after the last log: a read at or after it (the usual one, at
    /// the tip) takes no walk through the holder's logs.
    last: Vec<u128>,
}

/// The address of seeded holder `i`.
pub(super) fn holder_address(i: u64) -> Address {
    Address::left_padding_from(&SEED_HOLDER_BASE.saturating_add(i).to_be_bytes())
}

impl SeededTransfers {
    /// Generates the history (`1 <= holders <= logs <= MAX_SEEDED_LOGS`, `blocks >= 1`,
    /// checked by the caller).
    pub(super) fn generate(
        contract: Address,
        first: u64,
        logs: u64,
        blocks: u64,
        holders: u64,
    ) -> SeededTransfers {
        let n = usize::try_from(logs).unwrap_or(0);
        let h = usize::try_from(holders).unwrap_or(0);
        let mut from = Vec::with_capacity(n);
        let mut to = Vec::with_capacity(n);
        let mut amount = Vec::with_capacity(n);
        let mut marks = Vec::with_capacity(n / MARK_EVERY as usize + 1);
        let mut balance = vec![0u128; h];
        let mut seed = SEED_SALT;
        for chunk in contract.as_slice().chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            seed = mix64(seed ^ u64::from_be_bytes(word));
        }
        let mut rng =
            SplitMix64::new(seed ^ logs ^ blocks.rotate_left(21) ^ holders.rotate_left(42));
        let mut supply = 0u128;
        let mut introduced = 0u64;
        let intro = |j: u64| (u128::from(j) * u128::from(logs) / u128::from(holders)) as u64;
        for k in 0..logs {
            if k.is_multiple_of(MARK_EVERY) {
                marks.push(supply);
            }
            let mint = |rng: &mut SplitMix64| {
                1_000_000_000_000_000_000u128
                    + u128::from(rng.next_u64() % 1_000_000_000_000_000_000)
            };
            let part = |rng: &mut SplitMix64, of: u128| 1 + (u128::from(rng.next_u64()) % (of / 2));
            let (f, t, a) = if introduced < holders && k >= intro(introduced) {
                let j = introduced;
                introduced += 1;
                let source =
                    (j > 0 && !rng.next_u64().is_multiple_of(4)).then(|| rng.next_u64() % j);
                match source.filter(|s| balance[*s as usize] >= 2) {
                    Some(s) => {
                        let a = part(&mut rng, balance[s as usize]);
                        (s as u32, j as u32, a)
                    }
                    None => (ZERO, j as u32, mint(&mut rng)),
                }
            } else {
                let a = rng.next_u64() % introduced.max(1);
                let b = rng.next_u64() % introduced.max(1);
                let held = balance[a as usize];
                match rng.next_u64() % 20 {
                    0 => (ZERO, a as u32, mint(&mut rng)),
                    1 if held >= 2 => (a as u32, ZERO, part(&mut rng, held)),
                    2 => (
                        a as u32,
                        a as u32,
                        1 + u128::from(rng.next_u64()) % held.max(1),
                    ),
                    _ if held >= 2 => (a as u32, b as u32, part(&mut rng, held)),
                    _ => (ZERO, b as u32, mint(&mut rng)),
                }
            };
            if f == ZERO {
                supply += a;
            } else {
                balance[f as usize] -= a;
            }
            if t == ZERO {
                supply -= a;
            } else {
                balance[t as usize] += a;
            }
            from.push(f);
            to.push(t);
            amount.push(a);
        }
        if logs.is_multiple_of(MARK_EVERY) {
            marks.push(supply);
        }
        // Where each holder's logs are listed: count, sum up, fill in log order.
        let mut offsets = vec![0u32; h + 1];
        // A move to oneself changes nothing: it is listed for no one.
        for (f, t) in from.iter().zip(&to) {
            for party in [*f, *t] {
                if party != ZERO && f != t {
                    offsets[party as usize + 1] += 1;
                }
            }
        }
        for i in 0..h {
            offsets[i + 1] += offsets[i];
        }
        let mut entries = vec![0u32; offsets[h] as usize];
        let mut next: Vec<u32> = offsets[..h].to_vec();
        for (k, (f, t)) in from.iter().zip(&to).enumerate() {
            for party in [*f, *t] {
                if party == ZERO || f == t {
                    continue;
                }
                let slot = &mut next[party as usize];
                entries[*slot as usize] = k as u32;
                *slot += 1;
            }
        }
        SeededTransfers {
            contract,
            first,
            blocks,
            logs,
            holders,
            end: u64::MAX,
            from,
            to,
            amount,
            offsets,
            entries,
            marks,
            last: balance,
        }
    }

    /// The block of log `k`.
    pub(super) fn block_of(&self, k: u64) -> u64 {
        let off = u128::from(k) * u128::from(self.blocks) / u128::from(self.logs.max(1));
        self.first.saturating_add(off as u64)
    }

    /// The block of the last log.
    pub(super) fn last_block(&self) -> u64 {
        self.block_of(self.logs.saturating_sub(1))
    }

    /// How many of the logs still on the chain are in blocks before `b`.
    pub(super) fn before(&self, b: u64) -> u64 {
        let b = b.min(self.end);
        if b <= self.first {
            return 0;
        }
        let span = u128::from(b - self.first) * u128::from(self.logs);
        let k = span.div_ceil(u128::from(self.blocks.max(1)));
        u64::try_from(k).unwrap_or(u64::MAX).min(self.logs)
    }

    /// How many logs block `b` holds.
    pub(super) fn in_block(&self, b: u64) -> u64 {
        self.before(b.saturating_add(1)) - self.before(b)
    }

    /// Log `k`'s sender, receiver and amount.
    pub(super) fn log(&self, k: u64) -> (Address, Address, U256) {
        let i = k as usize;
        let party = |p: u32| {
            if p == ZERO {
                Address::ZERO
            } else {
                holder_address(u64::from(p))
            }
        };
        (
            party(self.from.get(i).copied().unwrap_or(ZERO)),
            party(self.to.get(i).copied().unwrap_or(ZERO)),
            U256::from(self.amount.get(i).copied().unwrap_or(0)),
        )
    }

    /// `owner`'s balance at `block`, if it is one of the history's holders.
    pub(super) fn balance(&self, owner: &Address, block: u64) -> Option<U256> {
        let i = holder_index(owner, self.holders)? as usize;
        let upto = self.before(block.saturating_add(1));
        if upto >= self.logs {
            return self.last.get(i).map(|b| U256::from(*b));
        }
        let (lo, hi) = (*self.offsets.get(i)?, *self.offsets.get(i + 1)?);
        let mut held = 0u128;
        for &k in self.entries.get(lo as usize..hi as usize)? {
            if u64::from(k) >= upto {
                break;
            }
            let k = k as usize;
            let (f, t, a) = (self.from[k], self.to[k], self.amount[k]);
            if t as usize == i {
                held = held.saturating_add(a);
            }
            if f as usize == i {
                held = held.saturating_sub(a);
            }
        }
        Some(U256::from(held))
    }

    /// The supply at `block`: what the logs up to it minted, less what they burnt.
    pub(super) fn supply(&self, block: u64) -> U256 {
        let upto = self.before(block.saturating_add(1));
        let c = upto / MARK_EVERY;
        let mut s = self.marks.get(c as usize).copied().unwrap_or(0);
        for k in (c * MARK_EVERY) as usize..upto as usize {
            if self.from[k] == ZERO {
                s = s.saturating_add(self.amount[k]);
            }
            if self.to[k] == ZERO {
                s = s.saturating_sub(self.amount[k]);
            }
        }
        U256::from(s)
    }

    /// Forgets the logs of blocks `first` and later.
    pub(super) fn drop_from(&mut self, first: u64) {
        self.end = self.end.min(first);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(logs: u64, blocks: u64, holders: u64) -> SeededTransfers {
        SeededTransfers::generate(Address::repeat_byte(0x5e), 100, logs, blocks, holders)
    }

    #[test]
    fn logs_spread_over_the_blocks() {
        let s = history(10, 4, 3);
        let blocks: Vec<u64> = (0..10).map(|k| s.block_of(k)).collect();
        assert_eq!(blocks, [100, 100, 100, 101, 101, 102, 102, 102, 103, 103]);
        assert_eq!(s.before(100), 0);
        assert_eq!(s.before(101), 3);
        assert_eq!(s.before(103), 8);
        assert_eq!(s.before(104), 10);
        assert_eq!(s.before(u64::MAX), 10);
        assert_eq!(s.in_block(102), 3);
        assert_eq!(s.in_block(99), 0);
        let sparse = history(3, 10, 3);
        let blocks: Vec<u64> = (0..3).map(|k| sparse.block_of(k)).collect();
        assert_eq!(blocks, [100, 103, 106]);
        for b in 99..112 {
            let want = blocks.iter().filter(|x| **x < b).count() as u64;
            assert_eq!(sparse.before(b), want, "block {b}");
        }
    }

    #[test]
    fn balances_add_up_to_the_supply_at_every_block() {
        let s = history(5_000, 700, 300);
        assert_eq!(s.last_block(), 100 + 699);
        for block in [99, 100, 150, 400, 799, 5_000] {
            let mut sum = U256::ZERO;
            for i in 0..300 {
                sum += s.balance(&holder_address(i), block).unwrap();
            }
            assert_eq!(sum, s.supply(block), "block {block}");
        }
        for i in 0..300 {
            assert!(
                s.balance(&holder_address(i), 799).unwrap() > U256::ZERO,
                "holder {i}"
            );
        }
        assert_eq!(s.balance(&holder_address(300), 799), None);
        // Replaying the logs gives the same balances.
        let mut replay = vec![U256::ZERO; 300];
        for k in 0..5_000 {
            let (f, t, a) = s.log(k);
            if let Some(i) = holder_index(&f, 300) {
                replay[i as usize] -= a;
            }
            if let Some(i) = holder_index(&t, 300) {
                replay[i as usize] += a;
            }
        }
        for (i, want) in replay.iter().enumerate() {
            assert_eq!(s.balance(&holder_address(i as u64), 799), Some(*want));
        }
    }

    #[test]
    fn a_reorg_hides_the_logs_of_its_blocks() {
        let mut s = history(1_000, 100, 50);
        let before = s.supply(150);
        let at_149 = s.supply(149);
        s.drop_from(150);
        assert_eq!(s.before(u64::MAX), s.before(150));
        assert_eq!(s.supply(u64::MAX), at_149);
        assert_ne!(before, at_149);
        assert_eq!(s.in_block(150), 0);
    }

    #[test]
    fn one_log_per_holder_is_all_mints_and_transfers_to_newcomers() {
        let s = history(1_000, 1_000, 1_000);
        for k in 0..1_000 {
            let (_, t, _) = s.log(k);
            assert_eq!(t, holder_address(k), "log {k} introduces holder {k}");
        }
    }
}
