//! An `eth_getLogs` answer, read straight from the bytes of its body into [`Logs`]: one
//! table of fixed-size entries and one buffer of every log's data, so that an answer of
//! 10,000 logs costs a handful of allocations, not two per log, and no JSON tree is built.

use std::borrow::Cow;
use std::fmt;

use alloy_primitives::{hex, Address, B256};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::rpc::{rpc_error_of, RpcError};

/// The most topics a log has (`LOG0` to `LOG4`).
const MAX_TOPICS: usize = 4;

/// One log, as far as tokbal reads it, borrowed from [`Logs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Log<'a> {
    /// The contract that emitted it (absent from an answer that leaves it out).
    pub address: Option<Address>,
    pub topics: &'a [B256],
    pub data: &'a [u8],
    pub block: u64,
}

/// One log in [`Logs`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Entry {
    pub(super) address: Option<Address>,
    pub(super) topics: Topics,
    pub(super) block: u64,
    /// Where its data lies in [`Logs::data`].
    pub(super) data: (usize, usize),
}

/// The logs of one answer (without those marked `removed`), in the order they came.
#[derive(Clone, Debug, Default)]
pub(crate) struct Logs {
    pub(super) entries: Vec<Entry>,
    pub(super) data: Vec<u8>,
}

impl Logs {
    /// Empties the table, keeping its room for the next answer.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.data.clear();
    }

    /// How many.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Each in turn.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Log<'_>> {
        self.entries.iter().map(|e| Log {
            address: e.address,
            topics: &e.topics.list[..usize::from(e.topics.count)],
            data: self.data.get(e.data.0..e.data.1).unwrap_or_default(),
            block: e.block,
        })
    }
}

/// A log's topics, decoded as they are read.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Topics {
    pub(super) list: [B256; MAX_TOPICS],
    pub(super) count: u8,
}

impl<'de> Deserialize<'de> for Topics {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Each;
        impl<'de> Visitor<'de> for Each {
            type Value = Topics;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of at most four 32-byte topics")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Topics, A::Error> {
                let mut topics = Topics::default();
                while let Some(text) = seq.next_element::<Cow<'de, str>>()? {
                    let slot = topics
                        .list
                        .get_mut(usize::from(topics.count))
                        .ok_or_else(|| de::Error::custom("a log with more than four topics"))?;
                    *slot = text.parse::<B256>().map_err(|_| {
                        de::Error::custom("a log with a topic that is not 32 bytes of hex")
                    })?;
                    topics.count += 1;
                }
                Ok(topics)
            }
        }
        d.deserialize_seq(Each)
    }
}

/// An answer as it comes: only the fields read, borrowed from the body where they can be.
#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(borrow, default)]
    result: Option<Vec<RawLog<'a>>>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct RawLog<'a> {
    #[serde(borrow, default)]
    address: Option<Cow<'a, str>>,
    topics: Topics,
    #[serde(borrow)]
    data: Cow<'a, str>,
    #[serde(rename = "blockNumber", borrow)]
    block_number: Cow<'a, str>,
    #[serde(default)]
    removed: bool,
}

/// The logs an `eth_getLogs` answer's body carries (without those marked `removed`), or its
/// JSON-RPC error; `Err` with what is wrong when it is neither. The plain shape providers send
/// is read by [`log_reader`](super::log_reader) into `table` (cleared first: one used
/// before keeps its room); the rest by `serde_json`.
pub(crate) fn parse_answer_body(
    body: &[u8],
    mut table: Logs,
) -> Result<Result<Logs, RpcError>, String> {
    table.clear();
    if super::log_reader::read_into(body, &mut table).is_some() {
        return Ok(Ok(table));
    }
    read_general(body)
}

/// [`parse_answer_body`] by `serde_json`.
pub(super) fn read_general(body: &[u8]) -> Result<Result<Logs, RpcError>, String> {
    let answer: Answer<'_> = serde_json::from_slice(body)
        .map_err(|e| format!("something that is not JSON-RPC ({e})"))?;
    if let Some(e) = answer.error {
        return Ok(Err(rpc_error_of(&e)));
    }
    let raw = answer.result.ok_or("neither a result nor an error")?;
    let mut logs = Logs {
        entries: Vec::with_capacity(raw.len()),
        data: Vec::with_capacity(raw.iter().map(|l| l.data.len() / 2).sum()),
    };
    for log in raw.into_iter().filter(|l| !l.removed) {
        let hex_data = log.data.strip_prefix("0x").unwrap_or(&log.data);
        let start = logs.data.len();
        logs.data.resize(start + hex_data.len() / 2, 0);
        if hex_data.len() % 2 != 0
            || hex::decode_to_slice(hex_data, &mut logs.data[start..]).is_err()
        {
            return Err("a log whose data is not hex".into());
        }
        let block = log
            .block_number
            .strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .ok_or("a log without a block number")?;
        let address = match log.address {
            Some(a) => Some(
                a.parse::<Address>()
                    .map_err(|_| "a log whose address is not one")?,
            ),
            None => None,
        };
        logs.entries.push(Entry {
            address,
            topics: log.topics,
            block,
            data: (start, logs.data.len()),
        });
    }
    Ok(Ok(logs))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(result: Value) -> String {
        json!({"jsonrpc": "2.0", "id": 1, "result": result}).to_string()
    }

    #[test]
    fn removed_logs_are_left_out_and_bad_ones_refused() {
        let topic = format!("0x{}", "11".repeat(32));
        let v = body(json!([
            {"topics": [topic], "data": "0x01", "blockNumber": "0x5", "logIndex": "0x0"},
            {"topics": [topic], "data": "0x", "blockNumber": "0x6", "removed": true},
            {"address": "0x00000000000000000000000000000000000000aa", "topics": [topic, topic],
             "data": "0x0203", "blockNumber": "0x7", "removed": false},
        ]));
        let logs = parse_answer_body(v.as_bytes(), Logs::default())
            .unwrap()
            .unwrap();
        assert_eq!(logs.len(), 2);
        let all: Vec<Log<'_>> = logs.iter().collect();
        assert_eq!(
            (all[0].block, all[0].data, all[0].address),
            (5, &[1u8][..], None)
        );
        assert_eq!(all[0].topics, &[B256::repeat_byte(0x11)][..]);
        assert_eq!((all[1].block, all[1].data), (7, &[2u8, 3][..]));
        assert_eq!(all[1].topics.len(), 2);
        assert_eq!(all[1].address, Some(Address::with_last_byte(0xaa)));
        // A table used before holds only the next answer's logs.
        let next = body(json!([{"topics": [], "data": "0x09", "blockNumber": "0x8"}]));
        let again = parse_answer_body(next.as_bytes(), logs).unwrap().unwrap();
        let all: Vec<Log<'_>> = again.iter().collect();
        assert_eq!(all.len(), 1);
        assert_eq!(
            (all[0].block, all[0].data, all[0].topics.len()),
            (8, &[9u8][..], 0)
        );
        for wrong in [
            json!([{"topics": ["0x12"], "data": "0x", "blockNumber": "0x1"}]),
            json!([{"topics": [topic, topic, topic, topic, topic], "data": "0x", "blockNumber": "0x1"}]),
            json!([{"topics": [], "data": "0x123", "blockNumber": "0x1"}]),
            json!([{"topics": [], "data": "0xzz", "blockNumber": "0x1"}]),
            json!([{"topics": [], "data": "0x", "blockNumber": "1"}]),
            json!([{"address": "0x12", "topics": [], "data": "0x", "blockNumber": "0x1"}]),
            json!({"not": "a list"}),
        ] {
            assert!(
                parse_answer_body(body(wrong.clone()).as_bytes(), Logs::default()).is_err(),
                "{wrong}"
            );
        }
        assert!(parse_answer_body(b"<html>", Logs::default()).is_err());
        let refused = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32005, "message": "query returned more than 10000 results"}});
        let e = parse_answer_body(refused.to_string().as_bytes(), Logs::default())
            .unwrap()
            .unwrap_err();
        assert_eq!(e.code, -32005);
    }

    #[test]
    fn an_escaped_string_still_reads() {
        // JSON allows any character escaped; a provider that escapes the hex is still read.
        let topic = format!("0x{}", "22".repeat(32));
        let v = format!(
            r#"{{"result": [{{"topics": ["{topic}"], "data": "0x\u0030\u0031", "blockNumber": "0x\u0031"}}]}}"#
        );
        let logs = parse_answer_body(v.as_bytes(), Logs::default())
            .unwrap()
            .unwrap();
        let log = logs.iter().next().unwrap();
        assert_eq!((log.block, log.data), (1, &[1u8][..]));
    }
}
