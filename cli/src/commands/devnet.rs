//! `tokbal devnet`: every half of the devnet (an Aptos node, an AMB Query endpoint, an EVM
//! JSON-RPC node and an Esplora server) in the foreground, until interrupted.
//!
//! It prints, in this order: `aptos: URL`, `amb: URL`, the AMB credentials, `evm: URL`,
//! `bitcoin: URL`, then one `serving until ...` line (the last before any `--control`
//! answer).
//!
//! For a client measured in another process (the benchmarks), it can also seed many owners
//! (`--seed-aptos N`, `--seed-amb N`, `--seed-evm N`) and an ERC-20 transfer history
//! (`--seed-evm-transfers LOGS,BLOCKS,HOLDERS`, which adds an `evm transfers: ...` line
//! before `serving until ...`), run chains of any length (`--blocks N`, `--evm-blocks N`,
//! with `--evm-block-ms` and `--evm-block-jitter` for sub-second, irregular EVM blocks),
//! limit `eth_getLogs` as providers do (`--logs-max-range N`, `--logs-max-results N`,
//! `--logs-error-style STYLE`), and take commands on stdin (`--control`): `stats` (request
//! counters of every half, one JSON line), `reset` (counters back to zero) and `latency MS`,
//! each answered by one line on stdout.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use tokbal::{Error, ErrorKind};
use tokbal_devnet::{
    Devnet, DevnetBuilder, Faults, LogsErrorStyle, ThrottleStyle, APT_COIN,
    SEED_EVM_TRANSFERS_CONTRACT, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY,
};

use super::EXIT_OK;

/// Blocks in the devnet chain the CLI starts: at 250 ms a block, about 2.8 hours of history
/// from 2026-01-01T00:00:00Z, enough to hold the demo data's instants.
pub const DEMO_CHAIN_BLOCKS: u64 = 40_000;

/// Arguments of `tokbal devnet`.
#[derive(Debug, clap::Args)]
pub struct DevnetArgs {
    /// Port of the Aptos node (0: any free port).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    aptos_port: u16,
    /// Port of the AMB endpoint (0: any free port).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    amb_port: u16,
    /// Port of the EVM JSON-RPC node (0: any free port).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    evm_port: u16,
    /// Chain id the EVM node reports (`eth_chainId`); 1 is Ethereum mainnet, which tokbal's
    /// `ethereum:` queries expect.
    #[arg(long, value_name = "ID", default_value_t = 1)]
    evm_chain_id: u64,
    /// Added to every answer (of every half), in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 0)]
    latency_ms: u64,
    /// Share of requests answered 429 with Retry-After (0 to 1).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    throttle_ratio: f64,
    /// Share of requests answered with --fail-status (0 to 1).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    fail_ratio: f64,
    /// Status of the failures --fail-ratio injects.
    #[arg(long, value_name = "STATUS", default_value_t = 503)]
    fail_status: u16,
    /// Share of requests whose connection is cut mid-answer (0 to 1).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    drop_ratio: f64,
    /// The Aptos node acts as a replica this many versions behind (the AMB endpoint as one
    /// this many seconds behind, the EVM node as one this many blocks behind).
    #[arg(long, value_name = "N", default_value_t = 0)]
    lag: u64,
    /// Seconds of Retry-After on throttled and failed answers.
    #[arg(long, value_name = "SECS", default_value_t = 1)]
    retry_after: u64,
    /// Start with empty ledgers instead of the demo balances.
    #[arg(long)]
    empty: bool,
    /// Blocks in the Aptos chain at start (computed, not stored: 10^8 costs no more than 10).
    #[arg(long, value_name = "N", default_value_t = DEMO_CHAIN_BLOCKS)]
    blocks: u64,
    /// Seed N Aptos owners: owner i (from 0) is 0x followed by SEED_BASE + i in 64 hex
    /// digits (SEED_BASE = 0x100000000), holding 1000000 + i octas of APT from the tip on.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed_aptos: u64,
    /// Seed N Ethereum mainnet owners on the AMB endpoint: owner i (from 0) is 0x followed
    /// by SEED_BASE + i in 40 hex digits, holding 1000000 + i wei of ETH from 2001-09-09
    /// (epoch second 1000000000) on.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed_amb: u64,
    /// Seed 2N holdings on the EVM node, from its genesis: holders 0..N (holder i is 0x
    /// followed by SEED_BASE + i in 40 hex digits) hold 1000000 + i wei of the native coin,
    /// and 10^18 + i of the ERC-20 at 0x5eed20005eed20005eed20005eed20005eed2000
    /// (SEED_EVM_ERC20_CONTRACT).
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed_evm: u64,
    /// Seed N more ERC-20 contracts on the EVM node, from its genesis: contract c (at
    /// 0x5eed followed by c + 1 in 36 hex digits) has the metadata `Seed Token c` / `SEEDc`
    /// / 18 decimals, and holders 0..100 hold 10^18 + i of it.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed_evm_tokens: u64,
    /// Seed a transfer history on the EVM node: LOGS `Transfer` logs among HOLDERS holders
    /// over the last BLOCKS blocks (the chain is made at least BLOCKS blocks long) of the
    /// ERC-20 at 0x5eed7f005eed7f005eed7f005eed7f005eed7f00
    /// (tokbal_devnet::SEED_EVM_TRANSFERS_CONTRACT), deployed at the first of them; holder i
    /// (0x followed by SEED_BASE + i in 40 hex digits) holds a balance at the end, and the
    /// supply is their sum. 1,000,000 logs among 1,000,000 holders take about 32 MB.
    #[arg(long, value_name = "LOGS,BLOCKS,HOLDERS", value_parser = parse_transfers)]
    seed_evm_transfers: Option<(u64, u64, u64)>,
    /// The most blocks one eth_getLogs query may span on the EVM node (one block is always
    /// answered).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    logs_max_range: Option<u64>,
    /// The most logs one eth_getLogs answer may hold on the EVM node (one block is always
    /// answered whole).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    logs_max_results: Option<u64>,
    /// How the EVM node refuses an eth_getLogs query over a cap: infura (-32005 with the
    /// range that works as [0xA, 0xB] and in error.data), alchemy (-32602 "... this block
    /// range should work: [0xa, 0xb]"), range-dash (reth: "retry with the range A-B" for
    /// too many results, no range for too many blocks), plain (what is too large, no range)
    /// or timeout (-32000 "query timeout exceeded").
    #[arg(long, value_name = "STYLE", value_enum, default_value_t = LogsStyle::Infura)]
    logs_error_style: LogsStyle,
    /// How the EVM node answers a throttled request: http429 (429 with Retry-After),
    /// json-rpc (a 200 with -32005 "rate limit exceeded" for each call) or compute-units (a
    /// 200 with -32005 "... compute units per second capacity ..." for each call).
    #[arg(long, value_name = "STYLE", value_enum, default_value_t = EvmThrottle::Http429)]
    evm_throttle_style: EvmThrottle,
    /// Seed N addresses on the Esplora server (address i is tokbal_devnet::seed_address(i),
    /// a P2WPKH address), each with a history of 1 to 200 transactions spread over the chain.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed_bitcoin: u64,
    /// Blocks in the EVM chain at start (computed, not stored: 3 * 10^8 costs no more than
    /// 10).
    #[arg(long, value_name = "N", default_value_t = tokbal_devnet::evm::DEFAULT_EVM_INITIAL_BLOCKS)]
    evm_blocks: u64,
    /// Milliseconds between EVM blocks (at least 1). Below 1000, several blocks share a
    /// timestamp (whole seconds), as on L2s.
    #[arg(long, value_name = "MS", default_value_t = 12_000)]
    evm_block_ms: u64,
    /// Give EVM block times a seeded jitter of less than half the interval (irregular
    /// spacing; times still increase and timestamps never decrease).
    #[arg(long)]
    evm_block_jitter: bool,
    /// Take commands on stdin, one a line, each answered by one line on stdout: `stats`
    /// (request counters of every half as one JSON object: `aptos`, `amb`, `evm`), `reset`
    /// (counters to zero), `latency MS` (added to every answer of every half). The devnet
    /// stops at the end of stdin.
    #[arg(long)]
    control: bool,
}

/// `--logs-error-style`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogsStyle {
    /// Infura's shape.
    Infura,
    /// Alchemy's shape.
    Alchemy,
    /// reth's shape.
    RangeDash,
    /// No range suggested.
    Plain,
    /// A timeout.
    Timeout,
}

impl From<LogsStyle> for LogsErrorStyle {
    fn from(s: LogsStyle) -> Self {
        match s {
            LogsStyle::Infura => LogsErrorStyle::Infura,
            LogsStyle::Alchemy => LogsErrorStyle::Alchemy,
            LogsStyle::RangeDash => LogsErrorStyle::RangeDash,
            LogsStyle::Plain => LogsErrorStyle::Plain,
            LogsStyle::Timeout => LogsErrorStyle::Timeout,
        }
    }
}

/// `--evm-throttle-style`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EvmThrottle {
    /// 429 with Retry-After.
    Http429,
    /// In band, "rate limit exceeded".
    JsonRpc,
    /// In band, compute units.
    ComputeUnits,
}

impl From<EvmThrottle> for ThrottleStyle {
    fn from(s: EvmThrottle) -> Self {
        match s {
            EvmThrottle::Http429 => ThrottleStyle::Http429,
            EvmThrottle::JsonRpc => ThrottleStyle::JsonRpc,
            EvmThrottle::ComputeUnits => ThrottleStyle::ComputeUnits,
        }
    }
}

/// `LOGS,BLOCKS,HOLDERS` of `--seed-evm-transfers`.
fn parse_transfers(s: &str) -> Result<(u64, u64, u64), String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let number = |what: &str, v: &str| {
        v.replace('_', "")
            .parse::<u64>()
            .map_err(|_| format!("{what} {v:?} is not a whole number"))
    };
    match parts.as_slice() {
        [logs, blocks, holders] => Ok((
            number("LOGS", logs)?,
            number("BLOCKS", blocks)?,
            number("HOLDERS", holders)?,
        )),
        _ => Err(format!(
            "want LOGS,BLOCKS,HOLDERS (three numbers, say 200000,1000000,50000), got {s:?}"
        )),
    }
}

/// First seeded owner's number (`--seed-aptos`, `--seed-amb`): clear of the special
/// addresses 0x0..0xf and of the demo accounts.
pub const SEED_BASE: u64 = 0x1_0000_0000;
/// Seeded balances are `SEED_AMOUNT_BASE + i`.
pub const SEED_AMOUNT_BASE: u64 = 1_000_000;
/// Epoch second from which seeded AMB balances hold (2001-09-09T01:46:40Z).
pub const SEED_AMB_SINCE_SECS: i64 = 1_000_000_000;
/// The ERC-20 contract `--seed-evm` deploys (at the EVM genesis) and seeds: holder i holds
/// `tokbal_devnet::seed_erc20_amount(i)` = 10^18 + i. Clear of the demo contracts and of the
/// devnet's special ones.
pub const SEED_EVM_ERC20_CONTRACT: &str = "0x5eed20005eed20005eed20005eed20005eed2000";
/// Holders of each contract `--seed-evm-tokens` seeds.
pub const SEED_EVM_TOKEN_HOLDERS: u64 = 100;

/// The address of contract `c` of `--seed-evm-tokens`.
pub fn seed_evm_token(c: u64) -> String {
    format!("0x5eed{:036x}", c + 1)
}

/// The devnet the CLI's commands start: the demo chain, optionally seeded.
/// The seed of `--seed-bitcoin`'s histories (fixed, so that runs compare).
pub const SEED_BITCOIN_SEED: u64 = 0x5eed_b17c;

pub fn demo_builder(seeded: bool) -> DevnetBuilder {
    let b = Devnet::builder().initial_blocks(DEMO_CHAIN_BLOCKS);
    if seeded {
        b.with_demo_data()
    } else {
        b
    }
}

pub async fn run(args: DevnetArgs) -> Result<ExitCode, Error> {
    for (name, p) in [
        ("throttle_ratio", args.throttle_ratio),
        ("fail_ratio", args.fail_ratio),
        ("drop_ratio", args.drop_ratio),
    ] {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::invalid_input(
                name,
                &p.to_string(),
                "a share between 0 and 1",
            ));
        }
    }
    if args.evm_block_ms == 0 {
        return Err(Error::invalid_input(
            "evm_block_ms",
            "0",
            "at least 1 millisecond between blocks",
        ));
    }
    let net = demo_builder(!args.empty)
        .initial_blocks(args.blocks)
        .port(args.aptos_port)
        .amb_port(args.amb_port)
        .evm_port(args.evm_port)
        .evm_chain_id(args.evm_chain_id)
        .evm_initial_blocks(
            args.evm_blocks
                .max(args.seed_evm_transfers.map_or(0, |(_, blocks, _)| blocks)),
        )
        .evm_block_interval(Duration::from_millis(args.evm_block_ms))
        .evm_block_jitter(args.evm_block_jitter)
        .start()
        .await
        .map_err(|e| {
            Error::new(
                ErrorKind::Transport,
                format!("cannot start the devnet: {e}"),
            )
        })?;
    seed(&net, &args)?;
    let transfers = match args.seed_evm_transfers {
        Some((logs, blocks, holders)) => Some(
            net.evm()
                .seed_transfer_history(SEED_EVM_TRANSFERS_CONTRACT, logs, blocks, holders)
                .map_err(|e| {
                    Error::new(
                        ErrorKind::InvalidInput,
                        format!("cannot seed --seed-evm-transfers {logs},{blocks},{holders}: {e}"),
                    )
                })?,
        ),
        None => None,
    };
    let evm = net.evm();
    evm.set_logs_max_range(args.logs_max_range);
    evm.set_logs_max_results(args.logs_max_results);
    evm.set_logs_error_style(args.logs_error_style.into());
    evm.set_throttle_style(args.evm_throttle_style.into());
    for faults in all_faults(&net) {
        faults.set_latency(Duration::from_millis(args.latency_ms));
        faults.set_retry_after_secs(args.retry_after);
        faults.throttle_ratio(args.throttle_ratio);
        faults.fail_ratio(args.fail_ratio, args.fail_status);
        faults.drop_ratio(args.drop_ratio);
        if args.lag > 0 {
            faults.lag(args.lag);
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "aptos: {}", net.aptos_url())
        .and_then(|()| writeln!(out, "amb: {}", net.amb_url()))
        .and_then(|()| {
            writeln!(
                out,
                "credentials: AWS_ACCESS_KEY_ID={TEST_ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={TEST_SECRET_ACCESS_KEY}"
            )
        })
        .and_then(|()| writeln!(out, "evm: {}", net.evm_url()))
        .and_then(|()| writeln!(out, "bitcoin: {}", net.esplora_url()))
        .and_then(|()| match &transfers {
            Some(h) => writeln!(
                out,
                "evm transfers: {} blocks {}-{}, {} logs, {} holders, supply {}",
                h.contract, h.first_block, h.last_block, h.logs, h.holders, h.total_supply
            ),
            None => Ok(()),
        })
        .and_then(|()| {
            if args.control {
                writeln!(out, "serving until the end of stdin or Ctrl-C")
            } else {
                writeln!(out, "serving until interrupted (Ctrl-C)")
            }
        })
        .and_then(|()| out.flush())
        .map_err(super::write_failed)?;
    drop(out);
    let interrupted = async {
        tokio::signal::ctrl_c()
            .await
            .map_err(|e| Error::new(ErrorKind::Transport, format!("cannot wait for Ctrl-C: {e}")))
    };
    if args.control {
        tokio::select! {
            r = interrupted => r?,
            r = control(&net) => r?,
        }
    } else {
        interrupted.await?;
    }
    net.shutdown().await;
    Ok(ExitCode::from(EXIT_OK))
}

/// The fault switches of every half.
fn all_faults(net: &Devnet) -> [&Faults; 4] {
    [
        net.aptos().faults(),
        net.amb().faults(),
        net.evm().faults(),
        net.esplora().faults(),
    ]
}

/// Seeds the owners `--seed-aptos`, `--seed-amb` and `--seed-evm` ask for.
fn seed(net: &Devnet, args: &DevnetArgs) -> Result<(), Error> {
    let refused = |what: &str, e: &dyn std::fmt::Display| {
        Error::new(ErrorKind::InvalidInput, format!("cannot seed {what}: {e}"))
    };
    for i in 0..args.seed_aptos {
        let owner = format!("0x{:064x}", SEED_BASE + i);
        net.aptos()
            .set_balance(&owner, APT_COIN, SEED_AMOUNT_BASE + i)
            .map_err(|e| refused(&owner, &e))?;
    }
    for i in 0..args.seed_amb {
        let owner = format!("0x{:040x}", SEED_BASE + i);
        let amount = (SEED_AMOUNT_BASE + i).to_string();
        net.amb()
            .set_balance(
                "ETHEREUM_MAINNET",
                &owner,
                None,
                Some("eth"),
                SEED_AMB_SINCE_SECS,
                &amount,
            )
            .map_err(|e| refused(&owner, &e))?;
    }
    if args.seed_evm > 0 {
        let evm = net.evm();
        evm.seed_native_holders(args.seed_evm);
        evm.seed_erc20_holders(SEED_EVM_ERC20_CONTRACT, args.seed_evm)
            .map_err(|e| refused(SEED_EVM_ERC20_CONTRACT, &e))?;
    }
    for c in 0..args.seed_evm_tokens {
        let evm = net.evm();
        let contract = seed_evm_token(c);
        evm.seed_erc20_holders(&contract, SEED_EVM_TOKEN_HOLDERS)
            .map_err(|e| refused(&contract, &e))?;
        let metadata = tokbal_devnet::EvmTokenMetadata::new(
            Some(&format!("Seed Token {c}")),
            Some(&format!("SEED{c}")),
            Some(18),
        );
        evm.set_token_metadata_at(&contract, 0, metadata)
            .map_err(|e| refused(&contract, &e))?;
    }
    if args.seed_bitcoin > 0 {
        net.esplora()
            .seed_addresses(args.seed_bitcoin, 1..=200, SEED_BITCOIN_SEED);
    }
    Ok(())
}

/// Answers the commands read from stdin until its end (see [`DevnetArgs::control`]).
async fn control(net: &Devnet) -> Result<(), Error> {
    // Stdin is read on a thread of its own, one line at a time.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<String>>(1);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = rx.recv().await {
        let line =
            line.map_err(|e| Error::new(ErrorKind::Transport, format!("cannot read stdin: {e}")))?;
        let mut words = line.split_whitespace();
        let answer = match (words.next(), words.next(), words.next()) {
            (None, ..) => continue,
            (Some("stats"), None, _) => stats(net).to_string(),
            (Some("reset"), None, _) => {
                net.aptos().reset_requests();
                net.amb().reset_requests();
                net.evm().reset_requests();
                net.esplora().reset_requests();
                "ok".to_string()
            }
            (Some("latency"), Some(ms), None) => match ms.parse::<u64>() {
                Ok(ms) => {
                    for faults in all_faults(net) {
                        faults.set_latency(Duration::from_millis(ms));
                    }
                    "ok".to_string()
                }
                Err(_) => format!("error: latency {ms:?} is not a whole number of milliseconds"),
            },
            _ => format!("error: unknown command {line:?} (stats, reset, latency MS)"),
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{answer}")
            .and_then(|()| out.flush())
            .map_err(super::write_failed)?;
    }
    Ok(())
}

/// Every half's request counters, as one JSON object.
fn stats(net: &Devnet) -> serde_json::Value {
    let a = net.aptos().requests();
    let m = net.amb().requests();
    let e = net.evm().requests();
    let b = net.esplora().requests();
    serde_json::json!({
        "aptos": {
            "total": a.total,
            "ledger_info": a.ledger_info,
            "healthy": a.healthy,
            "balance": a.balance,
            "block": a.block,
            "other": a.other,
        },
        "amb": {
            "total": m.total,
            "refused_auth": m.refused_auth,
            "calls": m.calls,
            "items": m.items,
            "other": m.other,
        },
        "evm": {
            "http": e.http,
            "batches": e.batches,
            "calls": e.calls,
            "chain_id": e.chain_id,
            "block_number": e.block_number,
            "get_block_by_number": e.get_block_by_number,
            "get_block_by_hash": e.get_block_by_hash,
            "get_balance": e.get_balance,
            "get_code": e.get_code,
            "call": e.call,
            "get_logs": e.get_logs,
            "get_logs_refused": e.get_logs_refused,
            "get_logs_throttled": e.get_logs_throttled,
            "logs_returned": e.logs_returned,
            "unknown_method": e.unknown_method,
            "invalid": e.invalid,
            "inner_calls": e.inner_calls,
        },
        "bitcoin": {
            "http": b.http,
            "tip_height": b.tip_height,
            "tip_hash": b.tip_hash,
            "block_height": b.block_height,
            "block": b.block,
            "address": b.address,
            "address_txs": b.address_txs,
            "mempool": b.mempool,
            "invalid": b.invalid,
            "not_found": b.not_found,
        },
    })
}
