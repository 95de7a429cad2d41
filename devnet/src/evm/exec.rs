//! `eth_call` without an EVM: each kind of contract the node knows answers its few
//! functions from the state at the block read, with calldata decoded and answers encoded by
//! the `sol!` declarations tokbal itself uses.
//!
//! As on a real chain, a call to an address without code succeeds with empty return data,
//! and a call a contract does not understand (unknown selector, calldata that does not
//! decode) reverts with empty data, as Solidity's dispatcher and ABI decoder do.

use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolCall, SolError};

use super::abi::{
    IBalanceOf, IERC1155Supply, IMulticall3, ITokenMetadata, ITransfers, RevertPanic, RevertReason,
    IERC1155, IERC721,
};
use super::metadata::{encode_decimals, encode_text};
use super::state::{Code, State};
use super::{REVERT_REASON, SHORT_RETURN_DATA};

/// Deepest nesting of calls (Multicall3 calling Multicall3 ...) before a call reverts.
pub(super) const MAX_CALL_DEPTH: u32 = 64;
/// The panic code of [`EVM_PANICKING_CONTRACT`](super::EVM_PANICKING_CONTRACT):
/// `assert(false)`.
pub(super) const PANIC_CODE: u64 = 0x01;

/// What a call ended with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// It returned these bytes.
    Return(Vec<u8>),
    /// It reverted with these bytes (possibly none).
    Revert(Vec<u8>),
}

/// `revert(reason)`: the ABI-encoded `Error(string)` payload.
fn revert_with(reason: &str) -> Outcome {
    Outcome::Revert(RevertReason::from(reason).abi_encode())
}

/// A revert without data (unknown function, undecodable calldata).
fn revert_empty() -> Outcome {
    Outcome::Revert(Vec::new())
}

/// Whether `data` starts with `C`'s selector.
fn selects<C: SolCall>(data: &[u8]) -> bool {
    data.get(..4) == Some(&C::SELECTOR[..])
}

/// Decodes calldata for `C` as Solidity does (dirty addresses and bools refused).
fn decode<C: SolCall>(data: &[u8]) -> Option<C> {
    C::abi_decode_validate(data).ok()
}

/// Runs calls against the state at one block, counting Multicall3's inner calls.
pub(super) struct Exec<'a> {
    state: &'a State,
    block: u64,
    /// Inner calls of `aggregate3` run so far.
    pub(super) inner_calls: u64,
}

impl<'a> Exec<'a> {
    pub(super) fn new(state: &'a State, block: u64) -> Exec<'a> {
        Exec {
            state,
            block,
            inner_calls: 0,
        }
    }

    /// Calls `to` with `data`, `depth` calls deep (0 for the `eth_call` itself).
    pub(super) fn call(&mut self, to: &Address, data: &[u8], depth: u32) -> Outcome {
        if depth > MAX_CALL_DEPTH {
            return revert_empty();
        }
        let Some(code) = self.state.code_at(to, self.block) else {
            return Outcome::Return(Vec::new());
        };
        if code.is_token() {
            if let Some(answer) = self.metadata(to, data) {
                return answer;
            }
            if let Some(answer) = self.supply(to, code, data) {
                return answer;
            }
        }
        match code {
            Code::Erc20 => self.erc20(to, data),
            Code::Erc721 => self.erc721(to, data),
            Code::Erc1155 => self.erc1155(to, data),
            Code::Multicall3 => self.multicall3(data, depth),
            Code::Reverting => revert_with(REVERT_REASON),
            Code::ShortReturn => Outcome::Return(SHORT_RETURN_DATA.to_vec()),
            Code::Panicking => {
                Outcome::Revert(RevertPanic::from(U256::from(PANIC_CODE)).abi_encode())
            }
        }
    }

    /// A token's answer to `name()`, `symbol()` or `decimals()` (`None` for another
    /// function): what was set for it at this block, or a revert with empty data.
    fn metadata(&self, contract: &Address, data: &[u8]) -> Option<Outcome> {
        let set = self.state.metadata(contract, self.block);
        let set = set.as_deref();
        let text = |part: Option<&Vec<u8>>| match (part, set) {
            (Some(bytes), Some(m)) => Outcome::Return(encode_text(bytes, m.encoding)),
            _ => revert_empty(),
        };
        if selects::<ITokenMetadata::nameCall>(data) {
            return Some(text(set.and_then(|m| m.name.as_ref())));
        }
        if selects::<ITokenMetadata::symbolCall>(data) {
            return Some(text(set.and_then(|m| m.symbol.as_ref())));
        }
        if selects::<ITokenMetadata::decimalsCall>(data) {
            return Some(match set.and_then(|m| m.decimals) {
                Some(word) => Outcome::Return(encode_decimals(word)),
                None => revert_empty(),
            });
        }
        None
    }

    /// A token's answer to `totalSupply()` (ERC-20, ERC-721) or `totalSupply(uint256)`
    /// (ERC-1155), `None` for another function: the supply at this block, or a revert with
    /// empty data for a token without the function.
    fn supply(&self, contract: &Address, code: Code, data: &[u8]) -> Option<Outcome> {
        let has = self.state.has_supply_function(contract, code);
        if code == Code::Erc1155 {
            if !selects::<IERC1155Supply::totalSupplyCall>(data) {
                return None;
            }
            return Some(match decode::<IERC1155Supply::totalSupplyCall>(data) {
                Some(call) if has => {
                    let amount = self.state.erc1155_supply(contract, &call.id, self.block);
                    Outcome::Return(IERC1155Supply::totalSupplyCall::abi_encode_returns(&amount))
                }
                _ => revert_empty(),
            });
        }
        if !selects::<ITransfers::totalSupplyCall>(data) {
            return None;
        }
        Some(match decode::<ITransfers::totalSupplyCall>(data) {
            Some(_) if has => {
                let amount = self.state.total_supply(contract, self.block);
                Outcome::Return(ITransfers::totalSupplyCall::abi_encode_returns(&amount))
            }
            _ => revert_empty(),
        })
    }

    fn erc20(&self, contract: &Address, data: &[u8]) -> Outcome {
        if !selects::<IBalanceOf::balanceOfCall>(data) {
            return revert_empty();
        }
        let Some(call) = decode::<IBalanceOf::balanceOfCall>(data) else {
            return revert_empty();
        };
        let amount = self.state.erc20(contract, &call.owner, self.block);
        Outcome::Return(IBalanceOf::balanceOfCall::abi_encode_returns(&amount))
    }

    fn erc721(&self, contract: &Address, data: &[u8]) -> Outcome {
        if selects::<IBalanceOf::balanceOfCall>(data) {
            let Some(call) = decode::<IBalanceOf::balanceOfCall>(data) else {
                return revert_empty();
            };
            if call.owner == Address::ZERO {
                return revert_with("ERC721: address zero is not a valid owner");
            }
            let count = self.state.erc721_count(contract, &call.owner, self.block);
            return Outcome::Return(IBalanceOf::balanceOfCall::abi_encode_returns(&count));
        }
        if selects::<IERC721::ownerOfCall>(data) {
            let Some(call) = decode::<IERC721::ownerOfCall>(data) else {
                return revert_empty();
            };
            return match self.state.erc721_owner(contract, &call.tokenId, self.block) {
                Some(owner) => Outcome::Return(IERC721::ownerOfCall::abi_encode_returns(&owner)),
                None => revert_with("ERC721: invalid token ID"),
            };
        }
        revert_empty()
    }

    fn erc1155(&self, contract: &Address, data: &[u8]) -> Outcome {
        if !selects::<IERC1155::balanceOfCall>(data) {
            return revert_empty();
        }
        let Some(call) = decode::<IERC1155::balanceOfCall>(data) else {
            return revert_empty();
        };
        if call.account == Address::ZERO {
            return revert_with("ERC1155: address zero is not a valid owner");
        }
        let amount = self
            .state
            .erc1155(contract, &call.account, &call.id, self.block);
        Outcome::Return(IERC1155::balanceOfCall::abi_encode_returns(&amount))
    }

    fn multicall3(&mut self, data: &[u8], depth: u32) -> Outcome {
        if selects::<IMulticall3::getEthBalanceCall>(data) {
            let Some(call) = decode::<IMulticall3::getEthBalanceCall>(data) else {
                return revert_empty();
            };
            let amount = self.state.native(&call.addr, self.block);
            return Outcome::Return(IMulticall3::getEthBalanceCall::abi_encode_returns(&amount));
        }
        if selects::<IMulticall3::getBlockNumberCall>(data) {
            let number = alloy_primitives::U256::from(self.block);
            return Outcome::Return(IMulticall3::getBlockNumberCall::abi_encode_returns(&number));
        }
        if !selects::<IMulticall3::aggregate3Call>(data) {
            return revert_empty();
        }
        let Some(call) = decode::<IMulticall3::aggregate3Call>(data) else {
            return revert_empty();
        };
        let mut results = Vec::with_capacity(call.calls.len());
        for inner in &call.calls {
            self.inner_calls += 1;
            let (success, return_data) = match self.call(&inner.target, &inner.callData, depth + 1)
            {
                Outcome::Return(d) => (true, d),
                Outcome::Revert(d) => (false, d),
            };
            if !success && !inner.allowFailure {
                return revert_with("Multicall3: call failed");
            }
            results.push(IMulticall3::Result {
                success,
                returnData: return_data.into(),
            });
        }
        Outcome::Return(IMulticall3::aggregate3Call::abi_encode_returns(&results))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evm::state::const_address;
    use crate::evm::{EVM_REVERTING_CONTRACT, EVM_SHORT_RETURN_CONTRACT, MULTICALL3_ADDRESS};

    fn addr(n: u64) -> Address {
        Address::left_padding_from(&n.to_be_bytes())
    }

    fn balance_of(owner: Address) -> Vec<u8> {
        IBalanceOf::balanceOfCall { owner }.abi_encode()
    }

    #[test]
    fn aggregate3_runs_each_call() {
        let mut s = State::new(Some(0));
        let token = addr(0x20);
        s.set_erc20(token, addr(1), 0, U256::MAX).unwrap();
        let calls = vec![
            IMulticall3::Call3 {
                target: token,
                allowFailure: false,
                callData: balance_of(addr(1)).into(),
            },
            IMulticall3::Call3 {
                target: const_address(EVM_REVERTING_CONTRACT),
                allowFailure: true,
                callData: balance_of(addr(1)).into(),
            },
            IMulticall3::Call3 {
                target: const_address(EVM_SHORT_RETURN_CONTRACT),
                allowFailure: true,
                callData: Vec::new().into(),
            },
            IMulticall3::Call3 {
                target: addr(0xe0a),
                allowFailure: false,
                callData: balance_of(addr(1)).into(),
            },
        ];
        let data = IMulticall3::aggregate3Call {
            calls: calls.clone(),
        }
        .abi_encode();
        let mut exec = Exec::new(&s, 0);
        let Outcome::Return(out) = exec.call(&const_address(MULTICALL3_ADDRESS), &data, 0) else {
            panic!("aggregate3 reverted");
        };
        assert_eq!(exec.inner_calls, 4);
        let results = IMulticall3::aggregate3Call::abi_decode_returns(&out).unwrap();
        assert_eq!(results.len(), 4);
        assert!(results[0].success);
        assert_eq!(
            IBalanceOf::balanceOfCall::abi_decode_returns(&results[0].returnData).unwrap(),
            U256::MAX
        );
        assert!(!results[1].success);
        assert_eq!(
            RevertReason::abi_decode(&results[1].returnData)
                .unwrap()
                .reason,
            REVERT_REASON
        );
        assert_eq!(&results[2].returnData[..], &SHORT_RETURN_DATA[..]);
        assert!(results[3].success && results[3].returnData.is_empty());

        let mut strict = calls;
        strict[1].allowFailure = false;
        let data = IMulticall3::aggregate3Call { calls: strict }.abi_encode();
        let out = Exec::new(&s, 0).call(&const_address(MULTICALL3_ADDRESS), &data, 0);
        assert_eq!(out, revert_with("Multicall3: call failed"));
    }

    #[test]
    fn bad_calldata_reverts_empty() {
        let mut s = State::new(Some(0));
        let token = addr(0x20);
        s.set_erc20(token, addr(1), 0, U256::from(1)).unwrap();
        let mut exec = Exec::new(&s, 0);
        assert_eq!(exec.call(&token, &[], 0), revert_empty());
        assert_eq!(exec.call(&token, &[0x70, 0xa0], 0), revert_empty());
        let mut dirty = balance_of(addr(1));
        dirty[4] = 0xff; // high bytes of the address word
        assert_eq!(exec.call(&token, &dirty, 0), revert_empty());
        let short = &balance_of(addr(1))[..20];
        assert_eq!(exec.call(&token, short, 0), revert_empty());
        let mc = const_address(MULTICALL3_ADDRESS);
        assert_eq!(exec.call(&mc, &[1, 2, 3, 4, 5], 0), revert_empty());
        let mut huge = IMulticall3::aggregate3Call::SELECTOR.to_vec();
        huge.extend_from_slice(&U256::from(32).to_be_bytes::<32>());
        huge.extend_from_slice(&U256::MAX.to_be_bytes::<32>());
        assert_eq!(exec.call(&mc, &huge, 0), revert_empty());
    }

    #[test]
    fn nesting_is_bounded() {
        let s = State::new(Some(0));
        let mc = const_address(MULTICALL3_ADDRESS);
        let mut data = IMulticall3::getEthBalanceCall { addr: addr(1) }.abi_encode();
        for _ in 0..(MAX_CALL_DEPTH + 2) {
            data = IMulticall3::aggregate3Call {
                calls: vec![IMulticall3::Call3 {
                    target: mc,
                    allowFailure: false,
                    callData: data.into(),
                }],
            }
            .abi_encode();
        }
        assert_eq!(
            Exec::new(&s, 0).call(&mc, &data, 0),
            revert_with("Multicall3: call failed")
        );
    }
}
