//! `tokbal batch`: a file of queries, streamed through the engine.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use tokbal::query::QueryLines;
use tokbal::report::{BatchDocument, BatchRecord, ResultRecord};
use tokbal::Error;

use super::{exit_for, table, write_failed, AtArgs, ConnectArgs};

/// Arguments of `tokbal batch`.
#[derive(Debug, clap::Args)]
pub struct BatchArgs {
    /// File of queries, one per line; `-` (the default) reads standard input.
    #[arg(value_name = "FILE|-", default_value = "-")]
    input: String,
    #[command(flatten)]
    at: AtArgs,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = tokbal::DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// Output format: jsonl streams one record per line as results complete; the others
    /// print every result in input order at the end.
    #[arg(long, value_enum, default_value_t = BatchFormat::Jsonl)]
    format: BatchFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BatchFormat {
    /// One JSON record per line, in completion order, each with its input line number.
    Jsonl,
    /// One JSON document, {"snapshot": ..., "results": [...]} in input order.
    Json,
    /// Comma-separated values with a header row, in input order.
    Csv,
    /// An aligned table for people, in input order.
    Table,
}

pub async fn run(args: BatchArgs) -> Result<ExitCode, Error> {
    let client = args
        .connect
        .builder()
        .concurrency(args.concurrency)
        .build()?;
    let at = args.at.at()?;
    let reader: Box<dyn BufRead + Send> = if args.input == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        let path = PathBuf::from(&args.input);
        let file = File::open(&path).map_err(|e| {
            Error::invalid_input("input", &args.input, format!("cannot open it: {e}"))
        })?;
        Box::new(BufReader::new(file))
    };

    let progress = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {pos} read, {per_sec} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Some(bar)
    } else {
        None
    };

    let mut results = client.balances_stream_tagged(QueryLines::new(reader), at);
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut kept = Vec::new();
    let mut all_ok = true;
    while let Some(((line, text), result)) = results.next().await {
        all_ok &= result.is_ok();
        let record = BatchRecord::new(line, ResultRecord::new(text, &result));
        if args.format == BatchFormat::Jsonl {
            serde_json::to_writer(&mut stdout, &record)
                .map_err(std::io::Error::from)
                .map_err(write_failed)?;
            writeln!(stdout).map_err(write_failed)?;
            stdout.flush().map_err(write_failed)?;
        } else {
            kept.push(record);
        }
        if let Some(bar) = &progress {
            bar.inc(1);
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }

    kept.sort_by_key(|r| r.line);
    let snapshot = results.snapshot();
    match args.format {
        BatchFormat::Jsonl => Ok(()),
        BatchFormat::Json => {
            let doc = BatchDocument::new(snapshot, kept);
            serde_json::to_writer_pretty(&mut stdout, &doc)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(stdout))
        }
        BatchFormat::Table => table::write_batch(&mut stdout, &snapshot, &kept),
        BatchFormat::Csv => write_csv(&mut stdout, &kept),
    }
    .map_err(write_failed)?;
    stdout.flush().map_err(write_failed)?;
    Ok(exit_for(all_ok))
}

fn write_csv(out: &mut impl Write, records: &[BatchRecord]) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let io = |e: csv::Error| std::io::Error::other(e);
    w.write_record([
        "line",
        "query",
        "balance",
        "ledger_version",
        "at",
        "last_updated",
        "error_kind",
        "error_code",
        "error_message",
    ])
    .map_err(io)?;
    for r in records {
        let rec = &r.record;
        let (kind, code, message) = match &rec.error {
            Some(e) => (
                e.kind.as_str().to_string(),
                e.code.clone().unwrap_or_default(),
                e.message.clone(),
            ),
            None => Default::default(),
        };
        w.write_record([
            r.line.to_string(),
            rec.query.clone(),
            rec.balance.clone().unwrap_or_default(),
            rec.ledger_version.clone().unwrap_or_default(),
            rec.at.clone().unwrap_or_default(),
            rec.last_updated.clone().unwrap_or_default(),
            kind,
            code,
            message,
        ])
        .map_err(io)?;
    }
    w.flush()
}
