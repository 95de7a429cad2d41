//! `tokbal get`: read the balances named on the command line.

use std::io::Write;
use std::process::ExitCode;

use tokbal::report::{Document, ResultRecord};
use tokbal::{At, Error, ErrorKind, Query};

use super::{table, ConnectArgs, Format, EXIT_OK, EXIT_SOME_ERRORS};

/// Arguments of `tokbal get`.
#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// Queries, NETWORK:OWNER[/TOKEN].
    #[arg(required = true, value_name = "QUERY")]
    queries: Vec<String>,
    /// Read every Aptos query at this ledger version (default: the latest, pinned once).
    #[arg(long, value_name = "N", conflicts_with = "at")]
    aptos_version: Option<u64>,
    /// Read at this instant, RFC 3339 (e.g. 2026-01-01T00:00:00Z).
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    #[command(flatten)]
    connect: ConnectArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub async fn run(args: GetArgs) -> Result<ExitCode, Error> {
    let client = args.connect.client()?;
    let at = match (args.aptos_version, &args.at) {
        (Some(v), _) => At::AptosVersion(v),
        (None, Some(t)) => At::Time(tokbal::time::parse_rfc3339("at", t)?),
        (None, None) => At::Latest,
    };

    // Malformed queries become results of their own and cost no request.
    let parsed: Vec<Result<Query, Error>> = args.queries.iter().map(|q| q.parse()).collect();
    let valid: Vec<Query> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok().cloned())
        .collect();
    let out = client.balances(&valid, at).await;
    let mut answers = out.results.into_iter();
    let results: Vec<_> = parsed
        .into_iter()
        .map(|p| match p {
            Ok(_) => answers.next().unwrap_or_else(|| {
                Err(Error::new(
                    ErrorKind::Unavailable,
                    "internal: missing result",
                ))
            }),
            Err(e) => Err(e),
        })
        .collect();

    let all_ok = results.iter().all(Result::is_ok);
    let records = args
        .queries
        .iter()
        .zip(&results)
        .map(|(q, r)| ResultRecord::new(q.clone(), r))
        .collect();
    let doc = Document::new(out.snapshot, records);
    let mut stdout = std::io::stdout().lock();
    let written = match args.format {
        Format::Json => serde_json::to_writer_pretty(&mut stdout, &doc)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(stdout)),
        Format::Table => table::write(&mut stdout, &doc),
    };
    written.map_err(|e| Error::new(ErrorKind::Transport, format!("cannot write output: {e}")))?;
    Ok(ExitCode::from(if all_ok {
        EXIT_OK
    } else {
        EXIT_SOME_ERRORS
    }))
}
