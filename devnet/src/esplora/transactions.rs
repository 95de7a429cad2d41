//! The [`EsploraNode`] methods that make transactions (payments, transfers, coinbases,
//! transactions of your own, in the next block, at a given block or in the mempool), seed
//! histories, and read balances back.
//!
//! Every address is taken as an address of the node's network (see the module
//! documentation of [`super`]), every amount in satoshis.

use std::ops::RangeInclusive;

use super::address::hex;
use super::ledger::{self, InputSpec, Placement, SeedSpec, TxOut};
use super::{EsploraNode, EsploraTxRef, MAX_SEEDED_TXS_PER_ADDRESS, TRANSFER_FEE_SATS};
use crate::InvalidInput;

impl EsploraNode {
    /// Makes a transaction at `at` (the tip + 1 when `None`).
    fn make(
        &self,
        at: Option<Placement>,
        inputs: &[InputSpec],
        outputs: &[TxOut],
    ) -> Result<EsploraTxRef, InvalidInput> {
        let mut w = self.lock();
        let tip = w.chain.tip;
        let at = at.unwrap_or(Placement::Block(tip.saturating_add(1)));
        let txid = w
            .ledger
            .add(at, inputs, outputs, tip)
            .map_err(InvalidInput)?;
        Ok(EsploraTxRef {
            txid: hex(&txid),
            height: match at {
                Placement::Block(h) => Some(h),
                Placement::Mempool => None,
            },
        })
    }

    fn pay_in(
        &self,
        at: Option<Placement>,
        to: &str,
        amount_sats: u64,
    ) -> Result<EsploraTxRef, InvalidInput> {
        let to = self.address(to)?;
        let total = amount_sats
            .checked_add(TRANSFER_FEE_SATS)
            .ok_or_else(|| InvalidInput(format!("{amount_sats} sats is too much")))?;
        self.make(
            at,
            &[InputSpec::Faucet(total)],
            &[TxOut {
                address: to.canonical,
                value: amount_sats,
            }],
        )
    }

    /// The faucet pays `amount_sats` to `to` in the block after the tip (fee
    /// [`TRANSFER_FEE_SATS`], paid by the faucet); until that block is mined, the payment
    /// is answered as unconfirmed, in the mempool.
    pub fn pay(&self, to: &str, amount_sats: u64) -> Result<EsploraTxRef, InvalidInput> {
        self.pay_in(None, to, amount_sats)
    }

    /// Like [`EsploraNode::pay`], confirmed in block `height` (any block, past ones
    /// included).
    pub fn pay_at(
        &self,
        height: u64,
        to: &str,
        amount_sats: u64,
    ) -> Result<EsploraTxRef, InvalidInput> {
        self.pay_in(Some(Placement::Block(height)), to, amount_sats)
    }

    /// Like [`EsploraNode::pay`], left unconfirmed in the mempool.
    pub fn pay_mempool(&self, to: &str, amount_sats: u64) -> Result<EsploraTxRef, InvalidInput> {
        self.pay_in(Some(Placement::Mempool), to, amount_sats)
    }

    /// A coinbase transaction paying `amount_sats` to `to` (its input spends nothing:
    /// `is_coinbase` true, `prevout` null) in the block after the tip.
    pub fn pay_coinbase(&self, to: &str, amount_sats: u64) -> Result<EsploraTxRef, InvalidInput> {
        let h = self.tip().saturating_add(1);
        self.pay_coinbase_at(h, to, amount_sats)
    }

    /// Like [`EsploraNode::pay_coinbase`], in block `height`.
    pub fn pay_coinbase_at(
        &self,
        height: u64,
        to: &str,
        amount_sats: u64,
    ) -> Result<EsploraTxRef, InvalidInput> {
        let to = self.address(to)?;
        self.make(
            Some(Placement::Block(height)),
            &[InputSpec::Coinbase],
            &[TxOut {
                address: to.canonical,
                value: amount_sats,
            }],
        )
    }

    fn transfer_in(
        &self,
        at: Option<Placement>,
        from: &str,
        to: &str,
        amount_sats: u64,
    ) -> Result<EsploraTxRef, InvalidInput> {
        let (from, to) = (self.address(from)?, self.address(to)?);
        let needed = amount_sats
            .checked_add(TRANSFER_FEE_SATS)
            .ok_or_else(|| InvalidInput(format!("{amount_sats} sats is too much")))?;
        let mut w = self.lock();
        let tip = w.chain.tip;
        let at = at.unwrap_or(Placement::Block(tip.saturating_add(1)));
        // Two passes: the first finds what the inputs add up to, the second makes the
        // transaction with the change.
        let covered = w
            .ledger
            .covered(&from.canonical, needed, at, tip)
            .map_err(InvalidInput)?;
        let mut outputs = vec![TxOut {
            address: to.canonical,
            value: amount_sats,
        }];
        if covered > needed {
            outputs.push(TxOut {
                address: from.canonical.clone(),
                value: covered - needed,
            });
        }
        let txid = w
            .ledger
            .add(
                at,
                &[InputSpec::Cover(from.canonical, needed)],
                &outputs,
                tip,
            )
            .map_err(InvalidInput)?;
        Ok(EsploraTxRef {
            txid: hex(&txid),
            height: match at {
                Placement::Block(h) => Some(h),
                Placement::Mempool => None,
            },
        })
    }

    /// `from` pays `amount_sats` to `to` in the block after the tip, spending its outputs
    /// oldest first (those confirmed by that block) with the change back to itself and a
    /// fee of [`TRANSFER_FEE_SATS`]. Fails if `from` has too little.
    pub fn transfer(
        &self,
        from: &str,
        to: &str,
        amount_sats: u64,
    ) -> Result<EsploraTxRef, InvalidInput> {
        self.transfer_in(None, from, to, amount_sats)
    }

    /// Like [`EsploraNode::transfer`], confirmed in block `height` (spending outputs
    /// confirmed at or below it).
    pub fn transfer_at(
        &self,
        height: u64,
        from: &str,
        to: &str,
        amount_sats: u64,
    ) -> Result<EsploraTxRef, InvalidInput> {
        self.transfer_in(Some(Placement::Block(height)), from, to, amount_sats)
    }

    /// Like [`EsploraNode::transfer`], left in the mempool (spending confirmed or mempool
    /// outputs).
    pub fn transfer_mempool(
        &self,
        from: &str,
        to: &str,
        amount_sats: u64,
    ) -> Result<EsploraTxRef, InvalidInput> {
        self.transfer_in(Some(Placement::Mempool), from, to, amount_sats)
    }

    fn add_tx_in(
        &self,
        at: Option<Placement>,
        inputs: &[(&str, u64)],
        outputs: &[(&str, u64)],
    ) -> Result<EsploraTxRef, InvalidInput> {
        let faucet = self.faucet_address();
        let inputs = inputs
            .iter()
            .map(|(a, v)| {
                let a = self.address(a)?;
                Ok(if a.canonical == faucet {
                    InputSpec::Faucet(*v)
                } else {
                    InputSpec::Exact(a.canonical, *v)
                })
            })
            .collect::<Result<Vec<_>, InvalidInput>>()?;
        let outputs = outputs
            .iter()
            .map(|(a, v)| {
                Ok(TxOut {
                    address: self.address(a)?.canonical,
                    value: *v,
                })
            })
            .collect::<Result<Vec<_>, InvalidInput>>()?;
        self.make(at, &inputs, &outputs)
    }

    /// A transaction of your own in the block after the tip: each input `(address, value)`
    /// spends the oldest unspent output of `address` worth exactly `value` (or, for the
    /// [faucet](EsploraNode::faucet_address), a made-up output of that value); the fee is
    /// what the inputs hold beyond the outputs (refused if negative).
    pub fn add_tx(
        &self,
        inputs: &[(&str, u64)],
        outputs: &[(&str, u64)],
    ) -> Result<EsploraTxRef, InvalidInput> {
        self.add_tx_in(None, inputs, outputs)
    }

    /// Like [`EsploraNode::add_tx`], confirmed in block `height`.
    pub fn add_tx_at(
        &self,
        height: u64,
        inputs: &[(&str, u64)],
        outputs: &[(&str, u64)],
    ) -> Result<EsploraTxRef, InvalidInput> {
        self.add_tx_in(Some(Placement::Block(height)), inputs, outputs)
    }

    /// Like [`EsploraNode::add_tx`], left unconfirmed in the mempool.
    pub fn add_mempool_tx(
        &self,
        inputs: &[(&str, u64)],
        outputs: &[(&str, u64)],
    ) -> Result<EsploraTxRef, InvalidInput> {
        self.add_tx_in(Some(Placement::Mempool), inputs, outputs)
    }

    /// Confirms every mempool transaction in the block after the tip (they are answered as
    /// unconfirmed until it is mined); returns that block.
    pub fn confirm_mempool(&self) -> u64 {
        let mut w = self.lock();
        let h = w.chain.tip.saturating_add(1);
        w.ledger.confirm_mempool(h);
        h
    }

    /// Seeds `n` addresses ([`seed_address`](super::seed_address)`(0..n)` on the node's network) with histories
    /// of `txs_per_address` transactions each (clamped to 1..=[`MAX_SEEDED_TXS_PER_ADDRESS`],
    /// drawn per address from `seed`) at heights from 1 to the current tip, so that some lie
    /// above any height below the tip. Computed when read: free to seed, cheap to read.
    /// Replaces an earlier seeding.
    pub fn seed_addresses(&self, n: u64, txs_per_address: RangeInclusive<u32>, seed: u64) {
        let tip = self.tip();
        self.seed_addresses_between(n, txs_per_address, seed, 1.min(tip)..=tip);
    }

    /// Like [`EsploraNode::seed_addresses`], the transactions at heights in `heights`
    /// (which may reach past the tip: those appear as blocks are mined).
    pub fn seed_addresses_between(
        &self,
        n: u64,
        txs_per_address: RangeInclusive<u32>,
        seed: u64,
        heights: RangeInclusive<u64>,
    ) {
        let min = (*txs_per_address.start()).clamp(1, MAX_SEEDED_TXS_PER_ADDRESS);
        let max = (*txs_per_address.end()).clamp(min, MAX_SEEDED_TXS_PER_ADDRESS);
        let first = *heights.start();
        let last = (*heights.end()).max(first);
        self.lock().ledger.seeded = (n > 0).then_some(SeedSpec {
            count: n,
            min_txs: min,
            max_txs: max,
            seed,
            first_height: first,
            last_height: last,
        });
    }

    /// How many addresses are seeded.
    pub fn seeded_addresses(&self) -> u64 {
        self.lock().ledger.seeded.map_or(0, |s| s.count)
    }

    /// The confirmed balance of `address` at block `at` (the tip when `None`): what its
    /// outputs confirmed at or below it hold, minus what was spent from them there.
    pub fn balance(&self, address: &str, at: Option<u64>) -> Result<u64, InvalidInput> {
        let a = self.address(address)?;
        let w = self.lock();
        let seeded = w.ledger.seeded_history(&a);
        let txs = w.ledger.history(&a, &seeded);
        let at = at.unwrap_or(w.chain.tip);
        Ok(ledger::stats(&txs, &a.canonical, at).0.balance())
    }

    /// The txids of the confirmed transactions of `address` at or below block `at` (the tip
    /// when `None`), newest first: the order `/address/:address/txs/chain` pages through.
    pub fn txids(&self, address: &str, at: Option<u64>) -> Result<Vec<String>, InvalidInput> {
        let a = self.address(address)?;
        let w = self.lock();
        let seeded = w.ledger.seeded_history(&a);
        let txs = w.ledger.history(&a, &seeded);
        let at = at.unwrap_or(w.chain.tip);
        Ok(ledger::confirmed_newest_first(&txs, at)
            .into_iter()
            .map(|t| hex(&t.txid))
            .collect())
    }
}
