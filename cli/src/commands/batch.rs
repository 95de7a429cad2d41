//! `tokbal batch`: a file of queries, streamed through the engine.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use tokbal::query::QueryLines;
use tokbal::report::{BatchDocument, BatchRecord, ResultRecord};
use tokbal::Error;

use super::{exit_for, safe_text, table, write_failed, AtArgs, ConnectArgs, MetadataArgs};

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
    #[command(flatten)]
    metadata: MetadataArgs,
    /// Requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = tokbal::DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// Output format: jsonl and csv stream one record per line as results complete, each
    /// with its input line number; json and table print every result in input order at the
    /// end.
    #[arg(long, value_enum, default_value_t = BatchFormat::Jsonl)]
    format: BatchFormat,
    /// Read only shard I of N: the input lines whose number L has (L - 1) mod N = I - 1,
    /// keeping their line numbers. N workers given the same --snapshot read one consistent
    /// snapshot between them.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<Shard>,
}

/// One shard of an input: lines L with (L - 1) mod `of` = `index` - 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shard {
    index: u64,
    of: u64,
}

impl Shard {
    fn holds(self, line: u64) -> bool {
        line.saturating_sub(1) % self.of == self.index - 1
    }
}

fn parse_shard(arg: &str) -> Result<Shard, String> {
    let bad = || format!("expected I/N with 1 <= I <= N, e.g. 3/8; got {arg:?}");
    let (i, n) = arg.split_once('/').ok_or_else(bad)?;
    let (index, of) = (
        i.trim().parse::<u64>().map_err(|_| bad())?,
        n.trim().parse::<u64>().map_err(|_| bad())?,
    );
    if index == 0 || of == 0 || index > of {
        return Err(bad());
    }
    Ok(Shard { index, of })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BatchFormat {
    /// One JSON record per line, in completion order, each with its input line number.
    Jsonl,
    /// One JSON document, {"snapshot": ..., "results": [...]} in input order.
    Json,
    /// Comma-separated values: a header row, then one row per result in completion order,
    /// each with its input line number (sort by `line` for input order).
    Csv,
    /// An aligned table for people, in input order.
    Table,
}

pub async fn run(args: BatchArgs) -> Result<ExitCode, Error> {
    let client = args.metadata.apply(
        args.connect
            .builder()?
            .concurrency(args.concurrency)
            .build()?,
    );
    let at = args.at.at()?;
    let reader: Box<dyn BufRead + Send> = if args.input == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        Box::new(BufReader::new(open(&args.input)?))
    };
    let progress = if std::io::stderr().is_terminal() {
        Some(progress_for(&args.input, args.shard).await?)
    } else {
        None
    };

    let shard = args.shard;
    let lines =
        QueryLines::new(reader).filter(move |((line, _), _)| shard.is_none_or(|s| s.holds(*line)));
    let mut results = client.balances_stream_tagged(lines, at);
    let stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut sink = match args.format {
        BatchFormat::Jsonl => Sink::Jsonl(stdout),
        BatchFormat::Csv => {
            // Chain text is escaped when the rows go to a terminal, kept as read otherwise.
            let escape = std::io::stdout().is_terminal();
            let rows = CsvRows::start(stdout, args.metadata.metadata, escape);
            Sink::Csv(Box::new(rows.map_err(write_failed)?))
        }
        BatchFormat::Json | BatchFormat::Table => Sink::Kept(stdout, Vec::new()),
    };
    let mut all_ok = true;
    while let Some(((line, text), result)) = results.next().await {
        all_ok &= result.is_ok();
        let record = BatchRecord::new(line, ResultRecord::new(text, &result));
        sink.put(record).map_err(write_failed)?;
        if let Some(bar) = &progress {
            bar.inc(1);
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }

    let snapshot = results.snapshot();
    if let Sink::Kept(mut out, mut kept) = sink {
        kept.sort_by_key(|r| r.line);
        match args.format {
            BatchFormat::Table => table::write_batch(&mut out, &snapshot, &kept),
            _ => {
                let doc = BatchDocument::new(snapshot, kept);
                safe_text::write_json(&mut out, &doc, true)
            }
        }
        .and_then(|()| out.flush())
        .map_err(write_failed)?;
    }
    Ok(exit_for(all_ok))
}

type Stdout = std::io::BufWriter<std::io::StdoutLock<'static>>;

/// Where records go as they complete: straight out (jsonl, csv), or kept to be printed in
/// input order at the end (json, table).
enum Sink {
    Jsonl(Stdout),
    Csv(Box<CsvRows<Stdout>>),
    Kept(Stdout, Vec<BatchRecord>),
}

impl Sink {
    fn put(&mut self, record: BatchRecord) -> std::io::Result<()> {
        match self {
            Sink::Jsonl(out) => {
                safe_text::write_json(out, &record, false)?;
                out.flush()
            }
            Sink::Csv(rows) => rows.write(&record),
            Sink::Kept(_, kept) => {
                kept.push(record);
                Ok(())
            }
        }
    }
}

fn open(input: &str) -> Result<File, Error> {
    File::open(PathBuf::from(input))
        .map_err(|e| Error::invalid_input("input", input, format!("cannot open it: {e}")))
}

/// The progress shown on a terminal: for a file, a bar over its queries (counted first: one
/// pass over the file, cheap next to the reads) with a whole-number rate and an ETA; for
/// standard input, whose length is unknown, a spinner with the count and the rate.
async fn progress_for(input: &str, shard: Option<Shard>) -> Result<ProgressBar, Error> {
    let rate = |state: &ProgressState, w: &mut dyn std::fmt::Write| {
        let _ = write!(w, "{:.0}/s", state.per_sec());
    };
    let bar = if input == "-" {
        ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {human_pos} read, {rate} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner())
                .with_key("rate", rate),
        )
    } else {
        let file = open(input)?;
        let total = tokio::task::spawn_blocking(move || {
            QueryLines::new(BufReader::new(file))
                .filter(|((line, _), _)| shard.is_none_or(|s| s.holds(*line)))
                .count() as u64
        })
        .await
        .unwrap_or(0);
        ProgressBar::new(total).with_style(
            ProgressStyle::with_template(
                "{bar:30} {human_pos}/{human_len} queries, {rate}, {elapsed} elapsed, ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key("rate", rate),
        )
    };
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Ok(bar)
}

/// CSV rows written as results complete, each with its input line number, after one header
/// row: no record is held, so memory stays that of the work in flight.
struct CsvRows<W: Write> {
    writer: csv::Writer<W>,
    /// Whether the rows carry the token's metadata.
    metadata: bool,
    /// Whether text from chains is escaped (the rows go to a terminal).
    escape: bool,
}

impl<W: Write> CsvRows<W> {
    const HEADER: [&'static str; 10] = [
        "line",
        "query",
        "balance",
        "ledger_version",
        "block",
        "at",
        "last_updated",
        "error_kind",
        "error_code",
        "error_message",
    ];
    /// The columns `--metadata` adds.
    const METADATA_HEADER: [&'static str; 4] = ["symbol", "name", "decimals", "formatted"];

    /// Writes the header row to `out`.
    fn start(out: W, metadata: bool, escape: bool) -> std::io::Result<Self> {
        let mut writer = csv::Writer::from_writer(out);
        let extra = if metadata {
            &Self::METADATA_HEADER[..]
        } else {
            &[]
        };
        writer
            .write_record(Self::HEADER.iter().chain(extra))
            .map_err(csv_io)?;
        Ok(CsvRows {
            writer,
            metadata,
            escape,
        })
    }

    fn write(&mut self, r: &BatchRecord) -> std::io::Result<()> {
        let rec = &r.record;
        let (kind, code, message) = match &rec.error {
            Some(e) => (e.kind.as_str(), e.code.as_deref(), e.message.as_str()),
            None => ("", None, ""),
        };
        let text = |s: &str| -> String {
            if self.escape {
                safe_text::cell(s, usize::MAX)
            } else {
                s.to_string()
            }
        };
        let mut row = vec![
            r.line.to_string(),
            text(&rec.query),
            rec.balance.clone().unwrap_or_default(),
            rec.ledger_version.clone().unwrap_or_default(),
            rec.block.clone().unwrap_or_default(),
            rec.at.clone().unwrap_or_default(),
            rec.last_updated.clone().unwrap_or_default(),
            kind.to_string(),
            code.unwrap_or_default().to_string(),
            text(message),
        ];
        if self.metadata {
            let token = rec.token.clone().unwrap_or_default();
            row.extend([
                text(token.symbol.as_deref().unwrap_or_default()),
                text(token.name.as_deref().unwrap_or_default()),
                token.decimals.map(|d| d.to_string()).unwrap_or_default(),
                rec.formatted.clone().unwrap_or_default(),
            ]);
        }
        self.writer.write_record(&row).map_err(csv_io)?;
        // A row reaches a reader (a pipe, `tail -f`) as soon as it is complete.
        self.writer.flush()
    }
}

fn csv_io(e: csv::Error) -> std::io::Error {
    std::io::Error::other(e)
}
