//! Command-line parsing and the subcommands.

mod get;
mod table;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

/// Every query got a balance.
pub const EXIT_OK: u8 = 0;
/// The command itself failed (bad configuration, unreadable input, ...).
pub const EXIT_FAILURE: u8 = 1;
/// The command ran, but some queries carry errors (all results are still printed).
pub const EXIT_SOME_ERRORS: u8 = 3;

/// Token balances across chains: Aptos, Bitcoin and Ethereum, batched and pinned to one
/// snapshot.
#[derive(Debug, Parser)]
#[command(name = "tokbal", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read balances: tokbal get [OPTIONS] QUERY...
    ///
    /// A query is NETWORK:OWNER[/TOKEN], e.g. aptos:0x1 (APT),
    /// aptos-testnet:0xa11ce/0xa (a fungible asset by metadata address),
    /// ethereum:0xOWNER/erc20:0xCONTRACT, ethereum:0xOWNER/erc721:0xCONTRACT:ID, or
    /// bitcoin:bc1q... All queries are read at one moment: one ledger version per Aptos
    /// network, one instant for Bitcoin and Ethereum.
    /// Exit status: 0 when every query has a balance, 3 when some carry errors.
    Get(get::GetArgs),
}

/// Options shared by the commands that read balances.
#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    /// Aptos node base URL, including /v1 (default: the public endpoint of each Aptos
    /// network). The API key, if any, is read from APTOS_API_KEY.
    #[arg(long, value_name = "URL", env = "TOKBAL_APTOS_URL")]
    aptos_url: Option<String>,
    /// AMB Query endpoint for Bitcoin and Ethereum queries (default: AWS, us-east-1).
    /// Credentials come from the standard AWS chain: AWS_ACCESS_KEY_ID and
    /// AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, or an instance role.
    #[arg(long, value_name = "URL", env = "TOKBAL_AMB_URL")]
    amb_url: Option<String>,
    /// Seconds allowed for one request.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
}

impl ConnectArgs {
    fn client(&self) -> Result<tokbal::Client, tokbal::Error> {
        let mut b = tokbal::Client::builder().timeout(Duration::from_secs(self.timeout.max(1)));
        if let Some(url) = &self.aptos_url {
            b = b.aptos_url(url.clone());
        }
        if let Some(url) = &self.amb_url {
            b = b.amb_url(url.clone());
        }
        b.build()
    }
}

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned table for people.
    Table,
    /// One JSON document: {"snapshot": ..., "results": [...]}.
    Json,
}

/// Runs the parsed command; `Err` is a failure of the command itself.
pub async fn run(cli: Cli) -> Result<ExitCode, tokbal::Error> {
    match cli.command {
        Command::Get(args) => get::run(args).await,
    }
}
