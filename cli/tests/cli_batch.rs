//! `tokbal batch`, `schema`, `devnet` and `demo`, end to end with the real binary.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tokbal_devnet::Devnet;

const APT: &str = "0x1::aptos_coin::AptosCoin";

fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tokbal"));
    c.env_remove("APTOS_API_KEY")
        .env_remove("TOKBAL_APTOS_URL")
        .env_remove("TOKBAL_AMB_URL")
        .env("AWS_ACCESS_KEY_ID", tokbal_devnet::TEST_ACCESS_KEY_ID)
        .env(
            "AWS_SECRET_ACCESS_KEY",
            tokbal_devnet::TEST_SECRET_ACCESS_KEY,
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
    c
}

async fn run(args: Vec<String>, stdin: Option<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut child = command()
            .args(&args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn s(list: &[&str]) -> Vec<String> {
    list.iter().map(|x| x.to_string()).collect()
}

const INPUT: &str =
    "# balances to read\naptos:0xa\n\naptos:0xZZ\n  aptos:0xb/0xfa  \n# done\naptos:0xa\n";

async fn seeded() -> Devnet {
    let net = Devnet::builder().start().await.unwrap();
    net.aptos().set_balance("0xa", APT, 10).unwrap();
    net.aptos().set_balance("0xb", "0xfa", 20).unwrap();
    net
}

#[tokio::test]
async fn jsonl_streams_one_record_per_query_with_its_line() {
    let net = seeded().await;
    let dir = std::env::temp_dir().join(format!("tokbal-batch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("queries.txt");
    std::fs::write(&file, INPUT).unwrap();
    let out = run(
        s(&[
            "batch",
            file.to_str().unwrap(),
            "--aptos-url",
            &net.aptos_url(),
        ]),
        None,
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "no progress bar when stderr is not a terminal"
    );
    let mut records: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    records.sort_by_key(|r| r["line"].as_u64().unwrap());
    let lines: Vec<u64> = records
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 4, 5, 7]);
    assert_eq!(records[0]["query"], "aptos:0xa");
    assert_eq!(records[0]["balance"], "10");
    assert_eq!(records[1]["error"]["kind"], "invalid_input");
    assert_eq!(records[2]["query"], "aptos:0xb/0xfa");
    assert_eq!(records[2]["balance"], "20");
    assert_eq!(records[3]["balance"], "10");
    let version = records[0]["ledger_version"].clone();
    assert!(records
        .iter()
        .filter(|r| r.get("balance").is_some())
        .all(|r| r["ledger_version"] == version));
}

#[tokio::test]
async fn json_and_table_are_in_input_order_and_csv_rows_carry_their_line() {
    let net = seeded().await;
    let url = net.aptos_url();
    let out = run(
        s(&["batch", "-", "--aptos-url", &url, "--format", "json"]),
        Some(INPUT.into()),
    )
    .await;
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let lines: Vec<u64> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 4, 5, 7]);
    assert!(doc["snapshot"]["aptos"]["ledger_version"].is_string());

    let out = run(
        s(&["batch", "--aptos-url", &url, "--format", "csv"]),
        Some(INPUT.into()),
    )
    .await;
    // Streamed in completion order, each row with its line: sorted, the input order.
    let text = String::from_utf8(out.stdout).unwrap();
    let mut rows: Vec<&str> = text.lines().collect();
    assert_eq!(
        rows[0],
        "line,query,balance,ledger_version,block,at,last_updated,error_kind,error_code,error_message"
    );
    rows[1..].sort_by_key(|r| r.split(',').next().unwrap().parse::<u64>().unwrap());
    assert!(rows[1].starts_with("2,aptos:0xa,10,"), "{text}");
    assert!(
        rows[2].starts_with("4,aptos:0xZZ,,,,,,invalid_input,,"),
        "{text}"
    );
    assert_eq!(rows.len(), 5);

    let out = run(
        s(&["batch", "--aptos-url", &url, "--format", "table"]),
        Some(INPUT.into()),
    )
    .await;
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().any(|l| l.starts_with("LINE")), "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.trim_start().starts_with(char::is_numeric))
            .count(),
        4,
        "{text}"
    );
}

#[tokio::test]
async fn a_missing_file_fails_the_command_naming_it() {
    let out = run(s(&["batch", "/no/such/file.txt"]), None).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/file.txt"));
}

#[tokio::test]
async fn schema_describes_the_records_printed() {
    let out = run(s(&["schema"]), None).await;
    assert_eq!(out.status.code(), Some(0));
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    let props = schema["properties"].as_object().unwrap();
    for key in [
        "line",
        "query",
        "balance",
        "ledger_version",
        "at",
        "last_updated",
        "error",
    ] {
        assert!(props.contains_key(key), "{key} missing from {schema:#}");
    }
    assert_eq!(schema["required"], serde_json::json!(["line", "query"]));
    let text = serde_json::to_string(&schema).unwrap();
    for kind in [
        "invalid_input",
        "not_yet_available",
        "quota_exceeded",
        "unsupported",
    ] {
        assert!(text.contains(kind), "{kind}");
    }
    let out = run(s(&["schema", "document"]), None).await;
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["properties"]["snapshot"].is_object() && doc["properties"]["results"].is_object());
}

#[tokio::test]
async fn devnet_prints_its_urls_first_and_serves_them() {
    // The reader is kept to the end: closing the pipe would end the devnet at its next line.
    let (aptos, amb, mut child, _stdout) = tokio::task::spawn_blocking(|| {
        let mut child = command()
            .args(["devnet", "--latency-ms", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let aptos = lines.next().unwrap().unwrap();
        let amb = lines.next().unwrap().unwrap();
        (aptos, amb, child, lines)
    })
    .await
    .unwrap();
    let aptos_url = aptos.strip_prefix("aptos: ").unwrap().to_string();
    let amb_url = amb.strip_prefix("amb: ").unwrap().to_string();
    assert!(aptos_url.starts_with("http://127.0.0.1:") && aptos_url.ends_with("/v1"));
    assert!(amb_url.starts_with("http://127.0.0.1:"));
    let out = run(
        s(&[
            "get",
            "--aptos-url",
            &aptos_url,
            "--amb-url",
            &amb_url,
            "--format",
            "json",
            &format!("aptos:{}", tokbal_devnet::DEMO_ALICE),
            &format!("ethereum:{}", tokbal_devnet::DEMO_ETH_OWNER),
        ]),
        None,
    )
    .await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test]
async fn demo_runs_offline_and_shows_every_kind_of_answer() {
    let out = run(s(&["demo"]), None).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "340282366920938463463374607431768211457",
        "invalid_input",
        "pruned",
        "bitcoin:bc1q",
        "erc721:",
        "# aptos: ledger version",
        // Ethereum comes from the devnet's JSON-RPC node, pinned at one block for the instant.
        "# ethereum: block 525 (",
        "the last at or before 2026-01-01T01:45:00Z",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    let row = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no row with {needle} in\n{text}"))
            .to_string()
    };
    let nft = row("erc1155:");
    assert!(nft.contains(" 12 ") && nft.contains("block 525"), "{nft}");
    assert!(row("/erc20:").contains("block 525"));
}

/// jsonl and csv print each result before the input has ended: a reader sees the first
/// row while the writer still holds standard input open, so nothing is held back to the end.
/// (With one request in flight, the engine asks for the next line only after that one.)
#[tokio::test]
async fn jsonl_and_csv_rows_arrive_before_the_input_ends() {
    let net = seeded().await;
    let url = net.aptos_url();
    for (format, first_row) in [("jsonl", "{\"line\":1,"), ("csv", "1,aptos:0xa,10,")] {
        let url = url.clone();
        let (header, row) = tokio::task::spawn_blocking(move || {
            let mut child = command()
                .args(["batch", "-", "--aptos-url", &url, "--format", format])
                .args(["--concurrency", "1"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            writeln!(stdin, "aptos:0xa").unwrap();
            stdin.flush().unwrap();
            // Lines are read on a thread of their own, so that a command that holds its rows
            // back fails this test (after a generous wait) instead of hanging it.
            let stdout = child.stdout.take().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    if tx.send(line.unwrap()).is_err() {
                        break;
                    }
                }
            });
            let next = || {
                rx.recv_timeout(std::time::Duration::from_secs(60))
                    .expect("a row while standard input is still open")
            };
            let header = if format == "csv" {
                next()
            } else {
                String::new()
            };
            // stdin is still open here: the row can only have come from streaming.
            let row = next();
            drop(stdin);
            assert_eq!(child.wait().unwrap().code(), Some(0));
            (header, row)
        })
        .await
        .unwrap();
        if format == "csv" {
            assert!(header.starts_with("line,query,balance"), "{header}");
        }
        assert!(row.starts_with(first_row), "{format}: {row}");
    }
}
