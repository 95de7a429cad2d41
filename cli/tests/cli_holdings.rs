//! `tokbal holdings`, end to end: the real binary against the in-process devnet, one owner
//! on each of its chains in one call. The EVM owner received tokens with logs (an ERC-20,
//! an ERC-721 item, two ERC-1155 ids in one batch), holds others no log shows (named by a
//! token list or a `--tokens` file), and sent one away entirely; the Aptos account holds APT
//! and a coin in coin stores listed over several pages, a coin store left empty and a
//! fungible asset named in `--tokens`; the Bitcoin address holds BTC.
//!
//! Each holding must be exactly the record `tokbal get --metadata` prints for its query at
//! the same snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ruint::aliases::U256;
use serde_json::{json, Value};
use tokbal::Query;
use tokbal_devnet::{Devnet, LogsErrorStyle, APT_COIN, EVM_REVERTING_CONTRACT, ZERO_ADDRESS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ALICE: &str = "0x00000000000000000000000000000000000a11ce";
const BOB: &str = "0x0000000000000000000000000000000000000b0b";
/// An ERC-20 minted to Alice: found in the logs.
const LOGGED: &str = "0x1111111111111111111111111111111111111111";
/// An ERC-20 Alice holds without any event: on the token list.
const LISTED: &str = "0x2222222222222222222222222222222222222222";
/// An ERC-20 Alice holds without any event: in the `--tokens` file.
const FILED: &str = "0x3333333333333333333333333333333333333333";
/// An ERC-20 minted to Alice, then all of it sent to Bob.
const GONE: &str = "0x4444444444444444444444444444444444444444";
/// An ERC-721 collection: item 1337 minted to Alice.
const NFT: &str = "0x5555555555555555555555555555555555555555";
/// An ERC-1155 contract: ids 7 and 8 minted to Alice in one batch.
const MULTI: &str = "0x6666666666666666666666666666666666666666";
/// An ERC-20 Alice holds without any event, on the list under another chain's id only.
const ELSEWHERE: &str = "0x7777777777777777777777777777777777777777";

const ACCOUNT: &str = "0xa11ce";
const USDC: &str = "0xabc::usdc::USDC";
/// A coin whose store the account keeps, empty.
const EMPTY_COIN: &str = "0xabc::moon::MOON";
const FA: &str = "0xfa";

const BTC_HOLDER: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";

async fn tokbal(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tokbal"));
        c.args(&args)
            .env_remove("TOKBAL_AMB_URL")
            .env_remove("TOKBAL_APTOS_URL")
            .env_remove("APTOS_API_KEY");
        for (k, _) in std::env::vars() {
            if k.starts_with("TOKBAL_ENDPOINT_") {
                c.env_remove(k);
            }
        }
        c.output().expect("the binary runs")
    })
    .await
    .unwrap()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn q(s: &str) -> Query {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_doc(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(out)
        )
    })
}

/// A number written as a JSON number or a decimal string.
fn number(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// A folder of its own under the system's temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("tokbal-holdings-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A token list in the Uniswap token-lists schema: `LISTED` and `LOGGED` on Ethereum,
/// `ELSEWHERE` on Optimism only.
fn token_list_json() -> String {
    let entry = |chain: u64, address: &str, symbol: &str, name: &str, decimals: u8| {
        json!({
            "chainId": chain, "address": address, "symbol": symbol, "name": name,
            "decimals": decimals, "logoURI": "https://example.invalid/t.png",
        })
    };
    json!({
        "name": "Tokbal CLI Test List",
        "timestamp": "2026-01-01T00:00:00.000Z",
        "version": {"major": 1, "minor": 0, "patch": 0},
        "tokens": [
            entry(1, LISTED, "LST", "Listed", 18),
            entry(1, LOGGED, "LOG", "Logged", 6),
            entry(10, ELSEWHERE, "ELS", "Elsewhere", 18),
        ],
    })
    .to_string()
}

/// The `--tokens` file: a comment, a blank line, `FILED` and the fungible asset.
fn tokens_file() -> String {
    format!("# besides those found\n\nethereum:erc20:{FILED}\naptos:{FA}\n")
}

/// The devnet and the first block of the NFT part of the EVM history.
async fn world() -> (Devnet, u64) {
    let net = Devnet::builder()
        .evm_initial_blocks(20)
        .esplora_initial_blocks(20)
        .start()
        .await
        .unwrap();
    let evm = net.evm();
    evm.transfer_erc20(LOGGED, ZERO_ADDRESS, ALICE, U256::from(700_000u64))
        .unwrap();
    evm.transfer_erc20(GONE, ZERO_ADDRESS, ALICE, U256::from(10u64))
        .unwrap();
    evm.set_token_metadata(LOGGED, Some("Logged"), Some("LOG"), Some(6))
        .unwrap();
    evm.set_token_metadata(GONE, Some("Gone"), Some("GON"), Some(0))
        .unwrap();
    evm.mine(1);
    evm.transfer_erc20(GONE, ALICE, BOB, U256::from(10u64))
        .unwrap();
    evm.set_erc20_balance(LISTED, ALICE, U256::from(5_000_000_000_000_000_000u128))
        .unwrap();
    evm.set_erc20_balance(FILED, ALICE, U256::from(250u64))
        .unwrap();
    evm.set_erc20_balance(ELSEWHERE, ALICE, U256::from(1u64))
        .unwrap();
    for (token, name, symbol, decimals) in [
        (LISTED, "Listed", "LST", 18),
        (FILED, "Filed", "FIL", 2),
        (ELSEWHERE, "Elsewhere", "ELS", 18),
    ] {
        evm.set_token_metadata(token, Some(name), Some(symbol), Some(decimals))
            .unwrap();
    }
    evm.mine(1);
    let split = evm
        .transfer_erc721(NFT, ZERO_ADDRESS, ALICE, U256::from(1337u64))
        .unwrap();
    evm.set_token_metadata(NFT, Some("Nifty"), Some("NFT"), None)
        .unwrap();
    evm.transfer_erc1155_batch(
        MULTI,
        BOB,
        ZERO_ADDRESS,
        ALICE,
        &[U256::from(7u64), U256::from(8u64)],
        &[U256::from(3u64), U256::from(4u64)],
    )
    .unwrap();
    evm.set_native_balance(ALICE, U256::from(1_500_000_000_000_000_000u128))
        .unwrap();
    evm.mine(2);
    // Log ranges refused past 8 blocks: the scan goes in several requests.
    evm.set_logs_max_range(Some(8));
    evm.set_logs_error_style(LogsErrorStyle::Plain);

    let aptos = net.aptos();
    aptos.set_coin_info(USDC, "USD Coin", "USDC", 6).unwrap();
    aptos.set_coin_info(EMPTY_COIN, "Moon", "MOON", 8).unwrap();
    aptos
        .set_fungible_asset_metadata(FA, "Token", "TKN", 9)
        .unwrap();
    aptos.set_balance(ACCOUNT, APT_COIN, 150_000_000).unwrap();
    aptos.set_balance(ACCOUNT, USDC, 2_500_000).unwrap();
    aptos.set_balance(ACCOUNT, EMPTY_COIN, 0).unwrap();
    aptos.set_balance(ACCOUNT, FA, 5).unwrap();
    for i in 0..4 {
        aptos
            .set_resource(ACCOUNT, &format!("0x1::m::R{i}"), &json!({"i": i}))
            .unwrap();
    }
    aptos.set_resources_page_size(2);

    net.esplora().pay(BTC_HOLDER, 3_000).unwrap();
    net.esplora().mine(1);
    (net, split)
}

/// The connection options for the devnet's three chains.
fn endpoints(net: &Devnet) -> Vec<String> {
    vec![
        "--endpoint".into(),
        format!("ethereum={}", net.evm_url()),
        "--endpoint".into(),
        format!("bitcoin={}", net.esplora_url()),
        "--aptos-url".into(),
        net.aptos_url(),
    ]
}

fn holdings_args(net: &Devnet, extra: &[&str], owners: &[&str]) -> Vec<String> {
    let mut a = vec!["holdings".to_string()];
    a.extend(endpoints(net));
    a.extend(strings(extra));
    a.extend(strings(owners));
    a
}

fn owners() -> [String; 3] {
    [
        format!("ethereum:{ALICE}"),
        format!("aptos:{ACCOUNT}"),
        format!("bitcoin:{BTC_HOLDER}"),
    ]
}

/// What each owner must hold with both files given and logs from block 0.
fn expected_holdings() -> [BTreeSet<Query>; 3] {
    let eth = |token: &str| {
        if token.is_empty() {
            q(&format!("ethereum:{ALICE}"))
        } else {
            q(&format!("ethereum:{ALICE}/{token}"))
        }
    };
    [
        [
            String::new(),
            format!("erc20:{LOGGED}"),
            format!("erc20:{LISTED}"),
            format!("erc20:{FILED}"),
            format!("erc721:{NFT}"),
            format!("erc1155:{MULTI}:7"),
            format!("erc1155:{MULTI}:8"),
        ]
        .iter()
        .map(|t| eth(t))
        .collect(),
        [APT_COIN, USDC, FA]
            .iter()
            .map(|a| q(&format!("aptos:{ACCOUNT}/{a}")))
            .collect(),
        BTreeSet::from([q(&format!("bitcoin:{BTC_HOLDER}"))]),
    ]
}

/// The queries of an owner's holdings records, each once.
fn queries(holdings: &Value) -> BTreeSet<Query> {
    let records = holdings.as_array().expect("holdings is an array");
    let set: BTreeSet<Query> = records
        .iter()
        .map(|r| q(r["query"].as_str().expect("a query")))
        .collect();
    assert_eq!(set.len(), records.len(), "a holding twice: {holdings:#}");
    set
}

#[tokio::test]
async fn json_holdings_are_the_records_get_prints_on_every_chain() {
    let (net, _) = world().await;
    let dir = TempDir::new("json");
    let list = dir.write("list.json", &token_list_json());
    let tokens = dir.write("tokens.txt", &tokens_file());
    let owners = owners();
    let owner_refs: Vec<&str> = owners.iter().map(String::as_str).collect();
    let out = tokbal(holdings_args(
        &net,
        &[
            "--format",
            "json",
            "--token-list",
            &list,
            "--tokens",
            &tokens,
        ],
        &owner_refs,
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json_doc(&out);
    let block = number(&doc["snapshot"]["ethereum"]["block"]).expect("the ethereum block");
    assert_eq!(block, net.evm().tip());
    assert_eq!(
        number(&doc["snapshot"]["aptos"]["ledger_version"]),
        Some(net.aptos().tip_version())
    );
    assert_eq!(
        number(&doc["snapshot"]["bitcoin"]["block"]),
        Some(net.esplora().tip())
    );

    let got = doc["owners"].as_array().expect("owners");
    assert_eq!(got.len(), 3, "{doc:#}");
    // Each owner named NETWORK:OWNER, in the order given.
    for (o, given) in got.iter().zip(&owners) {
        let name = o["owner"].as_str().expect("owner");
        assert!(!name.contains('/'), "{name}");
        let (named, wanted) = (q(name), q(given));
        assert_eq!(
            (named.network(), named.owner()),
            (wanted.network(), wanted.owner())
        );
    }
    assert_eq!(got[0]["owner"], format!("ethereum:{ALICE}"));
    assert_eq!(got[2]["owner"], format!("bitcoin:{BTC_HOLDER}"));

    // Only what is held: not GONE, not ELSEWHERE (listed for Optimism), not the empty coin
    // store.
    let want = expected_holdings();
    for (o, want) in got.iter().zip(&want) {
        assert_eq!(&queries(&o["holdings"]), want, "{}", o["owner"]);
    }

    // Where each list came from, and how sure it is.
    let d = &got[0]["discovery"];
    let sources: BTreeSet<&str> = d["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| s.as_str().expect("a source"))
        .collect();
    assert_eq!(sources, BTreeSet::from(["native", "logs", "list"]), "{d}");
    assert_eq!(d["complete"], true, "{d}");
    assert!(d["reason"].is_null(), "{d}");
    assert_eq!(number(&d["from_block"]), Some(0), "{d}");
    assert_eq!(number(&d["to_block"]), Some(block), "{d}");
    // native; logs: LOGGED, GONE, NFT, MULTI 7 and 8; list: LISTED (LOGGED again); FILED.
    assert_eq!(number(&d["candidates"]), Some(8), "{d}");
    let d = &got[1]["discovery"];
    assert_eq!(d["complete"], false, "{d}");
    assert!(
        d["reason"]
            .as_str()
            .is_some_and(|r| r.to_lowercase().contains("fungible asset")),
        "{d}"
    );
    // APT, USDC, the empty MOON store; the fungible asset given.
    assert_eq!(number(&d["candidates"]), Some(4), "{d}");
    let d = &got[2]["discovery"];
    assert_eq!(d["complete"], true, "{d}");
    assert_eq!(d["sources"], json!(["native"]), "{d}");
    assert_eq!(number(&d["candidates"]), Some(1), "{d}");

    // A few records spelled out.
    let record = |owner: usize, query: &str| -> &Value {
        let want = q(query);
        got[owner]["holdings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| q(r["query"].as_str().unwrap()) == want)
            .unwrap_or_else(|| panic!("no {query}"))
    };
    let logged = record(0, &format!("ethereum:{ALICE}/erc20:{LOGGED}"));
    assert_eq!(logged["balance"], "700000");
    assert_eq!(logged["formatted"], "0.7");
    assert_eq!(logged["token"]["symbol"], "LOG");
    assert_eq!(logged["token"]["decimals"], 6);
    assert_eq!(number(&logged["block"]), Some(block));
    let native = record(0, &format!("ethereum:{ALICE}"));
    assert_eq!(native["query"], format!("ethereum:{ALICE}"), "no token");
    assert_eq!(native["formatted"], "1.5");
    assert_eq!(native["token"]["symbol"], "ETH");
    let filed = record(0, &format!("ethereum:{ALICE}/erc20:{FILED}"));
    assert_eq!(filed["formatted"], "2.5");
    let apt = record(1, &format!("aptos:{ACCOUNT}"));
    assert_eq!(apt["balance"], "150000000");
    assert_eq!(apt["formatted"], "1.5");
    assert_eq!(apt["token"]["symbol"], "APT");
    let fa = record(1, &format!("aptos:{ACCOUNT}/{FA}"));
    assert_eq!(fa["formatted"], "0.000000005");
    assert_eq!(fa["token"]["name"], "Token");
    let btc = record(2, &format!("bitcoin:{BTC_HOLDER}"));
    assert_eq!(btc["balance"], "3000");
    assert_eq!(btc["formatted"], "0.00003");
    assert_eq!(btc["token"]["symbol"], "BTC");

    // Each holding is exactly what get --metadata prints for its query at the same snapshot.
    let snapshot = dir.write("snapshot.json", &doc["snapshot"].to_string());
    for o in got {
        let records = o["holdings"].as_array().unwrap();
        let mut args = vec!["get".to_string()];
        args.extend(endpoints(&net));
        args.extend(strings(&[
            "--metadata",
            "--format",
            "json",
            "--snapshot",
            &snapshot,
        ]));
        args.extend(
            records
                .iter()
                .map(|r| r["query"].as_str().unwrap().to_string()),
        );
        let got_get = tokbal(args).await;
        assert_eq!(got_get.status.code(), Some(0), "{}", stderr(&got_get));
        let get_doc = json_doc(&got_get);
        assert_eq!(&get_doc["results"], &o["holdings"], "{}", o["owner"]);
    }
}

#[tokio::test]
async fn jsonl_table_and_csv_carry_the_same_holdings() {
    let (net, _) = world().await;
    let dir = TempDir::new("formats");
    let list = dir.write("list.json", &token_list_json());
    let tokens = dir.write("tokens.txt", &tokens_file());
    let owners = owners();
    let owner_refs: Vec<&str> = owners.iter().map(String::as_str).collect();
    let run = |format: &'static str| {
        tokbal(holdings_args(
            &net,
            &[
                "--format",
                format,
                "--token-list",
                &list,
                "--tokens",
                &tokens,
            ],
            &owner_refs,
        ))
    };
    let out = run("json").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json_doc(&out);
    let got = doc["owners"].as_array().unwrap();

    // jsonl: the records, then one discovery line per owner after that owner's records.
    let out = run("jsonl").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let mut records: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut discoveries: Vec<(String, Value)> = Vec::new();
    for line in &lines {
        if let Some(query) = line.get("query").and_then(Value::as_str) {
            let query = q(query);
            let owner = got
                .iter()
                .map(|o| o["owner"].as_str().unwrap())
                .find(|o| {
                    let o = q(o);
                    (o.network(), o.owner()) == (query.network(), query.owner())
                })
                .unwrap_or_else(|| panic!("{query} is no owner's"));
            assert!(
                !discoveries.iter().any(|(o, _)| o == owner),
                "{query} after its owner's discovery line"
            );
            records
                .entry(owner.to_string())
                .or_default()
                .push(line.clone());
        } else {
            let owner = line["owner"].as_str().unwrap_or_else(|| panic!("{line}"));
            assert!(line.get("discovery").is_some(), "{line}");
            discoveries.push((owner.to_string(), line["discovery"].clone()));
        }
    }
    assert_eq!(discoveries.len(), 3, "one discovery line per owner");
    for o in got {
        let owner = o["owner"].as_str().unwrap();
        let (_, d) = discoveries
            .iter()
            .find(|(name, _)| name == owner)
            .unwrap_or_else(|| panic!("no discovery line for {owner}"));
        assert_eq!(d, &o["discovery"], "{owner}");
        let mut lines = records.get(owner).cloned().unwrap_or_default();
        let mut wanted = o["holdings"].as_array().unwrap().clone();
        let key = |v: &Value| v["query"].as_str().unwrap().to_string();
        lines.sort_by_key(key);
        wanted.sort_by_key(key);
        assert_eq!(lines, wanted, "{owner}: the records of the document");
    }

    // The table: the snapshot, then each owner's title and its rows, with symbols and
    // amounts in whole tokens.
    let out = run("table").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let titles: Vec<usize> = got
        .iter()
        .map(|o| {
            let owner = o["owner"].as_str().unwrap();
            lines
                .iter()
                .position(|l| l.contains(owner))
                .unwrap_or_else(|| panic!("no title for {owner}:\n{text}"))
        })
        .collect();
    assert!(
        titles.windows(2).all(|w| w[0] < w[1]),
        "owners in the order given:\n{text}"
    );
    let section = |i: usize| -> String {
        let end = titles.get(i + 1).copied().unwrap_or(lines.len());
        lines[titles[i]..end].join("\n")
    };
    for (i, wanted) in [
        &["ETH", "1.5", "LOG", "0.7", "LST", "5", "FIL", "2.5", "NFT"][..],
        &["APT", "1.5", "USDC", "2.5", "TKN", "0.000000005"],
        &["BTC", "0.00003"],
    ]
    .iter()
    .enumerate()
    {
        let s = section(i);
        for w in *wanted {
            assert!(s.contains(w), "{w} not under owner {i}:\n{s}");
        }
    }
    assert!(!section(1).contains("LOG") && !section(0).contains("USDC"));

    // CSV: one row per holding.
    let out = run("csv").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let total: usize = got
        .iter()
        .map(|o| o["holdings"].as_array().unwrap().len())
        .sum();
    assert_eq!(rows.len(), total);
    for o in got {
        for r in o["holdings"].as_array().unwrap() {
            let query = r["query"].as_str().unwrap();
            assert!(
                rows.iter().any(|row| row.iter().any(|cell| cell == query)),
                "{query} has no row"
            );
        }
    }
}

#[tokio::test]
async fn without_logs_or_from_a_later_block_the_list_is_not_whole() {
    let (net, split) = world().await;
    let dir = TempDir::new("partial");
    let list = dir.write("list.json", &token_list_json());
    let alice = format!("ethereum:{ALICE}");
    let eth = |token: &str| q(&format!("ethereum:{ALICE}/{token}"));

    // --no-logs: the native coin and the list; what only the logs show is not found.
    let out = tokbal(holdings_args(
        &net,
        &["--format", "json", "--no-logs", "--token-list", &list],
        &[&alice],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json_doc(&out);
    let o = &doc["owners"][0];
    assert_eq!(
        queries(&o["holdings"]),
        BTreeSet::from([
            q(&alice),
            eth(&format!("erc20:{LISTED}")),
            eth(&format!("erc20:{LOGGED}")),
        ])
    );
    let d = &o["discovery"];
    assert_eq!(d["complete"], false, "{d}");
    assert!(d["reason"].as_str().is_some_and(|r| !r.is_empty()), "{d}");
    assert!(
        !d["sources"].as_array().unwrap().contains(&json!("logs")),
        "{d}"
    );

    // --from-block: what arrived only before it is missed.
    let from = split.to_string();
    let out = tokbal(holdings_args(
        &net,
        &["--format", "json", "--from-block", &from],
        &[&alice],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json_doc(&out);
    let o = &doc["owners"][0];
    assert_eq!(
        queries(&o["holdings"]),
        BTreeSet::from([
            q(&alice),
            eth(&format!("erc721:{NFT}")),
            eth(&format!("erc1155:{MULTI}:7")),
            eth(&format!("erc1155:{MULTI}:8")),
        ])
    );
    let d = &o["discovery"];
    assert_eq!(d["complete"], false, "{d}");
    assert_eq!(number(&d["from_block"]), Some(split), "{d}");
    assert!(d["reason"].as_str().is_some_and(|r| !r.is_empty()), "{d}");
}

#[tokio::test]
async fn a_holding_that_cannot_be_read_is_printed_with_its_error_and_exits_3() {
    let (net, _) = world().await;
    let dir = TempDir::new("error");
    let tokens = dir.write(
        "tokens.txt",
        &format!("ethereum:erc20:{EVM_REVERTING_CONTRACT}\nethereum:erc20:{FILED}\n"),
    );
    let alice = format!("ethereum:{ALICE}");
    let out = tokbal(holdings_args(
        &net,
        &["--format", "json", "--tokens", &tokens],
        &[&alice],
    ))
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let doc = json_doc(&out);
    let holdings = doc["owners"][0]["holdings"].as_array().unwrap();
    let failed = q(&format!("ethereum:{ALICE}/erc20:{EVM_REVERTING_CONTRACT}"));
    let record = holdings
        .iter()
        .find(|r| q(r["query"].as_str().unwrap()) == failed)
        .unwrap_or_else(|| panic!("the failing candidate is kept: {holdings:#?}"));
    assert!(record.get("balance").is_none(), "{record}");
    assert!(record["error"]["kind"].is_string(), "{record}");
    // The others are there all the same.
    assert!(holdings
        .iter()
        .any(|r| q(r["query"].as_str().unwrap()) == q(&format!("ethereum:{ALICE}/erc20:{FILED}"))));
}

/// Serves `body` to every request on 127.0.0.1, counting them.
async fn serve(body: String) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&served);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut chunk = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&chunk[..n]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(answer.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (format!("http://{addr}/tokens.json"), served)
}

#[tokio::test]
async fn a_token_list_by_url_is_fetched_once() {
    let (net, _) = world().await;
    let (url, served) = serve(token_list_json()).await;
    let alice = format!("ethereum:{ALICE}");
    let out = tokbal(holdings_args(
        &net,
        &["--format", "json", "--token-list", &url],
        &[&alice],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(served.load(Ordering::SeqCst), 1);
    let doc = json_doc(&out);
    let found = queries(&doc["owners"][0]["holdings"]);
    assert!(found.contains(&q(&format!("ethereum:{ALICE}/erc20:{LISTED}"))));
    assert!(!found.contains(&q(&format!("ethereum:{ALICE}/erc20:{ELSEWHERE}"))));
}

/// Every request counter of the devnet's three chains.
fn requests(net: &Devnet) -> (u64, u64, u64) {
    (
        net.evm().requests().http,
        net.aptos().requests().total,
        net.esplora().requests().http,
    )
}

#[tokio::test]
async fn malformed_owners_and_files_are_usage_errors_before_any_request() {
    let (net, _) = world().await;
    let dir = TempDir::new("usage");
    let good_list = dir.write("list.json", &token_list_json());
    let bad_list = dir.write(
        "bad-list.json",
        r#"{"tokens": [{"chainId": 1, "address": "0x12"}]}"#,
    );
    let not_json = dir.write("not-json.json", "<html>a list</html>");
    let bad_tokens = dir.write(
        "bad-tokens.txt",
        &format!("ethereum:erc20:{FILED}\nethereum:erc20:0xNOPE\n"),
    );
    let missing = dir.0.join("absent.json").to_string_lossy().into_owned();
    net.evm().reset_requests();
    net.aptos().reset_requests();
    net.esplora().reset_requests();
    let alice = format!("ethereum:{ALICE}");

    // A malformed owner among good ones.
    for bad in [
        "ethereum:0xNOPE".to_string(),
        "aptos:0xZZ".to_string(),
        "bitcoin:bc1qnotanaddress".to_string(),
        "nonet:0x1".to_string(),
        "ethereum".to_string(),
        format!("ethereum:{ALICE}/erc20:{LOGGED}"),
        format!("aptos:{ACCOUNT}/{FA}"),
    ] {
        let out = tokbal(holdings_args(
            &net,
            &["--format", "json"],
            &[&alice, &bad, &format!("aptos:{ACCOUNT}")],
        ))
        .await;
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{bad}: nothing printed");
        assert!(!stderr(&out).trim().is_empty(), "{bad}: says why");
    }
    // Files that cannot be read as what they should be.
    for (flag, file) in [
        ("--token-list", bad_list.as_str()),
        ("--token-list", not_json.as_str()),
        ("--token-list", missing.as_str()),
        ("--tokens", bad_tokens.as_str()),
        ("--tokens", missing.as_str()),
    ] {
        let out = tokbal(holdings_args(&net, &[flag, file], &[&alice])).await;
        assert_eq!(
            out.status.code(),
            Some(2),
            "{flag} {file}: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).trim().is_empty());
    }
    assert_eq!(requests(&net), (0, 0, 0), "no request was sent");

    // The same call with the owner and files right reads.
    let out = tokbal(holdings_args(
        &net,
        &["--token-list", &good_list],
        &[&alice],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(requests(&net).0 > 0);
}
