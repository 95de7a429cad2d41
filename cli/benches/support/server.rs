//! The devnet in a process of its own (`tokbal devnet --control`), driven over its stdin and
//! stdout, so that the server's CPU time and memory are never counted as the client's.

use std::io::{self, BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// First seeded owner's number (`tokbal devnet --seed-aptos / --seed-amb`).
pub const SEED_BASE: u64 = 0x1_0000_0000;
/// Seeded owner `i` holds `SEED_AMOUNT_BASE + i`.
pub const SEED_AMOUNT_BASE: u64 = 1_000_000;

/// The query for seeded Aptos owner `i` (APT).
pub fn aptos_query(i: u64) -> String {
    format!("aptos:0x{:064x}", SEED_BASE + i)
}

/// The query for seeded Ethereum owner `i` (ETH).
pub fn amb_query(i: u64) -> String {
    format!("ethereum:0x{:040x}", SEED_BASE + i)
}

/// The ERC-20 contract `tokbal devnet --seed-evm` seeds (the CLI's `SEED_EVM_ERC20_CONTRACT`).
pub const SEED_EVM_ERC20: &str = "0x5eed20005eed20005eed20005eed20005eed2000";

/// Seeded EVM holder `i`'s address (`tokbal devnet --seed-evm`).
pub fn evm_holder(i: u64) -> String {
    format!("0x{:040x}", SEED_BASE + i)
}

/// The query for seeded EVM holder `i`'s native balance (`--seed-evm`: 1000000 + i wei).
pub fn evm_native_query(i: u64) -> String {
    format!("ethereum:{}", evm_holder(i))
}

/// The query for seeded EVM holder `i`'s balance of [`SEED_EVM_ERC20`] (10^18 + i).
pub fn evm_erc20_query(i: u64) -> String {
    format!("ethereum:{}/erc20:{SEED_EVM_ERC20}", evm_holder(i))
}

/// The seed of `tokbal devnet --seed-bitcoin`'s histories (the CLI's `SEED_BITCOIN_SEED`,
/// copied: the CLI has no library target). `bitcoin-pinned` checks that a devnet model seeded
/// with it answers what the served devnet does, so a change on either side shows.
pub const SEED_BITCOIN_SEED: u64 = 0x5eed_b17c;
/// Transactions per seeded Bitcoin address (`--seed-bitcoin`: 1 to 200).
pub const SEED_BITCOIN_TXS: std::ops::RangeInclusive<u32> = 1..=200;

/// The query for seeded Bitcoin address `i` (`tokbal_devnet::seed_address(i)`, P2WPKH).
pub fn bitcoin_query(i: u64) -> String {
    format!("bitcoin:{}", tokbal_devnet::seed_address(i))
}

/// Request counters of every half, as `stats` reports them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub aptos_total: u64,
    pub aptos_ledger_info: u64,
    pub aptos_balance: u64,
    pub aptos_block: u64,
    pub amb_total: u64,
    pub amb_calls: u64,
    pub amb_items: u64,
    /// EVM: HTTP requests, whatever their body.
    pub evm_http: u64,
    /// EVM: JSON-RPC calls (a batch counts each of its calls).
    pub evm_calls: u64,
    pub evm_chain_id: u64,
    pub evm_block_number: u64,
    pub evm_get_block_by_number: u64,
    pub evm_get_balance: u64,
    pub evm_get_code: u64,
    pub evm_call: u64,
    /// EVM: calls Multicall3's `aggregate3` ran on behalf of `eth_call`s.
    pub evm_inner_calls: u64,
    /// Bitcoin (Esplora): HTTP requests, whatever their path.
    pub btc_http: u64,
    pub btc_tip_height: u64,
    /// `/block-height/:h`.
    pub btc_block_height: u64,
    /// `/block/:hash`.
    pub btc_block: u64,
    /// `/address/:a` (the confirmed totals).
    pub btc_address: u64,
    /// `/address/:a/txs[/chain[/:last_seen]]` (one page of history each).
    pub btc_address_txs: u64,
}

impl Counts {
    /// What was counted after `before`.
    pub fn since(self, before: Counts) -> Counts {
        Counts {
            aptos_total: self.aptos_total - before.aptos_total,
            aptos_ledger_info: self.aptos_ledger_info - before.aptos_ledger_info,
            aptos_balance: self.aptos_balance - before.aptos_balance,
            aptos_block: self.aptos_block - before.aptos_block,
            amb_total: self.amb_total - before.amb_total,
            amb_calls: self.amb_calls - before.amb_calls,
            amb_items: self.amb_items - before.amb_items,
            evm_http: self.evm_http - before.evm_http,
            evm_calls: self.evm_calls - before.evm_calls,
            evm_chain_id: self.evm_chain_id - before.evm_chain_id,
            evm_block_number: self.evm_block_number - before.evm_block_number,
            evm_get_block_by_number: self.evm_get_block_by_number - before.evm_get_block_by_number,
            evm_get_balance: self.evm_get_balance - before.evm_get_balance,
            evm_get_code: self.evm_get_code - before.evm_get_code,
            evm_call: self.evm_call - before.evm_call,
            evm_inner_calls: self.evm_inner_calls - before.evm_inner_calls,
            btc_http: self.btc_http - before.btc_http,
            btc_tip_height: self.btc_tip_height - before.btc_tip_height,
            btc_block_height: self.btc_block_height - before.btc_block_height,
            btc_block: self.btc_block - before.btc_block,
            btc_address: self.btc_address - before.btc_address,
            btc_address_txs: self.btc_address_txs - before.btc_address_txs,
        }
    }
}

/// A running `tokbal devnet --control`. Dropping it closes its stdin, which stops it.
pub struct DevnetProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    pub aptos_url: String,
    pub amb_url: String,
    /// The EVM node's URL; `None` from a `tokbal` that predates it (`TOKBAL_BENCH_DEVNET`).
    pub evm_url: Option<String>,
    /// The Esplora server's URL; `None` from a `tokbal` that predates it.
    pub bitcoin_url: Option<String>,
}

fn broken(what: String) -> io::Error {
    io::Error::other(what)
}

fn read_line(r: &mut BufReader<ChildStdout>) -> io::Result<String> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(broken("the devnet closed its stdout".into()));
    }
    Ok(line.trim_end().to_string())
}

impl DevnetProcess {
    /// Starts `tokbal devnet --control ARGS...` and reads its URLs from the lines it prints
    /// before `serving until ...`: `aptos: URL` and `amb: URL` first, then the credentials,
    /// `evm: URL` and `bitcoin: URL` (an older devnet prints no `evm:` or `bitcoin:` line).
    /// With `cpu`, the devnet runs on that CPU only.
    pub fn start(args: &[&str], cpu: Option<usize>) -> io::Result<Self> {
        // TOKBAL_BENCH_DEVNET: another tokbal binary to serve (say, to compare devnets).
        let bin = std::env::var_os("TOKBAL_BENCH_DEVNET")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_tokbal").into());
        let mut command = Command::new(bin);
        command
            .arg("devnet")
            .arg("--control")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(cpu) = cpu {
            use std::os::unix::process::CommandExt;
            // SAFETY: only sched_setaffinity runs between fork and exec; it allocates nothing.
            unsafe {
                command.pre_exec(move || {
                    if super::measure::pin_to_cpu(cpu) {
                        Ok(())
                    } else {
                        Err(io::Error::last_os_error())
                    }
                });
            }
        }
        let mut child = command.spawn()?;
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut url = |prefix: &str| -> io::Result<String> {
            let line = read_line(&mut stdout)?;
            line.strip_prefix(prefix)
                .map(str::to_string)
                .ok_or_else(|| broken(format!("expected {prefix:?}, the devnet said {line:?}")))
        };
        let aptos_url = url("aptos: ")?;
        let amb_url = url("amb: ")?;
        // Then the credentials, the EVM node's and the Esplora server's URLs, and the
        // "serving until ..." line, which is the last before any answer to a command.
        let (mut evm_url, mut bitcoin_url) = (None, None);
        loop {
            let line = read_line(&mut stdout)?;
            if let Some(u) = line.strip_prefix("evm: ") {
                evm_url = Some(u.to_string());
            } else if let Some(u) = line.strip_prefix("bitcoin: ") {
                bitcoin_url = Some(u.to_string());
            } else if line.starts_with("serving until") {
                break;
            }
        }
        Ok(DevnetProcess {
            child,
            stdin,
            stdout,
            aptos_url,
            amb_url,
            evm_url,
            bitcoin_url,
        })
    }

    /// Sends one command and returns its one-line answer.
    pub fn command(&mut self, command: &str) -> io::Result<String> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| broken("stdin closed".into()))?;
        writeln!(stdin, "{command}")?;
        stdin.flush()?;
        let answer = read_line(&mut self.stdout)?;
        if answer.starts_with("error") {
            return Err(broken(format!("{command}: {answer}")));
        }
        Ok(answer)
    }

    /// Sets the latency added to every answer of every half.
    pub fn set_latency(&mut self, ms: u64) {
        self.command(&format!("latency {ms}")).expect("latency");
    }

    /// CPU time the devnet process has used so far: the nanoseconds each of its threads has
    /// run (`/proc/PID/task/*/schedstat`), or, where the kernel keeps no such figure, user
    /// and system time in clock ticks (10 ms steps: too coarse for a 0.1 s scenario).
    pub fn cpu_time(&self) -> Duration {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.child.id()));
        let run_ns: Option<u64> = tasks.ok().and_then(|tasks| {
            tasks
                .map(|task| {
                    let path = task.ok()?.path().join("schedstat");
                    let line = std::fs::read_to_string(path).ok()?;
                    line.split_whitespace().next()?.parse::<u64>().ok()
                })
                .sum()
        });
        match run_ns {
            Some(ns) if ns > 0 => Duration::from_nanos(ns),
            _ => self.cpu_ticks(),
        }
    }

    fn cpu_ticks(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which may hold spaces): utime and stime are the
        // 12th and 13th, in clock ticks.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let ticks: u64 = rest
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|t| t.parse::<u64>().ok())
            .sum();
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        Duration::from_micros(ticks * 1_000_000 / hz)
    }

    /// The request counters so far.
    pub fn counts(&mut self) -> Counts {
        let line = self.command("stats").expect("stats");
        let v: serde_json::Value = serde_json::from_str(&line).expect("stats is JSON");
        // An older devnet has no `evm` or `bitcoin` object: their counters read 0.
        let n = |half: &str, key: &str| v[half][key].as_u64().unwrap_or(0);
        Counts {
            aptos_total: n("aptos", "total"),
            aptos_ledger_info: n("aptos", "ledger_info"),
            aptos_balance: n("aptos", "balance"),
            aptos_block: n("aptos", "block"),
            amb_total: n("amb", "total"),
            amb_calls: n("amb", "calls"),
            amb_items: n("amb", "items"),
            evm_http: n("evm", "http"),
            evm_calls: n("evm", "calls"),
            evm_chain_id: n("evm", "chain_id"),
            evm_block_number: n("evm", "block_number"),
            evm_get_block_by_number: n("evm", "get_block_by_number"),
            evm_get_balance: n("evm", "get_balance"),
            evm_get_code: n("evm", "get_code"),
            evm_call: n("evm", "call"),
            evm_inner_calls: n("evm", "inner_calls"),
            btc_http: n("bitcoin", "http"),
            btc_tip_height: n("bitcoin", "tip_height"),
            btc_block_height: n("bitcoin", "block_height"),
            btc_block: n("bitcoin", "block"),
            btc_address: n("bitcoin", "address"),
            btc_address_txs: n("bitcoin", "address_txs"),
        }
    }
}

impl Drop for DevnetProcess {
    fn drop(&mut self) {
        // The end of stdin stops the devnet; kill it only if it does not go.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
