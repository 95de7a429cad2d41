//! JSON-RPC 2.0 for the EVM node: request objects, parameters as geth parses them, and
//! the methods, answered against one consistent view of the ledger.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolError;
use serde_json::{json, Map, Value};

use super::abi::{RevertPanic, RevertReason};
use super::exec::{Exec, Outcome};
use super::getlogs::LogLimits;
use super::{hex_string, Ledger, EIP7825_GAS_CAP};

/// Invalid JSON.
pub(super) const PARSE_ERROR: i64 = -32700;
/// Not a valid request object; empty or too large batch.
pub(super) const INVALID_REQUEST: i64 = -32600;
/// Unknown method.
pub(super) const METHOD_NOT_FOUND: i64 = -32601;
/// Missing or malformed parameters.
pub(super) const INVALID_PARAMS: i64 = -32602;
/// geth's generic server error: unknown block, gas cap, revert without data.
pub(super) const SERVER_ERROR: i64 = -32000;
/// Rate limited (Infura's code).
pub(super) const LIMIT_EXCEEDED: i64 = -32005;
/// Execution reverted with data.
pub(super) const EXECUTION_REVERTED: i64 = 3;
/// State no longer kept.
pub(super) const STATE_PRUNED: i64 = 4444;

/// A JSON-RPC error object.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct RpcError {
    pub(super) code: i64,
    pub(super) message: String,
    pub(super) data: Option<Value>,
}

impl RpcError {
    pub(super) fn new(code: i64, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    fn server(message: &str) -> RpcError {
        RpcError::new(SERVER_ERROR, message)
    }

    fn missing(index: usize, name: &str) -> RpcError {
        RpcError::new(
            INVALID_PARAMS,
            format!("missing value for required argument {index} ({name})"),
        )
    }

    fn invalid(index: usize, name: &str, why: &str) -> RpcError {
        RpcError::new(
            INVALID_PARAMS,
            format!("invalid argument {index} ({name}): {why}"),
        )
    }

    /// The error object as JSON.
    pub(super) fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("code".into(), json!(self.code));
        obj.insert("message".into(), json!(self.message));
        if let Some(data) = &self.data {
            obj.insert("data".into(), data.clone());
        }
        Value::Object(obj)
    }
}

/// A full answer object.
pub(super) fn response(id: &Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(v) => json!({"jsonrpc": "2.0", "id": id, "result": v}),
        Err(e) => json!({"jsonrpc": "2.0", "id": id, "error": e.to_json()}),
    }
}

/// One item of a body, sorted out.
#[derive(Debug)]
pub(super) enum Item {
    /// A call: `id` is `None` for a notification.
    Call {
        id: Option<Value>,
        method: String,
        params: Option<Value>,
    },
    /// Not a valid request; answered with this error and `id`.
    Invalid { id: Value, error: RpcError },
}

impl Item {
    /// Sorts out one request object.
    pub(super) fn parse(v: Value) -> Item {
        let Value::Object(mut obj) = v else {
            return Item::invalid(Value::Null, "invalid request: not an object");
        };
        let id = obj.remove("id");
        let answer_id = match &id {
            None | Some(Value::Null) => Value::Null,
            Some(v @ (Value::String(_) | Value::Number(_))) => v.clone(),
            Some(_) => {
                return Item::invalid(
                    Value::Null,
                    "invalid request: id must be a string, a number or null",
                )
            }
        };
        if obj.get("jsonrpc") != Some(&json!("2.0")) {
            return Item::invalid(answer_id, "invalid request: jsonrpc must be \"2.0\"");
        }
        let method = match obj.remove("method") {
            Some(Value::String(m)) => m,
            _ => return Item::invalid(answer_id, "invalid request: method must be a string"),
        };
        Item::Call {
            id,
            method,
            params: obj.remove("params"),
        }
    }

    fn invalid(id: Value, message: &str) -> Item {
        Item::Invalid {
            id,
            error: RpcError::new(INVALID_REQUEST, message),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Hex parameters, as geth's hexutil parses them
// ---------------------------------------------------------------------------------------

/// What follows the `0x` of a hex string, not yet checked to be digits.
fn after_prefix(s: &str) -> Result<&str, String> {
    if s.is_empty() {
        return Err("empty hex string".into());
    }
    s.strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or_else(|| "hex string without 0x prefix".into())
}

/// The hex digits of a `0x` string.
fn hex_digits(s: &str) -> Result<&str, String> {
    let digits = after_prefix(s)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("invalid hex string".into());
    }
    Ok(digits)
}

/// A quantity's digits: at least one, no leading zero.
fn quantity_digits(s: &str) -> Result<&str, String> {
    let digits = hex_digits(s)?;
    if digits.is_empty() {
        return Err("hex string \"0x\"".into());
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return Err("hex number with leading zero digits".into());
    }
    Ok(digits)
}

/// A hex quantity up to 64 bits.
pub(super) fn parse_u64(s: &str) -> Result<u64, String> {
    let digits = quantity_digits(s)?;
    if digits.len() > 16 {
        return Err("hex number > 64 bits".into());
    }
    u64::from_str_radix(digits, 16).map_err(|_| "invalid hex string".into())
}

/// A hex quantity up to 256 bits.
fn parse_u256(s: &str) -> Result<U256, String> {
    let digits = quantity_digits(s)?;
    if digits.len() > 64 {
        return Err("hex number > 256 bits".into());
    }
    U256::from_str_radix(digits, 16).map_err(|_| "invalid hex string".into())
}

/// Hex data: an even number of digits (checked first, as geth does; the decoder checks the
/// digits themselves, in one pass over what may be megabytes of calldata).
fn parse_bytes(s: &str) -> Result<Vec<u8>, String> {
    let digits = after_prefix(s)?;
    if digits.len() % 2 != 0 {
        return Err("hex string of odd length".into());
    }
    alloy_primitives::hex::decode(digits).map_err(|_| "invalid hex string".into())
}

/// Exactly `N` bytes of hex data.
fn parse_fixed<const N: usize>(s: &str, what: &str) -> Result<[u8; N], String> {
    let digits = hex_digits(s)?;
    if digits.len() != 2 * N {
        return Err(format!(
            "hex string has length {}, want {} for {what}",
            digits.len(),
            2 * N
        ));
    }
    let bytes = parse_bytes(s)?;
    bytes.try_into().map_err(|_| "invalid hex string".into())
}

pub(super) fn parse_address(s: &str) -> Result<Address, String> {
    parse_fixed::<20>(s, "common.Address").map(Address::from)
}

pub(super) fn parse_hash(s: &str) -> Result<B256, String> {
    parse_fixed::<32>(s, "common.Hash").map(B256::from)
}

/// A hex quantity as the node answers it.
pub(super) fn quantity(n: u64) -> Value {
    Value::String(format!("0x{n:x}"))
}

fn quantity_u256(n: &U256) -> Value {
    Value::String(format!("0x{n:x}"))
}

fn data(bytes: &[u8]) -> Value {
    Value::String(format!("0x{}", hex_string(bytes)))
}

fn hash_json(h: &B256) -> Value {
    data(h.as_slice())
}

// ---------------------------------------------------------------------------------------
// Positional parameters
// ---------------------------------------------------------------------------------------

/// The positional parameters of one call, with geth's messages for their problems.
struct Params<'a>(&'a [Value]);

impl<'a> Params<'a> {
    /// `params` as given: absent or null means none; an array; anything else is refused.
    fn new(params: Option<&'a Value>, max: usize) -> Result<Params<'a>, RpcError> {
        let list: &[Value] = match params {
            None | Some(Value::Null) => &[],
            Some(Value::Array(a)) => a,
            Some(_) => {
                return Err(RpcError::new(
                    INVALID_PARAMS,
                    "non-array args: params must be an array of positional arguments",
                ))
            }
        };
        // Trailing nulls are as good as absent, as geth reads them.
        let used = list.iter().rposition(|v| !v.is_null()).map_or(0, |i| i + 1);
        if used > max {
            return Err(RpcError::new(
                INVALID_PARAMS,
                format!("too many arguments, want at most {max}"),
            ));
        }
        Ok(Params(list))
    }

    fn get(&self, index: usize) -> Option<&'a Value> {
        self.0.get(index).filter(|v| !v.is_null())
    }

    fn required(&self, index: usize, name: &str) -> Result<&'a Value, RpcError> {
        self.get(index)
            .ok_or_else(|| RpcError::missing(index, name))
    }

    fn string(&self, index: usize, name: &str) -> Result<&'a str, RpcError> {
        let v = self.required(index, name)?;
        v.as_str()
            .ok_or_else(|| RpcError::invalid(index, name, &format!("want a string, got {v}")))
    }

    fn address(&self, index: usize, name: &str) -> Result<Address, RpcError> {
        parse_address(self.string(index, name)?).map_err(|e| RpcError::invalid(index, name, &e))
    }

    fn hash(&self, index: usize, name: &str) -> Result<B256, RpcError> {
        parse_hash(self.string(index, name)?).map_err(|e| RpcError::invalid(index, name, &e))
    }

    fn bool(&self, index: usize, name: &str) -> Result<bool, RpcError> {
        let v = self.required(index, name)?;
        v.as_bool()
            .ok_or_else(|| RpcError::invalid(index, name, &format!("want a bool, got {v}")))
    }

    fn block_id(&self, index: usize, name: &str) -> Result<BlockId, RpcError> {
        BlockId::parse(self.required(index, name)?).map_err(|e| RpcError::invalid(index, name, &e))
    }

    fn block_number(&self, index: usize, name: &str) -> Result<BlockId, RpcError> {
        let v = self.required(index, name)?;
        let s = v
            .as_str()
            .ok_or_else(|| RpcError::invalid(index, name, &format!("want a string, got {v}")))?;
        BlockId::number_or_tag(s).map_err(|e| RpcError::invalid(index, name, &e))
    }
}

// ---------------------------------------------------------------------------------------
// Block parameters
// ---------------------------------------------------------------------------------------

/// A block tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tag {
    Latest,
    Pending,
    Safe,
    Finalized,
    Earliest,
}

/// A block parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BlockId {
    Number(u64),
    Tag(Tag),
    Hash(B256),
}

impl BlockId {
    /// A number or a tag.
    pub(super) fn number_or_tag(s: &str) -> Result<BlockId, String> {
        let tag = match s {
            "latest" => Tag::Latest,
            "pending" => Tag::Pending,
            "safe" => Tag::Safe,
            "finalized" => Tag::Finalized,
            "earliest" => Tag::Earliest,
            _ => return parse_u64(s).map(BlockId::Number),
        };
        Ok(BlockId::Tag(tag))
    }

    /// Any block parameter: number, tag, bare hash or EIP-1898 object.
    pub(super) fn parse(v: &Value) -> Result<BlockId, String> {
        match v {
            Value::String(s) if s.len() == 66 => parse_hash(s).map(BlockId::Hash),
            Value::String(s) => BlockId::number_or_tag(s),
            Value::Object(obj) => BlockId::object(obj),
            other => Err(format!(
                "want a block number, tag, hash or {{\"blockHash\"}} / {{\"blockNumber\"}} \
                 object, got {other}"
            )),
        }
    }

    fn object(obj: &Map<String, Value>) -> Result<BlockId, String> {
        let field = |name: &str| obj.get(name).filter(|v| !v.is_null());
        if let Some(rc) = field("requireCanonical") {
            if !rc.is_boolean() {
                return Err(format!("requireCanonical: want a bool, got {rc}"));
            }
        }
        match (field("blockHash"), field("blockNumber")) {
            (Some(_), Some(_)) => {
                Err("cannot specify both BlockHash and BlockNumber, choose one or the other".into())
            }
            (Some(Value::String(h)), None) => parse_hash(h)
                .map(BlockId::Hash)
                .map_err(|e| format!("blockHash: {e}")),
            (None, Some(Value::String(n))) => {
                BlockId::number_or_tag(n).map_err(|e| format!("blockNumber: {e}"))
            }
            (Some(other), None) => Err(format!("blockHash: want a string, got {other}")),
            (None, Some(other)) => Err(format!("blockNumber: want a string, got {other}")),
            (None, None) => Err("neither block nor hash specified".into()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The methods
// ---------------------------------------------------------------------------------------

/// A call's result: a JSON value, or JSON text already written (a long list of logs is
/// written straight to bytes).
#[derive(Debug)]
pub(super) enum Output {
    Json(Value),
    Raw(super::raw_text::RawText),
}

/// One request's view of the ledger: the tip as it appears (lag included).
pub(super) struct View<'a> {
    pub(super) ledger: &'a Ledger,
    pub(super) tip: u64,
    pub(super) finalized_depth: u64,
    pub(super) safe_depth: u64,
    /// The limits of `eth_getLogs`.
    pub(super) logs_limits: LogLimits,
    /// Inner calls of `aggregate3` run while answering.
    pub(super) inner_calls: u64,
    /// Logs returned by `eth_getLogs` while answering.
    pub(super) logs_returned: u64,
    /// `eth_getLogs` calls refused for their range or the size of their answer.
    pub(super) logs_refused: u64,
    /// Where long answers are written: buffers of answers sent before.
    pub(super) spare: &'a std::sync::Arc<super::raw_text::Spare>,
}

impl View<'_> {
    /// Answers one call.
    pub(super) fn dispatch(
        &mut self,
        method: &str,
        params: Option<&Value>,
    ) -> Result<Output, RpcError> {
        if method == "eth_getLogs" {
            let p = Params::new(params, 1)?;
            return self.get_logs(p.required(0, "filter")?);
        }
        self.dispatch_json(method, params).map(Output::Json)
    }

    /// Answers one call whose result is built as a JSON value.
    fn dispatch_json(&mut self, method: &str, params: Option<&Value>) -> Result<Value, RpcError> {
        match method {
            "eth_chainId" => {
                Params::new(params, 0)?;
                Ok(quantity(self.ledger.chain.chain_id))
            }
            "eth_blockNumber" => {
                Params::new(params, 0)?;
                Ok(quantity(self.tip))
            }
            "eth_getBlockByNumber" => self.get_block_by_number(&Params::new(params, 2)?),
            "eth_getBlockByHash" => self.get_block_by_hash(&Params::new(params, 2)?),
            "eth_getBalance" => self.get_balance(&Params::new(params, 2)?),
            "eth_getCode" => self.get_code(&Params::new(params, 2)?),
            "eth_call" => self.call(&Params::new(params, 4)?),
            _ => Err(RpcError::new(
                METHOD_NOT_FOUND,
                format!("the method {method} does not exist/is not available"),
            )),
        }
    }

    /// The number a tag names.
    pub(super) fn tag(&self, tag: Tag) -> u64 {
        match tag {
            Tag::Latest | Tag::Pending => self.tip,
            Tag::Safe => self.tip.saturating_sub(self.safe_depth),
            Tag::Finalized => self.tip.saturating_sub(self.finalized_depth),
            Tag::Earliest => 0,
        }
    }

    /// The block a parameter names, for a state read: known, at most the tip.
    fn resolve(&self, id: BlockId) -> Result<u64, RpcError> {
        match id {
            BlockId::Tag(t) => Ok(self.tag(t)),
            BlockId::Number(n) if n <= self.tip => Ok(n),
            BlockId::Number(_) => Err(RpcError::server("header not found")),
            BlockId::Hash(h) => self
                .ledger
                .chain
                .lookup(&h, self.tip)
                .ok_or_else(|| RpcError::server("block not found")),
        }
    }

    /// The block a parameter names, with its state kept.
    fn resolve_state(&self, id: BlockId) -> Result<u64, RpcError> {
        let n = self.resolve(id)?;
        if n < self.ledger.oldest_state {
            return Err(RpcError::new(STATE_PRUNED, "missing trie node"));
        }
        Ok(n)
    }

    fn block_json(&self, n: u64) -> Value {
        let chain = &self.ledger.chain;
        let (hash, parent) = chain.remember_with_parent(n);
        let zero = B256::ZERO;
        json!({
            "number": quantity(n),
            "hash": hash_json(&hash),
            "parentHash": hash_json(&parent),
            "timestamp": quantity(chain.timestamp(n)),
            "nonce": "0x0000000000000000",
            "sha3Uncles": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
            "logsBloom": data(&[0u8; 256]),
            "transactionsRoot": "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
            "stateRoot": hash_json(&zero),
            "receiptsRoot": "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
            "miner": "0x0000000000000000000000000000000000000000",
            "difficulty": "0x0",
            "extraData": "0x",
            "size": "0x21c",
            "gasLimit": quantity(30_000_000),
            "gasUsed": "0x0",
            "baseFeePerGas": quantity(1_000_000_000),
            "mixHash": hash_json(&zero),
            "transactions": [],
            "uncles": [],
        })
    }

    fn get_block_by_number(&self, p: &Params<'_>) -> Result<Value, RpcError> {
        let id = p.block_number(0, "block")?;
        p.bool(1, "full")?;
        let n = match id {
            BlockId::Tag(t) => self.tag(t),
            BlockId::Number(n) => n,
            BlockId::Hash(_) => return Err(RpcError::invalid(0, "block", "want a number or tag")),
        };
        Ok(if n <= self.tip {
            self.block_json(n)
        } else {
            Value::Null
        })
    }

    fn get_block_by_hash(&self, p: &Params<'_>) -> Result<Value, RpcError> {
        let h = p.hash(0, "hash")?;
        p.bool(1, "full")?;
        Ok(match self.ledger.chain.lookup(&h, self.tip) {
            Some(n) => self.block_json(n),
            None => Value::Null,
        })
    }

    fn get_balance(&self, p: &Params<'_>) -> Result<Value, RpcError> {
        let a = p.address(0, "address")?;
        let n = self.resolve_state(p.block_id(1, "block")?)?;
        Ok(quantity_u256(&self.ledger.state.native(&a, n)))
    }

    fn get_code(&self, p: &Params<'_>) -> Result<Value, RpcError> {
        let a = p.address(0, "address")?;
        let n = self.resolve_state(p.block_id(1, "block")?)?;
        Ok(match self.ledger.state.code_at(&a, n) {
            Some(code) => data(&code.bytecode()),
            None => data(&[]),
        })
    }

    fn call(&mut self, p: &Params<'_>) -> Result<Value, RpcError> {
        let tx = CallTx::parse(p.required(0, "transaction")?)?;
        let id = match p.get(1) {
            Some(_) => p.block_id(1, "block")?,
            None => BlockId::Tag(Tag::Latest),
        };
        if p.get(2).is_some() {
            return Err(RpcError::invalid(
                2,
                "state overrides",
                "not supported by the devnet",
            ));
        }
        if p.get(3).is_some() {
            return Err(RpcError::invalid(
                3,
                "block overrides",
                "not supported by the devnet",
            ));
        }
        let n = self.resolve_state(id)?;
        if tx.gas.is_some_and(|g| g > EIP7825_GAS_CAP) {
            return Err(RpcError::server("gas limit too high"));
        }
        let Some(to) = tx.to else {
            return Err(RpcError::server(
                "contract creation is not supported by the devnet",
            ));
        };
        let mut exec = Exec::new(&self.ledger.state, n);
        let outcome = exec.call(&to, &tx.data, 0);
        self.inner_calls += exec.inner_calls;
        match outcome {
            Outcome::Return(out) => Ok(data(&out)),
            Outcome::Revert(out) => Err(revert_error(&out)),
        }
    }
}

/// The error for a direct call that reverted with `out`, as geth words it.
pub(super) fn revert_error(out: &[u8]) -> RpcError {
    if out.is_empty() {
        return RpcError::server("execution reverted");
    }
    let message = if let Ok(r) = RevertReason::abi_decode(out) {
        format!("execution reverted: {}", r.reason)
    } else if let Ok(p) = RevertPanic::abi_decode(out) {
        format!("execution reverted: {}", p.as_geth_str())
    } else {
        "execution reverted".to_owned()
    };
    RpcError {
        code: EXECUTION_REVERTED,
        message,
        data: Some(data(out)),
    }
}

/// The members of an `eth_call` transaction object the node uses.
struct CallTx {
    to: Option<Address>,
    data: Vec<u8>,
    gas: Option<u64>,
}

impl CallTx {
    fn parse(v: &Value) -> Result<CallTx, RpcError> {
        let bad = |why: String| RpcError::invalid(0, "transaction", &why);
        let Value::Object(obj) = v else {
            return Err(bad(format!("want an object, got {v}")));
        };
        let field = |name: &str| -> Result<Option<&str>, RpcError> {
            match obj.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(other) => Err(bad(format!("{name}: want a string, got {other}"))),
            }
        };
        let to = field("to")?
            .map(parse_address)
            .transpose()
            .map_err(|e| bad(format!("to: {e}")))?;
        if let Some(from) = field("from")? {
            parse_address(from).map_err(|e| bad(format!("from: {e}")))?;
        }
        for name in ["value", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas"] {
            if let Some(q) = field(name)? {
                parse_u256(q).map_err(|e| bad(format!("{name}: {e}")))?;
            }
        }
        let gas = field("gas")?
            .map(parse_u64)
            .transpose()
            .map_err(|e| bad(format!("gas: {e}")))?;
        let input = field("input")?
            .map(parse_bytes)
            .transpose()
            .map_err(|e| bad(format!("input: {e}")))?;
        let data = field("data")?
            .map(parse_bytes)
            .transpose()
            .map_err(|e| bad(format!("data: {e}")))?;
        let data = match (input, data) {
            (Some(i), Some(d)) if i != d => {
                return Err(bad(
                    "both \"data\" and \"input\" are set and not equal. Please use \"input\" \
                     to pass transaction call data"
                        .into(),
                ))
            }
            (Some(i), _) => i,
            (None, Some(d)) => d,
            (None, None) => Vec::new(),
        };
        Ok(CallTx { to, data, gas })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_like_geth() {
        assert_eq!(parse_u64("0x0"), Ok(0));
        assert_eq!(parse_u64("0x1b4"), Ok(0x1b4));
        assert_eq!(parse_u64("0xFFFFFFFFFFFFFFFF"), Ok(u64::MAX));
        for (bad, why) in [
            ("", "empty hex string"),
            ("12", "hex string without 0x prefix"),
            ("0x", "hex string \"0x\""),
            ("0x01", "hex number with leading zero digits"),
            ("0x10000000000000000", "hex number > 64 bits"),
            ("0xg", "invalid hex string"),
            ("0x-1", "invalid hex string"),
            ("0x+1", "invalid hex string"),
        ] {
            assert_eq!(parse_u64(bad), Err(why.to_owned()), "{bad:?}");
        }
        assert_eq!(parse_u256(&format!("0x{}", "f".repeat(64))), Ok(U256::MAX));
        assert!(parse_u256(&format!("0x1{}", "0".repeat(64))).is_err());
    }

    #[test]
    fn data_and_fixed_sizes() {
        assert_eq!(parse_bytes("0x"), Ok(vec![]));
        assert_eq!(parse_bytes("0x0aFF"), Ok(vec![0x0a, 0xff]));
        assert_eq!(parse_bytes("0xabc"), Err("hex string of odd length".into()));
        assert!(parse_bytes("0xé0").is_err());
        assert_eq!(
            parse_address("0x1234"),
            Err("hex string has length 4, want 40 for common.Address".into())
        );
        assert!(parse_hash(&format!("0x{}", "a".repeat(64))).is_ok());
    }

    #[test]
    fn block_ids() {
        let h = format!("0x{}", "ab".repeat(32));
        assert_eq!(
            BlockId::parse(&json!("latest")),
            Ok(BlockId::Tag(Tag::Latest))
        );
        assert_eq!(BlockId::parse(&json!("0x10")), Ok(BlockId::Number(16)));
        assert!(matches!(BlockId::parse(&json!(h)), Ok(BlockId::Hash(_))));
        assert!(matches!(
            BlockId::parse(&json!({"blockHash": h, "requireCanonical": true})),
            Ok(BlockId::Hash(_))
        ));
        assert_eq!(
            BlockId::parse(&json!({"blockNumber": "finalized"})),
            Ok(BlockId::Tag(Tag::Finalized))
        );
        for bad in [
            json!(16),
            json!("16"),
            json!("Latest"),
            json!({}),
            json!({"blockHash": h, "blockNumber": "0x1"}),
            json!({"blockHash": 5}),
            json!({"blockHash": h, "requireCanonical": "yes"}),
            json!([h]),
            json!(null),
        ] {
            assert!(BlockId::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn request_objects() {
        assert!(matches!(
            Item::parse(json!({"jsonrpc": "2.0", "id": "a", "method": "m"})),
            Item::Call { id: Some(_), .. }
        ));
        assert!(matches!(
            Item::parse(json!({"jsonrpc": "2.0", "method": "m"})),
            Item::Call { id: None, .. }
        ));
        for bad in [
            json!(1),
            json!({"jsonrpc": "1.0", "id": 1, "method": "m"}),
            json!({"id": 1, "method": "m"}),
            json!({"jsonrpc": "2.0", "id": 1, "method": 5}),
            json!({"jsonrpc": "2.0", "id": [1], "method": "m"}),
        ] {
            assert!(matches!(Item::parse(bad), Item::Invalid { .. }));
        }
    }
}
