//! Reading a contract's event logs over a block range with `eth_getLogs`, in ranges that
//! adapt to what the provider takes.
//!
//! Providers cap a request's block range, the number of logs it returns, or both, and say so
//! in their own words. Where the refusal names a range that works (Infura's `[0x.., 0x..]`
//! and `error.data.from/to`, Alchemy's "this block range should work: [0x.., 0x..]", others'
//! "retry with the range A-B") that range is read next; where it only says the range or the
//! answer is too large, or that the query timed out, the range is halved. Ranges grow again
//! while answers are small. One block is never split (providers answer it whole). A rate
//! limit is another matter: the request is retried after a back-off, with the same range.
//!
//! Two things save round trips at the start. A request sent beside the pin (to the block the
//! pin names, before its number is known) learns the provider's caps early: its refusal
//! stands for the first range's. And a scan whose first block is still being searched for
//! (the contract's creation) reads the blocks the search has reached as it goes on.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use alloy_primitives::{Address, B256};
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::{json, Value};
use tokio::sync::watch;

use super::backend::{block_tag, BlockRef};
use super::log_answer::Logs;
use super::rpc::{evm_error, map_rpc_error, RpcError};
use super::EvmBackend;
use crate::batch::Gate;
use crate::error::{Error, ErrorKind};
use crate::holders::Progress;

/// The most blocks one request asks for before any refusal has taught a smaller range.
pub(crate) const FIRST_SPAN: u64 = 1 << 20;
/// The most `eth_getLogs` requests out at once (within the client's concurrency): each
/// answer may be megabytes, and they are held until read.
pub(crate) const MAX_LOG_REQUESTS: usize = 4;
/// An answer with fewer logs than this lets the next ranges grow (doubling, up to the
/// largest range not refused for its size).
const GROW_BELOW: usize = 2_000;

/// The buffers a scan's answers arrive in and the tables they are read into, each used
/// again by a later answer (at most one of each per request in flight is kept, and all are
/// freed when the scan ends): a fresh 6 MB buffer costs a page fault every 4 KiB.
#[derive(Debug, Default)]
pub(crate) struct Buffers {
    bodies: Mutex<Vec<Vec<u8>>>,
    tables: Mutex<Vec<Logs>>,
}

/// One kept for later, or a new one.
fn take_kept<T: Default>(kept: &Mutex<Vec<T>>) -> T {
    kept.lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop()
        .unwrap_or_default()
}

/// Keeps `one` for later, unless as many as requests in flight are kept already.
fn keep<T>(kept: &Mutex<Vec<T>>, one: T) {
    let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
    if kept.len() < MAX_LOG_REQUESTS {
        kept.push(one);
    }
}

impl Buffers {
    /// A body buffer used before, or a new one.
    pub(crate) fn take(&self) -> Vec<u8> {
        take_kept(&self.bodies)
    }

    /// Gives `buf` back for a later answer.
    pub(crate) fn put(&self, buf: Vec<u8>) {
        keep(&self.bodies, buf);
    }

    /// A table used before (to be cleared), or a new one.
    pub(crate) fn table(&self) -> Logs {
        take_kept(&self.tables)
    }

    /// Gives `table` back once its logs are taken in.
    fn put_table(&self, table: Logs) {
        keep(&self.tables, table);
    }
}

/// What a refusal of `eth_getLogs` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The range or the answer is too large: read `Some(range)` if the provider named one
    /// that works, else a smaller one. `by_range` when it is the block range that is too
    /// long (a cap that does not depend on how many logs there are).
    Shrink {
        suggested: Option<(u64, u64)>,
        by_range: bool,
        /// The most blocks a request may span, where the refusal says ("exceeds limit of
        /// 16", "limited to a 10,000 range").
        max_span: Option<u64>,
    },
}

/// Whether `e` is a provider refusing a query for its range or the size of its answer (as
/// opposed to a rate limit, which names requests, credits, compute units or a quota).
pub(crate) fn is_range_refusal(e: &RpcError) -> bool {
    classify(e).is_some()
}

/// What a refusal asks for, or `None` when `e` is not about the range or the answer's size.
pub(crate) fn classify(e: &RpcError) -> Option<Refusal> {
    let lower = e.message.to_ascii_lowercase();
    let rate = [
        "rate limit",
        "rate-limit",
        "too many requests",
        "compute unit",
        "credits",
        "quota",
        "throughput",
        "requests per second",
        "capacity",
    ];
    if rate.iter().any(|w| lower.contains(w)) {
        return None;
    }
    let results = [
        "results",
        "response size",
        "too many logs",
        "log response",
        "logs matched",
        "exceeds max",
        "max logs",
        "response too large",
    ];
    let range = [
        "block range",
        "range is too",
        "range too",
        "range exceeds",
        "range should",
        "blocks range",
        "range of blocks",
        "retry with the range",
        "exceed maximum block range",
        "exceeds limit",
        "limited to a",
    ];
    let timeout = ["timeout", "timed out", "time out"];
    let by_results = results.iter().any(|w| lower.contains(w));
    let by_range = range.iter().any(|w| lower.contains(w));
    let timed_out = timeout.iter().any(|w| lower.contains(w));
    if !(by_results || by_range || timed_out) {
        return None;
    }
    Some(Refusal::Shrink {
        suggested: suggested_range(e),
        by_range: by_range && !by_results,
        max_span: stated_limit(&lower),
    })
}

/// The block-range limit a refusal states: "exceeds limit of 16" (Infura), "limited to a
/// 10,000 range" (QuickNode).
fn stated_limit(lower: &str) -> Option<u64> {
    let after = ["limit of ", "limited to a ", "limited to "]
        .iter()
        .find_map(|w| lower.find(w).map(|at| &lower[at + w.len()..]))?;
    let digits: String = after
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '_')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse::<u64>().ok().filter(|&n| n > 0)
}

/// The refusal an HTTP status of its own stands for: 413 (QuickNode answers a range too large
/// with one), with what its body says.
pub(crate) fn http_refusal(e: &Error) -> Option<Refusal> {
    (e.status() == Some(413)).then(|| {
        let lower = e.message().to_ascii_lowercase();
        Refusal::Shrink {
            suggested: None,
            by_range: true,
            max_span: stated_limit(&lower),
        }
    })
}

/// The range a refusal suggests: `error.data.from/to`, `[0xA, 0xB]` in the message, or
/// `the range A-B` (decimal).
fn suggested_range(e: &RpcError) -> Option<(u64, u64)> {
    let hex = |v: Option<&Value>| -> Option<u64> {
        let s = v?.as_str()?.strip_prefix("0x")?;
        u64::from_str_radix(s, 16).ok()
    };
    if let Some(data) = &e.data {
        if let (Some(a), Some(b)) = (hex(data.get("from")), hex(data.get("to"))) {
            return (a <= b).then_some((a, b));
        }
    }
    let m = &e.message;
    if let Some(open) = m.find('[') {
        let inside = &m[open + 1..];
        let close = inside.find(']')?;
        let mut parts = inside[..close].split(',').map(str::trim);
        let (a, b) = (parts.next()?, parts.next()?);
        let num = |s: &str| match s.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).ok(),
            None => s.parse::<u64>().ok(),
        };
        let (a, b) = (num(a)?, num(b)?);
        return (a <= b).then_some((a, b));
    }
    let lower = m.to_ascii_lowercase();
    let at = lower.find("range ")?;
    let rest = &m[at + "range ".len()..];
    let digits = |s: &str| -> Option<(u64, usize)> {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        Some((s.get(..n)?.parse().ok()?, n))
    };
    let (a, n) = digits(rest)?;
    let rest = rest.get(n..)?.trim_start().strip_prefix('-')?.trim_start();
    let (b, _) = digits(rest)?;
    (a <= b).then_some((a, b))
}

/// Which logs to read: one contract's, with topic filters per position (`None` matches any).
#[derive(Clone, Debug)]
pub(crate) struct LogFilter {
    /// One contract's logs, or (`None`) every contract's.
    pub address: Option<Address>,
    pub topics: Vec<Option<Vec<B256>>>,
}

impl LogFilter {
    fn json(&self, from: u64, to: u64) -> Value {
        self.json_to(from, json!(format!("0x{to:x}")))
    }

    /// The filter from block `from` to `to`, a block number or a tag the node resolves.
    fn json_to(&self, from: u64, to: Value) -> Value {
        let topics: Vec<Value> = self
            .topics
            .iter()
            .map(|t| match t {
                None => Value::Null,
                Some(one) if one.len() == 1 => json!(one[0].to_string()),
                Some(many) => json!(many.iter().map(|t| t.to_string()).collect::<Vec<_>>()),
            })
            .collect();
        let mut filter = json!({
            "topics": topics,
            "fromBlock": format!("0x{from:x}"),
            "toBlock": to,
        });
        if let (Some(address), Some(map)) = (self.address, filter.as_object_mut()) {
            map.insert("address".into(), json!(address.to_string()));
        }
        filter
    }
}

/// The ranges still to read, and what the provider has taught about their size.
struct Planner {
    /// The first block no range has been carved from yet.
    next: u64,
    end: u64,
    span: u64,
    /// The largest span a refusal by range allows (one block less than the smallest refused).
    ceiling: u64,
    /// Ranges handed back by refusals, read before new ones are carved; `true` for one a
    /// provider named, read whole.
    pending: VecDeque<(u64, u64, bool)>,
    exhausted: bool,
    /// The first block of the scan so far (it moves down while the first block is searched
    /// for).
    floor: u64,
}

impl Planner {
    fn new(from: u64, to: u64) -> Self {
        Planner {
            next: from,
            end: to,
            span: FIRST_SPAN,
            ceiling: u64::MAX,
            pending: VecDeque::new(),
            exhausted: from > to,
            floor: from,
        }
    }

    /// Whether every range has been handed out.
    fn idle(&self) -> bool {
        self.pending.is_empty() && self.exhausted
    }

    /// The blocks from `from` up to the scan's first block so far are to be read too: one
    /// range, carved as it is read.
    fn extend_down(&mut self, from: u64) {
        if from >= self.floor {
            return;
        }
        match self.pending.back_mut() {
            // The last extension not yet handed out grows.
            Some((lo, _, false)) if *lo == self.floor => *lo = from,
            _ => self.pending.push_back((from, self.floor - 1, false)),
        }
        self.floor = from;
    }

    /// The next range to read: a handed-back one first (no longer than what the provider
    /// has taught, so that the rest of a refused range is read in parallel), else a new one.
    fn take(&mut self) -> Option<(u64, u64)> {
        if let Some((lo, hi, named)) = self.pending.pop_front() {
            let span = self.span.max(1);
            if !named && hi - lo >= span {
                self.pending.push_front((lo + span, hi, false));
                return Some((lo, lo + span - 1));
            }
            return Some((lo, hi));
        }
        if self.exhausted {
            return None;
        }
        let lo = self.next;
        let hi = lo.saturating_add(self.span.max(1) - 1).min(self.end);
        if hi >= self.end {
            self.exhausted = true;
        } else {
            self.next = hi + 1;
        }
        Some((lo, hi))
    }

    /// `(lo, hi)` was refused: read what was suggested, or its halves.
    fn refused(&mut self, (lo, hi): (u64, u64), refusal: Refusal) {
        let Refusal::Shrink {
            suggested,
            by_range,
            max_span,
        } = refusal;
        let len = hi - lo + 1;
        // A stated limit is a suggestion of its own: the first blocks of the range.
        let suggested =
            suggested.or_else(|| max_span.filter(|&m| m < len).map(|m| (lo, lo + m - 1)));
        if let Some(m) = max_span.filter(|&m| m < len) {
            self.ceiling = self.ceiling.min(m);
        }
        match suggested.filter(|&(a, b)| a >= lo && b <= hi && b - a + 1 < len) {
            Some((a, b)) => {
                // Read the suggested range, then the rest of this one.
                if b < hi {
                    self.pending.push_front((b + 1, hi, false));
                }
                self.pending.push_front((a, b, true));
                if a > lo {
                    self.pending.push_front((lo, a - 1, false));
                }
                // The range named holds as many logs as the provider answers: a range of
                // the same length elsewhere holds about as many, more than half the time
                // too many. Later ranges are an eighth shorter.
                let named = b - a + 1;
                self.span = self
                    .span
                    .min(if by_range { named } else { named - named / 8 });
            }
            None => {
                let mid = lo + len / 2 - 1;
                self.pending.push_front((mid + 1, hi, false));
                self.pending.push_front((lo, mid, false));
                self.span = self.span.min(len / 2);
            }
        }
        if by_range {
            self.ceiling = self.ceiling.min(len - 1);
            self.span = self.span.min(self.ceiling);
        }
        self.span = self.span.max(1);
    }

    /// What a refusal asked for beside the pin says of `first`, the first range (still to be
    /// answered): `whole` when it was asked of the same blocks, else of more (to the tip),
    /// of which only a range it names within `first`, or a limit it states, tells anything
    /// about `first`. Returns whether `first` is read as the refusal says (its own answer is
    /// then not used).
    fn learned_early(&mut self, first: (u64, u64), refusal: Refusal, whole: bool) -> bool {
        let Refusal::Shrink {
            suggested,
            by_range,
            max_span,
        } = refusal;
        let len = first.1 - first.0 + 1;
        let named = suggested.filter(|&(a, b)| a >= first.0 && b < first.1);
        let limit = max_span.filter(|&m| m < len);
        if suggested.is_some() && named.is_none() {
            // The range it names takes in all of `first`: `first` is answered as it is.
            return false;
        }
        if whole {
            self.refused(first, refusal);
            return true;
        }
        if named.is_none() && limit.is_none() {
            return false;
        }
        // Not refused for its own length: no ceiling is learned from `first`.
        let refusal = Refusal::Shrink {
            suggested: named,
            by_range: by_range && named.is_none(),
            max_span: limit,
        };
        self.refused(first, refusal);
        true
    }

    /// `(lo, hi)` answered `count` logs: small answers let later ranges grow.
    fn answered(&mut self, (lo, hi): (u64, u64), count: usize) {
        let len = hi - lo + 1;
        if count < GROW_BELOW && len >= self.span {
            self.span = self.span.saturating_mul(2).min(self.ceiling).max(1);
        }
    }
}

/// A refusal asked for beside the pin, on its way (see [`EvmBackend::probe_logs`]).
pub(crate) struct Early<'a> {
    pub refusal: BoxFuture<'a, Option<Refusal>>,
    /// Asked of the scan's own blocks (the pin's block named as the pin names it), not of
    /// more.
    pub whole: bool,
}

/// Where a scan starts.
pub(crate) enum Start {
    /// At this block.
    At(u64),
    /// At a block still being searched for, from the other end of a watch: the lowest block
    /// known to be read so far (past the last block while none is), and whether the search
    /// is over. The blocks known are read as the search goes on, in as few ranges as the
    /// scan's pace allows.
    Searched(watch::Receiver<(u64, bool)>),
}

impl EvmBackend {
    /// Every log matching `filter` in blocks `start..=to`, handed to `sink` range by range as
    /// they come (in no particular order), at most [`MAX_LOG_REQUESTS`] requests at once, each
    /// let through by `gate`. Logs marked `removed` are left out. A refusal asked for `early`
    /// that comes before the first range's answer is used in its place. Fails only when a
    /// range cannot be read at all (one block refused, a rate limit that outlasts the
    /// retries, a node error).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn scan_logs(
        &self,
        filter: &LogFilter,
        start: Start,
        to: u64,
        gate: &Gate,
        progress: &Progress,
        early: Option<Early<'_>>,
        mut sink: impl FnMut(&Logs),
    ) -> Result<(), Error> {
        let (from, mut search) = match start {
            Start::At(from) => (from, None),
            Start::Searched(reached) => (to.saturating_add(1), Some(reached)),
        };
        let blocks_from = |first: u64| to.saturating_add(1).saturating_sub(first);
        progress
            .blocks_total
            .store(blocks_from(from), Ordering::Relaxed);
        let planner = Mutex::new(Planner::new(from, to));
        let take = || planner.lock().unwrap_or_else(|e| e.into_inner()).take();
        let idle = || planner.lock().unwrap_or_else(|e| e.into_inner()).idle();
        let buffers = &Buffers::default();
        // The first range, while the early refusal may still take its place; set once it
        // has (its request is then not sent, or its answer not used).
        let mut first = None;
        let first_dropped = &AtomicBool::new(false);
        let mut running = FuturesUnordered::new();
        let (mut early, whole) = match early {
            Some(e) => (Some(e.refusal), e.whole),
            None => (None, false),
        };
        loop {
            if let Some(reached) = &mut search {
                // What the search has reached since is read once the ranges handed out so
                // far are (so that its steps make one range, not one each), or at its end.
                let (known, settled) = *reached.borrow_and_update();
                let mut plan = planner.lock().unwrap_or_else(|e| e.into_inner());
                if settled || plan.idle() {
                    plan.extend_down(known);
                    progress
                        .blocks_total
                        .store(blocks_from(plan.floor), Ordering::Relaxed);
                }
                if settled {
                    search = None;
                }
            }
            let dropped = usize::from(first_dropped.load(Ordering::Relaxed) && first.is_some());
            while running.len() < MAX_LOG_REQUESTS + dropped {
                let Some(range) = take() else { break };
                let is_first = first.is_none() && early.is_some();
                if is_first {
                    first = Some(range);
                }
                running.push(async move {
                    let _permit = gate.enter().await;
                    if is_first && first_dropped.load(Ordering::Relaxed) {
                        return (range, is_first, None);
                    }
                    let answer = self.logs_in(filter, range, progress, buffers).await;
                    (range, is_first, Some(answer))
                });
            }
            let waiting_for_search = search.is_some() && idle();
            let next = tokio::select! {
                // The early refusal first: come with the pin, it spares the first request.
                biased;
                // Polled to its end even when too late, so that its request stays within
                // the gate while it is out.
                refusal = async { early.as_mut()?.await }, if early.is_some() => {
                    early = None;
                    if let (Some(refusal), Some(range)) = (refusal, first) {
                        let mut plan = planner.lock().unwrap_or_else(|e| e.into_inner());
                        if plan.learned_early(range, refusal, whole) {
                            first_dropped.store(true, Ordering::Relaxed);
                        }
                    }
                    continue;
                }
                moved = async { search.as_mut()?.changed().await.ok() }, if waiting_for_search => {
                    if moved.is_none() {
                        // The search gave up: its error is the read's.
                        search = None;
                    }
                    continue;
                }
                next = running.next(), if !running.is_empty() => next,
                else => break,
            };
            let Some((range, is_first, answer)) = next else {
                break;
            };
            if is_first {
                first = None;
                if first_dropped.load(Ordering::Relaxed) {
                    // Read again as the early refusal said.
                    continue;
                }
            }
            let Some(answer) = answer else { continue };
            let mut plan = planner.lock().unwrap_or_else(|e| e.into_inner());
            match answer? {
                Ok(logs) => {
                    plan.answered(range, logs.len());
                    drop(plan);
                    progress
                        .blocks_done
                        .fetch_add(range.1 - range.0 + 1, Ordering::Relaxed);
                    progress
                        .logs
                        .fetch_add(logs.len() as u64, Ordering::Relaxed);
                    sink(&logs);
                    buffers.put_table(logs);
                }
                Err(refusal) => plan.refused(range, refusal),
            }
        }
        Ok(())
    }

    /// What the provider says of the logs of `filter` from block `from` to `to` (resolved by
    /// the node, as the pin is), asked beside the pin: a refusal names the range or the
    /// limit the scan starts from, a round trip early. An answer is not used (its blocks are
    /// read again, at the pinned block), nor is a failure (the scan meets it again, if it
    /// lasts).
    pub(crate) async fn probe_logs(
        &self,
        filter: &LogFilter,
        from: u64,
        to: BlockRef,
        gate: &Gate,
        progress: &Progress,
    ) -> Option<Refusal> {
        let _permit = gate.enter().await;
        let buffers = Buffers::default();
        let answer = self
            .rpc_ref()
            .get_logs(
                filter.json_to(from, block_tag(to)),
                &progress.log_requests,
                &buffers,
            )
            .await;
        refusal_of(answer).ok()?.err()
    }

    /// One range's logs, or the refusal to shrink it.
    async fn logs_in(
        &self,
        filter: &LogFilter,
        (lo, hi): (u64, u64),
        progress: &Progress,
        buffers: &Buffers,
    ) -> Result<Result<Logs, Refusal>, Error> {
        let answer = self
            .rpc_ref()
            .get_logs(filter.json(lo, hi), &progress.log_requests, buffers)
            .await;
        let refusal = match refusal_of(answer)? {
            Ok(logs) => return Ok(Ok(logs)),
            Err(refusal) => refusal,
        };
        if lo == hi {
            return Err(evm_error(
                ErrorKind::Unavailable,
                format!(
                    "eth_getLogs: the node refuses even one block ({lo}) of this contract's \
                     logs; no range is smaller"
                ),
            ));
        }
        Ok(Err(refusal))
    }
}

/// An `eth_getLogs` answer, a refusal to shrink the range, or the error it is.
fn refusal_of(
    answer: Result<Result<Logs, RpcError>, Error>,
) -> Result<Result<Logs, Refusal>, Error> {
    Ok(Err(match answer {
        Ok(Ok(logs)) => return Ok(Ok(logs)),
        Ok(Err(e)) => match classify(&e) {
            Some(r) => r,
            None => return Err(map_rpc_error("eth_getLogs", &e)),
        },
        // A query the client gave up waiting for, or whose answer is larger than it reads,
        // is one too large, as a provider's timeout is.
        Err(e)
            if e.kind() == ErrorKind::Timeout || e.code() == Some(super::rpc::ANSWER_TOO_LARGE) =>
        {
            Refusal::Shrink {
                suggested: None,
                by_range: false,
                max_span: None,
            }
        }
        Err(e) => match http_refusal(&e) {
            Some(refusal) => refusal,
            None => return Err(e),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: i64, message: &str, data: Option<Value>) -> RpcError {
        RpcError {
            code,
            message: message.to_string(),
            data,
        }
    }

    #[test]
    fn refusals_are_told_from_rate_limits_and_their_ranges_read() {
        let infura = err(
            -32005,
            "query returned more than 10000 results. Try with this block range [0x10, 0x2f].",
            Some(json!({"from": "0x10", "to": "0x2f"})),
        );
        assert_eq!(
            classify(&infura),
            Some(Refusal::Shrink {
                suggested: Some((16, 47)),
                by_range: false,
                max_span: None
            })
        );
        let alchemy = err(
            -32602,
            "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block \
             range and no limit on the response size, or you can request any block range with a \
             cap of 10K logs in the response. Based on your parameters, this block range should \
             work: [0x1, 0x7d0]",
            None,
        );
        assert_eq!(
            classify(&alchemy),
            Some(Refusal::Shrink {
                suggested: Some((1, 2000)),
                by_range: false,
                max_span: None
            })
        );
        let dash = err(
            -32000,
            "too many blocks: retry with the range 100-199",
            None,
        );
        assert!(matches!(
            classify(&dash),
            Some(Refusal::Shrink {
                suggested: Some((100, 199)),
                ..
            })
        ));
        let plain = err(-32600, "block range is too wide", None);
        assert_eq!(
            classify(&plain),
            Some(Refusal::Shrink {
                suggested: None,
                by_range: true,
                max_span: None
            })
        );
        // Infura's range cap and QuickNode's (its 413 body) state the limit.
        let infura_range = err(-32602, "range 104 exceeds limit of 16", None);
        assert!(matches!(
            classify(&infura_range),
            Some(Refusal::Shrink {
                max_span: Some(16),
                by_range: true,
                ..
            })
        ));
        let quicknode = err(-32614, "eth_getLogs is limited to a 10,000 range", None);
        assert!(matches!(
            classify(&quicknode),
            Some(Refusal::Shrink {
                max_span: Some(10_000),
                ..
            })
        ));
        assert!(classify(&err(-32000, "query timeout exceeded", None)).is_some());
        // Rate limits, in -32005 too, are not refusals of the range.
        for rate in [
            "rate limit exceeded",
            "Your app has exceeded its compute units per second capacity",
            "daily request quota exceeded",
            "too many requests",
        ] {
            assert_eq!(classify(&err(-32005, rate, None)), None, "{rate}");
        }
        assert_eq!(classify(&err(-32000, "execution reverted", None)), None);
        // A suggestion that is not a range is no suggestion.
        let backwards = err(-32005, "results: try [0x20, 0x10]", None);
        assert!(matches!(
            classify(&backwards),
            Some(Refusal::Shrink {
                suggested: None,
                ..
            })
        ));
    }

    #[test]
    fn what_a_refusal_names_is_used_at_once() {
        // Infura-like: the whole range is refused, naming the first 50,000 blocks.
        let mut p = Planner::new(0, 999_999);
        let whole = p.take().unwrap();
        assert_eq!(whole, (0, 999_999));
        p.refused(
            whole,
            Refusal::Shrink {
                suggested: Some((0, 49_999)),
                by_range: false,
                max_span: None,
            },
        );
        // The named range is read whole; the rest is ready at once, in ranges an eighth
        // shorter (a range as long elsewhere would be refused about half the time), so that
        // every request in flight has one.
        let mut ranges = vec![p.take().unwrap()];
        assert_eq!(ranges[0], (0, 49_999));
        while let Some(r) = p.take() {
            ranges.push(r);
        }
        assert_eq!(ranges.len(), 1 + 950_000usize.div_ceil(43_750));
        for pair in ranges.windows(2) {
            assert_eq!(pair[1].0, pair[0].1 + 1, "{pair:?}");
            assert!(pair[1].1 - pair[1].0 < 43_750, "{pair:?}");
        }
        assert_eq!(ranges.last().map(|r| r.1), Some(999_999));
        // A range refused for its length (not its logs) is the cap itself: no eighth off.
        let mut p = Planner::new(0, 999);
        let whole = p.take().unwrap();
        p.refused(
            whole,
            Refusal::Shrink {
                suggested: Some((0, 99)),
                by_range: true,
                max_span: None,
            },
        );
        assert_eq!(p.take(), Some((0, 99)));
        assert_eq!(p.take(), Some((100, 199)));
    }

    #[test]
    fn a_refusal_asked_beside_the_pin_stands_for_the_first_range_as_far_as_it_tells() {
        let shrink = |suggested, by_range, max_span| Refusal::Shrink {
            suggested,
            by_range,
            max_span,
        };
        let drain = |p: &mut Planner| std::iter::from_fn(|| p.take()).collect::<Vec<_>>();
        // Asked of the same blocks: read as if the first range had been refused so.
        let mut p = Planner::new(100, 1_099);
        let first = p.take().unwrap();
        assert!(p.learned_early(first, shrink(Some((100, 199)), false, None), true));
        let ranges = drain(&mut p);
        assert_eq!(ranges[0], (100, 199));
        assert_eq!(
            ranges[1],
            (200, 200 + 88 - 1),
            "an eighth shorter than named"
        );
        assert_eq!(ranges.last().map(|r| r.1), Some(1_099));
        // A bare refusal of the same blocks halves them.
        let mut p = Planner::new(0, 999);
        let first = p.take().unwrap();
        assert!(p.learned_early(first, shrink(None, true, None), true));
        assert_eq!(drain(&mut p), [(0, 499), (500, 999)]);
        // Asked to the tip, past the pin: a bare refusal says nothing of the first range...
        let mut p = Planner::new(0, 999);
        let first = p.take().unwrap();
        assert!(!p.learned_early(first, shrink(None, true, None), false));
        assert_eq!(drain(&mut p), [], "the first range is read as it is");
        // ...a range it names within the first one, or a limit it states, does.
        let mut p = Planner::new(0, 999);
        let first = p.take().unwrap();
        assert!(p.learned_early(first, shrink(Some((0, 299)), true, None), false));
        assert_eq!(drain(&mut p)[..2], [(0, 299), (300, 300 + 263 - 1)]);
        let mut p = Planner::new(0, 999);
        let first = p.take().unwrap();
        assert!(p.learned_early(first, shrink(None, true, Some(400)), false));
        assert_eq!(drain(&mut p), [(0, 399), (400, 799), (800, 999)]);
        // A range named that takes in the whole first one: the first one stands, asked of
        // the same blocks or not.
        for whole in [true, false] {
            let mut p = Planner::new(0, 999);
            let first = p.take().unwrap();
            assert!(!p.learned_early(first, shrink(Some((0, 1_500)), false, None), whole));
            assert_eq!(drain(&mut p), []);
        }
    }

    #[test]
    fn a_first_block_searched_for_is_read_down_to_in_few_ranges() {
        // Nothing is known at first (the search has found no code yet).
        let mut p = Planner::new(1_000, 999);
        assert!(p.idle());
        assert_eq!(p.take(), None);
        // The search finds code at 500: the blocks from it to the pin are read.
        p.extend_down(500);
        assert_eq!(p.take(), Some((500, 999)));
        assert!(p.idle());
        // Steps made while that range is out are read together, once it is handed out.
        for reached in [250, 125, 62] {
            p.extend_down(reached);
        }
        p.extend_down(300); // Above the first block so far: nothing more to read.
        assert_eq!(p.take(), Some((62, 499)));
        assert_eq!(p.take(), None);
        // With a span learned, a range handed down is carved, every block once.
        let mut p = Planner::new(1_000, 1_999);
        let first = p.take().unwrap();
        p.refused(
            first,
            Refusal::Shrink {
                suggested: None,
                by_range: true,
                max_span: Some(300),
            },
        );
        p.extend_down(0);
        let mut read = std::iter::from_fn(|| p.take()).collect::<Vec<_>>();
        read.sort_unstable();
        assert!(read.iter().all(|r| r.1 - r.0 < 300), "{read:?}");
        assert_eq!(read.first().map(|r| r.0), Some(0));
        assert_eq!(read.last().map(|r| r.1), Some(1_999));
        for pair in read.windows(2) {
            assert_eq!(pair[1].0, pair[0].1 + 1, "{pair:?}");
        }
    }

    #[test]
    fn the_planner_covers_every_block_once_whatever_is_refused() {
        let mut p = Planner::new(0, 999);
        let mut done = Vec::new();
        let mut steps = 0;
        while let Some(r) = p.take() {
            steps += 1;
            assert!(steps < 10_000);
            if r.1 - r.0 + 1 > 100 {
                // A provider capping ranges at 100 blocks, naming one sometimes.
                let suggested = (r.0 % 3 == 0).then_some((r.0 + 10, r.0 + 59));
                p.refused(
                    r,
                    Refusal::Shrink {
                        suggested,
                        by_range: true,
                        max_span: None,
                    },
                );
            } else {
                p.answered(r, 10);
                done.push(r);
            }
        }
        done.sort_unstable();
        let mut next = 0;
        for (lo, hi) in done {
            assert_eq!(lo, next, "ranges meet without gap or overlap");
            next = hi + 1;
        }
        assert_eq!(next, 1000);
        // It learned the cap within a factor of two, and stays under what was refused.
        assert!(
            p.ceiling < 200 && p.span <= p.ceiling,
            "{} {}",
            p.span,
            p.ceiling
        );
    }
}
