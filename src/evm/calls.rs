//! What each EVM query asks of the chain: the call that answers it (a token contract's
//! `balanceOf`/`ownerOf`, or Multicall3's `getEthBalance` for the native coin), and how its
//! return data becomes an exact amount. Encoders and decoders come from the `sol!`
//! declarations in `abi.rs`.

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::{SolCall, SolError};

use super::abi::{
    IBalanceOf, IMulticall3, ITokenMetadata, RevertPanic, RevertReason, IERC1155, IERC721,
};
use super::rpc::evm_error;
use super::{CALL_GAS_LIMIT, METADATA_GAS_LIMIT, MULTICALL3};
use crate::amount::Amount;
use crate::error::{Error, ErrorKind};
use crate::metadata::{Asset, TokenMetadata};
use crate::query::{EvmAddress, Owner, Query, Token};

/// How a call's return data answers the query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Want {
    /// A `uint256` amount (`balanceOf`, `getEthBalance`).
    Amount,
    /// `ownerOf(id)`: 1 if it is this owner, else 0 (a nonexistent id, which reverts, too).
    OwnedBy(Address),
    /// One field of a token's metadata (its return data is kept as it came).
    Meta(MetaField),
    /// Multicall3's `getBlockNumber()`, last in a request that carries metadata calls:
    /// if it fails, the request ran out of gas before its end.
    Canary,
}

/// Which metadata call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MetaField {
    Decimals,
    Symbol,
    Name,
}

/// What one call answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A balance call's exact amount.
    Amount(Amount),
    /// A metadata call's return data, or that it failed (`Err(true)`: inside Multicall3
    /// with no return data, which is also what running out of gas looks like, so it is worth
    /// asking again on its own with a gas limit of its own).
    Meta(Result<Bytes, bool>),
}

impl Answer {
    /// The amount of a balance call's answer.
    pub(crate) fn amount(self) -> Result<Amount, Error> {
        match self {
            Answer::Amount(a) => Ok(a),
            Answer::Meta(_) => Err(evm_error(
                ErrorKind::Decode,
                "internal: a metadata answer stood for a balance",
            )),
        }
    }
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

impl MetaField {
    /// The fields a token's metadata is read from, and the decimals known without a call
    /// (an ERC-721 or ERC-1155 item is whole: 0).
    pub(crate) fn of(token: &Token) -> (&'static [MetaField], Option<u8>) {
        match token {
            Token::Erc20 { .. } => (
                &[MetaField::Decimals, MetaField::Symbol, MetaField::Name],
                None,
            ),
            Token::Erc721Count { .. } | Token::Erc721 { .. } | Token::Erc1155 { .. } => {
                (&[MetaField::Symbol, MetaField::Name], Some(0))
            }
            Token::Native | Token::Aptos(_) => (&[], None),
        }
    }

    fn calldata(self) -> Vec<u8> {
        match self {
            MetaField::Decimals => ITokenMetadata::decimalsCall {}.abi_encode(),
            MetaField::Symbol => ITokenMetadata::symbolCall {}.abi_encode(),
            MetaField::Name => ITokenMetadata::nameCall {}.abi_encode(),
        }
    }
}

/// A token's metadata from its calls' answers (in the order [`MetaField::of`] gives). A
/// field whose call failed or answered something else is `None`; the read is an error only
/// when every call failed as a request (not as a contract call).
pub(crate) fn assemble_metadata(
    token: &Token,
    answers: impl IntoIterator<Item = (MetaField, Result<Answer, Error>)>,
) -> Result<TokenMetadata, Error> {
    let (_, mut decimals) = MetaField::of(token);
    let (mut symbol, mut name) = (None, None);
    let mut failed = None;
    let mut any_answer = false;
    for (field, answer) in answers {
        let data = match answer {
            Ok(Answer::Meta(Ok(data))) => data,
            Ok(_) => {
                any_answer = true;
                continue;
            }
            Err(e) => {
                failed = Some(e);
                continue;
            }
        };
        any_answer = true;
        match field {
            MetaField::Decimals => decimals = decode_decimals(&data),
            MetaField::Symbol => symbol = decode_text(&data),
            MetaField::Name => name = decode_text(&data),
        }
    }
    match failed {
        Some(e) if !any_answer => Err(e),
        _ => Ok(TokenMetadata {
            symbol,
            name,
            decimals,
        }),
    }
}

/// `decimals()`: a word whose value fits a `uint8`; anything else (empty, short, above 255)
/// is no answer, never a truncated one.
pub(crate) fn decode_decimals(data: &[u8]) -> Option<u8> {
    let word: [u8; 32] = data.get(..32)?.try_into().ok()?;
    u8::try_from(U256::from_be_bytes(word)).ok()
}

/// The most return data a `symbol()` or `name()` answer may have; a longer one is no answer
/// (a token's name is a few words: megabytes of it are an attack, not a name).
pub(crate) const MAX_TEXT_ANSWER: usize = 64 * 1024;

/// `symbol()`/`name()`: an ABI `string`, else a `bytes32` with its NUL padding removed (MKR);
/// bytes that are not UTF-8 replaced. Empty, undecodable or oversized data
/// ([`MAX_TEXT_ANSWER`]) is no answer.
pub(crate) fn decode_text(data: &[u8]) -> Option<String> {
    use alloy_sol_types::{sol_data, SolType};
    if data.len() > MAX_TEXT_ANSWER {
        return None;
    }
    if data.len() > 32 {
        if let Ok(bytes) = <sol_data::Bytes as SolType>::abi_decode(data) {
            return Some(TokenMetadata::text_from_bytes(&bytes));
        }
    }
    let word = data.get(..32)?;
    let end = word.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    Some(TokenMetadata::text_from_bytes(&word[..end]))
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

    /// The calls reading `asset`'s metadata, one per field of [`MetaField::of`].
    pub(crate) fn for_metadata(asset: &Asset) -> Vec<Call> {
        let contract = match asset.token() {
            Token::Erc20 { contract }
            | Token::Erc721Count { contract }
            | Token::Erc721 { contract, .. }
            | Token::Erc1155 { contract, .. } => address(contract),
            Token::Native | Token::Aptos(_) => return Vec::new(),
        };
        MetaField::of(asset.token())
            .0
            .iter()
            .map(|&field| Call {
                target: contract,
                data: field.calldata().into(),
                want: Want::Meta(field),
                contract: None,
                native_of: None,
            })
            .collect()
    }

    /// The last call of a request with metadata calls: cheap, and answered by any
    /// Multicall3; when it fails, the calls before it may have failed for lack of gas.
    pub(crate) fn canary() -> Call {
        Call {
            target: MULTICALL3,
            data: IMulticall3::getBlockNumberCall {}.abi_encode().into(),
            want: Want::Canary,
            contract: None,
            native_of: None,
        }
    }

    /// The gas a call may use when sent on its own: metadata calls get a bounded amount, so
    /// that a `symbol()` that loops or answers megabytes costs little.
    pub(crate) fn gas_limit(&self) -> u64 {
        match self.want {
            Want::Meta(_) | Want::Canary => METADATA_GAS_LIMIT,
            _ => CALL_GAS_LIMIT,
        }
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
            Want::Meta(_) | Want::Canary => Err(evm_error(
                ErrorKind::Decode,
                "internal: a metadata call decoded as a balance",
            )),
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
            (Want::Meta(f), _) => format!("{f:?} on {}", self.target),
            (Want::Canary, _) => "getBlockNumber".to_string(),
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
    fn metadata_text_is_a_string_or_a_bytes32() {
        use alloy_sol_types::SolValue;
        assert_eq!(
            decode_text(&"USD Coin".to_string().abi_encode()).as_deref(),
            Some("USD Coin")
        );
        let mut mkr = [0u8; 32];
        mkr[..3].copy_from_slice(b"MKR");
        assert_eq!(decode_text(&mkr).as_deref(), Some("MKR"));
        // Bytes that are not UTF-8 are replaced, in either form.
        let bad = alloy_primitives::Bytes::from(vec![b'A', 0xff, b'B']).abi_encode();
        assert_eq!(decode_text(&bad).as_deref(), Some("A\u{fffd}B"));
        let mut bad32 = [0u8; 32];
        bad32[..2].copy_from_slice(&[0xc3, b'x']);
        assert_eq!(decode_text(&bad32).as_deref(), Some("\u{fffd}x"));
        // Nothing, or too little to be either, is no answer.
        assert_eq!(decode_text(&[]), None);
        assert_eq!(decode_text(&[1, 2, 3]), None);
        // A long string is cut; an answer of megabytes is none.
        let long = "x".repeat(20_000).abi_encode();
        assert_eq!(
            decode_text(&long).map(|s| s.len()),
            Some(crate::metadata::MAX_TEXT_CHARS)
        );
        assert_eq!(decode_text(&"x".repeat(1 << 20).abi_encode()), None);
    }

    #[test]
    fn decimals_fit_a_uint8_or_are_none() {
        let word = |v: u64| U256::from(v).to_be_bytes::<32>();
        assert_eq!(decode_decimals(&word(6)), Some(6));
        assert_eq!(decode_decimals(&word(255)), Some(255));
        assert_eq!(decode_decimals(&word(256)), None);
        assert_eq!(decode_decimals(&word(300)), None);
        assert_eq!(decode_decimals(&[]), None);
        assert_eq!(decode_decimals(&word(18)[..31]), None);
    }

    #[test]
    fn metadata_assembles_per_field_and_fails_only_as_a_whole() {
        let erc20: Token = Token::Erc20 {
            contract: "0x00000000000000000000000000000000000000aa"
                .parse()
                .unwrap(),
        };
        let data = |b: Vec<u8>| Ok(Answer::Meta(Ok(b.into())));
        use alloy_sol_types::SolValue;
        let m = assemble_metadata(
            &erc20,
            [
                (
                    MetaField::Decimals,
                    data(U256::from(6u8).to_be_bytes::<32>().to_vec()),
                ),
                (MetaField::Symbol, Ok(Answer::Meta(Err(false)))),
                (MetaField::Name, data("Six".to_string().abi_encode())),
            ],
        )
        .unwrap();
        assert_eq!(
            (m.decimals, m.symbol, m.name.as_deref()),
            (Some(6), None, Some("Six"))
        );
        let e = evm_error(ErrorKind::Transport, "cut");
        let all_failed =
            [MetaField::Decimals, MetaField::Symbol, MetaField::Name].map(|f| (f, Err(e.clone())));
        assert!(assemble_metadata(&erc20, all_failed).is_err());
        // An ERC-721's items are whole.
        let nft: Token = Token::Erc721Count {
            contract: "0x00000000000000000000000000000000000000aa"
                .parse()
                .unwrap(),
        };
        let m = assemble_metadata(&nft, [(MetaField::Symbol, data(vec![]))]).unwrap();
        assert_eq!(m.decimals, Some(0));
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
