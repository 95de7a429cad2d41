//! Fault switches for the devnet servers.
//!
//! A [`Faults`] value holds the switches that make a devnet server misbehave on purpose:
//! added latency, throttling (429), server errors (5xx), connections cut in the middle of an
//! answer, and a lagging replica whose tip appears lower than the real one. Every switch can
//! be flipped at any time while the server runs; the server asks [`Faults::decide`] once per
//! request and renders the decision in its own protocol: the Aptos node answers with
//! `AptosError` bodies (and a plain-text 429, as the Aptos Labs gateway does), the AMB
//! endpoint with the AWS exception shapes of `BatchGetTokenBalance` (`ThrottlingException`,
//! `InternalServerException`, ... with `x-amzn-errortype`); see each server's module
//! documentation for its table. Each server has its own `Faults`.
//!
//! Two kinds of trigger exist for each fault: "the next `n` requests" (counted down, exact)
//! and "a ratio `p` of requests" (drawn from a small seeded generator, so a test that sends
//! the same requests in the same order sees the same faults every run). When several faults
//! apply to the same request, throttling wins over failing, which wins over dropping: the
//! gateway answers before the node does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Seed used by [`Faults::default`].
pub const DEFAULT_FAULT_SEED: u64 = 0x7b41_6c5e_ed00_0001;

/// What a server must do with one request instead of answering it normally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer 429 Too Many Requests with a `Retry-After` header of this many seconds.
    Throttle {
        /// Value of the `Retry-After` header, in seconds.
        retry_after_secs: u64,
    },
    /// Answer with this error status (always in 400..=599) and the server's error body.
    Fail {
        /// The HTTP status to answer with.
        status: u16,
    },
    /// Start the answer, then cut the connection before the body is complete.
    Drop,
}

/// The faults that apply to one request, as decided by [`Faults::decide`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultDecision {
    /// Wait this long before answering.
    pub delay: Duration,
    /// Answer abnormally, or `None` to answer normally.
    pub action: Option<FaultAction>,
    /// Behave as a replica this far behind the real tip (in the server's own unit: ledger
    /// versions for the Aptos node, seconds for the AMB endpoint). Zero means no lag.
    pub lag: u64,
}

/// How many times each fault has been applied since the last [`Faults::clear_counts`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Requests answered after an added delay.
    pub delayed: u64,
    /// Requests answered with 429.
    pub throttled: u64,
    /// Requests answered with an injected error status.
    pub failed: u64,
    /// Requests whose connection was cut mid-answer.
    pub dropped: u64,
    /// Requests answered as a lagging replica.
    pub lagged: u64,
}

/// One trigger: a countdown of "next n" requests plus a ratio of all requests.
#[derive(Clone, Copy, Debug, Default)]
struct Trigger {
    next: u64,
    ratio: f64,
}

impl Trigger {
    fn fires(&mut self, rng: &mut SplitMix64) -> bool {
        if self.next > 0 {
            self.next -= 1;
            return true;
        }
        // Draw only when a ratio is set, so the sequence of draws (and so the faults seen
        // by a test) depends only on the requests made while a ratio is active.
        self.ratio > 0.0 && rng.next_f64() < self.ratio
    }
}

#[derive(Debug)]
struct State {
    latency: Duration,
    throttle: Trigger,
    retry_after_secs: u64,
    fail: Trigger,
    fail_next_status: u16,
    fail_ratio_status: u16,
    drop: Trigger,
    lag: u64,
    /// `None`: the lag stays until cleared; `Some(k)`: for the next `k` requests.
    lag_remaining: Option<u64>,
    rng: SplitMix64,
}

impl State {
    fn new(seed: u64) -> Self {
        State {
            latency: Duration::ZERO,
            throttle: Trigger::default(),
            retry_after_secs: 1,
            fail: Trigger::default(),
            fail_next_status: 500,
            fail_ratio_status: 500,
            drop: Trigger::default(),
            lag: 0,
            lag_remaining: None,
            rng: SplitMix64::new(seed),
        }
    }
}

/// Fault switches shared by a devnet server and the code that drives it.
///
/// All methods take `&self` and may be called from any thread while the server runs; the
/// server reads the switches once per request.
///
/// ```
/// use std::time::Duration;
/// use tokbal_devnet::{FaultAction, Faults};
///
/// let faults = Faults::new(7);
/// faults.throttle_next(1);
/// faults.set_latency(Duration::from_millis(5));
/// let first = faults.decide();
/// assert_eq!(first.action, Some(FaultAction::Throttle { retry_after_secs: 1 }));
/// assert_eq!(first.delay, Duration::from_millis(5));
/// assert_eq!(faults.decide().action, None);
/// ```
#[derive(Debug)]
pub struct Faults {
    state: Mutex<State>,
    delayed: AtomicU64,
    throttled: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    lagged: AtomicU64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults::new(DEFAULT_FAULT_SEED)
    }
}

/// Keeps a ratio inside 0.0..=1.0; NaN counts as 0.
fn clamp_ratio(p: f64) -> f64 {
    if p.is_nan() {
        0.0
    } else {
        p.clamp(0.0, 1.0)
    }
}

/// Keeps an injected status inside 400..=599; anything else becomes 500.
fn error_status(status: u16) -> u16 {
    if (400..=599).contains(&status) {
        status
    } else {
        500
    }
}

impl Faults {
    /// No faults switched on; ratios draw from a generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Faults {
            state: Mutex::new(State::new(seed)),
            delayed: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            lagged: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain data behind: keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Switches every fault off (latency, throttling, failures, drops and lag). The seed's
    /// generator keeps its position; use [`Faults::reseed`] to restart it.
    pub fn clear(&self) {
        let mut s = self.lock();
        let rng = s.rng;
        *s = State::new(0);
        s.rng = rng;
    }

    /// Restarts the generator behind the ratios from `seed`.
    pub fn reseed(&self, seed: u64) {
        self.lock().rng = SplitMix64::new(seed);
    }

    /// Adds `latency` to every request's round trip (zero to switch off): half before the
    /// server handles the request, half before its answer leaves, as on a network with the
    /// same delay each way.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// The latency currently added to every answer.
    pub fn latency(&self) -> Duration {
        self.lock().latency
    }

    /// Answers the next `n` requests with 429 (replacing any earlier countdown).
    pub fn throttle_next(&self, n: u64) {
        self.lock().throttle.next = n;
    }

    /// Answers a ratio `p` (0.0..=1.0) of requests with 429, drawn from the seeded generator.
    pub fn throttle_ratio(&self, p: f64) {
        self.lock().throttle.ratio = clamp_ratio(p);
    }

    /// Sets the `Retry-After` value sent with 429 answers, in seconds (default 1). The AMB
    /// endpoint also sends it with injected 5xx `InternalServerException`s, as AWS does.
    pub fn set_retry_after_secs(&self, secs: u64) {
        self.lock().retry_after_secs = secs;
    }

    /// The `Retry-After` value currently set, in seconds.
    pub fn retry_after_secs(&self) -> u64 {
        self.lock().retry_after_secs
    }

    /// Answers the next `n` requests with `status` (400..=599; anything else means 500)
    /// and the server's error body.
    pub fn fail_next(&self, n: u64, status: u16) {
        let mut s = self.lock();
        s.fail.next = n;
        s.fail_next_status = error_status(status);
    }

    /// Answers a ratio `p` (0.0..=1.0) of requests with `status` (400..=599; anything else
    /// means 500), drawn from the seeded generator.
    pub fn fail_ratio(&self, p: f64, status: u16) {
        let mut s = self.lock();
        s.fail.ratio = clamp_ratio(p);
        s.fail_ratio_status = error_status(status);
    }

    /// Cuts the connection in the middle of the next `n` answers.
    pub fn drop_next(&self, n: u64) {
        self.lock().drop.next = n;
    }

    /// Cuts the connection in the middle of a ratio `p` (0.0..=1.0) of answers.
    pub fn drop_ratio(&self, p: f64) {
        self.lock().drop.ratio = clamp_ratio(p);
    }

    /// Makes the server behave as a replica `behind` units (ledger versions for the Aptos
    /// node; seconds for the AMB endpoint, whose reads without an instant then answer at
    /// "now" minus `behind`) behind the real tip, until [`Faults::clear_lag`] (or `lag(0)`).
    pub fn lag(&self, behind: u64) {
        let mut s = self.lock();
        s.lag = behind;
        s.lag_remaining = None;
    }

    /// Like [`Faults::lag`], but only for the next `n` requests.
    pub fn lag_next(&self, n: u64, behind: u64) {
        let mut s = self.lock();
        if n == 0 || behind == 0 {
            s.lag = 0;
            s.lag_remaining = None;
        } else {
            s.lag = behind;
            s.lag_remaining = Some(n);
        }
    }

    /// Stops the lag set by [`Faults::lag`] or [`Faults::lag_next`].
    pub fn clear_lag(&self) {
        let mut s = self.lock();
        s.lag = 0;
        s.lag_remaining = None;
    }

    /// Decides the faults for one request, counting down the "next n" switches. Servers
    /// call this once per request; tests may call it to check a configuration.
    pub fn decide(&self) -> FaultDecision {
        let decision = {
            let mut guard = self.lock();
            let s = &mut *guard;
            let delay = s.latency;
            let action = if s.throttle.fires(&mut s.rng) {
                Some(FaultAction::Throttle {
                    retry_after_secs: s.retry_after_secs,
                })
            } else if s.fail.next > 0 {
                s.fail.next -= 1;
                Some(FaultAction::Fail {
                    status: s.fail_next_status,
                })
            } else if s.fail.ratio > 0.0 && s.rng.next_f64() < s.fail.ratio {
                Some(FaultAction::Fail {
                    status: s.fail_ratio_status,
                })
            } else if s.drop.fires(&mut s.rng) {
                Some(FaultAction::Drop)
            } else {
                None
            };
            let lag = s.lag;
            if lag > 0 {
                if let Some(left) = s.lag_remaining {
                    let left = left.saturating_sub(1);
                    if left == 0 {
                        s.lag = 0;
                        s.lag_remaining = None;
                    } else {
                        s.lag_remaining = Some(left);
                    }
                }
            }
            FaultDecision { delay, action, lag }
        };
        if !decision.delay.is_zero() {
            self.delayed.fetch_add(1, Ordering::Relaxed);
        }
        if decision.lag > 0 {
            self.lagged.fetch_add(1, Ordering::Relaxed);
        }
        match decision.action {
            Some(FaultAction::Throttle { .. }) => self.throttled.fetch_add(1, Ordering::Relaxed),
            Some(FaultAction::Fail { .. }) => self.failed.fetch_add(1, Ordering::Relaxed),
            Some(FaultAction::Drop) => self.dropped.fetch_add(1, Ordering::Relaxed),
            None => 0,
        };
        decision
    }

    /// How many times each fault has been applied.
    pub fn counts(&self) -> FaultCounts {
        FaultCounts {
            delayed: self.delayed.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            lagged: self.lagged.load(Ordering::Relaxed),
        }
    }

    /// Sets every count in [`Faults::counts`] back to zero.
    pub fn clear_counts(&self) {
        for c in [
            &self.delayed,
            &self.throttled,
            &self.failed,
            &self.dropped,
            &self.lagged,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// SplitMix64: a tiny, well-mixed, seeded generator (no external RNG crate needed).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// Uniform in [0, 1).
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The SplitMix64 output function: a stateless 64-bit mixer, used for per-height hashing.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A body that sends its first half, then fails: the server aborts the connection and the
/// client sees an incomplete answer.
pub(crate) fn cut_body(body: Vec<u8>) -> axum::body::Body {
    use futures::StreamExt;
    let bytes = bytes::Bytes::from(body);
    let first = bytes.slice(..bytes.len() / 2);
    let head = futures::stream::iter([Ok::<bytes::Bytes, std::io::Error>(first)]);
    let tail = futures::stream::once(async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "devnet: connection cut mid-answer (injected fault)",
        ))
    });
    axum::body::Body::from_stream(head.chain(tail))
}

/// Spends a request's added latency as a network would: half on the request's way in, then
/// `answer` runs, then half on the answer's way out. (A node on a machine of its own does its
/// work between the two halves; answering only after the whole delay would pile the devnet's
/// work onto the moment the answers leave, in step with the client reading them, on the
/// cores the two share.) The answer leaves `delay` plus the time `answer` took after the
/// request came in: a late wake-up at the midpoint (this machine being busy) is not added
/// to the round trip twice. `None` if `cancel` fires meanwhile: the devnet is shutting down.
pub(crate) async fn delayed<T>(
    delay: Duration,
    cancel: &tokio_util::sync::CancellationToken,
    answer: impl FnOnce() -> T,
) -> Option<T> {
    let arrived = std::time::Instant::now();
    let wait = |deadline: std::time::Instant| async move {
        if deadline <= std::time::Instant::now() {
            return true;
        }
        tokio::select! {
            _ = precise_sleep_until(deadline) => true,
            _ = cancel.cancelled() => false,
        }
    };
    if !wait(arrived + delay / 2).await {
        return None;
    }
    let started = std::time::Instant::now();
    let out = answer();
    wait(arrived + delay + started.elapsed())
        .await
        .then_some(out)
}

/// Waits until `deadline`, to within a fraction of a millisecond. tokio's timer works in
/// whole milliseconds and rounds up, so `tokio::time::sleep(20 ms)` answers after 20 to
/// 22 ms (about 21.5 on average): an added latency meant as a floor would be ~8 % longer than
/// asked. The waits are kept by one thread that sleeps on a condition variable until the
/// earliest.
pub(crate) async fn precise_sleep_until(deadline: std::time::Instant) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    precise_timer().add(deadline, tx);
    // A dropped sender (the timer thread gone) ends the wait early rather than never.
    let _ = rx.await;
}

type Waiters = std::collections::BinaryHeap<(
    std::cmp::Reverse<std::time::Instant>,
    std::cmp::Reverse<u64>,
)>;

struct PreciseTimer {
    state: Mutex<(
        Waiters,
        std::collections::HashMap<u64, tokio::sync::oneshot::Sender<()>>,
        u64,
    )>,
    wake: std::sync::Condvar,
}

impl PreciseTimer {
    fn add(&self, deadline: std::time::Instant, tx: tokio::sync::oneshot::Sender<()>) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let id = s.2;
        s.2 += 1;
        s.0.push((std::cmp::Reverse(deadline), std::cmp::Reverse(id)));
        s.1.insert(id, tx);
        drop(s);
        self.wake.notify_one();
    }

    fn run(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let now = std::time::Instant::now();
            match s.0.peek().map(|(d, id)| (d.0, id.0)) {
                None => s = self.wake.wait(s).unwrap_or_else(|e| e.into_inner()),
                Some((deadline, id)) if deadline <= now => {
                    s.0.pop();
                    if let Some(tx) = s.1.remove(&id) {
                        let _ = tx.send(());
                    }
                }
                Some((deadline, _)) => {
                    s = self
                        .wake
                        .wait_timeout(s, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }
}

fn precise_timer() -> &'static PreciseTimer {
    static TIMER: std::sync::OnceLock<&'static PreciseTimer> = std::sync::OnceLock::new();
    TIMER.get_or_init(|| {
        let timer: &'static PreciseTimer = Box::leak(Box::new(PreciseTimer {
            state: Mutex::new(Default::default()),
            wake: std::sync::Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("devnet-latency".into())
            .spawn(move || timer.run())
            .expect("a thread for the devnet's latency");
        timer
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_n_counts_down_in_priority_order() {
        let f = Faults::new(1);
        f.throttle_next(1);
        f.fail_next(1, 503);
        f.drop_next(1);
        assert_eq!(
            f.decide().action,
            Some(FaultAction::Throttle {
                retry_after_secs: 1
            })
        );
        assert_eq!(f.decide().action, Some(FaultAction::Fail { status: 503 }));
        assert_eq!(f.decide().action, Some(FaultAction::Drop));
        assert_eq!(f.decide().action, None);
        let c = f.counts();
        assert_eq!((c.throttled, c.failed, c.dropped), (1, 1, 1));
    }

    #[test]
    fn ratios_are_reproducible() {
        let run = |seed| {
            let f = Faults::new(seed);
            f.fail_ratio(0.3, 500);
            (0..200)
                .map(|_| f.decide().action.is_some())
                .collect::<Vec<_>>()
        };
        let a = run(42);
        assert_eq!(a, run(42));
        let hits = a.iter().filter(|x| **x).count();
        assert!((30..=90).contains(&hits), "{hits} hits for p=0.3 of 200");
    }

    #[test]
    fn lag_next_expires() {
        let f = Faults::new(1);
        f.lag_next(2, 10);
        assert_eq!(f.decide().lag, 10);
        assert_eq!(f.decide().lag, 10);
        assert_eq!(f.decide().lag, 0);
        f.lag(5);
        for _ in 0..5 {
            assert_eq!(f.decide().lag, 5);
        }
        f.clear_lag();
        assert_eq!(f.decide().lag, 0);
    }

    #[test]
    fn bad_status_and_ratio_are_tamed() {
        let f = Faults::new(1);
        f.fail_next(1, 200);
        assert_eq!(f.decide().action, Some(FaultAction::Fail { status: 500 }));
        f.drop_ratio(f64::NAN);
        assert_eq!(f.decide().action, None);
        f.throttle_ratio(7.0);
        assert!(matches!(
            f.decide().action,
            Some(FaultAction::Throttle { .. })
        ));
    }
}
