//! Token moves: the [`EvmNode`] methods that transfer, mint and burn tokens and emit the
//! standard event logs; what `totalSupply` answers; the seeded transfer histories; and the
//! provider limits of `eth_getLogs`.
//!
//! A move takes effect at the tip + 1, like the `set_*` methods, and returns that block:
//! several moves made before the next [`EvmNode::mine`] land in the same block, in the order
//! made, each a transaction of its own with one log. The zero address as the sender is a
//! mint, as the receiver a burn; a mint or a burn changes the supply `totalSupply` answers
//! (a burn never takes it below zero). A move that a token would revert (a sender without
//! enough, an item its sender does not hold, an item minted twice, from and to both the zero
//! address) is refused and changes nothing. The `set_*` methods change balances without a
//! log and without touching the supply: a token whose balances change without events.

use std::collections::HashMap;

use alloy_primitives::{Address, U256};

use super::logs::RecordedLog;
use super::seeded::{SeededTransfers, MAX_SEEDED_LOGS};
use super::state::{Code, State};
use super::{address_string, parse_address, EvmNode, LogsErrorStyle, SeededTransferHistory};
use crate::InvalidInput;

/// Refuses a move from and to the zero address.
fn neither_zero(from: &Address, to: &Address) -> Result<(), String> {
    if from.is_zero() && to.is_zero() {
        return Err(
            "a move from the zero address to the zero address mints and burns \
                    nothing: give a sender or a receiver"
                .into(),
        );
    }
    Ok(())
}

/// Refuses a token address holding another kind of contract, without deploying anything.
fn check_kind(s: &State, contract: &Address, code: Code) -> Result<(), String> {
    match s.contract(contract) {
        Some((existing, _)) if existing != code => Err(format!(
            "{} is the {} contract, not an {}",
            address_string(contract),
            existing.name(),
            code.name()
        )),
        _ => Ok(()),
    }
}

/// The amounts of a fungible move (ERC-20, or one id of an ERC-1155): the sender's and the
/// receiver's new balances (`None` for the zero address or a move to oneself) and the new
/// supply, or why the token would refuse it.
struct Fungible {
    from: Option<U256>,
    to: Option<U256>,
    supply: Option<U256>,
}

/// Works out a fungible move of `amount` from `from` (holding `held_from`) to `to` (holding
/// `held_to`), the supply being `supply`; `what` names the token in messages.
fn fungible(
    from: &Address,
    to: &Address,
    held_from: U256,
    held_to: U256,
    supply: U256,
    amount: U256,
    what: &str,
) -> Result<Fungible, String> {
    if !from.is_zero() && held_from < amount {
        return Err(format!(
            "{} holds {held_from} of {what}, less than the {amount} to move",
            address_string(from)
        ));
    }
    let self_move = from == to;
    let new_from = (!from.is_zero() && !self_move).then(|| held_from - amount);
    let new_to = match (!to.is_zero() && !self_move).then(|| held_to.checked_add(amount)) {
        Some(None) => {
            return Err(format!(
                "{} would hold more than 2^256 - 1 of {what}",
                address_string(to)
            ))
        }
        other => other.flatten(),
    };
    let new_supply = if from.is_zero() {
        Some(supply.checked_add(amount).ok_or_else(|| {
            format!("minting {amount} would take the supply of {what} past 2^256 - 1")
        })?)
    } else if to.is_zero() {
        Some(supply.saturating_sub(amount))
    } else {
        None
    };
    Ok(Fungible {
        from: new_from,
        to: new_to,
        supply: new_supply,
    })
}

impl State {
    fn transfer_erc20(
        &mut self,
        contract: Address,
        from: Address,
        to: Address,
        block: u64,
        amount: U256,
    ) -> Result<(), String> {
        neither_zero(&from, &to)?;
        check_kind(self, &contract, Code::Erc20)?;
        let what = address_string(&contract);
        let m = fungible(
            &from,
            &to,
            self.erc20(&contract, &from, block),
            self.erc20(&contract, &to, block),
            self.total_supply(&contract, block),
            amount,
            &what,
        )?;
        self.deploy_for_move(contract, Code::Erc20, block)?;
        if let Some(v) = m.from {
            self.move_erc20(contract, from, block, v);
        }
        if let Some(v) = m.to {
            self.move_erc20(contract, to, block, v);
        }
        if let Some(v) = m.supply {
            self.write_supply(contract, block, v, true);
        }
        self.logs
            .push(RecordedLog::erc20(block, contract, from, to, amount));
        Ok(())
    }

    fn transfer_erc721(
        &mut self,
        contract: Address,
        from: Address,
        to: Address,
        block: u64,
        id: U256,
    ) -> Result<(), String> {
        neither_zero(&from, &to)?;
        check_kind(self, &contract, Code::Erc721)?;
        let held_by = self.erc721_owner(&contract, &id, block);
        let item = format!("item {id} of {}", address_string(&contract));
        match held_by {
            Some(owner) if from.is_zero() => {
                return Err(format!(
                    "{item} is already held by {}: it cannot be minted again",
                    address_string(&owner)
                ))
            }
            Some(owner) if owner != from => {
                return Err(format!(
                    "{item} is held by {}, not by {}",
                    address_string(&owner),
                    address_string(&from)
                ))
            }
            None if !from.is_zero() => {
                return Err(format!(
                    "{item} is held by no one, not by {}",
                    address_string(&from)
                ))
            }
            _ => {}
        }
        self.deploy_for_move(contract, Code::Erc721, block)?;
        if from != to {
            self.move_erc721(contract, id, block, (!to.is_zero()).then_some(to));
        }
        let supply = self.total_supply(&contract, block);
        if from.is_zero() {
            self.write_supply(contract, block, supply.saturating_add(U256::from(1)), true);
        } else if to.is_zero() {
            self.write_supply(contract, block, supply.saturating_sub(U256::from(1)), true);
        }
        self.logs
            .push(RecordedLog::erc721(block, contract, from, to, id));
        Ok(())
    }

    /// Moves `amounts[i]` of `ids[i]`, in order; one log, single or batch.
    fn transfer_erc1155(
        &mut self,
        contract: Address,
        parties: [Address; 3],
        block: u64,
        moves: &[(U256, U256)],
        batch: bool,
    ) -> Result<(), String> {
        let [_, from, to] = parties;
        neither_zero(&from, &to)?;
        check_kind(self, &contract, Code::Erc1155)?;
        // Worked out in order on a copy, so that a refused move changes nothing.
        let mut balances: HashMap<(Address, U256), U256> = HashMap::new();
        let mut supplies: HashMap<U256, U256> = HashMap::new();
        let mut order: Vec<(Address, U256)> = Vec::new();
        let mut supply_order: Vec<U256> = Vec::new();
        for (id, amount) in moves {
            let mut held = |owner: &Address, s: &State| {
                *balances
                    .entry((*owner, *id))
                    .or_insert_with(|| s.erc1155(&contract, owner, id, block))
            };
            let (held_from, held_to) = (held(&from, self), held(&to, self));
            let supply = *supplies
                .entry(*id)
                .or_insert_with(|| self.erc1155_supply(&contract, id, block));
            let what = format!("id {id} of {}", address_string(&contract));
            let m = fungible(&from, &to, held_from, held_to, supply, *amount, &what)?;
            for (owner, value) in [(from, m.from), (to, m.to)] {
                if let Some(v) = value {
                    balances.insert((owner, *id), v);
                    if !order.contains(&(owner, *id)) {
                        order.push((owner, *id));
                    }
                }
            }
            if let Some(v) = m.supply {
                supplies.insert(*id, v);
                if !supply_order.contains(id) {
                    supply_order.push(*id);
                }
            }
        }
        self.deploy_for_move(contract, Code::Erc1155, block)?;
        for (owner, id) in order {
            if let Some(v) = balances.get(&(owner, id)) {
                self.move_erc1155(contract, owner, id, block, *v);
            }
        }
        for id in supply_order {
            if let Some(v) = supplies.get(&id) {
                self.write_supply1155(contract, id, block, *v, true);
            }
        }
        let log = match (batch, moves) {
            (false, [(id, amount)]) => {
                RecordedLog::erc1155_single(block, contract, parties, *id, *amount)
            }
            _ => RecordedLog::erc1155_batch(
                block,
                contract,
                parties,
                moves.iter().map(|(id, _)| *id).collect(),
                moves.iter().map(|(_, a)| *a).collect(),
            ),
        };
        self.logs.push(log);
        Ok(())
    }

    /// Records the supply of a token from `block` on (no log, not undone by a reorg).
    fn set_supply(
        &mut self,
        contract: Address,
        id: Option<U256>,
        block: u64,
        amount: U256,
    ) -> Result<(), String> {
        let want = if id.is_some() {
            Code::Erc1155
        } else {
            Code::Erc20
        };
        match self.contract(&contract) {
            Some((code, _)) if id.is_some() && code != Code::Erc1155 => Err(format!(
                "{} is the {} contract: only an ERC-1155 has a supply per id",
                address_string(&contract),
                code.name()
            )),
            Some((Code::Erc20 | Code::Erc721, _)) if id.is_none() => {
                self.write_supply(contract, block, amount, false);
                Ok(())
            }
            Some((Code::Erc1155, _)) if id.is_some() => {
                if let Some(id) = id {
                    self.write_supply1155(contract, id, block, amount, false);
                }
                Ok(())
            }
            Some((code, _)) => Err(format!(
                "{} is the {} contract: set the supply of an ERC-20 or an ERC-721 here, of an \
                 ERC-1155 id with set_erc1155_total_supply",
                address_string(&contract),
                code.name()
            )),
            None => Err(format!(
                "{} is no contract: deploy an {} there first",
                address_string(&contract),
                want.name()
            )),
        }
    }
}

impl EvmNode {
    /// Moves `amount` of the ERC-20 `contract` from `from` to `to` at the tip + 1 (the
    /// zero address as `from` mints, as `to` burns), deploying the contract then if it has
    /// no code yet, and emits `Transfer(from, to, value)`; returns that block. Refused when
    /// `from` holds less than `amount`.
    ///
    /// ```
    /// use tokbal_devnet::{Devnet, ZERO_ADDRESS};
    /// use ruint::aliases::U256;
    ///
    /// let node = Devnet::builder().evm_initial_blocks(10).build_evm_node();
    /// let token = "0x00000000000000000000000000000000000000c0";
    /// let (alice, bob) = (
    ///     "0x00000000000000000000000000000000000a11ce",
    ///     "0x0000000000000000000000000000000000000b0b",
    /// );
    /// assert_eq!(node.transfer_erc20(token, ZERO_ADDRESS, alice, U256::from(100)).unwrap(), 10);
    /// node.transfer_erc20(token, alice, bob, U256::from(30)).unwrap(); // same block
    /// assert!(node.transfer_erc20(token, bob, alice, U256::from(31)).is_err());
    /// node.mine(1);
    /// assert_eq!(node.erc20_balance(token, alice, None).unwrap(), U256::from(70));
    /// assert_eq!(node.total_supply(token, None).unwrap(), U256::from(100));
    /// ```
    pub fn transfer_erc20(
        &self,
        contract: &str,
        from: &str,
        to: &str,
        amount: U256,
    ) -> Result<u64, InvalidInput> {
        let (c, f, t) = (
            parse_address(contract)?,
            parse_address(from)?,
            parse_address(to)?,
        );
        self.write_next(|s, b| s.transfer_erc20(c, f, t, b, amount))
    }

    /// Moves item `id` of the ERC-721 `contract` from `from` to `to` at the tip + 1 (the
    /// zero address as `from` mints it, as `to` burns it) and emits `Transfer(from, to,
    /// tokenId)` with the id as a fourth topic; returns that block. Refused when `from`
    /// does not hold the item, or when a minted item exists.
    pub fn transfer_erc721(
        &self,
        contract: &str,
        from: &str,
        to: &str,
        id: U256,
    ) -> Result<u64, InvalidInput> {
        let (c, f, t) = (
            parse_address(contract)?,
            parse_address(from)?,
            parse_address(to)?,
        );
        self.write_next(|s, b| s.transfer_erc721(c, f, t, b, id))
    }

    /// Moves `amount` of token `id` of the ERC-1155 `contract` from `from` to `to` at the
    /// tip + 1, by `operator` (the zero address as `from` mints, as `to` burns), and emits
    /// `TransferSingle(operator, from, to, id, value)`; returns that block.
    pub fn transfer_erc1155(
        &self,
        contract: &str,
        operator: &str,
        from: &str,
        to: &str,
        id: U256,
        amount: U256,
    ) -> Result<u64, InvalidInput> {
        let (c, o, f, t) = (
            parse_address(contract)?,
            parse_address(operator)?,
            parse_address(from)?,
            parse_address(to)?,
        );
        self.write_next(|s, b| s.transfer_erc1155(c, [o, f, t], b, &[(id, amount)], false))
    }

    /// Moves `amounts[i]` of token `ids[i]` of the ERC-1155 `contract`, for every `i` in
    /// order (an id may come back), from `from` to `to` at the tip + 1, by `operator`, in
    /// one transaction, and emits one `TransferBatch(operator, from, to, ids, values)`;
    /// returns that block. Refused when the two lists differ in length, or when any move
    /// would be refused (then none is made).
    pub fn transfer_erc1155_batch(
        &self,
        contract: &str,
        operator: &str,
        from: &str,
        to: &str,
        ids: &[U256],
        amounts: &[U256],
    ) -> Result<u64, InvalidInput> {
        let (c, o, f, t) = (
            parse_address(contract)?,
            parse_address(operator)?,
            parse_address(from)?,
            parse_address(to)?,
        );
        if ids.len() != amounts.len() {
            return Err(InvalidInput(format!(
                "ids and amounts differ in length ({} and {})",
                ids.len(),
                amounts.len()
            )));
        }
        let moves: Vec<(U256, U256)> = ids.iter().copied().zip(amounts.iter().copied()).collect();
        self.write_next(|s, b| s.transfer_erc1155(c, [o, f, t], b, &moves, true))
    }

    /// What `totalSupply()` of the ERC-20 or ERC-721 `contract` answers at `block` (the tip
    /// when `None`), whether or not the contract has the function: what its mints and burns
    /// add up to, or what [`EvmNode::set_total_supply`] set.
    pub fn total_supply(&self, contract: &str, block: Option<u64>) -> Result<U256, InvalidInput> {
        let c = parse_address(contract)?;
        Ok(self.read(block, |s, b| s.total_supply(&c, b)))
    }

    /// What `totalSupply(id)` of the ERC-1155 `contract` answers at `block` (the tip when
    /// `None`).
    pub fn erc1155_total_supply(
        &self,
        contract: &str,
        id: U256,
        block: Option<u64>,
    ) -> Result<U256, InvalidInput> {
        let c = parse_address(contract)?;
        Ok(self.read(block, |s, b| s.erc1155_supply(&c, &id, b)))
    }

    /// Sets what `totalSupply()` of the ERC-20 or ERC-721 `contract` answers from the tip + 1
    /// on (later mints and burns count from there), without a log; returns that block.
    /// For tests of a supply that does not match the balances.
    pub fn set_total_supply(&self, contract: &str, amount: U256) -> Result<u64, InvalidInput> {
        let c = parse_address(contract)?;
        self.write_next(|s, b| s.set_supply(c, None, b, amount))
    }

    /// Sets what `totalSupply(id)` of the ERC-1155 `contract` answers from the tip + 1 on,
    /// without a log; returns that block.
    pub fn set_erc1155_total_supply(
        &self,
        contract: &str,
        id: U256,
        amount: U256,
    ) -> Result<u64, InvalidInput> {
        let c = parse_address(contract)?;
        self.write_next(|s, b| s.set_supply(c, Some(id), b, amount))
    }

    /// Whether the token `contract` has its `totalSupply` function: `totalSupply()` for an
    /// ERC-20 (which has it unless told otherwise) or an ERC-721 (ERC721Enumerable; not
    /// unless told), `totalSupply(uint256)` for an ERC-1155 (ERC1155Supply; not unless
    /// told). Without it, the call reverts with empty data. At every block; refused for an
    /// address without a token.
    pub fn set_total_supply_function(&self, contract: &str, on: bool) -> Result<(), InvalidInput> {
        let c = parse_address(contract)?;
        self.write_lock()
            .state
            .set_supply_function(c, on)
            .map_err(InvalidInput)
    }

    /// Gives the ERC-20 `contract` a history of `logs` `Transfer` logs among `holders`
    /// holders over the last `blocks` blocks (the contract is deployed at the first of them,
    /// which holds the first log), computed from a seed and kept compact (about 32 bytes a
    /// log and 4 a holder: a million logs among a million holders take about 32 MB and a
    /// fraction of a second to make). Holder `i` is
    /// [`seed_holder_address`](super::seed_holder_address)`(i)`; at the last block every
    /// one of them holds a balance, and the supply is their sum. The logs, balances and
    /// supply at every block follow from the logs; see the `seeded` module for the layout.
    ///
    /// Needs `1 <= holders <= logs <= 100,000,000`, `1 <= blocks <= tip + 1`, and an
    /// address without code.
    ///
    /// ```
    /// use tokbal_devnet::{seed_holder_address, Devnet};
    ///
    /// let node = Devnet::builder().evm_initial_blocks(1_000).build_evm_node();
    /// let token = "0x00000000000000000000000000000000000000c0";
    /// let h = node.seed_transfer_history(token, 5_000, 800, 300).unwrap();
    /// assert_eq!((h.first_block, h.last_block, h.holders), (200, 999, 300));
    /// assert!(!node.has_code(token, Some(199)).unwrap());
    /// let mut sum = ruint::aliases::U256::ZERO;
    /// for i in 0..300 {
    ///     sum += node.erc20_balance(token, &seed_holder_address(i), None).unwrap();
    /// }
    /// assert_eq!(sum, h.total_supply);
    /// ```
    pub fn seed_transfer_history(
        &self,
        contract: &str,
        logs: u64,
        blocks: u64,
        holders: u64,
    ) -> Result<SeededTransferHistory, InvalidInput> {
        let c = parse_address(contract)?;
        if holders == 0 || holders > logs || logs > MAX_SEEDED_LOGS {
            return Err(InvalidInput(format!(
                "a transfer history needs 1 <= holders <= logs <= {MAX_SEEDED_LOGS}: got \
                 {logs} logs among {holders} holders"
            )));
        }
        let tip = self.tip();
        if blocks == 0 || blocks > tip.saturating_add(1) {
            return Err(InvalidInput(format!(
                "a transfer history over {blocks} blocks needs 1 to {} blocks (the chain \
                 has {}; start it with more)",
                tip.saturating_add(1),
                tip.saturating_add(1)
            )));
        }
        let first = tip + 1 - blocks;
        let history = SeededTransfers::generate(c, first, logs, blocks, holders);
        let summary = SeededTransferHistory {
            contract: address_string(&c),
            first_block: first,
            last_block: history.last_block(),
            logs,
            holders,
            total_supply: history.supply(u64::MAX),
        };
        let mut l = self.write_lock();
        let s = &mut l.state;
        if s.contract(&c).is_some() || s.logs.is_seeded(&c) {
            return Err(InvalidInput(format!(
                "{} already has code: a transfer history needs a fresh address",
                address_string(&c)
            )));
        }
        s.deploy(c, Code::Erc20, first, true)
            .map_err(InvalidInput)?;
        s.logs.seed(history);
        Ok(summary)
    }

    /// The most blocks one `eth_getLogs` query may span (`None`, the default: no cap; 0 is
    /// taken as 1); a longer query is refused in the [`LogsErrorStyle`] set. A query of one
    /// block, by number or by hash, is never refused.
    pub fn set_logs_max_range(&self, blocks: Option<u64>) {
        self.knobs_lock().logs.max_range = blocks.map(|b| b.max(1));
    }

    /// The most logs one `eth_getLogs` answer may hold (`None`, the default: no cap); a
    /// query matching more is refused in the [`LogsErrorStyle`] set, unless it spans one
    /// block.
    pub fn set_logs_max_results(&self, logs: Option<u64>) {
        self.knobs_lock().logs.max_results = logs;
    }

    /// How a query over a cap is refused (default [`LogsErrorStyle::Infura`]).
    pub fn set_logs_error_style(&self, style: LogsErrorStyle) {
        self.knobs_lock().logs.style = style;
    }

    /// Throttles the next `n` HTTP requests that carry an `eth_getLogs` call (replacing an
    /// earlier countdown), as the [`ThrottleStyle`](super::ThrottleStyle) set says (429
    /// with `Retry-After` by default), with the `Retry-After` of the [`Faults`](crate::Faults).
    pub fn throttle_logs_next(&self, n: u64) {
        self.inner
            .logs_throttle
            .store(n, std::sync::atomic::Ordering::Relaxed);
    }
}
