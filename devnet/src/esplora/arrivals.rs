//! Blocks that arrive while a client reads, driven by requests rather than by time: a read
//! that races the chain (an address that receives something in most blocks while its long
//! history is paged) plays out the same way on every run.

use super::ledger::{InputSpec, Placement, TxOut};
use super::{EsploraNode, TRANSFER_FEE_SATS};
use crate::InvalidInput;

/// The arrival settings: how often a block comes, and who it pays.
#[derive(Debug, Default)]
pub(super) struct Arrivals {
    /// A block before every `every`-th request (0: none).
    every: u64,
    /// Requests counted since `every` was set.
    seen: u64,
    busy: Vec<Busy>,
}

/// An address paid in arriving blocks.
#[derive(Clone, Debug)]
struct Busy {
    /// Canonical form.
    address: String,
    sats: u64,
    /// Blocks whose height is a multiple of this pay nothing (0: every block pays).
    skip_every: u64,
}

impl EsploraNode {
    /// From now on, mines one block (on the schedule) before answering every
    /// `requests`-th HTTP request, counted from this call, whatever the request; 0 stops.
    /// The request that brings the block already sees it. Each such block pays the
    /// addresses given to [`EsploraNode::keep_busy`].
    ///
    /// ```
    /// let node = tokbal_devnet::Devnet::builder()
    ///     .esplora_initial_blocks(10)
    ///     .build_esplora_node();
    /// node.mine_every_requests(3);
    /// assert_eq!(node.tip(), 9, "no request yet");
    /// ```
    pub fn mine_every_requests(&self, requests: u64) {
        let mut a = self.arrivals();
        a.every = requests;
        a.seen = 0;
    }

    /// Makes `address` busy: every block mined by
    /// [`mine_every_requests`](EsploraNode::mine_every_requests) pays it `amount_sats` from
    /// the faucet (fee [`TRANSFER_FEE_SATS`], paid by the faucet), except blocks whose height
    /// is a multiple of `skip_every` (0: none is skipped; 4: three blocks in four pay). Giving
    /// an address again replaces its settings.
    pub fn keep_busy(
        &self,
        address: &str,
        amount_sats: u64,
        skip_every: u64,
    ) -> Result<(), InvalidInput> {
        let address = self.address(address)?.canonical;
        if amount_sats.checked_add(TRANSFER_FEE_SATS).is_none() {
            return Err(InvalidInput(format!("{amount_sats} sats is too much")));
        }
        let mut a = self.arrivals();
        a.busy.retain(|b| b.address != address);
        a.busy.push(Busy {
            address,
            sats: amount_sats,
            skip_every,
        });
        Ok(())
    }

    /// Stops the arrivals and forgets the busy addresses.
    pub fn stop_arrivals(&self) {
        *self.arrivals() = Arrivals::default();
    }

    /// Counts a request; mines a block when one is due, with the busy addresses' payments
    /// in it (under one lock: a request sees both or neither).
    pub(super) fn on_request(&self) {
        let busy = {
            let mut a = self.arrivals();
            if a.every == 0 {
                return;
            }
            a.seen += 1;
            if !a.seen.is_multiple_of(a.every) {
                return;
            }
            a.busy.clone()
        };
        let mut w = self.lock();
        let tip = w.chain.tip;
        let next = tip.saturating_add(1);
        for b in busy {
            if b.skip_every != 0 && next.is_multiple_of(b.skip_every) {
                continue;
            }
            // The amount was checked when the address was made busy, and a faucet payment
            // spends nothing tracked: this cannot fail.
            let _ = w.ledger.add(
                Placement::Block(next),
                &[InputSpec::Faucet(b.sats.saturating_add(TRANSFER_FEE_SATS))],
                &[TxOut {
                    address: b.address,
                    value: b.sats,
                }],
                tip,
            );
        }
        w.chain.mine(1);
    }
}

#[cfg(test)]
mod tests {
    use crate::{seed_address, Devnet};

    #[test]
    fn busy_addresses_are_paid_in_arriving_blocks_but_skipped_ones() {
        let node = Devnet::builder()
            .esplora_initial_blocks(8)
            .build_esplora_node();
        let (a, b) = (seed_address(1), seed_address(2));
        node.keep_busy(&a, 1_000, 4).unwrap();
        node.keep_busy(&b, 7, 0).unwrap();
        assert!(node.keep_busy("nope", 1, 0).is_err());
        assert!(node.keep_busy(&a, u64::MAX, 0).is_err());
        for _ in 0..12 {
            node.on_request();
        }
        assert_eq!(node.tip(), 7, "no arrivals before they are asked for");
        node.mine_every_requests(2);
        for _ in 0..12 {
            node.on_request();
        }
        // Six blocks, 8 to 13: block 8 and 12 skip `a`.
        assert_eq!(node.tip(), 13);
        assert_eq!(node.balance(&a, None).unwrap(), 4 * 1_000);
        assert_eq!(node.balance(&b, None).unwrap(), 6 * 7);
        assert_eq!(node.txids(&a, None).unwrap().len(), 4);
        node.stop_arrivals();
        node.on_request();
        node.on_request();
        assert_eq!(node.tip(), 13);
    }
}
