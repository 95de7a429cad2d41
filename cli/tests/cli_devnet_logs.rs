//! `tokbal devnet` with a seeded transfer history and provider limits on `eth_getLogs`: the
//! flags reach the EVM node, and `stats` counts the log requests.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

fn tokbal() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tokbal"))
}

async fn get_logs(url: &str, filter: Value) -> Value {
    tokbal::tls::ensure_crypto_provider();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    client
        .post(url)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": [filter]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn devnet_seeds_a_transfer_history_and_limits_log_queries() {
    let mut child = tokbal()
        .args([
            "devnet",
            "--control",
            "--empty",
            "--evm-blocks",
            "10",
            "--seed-evm-transfers",
            "2000,3000,100",
            "--logs-max-range",
            "1000",
            "--logs-max-results",
            "50",
            "--logs-error-style",
            "range-dash",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut evm, mut transfers) = (None, None);
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(u) = line.strip_prefix("evm: ") {
            evm = Some(u.to_string());
        } else if let Some(t) = line.strip_prefix("evm transfers: ") {
            transfers = Some(t.to_string());
        } else if line.starts_with("serving until") {
            break;
        }
    }
    let evm = evm.expect("an evm: line");
    let transfers = transfers.expect("an evm transfers: line");
    // The chain was made long enough: 3,000 blocks, the logs from the first to 2,998.
    assert!(
        transfers.starts_with(&format!(
            "{} blocks 0-2998, 2000 logs, 100 holders, supply ",
            tokbal_devnet::SEED_EVM_TRANSFERS_CONTRACT
        )),
        "{transfers}"
    );
    let token = tokbal_devnet::SEED_EVM_TRANSFERS_CONTRACT;
    let wide = get_logs(
        &evm,
        json!({"address": token, "fromBlock": "0x0", "toBlock": "latest"}),
    )
    .await;
    assert_eq!(wide["error"]["code"], -32602, "{wide}");
    assert_eq!(
        wide["error"]["message"],
        "query exceeds max block range 1000"
    );
    let dense = get_logs(
        &evm,
        json!({"address": token, "fromBlock": "0x0", "toBlock": "0x3e7"}),
    )
    .await;
    let message = dense["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("query exceeds max results 50, retry with the range 0-"),
        "{dense}"
    );
    let one = get_logs(
        &evm,
        json!({"address": token, "fromBlock": "0x5", "toBlock": "0x5"}),
    )
    .await;
    assert!(one["result"].is_array(), "{one}");
    writeln!(stdin, "stats").unwrap();
    let stats: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(stats["evm"]["get_logs"], 3, "{stats}");
    assert_eq!(stats["evm"]["get_logs_refused"], 2, "{stats}");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn bad_transfer_and_limit_flags_are_refused() {
    for args in [
        &["--seed-evm-transfers", "1,2"][..],
        &["--seed-evm-transfers", "1,x,3"],
        &["--logs-max-range", "0"],
        &["--logs-max-results", "-1"],
        &["--logs-error-style", "nope"],
    ] {
        let out = tokbal()
            .arg("devnet")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    // Valid numbers a history cannot have: more holders than logs.
    let out = tokbal()
        .args(["devnet", "--empty", "--seed-evm-transfers", "10,10,11"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--seed-evm-transfers 10,10,11"), "{err}");
}
