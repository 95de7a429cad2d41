//! tokbal against the floor and against the obvious alternatives.
//!
//! `cargo bench --bench batch [SCENARIO...]` starts `tokbal devnet` in a process of its own
//! (so that only the client's CPU time and memory are measured here), runs each scenario once
//! against it, prints one JSON object per scenario on its own line, then a summary table.
//! See BENCHMARKS.md for the figures and what bounds each one.

#[path = "support/measure.rs"]
mod measure;
#[path = "support/server.rs"]
mod server;

use std::future::Future;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};

use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use tokbal::aptos::generated::types::{Address, AssetType};
use tokbal::retry::RetryPolicy;
use tokbal::{At, Client, Network, Query};
use tokio::runtime::Runtime;

use measure::{context_switches, cpu_time, load1, proc_status_kib};
use server::{
    amb_query, aptos_query, bitcoin_query, evm_erc20_query, evm_holder, evm_native_query, Counts,
    DevnetProcess, SEED_AMOUNT_BASE, SEED_BASE, SEED_BITCOIN_SEED, SEED_BITCOIN_TXS,
    SEED_EVM_ERC20,
};

/// Requests in flight, for tokbal and for the plain loops alike.
const CONCURRENCY: usize = 64;
/// Latency the devnet adds to every answer, where a scenario has latency.
const LATENCY_MS: u64 = 20;
/// The APT coin's type tag.
const APT: &str = "0x1::aptos_coin::AptosCoin";

const FANOUT_N: u64 = 10_000;
const SEQUENTIAL_N: u64 = 200;
const OVERHEAD_N: u64 = 20_000;
/// Each arm of `overhead` is run this many times, alternating, and the median ratio taken.
const OVERHEAD_REPS: usize = 7;
const AMB_N: u64 = 10_000;
/// One item in five repeats an earlier one: 20 % duplicates.
const AMB_UNIQUE: u64 = AMB_N / 5 * 4;
const TIME_PIN_N: usize = 100;
const TIME_PIN_BLOCKS: u64 = 100_000_000;
const MEMORY_N: u64 = 100_000;
/// `evm-multicall`: ERC-20 and native reads, in one batch.
const EVM_ERC20_N: u64 = 10_000;
const EVM_NATIVE_N: u64 = 1_000;
/// `evm-multicall` runs tokbal's arm this many times (a fresh client each) and takes the
/// median: one run is ~0.07 s, where this machine's noise is a few ms and the first run is
/// a cold one (fresh heap pages); medians of 5 moved by 2-3 ms from run to run, of 11 by
/// about half that.
const EVM_MULTICALL_REPS: usize = 11;
/// `evm-metadata`: ERC-20 contracts its 10,000 ERC-20 reads spread over (`tokbal devnet
/// --seed-evm-tokens`), 100 holders each, and the reps each arm's median is taken over.
const EVM_METADATA_TOKENS: u64 = 100;
const EVM_METADATA_REPS: usize = 5;
/// `evm-holders`: a token's transfer history (logs over blocks among holders), and the caps
/// its devnet puts on `eth_getLogs` (blocks and logs a request).
const HOLDERS_LOGS: u64 = 200_000;
const HOLDERS_BLOCKS: u64 = 1_000_000;
const HOLDERS_HOLDERS: u64 = 50_000;
const HOLDERS_MAX_RANGE: u64 = 100_000;
const HOLDERS_MAX_RESULTS: u64 = 10_000;
/// `evm-holders-1m`: candidates (and logs), at latency 0.
const HOLDERS_1M: u64 = 1_000_000;
const HOLDERS_CHILD_ENV: &str = "TOKBAL_BENCH_HOLDERS_CHILD";
/// Seeded ERC-20 balances are `EVM_ERC20_AMOUNT_BASE + i` (`tokbal devnet --seed-evm`).
const EVM_ERC20_AMOUNT_BASE: u64 = 1_000_000_000_000_000_000;
/// `evm-time-pin`: the main devnet's EVM chain, 12 s blocks (Ethereum's slot).
const EVM_TIME_PIN_BLOCKS: u64 = 20_000_000;
/// `evm-time-pin`'s second chain: sub-second blocks with jitter, in a devnet of its own.
const EVM_FAST_BLOCKS: u64 = 300_000_000;
const EVM_FAST_BLOCK_MS: u64 = 250;
/// `bitcoin-pinned`: seeded addresses read (`tokbal devnet --seed-bitcoin`).
const BTC_N: u64 = 1_000;
/// `bitcoin-pinned` reads at the tip minus this many blocks. The seeded histories (1 to 200
/// transactions per address over the devnet's 1,000 blocks) then leave ~4 % of the
/// addresses with nothing above the height, and give ~1 % more than a page (25) above it.
const BTC_DEPTH: u64 = 100;

/// Names the one arm of `overhead` to run (`tokbal` or `plain`), for a profiler.
const ARM_ENV: &str = "TOKBAL_BENCH_ARM";
/// Set in the child process that runs the memory scenario: the Aptos URL.
const MEMORY_CHILD_ENV: &str = "TOKBAL_BENCH_MEMORY_CHILD";

/// One scenario's figures, printed as one JSON object with its keys in this order.
struct Record {
    fields: Vec<(&'static str, Value)>,
}

impl Record {
    fn new(scenario: &str, n: u64, concurrency: usize, latency_ms: u64) -> Self {
        let mut r = Record { fields: Vec::new() };
        r.set("scenario", json!(scenario));
        r.set("n", json!(n));
        r.set("concurrency", json!(concurrency));
        r.set("latency_ms", json!(latency_ms));
        r
    }

    fn set(&mut self, key: &'static str, value: Value) -> &mut Self {
        match self.fields.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => self.fields.push((key, value)),
        }
        self
    }

    fn secs(&mut self, key: &'static str, d: Duration) -> &mut Self {
        self.set(key, json!(round(d.as_secs_f64(), 4)))
    }

    /// A list of durations in seconds, rounded to `digits`.
    fn secs_each(
        &mut self,
        key: &'static str,
        durations: impl IntoIterator<Item = Duration>,
        digits: i32,
    ) -> &mut Self {
        let list: Vec<f64> = durations
            .into_iter()
            .map(|d| round(d.as_secs_f64(), digits))
            .collect();
        self.set(key, json!(list))
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.fields.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    fn line(&self) -> String {
        let body: Vec<String> = self
            .fields
            .iter()
            .map(|(k, v)| format!("{}: {v}", json!(k)))
            .collect();
        format!("{{{}}}", body.join(", "))
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// `ceil(n / concurrency)` round trips of `latency`: the least any client can take.
fn floor(n: u64, concurrency: usize, latency_ms: u64) -> Duration {
    Duration::from_millis(n.div_ceil(concurrency as u64) * latency_ms)
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Runs `fut` to completion and returns its output, the wall time and this process's CPU time.
/// Leaves the context switches it took in [`LAST_SWITCHES`].
fn measured<T>(rt: &Runtime, fut: impl Future<Output = T>) -> (T, Duration, Duration) {
    let switches = context_switches();
    let cpu = cpu_time();
    let start = Instant::now();
    let out = rt.block_on(fut);
    let (wall, cpu) = (start.elapsed(), cpu_time().saturating_sub(cpu));
    LAST_SWITCHES.store(context_switches() - switches, Ordering::Relaxed);
    (out, wall, cpu)
}

/// Context switches of the client process during the last [`measured`] call.
static LAST_SWITCHES: AtomicU64 = AtomicU64::new(0);

fn client(dev_aptos: &str, dev_amb: &str) -> Client {
    Client::builder()
        .aptos_url(dev_aptos)
        .aptos_api_key(None)
        .amb_url(dev_amb)
        .amb_credentials(Some(tokbal::amb::AmbCredentials::new(
            tokbal_devnet::TEST_ACCESS_KEY_ID,
            tokbal_devnet::TEST_SECRET_ACCESS_KEY,
            None,
        )))
        .concurrency(CONCURRENCY)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("client")
}

fn parse_all(texts: impl Iterator<Item = String>) -> Vec<Query> {
    texts.map(|t| t.parse().expect("query parses")).collect()
}

/// Counts results that are errors or not the seeded amount of owner `expected(position)`.
fn check(
    results: &[Result<tokbal::Balance, tokbal::Error>],
    expected: impl Fn(usize) -> u64,
) -> (u64, u64) {
    let (mut errors, mut wrong) = (0, 0);
    for (i, r) in results.iter().enumerate() {
        match r {
            Ok(b) if b.amount.to_u64() == Some(expected(i)) => {}
            Ok(_) => wrong += 1,
            Err(e) => {
                if errors == 0 {
                    eprintln!("first error: {e}");
                }
                errors += 1;
            }
        }
    }
    (errors, wrong)
}

struct Bench {
    rt: Runtime,
    dev: DevnetProcess,
    /// The CPU the devnets run on, under `TOKBAL_BENCH_PIN_CPUS=1`.
    devnet_cpu: Option<usize>,
}

impl Bench {
    fn client(&self) -> Client {
        client(&self.dev.aptos_url, &self.dev.amb_url)
    }

    /// Sets the latency and returns the counters to measure from.
    fn prepare(&mut self, latency_ms: u64) -> Counts {
        self.dev.set_latency(latency_ms);
        self.dev.counts()
    }

    fn aptos_fanout(&mut self) -> Record {
        let n = FANOUT_N;
        let before = self.prepare(LATENCY_MS);
        let client = self.client();
        let queries = parse_all((0..n).map(aptos_query));
        let server_cpu = self.dev.cpu_time();
        let (out, wall, cpu) = measured(&self.rt, client.balances(&queries, At::Latest));
        let server_cpu = self.dev.cpu_time().saturating_sub(server_cpu);
        let counts = self.dev.counts().since(before);
        let (errors, wrong) = check(&out.results, |i| SEED_AMOUNT_BASE + i as u64);
        let pinned = out.snapshot.aptos_version(Network::AptosMainnet);
        let one_version = out
            .results
            .iter()
            .all(|r| matches!(r, Ok(b) if b.ledger_version == pinned));
        // The same reads through a plain reqwest loop, for what bounds the ratio here.
        let http = plain_client();
        let owners = (0..n)
            .map(|i| format!("0x{:064x}", SEED_BASE + i))
            .collect::<Vec<_>>();
        let (plain, plain_wall, plain_cpu) =
            measured(&self.rt, plain_loop(&http, &self.dev.aptos_url, &owners));
        let plain_bad = plain
            .iter()
            .enumerate()
            .filter(|(i, a)| **a != Some(SEED_AMOUNT_BASE + *i as u64))
            .count() as u64;
        let fl = floor(n, CONCURRENCY, LATENCY_MS);
        let ratio = wall.as_secs_f64() / fl.as_secs_f64();
        let mut r = Record::new("aptos-fanout", n, CONCURRENCY, LATENCY_MS);
        r.secs("wall_s", wall)
            .secs("floor_s", fl)
            .set("ratio_to_floor", json!(round(ratio, 3)))
            .set("requests", json!(counts.aptos_total))
            .set("ledger_info_requests", json!(counts.aptos_ledger_info))
            .set("one_version", json!(one_version))
            .secs("cpu_s", cpu)
            .set("cpu_us_per_query", json!(per_query_us(cpu, n)))
            .set(
                "server_cpu_us_per_query",
                json!(per_query_us(server_cpu, n)),
            )
            .secs("plain_wall_s", plain_wall)
            .set(
                "plain_ratio_to_floor",
                json!(round(plain_wall.as_secs_f64() / fl.as_secs_f64(), 3)),
            )
            .set("plain_cpu_us_per_query", json!(per_query_us(plain_cpu, n)))
            .set("errors", json!(errors + wrong + plain_bad))
            .set("target", json!("ratio_to_floor <= 1.10, requests <= n + 1"))
            .set(
                "pass",
                json!(ratio <= 1.10 && counts.aptos_total <= n + 1 && errors + wrong == 0),
            );
        r
    }

    fn vs_sequential(&mut self) -> Record {
        let n = SEQUENTIAL_N;
        let before = self.prepare(LATENCY_MS);
        // What a user of the generated (upstream-style) client writes: one request at a time.
        let raw = tokbal::aptos::generated::Client::new(&self.dev.aptos_url);
        let asset = AssetType(APT.to_string());
        let owners: Vec<Address> = (0..n)
            .map(|i| Address(format!("0x{:064x}", SEED_BASE + i)))
            .collect();
        let (seq, seq_wall, seq_cpu) = measured(&self.rt, async {
            let mut amounts = Vec::with_capacity(owners.len());
            for owner in &owners {
                let r = raw.get_account_balance(owner, &asset, None).await;
                amounts.push(r.map(|v| v.into_inner().0).ok());
            }
            amounts
        });
        let seq_bad = seq
            .iter()
            .enumerate()
            .filter(|(i, a)| **a != Some(SEED_AMOUNT_BASE + *i as u64))
            .count() as u64;
        let mid = self.dev.counts();
        let client = self.client();
        let queries = parse_all((0..n).map(aptos_query));
        let (out, wall, cpu) = measured(&self.rt, client.balances(&queries, At::Latest));
        let counts = self.dev.counts().since(mid);
        let seq_counts = mid.since(before);
        let (errors, wrong) = check(&out.results, |i| SEED_AMOUNT_BASE + i as u64);
        let fl = floor(n, CONCURRENCY, LATENCY_MS);
        let speedup = seq_wall.as_secs_f64() / wall.as_secs_f64();
        let mut r = Record::new("vs-sequential", n, CONCURRENCY, LATENCY_MS);
        r.secs("wall_s", wall)
            .secs("floor_s", fl)
            .set(
                "ratio_to_floor",
                json!(round(wall.as_secs_f64() / fl.as_secs_f64(), 3)),
            )
            .secs("sequential_wall_s", seq_wall)
            .secs("sequential_floor_s", floor(n, 1, LATENCY_MS))
            .set("speedup", json!(round(speedup, 1)))
            .set("requests", json!(counts.aptos_total))
            .set("sequential_requests", json!(seq_counts.aptos_total))
            .secs("cpu_s", cpu)
            .secs("sequential_cpu_s", seq_cpu)
            .set("errors", json!(errors + wrong + seq_bad))
            .set("target", json!("(none: report)"))
            .set("pass", json!(errors + wrong + seq_bad == 0));
        r
    }

    fn overhead(&mut self) -> Record {
        // For a profiler: TOKBAL_BENCH_OVERHEAD_N=2000 makes a shorter run.
        let n = std::env::var("TOKBAL_BENCH_OVERHEAD_N")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(OVERHEAD_N)
            .min(OVERHEAD_N);
        self.prepare(0);
        let queries = parse_all((0..n).map(aptos_query));
        let owners: Vec<String> = (0..n)
            .map(|i| format!("0x{:064x}", SEED_BASE + i))
            .collect();
        let (mut tok, mut plain) = (Vec::new(), Vec::new());
        let (mut tok_switches, mut plain_switches) = (Vec::new(), Vec::new());
        let (mut tok_server, mut plain_server) = (Vec::new(), Vec::new());
        let (mut errors, mut requests, mut plain_requests) = (0, 0, 0);
        // For a profiler: TOKBAL_BENCH_ARM=tokbal or plain runs that arm only.
        let only = std::env::var(ARM_ENV).ok();
        let reps = std::env::var("TOKBAL_BENCH_OVERHEAD_REPS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(OVERHEAD_REPS);
        for rep in 0..reps {
            // Alternate which arm goes first, so that neither always gets the warmer machine.
            for arm in [rep % 2, 1 - rep % 2] {
                match (only.as_deref(), arm) {
                    (Some("tokbal"), 1) | (Some("plain"), 0) => continue,
                    _ => {}
                }
                let from = self.dev.counts();
                let server_from = self.dev.cpu_time();
                if arm == 0 {
                    let client = self.client();
                    let (out, wall, cpu) =
                        measured(&self.rt, client.balances(&queries, At::Latest));
                    let (e, w) = check(&out.results, |i| SEED_AMOUNT_BASE + i as u64);
                    errors += e + w;
                    tok.push((wall, cpu));
                    tok_switches.push(LAST_SWITCHES.load(Ordering::Relaxed));
                    requests = self.dev.counts().since(from).aptos_total;
                    tok_server.push(
                        self.dev
                            .cpu_time()
                            .saturating_sub(server_from)
                            .as_secs_f64(),
                    );
                } else {
                    // Built outside the measure, as tokbal's client is.
                    let http = plain_client();
                    let url = self.dev.aptos_url.clone();
                    let (out, wall, cpu) = measured(&self.rt, plain_loop(&http, &url, &owners));
                    errors += out
                        .iter()
                        .enumerate()
                        .filter(|(i, a)| **a != Some(SEED_AMOUNT_BASE + *i as u64))
                        .count() as u64;
                    plain.push((wall, cpu));
                    plain_switches.push(LAST_SWITCHES.load(Ordering::Relaxed));
                    plain_requests = self.dev.counts().since(from).aptos_total;
                    plain_server.push(
                        self.dev
                            .cpu_time()
                            .saturating_sub(server_from)
                            .as_secs_f64(),
                    );
                }
            }
        }
        // Each rep pairs the two arms run back to back, so a ratio is taken under one load;
        // the figure is the median of the per-rep ratios (and of the per-rep times).
        let median = |mut xs: Vec<f64>| {
            xs.sort_by(f64::total_cmp);
            xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
        };
        let paired = |f: fn(&(Duration, Duration)) -> Duration| {
            median(
                tok.iter()
                    .zip(&plain)
                    .map(|(t, p)| f(t).as_secs_f64() / f(p).as_secs_f64())
                    .collect(),
            )
        };
        let cpu_ratio = paired(|x| x.1);
        let wall_ratio = paired(|x| x.0);
        let secs = |v: &[(Duration, Duration)], f: fn(&(Duration, Duration)) -> Duration| {
            Duration::from_secs_f64(median(v.iter().map(|x| f(x).as_secs_f64()).collect()).max(0.0))
        };
        let (t_wall, t_cpu) = (secs(&tok, |x| x.0), secs(&tok, |x| x.1));
        let (p_wall, p_cpu) = (secs(&plain, |x| x.0), secs(&plain, |x| x.1));
        let mut r = Record::new("overhead", n, CONCURRENCY, 0);
        r.secs("wall_s", t_wall)
            // With no latency the floor is what a plain reqwest loop takes.
            .secs("floor_s", p_wall)
            .set("cpu_ratio", json!(round(cpu_ratio, 3)))
            .set("wall_ratio", json!(round(wall_ratio, 3)))
            .set("cpu_us_per_query", json!(per_query_us(t_cpu, n)))
            .set("plain_cpu_us_per_query", json!(per_query_us(p_cpu, n)))
            .set(
                "server_cpu_us_per_query",
                json!(round(median(tok_server) * 1e6 / n as f64, 1)),
            )
            .set(
                "plain_server_cpu_us_per_query",
                json!(round(median(plain_server) * 1e6 / n as f64, 1)),
            )
            .secs("plain_wall_s", p_wall)
            .set("reps", json!(reps))
            .secs_each("cpu_s_each", tok.iter().map(|x| x.1), 3)
            .secs_each("plain_cpu_s_each", plain.iter().map(|x| x.1), 3)
            .set("context_switches_each", json!(tok_switches))
            .set("plain_context_switches_each", json!(plain_switches))
            .set("requests", json!(requests))
            .set("plain_requests", json!(plain_requests))
            .set("errors", json!(errors))
            .set("target", json!("cpu_ratio <= 1.3"))
            .set("pass", json!(cpu_ratio <= 1.3 && errors == 0));
        r
    }

    fn amb_chunking(&mut self) -> Record {
        let n = AMB_N;
        let before = self.prepare(LATENCY_MS);
        let client = self.client();
        // Four items in five are new owners; every fifth repeats an earlier one.
        let mut owner_of = Vec::with_capacity(n as usize);
        let mut next = 0u64;
        for k in 0..n {
            if k % 5 == 4 {
                owner_of.push((k * 31) % next);
            } else {
                owner_of.push(next);
                next += 1;
            }
        }
        assert_eq!(next, AMB_UNIQUE);
        let queries = parse_all(owner_of.iter().map(|&i| amb_query(i)));
        // The SDK's configuration is loaded once per client, on first use: timed apart.
        let ((), setup, _) = measured(&self.rt, async {
            if let Some(amb) = client.amb() {
                amb.sdk_client().await;
            }
        });
        let server_cpu = self.dev.cpu_time();
        let (out, wall, cpu) = measured(&self.rt, client.balances(&queries, At::Latest));
        let server_cpu = self.dev.cpu_time().saturating_sub(server_cpu);
        let counts = self.dev.counts().since(before);
        let (errors, wrong) = check(&out.results, |i| SEED_AMOUNT_BASE + owner_of[i]);
        let expected_calls = AMB_UNIQUE.div_ceil(tokbal::amb::MAX_ITEMS_PER_CALL as u64);
        let fl = floor(expected_calls, CONCURRENCY, LATENCY_MS);
        let ratio = wall.as_secs_f64() / fl.as_secs_f64();
        let mut r = Record::new("amb-chunking", n, CONCURRENCY, LATENCY_MS);
        r.secs("wall_s", wall)
            .secs("floor_s", fl)
            .set("ratio_to_floor", json!(round(ratio, 3)))
            .set("unique", json!(AMB_UNIQUE))
            .set("calls", json!(counts.amb_calls))
            .set("expected_calls", json!(expected_calls))
            .set("items_sent", json!(counts.amb_items))
            .secs("sdk_setup_s", setup)
            .secs("cpu_s", cpu)
            .set("cpu_us_per_call", json!(per_query_us(cpu, expected_calls)))
            .set(
                "server_cpu_us_per_call",
                json!(per_query_us(server_cpu, expected_calls)),
            )
            .set("errors", json!(errors + wrong))
            .set(
                "target",
                json!("calls == ceil(unique / 10), each unique item sent once"),
            )
            .set(
                "pass",
                json!(
                    counts.amb_calls == expected_calls
                        && counts.amb_items == AMB_UNIQUE
                        && errors + wrong == 0
                ),
            );
        r
    }

    fn time_pin(&mut self) -> Record {
        self.prepare(0);
        let probe = self.client();
        let node = probe.aptos(Network::AptosMainnet).expect("aptos backend");
        let (span, tip_height) = self
            .rt
            .block_on(async {
                let ledger = node.ledger_info().await?;
                let oldest = node.block_by_height(ledger.oldest_block_height).await?;
                Ok::<_, tokbal::Error>((
                    (oldest.timestamp_usec, ledger.ledger_timestamp_usec),
                    ledger.block_height,
                ))
            })
            .expect("ledger info");
        let mut rng = SplitMix64(0x7469_6d65_2d70_696e);
        let times: Vec<u64> = (0..TIME_PIN_N)
            .map(|_| span.0 + rng.next() % (span.1 - span.0))
            .collect();
        let at = |t: u64| UNIX_EPOCH + Duration::from_micros(t);

        self.dev.set_latency(LATENCY_MS);
        // Cold: a fresh client (empty block cache) per instant.
        let mut cold = Vec::new();
        let mut pins = Vec::new();
        let mut cold_wall = Duration::ZERO;
        for &t in &times {
            let c = self.client();
            let from = self.dev.counts();
            let (pin, wall, _) = measured(
                &self.rt,
                c.aptos(Network::AptosMainnet)
                    .expect("aptos backend")
                    .version_at_time(at(t)),
            );
            cold_wall += wall;
            let d = self.dev.counts().since(from);
            cold.push((d.aptos_block, d.aptos_ledger_info));
            pins.push(pin.expect("time pin"));
        }
        // Warm: one client for every instant, its block cache kept.
        let warm_client = self.client();
        let warm_node = warm_client.aptos(Network::AptosMainnet).expect("backend");
        let mut warm = Vec::new();
        let mut warm_wall = Duration::ZERO;
        for &t in &times {
            let from = self.dev.counts();
            let (pin, wall, _) = measured(&self.rt, warm_node.version_at_time(at(t)));
            warm_wall += wall;
            warm.push(self.dev.counts().since(from).aptos_block);
            assert_eq!(pin.expect("warm pin").version, pins[warm.len() - 1].version);
        }

        // Check every pin against the chain: its block is at or before t, the next after.
        self.dev.set_latency(0);
        let wrong = self.rt.block_on(async {
            let mut wrong = 0;
            for (pin, &t) in pins.iter().zip(&times) {
                let b = node.block_by_height(pin.block_height).await;
                let next = node.block_by_height(pin.block_height + 1).await;
                let ok = matches!(&b, Ok(b) if b.timestamp_usec <= t && b.last_version == pin.version)
                    && (pin.block_height == tip_height
                        || matches!(&next, Ok(nb) if nb.timestamp_usec > t));
                wrong += u64::from(!ok);
            }
            wrong
        });

        let max = cold.iter().map(|c| c.0).max().unwrap_or(0);
        let mean = cold.iter().map(|c| c.0).sum::<u64>() as f64 / cold.len() as f64;
        let warm_max = warm.iter().copied().max().unwrap_or(0);
        let warm_mean = warm.iter().sum::<u64>() as f64 / warm.len() as f64;
        let ledger_max = cold.iter().map(|c| c.1).max().unwrap_or(0);
        // The least a resolution can take: the ledger info and one block, one after the other.
        let fl = Duration::from_millis(2 * LATENCY_MS * TIME_PIN_N as u64);
        let mut r = Record::new("time-pin", TIME_PIN_N as u64, 1, LATENCY_MS);
        r.secs("wall_s", cold_wall)
            .secs("floor_s", fl)
            .set("blocks", json!(TIME_PIN_BLOCKS))
            .set("max_block_requests", json!(max))
            .set("mean_block_requests", json!(round(mean, 2)))
            .set("ledger_info_requests_max", json!(ledger_max))
            .set("warm_max_block_requests", json!(warm_max))
            .set("warm_mean_block_requests", json!(round(warm_mean, 2)))
            .secs("warm_wall_s", warm_wall)
            .set(
                "ms_per_resolution",
                json!(round(cold_wall.as_secs_f64() * 1e3 / TIME_PIN_N as f64, 1)),
            )
            .set("errors", json!(wrong))
            .set("target", json!("max_block_requests <= 8"))
            .set("pass", json!(max <= 8 && wrong == 0));
        r
    }

    fn memory(&mut self) -> Record {
        let n = MEMORY_N;
        let before = self.prepare(LATENCY_MS);
        let exe = std::env::current_exe().expect("current exe");
        let out = Command::new(exe)
            .env(MEMORY_CHILD_ENV, &self.dev.aptos_url)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .expect("memory child runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let child: Value = text
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l).ok())
            .unwrap_or_else(|| panic!("memory child printed no JSON: {text}"));
        let counts = self.dev.counts().since(before);
        let fl = floor(n, CONCURRENCY, LATENCY_MS);
        let peak = child["peak_rss_mib"].as_f64().unwrap_or(f64::NAN);
        let errors = child["errors"].as_u64().unwrap_or(u64::MAX);
        let wall = child["wall_s"].as_f64().unwrap_or(f64::NAN);
        let mut r = Record::new("memory", n, CONCURRENCY, LATENCY_MS);
        r.set("wall_s", json!(wall))
            .secs("floor_s", fl)
            .set("ratio_to_floor", json!(round(wall / fl.as_secs_f64(), 3)))
            .set("peak_rss_mib", json!(peak))
            .set("baseline_rss_mib", child["baseline_rss_mib"].clone())
            .set("cpu_s", child["cpu_s"].clone())
            .set("requests", json!(counts.aptos_total))
            .set("errors", json!(errors))
            .set("target", json!("peak_rss_mib <= 100"))
            .set(
                "pass",
                json!(peak <= 100.0 && errors == 0 && out.status.success()),
            );
        r
    }

    /// The EVM half's URL (a devnet without one cannot run the EVM scenarios).
    fn evm_url(&self) -> String {
        self.dev
            .evm_url
            .clone()
            .expect("the devnet prints an `evm:` URL (TOKBAL_BENCH_DEVNET predates it?)")
    }

    fn evm_multicall(&mut self) -> Record {
        let n = EVM_ERC20_N + EVM_NATIVE_N;
        let url = self.evm_url();
        // For A/B runs only: TOKBAL_BENCH_EVM_LATENCY_MS, TOKBAL_BENCH_EVM_K and
        // TOKBAL_BENCH_EVM_REPS change the latency, the client's calls per request and the
        // number of reps the median is taken over.
        let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
        let latency_ms = env("TOKBAL_BENCH_EVM_LATENCY_MS").unwrap_or(LATENCY_MS);
        let calls_per_request = env("TOKBAL_BENCH_EVM_K").map(|k| k as usize);
        let make_client = |url: &str| evm_client_maybe_k(url, calls_per_request);
        self.prepare(latency_ms);
        let queries = parse_all((0..n).map(|k| evm_mixed(k).0));
        let k = make_client(&url)
            .evm(Network::EthereumMainnet)
            .expect("evm backend")
            .calls_per_request() as u64;
        // tokbal: a fresh client per rep (so each pays its chain-id check), built outside the
        // measure; the figure is the median rep.
        let mut reps = Vec::new();
        let (mut errors, mut one_block) = (0, true);
        let reps_wanted =
            env("TOKBAL_BENCH_EVM_REPS").map_or(EVM_MULTICALL_REPS, |n| n.max(1) as usize);
        for _ in 0..reps_wanted {
            let client = make_client(&url);
            let from = self.dev.counts();
            let server_cpu = self.dev.cpu_time();
            let (out, wall, cpu) = measured(&self.rt, client.balances(&queries, At::Latest));
            let server_cpu = self.dev.cpu_time().saturating_sub(server_cpu);
            let d = self.dev.counts().since(from);
            let (e, w) = check(&out.results, |i| evm_mixed(i as u64).1);
            errors += e + w;
            let pinned = out.snapshot.block(Network::EthereumMainnet);
            one_block &= pinned.is_some()
                && out
                    .results
                    .iter()
                    .all(|r| matches!(r, Ok(b) if b.block == pinned));
            reps.push((wall, cpu, server_cpu, d));
        }
        let mut order: Vec<usize> = (0..reps.len()).collect();
        order.sort_by_key(|&i| reps[i].0);
        let (wall, cpu, server_cpu, counts) = reps[order[order.len() / 2]];
        let max_requests = reps.iter().map(|r| r.3.evm_http).max().unwrap_or(0);

        // The naive arm: one JSON-RPC request per query, 64 in flight, at one block number.
        let http = plain_client();
        let from = self.dev.counts();
        // For a profiler: TOKBAL_BENCH_ARM=tokbal skips this arm (its figures then read 0).
        let naive_n = if std::env::var(ARM_ENV).is_ok_and(|a| a == "tokbal") {
            0
        } else {
            n
        };
        let (naive, naive_wall, naive_cpu) =
            measured(&self.rt, naive_evm_loop(&http, &url, naive_n));
        let naive_counts = self.dev.counts().since(from);
        let naive_bad = naive
            .iter()
            .enumerate()
            .filter(|(i, a)| **a != Some(evm_mixed(*i as u64).1))
            .count() as u64;

        let reads = n.div_ceil(k);
        // The pin (`eth_getBlockByNumber`) and the chain-id check (`eth_chainId`) go in one
        // JSON-RPC batch: one request between them.
        let pin = 1;
        let expected = pin + reads;
        // The requests' serial chain: the pin must be back before any read goes (every read
        // names the pinned block), then the reads go 64 at a time.
        let read_rounds = reads.div_ceil(CONCURRENCY as u64);
        let fl = Duration::from_millis((pin + read_rounds) * latency_ms);
        // The other scenarios' formula applied to every request, dependencies ignored.
        let concurrency_floor = floor(expected, CONCURRENCY, latency_ms);
        let ratio = wall.as_secs_f64() / fl.as_secs_f64();
        let speedup = naive_wall.as_secs_f64() / wall.as_secs_f64();
        let request_ratio = naive_counts.evm_http as f64 / max_requests.max(1) as f64;
        let mut r = Record::new("evm-multicall", n, CONCURRENCY, latency_ms);
        r.secs("wall_s", wall)
            .secs("floor_s", fl)
            .set("ratio_to_floor", json!(round(ratio, 3)))
            .secs("concurrency_floor_s", concurrency_floor)
            .set(
                "ratio_to_concurrency_floor",
                json!(round(
                    wall.as_secs_f64() / concurrency_floor.as_secs_f64(),
                    3
                )),
            )
            .secs_each("wall_s_each", reps.iter().map(|r| r.0), 4)
            .set("erc20_reads", json!(EVM_ERC20_N))
            .set("native_reads", json!(EVM_NATIVE_N))
            .set("calls_per_request", json!(k))
            .set("requests", json!(max_requests))
            .set("expected_requests", json!(expected))
            .set(
                "expected_requests_formula",
                json!(format!(
                    "pin with chain_id_check (one batch) {pin} + ceil({n}/{k}) {reads}"
                )),
            )
            .set("chain_id_requests", json!(counts.evm_chain_id))
            .set("block_requests", json!(counts.evm_get_block_by_number))
            .set("eth_call_requests", json!(counts.evm_call))
            .set("inner_calls", json!(counts.evm_inner_calls))
            .set(
                "other_requests",
                json!(
                    counts.evm_calls
                        - counts.evm_chain_id
                        - counts.evm_get_block_by_number
                        - counts.evm_call
                ),
            )
            .set("one_block", json!(one_block))
            .secs("cpu_s", cpu)
            .set("cpu_us_per_query", json!(per_query_us(cpu, n)))
            .set(
                "server_cpu_us_per_query",
                json!(per_query_us(server_cpu, n)),
            )
            .set("naive_requests", json!(naive_counts.evm_http))
            .secs("naive_wall_s", naive_wall)
            .set(
                "naive_ratio_to_floor",
                json!(round(
                    naive_wall.as_secs_f64()
                        / floor(naive_counts.evm_http, CONCURRENCY, latency_ms).as_secs_f64(),
                    3
                )),
            )
            .set("naive_cpu_us_per_query", json!(per_query_us(naive_cpu, n)))
            .set("speedup", json!(round(speedup, 1)))
            .set("request_ratio", json!(round(request_ratio, 1)))
            .set("errors", json!(errors + naive_bad))
            .set(
                "target",
                json!(
                    "requests <= expected_requests, request_ratio >= 50, speedup >= 20, \
                     ratio_to_floor <= 1.2"
                ),
            )
            .set(
                "pass",
                json!(
                    max_requests <= expected
                        && request_ratio >= 50.0
                        && speedup >= 20.0
                        && ratio <= 1.2
                        && errors + naive_bad == 0
                        && one_block
                ),
            );
        r
    }

    /// `evm-metadata`: 10,000 ERC-20 reads over 100 contracts and 1,000 native reads, without
    /// and with metadata, in the same run: what reading each token's symbol, name and
    /// decimals adds to the requests, and the wall time with it against its floor.
    fn evm_metadata(&mut self) -> Record {
        let n = EVM_ERC20_N + EVM_NATIVE_N;
        let url = self.evm_url();
        self.prepare(LATENCY_MS);
        let queries = parse_all((0..n).map(|k| evm_metadata_query(k).0));
        let k = evm_client(&url)
            .evm(Network::EthereumMainnet)
            .expect("evm backend")
            .calls_per_request() as u64;
        let mut arms: [Vec<(Duration, u64)>; 2] = [Vec::new(), Vec::new()];
        let (mut errors, mut wrong_metadata) = (0, 0);
        for _ in 0..EVM_METADATA_REPS {
            for (arm, with) in [false, true].into_iter().enumerate() {
                let client = evm_client(&url);
                let client = if with { client.with_metadata() } else { client };
                let from = self.dev.counts();
                let (out, wall, _) = measured(&self.rt, client.balances(&queries, At::Latest));
                let d = self.dev.counts().since(from);
                let (e, w) = check(&out.results, |i| evm_metadata_query(i as u64).1);
                errors += e + w;
                if with {
                    wrong_metadata += out
                        .results
                        .iter()
                        .enumerate()
                        .filter(|(i, r)| {
                            let want = evm_metadata_query(*i as u64).2;
                            !matches!(r, Ok(b) if b.token.as_ref().and_then(|t| t.symbol.as_deref()) == Some(want.as_str()))
                        })
                        .count() as u64;
                }
                arms[arm].push((wall, d.evm_http));
            }
        }
        let median = |v: &mut Vec<(Duration, u64)>| {
            v.sort_by_key(|r| r.0);
            v[v.len() / 2]
        };
        let max_requests = |v: &[(Duration, u64)]| v.iter().map(|r| r.1).max().unwrap_or(0);
        let (requests, requests_with) = (max_requests(&arms[0]), max_requests(&arms[1]));
        let (wall, _) = median(&mut arms[0]);
        let (wall_with, _) = median(&mut arms[1]);
        // ERC-20 metadata is three calls a token: decimals, symbol, name.
        let metadata_calls = 3 * EVM_METADATA_TOKENS;
        let allowed = requests + metadata_calls.div_ceil(k);
        // The floor with metadata: the pin, then the reads (balances and metadata calls, K to
        // a request) 64 at a time.
        let reads = (n + metadata_calls).div_ceil(k);
        let fl = Duration::from_millis((1 + reads.div_ceil(CONCURRENCY as u64)) * LATENCY_MS);
        let ratio = wall_with.as_secs_f64() / fl.as_secs_f64();
        let mut r = Record::new("evm-metadata", n, CONCURRENCY, LATENCY_MS);
        r.set("erc20_reads", json!(EVM_ERC20_N))
            .set("native_reads", json!(EVM_NATIVE_N))
            .set("contracts", json!(EVM_METADATA_TOKENS))
            .set("calls_per_request", json!(k))
            .set("requests", json!(requests))
            .set("requests_with_metadata", json!(requests_with))
            .set("allowed_requests_with_metadata", json!(allowed))
            .secs("wall_s", wall)
            .secs("wall_with_metadata_s", wall_with)
            .secs("floor_s", fl)
            .set("ratio_to_floor", json!(round(ratio, 3)))
            .set("errors", json!(errors))
            .set("wrong_metadata", json!(wrong_metadata))
            .set(
                "target",
                json!("requests_with_metadata <= requests + ceil(300 / K), every balance and symbol right"),
            )
            .set(
                "pass",
                json!(requests_with <= allowed && errors == 0 && wrong_metadata == 0),
            );
        r
    }

    /// `evm-holders`: every holder of a token with 200,000 `Transfer` logs over 1,000,000
    /// blocks among 50,000 holders, from a devnet that caps `eth_getLogs` at 100,000 blocks
    /// and 10,000 logs a request, at 20 ms. The log scan starts at the contract's deploy
    /// block (`--from-block`, as the floor assumes); the creation search is measured apart,
    /// and so is the same read at latency 0 (what the bytes alone cost), with the CPU time of
    /// both processes.
    fn evm_holders(&mut self) -> Record {
        let seed = format!("{HOLDERS_LOGS},{HOLDERS_BLOCKS},{HOLDERS_HOLDERS}");
        let (range, results) = (
            HOLDERS_MAX_RANGE.to_string(),
            HOLDERS_MAX_RESULTS.to_string(),
        );
        let blocks = (HOLDERS_BLOCKS + 1).to_string();
        let mut dev = DevnetProcess::start(
            &[
                "--empty",
                "--evm-blocks",
                &blocks,
                "--seed-evm-transfers",
                &seed,
                "--logs-max-range",
                &range,
                "--logs-max-results",
                &results,
            ],
            self.devnet_cpu,
        )
        .expect("the holders devnet starts");
        dev.set_latency(LATENCY_MS);
        let url = dev.evm_url.clone().expect("evm url");
        let asset: tokbal::Asset = format!(
            "ethereum:erc20:{}",
            tokbal_devnet::SEED_EVM_TRANSFERS_CONTRACT
        )
        .parse()
        .expect("asset");
        // The chain has HOLDERS_BLOCKS + 1 blocks and the history takes the last
        // HOLDERS_BLOCKS: the contract is deployed at block 1.
        let first_block = 1;
        // For A/B runs only: TOKBAL_BENCH_HOLDERS_K changes the client's calls per request
        // (and so the balance requests the floor counts).
        let calls_per_request = std::env::var("TOKBAL_BENCH_HOLDERS_K")
            .ok()
            .and_then(|v| v.parse::<usize>().ok());
        let make_client = |url: &str| evm_client_maybe_k(url, calls_per_request);
        let client = make_client(&url);
        let options = tokbal::HoldersOptions::default().from_block(first_block);
        let devnet_before = dev.cpu_time();
        let (out, wall, cpu) = measured(&self.rt, client.holders(&asset, At::Latest, options));
        let devnet_cpu = dev.cpu_time().saturating_sub(devnet_before);
        let out = out.expect("holders read");
        let s = &out.summary;
        // The default: the creation block found by bisection first.
        let started = Instant::now();
        let plain = self
            .rt
            .block_on(make_client(&url).holders(&asset, At::Latest, Default::default()))
            .expect("holders read");
        let wall_default = started.elapsed();
        // The same read with no latency: how long the bytes alone take (the devnet writes
        // and tokbal reads 126 MB of JSON on the same cores).
        dev.set_latency(0);
        let options = tokbal::HoldersOptions::default().from_block(first_block);
        let started = Instant::now();
        let at_zero = self
            .rt
            .block_on(make_client(&url).holders(&asset, At::Latest, options))
            .expect("holders read");
        let wall_latency0 = started.elapsed();
        drop(dev);

        let k = client
            .evm(Network::EthereumMainnet)
            .expect("evm backend")
            .calls_per_request() as u64;
        let log_floor =
            HOLDERS_LOGS.div_ceil(HOLDERS_MAX_RESULTS) + HOLDERS_BLOCKS.div_ceil(HOLDERS_MAX_RANGE);
        let balance_floor = s.candidates.div_ceil(k);
        let requests = s.log_requests + s.balance_requests;
        let fl = floor(requests, CONCURRENCY, LATENCY_MS);
        let ratio = wall.as_secs_f64() / fl.as_secs_f64();
        // The requests' serial chains, as `evm-multicall` counts its floor; the longer one
        // bounds the read. The scan has a sixteenth of the concurrency while it runs (4
        // requests out at once). Balances: the pin (the first log request beside it), one
        // log answer before any candidate is known, then the balance requests through the
        // permits the scan leaves. Logs: the pin, the other log requests 4 at a time, then
        // the last answer's balances.
        let scan_permits = (CONCURRENCY / 16) as u64;
        let balance_chain = 2 + s
            .balance_requests
            .div_ceil(CONCURRENCY as u64 - scan_permits);
        let log_chain = 1 + s.log_requests.saturating_sub(1).div_ceil(scan_permits) + 1;
        let chain_floor = Duration::from_millis(balance_chain.max(log_chain) * LATENCY_MS);
        let sorted = out.holders.windows(2).all(|w| w[0].balance >= w[1].balance);
        let pass = s.log_requests as f64 <= 1.5 * log_floor as f64 + 20.0
            && s.balance_requests <= balance_floor + 1
            && ratio <= 1.3
            && s.verified
            && s.holders == HOLDERS_HOLDERS
            && sorted
            && plain.summary.holders == s.holders
            && at_zero.summary.holders == s.holders;
        let mut r = Record::new("evm-holders", HOLDERS_HOLDERS, CONCURRENCY, LATENCY_MS);
        r.set("logs", json!(s.logs))
            .set("candidates", json!(s.candidates))
            .set("holders", json!(s.holders))
            .set("verified", json!(s.verified))
            .set("log_requests", json!(s.log_requests))
            .set("log_floor", json!(log_floor))
            .set("balance_requests", json!(s.balance_requests))
            .set("balance_floor", json!(balance_floor))
            .secs("wall_s", wall)
            .secs("floor_s", fl)
            .set("ratio_to_floor", json!(round(ratio, 3)))
            .secs("chain_floor_s", chain_floor)
            .set(
                "ratio_to_chain_floor",
                json!(round(wall.as_secs_f64() / chain_floor.as_secs_f64(), 3)),
            )
            .secs("cpu_s", cpu)
            .secs("devnet_cpu_s", devnet_cpu)
            .secs("wall_with_creation_search_s", wall_default)
            .secs("wall_latency0_s", wall_latency0)
            .set("peak_rss_mib", json!(round(proc_status_kib("VmHWM").unwrap_or(0) as f64 / 1024.0, 1)))
            .set(
                "target",
                json!("log_requests <= 1.5 x log_floor + 20, balance_requests <= balance_floor + 1, ratio_to_floor <= 1.3, verified"),
            )
            .set("pass", json!(pass));
        r
    }

    /// `evm-holders-1m`: a token with 1,000,000 holders at latency 0, read in a child
    /// process whose peak resident memory is the figure.
    fn evm_holders_1m(&mut self) -> Record {
        let seed = format!("{HOLDERS_1M},{HOLDERS_1M},{HOLDERS_1M}");
        let blocks = (HOLDERS_1M + 1).to_string();
        let dev = DevnetProcess::start(
            &[
                "--empty",
                "--evm-blocks",
                &blocks,
                "--seed-evm-transfers",
                &seed,
            ],
            self.devnet_cpu,
        )
        .expect("the holders devnet starts");
        let url = dev.evm_url.clone().expect("evm url");
        let exe = std::env::current_exe().expect("current exe");
        let out = Command::new(exe)
            .env(HOLDERS_CHILD_ENV, &url)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .expect("holders child runs");
        drop(dev);
        let text = String::from_utf8_lossy(&out.stdout);
        let child: Value = text
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l).ok())
            .unwrap_or_else(|| panic!("holders child printed no JSON: {text}"));
        let peak = child["peak_rss_mib"].as_f64().unwrap_or(f64::NAN);
        let candidates = child["candidates"].as_u64().unwrap_or(0);
        let mut r = Record::new("evm-holders-1m", HOLDERS_1M, CONCURRENCY, 0);
        r.set("candidates", json!(candidates))
            .set("holders", child["holders"].clone())
            .set("verified", child["verified"].clone())
            .set("wall_s", child["wall_s"].clone())
            .set("peak_rss_mib", json!(peak))
            .set("baseline_rss_mib", child["baseline_rss_mib"].clone())
            .set("target", json!("peak_rss_mib <= 256"))
            .set(
                "pass",
                json!(peak <= 256.0 && candidates == HOLDERS_1M && out.status.success()),
            );
        r
    }

    fn evm_time_pin(&mut self) -> Record {
        let url = self.evm_url();
        let regular = evm_pins(&self.rt, &mut self.dev, &url);
        // The sub-second chain runs in a devnet of its own.
        let fast_blocks = EVM_FAST_BLOCKS.to_string();
        let fast_ms = EVM_FAST_BLOCK_MS.to_string();
        let mut fast_dev = DevnetProcess::start(
            &[
                "--empty",
                "--seed-evm",
                "1",
                "--evm-blocks",
                &fast_blocks,
                "--evm-block-ms",
                &fast_ms,
                "--evm-block-jitter",
            ],
            self.devnet_cpu,
        )
        .expect("the sub-second devnet starts");
        let fast_url = fast_dev.evm_url.clone().expect("evm url");
        let fast = evm_pins(&self.rt, &mut fast_dev, &fast_url);
        drop(fast_dev);

        let n = TIME_PIN_N as u64;
        // The least a resolution through `balances` takes: the tip, one block, then the read.
        let fl = Duration::from_millis(3 * LATENCY_MS * n);
        let mut r = Record::new("evm-time-pin", n, 1, LATENCY_MS);
        r.secs("wall_s", regular.wall)
            .secs("floor_s", fl)
            .set("blocks", json!(EVM_TIME_PIN_BLOCKS))
            .set("block_ms", json!(12_000))
            .set("max_block_requests", json!(regular.max))
            .set("mean_block_requests", json!(round(regular.mean, 2)))
            .set("chain_id_requests_max", json!(regular.chain_id_max))
            .set("other_requests_max", json!(regular.other_max))
            .set(
                "ms_per_resolution",
                json!(round(regular.wall.as_secs_f64() * 1e3 / n as f64, 1)),
            )
            .set("subsecond_blocks", json!(EVM_FAST_BLOCKS))
            .set("subsecond_block_ms", json!(EVM_FAST_BLOCK_MS))
            .set("subsecond_jitter", json!(true))
            .set("subsecond_max_block_requests", json!(fast.max))
            .set("subsecond_mean_block_requests", json!(round(fast.mean, 2)))
            .set(
                "subsecond_same_second_blocks_max",
                json!(fast.same_second_max),
            )
            .secs("subsecond_wall_s", fast.wall)
            .set(
                "subsecond_ms_per_resolution",
                json!(round(fast.wall.as_secs_f64() * 1e3 / n as f64, 1)),
            )
            .set("errors", json!(regular.wrong + fast.wrong))
            .set("target", json!("max_block_requests <= 8 (both chains)"))
            .set(
                "pass",
                json!(regular.max <= 8 && fast.max <= 8 && regular.wrong + fast.wrong == 0),
            );
        r
    }

    /// The Esplora server's URL (a devnet without one cannot run `bitcoin-pinned`).
    fn bitcoin_url(&self) -> String {
        self.dev
            .bitcoin_url
            .clone()
            .expect("the devnet prints a `bitcoin:` URL (TOKBAL_BENCH_DEVNET predates it?)")
    }

    fn bitcoin_pinned(&mut self) -> Record {
        let n = BTC_N;
        let url = self.bitcoin_url();
        self.prepare(0);
        let http = plain_client();
        let tip: u64 = self
            .rt
            .block_on(async {
                let text = http
                    .get(format!("{url}/blocks/tip/height"))
                    .send()
                    .await
                    .ok()?
                    .text()
                    .await
                    .ok()?;
                text.trim().parse().ok()
            })
            .expect("the Esplora tip");
        let h = tip.saturating_sub(BTC_DEPTH);
        let addresses: Vec<String> = (0..n).map(tokbal_devnet::seed_address).collect();
        let queries = parse_all((0..n).map(bitcoin_query));
        let at = At::Blocks([(Network::BitcoinMainnet, h)].into_iter().collect());

        // Truth 1, what the served devnet says, read the plain way at no latency (before
        // the measure, uninstrumented): every address's whole confirmed history, page by
        // page, summed at or below H. Independent of how tokbal computes a balance (the
        // totals minus what happened above H).
        let truth = self.rt.block_on(raw_histories(&http, &url, &addresses, h));
        // Truth 2, the devnet's own answer: a model built and seeded as `tokbal devnet
        // --empty --seed-bitcoin N` builds and seeds its chain (same tip, same seed), asked
        // `balance(address, Some(H))` and `txids` in this process.
        let model = tokbal_devnet::Devnet::builder().build_esplora_node();
        model.seed_addresses(n, SEED_BITCOIN_TXS, SEED_BITCOIN_SEED);
        let mut model_mismatches = u64::from(model.tip() != tip);
        let mut truth_failed = 0;
        for (a, t) in addresses.iter().zip(&truth) {
            let Some(t) = t else {
                truth_failed += 1;
                continue;
            };
            let balance = model.balance(a, Some(h)).ok();
            let above = match (model.txids(a, None), model.txids(a, Some(h))) {
                (Ok(all), Ok(below)) => Some((all.len() - below.len()) as u64),
                _ => None,
            };
            let agree = balance.is_some_and(|b| i128::from(b) == t.at_h) && above == Some(t.above);
            model_mismatches += u64::from(!agree);
        }
        // What each address should cost (truth 1): the totals, then pages newest first
        // until one holds a transaction at or below H (floor(m / 25) + 1 pages for m
        // transactions above H: a full page of them leaves the boundary on the next), then,
        // if anything was above H, the totals again.
        let chain_of = |m: u64| 1 + (m / tokbal::bitcoin::PAGE_SIZE as u64 + 1) + u64::from(m > 0);
        let known: Vec<History> = truth.iter().map(|t| t.unwrap_or_default()).collect();
        let chains: Vec<u64> = known.iter().map(|t| chain_of(t.above)).collect();
        let quiet = known.iter().filter(|t| t.above == 0).count() as u64;
        // Addresses whose balance at H is not their balance now: those a reader that ignored
        // H would get wrong.
        let changed = known.iter().filter(|t| t.at_h != t.at_tip).count() as u64;
        let moved = n - quiet;
        let max_pages = known
            .iter()
            .map(|t| t.above / tokbal::bitcoin::PAGE_SIZE as u64 + 1)
            .max()
            .unwrap_or(0);
        let expected_pages: u64 = known
            .iter()
            .map(|t| t.above / tokbal::bitcoin::PAGE_SIZE as u64 + 1)
            .sum();
        let expected_reads: u64 = chains.iter().sum();
        // At::Blocks pins with /block-height/H and /block/:hash; after the reads, `balances`
        // asks /block-height/H again (is the pinned block still on the chain?).
        let (pin, reorg_check) = (2, 1);
        let expected = pin + expected_reads + reorg_check;

        // The measure: one batch, 64 in flight, 20 ms on every answer. For A/B runs only:
        // TOKBAL_BENCH_BTC_LATENCY_MS changes the latency (at 0 the floor is 0 and the
        // ratios read `null`).
        let latency_ms = std::env::var("TOKBAL_BENCH_BTC_LATENCY_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(LATENCY_MS);
        let before = self.prepare(latency_ms);
        let client = bitcoin_client(&url);
        let server_cpu = self.dev.cpu_time();
        let (out, wall, cpu) = measured(&self.rt, client.balances(&queries, at.clone()));
        let server_cpu = self.dev.cpu_time().saturating_sub(server_cpu);
        let counts = self.dev.counts().since(before);
        let pinned = out.snapshot.block(Network::BitcoinMainnet);
        let wrong_at =
            |r: &Result<tokbal::Balance, tokbal::Error>, t: &Option<History>| match (r, t) {
                (Ok(b), Some(t)) => {
                    b.block != Some(h) || b.amount.to_u64().map(i128::from) != Some(t.at_h)
                }
                _ => true,
            };
        let mut failed = 0;
        let mut wrong = u64::from(pinned != Some(h));
        for (r, t) in out.results.iter().zip(&truth) {
            match r {
                Err(e) => {
                    if failed == 0 {
                        eprintln!("first error: {e}");
                    }
                    failed += 1;
                }
                Ok(_) => wrong += u64::from(wrong_at(r, t)),
            }
        }

        // Per address, instrumented: each address alone in a batch, at no latency, its
        // requests counted (the totals and the pages; each batch also makes the pin's 2 and
        // the check's 1). This is also a third reading of every balance.
        self.dev.set_latency(0);
        let probe = bitcoin_client(&url);
        let (mut quiet_max, mut moved_max, mut mismatches, mut overhead_max) = (0, 0, 0, 0);
        let mut sequential_wrong = 0;
        let mut from = self.dev.counts();
        for (i, q) in queries.iter().enumerate() {
            let one = self
                .rt
                .block_on(probe.balances(std::slice::from_ref(q), at.clone()));
            let now = self.dev.counts();
            let d = now.since(from);
            from = now;
            let reads = d.btc_address + d.btc_address_txs;
            overhead_max = overhead_max.max(d.btc_http - reads);
            mismatches += u64::from(reads != chains[i]);
            if known[i].above == 0 {
                quiet_max = quiet_max.max(reads);
            } else {
                moved_max = moved_max.max(reads);
            }
            sequential_wrong += u64::from(wrong_at(&one.results[0], &truth[i]));
        }

        // The floor for these requests: each address is a chain of dependent requests (each
        // needs the one before: the pages follow the totals, the next page names the last
        // txid of the one before, the totals again follow the pages), 64 chains in flight.
        // Any client needs at least max(ceil(sum / 64), longest) rounds for the reads, after
        // the pin's 2 (the reads need the block) and before the reorg check's 1.
        let read_rounds = expected_reads
            .div_ceil(CONCURRENCY as u64)
            .max(chains.iter().copied().max().unwrap_or(0));
        let fl = Duration::from_millis((pin + read_rounds + reorg_check) * latency_ms);
        // The same with the chains started in query order as slots free up (what
        // `balances` does), at no cost of its own: at most a few rounds more.
        let schedule = Duration::from_millis(
            (pin + list_schedule(&chains, CONCURRENCY) + reorg_check) * latency_ms,
        );
        let ratio = wall.as_secs_f64() / fl.as_secs_f64();
        let errors = failed + wrong + truth_failed + model_mismatches + sequential_wrong;
        let mut r = Record::new("bitcoin-pinned", n, CONCURRENCY, latency_ms);
        r.secs("wall_s", wall)
            .secs("floor_s", fl)
            .set("ratio_to_floor", json!(round(ratio, 3)))
            .secs("schedule_floor_s", schedule)
            .set(
                "ratio_to_schedule_floor",
                json!(round(wall.as_secs_f64() / schedule.as_secs_f64(), 3)),
            )
            .set("tip", json!(tip))
            .set("height", json!(h))
            .set("requests", json!(counts.btc_http))
            .set("expected_requests", json!(expected))
            .set(
                "expected_requests_formula",
                json!(format!(
                    "pin {pin} + reads {expected_reads} (quiet {quiet} x 2 + moved: 2 + pages, \
                     {expected_pages} pages in all) + reorg_check {reorg_check}"
                )),
            )
            .set(
                "requests_per_address",
                json!(round(counts.btc_http as f64 / n as f64, 3)),
            )
            .set("address_requests", json!(counts.btc_address))
            .set("page_requests", json!(counts.btc_address_txs))
            .set(
                "block_requests",
                json!(counts.btc_block_height + counts.btc_block + counts.btc_tip_height),
            )
            .set("quiet_addresses", json!(quiet))
            .set("moved_addresses", json!(moved))
            .set("balance_changed_above_height", json!(changed))
            .set("max_pages", json!(max_pages))
            .set("quiet_max_requests", json!(quiet_max))
            .set("moved_max_requests", json!(moved_max))
            .set("per_address_mismatches", json!(mismatches))
            .set("per_batch_other_requests_max", json!(overhead_max))
            .set("one_block", json!(pinned == Some(h)))
            .secs("cpu_s", cpu)
            .set("cpu_us_per_address", json!(per_query_us(cpu, n)))
            .set(
                "server_cpu_us_per_address",
                json!(per_query_us(server_cpu, n)),
            )
            .set("model_mismatches", json!(model_mismatches))
            .set("errors", json!(errors))
            .set(
                "target",
                json!(
                    "quiet address <= 2 requests, requests == expected_requests, \
                     ratio_to_floor <= 1.2"
                ),
            )
            .set(
                "pass",
                json!(
                    quiet_max <= 2
                        && mismatches == 0
                        && counts.btc_http == expected
                        && ratio <= 1.2
                        && errors == 0
                ),
            );
        r
    }
}

fn per_query_us(cpu: Duration, n: u64) -> f64 {
    round(cpu.as_secs_f64() * 1e6 / n as f64, 1)
}

/// The HTTP client of the plain loop: reqwest as tokbal configures it (user agent, timeout).
fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(tokbal::USER_AGENT)
        .timeout(tokbal::DEFAULT_TIMEOUT)
        .build()
        .expect("reqwest client")
}

/// A plain reqwest loop doing the same work as the batch: the first read at latest, its
/// ledger version from the header, then every other read at that version, 64 in flight.
async fn plain_loop(
    http: &reqwest::Client,
    aptos_url: &str,
    owners: &[String],
) -> Vec<Option<u64>> {
    let url = |owner: &str| format!("{aptos_url}/accounts/{owner}/balance/{APT}");
    let Some((first, rest)) = owners.split_first() else {
        return Vec::new();
    };
    let response = http.get(url(first)).send().await.expect("first read");
    let version: u64 = response
        .headers()
        .get("x-aptos-ledger-version")
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .expect("ledger version header");
    let mut amounts = vec![response.json::<u64>().await.ok()];
    amounts.resize(owners.len(), None);
    let version = version.to_string();
    let answers: Vec<(usize, Option<u64>)> = stream::iter(rest.iter().enumerate())
        .map(|(i, owner)| {
            let request = http
                .get(url(owner))
                .query(&[("ledger_version", version.as_str())]);
            async move {
                let amount = match request.send().await {
                    Ok(r) if r.status().is_success() => r.json::<u64>().await.ok(),
                    _ => None,
                };
                (i + 1, amount)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for (i, a) in answers {
        amounts[i] = a;
    }
    amounts
}

/// The memory scenario, in a process of its own: a 100,000-query streamed batch, queries
/// made as they are pulled, results counted as they come; prints one JSON line.
fn memory_child(aptos_url: String) {
    let rt = runtime();
    let client = client(&aptos_url, "http://127.0.0.1:9");
    let baseline = proc_status_kib("VmHWM").unwrap_or(0);
    let queries = (0..MEMORY_N).map(|i| aptos_query(i).parse().expect("query parses"));
    let (errors, wall, cpu) = measured(&rt, async {
        let mut errors = 0u64;
        let mut results = client.balances_stream(queries, At::Latest);
        while let Some((i, r)) = results.next().await {
            let expected = SEED_AMOUNT_BASE + i as u64;
            if !matches!(r, Ok(b) if b.amount.to_u64() == Some(expected)) {
                errors += 1;
            }
        }
        errors
    });
    let peak = proc_status_kib("VmHWM").unwrap_or(0);
    println!(
        "{}",
        json!({
            "peak_rss_mib": round(peak as f64 / 1024.0, 1),
            "baseline_rss_mib": round(baseline as f64 / 1024.0, 1),
            "wall_s": round(wall.as_secs_f64(), 4),
            "cpu_s": round(cpu.as_secs_f64(), 3),
            "errors": errors,
        })
    );
}

/// `evm-holders-1m`'s child: every holder of the seeded token, as a library user collects
/// them (`Client::holders`), and the process's peak resident memory.
fn holders_child(evm_url: String) {
    let rt = runtime();
    let baseline = proc_status_kib("VmHWM").unwrap_or(0);
    let asset: tokbal::Asset = format!(
        "ethereum:erc20:{}",
        tokbal_devnet::SEED_EVM_TRANSFERS_CONTRACT
    )
    .parse()
    .expect("asset");
    let client = evm_client(&evm_url);
    let (out, wall, _) = measured(&rt, client.holders(&asset, At::Latest, Default::default()));
    let peak = proc_status_kib("VmHWM").unwrap_or(0);
    let (candidates, holders, verified) = match &out {
        Ok(o) => (
            o.summary.candidates,
            o.holders.len() as u64,
            o.summary.verified,
        ),
        Err(e) => {
            eprintln!("holders: {e}");
            (0, 0, false)
        }
    };
    println!(
        "{}",
        json!({
            "peak_rss_mib": round(peak as f64 / 1024.0, 1),
            "baseline_rss_mib": round(baseline as f64 / 1024.0, 1),
            "wall_s": round(wall.as_secs_f64(), 3),
            "candidates": candidates,
            "holders": holders,
            "verified": verified,
        })
    );
}

/// A client for the devnet's EVM half only: `ethereum` at `evm_url`, as a user configures it
/// (the default calls per request).
fn evm_client(evm_url: &str) -> Client {
    evm_builder(evm_url).build().expect("client")
}

/// The same with `k` calls per request.
fn evm_client_k(evm_url: &str, k: usize) -> Client {
    evm_builder(evm_url)
        .evm_calls_per_request(k)
        .build()
        .expect("client")
}

/// [`evm_client_k`] when an A/B knob sets `k`, else [`evm_client`].
fn evm_client_maybe_k(evm_url: &str, k: Option<usize>) -> Client {
    match k {
        Some(k) => evm_client_k(evm_url, k),
        None => evm_client(evm_url),
    }
}

fn evm_builder(evm_url: &str) -> tokbal::ClientBuilder {
    Client::builder()
        .endpoint(Network::EthereumMainnet, evm_url)
        .aptos_api_key(None)
        .concurrency(CONCURRENCY)
        .retry_policy(RetryPolicy::none())
}

/// Query `k` of `evm-multicall` and its seeded amount: every 11th is holder `k / 11`'s
/// native balance, the others the ERC-20 balances of holders 0, 1, ... in turn (10,000 of
/// them and 1,000 native ones in 11,000), so that each request mixes both kinds.
fn evm_mixed(k: u64) -> (String, u64, bool, u64) {
    if k % 11 == 10 {
        let h = k / 11;
        (evm_native_query(h), SEED_AMOUNT_BASE + h, true, h)
    } else {
        let h = k - k / 11;
        (evm_erc20_query(h), EVM_ERC20_AMOUNT_BASE + h, false, h)
    }
}

/// Query `k` of `evm-metadata`, its seeded amount and its token's symbol: every 11th is
/// holder `k / 11`'s native balance, the others holder `h / 100`'s balance of seeded
/// contract `h % 100` (`h` counting the ERC-20 reads), so each request mixes tokens.
fn evm_metadata_query(k: u64) -> (String, u64, String) {
    if k % 11 == 10 {
        let h = k / 11;
        (evm_native_query(h), SEED_AMOUNT_BASE + h, "ETH".to_string())
    } else {
        let h = k - k / 11;
        let (c, holder) = (h % EVM_METADATA_TOKENS, h / EVM_METADATA_TOKENS);
        let query = format!("ethereum:{}/erc20:0x5eed{:036x}", evm_holder(holder), c + 1);
        (query, EVM_ERC20_AMOUNT_BASE + holder, format!("SEED{c}"))
    }
}

/// The loop people write: one JSON-RPC request per query (`eth_call` of `balanceOf` on the
/// token, `eth_getBalance` for the native coin), 64 in flight, every one at the block number
/// `eth_blockNumber` gave first. Returns each query's amount, if read.
async fn naive_evm_loop(http: &reqwest::Client, url: &str, n: u64) -> Vec<Option<u64>> {
    if n == 0 {
        return Vec::new();
    }
    let rpc = |body: Value| {
        let request = http.post(url).json(&body);
        async move {
            let v: Value = request.send().await.ok()?.json().await.ok()?;
            let hex = v.get("result")?.as_str()?.strip_prefix("0x")?.to_string();
            Some(hex)
        }
    };
    let Some(tip) =
        rpc(json!({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []})).await
    else {
        return vec![None; n as usize];
    };
    let block = format!("0x{tip}");
    let mut amounts = vec![None; n as usize];
    let answers: Vec<(usize, Option<u64>)> = stream::iter(0..n)
        .map(|k| {
            let (_, _, native, h) = evm_mixed(k);
            let owner = evm_holder(h);
            let body = if native {
                json!({"jsonrpc": "2.0", "id": k, "method": "eth_getBalance", "params": [owner, block]})
            } else {
                // balanceOf(address): selector 0x70a08231, the owner in a 32-byte word.
                let data = format!("0x70a08231{:0>64}", &owner[2..]);
                json!({"jsonrpc": "2.0", "id": k, "method": "eth_call",
                       "params": [{"to": SEED_EVM_ERC20, "data": data}, block]})
            };
            let answer = rpc(body);
            async move {
                let amount = answer.await.and_then(|hex| {
                    let digits = hex.trim_start_matches('0');
                    if digits.is_empty() {
                        Some(0)
                    } else {
                        u64::from_str_radix(digits, 16).ok()
                    }
                });
                (k as usize, amount)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for (i, a) in answers {
        amounts[i] = a;
    }
    amounts
}

/// A client for the devnet's Esplora server only: `bitcoin` at `url`, as a user configures it.
fn bitcoin_client(url: &str) -> Client {
    Client::builder()
        .endpoint(Network::BitcoinMainnet, url)
        .aptos_api_key(None)
        .concurrency(CONCURRENCY)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("client")
}

/// One seeded address's confirmed history as the served devnet pages it, summed.
#[derive(Clone, Copy, Debug, Default)]
struct History {
    /// What the transactions at or below the height did to the address: its balance there.
    at_h: i128,
    /// Transactions above the height.
    above: u64,
    /// What every confirmed transaction did: the balance at the tip.
    at_tip: i128,
}

/// Every address's [`History`] at height `h`, 64 in flight: all of `/address/:a/txs/chain`,
/// page after page, each transaction's outputs to the address minus its inputs from it.
/// `None` where a page could not be read or parsed.
async fn raw_histories(
    http: &reqwest::Client,
    url: &str,
    addresses: &[String],
    h: u64,
) -> Vec<Option<History>> {
    let mut out = vec![None; addresses.len()];
    let answers: Vec<(usize, Option<History>)> = stream::iter(addresses.iter().enumerate())
        .map(|(i, a)| async move { (i, raw_history(http, url, a, h).await) })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for (i, t) in answers {
        out[i] = t;
    }
    out
}

async fn raw_history(http: &reqwest::Client, url: &str, a: &str, h: u64) -> Option<History> {
    let mut out = History::default();
    let mut last_seen: Option<String> = None;
    loop {
        let page_url = match &last_seen {
            None => format!("{url}/address/{a}/txs/chain"),
            Some(txid) => format!("{url}/address/{a}/txs/chain/{txid}"),
        };
        let response = http.get(page_url).send().await.ok()?;
        let page: Vec<Value> = response.error_for_status().ok()?.json().await.ok()?;
        for tx in &page {
            let height = tx["status"]["block_height"].as_u64()?;
            let mut net = 0i128;
            for o in tx["vout"].as_array()? {
                if o["scriptpubkey_address"].as_str() == Some(a) {
                    net += i128::from(o["value"].as_u64()?);
                }
            }
            for input in tx["vin"].as_array()? {
                let prev = &input["prevout"];
                if prev["scriptpubkey_address"].as_str() == Some(a) {
                    net -= i128::from(prev["value"].as_u64()?);
                }
            }
            out.at_tip += net;
            if height > h {
                out.above += 1;
            } else {
                out.at_h += net;
            }
        }
        match page.last() {
            Some(tx) if page.len() >= tokbal::bitcoin::PAGE_SIZE => {
                last_seen = Some(tx["txid"].as_str()?.to_string());
            }
            _ => return Some(out),
        }
    }
}

/// Rounds taken by chains of `chains[i]` dependent requests, `slots` chains in flight, each
/// started in order as soon as a slot is free: list scheduling, one request a round.
fn list_schedule(chains: &[u64], slots: usize) -> u64 {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut free: BinaryHeap<Reverse<u64>> = (0..slots.max(1)).map(|_| Reverse(0)).collect();
    let mut end = 0;
    for &length in chains {
        let Reverse(start) = free.pop().unwrap_or(Reverse(0));
        end = end.max(start + length);
        free.push(Reverse(start + length));
    }
    end
}

/// What [`evm_pins`] measured on one chain.
struct PinStats {
    /// `eth_getBlockByNumber` requests per resolution: the most, and the mean.
    max: u64,
    mean: f64,
    /// `eth_chainId` requests per resolution, at most.
    chain_id_max: u64,
    /// Requests per resolution other than blocks and the chain id (the read), at most.
    other_max: u64,
    /// Wall time of every resolution, cold, at the scenario's latency.
    wall: Duration,
    /// Resolutions whose block is not the last at or before the instant, or whose read
    /// was wrong.
    wrong: u64,
    /// The most blocks that share one timestamp among the pinned block and its neighbours.
    same_second_max: u64,
}

/// `At::Time` on the devnet `dev`'s EVM chain at `url`: 100 instants drawn over the chain's
/// span, each resolved by a fresh client (empty block cache) through `balances` with one
/// query (seeded holder 0's native balance); the blocks asked for are counted per instant,
/// then every pin is checked against the chain.
fn evm_pins(rt: &Runtime, dev: &mut DevnetProcess, url: &str) -> PinStats {
    use tokbal::evm::BlockRef;
    dev.set_latency(0);
    let probe = evm_client(url);
    let node = probe.evm(Network::EthereumMainnet).expect("evm backend");
    let secs = |t: std::time::SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (first, tip) = rt
        .block_on(async {
            let tip = node.block(BlockRef::Latest).await?;
            let first = node.block(BlockRef::Number(0)).await?;
            Ok::<_, tokbal::Error>((first, tip))
        })
        .expect("the EVM chain's ends");
    let (t0, t1) = (secs(first.time), secs(tip.time));
    let mut rng = SplitMix64(0x6576_6d2d_7069_6e00 ^ tip.number);
    let times: Vec<u64> = (0..TIME_PIN_N)
        .map(|_| t0 + rng.next() % (t1 - t0))
        .collect();
    let query = parse_all(std::iter::once(evm_native_query(0)));

    dev.set_latency(LATENCY_MS);
    let mut per = Vec::new();
    let mut pins = Vec::new();
    let mut wall_sum = Duration::ZERO;
    let mut bad_reads = 0;
    for &t in &times {
        let c = evm_client(url);
        let from = dev.counts();
        let (out, wall, _) = measured(
            rt,
            c.balances(&query, At::Time(UNIX_EPOCH + Duration::from_secs(t))),
        );
        wall_sum += wall;
        let d = dev.counts().since(from);
        per.push((
            d.evm_get_block_by_number,
            d.evm_chain_id,
            d.evm_calls - d.evm_get_block_by_number - d.evm_chain_id,
        ));
        let (e, w) = check(&out.results, |_| SEED_AMOUNT_BASE);
        bad_reads += e + w;
        pins.push(out.snapshot.block(Network::EthereumMainnet));
    }

    // Every pin against the chain: its block is at or before t, the next one after.
    dev.set_latency(0);
    let (wrong, same_second_max) = rt.block_on(async {
        let (mut wrong, mut same) = (0, 0);
        for (pin, &t) in pins.iter().zip(&times) {
            let Some(n) = *pin else {
                wrong += 1;
                continue;
            };
            let b = node.block(BlockRef::Number(n)).await;
            let next = node.block(BlockRef::Number(n + 1)).await;
            let ok = matches!(&b, Ok(b) if secs(b.time) <= t)
                && (n == tip.number || matches!(&next, Ok(nb) if secs(nb.time) > t));
            wrong += u64::from(!ok);
            // How many blocks before the pinned one share its second (up to 8 looked at).
            if let Ok(b) = &b {
                let mut k = 0;
                while k < 8 && k < n {
                    match node.block(BlockRef::Number(n - k - 1)).await {
                        Ok(p) if p.time == b.time => k += 1,
                        _ => break,
                    }
                }
                same = same.max(k + 1);
            }
        }
        (wrong, same)
    });
    let max = per.iter().map(|p| p.0).max().unwrap_or(0);
    PinStats {
        max,
        mean: per.iter().map(|p| p.0).sum::<u64>() as f64 / per.len() as f64,
        chain_id_max: per.iter().map(|p| p.1).max().unwrap_or(0),
        other_max: per.iter().map(|p| p.2).max().unwrap_or(0),
        wall: wall_sum,
        wrong: wrong + bad_reads,
        same_second_max,
    }
}

/// SplitMix64, for reproducible random instants without a dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

type Scenario = fn(&mut Bench) -> Record;

fn main() {
    // reqwest is built with rustls-no-provider: the plain loops need the provider tokbal uses.
    tokbal::tls::ensure_crypto_provider();
    if let Ok(url) = std::env::var(MEMORY_CHILD_ENV) {
        memory_child(url);
        return;
    }
    if let Ok(url) = std::env::var(HOLDERS_CHILD_ENV) {
        holders_child(url);
        return;
    }
    // `cargo bench` passes --bench; any other argument names scenarios to run.
    let chosen: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let scenarios: [(&str, Scenario); 12] = [
        ("aptos-fanout", Bench::aptos_fanout),
        ("vs-sequential", Bench::vs_sequential),
        ("overhead", Bench::overhead),
        ("amb-chunking", Bench::amb_chunking),
        ("time-pin", Bench::time_pin),
        ("memory", Bench::memory),
        ("evm-multicall", Bench::evm_multicall),
        ("evm-metadata", Bench::evm_metadata),
        ("evm-holders", Bench::evm_holders),
        ("evm-holders-1m", Bench::evm_holders_1m),
        ("evm-time-pin", Bench::evm_time_pin),
        ("bitcoin-pinned", Bench::bitcoin_pinned),
    ];
    let started = Instant::now();
    let load_at_start = load1();
    let seed_aptos = MEMORY_N.max(OVERHEAD_N).max(FANOUT_N).to_string();
    let seed_amb = AMB_UNIQUE.to_string();
    let blocks = TIME_PIN_BLOCKS.to_string();
    let seed_evm = EVM_ERC20_N.max(EVM_NATIVE_N).to_string();
    let evm_blocks = EVM_TIME_PIN_BLOCKS.to_string();
    let evm_tokens = EVM_METADATA_TOKENS.to_string();
    let seed_bitcoin = BTC_N.to_string();
    // TOKBAL_BENCH_PIN_CPUS=1: the bench on CPU 0, the devnet on CPU 1, so that neither
    // takes the other's core; figures then vary less from run to run (and differ from the
    // default, where both share every core).
    let pinned = std::env::var_os("TOKBAL_BENCH_PIN_CPUS").is_some_and(|v| v == "1")
        && std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
        && measure::pin_to_cpu(0);
    let dev = DevnetProcess::start(
        &[
            "--empty",
            "--blocks",
            &blocks,
            "--seed-aptos",
            &seed_aptos,
            "--seed-amb",
            &seed_amb,
            "--seed-evm",
            &seed_evm,
            "--seed-evm-tokens",
            &evm_tokens,
            "--evm-blocks",
            &evm_blocks,
            "--seed-bitcoin",
            &seed_bitcoin,
        ],
        pinned.then_some(1),
    )
    .expect("tokbal devnet starts");
    let mut bench = Bench {
        rt: runtime(),
        dev,
        devnet_cpu: pinned.then_some(1),
    };
    let mut records = Vec::new();
    for (name, run) in scenarios {
        if !chosen.is_empty() && !chosen.iter().any(|c| c == name) {
            continue;
        }
        let load = load1();
        let mut record = run(&mut bench);
        record.set("load1", json!(load));
        if pinned {
            record.set("pinned_cpus", json!(true));
        }
        println!("{}", record.line());
        records.push(record);
    }
    drop(bench);
    summary(&records);
    println!(
        "total {:.1} s; 1-minute load {load_at_start:.2} at start, {:.2} at end; {} cores",
        started.elapsed().as_secs_f64(),
        load1(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
}

fn summary(records: &[Record]) {
    println!();
    println!(
        "{:<14} {:>7} {:>4} {:>4} {:>9} {:>9}  {:<56} target",
        "scenario", "n", "conc", "lat", "wall s", "floor s", "figures"
    );
    for r in records {
        let g = |k: &str| r.get(k).map(|v| v.to_string()).unwrap_or_default();
        let figures = match g("scenario").trim_matches('"') {
            "aptos-fanout" => format!(
                "ratio {} requests {} (plain loop {})",
                g("ratio_to_floor"),
                g("requests"),
                g("plain_ratio_to_floor")
            ),
            "vs-sequential" => format!(
                "speedup {}x (sequential {} s)",
                g("speedup"),
                g("sequential_wall_s")
            ),
            "overhead" => format!(
                "cpu_ratio {} wall_ratio {} ({} vs {} us/q)",
                g("cpu_ratio"),
                g("wall_ratio"),
                g("cpu_us_per_query"),
                g("plain_cpu_us_per_query")
            ),
            "amb-chunking" => format!(
                "calls {}/{} ratio {}",
                g("calls"),
                g("expected_calls"),
                g("ratio_to_floor")
            ),
            "time-pin" => format!(
                "blocks max {} mean {} (warm {})",
                g("max_block_requests"),
                g("mean_block_requests"),
                g("warm_mean_block_requests")
            ),
            "memory" => format!(
                "peak {} MiB (baseline {})",
                g("peak_rss_mib"),
                g("baseline_rss_mib")
            ),
            "evm-multicall" => format!(
                "requests {}/{} ratio {} naive {}x slower, {}x requests",
                g("requests"),
                g("expected_requests"),
                g("ratio_to_floor"),
                g("speedup"),
                g("request_ratio")
            ),
            "evm-metadata" => format!(
                "requests {} -> {} with metadata (allowed {}) ratio {}",
                g("requests"),
                g("requests_with_metadata"),
                g("allowed_requests_with_metadata"),
                g("ratio_to_floor")
            ),
            "evm-holders" => format!(
                "log requests {} (floor {}), balance requests {} (floor {}), ratio {} (to the chain {}), verified {}",
                g("log_requests"),
                g("log_floor"),
                g("balance_requests"),
                g("balance_floor"),
                g("ratio_to_floor"),
                g("ratio_to_chain_floor"),
                g("verified")
            ),
            "evm-holders-1m" => format!(
                "{} candidates, peak {} MiB",
                g("candidates"),
                g("peak_rss_mib")
            ),
            "evm-time-pin" => format!(
                "blocks max {} mean {} (sub-second max {} mean {})",
                g("max_block_requests"),
                g("mean_block_requests"),
                g("subsecond_max_block_requests"),
                g("subsecond_mean_block_requests")
            ),
            "bitcoin-pinned" => format!(
                "requests {}/{} ratio {} quiet {} moved {} (quiet max {} req)",
                g("requests"),
                g("expected_requests"),
                g("ratio_to_floor"),
                g("quiet_addresses"),
                g("moved_addresses"),
                g("quiet_max_requests")
            ),
            _ => String::new(),
        };
        let pass = matches!(r.get("pass"), Some(Value::Bool(true)));
        println!(
            "{:<14} {:>7} {:>4} {:>4} {:>9} {:>9}  {:<56} {} [{}]",
            g("scenario").trim_matches('"'),
            g("n"),
            g("concurrency"),
            g("latency_ms"),
            g("wall_s"),
            g("floor_s"),
            figures,
            g("target").trim_matches('"'),
            if pass { "ok" } else { "MISSED" }
        );
    }
}
