//! `tokbal holdings`: everything some owners hold at one moment, and how sure the list is.

use std::io::Write;
use std::process::ExitCode;

use clap::ValueEnum;
use serde_json::{json, Value};
use tokbal::holdings::{Discovery, HoldingsOptions, TokenList};
use tokbal::report::ResultRecord;
use tokbal::{Asset, Error, Query};

use super::{exit_for, safe_text, table, write_failed, AtArgs, ConnectArgs};

/// Arguments of `tokbal holdings`.
#[derive(Debug, clap::Args)]
pub struct HoldingsArgs {
    /// Owners, NETWORK:OWNER (any number, mixed networks).
    #[arg(required = true, value_name = "NETWORK:OWNER")]
    owners: Vec<String>,
    #[command(flatten)]
    at: AtArgs,
    #[command(flatten)]
    connect: ConnectArgs,
    /// A file of tokens to check besides those found, one NETWORK:TOKEN a line (as in
    /// queries: ethereum:erc20:0xC, aptos:0xFA_METADATA, ...); blank lines and # comments are
    /// skipped.
    #[arg(long, value_name = "FILE")]
    tokens: Option<std::path::PathBuf>,
    /// A token list in the Uniswap token-lists JSON schema, a file or an https URL: its
    /// entries whose chainId is an owner's network are checked for that owner.
    #[arg(long, value_name = "FILE|URL")]
    token_list: Option<String>,
    /// EVM: read transfer logs from block N on (default: the chain's first block; a later
    /// one can miss tokens, and the discovery says so).
    #[arg(long, value_name = "N")]
    from_block: Option<u64>,
    /// EVM: read no logs, only the native coin and the lists.
    #[arg(long)]
    no_logs: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = HoldingsFormat::Table)]
    format: HoldingsFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum HoldingsFormat {
    /// Grouped by owner, with symbols and amounts in whole tokens.
    Table,
    /// One document: {"snapshot", "owners": [{"owner", "discovery", "holdings"}]}.
    Json,
    /// One holding a line, then one discovery line per owner.
    Jsonl,
    /// One holding a row, with its owner.
    Csv,
}

pub async fn run(args: HoldingsArgs) -> Result<ExitCode, Error> {
    // Everything wrong with the command is found before any request.
    let mut owners = Vec::with_capacity(args.owners.len());
    for text in &args.owners {
        if text.contains('/') {
            return Err(Error::invalid_input(
                "owner",
                text,
                "an owner is NETWORK:OWNER, without a token",
            ));
        }
        let query: Query = text.parse()?;
        owners.push(query);
    }
    let mut options = HoldingsOptions::default();
    if let Some(path) = &args.tokens {
        options = options.tokens(read_tokens(path)?);
    }
    if let Some(source) = &args.token_list {
        let insecure = args.connect.allow_insecure_http;
        options = options.token_list(&read_token_list(source, insecure).await?);
    }
    if let Some(block) = args.from_block {
        options = options.from_block(block);
    }
    if args.no_logs {
        options = options.no_logs();
    }
    let at = args.at.at()?;
    let client = args.connect.builder()?.build()?;
    let out = client.holdings(&owners, at, options).await;

    let mut all_ok = true;
    let groups: Vec<(String, Discovery, Vec<ResultRecord>)> = out
        .owners
        .iter()
        .map(|o| {
            let records = o
                .holdings
                .iter()
                .map(|(query, result)| {
                    all_ok &= result.is_ok();
                    ResultRecord::new(query.to_string(), result)
                })
                .collect();
            (o.owner.clone(), o.discovery.clone(), records)
        })
        .collect();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        HoldingsFormat::Json => {
            let owners: Vec<Value> = groups
                .iter()
                .map(|(owner, d, records)| {
                    json!({"owner": owner, "discovery": discovery_json(d), "holdings": records})
                })
                .collect();
            let doc = json!({"snapshot": out.snapshot, "owners": owners});
            safe_text::write_json(&mut stdout, &doc, true).map_err(write_failed)?;
        }
        HoldingsFormat::Jsonl => {
            for (owner, d, records) in &groups {
                for r in records {
                    safe_text::write_json(&mut stdout, r, false).map_err(write_failed)?;
                }
                let line = json!({"discovery": discovery_json(d), "owner": owner});
                safe_text::write_json(&mut stdout, &line, false).map_err(write_failed)?;
            }
        }
        HoldingsFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let header = [
                "owner",
                "query",
                "balance",
                "formatted",
                "symbol",
                "name",
                "decimals",
                "block",
                "ledger_version",
                "error_kind",
                "error_message",
            ];
            let csv_failed = |e: csv::Error| write_failed(std::io::Error::other(e));
            w.write_record(header).map_err(csv_failed)?;
            for (owner, _, records) in &groups {
                for r in records {
                    let token = r.token.clone().unwrap_or_default();
                    let (kind, message) = match &r.error {
                        Some(e) => (e.kind.as_str().to_string(), e.message.clone()),
                        None => (String::new(), String::new()),
                    };
                    w.write_record([
                        owner.as_str(),
                        &r.query,
                        r.balance.as_deref().unwrap_or_default(),
                        r.formatted.as_deref().unwrap_or_default(),
                        token.symbol.as_deref().unwrap_or_default(),
                        token.name.as_deref().unwrap_or_default(),
                        &token.decimals.map(|d| d.to_string()).unwrap_or_default(),
                        r.block.as_deref().unwrap_or_default(),
                        r.ledger_version.as_deref().unwrap_or_default(),
                        &kind,
                        &message,
                    ])
                    .map_err(csv_failed)?;
                }
            }
            let rows = w
                .into_inner()
                .map_err(|e| write_failed(std::io::Error::other(e.to_string())))?;
            stdout.write_all(&rows).map_err(write_failed)?;
        }
        HoldingsFormat::Table => {
            let owners: Vec<(String, Vec<ResultRecord>)> = groups
                .into_iter()
                .map(|(owner, d, records)| (title(&owner, &d), records))
                .collect();
            table::write_owners(&mut stdout, &out.snapshot, &owners).map_err(write_failed)?;
        }
    }
    stdout.flush().map_err(write_failed)?;
    Ok(exit_for(all_ok))
}

/// An owner's title line in the table: who, where the candidates came from, how sure.
fn title(owner: &str, d: &Discovery) -> String {
    let how = if d.complete {
        "complete".to_string()
    } else {
        format!(
            "not complete: {}",
            d.reason.as_deref().unwrap_or("the sources cannot tell")
        )
    };
    format!(
        "## {owner}: {} candidates from {}; {how}",
        d.candidates,
        d.sources.join(", ")
    )
}

fn discovery_json(d: &Discovery) -> Value {
    json!({
        "sources": d.sources,
        "candidates": d.candidates,
        "from_block": d.from_block.map(|b| b.to_string()),
        "to_block": d.to_block.map(|b| b.to_string()),
        "complete": d.complete,
        "reason": d.reason,
    })
}

/// The tokens of a `--tokens` file; a line that is not NETWORK:TOKEN is a usage error naming
/// its line.
fn read_tokens(path: &std::path::Path) -> Result<Vec<Asset>, Error> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid_input("tokens", &shown, format!("cannot read it: {e}")))?;
    let mut tokens = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let asset: Asset = line.parse().map_err(|e: Error| {
            Error::invalid_input("tokens", &shown, format!("line {}: {}", i + 1, e))
        })?;
        tokens.push(asset);
    }
    Ok(tokens)
}

/// A `--token-list`: a file, or an https URL fetched once (plain http only from loopback,
/// or with `--allow-insecure-http`: a list read in the clear could be changed on the way).
async fn read_token_list(source: &str, allow_insecure_http: bool) -> Result<TokenList, Error> {
    if source.starts_with("http://") {
        // Loopback by the host the URL names, not by how its text begins
        // (`http://localhost.example.com` is not loopback).
        let host = reqwest::Url::parse(source)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback && !allow_insecure_http {
            return Err(Error::invalid_input(
                "token_list",
                source,
                "a plain http:// URL on a host other than loopback; use https://, or \
                 --allow-insecure-http",
            ));
        }
    }
    let text = if source.starts_with("https://") || source.starts_with("http://") {
        tokbal::tls::ensure_crypto_provider();
        let fetched = async {
            reqwest::Client::builder()
                .user_agent(tokbal::USER_AGENT)
                .build()?
                .get(source)
                .send()
                .await?
                .error_for_status()?
                .text()
                .await
        };
        fetched.await.map_err(|e| {
            Error::invalid_input("token_list", source, format!("cannot fetch it: {e}"))
        })?
    } else {
        std::fs::read_to_string(source).map_err(|e| {
            Error::invalid_input("token_list", source, format!("cannot read it: {e}"))
        })?
    };
    TokenList::from_json(&text).map_err(|e| Error::invalid_input("token_list", source, e.message()))
}

#[cfg(test)]
mod tests {
    use super::read_token_list;

    #[tokio::test]
    async fn a_token_list_in_the_clear_comes_from_loopback_only() {
        for url in [
            "http://tokens.example.com/list.json",
            "http://user@10.0.0.1/l",
        ] {
            let e = read_token_list(url, false).await.unwrap_err();
            assert_eq!(e.field(), Some("token_list"), "{url}");
            assert!(e.to_string().contains("https://"), "{e}");
        }
        // Loopback is allowed (and here nothing listens: the fetch itself fails).
        let e = read_token_list("http://127.0.0.1:9/list.json", false)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("cannot fetch"), "{e}");
    }
}
