//! `eth_getLogs`: the filter as geth parses it, the provider limits (a block-range cap and a
//! result cap) and the shapes providers refuse a query in.

use alloy_primitives::{Address, B256};
use serde_json::{json, Map, Value};

use super::logs::{Found, LogFilter};
use super::raw_text::RawText;
use super::rpc::{
    parse_address, parse_hash, BlockId, Output, RpcError, View, INVALID_PARAMS, INVALID_REQUEST,
    LIMIT_EXCEEDED, SERVER_ERROR,
};
use super::LogsErrorStyle;

/// Most topic positions a filter may have.
const MAX_TOPICS: usize = 4;
/// The result cap named in refusals when none is set (Infura's and Alchemy's).
const DEFAULT_RESULT_CAP: u64 = 10_000;
/// The block-range cap Alchemy's message names when none is set.
const DEFAULT_RANGE_CAP: u64 = 2_000;

/// The limits of `eth_getLogs`, read once per request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct LogLimits {
    /// Most blocks one query may span.
    pub(super) max_range: Option<u64>,
    /// Most logs one answer may hold.
    pub(super) max_results: Option<u64>,
    /// How a query over a limit is refused.
    pub(super) style: LogsErrorStyle,
}

/// The blocks a filter names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Span {
    /// `fromBlock` and `toBlock` (`latest` when left out).
    Range {
        from: Option<BlockId>,
        to: Option<BlockId>,
    },
    /// One block, by hash.
    Hash(B256),
}

fn bad(why: String) -> RpcError {
    RpcError::new(
        INVALID_PARAMS,
        format!("invalid argument 0 (filter): {why}"),
    )
}

/// One topic: 32 bytes of hex.
fn topic(v: &Value, at: usize) -> Result<B256, RpcError> {
    let s = v.as_str().ok_or_else(|| {
        bad(format!(
            "topics[{at}]: want a hash, null or a list, got {v}"
        ))
    })?;
    parse_hash(s).map_err(|e| bad(format!("topics[{at}]: {e}")))
}

/// The filter object of `eth_getLogs`.
fn parse_filter(v: &Value) -> Result<(LogFilter, Span), RpcError> {
    let Value::Object(obj) = v else {
        return Err(bad(format!("want an object, got {v}")));
    };
    let field = |name: &str| obj.get(name).filter(|v| !v.is_null());
    let one_address = |v: &Value| -> Result<Address, RpcError> {
        let s = v
            .as_str()
            .ok_or_else(|| bad(format!("address: want an address, got {v}")))?;
        parse_address(s).map_err(|e| bad(format!("address: {e}")))
    };
    let addresses = match field("address") {
        None => None,
        Some(Value::Array(list)) if list.is_empty() => None,
        Some(Value::Array(list)) => Some(list.iter().map(one_address).collect::<Result<_, _>>()?),
        Some(one) => Some(vec![one_address(one)?]),
    };
    let topics = match field("topics") {
        None => Vec::new(),
        Some(Value::Array(list)) => {
            if list.len() > MAX_TOPICS {
                return Err(RpcError::new(SERVER_ERROR, "exceed max topics"));
            }
            let mut topics = Vec::with_capacity(list.len());
            for (at, t) in list.iter().enumerate() {
                topics.push(match t {
                    Value::Null => None,
                    Value::Array(alts) if alts.iter().any(Value::is_null) || alts.is_empty() => {
                        None
                    }
                    Value::Array(alts) => Some(
                        alts.iter()
                            .map(|a| topic(a, at))
                            .collect::<Result<Vec<_>, _>>()?,
                    ),
                    one => Some(vec![topic(one, at)?]),
                });
            }
            topics
        }
        Some(other) => return Err(bad(format!("topics: want a list, got {other}"))),
    };
    let end = |name: &str| -> Result<Option<BlockId>, RpcError> {
        match field(name) {
            None => Ok(None),
            Some(Value::String(s)) => BlockId::number_or_tag(s)
                .map(Some)
                .map_err(|e| bad(format!("{name}: {e}"))),
            Some(other) => Err(bad(format!(
                "{name}: want a block number or tag, got {other}"
            ))),
        }
    };
    let (from, to) = (end("fromBlock")?, end("toBlock")?);
    let span = match field("blockHash") {
        None => Span::Range { from, to },
        Some(_) if from.is_some() || to.is_some() => {
            return Err(bad(
                "cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other"
                    .into(),
            ))
        }
        Some(Value::String(h)) => {
            Span::Hash(parse_hash(h).map_err(|e| bad(format!("blockHash: {e}")))?)
        }
        Some(other) => return Err(bad(format!("blockHash: want a hash, got {other}"))),
    };
    Ok((LogFilter { addresses, topics }, span))
}

/// `n` as providers shorten it in messages: `10K` for 10,000.
fn short(n: u64) -> String {
    if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}K", n / 1_000)
    } else {
        n.to_string()
    }
}

/// The refusal of a query over a limit, in `limits.style`: `over_range` when it spans more
/// blocks than allowed, else it matches more logs; `from..=to` is a range that works.
fn refusal(limits: &LogLimits, over_range: bool, from: u64, to: u64) -> RpcError {
    let results = limits.max_results.unwrap_or(DEFAULT_RESULT_CAP);
    match limits.style {
        LogsErrorStyle::Infura => {
            let mut data = Map::new();
            data.insert("from".into(), json!(format!("0x{from:X}")));
            data.insert("limit".into(), json!(results));
            data.insert("to".into(), json!(format!("0x{to:X}")));
            RpcError {
                code: LIMIT_EXCEEDED,
                message: format!(
                    "query returned more than {results} results. Try with this block range \
                     [0x{from:X}, 0x{to:X}]."
                ),
                data: Some(Value::Object(data)),
            }
        }
        LogsErrorStyle::Alchemy => RpcError::new(
            INVALID_PARAMS,
            format!(
                "Log response size exceeded. You can make eth_getLogs requests with up to a {} \
                 block range and no limit on the response size, or you can request any block \
                 range with a cap of {} logs in the response. Based on your parameters, this \
                 block range should work: [0x{from:x}, 0x{to:x}]",
                short(limits.max_range.unwrap_or(DEFAULT_RANGE_CAP)),
                short(results)
            ),
        ),
        LogsErrorStyle::RangeDash if over_range => RpcError::new(
            INVALID_PARAMS,
            format!(
                "query exceeds max block range {}",
                limits.max_range.unwrap_or(DEFAULT_RANGE_CAP)
            ),
        ),
        LogsErrorStyle::RangeDash => RpcError::new(
            INVALID_PARAMS,
            format!("query exceeds max results {results}, retry with the range {from}-{to}"),
        ),
        LogsErrorStyle::Plain if over_range => RpcError::new(
            INVALID_REQUEST,
            format!(
                "block range is too wide (maximum {})",
                limits.max_range.unwrap_or(DEFAULT_RANGE_CAP)
            ),
        ),
        LogsErrorStyle::Plain => RpcError::new(
            LIMIT_EXCEEDED,
            format!("query exceeds max results {results}"),
        ),
        LogsErrorStyle::Timeout => RpcError::new(SERVER_ERROR, "query timeout exceeded"),
    }
}

impl View<'_> {
    /// The end of a log range a parameter names (`latest` when absent).
    fn range_end(&self, id: Option<BlockId>) -> Result<u64, RpcError> {
        match id {
            None => Ok(self.tip),
            Some(BlockId::Tag(t)) => Ok(self.tag(t)),
            Some(BlockId::Number(n)) if n <= self.tip => Ok(n),
            Some(BlockId::Number(_)) => Err(RpcError::new(SERVER_ERROR, "header not found")),
            Some(BlockId::Hash(_)) => Err(bad("want a block number or tag".into())),
        }
    }

    /// `eth_getLogs` with the filter `v`.
    pub(super) fn get_logs(&mut self, v: &Value) -> Result<Output, RpcError> {
        let (filter, span) = parse_filter(v)?;
        let (from, to) = match span {
            Span::Hash(h) => {
                let n = self
                    .ledger
                    .chain
                    .lookup(&h, self.tip)
                    .ok_or_else(|| RpcError::new(SERVER_ERROR, "block not found"))?;
                (n, n)
            }
            Span::Range { from, to } => (self.range_end(from)?, self.range_end(to)?),
        };
        if from > to {
            return Err(RpcError::new(SERVER_ERROR, "invalid block range params"));
        }
        let book = &self.ledger.state.logs;
        let limits = self.logs_limits;
        // One block is answered whole, whatever the limits (as providers do).
        let found: Vec<Found> = if from == to {
            book.find(&filter, from, to, usize::MAX)
        } else {
            let over_range = limits.max_range.is_some_and(|m| to - from >= m.max(1));
            let upto = match limits.max_range {
                Some(m) if over_range => from + (m.max(1) - 1),
                _ => to,
            };
            let cap = limits
                .max_results
                .map(|c| usize::try_from(c).unwrap_or(usize::MAX));
            let found = book.find(
                &filter,
                from,
                upto,
                cap.map_or(usize::MAX, |c| c.saturating_add(1)),
            );
            let over_results = cap.and_then(|c| found.get(c));
            if over_range || over_results.is_some() {
                self.logs_refused += 1;
                let works_to = match over_results {
                    Some(first_out) => first_out.block().saturating_sub(1).max(from),
                    None => upto,
                };
                return Err(refusal(&limits, over_range, from, works_to));
            }
            found
        };
        self.logs_returned += found.len() as u64;
        let mut out = RawText::new(self.spare);
        book.write_json(&found, &self.ledger.chain, out.writer());
        Ok(Output::Raw(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_as_geth_parses_them() {
        let h = format!("0x{}", "ab".repeat(32));
        let a = "0x00000000000000000000000000000000000000AA";
        let (f, span) = parse_filter(&json!({})).unwrap();
        assert_eq!(f, LogFilter::default());
        assert_eq!(
            span,
            Span::Range {
                from: None,
                to: None
            }
        );
        let (f, _) =
            parse_filter(&json!({"address": [a, a], "topics": [h, null, [h, h], [h, null]]}))
                .unwrap();
        assert_eq!(f.addresses.as_ref().map(Vec::len), Some(2));
        let one = B256::repeat_byte(0xab);
        assert_eq!(
            f.topics,
            vec![Some(vec![one]), None, Some(vec![one, one]), None],
            "a null among alternatives matches anything"
        );
        let (_, span) = parse_filter(&json!({"blockHash": h})).unwrap();
        assert!(matches!(span, Span::Hash(_)));
        let (f, span) = parse_filter(&json!({"address": a, "fromBlock": "0x1", "toBlock": "latest", "topics": [null, [h, null]]})).unwrap();
        assert_eq!(f.topics, vec![None, None]);
        assert_eq!(f.addresses.map(|v| v.len()), Some(1));
        assert!(matches!(
            span,
            Span::Range {
                from: Some(BlockId::Number(1)),
                to: Some(_)
            }
        ));
        for wrong in [
            json!([]),
            json!({"address": 5}),
            json!({"address": ["0x12"]}),
            json!({"topics": "0x00"}),
            json!({"topics": ["0x00"]}),
            json!({"topics": [[5]]}),
            json!({"fromBlock": 5}),
            json!({"fromBlock": "0x01"}),
            json!({"toBlock": h}),
            json!({"blockHash": h, "fromBlock": "0x1"}),
            json!({"blockHash": "0x12"}),
            json!({"topics": [null, null, null, null, null]}),
        ] {
            assert!(parse_filter(&wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn refusals_in_every_style() {
        let mut l = LogLimits {
            max_range: Some(100_000),
            max_results: Some(10_000),
            style: LogsErrorStyle::Infura,
        };
        let e = refusal(&l, false, 10, 0x7b737);
        assert_eq!(e.code, -32005);
        assert_eq!(
            e.message,
            "query returned more than 10000 results. Try with this block range [0xA, 0x7B737]."
        );
        assert_eq!(
            e.data,
            Some(json!({"from": "0xA", "limit": 10000, "to": "0x7B737"}))
        );
        l.style = LogsErrorStyle::Alchemy;
        let e = refusal(&l, true, 10, 11);
        assert_eq!(e.code, -32602);
        assert!(e.message.starts_with("Log response size exceeded. You can make eth_getLogs requests with up to a 100K block range"), "{}", e.message);
        assert!(e.message.ends_with("cap of 10K logs in the response. Based on your parameters, this block range should work: [0xa, 0xb]"), "{}", e.message);
        l.style = LogsErrorStyle::RangeDash;
        assert_eq!(
            refusal(&l, false, 10, 20).message,
            "query exceeds max results 10000, retry with the range 10-20"
        );
        assert_eq!(
            refusal(&l, true, 10, 20).message,
            "query exceeds max block range 100000"
        );
        l.style = LogsErrorStyle::Plain;
        let e = refusal(&l, true, 10, 20);
        assert_eq!(
            (e.code, e.message.as_str()),
            (-32600, "block range is too wide (maximum 100000)")
        );
        let e = refusal(&l, false, 10, 20);
        assert_eq!(
            (e.code, e.message.as_str()),
            (-32005, "query exceeds max results 10000")
        );
        l.style = LogsErrorStyle::Timeout;
        let e = refusal(&l, false, 10, 20);
        assert_eq!(
            (e.code, e.message.as_str(), e.data),
            (-32000, "query timeout exceeded", None)
        );
        assert_eq!(short(1_500), "1500");
        assert_eq!(short(2_000), "2K");
        assert_eq!(short(7), "7");
    }
}
