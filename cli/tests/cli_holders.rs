//! `tokbal holders`, end to end: the real binary against the devnet's JSON-RPC node, whose
//! token moves emit logs and whose `eth_getLogs` refuses ranges as providers do.

use std::process::{Command, Output};

use ruint::aliases::U256;
use serde_json::Value;
use tokbal_devnet::{Devnet, LogsErrorStyle, ZERO_ADDRESS};

const TOKEN: &str = "0x2020202020202020202020202020202020202020";
const ALICE: &str = "0x00000000000000000000000000000000000a11ce";
const BOB: &str = "0x0000000000000000000000000000000000000b0b";
const CAROL: &str = "0x00000000000000000000000000000000000ca201";

async fn tokbal(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tokbal"));
        c.args(&args).env_remove("TOKBAL_AMB_URL");
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

fn u(n: u64) -> U256 {
    U256::from(n)
}

/// A token minted to Alice and Bob, Bob paying Carol, Carol paying everything back (she
/// leaves), over several blocks; the devnet caps eth_getLogs at 3 blocks a request.
async fn history() -> Devnet {
    let net = Devnet::builder()
        .evm_initial_blocks(20)
        .start()
        .await
        .unwrap();
    let evm = net.evm();
    evm.deploy_erc20(TOKEN).unwrap();
    evm.mine(1);
    evm.transfer_erc20(TOKEN, ZERO_ADDRESS, ALICE, u(700))
        .unwrap();
    evm.transfer_erc20(TOKEN, ZERO_ADDRESS, BOB, u(300))
        .unwrap();
    evm.mine(1);
    evm.transfer_erc20(TOKEN, BOB, CAROL, u(100)).unwrap();
    evm.mine(3);
    evm.transfer_erc20(TOKEN, CAROL, BOB, u(100)).unwrap();
    evm.transfer_erc20(TOKEN, ALICE, ZERO_ADDRESS, u(50))
        .unwrap();
    evm.mine(2);
    evm.set_logs_max_range(Some(3));
    evm.set_logs_error_style(LogsErrorStyle::Plain);
    net
}

fn args(net: &Devnet, extra: &[&str]) -> Vec<String> {
    let mut a = vec![
        "holders".to_string(),
        "--endpoint".to_string(),
        format!("ethereum={}", net.evm_url()),
        format!("ethereum:erc20:{TOKEN}"),
    ];
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test]
async fn holders_as_json_jsonl_and_csv_proven_by_the_supply() {
    let net = history().await;
    let out = tokbal(args(&net, &[])).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    assert_eq!(doc["token"], format!("ethereum:erc20:{TOKEN}"));
    let holders: Vec<(String, String)> = doc["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["owner"].as_str().unwrap().to_string(),
                h["balance"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Largest first; Carol, who left, is no holder.
    assert_eq!(
        holders,
        [
            (ALICE.to_string(), "650".to_string()),
            (BOB.to_string(), "300".to_string())
        ]
    );
    let summary = &doc["summary"];
    assert_eq!(summary["holders"], 2);
    assert_eq!(summary["sum"], "950");
    assert_eq!(summary["total_supply"], "950");
    assert_eq!(summary["verified"], true);
    assert_eq!(summary["candidates"], 3);
    assert!(
        summary["log_requests"].as_u64().unwrap() > 1,
        "the range cap split the scan"
    );
    let block = doc["snapshot"]["ethereum"]["block"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(summary["to_block"], block);

    // jsonl: a line per holder with the block, then the summary.
    let out = tokbal(args(&net, &["--format", "jsonl", "--min", "400"])).await;
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["owner"], ALICE);
    assert_eq!(lines[0]["block"], block);
    assert_eq!(
        lines[1]["summary"]["holders"], 2,
        "--min lists less, proves all"
    );

    // csv: rows on stdout, the summary on stderr.
    let out = tokbal(args(&net, &["--format", "csv", "--metadata"])).await;
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("owner,balance,formatted"));
    assert_eq!(lines.count(), 2);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("\"verified\":true"), "{stderr}");
}

#[tokio::test]
async fn a_list_not_proven_whole_exits_3_and_says_why() {
    let net = history().await;
    // Bob's balance changes without an event.
    net.evm().set_erc20_balance(TOKEN, BOB, u(301)).unwrap();
    net.evm().mine(1);
    let out = tokbal(args(&net, &[])).await;
    assert_eq!(out.status.code(), Some(3));
    let doc = json(&out);
    assert_eq!(doc["summary"]["verified"], false);
    assert_eq!(doc["summary"]["sum"], "951");
    assert_eq!(doc["holders"].as_array().unwrap().len(), 2, "still printed");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("without one"), "{stderr}");
}

#[tokio::test]
async fn tokens_that_cannot_be_listed_are_usage_errors_before_any_request() {
    let net = history().await;
    net.evm().reset_requests();
    for token in [
        "ethereum".to_string(),
        format!("ethereum:erc721:{TOKEN}:7"),
        "aptos:0x1::aptos_coin::AptosCoin".to_string(),
        "ethereum:erc20:0xNOPE".to_string(),
    ] {
        let out = tokbal(vec![
            "holders".into(),
            "--endpoint".into(),
            format!("ethereum={}", net.evm_url()),
            token.clone(),
        ])
        .await;
        assert_eq!(out.status.code(), Some(2), "{token}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("token") || stderr.contains("contract"),
            "{token}: {stderr}"
        );
    }
    assert_eq!(net.evm().requests().http, 0, "no request was sent");
}
