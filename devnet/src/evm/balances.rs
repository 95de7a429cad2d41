//! The [`EvmNode`] methods that write and read the state: deployments, native, ERC-20,
//! ERC-721 and ERC-1155 balances (each with history), and the seeded holders.
//!
//! Every address is taken as `0x` and 40 hex digits (any case), every amount as a U256.
//! `set_*` methods take effect at the tip + 1 and return that block; `set_*_at` methods at
//! the block given; reads take a block (the tip when `None`) and skip the pruning and tip
//! checks of the JSON-RPC API.

use alloy_primitives::U256;

use super::state::State;
use super::{address_string, parse_address, EvmNode, TokenStandard};
use crate::InvalidInput;

impl EvmNode {
    /// Applies `write` at the tip + 1; returns that block.
    pub(super) fn write_next<F>(&self, write: F) -> Result<u64, InvalidInput>
    where
        F: FnOnce(&mut State, u64) -> Result<(), String>,
    {
        let mut l = self.write_lock();
        let block = l.chain.tip.saturating_add(1);
        write(&mut l.state, block).map_err(InvalidInput)?;
        Ok(block)
    }

    /// Applies `write` at `block`.
    pub(super) fn write_at<F>(&self, block: u64, write: F) -> Result<(), InvalidInput>
    where
        F: FnOnce(&mut State, u64) -> Result<(), String>,
    {
        write(&mut self.write_lock().state, block).map_err(InvalidInput)
    }

    /// Reads with `read` at `block` (the tip when `None`).
    pub(super) fn read<T, F>(&self, block: Option<u64>, read: F) -> T
    where
        F: FnOnce(&State, u64) -> T,
    {
        let l = self.read_lock();
        read(&l.state, block.unwrap_or(l.chain.tip))
    }

    /// Deploys a token contract of `standard` at `contract` from `block` exactly (earlier
    /// balances stay recorded but the contract has no code before it). Fails if the
    /// address holds another kind of contract or is reserved.
    pub fn deploy_at(
        &self,
        contract: &str,
        standard: TokenStandard,
        block: u64,
    ) -> Result<(), InvalidInput> {
        let c = parse_address(contract)?;
        self.write_at(block, |s, b| s.deploy(c, standard.code(), b, true))
    }

    /// Deploys an ERC-20 contract at the tip + 1 (writes deploy a contract implicitly; this
    /// is for a contract without balances); returns that block.
    pub fn deploy_erc20(&self, contract: &str) -> Result<u64, InvalidInput> {
        self.deploy_next(contract, TokenStandard::Erc20)
    }

    /// Deploys an ERC-721 contract at the tip + 1; returns that block.
    pub fn deploy_erc721(&self, contract: &str) -> Result<u64, InvalidInput> {
        self.deploy_next(contract, TokenStandard::Erc721)
    }

    /// Deploys an ERC-1155 contract at the tip + 1; returns that block.
    pub fn deploy_erc1155(&self, contract: &str) -> Result<u64, InvalidInput> {
        self.deploy_next(contract, TokenStandard::Erc1155)
    }

    fn deploy_next(&self, contract: &str, standard: TokenStandard) -> Result<u64, InvalidInput> {
        let c = parse_address(contract)?;
        self.write_next(|s, b| s.deploy(c, standard.code(), b, true))
    }

    /// Records that `owner` holds `amount` wei from the tip + 1 on; returns that block.
    pub fn set_native_balance(&self, owner: &str, amount: U256) -> Result<u64, InvalidInput> {
        let o = parse_address(owner)?;
        self.write_next(|s, b| {
            s.set_native(o, b, amount);
            Ok(())
        })
    }

    /// Records that `owner` holds `amount` wei from `block` on (replacing a change already
    /// recorded at that block).
    pub fn set_native_balance_at(
        &self,
        owner: &str,
        block: u64,
        amount: U256,
    ) -> Result<(), InvalidInput> {
        let o = parse_address(owner)?;
        self.write_at(block, |s, b| {
            s.set_native(o, b, amount);
            Ok(())
        })
    }

    /// `owner`'s native balance at `block` (the tip when `None`), without the pruning and
    /// tip checks of the JSON-RPC API.
    pub fn native_balance(&self, owner: &str, block: Option<u64>) -> Result<U256, InvalidInput> {
        let o = parse_address(owner)?;
        Ok(self.read(block, |s, b| s.native(&o, b)))
    }

    /// Records that `owner` holds `amount` of the ERC-20 `contract` from the tip + 1 on
    /// (deploying the contract then if it has no code yet); returns that block.
    pub fn set_erc20_balance(
        &self,
        contract: &str,
        owner: &str,
        amount: U256,
    ) -> Result<u64, InvalidInput> {
        let (c, o) = (parse_address(contract)?, parse_address(owner)?);
        self.write_next(|s, b| s.set_erc20(c, o, b, amount))
    }

    /// Records that `owner` holds `amount` of the ERC-20 `contract` from `block` on (the
    /// contract is deployed at `block` if it has no code by then).
    pub fn set_erc20_balance_at(
        &self,
        contract: &str,
        owner: &str,
        block: u64,
        amount: U256,
    ) -> Result<(), InvalidInput> {
        let (c, o) = (parse_address(contract)?, parse_address(owner)?);
        self.write_at(block, |s, b| s.set_erc20(c, o, b, amount))
    }

    /// `owner`'s balance of the ERC-20 `contract` at `block` (the tip when `None`).
    pub fn erc20_balance(
        &self,
        contract: &str,
        owner: &str,
        block: Option<u64>,
    ) -> Result<U256, InvalidInput> {
        let (c, o) = (parse_address(contract)?, parse_address(owner)?);
        Ok(self.read(block, |s, b| s.erc20(&c, &o, b)))
    }

    /// Records that item `id` of the ERC-721 `contract` is held by `owner` (`None`: by no
    /// one, burnt) from the tip + 1 on; returns that block.
    pub fn set_erc721_owner(
        &self,
        contract: &str,
        id: U256,
        owner: Option<&str>,
    ) -> Result<u64, InvalidInput> {
        let c = parse_address(contract)?;
        let o = owner.map(parse_address).transpose()?;
        self.write_next(|s, b| s.set_erc721(c, id, b, o))
    }

    /// Records that item `id` of the ERC-721 `contract` is held by `owner` from `block` on.
    pub fn set_erc721_owner_at(
        &self,
        contract: &str,
        id: U256,
        block: u64,
        owner: Option<&str>,
    ) -> Result<(), InvalidInput> {
        let c = parse_address(contract)?;
        let o = owner.map(parse_address).transpose()?;
        self.write_at(block, |s, b| s.set_erc721(c, id, b, o))
    }

    /// The holder of item `id` of the ERC-721 `contract` at `block` (the tip when `None`),
    /// as `0x` and 40 lower-case hex digits.
    pub fn erc721_owner(
        &self,
        contract: &str,
        id: U256,
        block: Option<u64>,
    ) -> Result<Option<String>, InvalidInput> {
        let c = parse_address(contract)?;
        let owner = self.read(block, |s, b| s.erc721_owner(&c, &id, b));
        Ok(owner.as_ref().map(address_string))
    }

    /// Records that `owner` holds `amount` of token `id` of the ERC-1155 `contract` from the
    /// tip + 1 on; returns that block.
    pub fn set_erc1155_balance(
        &self,
        contract: &str,
        owner: &str,
        id: U256,
        amount: U256,
    ) -> Result<u64, InvalidInput> {
        let (c, o) = (parse_address(contract)?, parse_address(owner)?);
        self.write_next(|s, b| s.set_erc1155(c, o, id, b, amount))
    }

    /// Records that `owner` holds `amount` of token `id` of the ERC-1155 `contract` from
    /// `block` on.
    pub fn set_erc1155_balance_at(
        &self,
        contract: &str,
        owner: &str,
        id: U256,
        block: u64,
        amount: U256,
    ) -> Result<(), InvalidInput> {
        let (c, o) = (parse_address(contract)?, parse_address(owner)?);
        self.write_at(block, |s, b| s.set_erc1155(c, o, id, b, amount))
    }

    /// `owner`'s balance of token `id` of the ERC-1155 `contract` at `block` (the tip when
    /// `None`).
    pub fn erc1155_balance(
        &self,
        contract: &str,
        owner: &str,
        id: U256,
        block: Option<u64>,
    ) -> Result<U256, InvalidInput> {
        let (c, o) = (parse_address(contract)?, parse_address(owner)?);
        Ok(self.read(block, |s, b| s.erc1155(&c, &o, &id, b)))
    }

    /// Gives holders `0..holders` native balances from genesis on, computed when read:
    /// holder `i` ([`seed_holder_address`](super::seed_holder_address)) holds [`seed_native_amount`](super::seed_native_amount)`(i)` wei, unless a
    /// `set_native_balance*` change for it applies. Replaces an earlier count.
    pub fn seed_native_holders(&self, holders: u64) {
        self.write_lock().state.seed_native(holders);
    }

    /// Gives holders `0..holders` balances of the ERC-20 `contract` (deployed at genesis)
    /// from genesis on, computed when read: holder `i` ([`seed_holder_address`](super::seed_holder_address)) holds
    /// [`seed_erc20_amount`](super::seed_erc20_amount)`(i)`, unless a `set_erc20_balance*` change for it applies.
    pub fn seed_erc20_holders(&self, contract: &str, holders: u64) -> Result<(), InvalidInput> {
        let c = parse_address(contract)?;
        self.write_lock()
            .state
            .seed_erc20(c, holders)
            .map_err(InvalidInput)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evm::{seed_erc20_amount, seed_holder_address, seed_native_amount, EvmConfig};

    fn node() -> EvmNode {
        EvmNode::new(&EvmConfig::default(), 1_767_225_600_000, 1, 2)
    }

    #[test]
    fn seeded_holder_formula() {
        assert_eq!(
            seed_holder_address(0),
            "0x0000000000000000000000000000000100000000"
        );
        assert_eq!(seed_native_amount(3), U256::from(1_000_003u64));
        assert_eq!(
            seed_erc20_amount(0),
            U256::from(1_000_000_000_000_000_000u64)
        );
        let n = node();
        n.seed_native_holders(10);
        let last = seed_holder_address(9);
        assert_eq!(
            n.native_balance(&last, Some(0)).unwrap(),
            seed_native_amount(9)
        );
        assert_eq!(
            n.native_balance(&seed_holder_address(10), None).unwrap(),
            U256::ZERO
        );
        let token = "0x00000000000000000000000000000000000000c0";
        n.seed_erc20_holders(token, 10_000).unwrap();
        assert!(n.has_code(token, Some(0)).unwrap());
        assert_eq!(
            n.erc20_balance(token, &seed_holder_address(9_999), Some(0))
                .unwrap(),
            seed_erc20_amount(9_999)
        );
    }
}
