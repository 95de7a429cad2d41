//! The command line on EVM networks, end to end: the real binary against the devnet's
//! JSON-RPC node, endpoints given by flag and by environment, finalized reads, and keys in
//! endpoint URLs that never show.

use std::process::{Command, Output};

use ruint::aliases::U256;
use serde_json::Value;
use tokbal_devnet::Devnet;

const OWNER: &str = "0x00000000000000000000000000000000000000a1";
const TOKEN: &str = "0x00000000000000000000000000000000000020c0";

async fn tokbal(args: &[&str], env: &[(&str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tokbal"));
        c.args(&args).env_remove("TOKBAL_AMB_URL");
        for (k, _) in std::env::vars() {
            if k.starts_with("TOKBAL_ENDPOINT_") {
                c.env_remove(k);
            }
        }
        c.envs(env).output().expect("the binary runs")
    })
    .await
    .unwrap()
}

/// 2^200 + 1: above any 128-bit integer.
fn big() -> U256 {
    (U256::from(1u8) << 200) + U256::from(1u8)
}

/// A devnet whose EVM node holds 5 wei and 2^200 + 1 of an ERC-20 for OWNER at its tip.
async fn seeded() -> Devnet {
    let net = Devnet::builder()
        .evm_initial_blocks(100)
        .start()
        .await
        .unwrap();
    let evm = net.evm();
    evm.deploy_erc20(TOKEN).unwrap();
    evm.set_native_balance(OWNER, U256::from(5u8)).unwrap();
    evm.set_erc20_balance(TOKEN, OWNER, big()).unwrap();
    evm.mine(1);
    net
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
async fn an_endpoint_flag_reads_at_one_block_named_in_the_output() {
    let net = seeded().await;
    let endpoint = format!("ethereum={}", net.evm_url());
    let native = format!("ethereum:{OWNER}");
    let token = format!("ethereum:{OWNER}/erc20:{TOKEN}");
    let out = tokbal(
        &[
            "get",
            "--endpoint",
            &endpoint,
            "--format",
            "json",
            &native,
            &token,
        ],
        &[],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    let snap = &doc["snapshot"]["ethereum"];
    let tip = net.evm().tip().to_string();
    assert_eq!(snap["block"], tip);
    assert_eq!(snap["block_hash"].as_str().unwrap().len(), 66);
    assert!(snap["block_time"].is_string());
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results[0]["balance"], "5");
    assert_eq!(results[1]["balance"], big().to_string());
    assert!(results.iter().all(|r| r["block"] == tip));
}

#[tokio::test]
async fn an_endpoint_from_the_environment_and_a_finalized_read() {
    let net = seeded().await;
    let url = net.evm_url();
    let native = format!("ethereum:{OWNER}");
    // The finalized block is 64 behind the tip: before the balance was set.
    let out = tokbal(
        &["get", "--finalized", "--format", "json", &native],
        &[("TOKBAL_ENDPOINT_ETHEREUM", &url)],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    let snap = &doc["snapshot"]["ethereum"];
    assert_eq!(snap["finalized"], true);
    let finalized = net.evm().finalized();
    assert_eq!(snap["block"], finalized.to_string());
    assert_eq!(doc["results"][0]["balance"], "0");

    let out = tokbal(
        &["get", &native],
        &[("TOKBAL_ENDPOINT_NOT_A_NETWORK", &url)],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TOKBAL_ENDPOINT_NOT_A_NETWORK"), "{err}");
}

#[tokio::test]
async fn a_key_in_an_endpoint_url_never_shows() {
    let native = format!("base:{OWNER}");
    // Plain http to another host is refused when the client is built; the message shows
    // the scheme and host, not the path that carries the key.
    let out = tokbal(
        &[
            "get",
            "--endpoint",
            "base=http://rpc.example.com/v2/sk_live_SECRET",
            &native,
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rpc.example.com"), "{err}");
    assert!(!err.contains("SECRET"), "{err}");

    // A node that is down: the transport error names the host only.
    let out = tokbal(
        &[
            "get",
            "--format",
            "json",
            "--timeout",
            "2",
            "--endpoint",
            "base=http://127.0.0.1:9/v2/sk_live_SECRET",
            &native,
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("127.0.0.1:9"), "{text}");
    assert!(!text.contains("SECRET"), "{text}");
}

#[tokio::test]
async fn a_network_without_an_endpoint_is_an_error_for_its_queries_only() {
    let net = seeded().await;
    let endpoint = format!("ethereum={}", net.evm_url());
    let out = tokbal(
        &[
            "get",
            "--format",
            "json",
            "--endpoint",
            &endpoint,
            &format!("ethereum:{OWNER}"),
            &format!("evm-31337:{OWNER}"),
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(3));
    let doc = json(&out);
    assert_eq!(doc["results"][0]["balance"], "5");
    let e = &doc["results"][1]["error"];
    assert_eq!(e["kind"], "unsupported");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("--endpoint evm-31337=URL"),
        "{e}"
    );
}

#[tokio::test]
async fn a_chosen_block_per_network() {
    let net = seeded().await;
    let endpoint = format!("ethereum={}", net.evm_url());
    let native = format!("ethereum:{OWNER}");
    let before = (net.evm().tip() - 1).to_string();
    let block = format!("ethereum={before}");
    let out = tokbal(
        &[
            "get",
            "--endpoint",
            &endpoint,
            "--block",
            &block,
            "--format",
            "json",
            &native,
        ],
        &[],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    assert_eq!(doc["snapshot"]["ethereum"]["block"], before.as_str());
    assert_eq!(
        doc["results"][0]["balance"], "0",
        "set at the tip, not before"
    );

    for bad in ["ethereum", "ethereum=-1", "nowhere=5", "ethereum=1e3"] {
        let out = tokbal(&["get", "--block", bad, &native], &[]).await;
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}

/// `tokbal pin` once, then workers reading shards of one input at exactly that snapshot,
/// even after the chain has moved on.
#[tokio::test]
async fn a_snapshot_shared_by_sharded_workers() {
    let net = seeded().await;
    let endpoint = format!("ethereum={}", net.evm_url());
    let out = tokbal(&["pin", "--endpoint", &endpoint, "ethereum"], &[]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pinned = json(&out);
    let block = pinned["ethereum"]["block"].as_str().unwrap().to_string();
    assert_eq!(block, net.evm().tip().to_string());
    let dir = std::env::temp_dir().join(format!("tokbal-shard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let snapshot = dir.join("snapshot.json");
    std::fs::write(&snapshot, &out.stdout).unwrap();

    // The chain moves on: the owner's balance changes after the snapshot.
    net.evm()
        .set_native_balance(OWNER, U256::from(99u8))
        .unwrap();
    net.evm().mine(3);

    let input = dir.join("queries.txt");
    let lines = [
        format!("ethereum:{OWNER}"),
        "# a comment".to_string(),
        format!("ethereum:{OWNER}/erc20:{TOKEN}"),
        format!("ethereum:{OWNER}"),
        "ethereum:0xNOPE".to_string(),
    ];
    std::fs::write(&input, lines.join("\n")).unwrap();
    let mut seen = Vec::new();
    for shard in ["1/2", "2/2"] {
        let out = tokbal(
            &[
                "batch",
                input.to_str().unwrap(),
                "--endpoint",
                &endpoint,
                "--snapshot",
                snapshot.to_str().unwrap(),
                "--shard",
                shard,
            ],
            &[],
        )
        .await;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let record: Value = serde_json::from_str(line).unwrap();
            seen.push((shard, record));
        }
    }
    seen.sort_by_key(|(_, r)| r["line"].as_u64());
    let got: Vec<(&str, u64, String)> = seen
        .iter()
        .map(|(shard, r)| {
            let value = match (&r["balance"], &r["error"]) {
                (Value::String(b), _) => format!("{b} at {}", r["block"].as_str().unwrap()),
                (_, e) => e["kind"].as_str().unwrap().to_string(),
            };
            (*shard, r["line"].as_u64().unwrap(), value)
        })
        .collect();
    let at = |v: &str| format!("{v} at {block}");
    assert_eq!(
        got,
        [
            ("1/2", 1, at("5")),
            ("1/2", 3, at(&big().to_string())),
            ("2/2", 4, at("5")),
            ("1/2", 5, "invalid_input".to_string()),
        ]
    );

    // A malformed snapshot file is a usage error naming the problem.
    std::fs::write(&snapshot, r#"{"ethereum": {"block": 7}}"#).unwrap();
    let out = tokbal(
        &[
            "get",
            "--snapshot",
            snapshot.to_str().unwrap(),
            &format!("ethereum:{OWNER}"),
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("snapshot") && err.contains("block"), "{err}");
    for bad in ["0/2", "3/2", "1/0", "x"] {
        let out = tokbal(&["batch", "--shard", bad], &[]).await;
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}

/// `--metadata`: each result gains the token's symbol, name and decimals, read at the same
/// block, and the exact amount in whole tokens; without it, the output is as before.
#[tokio::test]
async fn metadata_in_json_table_and_csv_and_hostile_text_never_raw() {
    let net = seeded().await;
    let evm = net.evm();
    // A symbol that would recolour the terminal, reverse the line and break the row.
    let hostile = "\u{1b}[31mX\u{202e}\nY";
    evm.set_token_metadata(TOKEN, Some("Big \u{9b}Token"), Some(hostile), Some(6))
        .unwrap();
    evm.mine(1);
    let url = net.evm_url();
    let endpoint = format!("ethereum={url}");
    let queries = [
        format!("ethereum:{OWNER}"),
        format!("ethereum:{OWNER}/erc20:{TOKEN}"),
    ];
    let args = |extra: &[&'static str]| -> Vec<String> {
        let mut a: Vec<String> = ["get", "--endpoint", &endpoint]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a.extend(queries.iter().cloned());
        a
    };
    let run = |a: Vec<String>| async move {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        tokbal(&refs, &[]).await
    };

    let out = run(args(&["--metadata", "--format", "json"])).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nothing but printable text on stdout: controls and bidi characters are \u escapes.
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        !text
            .chars()
            .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'),
        "{text:?}"
    );
    let doc = json(&out);
    let native = &doc["results"][0];
    assert_eq!(native["token"]["symbol"], "ETH");
    assert_eq!(native["token"]["decimals"], 18);
    assert_eq!(native["formatted"], "0.000000000000000005");
    let token = &doc["results"][1];
    assert_eq!(
        token["token"]["symbol"], hostile,
        "the text itself, JSON-escaped"
    );
    assert_eq!(token["token"]["name"], "Big \u{9b}Token");
    assert_eq!(token["token"]["decimals"], 6);
    let digits = big().to_string();
    let (whole, fraction) = digits.split_at(digits.len() - 6);
    assert_eq!(token["balance"], digits);
    assert_eq!(
        token["formatted"],
        format!("{whole}.{}", fraction.trim_end_matches('0'))
    );

    // The table: symbol and amount, the hostile text escaped, one line per row.
    let out = run(args(&["--metadata"])).await;
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("AMOUNT") && table.contains("SYMBOL"),
        "{table}"
    );
    // Escaped, and cut to the symbol column's width.
    assert!(table.contains("\\u{1b}[31mX…"), "{table}");
    assert!(
        !table.chars().any(|c| c.is_control() && c != '\n'),
        "{table:?}"
    );
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("ethereum:"))
        .collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows[0].contains("ETH"), "{table}");

    // Without --metadata: no token, no formatted, no new columns.
    let out = run(args(&["--format", "json"])).await;
    let doc = json(&out);
    assert!(doc["results"][1].get("token").is_none());
    assert!(doc["results"][1].get("formatted").is_none());
    let out = run(args(&[])).await;
    assert!(!String::from_utf8_lossy(&out.stdout).contains("SYMBOL"));

    // batch --format csv gains the four columns, the text kept as read (not a terminal).
    let input = std::env::temp_dir().join(format!("tokbal-meta-{}.txt", std::process::id()));
    std::fs::write(&input, queries.join("\n")).unwrap();
    let input_s = input.to_string_lossy().to_string();
    let out = tokbal(
        &[
            "batch",
            "--endpoint",
            &endpoint,
            "--metadata",
            "--format",
            "csv",
            &input_s,
        ],
        &[],
    )
    .await;
    let _ = std::fs::remove_file(&input);
    let mut rows = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = rows.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        &header[header.len() - 4..],
        ["symbol", "name", "decimals", "formatted"]
    );
    let mut by_line: Vec<csv::StringRecord> = rows.records().map(|r| r.unwrap()).collect();
    by_line.sort_by_key(|r| r[0].parse::<u64>().unwrap());
    let n = header.len();
    assert_eq!(&by_line[1][n - 4], hostile);
    assert_eq!(&by_line[1][n - 2], "6");
    assert_eq!(&by_line[0][n - 4], "ETH");
}
