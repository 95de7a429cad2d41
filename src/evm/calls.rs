//! What each EVM query asks of the chain: the call that answers it (a token contract's
//! `balanceOf`/`ownerOf`, or Multicall3's `getEthBalance` for the native coin), and how its
//! return data becomes an exact amount. Encoders and decoders come from the `sol!`
//! declarations in `abi.rs`.

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::{SolCall, SolError};

use super::abi::{IBalanceOf, IMulticall3, RevertPanic, RevertReason, IERC1155, IERC721};
use super::rpc::evm_error;
use super::MULTICALL3;
use crate::amount::Amount;
use crate::error::{Error, ErrorKind};
use crate::query::{EvmAddress, Owner, Query, Token};

/// How a call's return data answers the query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Want {
    /// A `uint256` amount (`balanceOf`, `getEthBalance`).
    Amount,
    /// `ownerOf(id)`: 1 if it is this owner, else 0 (a nonexistent id, which reverts, too).
    OwnedBy(Address),
}

/// One query as a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Call {
    /// Whom the call goes to.
    pub target: Address,
    /// The calldata.
    pub data: Bytes,
    pub want: Want,
    /// For a token query, the token contract (whose code is checked when it answers nothing).
    pub contract: Option<Address>,
    /// For a native balance, the owner (read with `eth_getBalance` when Multicall3 is absent).
    pub native_of: Option<Address>,
}

fn address(a: &EvmAddress) -> Address {
    Address::from(*a.as_bytes())
}

impl Call {
    /// The call answering `query`, or why there is none.
    pub(crate) fn for_query(query: &Query) -> Result<Call, Error> {
        let Owner::Evm(owner) = query.owner() else {
            return Err(evm_error(
                ErrorKind::InvalidInput,
                format!("{query} is not an EVM query"),
            ));
        };
        let owner = address(owner);
        let token_call = |contract: &EvmAddress, data: Vec<u8>, want: Want| Call {
            target: address(contract),
            data: data.into(),
            want,
            contract: Some(address(contract)),
            native_of: None,
        };
        Ok(match query.token() {
            Token::Native => Call {
                target: MULTICALL3,
                data: IMulticall3::getEthBalanceCall { addr: owner }
                    .abi_encode()
                    .into(),
                want: Want::Amount,
                contract: None,
                native_of: Some(owner),
            },
            Token::Erc20 { contract } | Token::Erc721Count { contract } => token_call(
                contract,
                IBalanceOf::balanceOfCall { owner }.abi_encode(),
                Want::Amount,
            ),
            Token::Erc721 { contract, token_id } => token_call(
                contract,
                IERC721::ownerOfCall {
                    tokenId: token_id.0,
                }
                .abi_encode(),
                Want::OwnedBy(owner),
            ),
            Token::Erc1155 { contract, token_id } => token_call(
                contract,
                IERC1155::balanceOfCall {
                    account: owner,
                    id: token_id.0,
                }
                .abi_encode(),
                Want::Amount,
            ),
            Token::Aptos(_) => {
                return Err(evm_error(
                    ErrorKind::InvalidInput,
                    format!("{query} is not an EVM query"),
                ))
            }
        })
    }

    /// The amount a successful call's return data stands for. Empty data is `Ok(None)`: the
    /// caller then checks whether the contract has code (`not_found`) or answered nothing
    /// (`decode`). Short or malformed data is `decode`, never 0.
    pub(crate) fn decode(&self, data: &[u8]) -> Result<Option<Amount>, Error> {
        if data.is_empty() {
            return Ok(None);
        }
        match self.want {
            Want::Amount => IBalanceOf::balanceOfCall::abi_decode_returns(data)
                .map(|v: U256| Some(Amount::from(v)))
                .map_err(|e| self.decode_error(data, e)),
            Want::OwnedBy(owner) => IERC721::ownerOfCall::abi_decode_returns(data)
                .map(|holder: Address| Some(Amount::from(u64::from(holder == owner))))
                .map_err(|e| self.decode_error(data, e)),
        }
    }

    /// What a reverted call means: for `ownerOf`, an item that does not exist (held by no
    /// one, so 0); otherwise an error carrying the decoded reason.
    pub(crate) fn reverted(&self, data: &[u8]) -> Result<Amount, Error> {
        if matches!(self.want, Want::OwnedBy(_)) {
            return Ok(Amount::from(0u64));
        }
        Err(evm_error(
            ErrorKind::Unsupported,
            format!("{} reverted: {}", self.what(), revert_reason(data)),
        )
        .with_code("execution_reverted"))
    }

    /// The error for a contract with no code at the block read.
    pub(crate) fn no_contract(&self, block: u64) -> Error {
        evm_error(
            ErrorKind::NotFound,
            format!("no contract at {} at block {block}", self.target),
        )
    }

    /// The error for a contract that has code but answered nothing.
    pub(crate) fn empty_answer(&self) -> Error {
        evm_error(
            ErrorKind::Decode,
            format!("{} answered no data", self.what()),
        )
    }

    fn decode_error(&self, data: &[u8], e: alloy_sol_types::Error) -> Error {
        evm_error(
            ErrorKind::Decode,
            format!(
                "{} answered {} bytes that are not the expected value ({e})",
                self.what(),
                data.len()
            ),
        )
    }

    fn what(&self) -> String {
        match (self.want, self.contract) {
            (_, None) => "getEthBalance".to_string(),
            (Want::OwnedBy(_), Some(c)) => format!("ownerOf on {c}"),
            (Want::Amount, Some(c)) => format!("balanceOf on {c}"),
        }
    }
}

/// The reason in a revert's data: `Error(string)`, `Panic(uint256)`, or the raw bytes.
pub(crate) fn revert_reason(data: &[u8]) -> String {
    if let Ok(r) = RevertReason::abi_decode(data) {
        return format!("\"{}\"", r.reason.chars().take(200).collect::<String>());
    }
    if let Ok(p) = RevertPanic::abi_decode(data) {
        return format!("panic {}", p.code);
    }
    if data.is_empty() {
        "no reason given".to_string()
    } else {
        let hex: String = data.iter().take(64).map(|b| format!("{b:02x}")).collect();
        format!("custom error 0x{hex}")
    }
}

/// `aggregate3` calldata for `calls`, every one allowed to fail on its own. Each call's data
/// is lent to the encoder and given back, not copied.
pub(crate) fn aggregate3(calls: &mut [Call]) -> Vec<u8> {
    let request = IMulticall3::aggregate3Call {
        calls: calls
            .iter_mut()
            .map(|c| IMulticall3::Call3 {
                target: c.target,
                allowFailure: true,
                callData: std::mem::take(&mut c.data),
            })
            .collect(),
    };
    let encoded = request.abi_encode();
    for (call, lent) in calls.iter_mut().zip(request.calls) {
        call.data = lent.callData;
    }
    encoded
}

/// `(success, returnData)` per call from an `aggregate3` answer, or `None` when the answer is
/// not one (Multicall3 has no code at that block: the call returns nothing).
pub(crate) fn aggregate3_results(data: &[u8], n: usize) -> Option<Vec<(bool, Bytes)>> {
    let results = IMulticall3::aggregate3Call::abi_decode_returns(data).ok()?;
    (results.len() == n).then(|| {
        results
            .into_iter()
            .map(|r| (r.success, r.returnData))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(q: &str) -> Call {
        Call::for_query(&q.parse().unwrap()).unwrap()
    }

    const OWNER: &str = "0x00000000000000000000000000000000000000aa";

    #[test]
    fn amounts_decode_exactly_and_short_data_is_an_error() {
        let c = call(&format!("ethereum:{OWNER}/erc20:0x{:040x}", 1));
        let max = U256::MAX.to_be_bytes::<32>();
        assert_eq!(
            c.decode(&max).unwrap().unwrap().to_string(),
            U256::MAX.to_string()
        );
        assert_eq!(c.decode(&[]).unwrap(), None);
        assert_eq!(
            c.decode(&[0xde, 0xad, 0xbe, 0xef]).unwrap_err().kind(),
            ErrorKind::Decode
        );
    }

    #[test]
    fn owner_of_answers_one_or_zero_and_a_revert_is_zero() {
        let c = call(&format!("ethereum:{OWNER}/erc721:0x{:040x}:7", 1));
        let mine = alloy_sol_types::SolValue::abi_encode(&Address::from_slice(
            &[0; 19].iter().copied().chain([0xaa]).collect::<Vec<u8>>(),
        ));
        assert_eq!(c.decode(&mine).unwrap().unwrap().to_u64(), Some(1));
        let other = alloy_sol_types::SolValue::abi_encode(&Address::ZERO);
        assert_eq!(c.decode(&other).unwrap().unwrap().to_u64(), Some(0));
        assert_eq!(c.reverted(&[]).unwrap().to_u64(), Some(0));
    }

    #[test]
    fn a_revert_carries_its_reason() {
        let c = call(&format!("ethereum:{OWNER}/erc20:0x{:040x}", 1));
        let data = RevertReason::from("not today").abi_encode();
        let e = c.reverted(&data).unwrap_err();
        assert!(e.to_string().contains("not today"), "{e}");
        assert_eq!(e.code(), Some("execution_reverted"));
    }

    #[test]
    fn aggregate3_round_trips_through_its_own_declaration() {
        let mut calls = vec![
            call(&format!("ethereum:{OWNER}")),
            call(&format!("ethereum:{OWNER}/erc1155:0x{:040x}:5", 2)),
        ];
        let before = calls.clone();
        let data = aggregate3(&mut calls);
        assert_eq!(calls, before, "the calls keep their data");
        let decoded = IMulticall3::aggregate3Call::abi_decode(&data).unwrap();
        assert_eq!(decoded.calls.len(), 2);
        assert_eq!(decoded.calls[0].target, MULTICALL3);
        assert!(decoded.calls.iter().all(|c| c.allowFailure));
        for (sent, call) in decoded.calls.iter().zip(&calls) {
            assert_eq!((sent.target, &sent.callData), (call.target, &call.data));
        }
        assert_eq!(aggregate3_results(&[], 2), None);
    }
}
