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
use server::{amb_query, aptos_query, Counts, DevnetProcess, SEED_AMOUNT_BASE, SEED_BASE};

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
            .set(
                "cpu_s_each",
                json!(tok
                    .iter()
                    .map(|x| round(x.1.as_secs_f64(), 3))
                    .collect::<Vec<_>>()),
            )
            .set(
                "plain_cpu_s_each",
                json!(plain
                    .iter()
                    .map(|x| round(x.1.as_secs_f64(), 3))
                    .collect::<Vec<_>>()),
            )
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
    // `cargo bench` passes --bench; any other argument names scenarios to run.
    let chosen: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let scenarios: [(&str, Scenario); 6] = [
        ("aptos-fanout", Bench::aptos_fanout),
        ("vs-sequential", Bench::vs_sequential),
        ("overhead", Bench::overhead),
        ("amb-chunking", Bench::amb_chunking),
        ("time-pin", Bench::time_pin),
        ("memory", Bench::memory),
    ];
    let started = Instant::now();
    let load_at_start = load1();
    let seed_aptos = MEMORY_N.max(OVERHEAD_N).max(FANOUT_N).to_string();
    let seed_amb = AMB_UNIQUE.to_string();
    let blocks = TIME_PIN_BLOCKS.to_string();
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
        ],
        pinned.then_some(1),
    )
    .expect("tokbal devnet starts");
    let mut bench = Bench { rt: runtime(), dev };
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
