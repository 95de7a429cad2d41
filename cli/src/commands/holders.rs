//! `tokbal holders`: every holder of a token at one block, proven by its supply.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::ValueEnum;
use futures::StreamExt;
use serde_json::{json, Map, Value};
use tokbal::holders::{listable, Holder, HoldersOptions, HoldersSummary};
use tokbal::{Amount, Asset, Error};

use super::{
    exit_for, safe_text, write_failed, AtArgs, ConnectArgs, MetadataArgs, EXIT_SOME_ERRORS,
};

/// Arguments of `tokbal holders`.
#[derive(Debug, clap::Args)]
pub struct HoldersArgs {
    /// The token, NETWORK:TOKEN: ethereum:erc20:0xCONTRACT, ethereum:erc721:0xCONTRACT (holders
    /// with their counts), ethereum:erc1155:0xCONTRACT:ID (holders of that id).
    #[arg(value_name = "NETWORK:TOKEN")]
    token: String,
    #[command(flatten)]
    at: AtArgs,
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(flatten)]
    metadata: MetadataArgs,
    /// Read logs from block N on, instead of from the contract's creation block (found by
    /// bisection on eth_getCode, which needs a node that keeps old state).
    #[arg(long, value_name = "N")]
    from_block: Option<u64>,
    /// List only holders with at least AMOUNT, in base units (the proof still counts all).
    #[arg(long, value_name = "AMOUNT")]
    min: Option<String>,
    /// json: one document, holders largest first; jsonl: one line per holder as its balance
    /// is read, then the summary; csv: the holders as rows, the summary on stderr.
    #[arg(long, value_enum, default_value_t = HoldersFormat::Json)]
    format: HoldersFormat,
    /// Requests in flight at once (log ranges, then balances).
    #[arg(long, value_name = "N", default_value_t = tokbal::DEFAULT_CONCURRENCY)]
    concurrency: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum HoldersFormat {
    Json,
    Jsonl,
    Csv,
}

pub async fn run(args: HoldersArgs) -> Result<ExitCode, Error> {
    // Everything that can be wrong with the command is found before any request.
    let asset: Asset = args.token.parse()?;
    listable(&asset)?;
    let mut options = HoldersOptions::default();
    if let Some(block) = args.from_block {
        options = options.from_block(block);
    }
    if let Some(min) = &args.min {
        let min: Amount = min
            .parse()
            .map_err(|e: Error| Error::invalid_input("min", min, e.message()))?;
        options = options.min(min);
    }
    let at = args.at.at()?;
    let client = args.metadata.apply(
        args.connect
            .builder()?
            .concurrency(args.concurrency)
            .build()?,
    );

    let mut stream = client.holders_stream(&asset, at, options);
    let ticker = std::io::stderr()
        .is_terminal()
        .then(|| show_progress(stream.progress()));
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut kept = Vec::new();
    if args.format == HoldersFormat::Csv {
        let mut header = vec!["owner", "balance"];
        if client.reads_metadata() {
            header.push("formatted");
        }
        stdout.write_all(&csv_row(&header)?).map_err(write_failed)?;
    }
    let mut failed = None;
    // The block every holder was read at: known before the first holder comes, taken once.
    let mut block: Option<Option<String>> = None;
    while let Some(holder) = stream.next().await {
        let holder = match holder {
            Ok(h) => h,
            Err(e) => {
                failed = Some(e);
                break;
            }
        };
        match args.format {
            HoldersFormat::Json => kept.push(holder),
            HoldersFormat::Jsonl => {
                let block = block.get_or_insert_with(|| {
                    let snapshot = stream.snapshot();
                    snapshot.block(asset.network()).map(|b| b.to_string())
                });
                let mut line = holder_json(&holder);
                line.insert("block".into(), json!(block));
                safe_text::write_json(&mut stdout, &line, false).map_err(write_failed)?;
                stdout.flush().map_err(write_failed)?;
            }
            HoldersFormat::Csv => {
                let mut row = vec![holder.owner.to_string(), holder.balance.to_string()];
                if client.reads_metadata() {
                    row.push(holder.formatted.clone().unwrap_or_default());
                }
                stdout.write_all(&csv_row(&row)?).map_err(write_failed)?;
            }
        }
    }
    if let Some(ticker) = ticker {
        ticker.abort();
        eprint!("\r\x1b[2K");
    }
    if let Some(e) = failed {
        return Err(e);
    }
    let summary = stream.summary().ok_or_else(|| {
        Error::new(
            tokbal::ErrorKind::Unavailable,
            "internal: the holders ended without a summary",
        )
    })?;
    let summary_json = summary_json(&summary);
    match args.format {
        HoldersFormat::Json => {
            kept.sort_by(|a, b| b.balance.cmp(&a.balance).then(a.owner.cmp(&b.owner)));
            // Written piece by piece: a million holders never become one JSON tree.
            let part = |v: &Value| safe_text::json(v.to_string());
            let mut write = |text: &str| stdout.write_all(text.as_bytes());
            (|| -> std::io::Result<()> {
                write("{\n  \"snapshot\": ")?;
                write(&part(&json!(stream.snapshot())))?;
                write(",\n  \"token\": ")?;
                write(&part(&json!(asset.to_string())))?;
                write(",\n  \"holders\": [")?;
                for (i, h) in kept.iter().enumerate() {
                    write(if i == 0 { "\n    " } else { ",\n    " })?;
                    write(&part(&Value::Object(holder_json(h))))?;
                }
                write(if kept.is_empty() { "],\n" } else { "\n  ],\n" })?;
                write("  \"summary\": ")?;
                write(&part(&summary_json))?;
                write("\n}\n")
            })()
            .map_err(write_failed)?;
        }
        HoldersFormat::Jsonl => {
            safe_text::write_json(&mut stdout, &json!({ "summary": summary_json }), false)
                .map_err(write_failed)?;
        }
        HoldersFormat::Csv => {
            let mut stderr = std::io::stderr().lock();
            safe_text::write_json(&mut stderr, &json!({ "summary": summary_json }), false)
                .map_err(write_failed)?;
        }
    }
    stdout.flush().map_err(write_failed)?;
    if let Some(reason) = &summary.reason {
        eprintln!(
            "tokbal: the list is not proven whole: {}",
            safe_text::cell(reason, 2_000)
        );
    }
    Ok(if summary.verified {
        exit_for(true)
    } else {
        ExitCode::from(EXIT_SOME_ERRORS)
    })
}

/// A holder as printed: its address in lower case and its balance (and amount).
fn holder_json(h: &Holder) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("owner".into(), json!(h.owner.to_string()));
    m.insert("balance".into(), json!(h.balance.to_string()));
    if let Some(f) = &h.formatted {
        m.insert("formatted".into(), json!(f));
    }
    m
}

fn summary_json(s: &HoldersSummary) -> Value {
    let mut v = json!({
        "holders": s.holders,
        "sum": s.sum.to_string(),
        "total_supply": s.total_supply.map(|a| a.to_string()),
        "minted_minus_burned": s.minted_minus_burned.map(|a| a.to_string()),
        "verified": s.verified,
        "reason": s.reason,
        "from_block": s.from_block.to_string(),
        "to_block": s.to_block.to_string(),
        "logs": s.logs,
        "candidates": s.candidates,
        "log_requests": s.log_requests,
        "balance_requests": s.balance_requests,
    });
    if let (Some(token), Some(map)) = (&s.token, v.as_object_mut()) {
        map.insert("token".into(), json!(token));
    }
    v
}

/// A line on stderr, redrawn while the read runs: blocks scanned, logs, candidates,
/// balances.
fn show_progress(
    progress: std::sync::Arc<tokbal::holders::Progress>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
            eprint!(
                "\r\x1b[2Kblocks {}/{}, {} logs, {} candidates, {} balances read",
                get(&progress.blocks_done),
                get(&progress.blocks_total),
                get(&progress.logs),
                get(&progress.candidates),
                get(&progress.balances),
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
}

/// One CSV row, quoted as needed.
fn csv_row<T: AsRef<[u8]>>(cells: &[T]) -> Result<Vec<u8>, Error> {
    let failed = |e: csv::Error| write_failed(std::io::Error::other(e));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(cells).map_err(failed)?;
    w.into_inner()
        .map_err(|e| write_failed(std::io::Error::other(e.to_string())))
}
