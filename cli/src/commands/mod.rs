//! Command-line parsing and the subcommands.

mod batch;
mod demo;
mod devnet;
mod drift;
mod get;
mod holders;
mod holdings;
mod safe_text;
mod table;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use tokbal::report::{Document, ResultRecord};
use tokbal::{At, Client, Error, ErrorKind, Network, Query};

/// Every query got a balance.
pub const EXIT_OK: u8 = 0;
/// The command itself failed (bad configuration, unreadable input, ...).
pub const EXIT_FAILURE: u8 = 1;
/// The command line itself is wrong (clap uses the same code for its own usage errors).
pub const EXIT_USAGE: u8 = 2;
/// The command ran, but some queries carry errors (all results are still printed).
pub const EXIT_SOME_ERRORS: u8 = 3;

/// The exit status for a command that failed with `e`: a bad `--snapshot` file, or a token,
/// `--from-block` or `--min` a command cannot take, is a usage error; anything else a
/// failure of the command.
pub fn exit_code_of(e: &Error) -> u8 {
    if matches!(
        e.field(),
        Some(
            "snapshot"
                | "token"
                | "network"
                | "contract"
                | "token_id"
                | "asset_type"
                | "from_block"
                | "min"
                | "owner"
                | "query"
                | "tokens"
                | "token_list"
        )
    ) {
        EXIT_USAGE
    } else {
        EXIT_FAILURE
    }
}

/// Token balances across chains: Aptos, Ethereum and every EVM chain, Bitcoin; batched and
/// pinned to one snapshot.
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
    /// ethereum:0xOWNER/erc20:0xCONTRACT, base:0xOWNER/erc721:0xCONTRACT:ID,
    /// evm-31337:0xOWNER, or bitcoin:bc1q... All queries are read at one moment: one ledger
    /// version per Aptos network, one block (number and hash) per EVM network, one instant
    /// through AMB.
    /// Exit status: 0 when every query has a balance, 3 when some carry errors.
    Get(get::GetArgs),
    /// Read a file of queries, one per line (blank lines and # comments skipped), streaming
    /// results as they complete. Exit status as for get.
    Batch(batch::BatchArgs),
    /// Resolve the pins of some networks once and print the snapshot as JSON, for other
    /// processes to read at exactly those blocks (get/batch --snapshot FILE).
    ///
    /// Exit status: 0 when every network was pinned, 3 when some could not be (the others
    /// are printed; the errors go to stderr).
    Pin(PinArgs),
    /// Every holder of a token at one block, proven by its supply: tokbal holders
    /// NETWORK:TOKEN, e.g. ethereum:erc20:0xCONTRACT, ethereum:erc721:0xCONTRACT,
    /// ethereum:erc1155:0xCONTRACT:ID.
    ///
    /// Candidates come from the contract's transfer logs (from its creation block, or
    /// --from-block), each balance is read at the pinned block, and the sum is held against
    /// the supply. Exit status: 0 when the list is proven whole, 3 when it is not (the holders
    /// are still printed; the reason goes to the summary and stderr), 2 for a token whose
    /// holders cannot be listed.
    Holders(holders::HoldersArgs),
    /// Everything some owners hold at one moment: tokbal holdings NETWORK:OWNER...
    ///
    /// Candidates come from each source (EVM: the native coin and every token a transfer
    /// log sent to the owner; Aptos: APT and every coin store among the account's resources;
    /// Bitcoin: BTC) and from --tokens and --token-list; each is read at one pin with its
    /// metadata, and those held are printed, with where they were found and whether the
    /// list is complete. Exit status as for get.
    Holdings(holdings::HoldingsArgs),
    /// Print the JSON Schema of a result record (batch jsonl lines) or of get's JSON document.
    Schema(SchemaArgs),
    /// Run the devnet (an Aptos node, an EVM JSON-RPC node, an Esplora server and an AMB
    /// endpoint on 127.0.0.1) until interrupted.
    Devnet(devnet::DevnetArgs),
    /// Start the devnet in-process and read a mixed batch from it, pinned at one instant.
    Demo,
    /// Compare specs/ with the published API descriptions (Aptos OpenAPI, AMB Smithy,
    /// Ethereum execution-apis OpenRPC).
    ///
    /// One line per finding: breaking, informational, or deliberate (recorded in
    /// specs/deviations.json). Exit status: 0 when nothing is breaking, 1 when specs/ needs a
    /// change, 2 when an input cannot be read.
    SpecDrift(drift::DriftArgs),
}

/// Options shared by the commands that read balances.
#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    /// Aptos node base URL, including /v1 (default: the public endpoint of each Aptos
    /// network). The API key, if any, is read from APTOS_API_KEY.
    #[arg(long, value_name = "URL", env = "TOKBAL_APTOS_URL")]
    aptos_url: Option<String>,
    /// The endpoint of one network, NETWORK=URL (repeatable): for an EVM network a JSON-RPC
    /// URL (the whole URL is kept secret: keys may be in it), for an Aptos network a node's
    /// base URL including /v1. Also read from TOKBAL_ENDPOINT_<NETWORK> (upper case, - as
    /// _), e.g. TOKBAL_ENDPOINT_BASE_SEPOLIA. Without one, each EVM network uses its public
    /// endpoint, paced to a few requests per second.
    #[arg(long = "endpoint", value_name = "NETWORK=URL", value_parser = parse_endpoint)]
    endpoints: Vec<(Network, String)>,
    /// Route ethereum, ethereum-sepolia, bitcoin and bitcoin-testnet through this AWS Managed
    /// Blockchain Query endpoint, except networks given their own --endpoint. Credentials
    /// come from the standard AWS chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
    /// AWS_PROFILE, SSO, or an instance role.
    #[arg(long, value_name = "URL", env = "TOKBAL_AMB_URL")]
    amb_url: Option<String>,
    /// Route those networks through AMB at AWS (us-east-1), for its existing customers.
    #[arg(long)]
    amb: bool,
    /// Seconds allowed for one request.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
    /// Accept plain http:// endpoints on hosts other than loopback (keys and signed
    /// requests would cross the network in the clear).
    #[arg(long)]
    allow_insecure_http: bool,
}

impl ConnectArgs {
    fn builder(&self) -> Result<tokbal::ClientBuilder, Error> {
        let mut b = Client::builder()
            .timeout(Duration::from_secs(self.timeout.max(1)))
            .allow_insecure_http(self.allow_insecure_http);
        if let Some(url) = &self.aptos_url {
            b = b.aptos_url(url.clone());
        }
        if let Some(url) = &self.amb_url {
            b = b.amb_url(url.clone());
        }
        b = b.amb(self.amb);
        for (network, url) in endpoints_from_env()?
            .into_iter()
            .chain(self.endpoints.clone())
        {
            b = b.endpoint(network, url);
        }
        Ok(b)
    }
}

/// Prefix of the environment variables naming one network's endpoint.
const ENDPOINT_ENV_PREFIX: &str = "TOKBAL_ENDPOINT_";

/// `NETWORK=URL`, for --endpoint.
fn parse_endpoint(arg: &str) -> Result<(Network, String), String> {
    let (network, url) = arg
        .split_once('=')
        .ok_or_else(|| "expected NETWORK=URL, e.g. base=https://mainnet.base.org".to_string())?;
    let network: Network = network.trim().parse().map_err(|e: Error| e.to_string())?;
    Ok((network, url.trim().to_string()))
}

/// Endpoints from `TOKBAL_ENDPOINT_<NETWORK>` variables; a variable naming no network is a
/// usage error naming it.
fn endpoints_from_env() -> Result<Vec<(Network, String)>, Error> {
    let mut found = Vec::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let Some(suffix) = name.strip_prefix(ENDPOINT_ENV_PREFIX) else {
            continue;
        };
        let network: Network = suffix
            .to_ascii_lowercase()
            .replace('_', "-")
            .parse()
            .map_err(|_| {
                Error::invalid_input(
                    "environment",
                    name,
                    "names no network (e.g. TOKBAL_ENDPOINT_BASE_SEPOLIA, TOKBAL_ENDPOINT_EVM_31337)",
                )
            })?;
        let Some(url) = value.to_str() else {
            return Err(Error::invalid_input(
                "environment",
                name,
                "its value is not UTF-8",
            ));
        };
        found.push((network, url.to_string()));
    }
    Ok(found)
}

/// Whether to read each token's metadata with its balance.
#[derive(Debug, clap::Args)]
pub struct MetadataArgs {
    /// Read each token's symbol, name and decimals at the same pin as the balances (once per
    /// token; on EVM chains in the same requests), and print the amount in whole tokens
    /// beside the balance in base units.
    #[arg(long)]
    metadata: bool,
}

impl MetadataArgs {
    /// `client`, reading metadata when asked.
    fn apply(&self, client: Client) -> Client {
        if self.metadata {
            client.with_metadata()
        } else {
            client
        }
    }
}

/// When to read: `--at` or `--aptos-version`, else the latest state.
#[derive(Debug, clap::Args)]
pub struct AtArgs {
    /// Read every Aptos query at this ledger version (default: the latest, pinned once).
    #[arg(long, value_name = "N", conflicts_with = "at")]
    aptos_version: Option<u64>,
    /// Read every chain at this instant, RFC 3339 (e.g. 2026-01-01T00:00:00Z): the last
    /// block at or before it on each chain.
    #[arg(long, value_name = "RFC3339", conflicts_with = "finalized")]
    at: Option<String>,
    /// Read every EVM network at its finalized block (Aptos at its latest version, whose
    /// commits are final); the snapshot says which networks were read finalized.
    #[arg(long, conflicts_with = "aptos_version")]
    finalized: bool,
    /// Read NETWORK at block N (repeatable; for an Aptos network, N is a ledger version);
    /// networks not named are read at their latest state, pinned once.
    #[arg(
        long = "block",
        value_name = "NETWORK=N",
        value_parser = parse_block,
        conflicts_with_all = ["at", "finalized", "aptos_version"]
    )]
    blocks: Vec<(Network, u64)>,
    /// Read at exactly the pins of this snapshot file (as `tokbal pin` prints it, or the
    /// "snapshot" of a JSON document); networks it does not name are pinned as usual.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["at", "finalized", "aptos_version", "blocks"]
    )]
    snapshot: Option<std::path::PathBuf>,
}

/// Arguments of `tokbal pin`.
#[derive(Debug, clap::Args)]
pub struct PinArgs {
    #[command(flatten)]
    at: AtArgs,
    #[command(flatten)]
    connect: ConnectArgs,
    /// The networks to pin (e.g. ethereum base aptos).
    #[arg(value_name = "NETWORK", required = true)]
    networks: Vec<Network>,
}

/// `tokbal pin`: the snapshot of `networks`, as JSON on stdout.
async fn pin(args: PinArgs) -> Result<ExitCode, Error> {
    let client = args.connect.builder()?.build()?;
    let (snapshot, failed) = client.pin(&args.networks, args.at.at()?).await;
    let text = serde_json::to_string_pretty(&snapshot)
        .map_err(|e| Error::new(ErrorKind::Decode, e.to_string()))?;
    println!("{text}");
    for (network, e) in &failed {
        eprintln!("tokbal: {network}: {e}");
    }
    Ok(exit_for(failed.is_empty()))
}

/// `NETWORK=N`, for --block.
fn parse_block(arg: &str) -> Result<(Network, u64), String> {
    let (network, n) = arg
        .split_once('=')
        .ok_or_else(|| "expected NETWORK=N, e.g. base=12345678".to_string())?;
    let network: Network = network.trim().parse().map_err(|e: Error| e.to_string())?;
    let n = n
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("{n:?} is not a block number (a decimal from 0 to 2^64-1)"))?;
    Ok((network, n))
}

impl AtArgs {
    fn at(&self) -> Result<At, Error> {
        if let Some(path) = &self.snapshot {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::invalid_input("snapshot", &shown, format!("cannot read it: {e}"))
            })?;
            let snapshot = tokbal::Snapshot::from_json(&text)
                .map_err(|e| Error::invalid_input("snapshot", &shown, e.message()))?;
            return Ok(At::Snapshot(snapshot));
        }
        Ok(match (self.aptos_version, &self.at) {
            (Some(v), _) => At::AptosVersion(v),
            (None, Some(t)) => At::Time(tokbal::time::parse_rfc3339("at", t)?),
            (None, None) if self.finalized => At::Finalized,
            (None, None) if !self.blocks.is_empty() => {
                At::Blocks(self.blocks.iter().copied().collect())
            }
            (None, None) => At::Latest,
        })
    }
}

/// How `get` and `demo` print results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned table for people.
    Table,
    /// One JSON document: {"snapshot": ..., "results": [...]}.
    Json,
}

#[derive(Debug, clap::Args)]
struct SchemaArgs {
    /// Which shape: a result record (batch jsonl lines) or get's whole document.
    #[arg(value_enum, default_value_t = SchemaOf::Record)]
    of: SchemaOf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SchemaOf {
    Record,
    Document,
}

/// Runs the parsed command; `Err` is a failure of the command itself.
pub async fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Get(args) => get::run(args).await,
        Command::Pin(args) => pin(args).await,
        Command::Batch(args) => batch::run(args).await,
        Command::Schema(args) => {
            let schema = match args.of {
                SchemaOf::Record => tokbal::report::record_schema(),
                SchemaOf::Document => tokbal::report::document_schema(),
            };
            let mut stdout = std::io::stdout().lock();
            safe_text::write_json(&mut stdout, &schema, true).map_err(write_failed)?;
            Ok(ExitCode::from(EXIT_OK))
        }
        Command::Devnet(args) => devnet::run(args).await,
        Command::Demo => demo::run().await,
        Command::Holders(args) => holders::run(args).await,
        Command::Holdings(args) => holdings::run(args).await,
        Command::SpecDrift(args) => drift::run(args).await,
    }
}

/// Reads `texts` as one batch: malformed ones become results of their own (no request),
/// the others are read at `at`. Returns the document and whether every query has a balance.
async fn read_document(client: &Client, texts: &[String], at: At) -> (Document, bool) {
    let parsed: Vec<Result<Query, Error>> = texts.iter().map(|q| q.parse()).collect();
    let valid: Vec<Query> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok().cloned())
        .collect();
    let out = client.balances(&valid, at).await;
    let mut answers = out.results.into_iter();
    let records: Vec<ResultRecord> = texts
        .iter()
        .zip(parsed)
        .map(|(text, p)| {
            let result = match p {
                Ok(_) => answers.next().unwrap_or_else(|| {
                    Err(Error::new(
                        ErrorKind::Unavailable,
                        "internal: missing result",
                    ))
                }),
                Err(e) => Err(e),
            };
            ResultRecord::new(text.clone(), &result)
        })
        .collect();
    let all_ok = records.iter().all(|r| r.error.is_none());
    (Document::new(out.snapshot, records), all_ok)
}

fn exit_for(all_ok: bool) -> ExitCode {
    ExitCode::from(if all_ok { EXIT_OK } else { EXIT_SOME_ERRORS })
}

fn write_failed(e: std::io::Error) -> Error {
    Error::new(ErrorKind::Transport, format!("cannot write output: {e}"))
}
