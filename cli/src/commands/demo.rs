//! `tokbal demo`: the main job on the built-in devnet, no network and no credentials.

use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use tokbal::{At, Client, Error, ErrorKind, Network};
use tokbal_devnet::{
    APT_COIN, DEMO_ALICE, DEMO_BTC_ADDRESS, DEMO_ERC1155_CONTRACT, DEMO_ERC1155_ID,
    DEMO_ERC20_CONTRACT, DEMO_ERC721_CONTRACT, DEMO_ERC721_ID, DEMO_ETH_OWNER, DEMO_ETH_OWNER_2,
    DEMO_USDC_METADATA,
};

use super::devnet::demo_builder;
use super::{read_document, table, write_failed, EXIT_OK};

/// The demo instant: 2026-01-01T01:45:00Z, inside the demo data's history on every chain.
const DEMO_AT_SECS: u64 = 1_767_225_600 + 6_300;

pub async fn run() -> Result<ExitCode, Error> {
    let start = |e: std::io::Error| {
        Error::new(
            ErrorKind::Transport,
            format!("cannot start the devnet: {e}"),
        )
    };
    let net = demo_builder(true).start().await.map_err(start)?;
    // A second Aptos node plays aptos-testnet, keeping only history after the demo instant:
    // its read is the pruned one.
    let testnet = demo_builder(true).start().await.map_err(start)?;
    let later_us = (DEMO_AT_SECS + 1_800) * 1_000_000;
    if let Some(v) = testnet.aptos().version_at_time(later_us) {
        testnet.aptos().prune_before(v);
    }

    let client = Client::builder()
        .aptos_url(net.aptos_url())
        .aptos_network_url(Network::AptosTestnet, testnet.aptos_url())
        .aptos_api_key(None)
        // Ethereum from the devnet's JSON-RPC node, Bitcoin from its Esplora server.
        .endpoint(Network::EthereumMainnet, net.evm_url())
        .endpoint(Network::BitcoinMainnet, net.esplora_url())
        .build()?
        // Each token's symbol, name and decimals, read at the same pin as its balances.
        .with_metadata();
    let queries = vec![
        format!("aptos:{DEMO_ALICE}"),
        format!("aptos:{DEMO_ALICE}/{DEMO_USDC_METADATA}"),
        format!("ethereum:{DEMO_ETH_OWNER}"),
        format!("ethereum:{DEMO_ETH_OWNER}/erc20:{DEMO_ERC20_CONTRACT}"),
        format!("ethereum:{DEMO_ETH_OWNER_2}/erc721:{DEMO_ERC721_CONTRACT}:{DEMO_ERC721_ID}"),
        format!("ethereum:{DEMO_ETH_OWNER}/erc1155:{DEMO_ERC1155_CONTRACT}:{DEMO_ERC1155_ID}"),
        format!("bitcoin:{DEMO_BTC_ADDRESS}"),
        "aptos:0xNOT-AN-ADDRESS".to_string(),
        format!("aptos-testnet:{DEMO_ALICE}/{APT_COIN}"),
    ];
    let at = UNIX_EPOCH + Duration::from_secs(DEMO_AT_SECS);
    println!(
        "tokbal demo: {} queries against the devnet (Aptos {}, EVM {}, Esplora {}), pinned at {}\n",
        queries.len(),
        net.aptos_url(),
        net.evm_url(),
        net.esplora_url(),
        tokbal::time::format_rfc3339(at)
    );
    let (doc, _) = read_document(&client, &queries, At::Time(at)).await;
    let mut stdout = std::io::stdout().lock();
    table::write_document(&mut stdout, &doc).map_err(write_failed)?;
    holdings(&client, At::Time(at)).await?;
    println!(
        "\nThe two errors are on purpose: a malformed query, refused before any request, and a \
         read older than the aptos-testnet node keeps.\nBALANCE is in each token's smallest \
         unit (octas, wei, satoshis; the ERC-20 balance is above 2^128), AMOUNT in whole \
         tokens, exact, from the decimals read at the same pin."
    );
    Ok(ExitCode::from(EXIT_OK))
}

/// One owner's holdings on two chains: Alice on Aptos (APT and her coin stores; the USDC
/// fungible asset as a list would name it) and the demo owner on Ethereum (the native coin
/// and the demo tokens, as a token list names them).
async fn holdings(client: &Client, at: At) -> Result<(), Error> {
    let owners: Vec<tokbal::Query> = [
        format!("aptos:{DEMO_ALICE}"),
        format!("ethereum:{DEMO_ETH_OWNER}"),
    ]
    .iter()
    .map(|q| q.parse())
    .collect::<Result<_, _>>()?;
    let listed: Vec<tokbal::Asset> = [
        format!("aptos:{DEMO_USDC_METADATA}"),
        format!("ethereum:erc20:{DEMO_ERC20_CONTRACT}"),
        format!("ethereum:erc721:{DEMO_ERC721_CONTRACT}"),
        format!("ethereum:erc1155:{DEMO_ERC1155_CONTRACT}:{DEMO_ERC1155_ID}"),
    ]
    .iter()
    .map(|t| t.parse())
    .collect::<Result<_, _>>()?;
    // The demo history sets balances without transfer events: no logs to read.
    let options = tokbal::holdings::HoldingsOptions::default()
        .tokens(listed)
        .no_logs();
    let out = client.holdings(&owners, at, options).await;
    println!("\nHoldings, read at the same instant (tokbal holdings):");
    let groups: Vec<(String, Vec<tokbal::report::ResultRecord>)> = out
        .owners
        .iter()
        .map(|o| {
            let d = &o.discovery;
            let title = format!(
                "## {}: {} candidates from {}{}",
                o.owner,
                d.candidates,
                d.sources.join(", "),
                if d.complete { "; complete" } else { "" }
            );
            let records = o
                .holdings
                .iter()
                .map(|(q, r)| tokbal::report::ResultRecord::new(q.to_string(), r))
                .collect();
            (title, records)
        })
        .collect();
    let mut stdout = std::io::stdout().lock();
    table::write_owners(&mut stdout, &out.snapshot, &groups).map_err(write_failed)
}
