//! `tokbal get` end to end: the real binary against the in-process devnet.

use std::process::{Command, Output};

use serde_json::Value;
use tokbal_devnet::Devnet;

const APT: &str = "0x1::aptos_coin::AptosCoin";

async fn tokbal(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_tokbal"))
            .args(&args)
            .env_remove("APTOS_API_KEY")
            .env_remove("TOKBAL_APTOS_URL")
            .env_remove("TOKBAL_AMB_URL")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            // The devnet's test key pair, through the standard chain; never instance metadata.
            .env("AWS_ACCESS_KEY_ID", tokbal_devnet::TEST_ACCESS_KEY_ID)
            .env(
                "AWS_SECRET_ACCESS_KEY",
                tokbal_devnet::TEST_SECRET_ACCESS_KEY,
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .expect("the binary runs")
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn json_output_has_one_result_per_query_in_order() {
    let net = Devnet::builder().start().await.unwrap();
    let node = net.aptos();
    node.set_balance("0xa", APT, 1_000).unwrap();
    node.set_balance("0xa", "0xfa", 42).unwrap();
    let tip = node.tip_version();
    node.reset_requests();
    let url = net.aptos_url();
    let out = tokbal(args(&[
        "get",
        "--aptos-url",
        &url,
        "--format",
        "json",
        "aptos:0xa",
        "aptos:0xZZ",
        "aptos:0xa/0xfa",
        "aptos:0xa",
    ]))
    .await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["snapshot"]["aptos"]["ledger_version"], tip.to_string());
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0]["query"], "aptos:0xa");
    assert_eq!(results[0]["balance"], "1000");
    assert_eq!(results[0]["ledger_version"], tip.to_string());
    assert_eq!(results[1]["query"], "aptos:0xZZ");
    assert_eq!(results[1]["error"]["kind"], "invalid_input");
    assert!(results[1]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("0xZZ"));
    assert!(results[1].get("balance").is_none());
    assert_eq!(results[2]["balance"], "42");
    assert_eq!(results[3]["balance"], "1000");
    // The malformed query cost nothing; the duplicate cost nothing either.
    assert_eq!(node.requests().balance, 2);
}

#[tokio::test]
async fn all_ok_exits_zero_and_prints_a_table() {
    let net = Devnet::builder().start().await.unwrap();
    net.aptos().set_balance("0xb", APT, 123_456).unwrap();
    let url = net.aptos_url();
    let out = tokbal(args(&["get", "--aptos-url", &url, "aptos:0xb"])).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("# aptos: ledger version "),
        "{text}"
    );
    assert!(lines.next().unwrap().starts_with("QUERY"), "{text}");
    let row = lines.next().unwrap();
    assert!(
        row.starts_with("aptos:0xb") && row.contains("123456"),
        "{text}"
    );
}

#[tokio::test]
async fn explicit_versions_and_their_errors() {
    let net = Devnet::builder().start().await.unwrap();
    let node = net.aptos();
    node.set_balance_at("0xc", APT, 50, 9).unwrap();
    node.prune_before(40);
    let url = net.aptos_url();
    let out = tokbal(args(&[
        "get",
        "--aptos-url",
        &url,
        "--format",
        "json",
        "--aptos-version",
        "60",
        "aptos:0xc",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["results"][0]["balance"], "9");
    assert_eq!(doc["results"][0]["ledger_version"], "60");

    let out = tokbal(args(&[
        "get",
        "--aptos-url",
        &url,
        "--format",
        "json",
        "--aptos-version",
        "10",
        "aptos:0xc",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(3));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["results"][0]["error"]["kind"], "pruned");
    assert_eq!(doc["results"][0]["error"]["code"], "version_pruned");
}

#[tokio::test]
async fn a_bad_url_fails_the_command_itself() {
    let out = tokbal(args(&["get", "--aptos-url", "ftp://x", "aptos:0x1"])).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("aptos_url") && err.contains("ftp://x"),
        "{err}"
    );
}

#[tokio::test]
async fn no_query_is_a_usage_error() {
    let out = tokbal(args(&["get"])).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn bitcoin_and_ethereum_beside_aptos_at_an_instant() {
    let net = Devnet::builder().start().await.unwrap();
    let eth_owner = "0x00000000000000000000000000000000000000e1";
    let erc20 = "0x00000000000000000000000000000000000000c2";
    let t0 = 1_767_225_600;
    net.amb()
        .set_balance("ETHEREUM_MAINNET", eth_owner, None, Some("eth"), t0, "7")
        .unwrap();
    net.amb()
        .set_balance(
            "ETHEREUM_MAINNET",
            eth_owner,
            Some(erc20),
            None,
            t0 + 60,
            "340282366920938463463374607431768211457",
        )
        .unwrap();
    let (aptos_url, amb_url) = (net.aptos_url(), net.amb_url());
    let eth = format!("ethereum:{eth_owner}");
    let token = format!("ethereum:{eth_owner}/erc20:{erc20}");
    let out = tokbal(args(&[
        "get",
        "--aptos-url",
        &aptos_url,
        "--amb-url",
        &amb_url,
        "--format",
        "json",
        "--at",
        "2026-01-01T01:00:00+01:00",
        &eth,
        &token,
    ]))
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["snapshot"]["ethereum"]["at"], "2026-01-01T00:00:00Z");
    assert_eq!(doc["results"][0]["balance"], "7");
    assert_eq!(doc["results"][0]["at"], "2026-01-01T00:00:00Z");
    assert_eq!(doc["results"][0]["last_updated"], "2026-01-01T00:00:00Z");
    // The ERC-20 balance changed a minute later: at 00:00:00 it was still 0.
    assert_eq!(doc["results"][1]["balance"], "0");
    assert!(doc["results"][1].get("last_updated").is_none());

    let out = tokbal(args(&[
        "get",
        "--amb-url",
        &amb_url,
        "--format",
        "json",
        &token,
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["results"][0]["balance"],
        "340282366920938463463374607431768211457"
    );
}

#[tokio::test]
async fn a_malformed_instant_fails_the_command_naming_it() {
    let out = tokbal(args(&["get", "--at", "yesterday", "aptos:0x1"])).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid at \"yesterday\""), "{err}");
}

#[test]
fn cli_numbers_that_are_negative_or_overflow_are_usage_errors() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tokbal"))
            .args(args)
            .env_remove("TOKBAL_APTOS_URL")
            .output()
            .unwrap()
    };
    for args in [
        &["get", "--aptos-version", "-1", "aptos:0x1"][..],
        &[
            "get",
            "--aptos-version",
            "18446744073709551616",
            "aptos:0x1",
        ],
        &["get", "--timeout", "-5", "aptos:0x1"],
        &["get", "--timeout", "1e3", "aptos:0x1"],
        &["batch", "--concurrency", "-2"],
        &["get", "--format", "xml", "aptos:0x1"],
        &[
            "get",
            "--aptos-version",
            "1",
            "--at",
            "2026-01-01T00:00:00Z",
            "aptos:0x1",
        ],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
}
