//! The EVM chain's state with history: native balances, token contracts and their
//! balances and supplies, each a list of changes by block, plus the seeded holders computed
//! on the fly, the event logs, and the journal that lets a reorg undo the token moves of the
//! blocks it drops.

use std::collections::HashMap;
use std::sync::Arc;

use alloy_primitives::{Address, U256};

use super::logs::LogBook;
use super::{
    seed_erc20_amount, seed_native_amount, EvmTokenMetadata, EVM_PANICKING_CONTRACT,
    EVM_REVERTING_CONTRACT, EVM_SHORT_RETURN_CONTRACT, MULTICALL3_ADDRESS, SEED_HOLDER_BASE,
};

/// Changes by block: `(first block, value)`, sorted by block.
pub(super) type History<T> = Vec<(u64, T)>;

/// The value in effect at `block`: the last change at or before it.
fn read_at<T: Copy>(hist: &History<T>, block: u64) -> Option<T> {
    let i = hist.partition_point(|(b, _)| *b <= block);
    i.checked_sub(1).map(|i| hist[i].1)
}

/// The value in effect at `block`, by reference (for values that are not `Copy`).
fn read_ref_at<T>(hist: &History<T>, block: u64) -> Option<&T> {
    let i = hist.partition_point(|(b, _)| *b <= block);
    i.checked_sub(1).and_then(|i| hist.get(i)).map(|(_, v)| v)
}

/// Records `value` from `block` on (replacing a change already at that block).
fn write_at<T>(hist: &mut History<T>, block: u64, value: T) {
    match hist.binary_search_by_key(&block, |(b, _)| *b) {
        Ok(i) => hist[i].1 = value,
        Err(i) => hist.insert(i, (block, value)),
    }
}

/// Records `value` from `block` on, and returns the change that was recorded at exactly
/// that block before (`None`: there was none), so that the write can be undone.
fn replace_at<T: Copy>(hist: &mut History<T>, block: u64, value: T) -> Option<T> {
    match hist.binary_search_by_key(&block, |(b, _)| *b) {
        Ok(i) => Some(std::mem::replace(&mut hist[i].1, value)),
        Err(i) => {
            hist.insert(i, (block, value));
            None
        }
    }
}

/// Puts back what [`replace_at`] replaced: the earlier change at `block`, or none.
fn restore_at<T>(hist: &mut History<T>, block: u64, prev: Option<T>) {
    match (hist.binary_search_by_key(&block, |(b, _)| *b), prev) {
        (Ok(i), Some(v)) => hist[i].1 = v,
        (Ok(i), None) => {
            hist.remove(i);
        }
        (Err(i), Some(v)) => hist.insert(i, (block, v)),
        (Err(_), None) => {}
    }
}

/// One write a token move made, with what it replaced: a reorg that drops the move's block
/// puts it back.
#[derive(Clone, Debug)]
enum Undo {
    /// A contract a move deployed, or deployed earlier than it was.
    Deploy {
        contract: Address,
        prev: Option<(Code, u64)>,
    },
    Erc20 {
        contract: Address,
        owner: Address,
        prev: Option<U256>,
    },
    Erc721 {
        contract: Address,
        id: U256,
        prev: Option<Option<Address>>,
    },
    Erc1155 {
        contract: Address,
        owner: Address,
        id: U256,
        prev: Option<U256>,
    },
    Supply {
        contract: Address,
        prev: Option<U256>,
    },
    Supply1155 {
        contract: Address,
        id: U256,
        prev: Option<U256>,
    },
}

/// What runs at an address that has code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Code {
    /// An ERC-20 token: `balanceOf(address)`.
    Erc20,
    /// An ERC-721 collection: `balanceOf(address)`, `ownerOf(uint256)`.
    Erc721,
    /// An ERC-1155 collection: `balanceOf(address,uint256)`.
    Erc1155,
    /// Multicall3: `aggregate3`, `getEthBalance`.
    Multicall3,
    /// Reverts every call with `Error("tokbal devnet: reverted")`.
    Reverting,
    /// Returns 4 bytes to every call.
    ShortReturn,
    /// Reverts every call with `Panic(0x01)`.
    Panicking,
}

impl Code {
    /// Whether this is a token contract (one that answers metadata).
    pub(super) fn is_token(self) -> bool {
        matches!(self, Code::Erc20 | Code::Erc721 | Code::Erc1155)
    }

    /// How the node names this kind of contract in messages.
    pub(super) fn name(self) -> &'static str {
        match self {
            Code::Erc20 => "ERC-20",
            Code::Erc721 => "ERC-721",
            Code::Erc1155 => "ERC-1155",
            Code::Multicall3 => "Multicall3",
            Code::Reverting => "reverting test",
            Code::ShortReturn => "short-return test",
            Code::Panicking => "panicking test",
        }
    }

    /// The runtime code `eth_getCode` answers: a few bytes standing for the contract
    /// (`PUSH1 0x80 PUSH1 0x40 MSTORE`, then a byte naming the kind, then `STOP`).
    pub(super) fn bytecode(self) -> [u8; 7] {
        let tag = match self {
            Code::Erc20 => 0x20,
            Code::Erc721 => 0x21,
            Code::Erc1155 => 0x55,
            Code::Multicall3 => 0xca,
            Code::Reverting => 0xfd,
            Code::ShortReturn => 0x04,
            Code::Panicking => 0xfe,
        };
        [0x60, 0x80, 0x60, 0x40, 0x52, tag, 0x00]
    }
}

/// Parses one of the module's address constants (valid by construction).
pub(super) fn const_address(s: &str) -> Address {
    s.parse().unwrap_or(Address::ZERO)
}

/// The seeded holder number of `addr`, if it is one: `SEED_HOLDER_BASE + i` as a 160-bit
/// big-endian number.
pub(super) fn holder_index(addr: &Address, holders: u64) -> Option<u64> {
    let bytes = addr.as_slice();
    if bytes[..12].iter().any(|b| *b != 0) {
        return None;
    }
    let mut low = [0u8; 8];
    low.copy_from_slice(&bytes[12..]);
    let i = u64::from_be_bytes(low).checked_sub(SEED_HOLDER_BASE)?;
    (i < holders).then_some(i)
}

/// Every account, contract and balance, with history.
#[derive(Debug)]
pub(super) struct State {
    /// Address → (code, block deployed at).
    contracts: HashMap<Address, (Code, u64)>,
    native: HashMap<Address, History<U256>>,
    /// (contract, owner) → balance.
    erc20: HashMap<(Address, Address), History<U256>>,
    /// contract → token id → holder (`None`: burnt or never minted).
    erc721: HashMap<Address, HashMap<U256, History<Option<Address>>>>,
    /// (contract, owner, id) → balance.
    erc1155: HashMap<(Address, Address, U256), History<U256>>,
    /// Seeded native holders: `0..native_seed`.
    native_seed: u64,
    /// Seeded ERC-20 holders per contract.
    erc20_seeds: HashMap<Address, u64>,
    /// What each token answers to `name()`, `symbol()` and `decimals()`.
    metadata: HashMap<Address, History<Arc<EvmTokenMetadata>>>,
    /// What `totalSupply()` answers, per ERC-20 or ERC-721 contract.
    supply: HashMap<Address, History<U256>>,
    /// What `totalSupply(uint256)` answers, per ERC-1155 contract and id.
    supply1155: HashMap<(Address, U256), History<U256>>,
    /// Whether a token has its `totalSupply` function, where set (otherwise ERC-20s have
    /// it, ERC-721 and ERC-1155 contracts do not).
    supply_function: HashMap<Address, bool>,
    /// The writes of token moves, in the order made, with their blocks.
    journal: Vec<(u64, Undo)>,
    /// The event logs: those of moves, and the seeded transfer histories.
    pub(super) logs: LogBook,
}

impl State {
    /// The test contracts at block 0, and Multicall3 from `multicall3` (absent if `None`).
    pub(super) fn new(multicall3: Option<u64>) -> State {
        let mut contracts = HashMap::new();
        for (addr, code) in [
            (EVM_REVERTING_CONTRACT, Code::Reverting),
            (EVM_SHORT_RETURN_CONTRACT, Code::ShortReturn),
            (EVM_PANICKING_CONTRACT, Code::Panicking),
        ] {
            contracts.insert(const_address(addr), (code, 0));
        }
        if let Some(block) = multicall3 {
            contracts.insert(const_address(MULTICALL3_ADDRESS), (Code::Multicall3, block));
        }
        State {
            contracts,
            native: HashMap::new(),
            erc20: HashMap::new(),
            erc721: HashMap::new(),
            erc1155: HashMap::new(),
            native_seed: 0,
            erc20_seeds: HashMap::new(),
            metadata: HashMap::new(),
            supply: HashMap::new(),
            supply1155: HashMap::new(),
            supply_function: HashMap::new(),
            journal: Vec::new(),
            logs: LogBook::default(),
        }
    }

    /// The kind of contract at `addr` and the block it is deployed at, whatever the block
    /// read.
    pub(super) fn contract(&self, addr: &Address) -> Option<(Code, u64)> {
        self.contracts.get(addr).copied()
    }

    /// The code at `addr` at `block`, if any.
    pub(super) fn code_at(&self, addr: &Address, block: u64) -> Option<Code> {
        match self.contracts.get(addr) {
            Some((code, since)) if *since <= block => Some(*code),
            _ => None,
        }
    }

    /// Deploys Multicall3 from `block`, or removes it (`None`).
    pub(super) fn set_multicall3(&mut self, block: Option<u64>) {
        let addr = const_address(MULTICALL3_ADDRESS);
        match block {
            Some(b) => {
                self.contracts.insert(addr, (Code::Multicall3, b));
            }
            None => {
                self.contracts.remove(&addr);
            }
        }
    }

    /// Deploys a token contract of kind `code` at `block` (`exact`), or at the earlier of
    /// `block` and its current deployment (not `exact`: a write implying the contract).
    pub(super) fn deploy(
        &mut self,
        addr: Address,
        code: Code,
        block: u64,
        exact: bool,
    ) -> Result<(), String> {
        if addr == const_address(MULTICALL3_ADDRESS) && code != Code::Multicall3 {
            return Err(format!(
                "{} is reserved for Multicall3",
                super::address_string(&addr)
            ));
        }
        match self.contracts.get_mut(&addr) {
            Some((existing, since)) if *existing == code => {
                *since = if exact { block } else { block.min(*since) };
                Ok(())
            }
            Some((existing, _)) => Err(format!(
                "{} is already the {} contract",
                super::address_string(&addr),
                existing.name()
            )),
            None => {
                self.contracts.insert(addr, (code, block));
                Ok(())
            }
        }
    }

    /// Records what `contract` answers to the metadata functions from `block` on. Refused
    /// for an address that holds (at any block) a contract other than a token, or is
    /// reserved for Multicall3.
    pub(super) fn set_metadata(
        &mut self,
        contract: Address,
        block: u64,
        metadata: EvmTokenMetadata,
    ) -> Result<(), String> {
        let reserved = contract == const_address(MULTICALL3_ADDRESS);
        let kind = self.contracts.get(&contract).map(|(code, _)| *code);
        if reserved || kind.is_some_and(|k| !k.is_token()) {
            let name = kind.map_or("Multicall3", Code::name);
            return Err(format!(
                "{} is the {name} contract, not a token: it has no metadata",
                super::address_string(&contract)
            ));
        }
        write_at(
            self.metadata.entry(contract).or_default(),
            block,
            Arc::new(metadata),
        );
        Ok(())
    }

    /// What `contract` answers to the metadata functions at `block`, if anything was set.
    pub(super) fn metadata(&self, contract: &Address, block: u64) -> Option<Arc<EvmTokenMetadata>> {
        self.metadata
            .get(contract)
            .and_then(|h| read_ref_at(h, block))
            .cloned()
    }

    pub(super) fn set_native(&mut self, owner: Address, block: u64, amount: U256) {
        write_at(self.native.entry(owner).or_default(), block, amount);
    }

    pub(super) fn native(&self, owner: &Address, block: u64) -> U256 {
        if let Some(v) = self.native.get(owner).and_then(|h| read_at(h, block)) {
            return v;
        }
        holder_index(owner, self.native_seed)
            .map(seed_native_amount)
            .unwrap_or(U256::ZERO)
    }

    pub(super) fn seed_native(&mut self, holders: u64) {
        self.native_seed = holders;
    }

    pub(super) fn set_erc20(
        &mut self,
        contract: Address,
        owner: Address,
        block: u64,
        amount: U256,
    ) -> Result<(), String> {
        self.deploy(contract, Code::Erc20, block, false)?;
        write_at(
            self.erc20.entry((contract, owner)).or_default(),
            block,
            amount,
        );
        Ok(())
    }

    pub(super) fn erc20(&self, contract: &Address, owner: &Address, block: u64) -> U256 {
        if let Some(v) = self
            .erc20
            .get(&(*contract, *owner))
            .and_then(|h| read_at(h, block))
        {
            return v;
        }
        if let Some(v) = self.logs.seeded_balance(contract, owner, block) {
            return v;
        }
        let holders = self.erc20_seeds.get(contract).copied().unwrap_or(0);
        holder_index(owner, holders)
            .map(seed_erc20_amount)
            .unwrap_or(U256::ZERO)
    }

    pub(super) fn seed_erc20(&mut self, contract: Address, holders: u64) -> Result<(), String> {
        self.deploy(contract, Code::Erc20, 0, false)?;
        self.erc20_seeds.insert(contract, holders);
        Ok(())
    }

    pub(super) fn set_erc721(
        &mut self,
        contract: Address,
        id: U256,
        block: u64,
        owner: Option<Address>,
    ) -> Result<(), String> {
        self.deploy(contract, Code::Erc721, block, false)?;
        let hist = self
            .erc721
            .entry(contract)
            .or_default()
            .entry(id)
            .or_default();
        write_at(hist, block, owner);
        Ok(())
    }

    pub(super) fn erc721_owner(
        &self,
        contract: &Address,
        id: &U256,
        block: u64,
    ) -> Option<Address> {
        self.erc721
            .get(contract)
            .and_then(|ids| ids.get(id))
            .and_then(|h| read_at(h, block))
            .flatten()
    }

    /// How many items of `contract` `owner` holds at `block`.
    pub(super) fn erc721_count(&self, contract: &Address, owner: &Address, block: u64) -> U256 {
        let held = self.erc721.get(contract).map_or(0, |ids| {
            ids.values()
                .filter(|h| read_at(h, block).flatten() == Some(*owner))
                .count()
        });
        U256::from(held)
    }

    pub(super) fn set_erc1155(
        &mut self,
        contract: Address,
        owner: Address,
        id: U256,
        block: u64,
        amount: U256,
    ) -> Result<(), String> {
        self.deploy(contract, Code::Erc1155, block, false)?;
        write_at(
            self.erc1155.entry((contract, owner, id)).or_default(),
            block,
            amount,
        );
        Ok(())
    }

    pub(super) fn erc1155(
        &self,
        contract: &Address,
        owner: &Address,
        id: &U256,
        block: u64,
    ) -> U256 {
        self.erc1155
            .get(&(*contract, *owner, *id))
            .and_then(|h| read_at(h, block))
            .unwrap_or(U256::ZERO)
    }
}

/// Token moves' writes, journaled; supplies; a reorg's undo.
impl State {
    /// Deploys the token `contract` of kind `code` at `block` unless it has code by then,
    /// for a move.
    pub(super) fn deploy_for_move(
        &mut self,
        contract: Address,
        code: Code,
        block: u64,
    ) -> Result<(), String> {
        let prev = self.contracts.get(&contract).copied();
        self.deploy(contract, code, block, false)?;
        if self.contracts.get(&contract).copied() != prev {
            self.journal.push((block, Undo::Deploy { contract, prev }));
        }
        Ok(())
    }

    /// Records `owner`'s balance of the ERC-20 `contract` from `block` on, for a move.
    pub(super) fn move_erc20(
        &mut self,
        contract: Address,
        owner: Address,
        block: u64,
        amount: U256,
    ) {
        let hist = self.erc20.entry((contract, owner)).or_default();
        let prev = replace_at(hist, block, amount);
        self.journal.push((
            block,
            Undo::Erc20 {
                contract,
                owner,
                prev,
            },
        ));
    }

    /// Records the holder of item `id` of the ERC-721 `contract` from `block` on, for a move.
    pub(super) fn move_erc721(
        &mut self,
        contract: Address,
        id: U256,
        block: u64,
        owner: Option<Address>,
    ) {
        let hist = self
            .erc721
            .entry(contract)
            .or_default()
            .entry(id)
            .or_default();
        let prev = replace_at(hist, block, owner);
        self.journal
            .push((block, Undo::Erc721 { contract, id, prev }));
    }

    /// Records `owner`'s balance of `id` of the ERC-1155 `contract` from `block` on, for a
    /// move.
    pub(super) fn move_erc1155(
        &mut self,
        contract: Address,
        owner: Address,
        id: U256,
        block: u64,
        amount: U256,
    ) {
        let hist = self.erc1155.entry((contract, owner, id)).or_default();
        let prev = replace_at(hist, block, amount);
        self.journal.push((
            block,
            Undo::Erc1155 {
                contract,
                owner,
                id,
                prev,
            },
        ));
    }

    /// Records the supply of the ERC-20 or ERC-721 `contract` from `block` on, for a move
    /// (journaled) or a setter (not).
    pub(super) fn write_supply(
        &mut self,
        contract: Address,
        block: u64,
        amount: U256,
        journal: bool,
    ) {
        let prev = replace_at(self.supply.entry(contract).or_default(), block, amount);
        if journal {
            self.journal.push((block, Undo::Supply { contract, prev }));
        }
    }

    /// Records the supply of `id` of the ERC-1155 `contract` from `block` on, for a move
    /// (journaled) or a setter (not).
    pub(super) fn write_supply1155(
        &mut self,
        contract: Address,
        id: U256,
        block: u64,
        amount: U256,
        journal: bool,
    ) {
        let hist = self.supply1155.entry((contract, id)).or_default();
        let prev = replace_at(hist, block, amount);
        if journal {
            self.journal
                .push((block, Undo::Supply1155 { contract, id, prev }));
        }
    }

    /// What `totalSupply()` of `contract` answers at `block`: the last supply recorded, else
    /// what a seeded transfer history minted and burnt by then, else zero.
    pub(super) fn total_supply(&self, contract: &Address, block: u64) -> U256 {
        if let Some(v) = self.supply.get(contract).and_then(|h| read_at(h, block)) {
            return v;
        }
        self.logs
            .seeded_supply(contract, block)
            .unwrap_or(U256::ZERO)
    }

    /// What `totalSupply(id)` of the ERC-1155 `contract` answers at `block`.
    pub(super) fn erc1155_supply(&self, contract: &Address, id: &U256, block: u64) -> U256 {
        self.supply1155
            .get(&(*contract, *id))
            .and_then(|h| read_at(h, block))
            .unwrap_or(U256::ZERO)
    }

    /// Whether the token `contract` (of kind `code`) has its `totalSupply` function.
    pub(super) fn has_supply_function(&self, contract: &Address, code: Code) -> bool {
        self.supply_function
            .get(contract)
            .copied()
            .unwrap_or(code == Code::Erc20)
    }

    /// Gives the token `contract` its `totalSupply` function, or takes it away.
    pub(super) fn set_supply_function(
        &mut self,
        contract: Address,
        on: bool,
    ) -> Result<(), String> {
        match self.contracts.get(&contract) {
            Some((code, _)) if code.is_token() => {
                self.supply_function.insert(contract, on);
                Ok(())
            }
            Some((code, _)) => Err(format!(
                "{} is the {} contract, not a token",
                super::address_string(&contract),
                code.name()
            )),
            None => Err(format!(
                "{} is no contract: deploy a token there first",
                super::address_string(&contract)
            )),
        }
    }

    /// Drops what happened in blocks `first` and later: their event logs, and the writes of
    /// the token moves that made them (moves not yet mined included); what the `set_*`
    /// methods wrote stays.
    pub(super) fn drop_from(&mut self, first: u64) {
        while self.journal.last().is_some_and(|(b, _)| *b >= first) {
            let Some((block, undo)) = self.journal.pop() else {
                break;
            };
            match undo {
                Undo::Deploy { contract, prev } => match prev {
                    Some(p) => {
                        self.contracts.insert(contract, p);
                    }
                    None => {
                        self.contracts.remove(&contract);
                    }
                },
                Undo::Erc20 {
                    contract,
                    owner,
                    prev,
                } => {
                    if let Some(h) = self.erc20.get_mut(&(contract, owner)) {
                        restore_at(h, block, prev);
                    }
                }
                Undo::Erc721 { contract, id, prev } => {
                    if let Some(h) = self.erc721.get_mut(&contract).and_then(|m| m.get_mut(&id)) {
                        restore_at(h, block, prev);
                    }
                }
                Undo::Erc1155 {
                    contract,
                    owner,
                    id,
                    prev,
                } => {
                    if let Some(h) = self.erc1155.get_mut(&(contract, owner, id)) {
                        restore_at(h, block, prev);
                    }
                }
                Undo::Supply { contract, prev } => {
                    if let Some(h) = self.supply.get_mut(&contract) {
                        restore_at(h, block, prev);
                    }
                }
                Undo::Supply1155 { contract, id, prev } => {
                    if let Some(h) = self.supply1155.get_mut(&(contract, id)) {
                        restore_at(h, block, prev);
                    }
                }
            }
        }
        self.logs.drop_from(first);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(n: u64) -> Address {
        Address::left_padding_from(&n.to_be_bytes())
    }

    #[test]
    fn histories_are_exact() {
        let mut h = History::new();
        write_at(&mut h, 10, 1u8);
        write_at(&mut h, 5, 2);
        write_at(&mut h, 10, 3);
        assert_eq!(h, vec![(5, 2), (10, 3)]);
        assert_eq!(read_at(&h, 4), None);
        assert_eq!(read_at(&h, 9), Some(2));
        assert_eq!(read_at(&h, 10), Some(3));
        assert_eq!(read_at(&h, u64::MAX), Some(3));
    }

    #[test]
    fn seeded_holders_are_computed_and_overridden() {
        let mut s = State::new(Some(0));
        s.seed_native(3);
        let base = SEED_HOLDER_BASE;
        assert_eq!(s.native(&addr(base), 0), seed_native_amount(0));
        assert_eq!(s.native(&addr(base + 2), 7), seed_native_amount(2));
        assert_eq!(s.native(&addr(base + 3), 7), U256::ZERO);
        assert_eq!(s.native(&addr(base - 1), 7), U256::ZERO);
        s.set_native(addr(base + 1), 5, U256::from(9));
        assert_eq!(s.native(&addr(base + 1), 4), seed_native_amount(1));
        assert_eq!(s.native(&addr(base + 1), 5), U256::from(9));
        let mut high = [0u8; 20];
        high[0] = 1;
        high[19] = 0;
        assert_eq!(holder_index(&Address::from(high), u64::MAX), None);
    }

    #[test]
    fn contracts_keep_their_kind() {
        let mut s = State::new(None);
        let c = addr(0xc0);
        assert_eq!(s.code_at(&c, 100), None);
        s.set_erc20(c, addr(1), 50, U256::from(1)).unwrap();
        assert_eq!(s.code_at(&c, 49), None);
        assert_eq!(s.code_at(&c, 50), Some(Code::Erc20));
        s.set_erc20(c, addr(1), 20, U256::from(1)).unwrap();
        assert_eq!(s.code_at(&c, 20), Some(Code::Erc20), "moved earlier");
        assert!(s.set_erc721(c, U256::from(1), 60, None).is_err());
        assert!(s
            .deploy(const_address(EVM_REVERTING_CONTRACT), Code::Erc20, 0, true)
            .is_err());
        let m = const_address(MULTICALL3_ADDRESS);
        assert_eq!(s.code_at(&m, u64::MAX), None);
        assert!(
            s.set_erc20(m, addr(1), 1, U256::from(1)).is_err(),
            "reserved"
        );
    }

    #[test]
    fn metadata_has_history_and_belongs_to_tokens() {
        let mut s = State::new(Some(0));
        let c = addr(0xc0);
        let usd = EvmTokenMetadata::new(Some("USD"), Some("USD"), Some(6));
        s.set_metadata(c, 10, usd.clone()).unwrap();
        s.set_metadata(c, 20, EvmTokenMetadata::default()).unwrap();
        assert_eq!(s.metadata(&c, 9), None);
        assert_eq!(s.metadata(&c, 10).as_deref(), Some(&usd));
        assert_eq!(s.metadata(&c, 19).as_deref(), Some(&usd));
        assert_eq!(
            s.metadata(&c, 20).as_deref(),
            Some(&EvmTokenMetadata::default())
        );
        s.set_erc721(c, U256::from(1), 0, None).unwrap();
        assert!(s.set_metadata(c, 30, usd.clone()).is_ok(), "a token");
        for other in [MULTICALL3_ADDRESS, EVM_REVERTING_CONTRACT] {
            let e = s
                .set_metadata(const_address(other), 0, usd.clone())
                .unwrap_err();
            assert!(e.contains("not a token"), "{e}");
        }
    }

    #[test]
    fn erc721_counts_follow_transfers() {
        let mut s = State::new(None);
        let c = addr(0x721);
        let (a, b) = (addr(0xa), addr(0xb));
        s.set_erc721(c, U256::from(1), 10, Some(a)).unwrap();
        s.set_erc721(c, U256::from(2), 10, Some(a)).unwrap();
        s.set_erc721(c, U256::from(1), 20, Some(b)).unwrap();
        s.set_erc721(c, U256::from(2), 30, None).unwrap();
        assert_eq!(s.erc721_count(&c, &a, 9), U256::ZERO);
        assert_eq!(s.erc721_count(&c, &a, 10), U256::from(2));
        assert_eq!(s.erc721_count(&c, &a, 20), U256::from(1));
        assert_eq!(s.erc721_count(&c, &b, 20), U256::from(1));
        assert_eq!(s.erc721_count(&c, &a, 30), U256::ZERO);
        assert_eq!(s.erc721_owner(&c, &U256::from(2), 30), None);
        assert_eq!(s.erc721_owner(&c, &U256::from(2), 29), Some(a));
    }
}
