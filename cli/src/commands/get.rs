//! `tokbal get`: read the balances named on the command line.

use std::process::ExitCode;

use tokbal::Error;

use super::{
    exit_for, read_document, safe_text, table, write_failed, AtArgs, ConnectArgs, Format,
    MetadataArgs,
};

/// Arguments of `tokbal get`.
#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// Queries, NETWORK:OWNER[/TOKEN].
    #[arg(required = true, value_name = "QUERY")]
    queries: Vec<String>,
    #[command(flatten)]
    at: AtArgs,
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(flatten)]
    metadata: MetadataArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub async fn run(args: GetArgs) -> Result<ExitCode, Error> {
    let client = args.metadata.apply(args.connect.builder()?.build()?);
    let at = args.at.at()?;
    let (doc, all_ok) = read_document(&client, &args.queries, at).await;
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Json => safe_text::write_json(&mut stdout, &doc, true),
        Format::Table => table::write_document(&mut stdout, &doc),
    }
    .map_err(write_failed)?;
    Ok(exit_for(all_ok))
}
