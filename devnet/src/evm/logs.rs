//! The chain's event logs: those recorded by token moves and those of the seeded transfer
//! histories; finding the ones a filter matches over a block range, in block and log-index
//! order; and writing them as JSON, straight to bytes.
//!
//! In a block, the logs of the seeded histories come first (in the order the histories were
//! seeded), then those of the moves, in the order made. Every seeded log and every move is a
//! transaction of its own (an ERC-1155 batch is one move), so a log's `transactionIndex` is
//! its `logIndex`. A transaction's hash is mixed from its block's hash and its index
//! ([`tx_hash`]): deterministic, distinct within the chain, and new when a reorg gives the
//! block a new hash (no keccak: an answer of 10,000 logs would spend most of its time
//! hashing).

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolEvent;

use super::abi::ITransfers;
use super::chain::Chain;
use super::seeded::SeededTransfers;
use crate::faults::mix64;

/// The hash of transaction `index` of the block whose hash is `block`: each 8-byte word
/// of the block hash, mixed with the index and the word's place.
pub(super) fn tx_hash(block: &B256, index: u64) -> B256 {
    let mut out = [0u8; 32];
    let salt = index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for (j, (word, slot)) in block.chunks(8).zip(out.chunks_mut(8)).enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let mixed = mix64(u64::from_be_bytes(w) ^ salt ^ (j as u64).rotate_left(17));
        slot.copy_from_slice(&mixed.to_be_bytes());
    }
    B256::from(out)
}

/// A log recorded by a token move.
#[derive(Clone, Debug)]
pub(super) struct RecordedLog {
    pub(super) block: u64,
    pub(super) address: Address,
    pub(super) topics: Vec<B256>,
    pub(super) data: Vec<u8>,
}

/// A 32-byte topic holding an address.
fn address_topic(a: &Address) -> B256 {
    a.into_word()
}

impl RecordedLog {
    /// ERC-20 `Transfer(from, to, value)`: three topics, the value as data.
    pub(super) fn erc20(
        block: u64,
        contract: Address,
        from: Address,
        to: Address,
        value: U256,
    ) -> RecordedLog {
        RecordedLog {
            block,
            address: contract,
            topics: vec![
                ITransfers::Transfer::SIGNATURE_HASH,
                address_topic(&from),
                address_topic(&to),
            ],
            data: value.to_be_bytes::<32>().to_vec(),
        }
    }

    /// ERC-721 `Transfer(from, to, tokenId)`: four topics (the id indexed), no data.
    pub(super) fn erc721(
        block: u64,
        contract: Address,
        from: Address,
        to: Address,
        id: U256,
    ) -> RecordedLog {
        RecordedLog {
            block,
            address: contract,
            topics: vec![
                ITransfers::Transfer::SIGNATURE_HASH,
                address_topic(&from),
                address_topic(&to),
                B256::from(id.to_be_bytes::<32>()),
            ],
            data: Vec::new(),
        }
    }

    /// ERC-1155 `TransferSingle(operator, from, to, id, value)`: operator, from and to
    /// indexed, id and value as data.
    pub(super) fn erc1155_single(
        block: u64,
        contract: Address,
        parties: [Address; 3],
        id: U256,
        value: U256,
    ) -> RecordedLog {
        let [operator, from, to] = parties;
        let event = ITransfers::TransferSingle {
            operator,
            from,
            to,
            id,
            value,
        };
        RecordedLog {
            block,
            address: contract,
            topics: vec![
                ITransfers::TransferSingle::SIGNATURE_HASH,
                address_topic(&operator),
                address_topic(&from),
                address_topic(&to),
            ],
            data: event.encode_data(),
        }
    }

    /// ERC-1155 `TransferBatch(operator, from, to, ids, values)`: operator, from and to
    /// indexed, the two arrays ABI-encoded as data.
    pub(super) fn erc1155_batch(
        block: u64,
        contract: Address,
        parties: [Address; 3],
        ids: Vec<U256>,
        values: Vec<U256>,
    ) -> RecordedLog {
        let [operator, from, to] = parties;
        let event = ITransfers::TransferBatch {
            operator,
            from,
            to,
            ids,
            values,
        };
        RecordedLog {
            block,
            address: contract,
            topics: vec![
                ITransfers::TransferBatch::SIGNATURE_HASH,
                address_topic(&operator),
                address_topic(&from),
                address_topic(&to),
            ],
            data: event.encode_data(),
        }
    }
}

/// Which logs a query wants: from some contracts (`None`: any), with some topics by
/// position (`None` at a position: any topic).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct LogFilter {
    pub(super) addresses: Option<Vec<Address>>,
    pub(super) topics: Vec<Option<Vec<B256>>>,
}

impl LogFilter {
    fn address(&self, a: &Address) -> bool {
        self.addresses.as_ref().is_none_or(|list| list.contains(a))
    }

    /// Whether `topics` match, as geth matches them: a log with fewer topics than the
    /// filter has positions never matches.
    fn topics(&self, topics: &[B256]) -> bool {
        if self.topics.len() > topics.len() {
            return false;
        }
        self.topics
            .iter()
            .zip(topics)
            .all(|(want, got)| want.as_ref().is_none_or(|w| w.contains(got)))
    }

    /// Whether a log with `n` topics whose first is `topic0` may match (checked once per
    /// seeded history, whose logs all have three topics and the same first).
    fn may_match(&self, n: usize, topic0: &B256) -> bool {
        self.topics.len() <= n
            && self
                .topics
                .first()
                .is_none_or(|w| w.as_ref().is_none_or(|w| w.contains(topic0)))
    }
}

/// Where a found log is: its block, and which log of which source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Found {
    block: u64,
    /// The seeded history's position among them, or their count for a recorded log.
    source: usize,
    /// The log's number in its seeded history, or its place among the recorded logs.
    index: u64,
}

impl Found {
    /// The log's block.
    pub(super) fn block(&self) -> u64 {
        self.block
    }
}

/// Every log of the chain.
#[derive(Debug, Default)]
pub(super) struct LogBook {
    /// Sorted by block (moves are made at the tip + 1, which never goes down).
    recorded: Vec<RecordedLog>,
    seeded: Vec<SeededTransfers>,
}

impl LogBook {
    /// Records a move's log.
    pub(super) fn push(&mut self, log: RecordedLog) {
        let at = self.recorded.partition_point(|l| l.block <= log.block);
        self.recorded.insert(at, log);
    }

    /// Adds a seeded history.
    pub(super) fn seed(&mut self, history: SeededTransfers) {
        self.seeded.push(history);
    }

    /// Whether `contract` has a seeded history.
    pub(super) fn is_seeded(&self, contract: &Address) -> bool {
        self.seeded.iter().any(|s| s.contract == *contract)
    }

    /// `owner`'s balance of `contract` at `block` from a seeded history, if `contract` has
    /// one and `owner` is one of its holders.
    pub(super) fn seeded_balance(
        &self,
        contract: &Address,
        owner: &Address,
        block: u64,
    ) -> Option<U256> {
        self.seeded
            .iter()
            .find(|s| s.contract == *contract)
            .and_then(|s| s.balance(owner, block))
    }

    /// The supply of `contract` at `block` from a seeded history, if it has one.
    pub(super) fn seeded_supply(&self, contract: &Address, block: u64) -> Option<U256> {
        self.seeded
            .iter()
            .find(|s| s.contract == *contract)
            .map(|s| s.supply(block))
    }

    /// Forgets the logs of blocks `first` and later.
    pub(super) fn drop_from(&mut self, first: u64) {
        let keep = self.recorded.partition_point(|l| l.block < first);
        self.recorded.truncate(keep);
        for s in &mut self.seeded {
            s.drop_from(first);
        }
    }

    /// The first recorded log of block `b` (or where it would be).
    fn recorded_start(&self, b: u64) -> usize {
        self.recorded.partition_point(|l| l.block < b)
    }

    /// How many logs of seeded histories block `b` holds, those before history `source`.
    fn seeded_before(&self, b: u64, source: usize) -> u64 {
        self.seeded.iter().take(source).map(|s| s.in_block(b)).sum()
    }

    /// The logs matching `filter` in blocks `from..=to`, in block and log-index order, at
    /// most `limit` of them (the first ones).
    pub(super) fn find(&self, filter: &LogFilter, from: u64, to: u64, limit: usize) -> Vec<Found> {
        let mut found = Vec::new();
        if from > to || limit == 0 {
            return found;
        }
        let transfer = ITransfers::Transfer::SIGNATURE_HASH;
        for (source, s) in self.seeded.iter().enumerate() {
            if !filter.address(&s.contract) || !filter.may_match(3, &transfer) {
                continue;
            }
            let start = found.len();
            let (lo, hi) = (s.before(from), s.before(to.saturating_add(1)));
            for k in lo..hi {
                let (f, t, _) = s.log(k);
                if filter.topics(&[transfer, address_topic(&f), address_topic(&t)]) {
                    found.push(Found {
                        block: s.block_of(k),
                        source,
                        index: k,
                    });
                    if found.len() - start >= limit {
                        break;
                    }
                }
            }
        }
        let recorded = self.seeded.len();
        let start = found.len();
        let first = self.recorded_start(from);
        for (i, log) in self.recorded.iter().enumerate().skip(first) {
            if log.block > to || found.len() - start >= limit {
                break;
            }
            if filter.address(&log.address) && filter.topics(&log.topics) {
                found.push(Found {
                    block: log.block,
                    source: recorded,
                    index: i as u64,
                });
            }
        }
        found.sort_unstable();
        found.truncate(limit);
        found
    }

    /// Writes `found` as a JSON array of log objects.
    pub(super) fn write_json(&self, found: &[Found], chain: &Chain, out: &mut Vec<u8>) {
        out.reserve(found.len() * 720 + 2);
        out.push(b'[');
        let mut block_hash: Option<(u64, B256, u64)> = None;
        for (n, f) in found.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            let (hash, timestamp) = match block_hash {
                Some((b, h, t)) if b == f.block => (h, t),
                _ => {
                    let h = chain.hash(f.block);
                    let t = chain.timestamp(f.block);
                    block_hash = Some((f.block, h, t));
                    (h, t)
                }
            };
            let before = self.seeded_before(f.block, f.source);
            let seeded: ([B256; 3], [u8; 32]);
            let (address, topics, data, position): (Address, &[B256], &[u8], u64) =
                match self.seeded.get(f.source) {
                    Some(s) => {
                        let (from, to, amount) = s.log(f.index);
                        seeded = (
                            [
                                ITransfers::Transfer::SIGNATURE_HASH,
                                address_topic(&from),
                                address_topic(&to),
                            ],
                            amount.to_be_bytes::<32>(),
                        );
                        (
                            s.contract,
                            &seeded.0,
                            &seeded.1,
                            f.index - s.before(f.block),
                        )
                    }
                    None => {
                        let Some(log) = self.recorded.get(f.index as usize) else {
                            continue;
                        };
                        let position = f.index as usize - self.recorded_start(f.block);
                        (log.address, &log.topics, &log.data, position as u64)
                    }
                };
            let index = before + position;
            let tx = tx_hash(&hash, index);
            out.extend_from_slice(b"{\"address\":");
            push_hex(out, address.as_slice());
            out.extend_from_slice(b",\"topics\":[");
            for (i, t) in topics.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_hex(out, t.as_slice());
            }
            out.extend_from_slice(b"],\"data\":");
            push_hex(out, data);
            out.extend_from_slice(b",\"blockNumber\":");
            push_quantity(out, f.block);
            out.extend_from_slice(b",\"blockHash\":");
            push_hex(out, hash.as_slice());
            out.extend_from_slice(b",\"blockTimestamp\":");
            push_quantity(out, timestamp);
            out.extend_from_slice(b",\"transactionHash\":");
            push_hex(out, tx.as_slice());
            out.extend_from_slice(b",\"transactionIndex\":");
            push_quantity(out, index);
            out.extend_from_slice(b",\"logIndex\":");
            push_quantity(out, index);
            out.extend_from_slice(b",\"removed\":false}");
        }
        out.push(b']');
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `"0x…"`: the bytes as lower-case hex, quoted.
fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(b"\"0x");
    let at = out.len();
    out.resize(at + 2 * bytes.len(), 0);
    // The room is exactly twice the input, so this cannot fail.
    let _ = alloy_primitives::hex::encode_to_slice(bytes, &mut out[at..]);
    out.push(b'"');
}

/// `"0x…"`: a quantity, lower-case hex without leading zeros.
fn push_quantity(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(b"\"0x");
    let digits = (64 - n.leading_zeros()).div_ceil(4).max(1);
    for i in (0..digits).rev() {
        out.push(HEX[((n >> (4 * i)) & 0xf) as usize]);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(n: u8) -> Address {
        Address::repeat_byte(n)
    }

    #[test]
    fn quantities_and_transaction_hashes() {
        for (n, text) in [
            (0, "\"0x0\""),
            (9, "\"0x9\""),
            (0x1b4, "\"0x1b4\""),
            (u64::MAX, "\"0xffffffffffffffff\""),
        ] {
            let mut out = Vec::new();
            push_quantity(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), text);
        }
        for (bytes, text) in [
            (&[][..], "\"0x\""),
            (&[0xab, 0x01, 0xf0][..], "\"0xab01f0\""),
        ] {
            let mut out = b"[".to_vec();
            push_hex(&mut out, bytes);
            assert_eq!(String::from_utf8(out).unwrap(), format!("[{text}"));
        }
        let (a, b) = (B256::repeat_byte(1), B256::repeat_byte(2));
        let mut seen = std::collections::HashSet::new();
        for block in [a, b] {
            for i in 0..1_000 {
                assert!(seen.insert(tx_hash(&block, i)));
            }
        }
        assert_eq!(tx_hash(&a, 5), tx_hash(&a, 5));
    }

    #[test]
    fn topics_match_as_geth_matches_them() {
        let sig = ITransfers::Transfer::SIGNATURE_HASH;
        let log = [sig, address_topic(&a(1)), address_topic(&a(2))];
        let f = |topics: Vec<Option<Vec<B256>>>| LogFilter {
            addresses: None,
            topics,
        };
        assert!(f(vec![]).topics(&log));
        assert!(f(vec![Some(vec![sig])]).topics(&log));
        assert!(f(vec![None, None, Some(vec![address_topic(&a(2))])]).topics(&log));
        assert!(!f(vec![None, Some(vec![address_topic(&a(2))])]).topics(&log));
        assert!(f(vec![
            None,
            Some(vec![address_topic(&a(2)), address_topic(&a(1))])
        ])
        .topics(&log));
        assert!(
            !f(vec![None, None, None, None]).topics(&log),
            "more positions than topics"
        );
        assert!(f(vec![None, None, None]).may_match(3, &sig));
        assert!(!f(vec![None, None, None, None]).may_match(3, &sig));
        assert!(!f(vec![Some(vec![B256::ZERO])]).may_match(3, &sig));
    }

    #[test]
    fn found_logs_are_in_block_then_source_order() {
        let mut book = LogBook::default();
        book.push(RecordedLog::erc20(7, a(9), a(1), a(2), U256::from(1)));
        book.push(RecordedLog::erc20(5, a(9), a(1), a(2), U256::from(2)));
        book.push(RecordedLog::erc721(7, a(8), a(1), a(2), U256::from(3)));
        let all = book.find(&LogFilter::default(), 0, 100, usize::MAX);
        assert_eq!(all.iter().map(Found::block).collect::<Vec<_>>(), [5, 7, 7]);
        let only = LogFilter {
            addresses: Some(vec![a(8)]),
            topics: vec![],
        };
        assert_eq!(book.find(&only, 0, 100, usize::MAX).len(), 1);
        assert_eq!(book.find(&LogFilter::default(), 6, 100, 1).len(), 1);
        assert!(book.find(&LogFilter::default(), 8, 100, 5).is_empty());
        book.drop_from(6);
        assert_eq!(book.find(&LogFilter::default(), 0, 100, 5).len(), 1);
    }
}
