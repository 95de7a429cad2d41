//! The in-process Aptos node, exercised over HTTP on 127.0.0.1 (offline).

use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokbal_devnet::{Devnet, DevnetBuilder, APT_COIN, DEMO_ALICE, DEMO_BOB, DEMO_USDC_METADATA};

const LEDGER_HEADERS: [&str; 7] = [
    "x-aptos-chain-id",
    "x-aptos-ledger-version",
    "x-aptos-ledger-oldest-version",
    "x-aptos-ledger-timestampusec",
    "x-aptos-epoch",
    "x-aptos-block-height",
    "x-aptos-oldest-block-height",
];

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

/// 100 blocks of exactly 3 versions: tip version 299, tip height 99.
async fn small() -> Devnet {
    Devnet::builder()
        .initial_blocks(100)
        .versions_per_block(3)
        .start()
        .await
        .expect("devnet starts")
}

struct Got {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("missing header {name}"))
            .to_str()
            .expect("ascii header")
    }

    fn header_u64(&self, name: &str) -> u64 {
        self.header(name).parse().expect("numeric header")
    }

    /// Asserts an AptosError body with this status and code; returns the message.
    fn aptos_error(&self, status: StatusCode, code: &str) -> String {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert!(
            self.header("content-type").starts_with("application/json"),
            "content-type {}",
            self.header("content-type")
        );
        let v = self.json();
        assert_eq!(v["error_code"], code, "body: {}", self.body);
        assert_eq!(v["vm_error_code"], Value::Null);
        assert!(v.as_object().unwrap().contains_key("vm_error_code"));
        v["message"].as_str().expect("message").to_owned()
    }

    fn assert_ledger_headers(&self) {
        for h in LEDGER_HEADERS {
            self.header_u64(h);
        }
    }
}

async fn get(client: &reqwest::Client, url: &str) -> Got {
    let resp = client.get(url).send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.text().await.expect("body");
    Got {
        status,
        headers,
        body,
    }
}

fn balance_url(d: &Devnet, addr: &str, asset_path_segment: &str) -> String {
    format!(
        "{}/accounts/{addr}/balance/{asset_path_segment}",
        d.aptos_url()
    )
}

#[tokio::test]
async fn index_body_and_headers() {
    let d = small().await;
    let c = client();
    let got = get(&c, &format!("{}/", d.aptos_url())).await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(got.header("content-type").starts_with("application/json"));
    let v = got.json();
    let tip = d.aptos().block_at_height(99);
    assert_eq!(v["chain_id"], json!(4));
    assert_eq!(v["ledger_version"], "299");
    assert_eq!(v["oldest_ledger_version"], "0");
    assert_eq!(v["block_height"], "99");
    assert_eq!(v["oldest_block_height"], "0");
    assert_eq!(v["node_role"], "full_node");
    assert_eq!(v["epoch"], "1");
    assert_eq!(v["ledger_timestamp"], tip.timestamp_us.to_string());
    assert!(v["git_hash"].as_str().is_some_and(|s| s.len() == 40));
    got.assert_ledger_headers();
    assert_eq!(got.header_u64("x-aptos-chain-id"), 4);
    assert_eq!(got.header_u64("x-aptos-ledger-version"), 299);
    assert_eq!(got.header_u64("x-aptos-block-height"), 99);
    assert_eq!(
        got.header_u64("x-aptos-ledger-timestampusec"),
        tip.timestamp_us
    );
    // Genesis is 2026-01-01T00:00:00Z and blocks are ~250 ms apart.
    assert!(tip.timestamp_us > 1_767_225_600_000_000 + 24_000_000);
    assert!(tip.timestamp_us < 1_767_225_600_000_000 + 26_000_000);

    // Also without the trailing slash, and with another chain id.
    let other = Devnet::builder().chain_id(2).start().await.unwrap();
    let got = get(&c, &other.aptos_url()).await;
    assert_eq!(got.json()["chain_id"], json!(2));
    assert_eq!(got.header_u64("x-aptos-chain-id"), 2);
}

#[tokio::test]
async fn balance_is_a_bare_integer_for_any_address_form() {
    let d = small().await;
    let c = client();
    d.aptos().set_balance("0xabc", APT_COIN, 12345).unwrap();
    let long = format!("0x{:0>64}", "abc");
    let bare = format!("{:0>64}", "ABC");
    for addr in ["0xabc", "0x0abc", "0xABC", long.as_str(), bare.as_str()] {
        let got = get(&c, &balance_url(&d, addr, APT_COIN)).await;
        assert_eq!(got.status, StatusCode::OK, "{addr}: {}", got.body);
        assert_eq!(got.body, "12345", "{addr}");
        assert!(got.json().is_u64());
        got.assert_ledger_headers();
    }
    // Unknown account and unknown asset: 0, not 404.
    assert_eq!(
        get(&c, &balance_url(&d, "0xdead", APT_COIN)).await.body,
        "0"
    );
    assert_eq!(
        get(&c, &balance_url(&d, "0xabc", "0x1::fake::Coin"))
            .await
            .body,
        "0"
    );
    // A fungible-asset metadata address as the asset type.
    d.aptos().set_balance("0xabc", "0x5ca1ab1e", 9).unwrap();
    let got = get(
        &c,
        &balance_url(&d, "0xabc", &format!("0x{:0>64}", "5ca1ab1e")),
    )
    .await;
    assert_eq!(got.body, "9");
}

#[tokio::test]
async fn historical_reads_see_the_last_change_at_or_before() {
    let d = small().await;
    let c = client();
    let n = d.aptos();
    n.set_balance_at("0x1", APT_COIN, 10, 100).unwrap();
    n.set_balance_at("0x1", APT_COIN, 50, 200).unwrap();
    n.set_balance_at("0x1", APT_COIN, 90, 300).unwrap();
    let url = balance_url(&d, "0x1", APT_COIN);
    for (v, want) in [
        (0, "0"),
        (9, "0"),
        (10, "100"),
        (49, "100"),
        (50, "200"),
        (299, "300"),
    ] {
        let got = get(&c, &format!("{url}?ledger_version={v}")).await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.body, want, "at version {v}");
    }
    assert_eq!(get(&c, &url).await.body, "300");

    // A change at the tip after advancing.
    let old_tip = n.tip_version();
    let new_tip = n.advance(2);
    assert_eq!(new_tip, old_tip + 6);
    assert_eq!(n.set_balance("0x1", APT_COIN, 400).unwrap(), new_tip);
    let got = get(&c, &url).await;
    assert_eq!(got.body, "400");
    assert_eq!(got.header_u64("x-aptos-ledger-version"), new_tip);
    let got = get(&c, &format!("{url}?ledger_version={old_tip}")).await;
    assert_eq!(got.body, "300");
    assert_eq!(n.balance("0x01", APT_COIN, Some(old_tip)).unwrap(), 300);
}

#[tokio::test]
async fn pruned_versions_answer_410() {
    let d = small().await;
    let c = client();
    d.aptos().set_balance_at("0x1", APT_COIN, 0, 5).unwrap();
    d.aptos().prune_before(100);
    let url = balance_url(&d, "0x1", APT_COIN);
    let got = get(&c, &format!("{url}?ledger_version=99")).await;
    let msg = got.aptos_error(StatusCode::GONE, "version_pruned");
    assert_eq!(msg, "Ledger version(99) has been pruned");
    assert_eq!(got.header_u64("x-aptos-ledger-oldest-version"), 100);
    assert_eq!(got.header_u64("x-aptos-oldest-block-height"), 33);
    let got = get(&c, &format!("{url}?ledger_version=100")).await;
    assert_eq!((got.status, got.body.as_str()), (StatusCode::OK, "5"));
    let index = get(&c, &d.aptos_url()).await.json();
    assert_eq!(index["oldest_ledger_version"], "100");
    assert_eq!(index["oldest_block_height"], "33");
}

#[tokio::test]
async fn versions_past_the_tip_answer_404() {
    let d = small().await;
    let c = client();
    let url = balance_url(&d, "0x1", APT_COIN);
    let got = get(&c, &format!("{url}?ledger_version=300")).await;
    let msg = got.aptos_error(StatusCode::NOT_FOUND, "version_not_found");
    assert_eq!(msg, "Ledger version not found by Ledger version(300)");
    got.assert_ledger_headers();
    // The golden body recorded from the node's own tests.
    let got = get(&c, &format!("{url}?ledger_version=1000000000000000000")).await;
    assert_eq!(
        got.json(),
        json!({
            "message": "Ledger version not found by Ledger version(1000000000000000000)",
            "error_code": "version_not_found",
            "vm_error_code": null
        })
    );
    let got = get(&c, &format!("{url}?ledger_version=299")).await;
    assert_eq!(got.status, StatusCode::OK);
}

#[tokio::test]
async fn bad_input_answers_400() {
    let d = small().await;
    let c = client();
    let url = balance_url(&d, "0x1", APT_COIN);
    // The golden body for ledger_version=-1, to the byte of its JSON value.
    let got = get(&c, &format!("{url}?ledger_version=-1")).await;
    assert_eq!(
        got.json(),
        json!({
            "message": "failed to parse parameter `ledger_version`: failed to parse \"string(U64)\": Parsing u64 string \"-1\" failed, caused by error: invalid digit found in string (occurred while parsing \"optional<string(U64)>\")",
            "error_code": "web_framework_error",
            "vm_error_code": null
        })
    );
    assert_eq!(got.status, StatusCode::BAD_REQUEST);
    got.assert_ledger_headers();
    for v in ["abc", "18446744073709551616", ""] {
        let got = get(&c, &format!("{url}?ledger_version={v}")).await;
        got.aptos_error(StatusCode::BAD_REQUEST, "web_framework_error");
    }
    let too_long = format!("0x{}", "1".repeat(65));
    for addr in ["0xzz", "1", "abc", "0X1", too_long.as_str()] {
        let got = get(&c, &balance_url(&d, addr, APT_COIN)).await;
        let msg = got.aptos_error(StatusCode::BAD_REQUEST, "invalid_input");
        assert!(msg.contains("invalid account address"), "{msg}");
        got.assert_ledger_headers();
    }
    for asset in [
        "aptos_coin",
        "0x1::aptos_coin",
        "0x1::coin::Foo%3C",
        "0x1::a::B%3E",
    ] {
        let got = get(&c, &balance_url(&d, "0x1", asset)).await;
        got.aptos_error(StatusCode::BAD_REQUEST, "invalid_input");
    }
}

#[tokio::test]
async fn blocks_by_height_and_version() {
    let d = small().await;
    let c = client();
    let n = d.aptos();
    let b5 = n.block_at_height(5);
    assert_eq!((b5.first_version, b5.last_version), (15, 17));
    let got = get(&c, &format!("{}/blocks/by_height/5", d.aptos_url())).await;
    assert_eq!(got.status, StatusCode::OK);
    got.assert_ledger_headers();
    let v = got.json();
    assert_eq!(
        v,
        json!({
            "block_height": "5",
            "block_hash": b5.hash,
            "block_timestamp": b5.timestamp_us.to_string(),
            "first_version": "15",
            "last_version": "17",
            "transactions": null
        })
    );
    let hash = v["block_hash"].as_str().unwrap();
    assert!(hash.starts_with("0x") && hash.len() == 66);
    assert_ne!(hash, n.block_at_height(6).hash);

    let got = get(&c, &format!("{}/blocks/by_version/16", d.aptos_url())).await;
    assert_eq!(got.json()["block_height"], "5");
    let got = get(
        &c,
        &format!(
            "{}/blocks/by_version/16?with_transactions=true",
            d.aptos_url()
        ),
    )
    .await;
    assert_eq!(got.json()["transactions"], json!([]));
    let got = get(
        &c,
        &format!(
            "{}/blocks/by_height/5?with_transactions=maybe",
            d.aptos_url()
        ),
    )
    .await;
    got.aptos_error(StatusCode::BAD_REQUEST, "web_framework_error");
    let got = get(&c, &format!("{}/blocks/by_height/x", d.aptos_url())).await;
    got.aptos_error(StatusCode::BAD_REQUEST, "web_framework_error");

    // Past the tip.
    let got = get(&c, &format!("{}/blocks/by_height/100", d.aptos_url())).await;
    let msg = got.aptos_error(StatusCode::NOT_FOUND, "block_not_found");
    assert_eq!(msg, "Block not found by Block height(100)");
    let got = get(&c, &format!("{}/blocks/by_version/300", d.aptos_url())).await;
    got.aptos_error(StatusCode::NOT_FOUND, "version_not_found");
    let got = get(&c, &format!("{}/blocks/by_height/99", d.aptos_url())).await;
    assert_eq!(got.json()["last_version"], "299");

    // Below the pruning point.
    n.prune_before(30); // block 10
    let got = get(&c, &format!("{}/blocks/by_height/9", d.aptos_url())).await;
    got.aptos_error(StatusCode::GONE, "block_pruned");
    let got = get(&c, &format!("{}/blocks/by_version/29", d.aptos_url())).await;
    got.aptos_error(StatusCode::GONE, "version_pruned");
    let got = get(&c, &format!("{}/blocks/by_height/10", d.aptos_url())).await;
    assert_eq!(got.json()["first_version"], "30");
}

#[tokio::test]
async fn variable_block_sizes_and_time_lookup() {
    let d = Devnet::builder()
        .initial_blocks(500)
        .versions_per_block_range(2, 5)
        .seed(99)
        .start()
        .await
        .unwrap();
    let n = d.aptos();
    let c = client();
    let mut sizes = std::collections::BTreeSet::new();
    let mut prev = n.block_at_height(0);
    assert_eq!(prev.first_version, 0);
    assert_eq!(prev.timestamp_us, 1_767_225_600_000_000);
    for h in 1..500 {
        let b = n.block_at_height(h);
        assert_eq!(b.first_version, prev.last_version + 1);
        assert!(b.timestamp_us > prev.timestamp_us);
        sizes.insert(b.last_version - b.first_version + 1);
        assert_eq!(n.block_for_version(b.last_version), b);
        prev = b;
    }
    assert_eq!(sizes.into_iter().collect::<Vec<_>>(), vec![2, 3, 4, 5]);
    assert_eq!(n.tip_version(), prev.last_version);

    let b = n.block_at_height(123);
    assert_eq!(n.version_at_time(b.timestamp_us), Some(b.last_version));
    assert_eq!(
        n.version_at_time(b.timestamp_us - 1),
        Some(b.first_version - 1)
    );
    assert_eq!(n.version_at_time(0), None);
    assert_eq!(n.version_at_time(u64::MAX), Some(n.tip_version()));

    let got = get(
        &c,
        &format!("{}/blocks/by_version/{}", d.aptos_url(), b.first_version),
    )
    .await;
    assert_eq!(got.json()["block_height"], "123");
    assert_eq!(got.json()["block_hash"], b.hash);
}

#[tokio::test]
async fn a_hundred_million_blocks_cost_nothing() {
    let started = Instant::now();
    let d = Devnet::builder()
        .initial_blocks(100_000_000)
        .start()
        .await
        .unwrap();
    let n = d.aptos();
    assert_eq!(n.tip_height(), 99_999_999);
    let c = client();
    let v = n.tip_version() - 12_345;
    let got = get(&c, &format!("{}/blocks/by_version/{v}", d.aptos_url())).await;
    let b = got.json();
    let h: u64 = b["block_height"].as_str().unwrap().parse().unwrap();
    let first: u64 = b["first_version"].as_str().unwrap().parse().unwrap();
    let last: u64 = b["last_version"].as_str().unwrap().parse().unwrap();
    assert!(first <= v && v <= last);
    assert_eq!(n.block_at_height(h).first_version, first);
    let t = n.block_at_height(h).timestamp_us;
    assert_eq!(n.version_at_time(t), Some(last));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn throttled_answers_are_plain_text_with_retry_after() {
    let d = small().await;
    let c = client();
    d.aptos().faults().set_retry_after_secs(7);
    d.aptos().faults().throttle_next(2);
    let url = balance_url(&d, "0x1", APT_COIN);
    for _ in 0..2 {
        let got = get(&c, &url).await;
        assert_eq!(got.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(got.header("retry-after"), "7");
        assert!(got.header("content-type").starts_with("text/plain"));
        assert!(
            serde_json::from_str::<Value>(&got.body).is_err(),
            "{}",
            got.body
        );
        assert!(!got.body.is_empty());
    }
    let got = get(&c, &url).await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(got.headers.get("retry-after").is_none());
    assert_eq!(d.aptos().faults().counts().throttled, 2);
}

#[tokio::test]
async fn injected_server_errors_have_aptos_error_bodies() {
    let d = small().await;
    let c = client();
    let url = balance_url(&d, "0x1", APT_COIN);
    d.aptos().faults().fail_next(1, 500);
    let got = get(&c, &url).await;
    got.aptos_error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    got.assert_ledger_headers();
    d.aptos().faults().fail_next(1, 503);
    let got = get(&c, &url).await;
    got.aptos_error(StatusCode::SERVICE_UNAVAILABLE, "health_check_failed");
    assert_eq!(get(&c, &url).await.status, StatusCode::OK);
}

#[tokio::test]
async fn ratios_are_reproducible_with_a_seed() {
    let c = client();
    let mut runs = Vec::new();
    for _ in 0..2 {
        let d = Devnet::builder().fault_seed(1234).start().await.unwrap();
        d.aptos().faults().fail_ratio(0.5, 503);
        let mut statuses = Vec::new();
        for _ in 0..24 {
            statuses.push(get(&c, &d.aptos_url()).await.status.as_u16());
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&503) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn dropped_connections_give_a_client_error() {
    let d = small().await;
    let c = client();
    d.aptos().set_balance("0x1", APT_COIN, 123_456_789).unwrap();
    let url = balance_url(&d, "0x1", APT_COIN);
    d.aptos().faults().drop_next(1);
    // The status line and headers arrive, then the body stops short.
    let resp = c.get(&url).send().await.expect("headers arrive");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().contains_key("x-aptos-ledger-version"));
    let body = resp.text().await;
    assert!(body.is_err(), "expected a cut body, got {body:?}");
    assert_eq!(d.aptos().faults().counts().dropped, 1);
    // The next request is answered in full.
    assert_eq!(get(&c, &url).await.body, "123456789");
}

#[tokio::test]
async fn lagging_replica_hides_recent_versions() {
    let d = small().await;
    let c = client();
    let n = d.aptos();
    let tip = n.tip_version();
    n.set_balance_at("0x1", APT_COIN, tip, 42).unwrap();
    n.faults().lag(10);
    let index = get(&c, &d.aptos_url()).await;
    let apparent = index.header_u64("x-aptos-ledger-version");
    assert!(
        apparent < tip && apparent + 12 >= tip,
        "{apparent} vs {tip}"
    );
    assert_eq!(index.json()["ledger_version"], apparent.to_string());
    let url = balance_url(&d, "0x1", APT_COIN);
    let between = apparent + 1;
    let got = get(&c, &format!("{url}?ledger_version={between}")).await;
    let msg = got.aptos_error(StatusCode::NOT_FOUND, "version_not_found");
    assert_eq!(
        msg,
        format!("Ledger version not found by Ledger version({between})")
    );
    // Without a version the lagging replica reads at its own tip: the change is not there.
    assert_eq!(get(&c, &url).await.body, "0");
    n.faults().clear_lag();
    assert_eq!(
        get(&c, &format!("{url}?ledger_version={between}"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(get(&c, &url).await.body, "42");

    n.faults().lag_next(1, 10);
    assert_eq!(
        get(&c, &format!("{url}?ledger_version={tip}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&c, &format!("{url}?ledger_version={tip}")).await.body,
        "42"
    );
}

#[tokio::test]
async fn percent_encoded_struct_tags_resolve_like_plain_ones() {
    let d = small().await;
    let c = client();
    let tag = "0x1::coin::Foo<0x1::a::B, 0x2::c::D<u8>>";
    d.aptos().set_balance("0xa", tag, 777).unwrap();
    let long1 = format!("0x{:0>64}", "1");
    let variants = [
        utf8_percent_encode(tag, NON_ALPHANUMERIC).to_string(),
        "0x1::coin::Foo%3C0x1::a::B,%200x2::c::D%3Cu8%3E%3E".to_owned(),
        "0x1::coin::Foo%3C0x1::a::B,0x2::c::D%3Cu8%3E%3E".to_owned(),
        utf8_percent_encode(
            &format!("{long1}::coin::Foo<0x01::a::B,0x0002::c::D<u8>>"),
            NON_ALPHANUMERIC,
        )
        .to_string(),
    ];
    for v in &variants {
        let got = get(&c, &balance_url(&d, "0xa", v)).await;
        assert_eq!(
            (got.status, got.body.as_str()),
            (StatusCode::OK, "777"),
            "{v}"
        );
    }
    // The wire form is recorded as received, still encoded.
    let seen = d.aptos().seen_paths();
    assert_eq!(seen.len(), variants.len());
    for (s, v) in seen.iter().zip(&variants) {
        assert_eq!(s, &format!("/v1/accounts/0xa/balance/{v}"));
    }
    assert!(seen[0].contains("%3C") && seen[0].contains("%2C%20"));
    // A different type argument is a different asset.
    let other = utf8_percent_encode(
        "0x1::coin::Foo<0x1::a::B, 0x2::c::D<u16>>",
        NON_ALPHANUMERIC,
    );
    assert_eq!(
        get(&c, &balance_url(&d, "0xa", &other.to_string()))
            .await
            .body,
        "0"
    );
}

#[tokio::test]
async fn counters_count_and_unknown_paths_404() {
    let d = small().await;
    let c = client();
    let url = balance_url(&d, "0x1", APT_COIN);
    get(&c, &url).await;
    get(&c, &format!("{url}?ledger_version=3")).await;
    get(&c, &d.aptos_url()).await;
    get(&c, &format!("{}/blocks/by_height/1", d.aptos_url())).await;
    get(&c, &format!("{}/blocks/by_version/1", d.aptos_url())).await;
    get(&c, &format!("{}/-/healthy", d.aptos_url())).await;
    let got = get(&c, &format!("{}/accounts/0x1/modules", d.aptos_url())).await;
    got.aptos_error(StatusCode::NOT_FOUND, "web_framework_error");
    got.assert_ledger_headers();
    let counts = d.aptos().requests();
    assert_eq!(counts.total, 7);
    assert_eq!(counts.balance, 2);
    assert_eq!(counts.ledger_info, 1);
    assert_eq!(counts.block, 2);
    assert_eq!(counts.healthy, 1);
    assert_eq!(counts.other, 1);
    assert!(d.aptos().seen_paths()[1].ends_with("?ledger_version=3"));
    // Faulted requests count too.
    d.aptos().faults().throttle_next(1);
    get(&c, &url).await;
    assert_eq!(d.aptos().requests().balance, 3);
    d.aptos().reset_requests();
    assert_eq!(d.aptos().requests().total, 0);
    assert!(d.aptos().seen_paths().is_empty());
}

#[tokio::test]
async fn health_check_compares_the_ledger_with_the_wall_clock() {
    let c = client();
    // Default genesis (2026-01-01) with 1,000 blocks: the ledger is far behind the clock.
    let stale = Devnet::start().await.unwrap();
    let got = get(&c, &format!("{}/-/healthy", stale.aptos_url())).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json(), json!({"message": "aptos-node:ok"}));
    got.assert_ledger_headers();
    let got = get(
        &c,
        &format!("{}/-/healthy?duration_secs=60", stale.aptos_url()),
    )
    .await;
    got.aptos_error(StatusCode::SERVICE_UNAVAILABLE, "health_check_failed");
    let got = get(
        &c,
        &format!("{}/-/healthy?duration_secs=4000000000", stale.aptos_url()),
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    let got = get(
        &c,
        &format!("{}/-/healthy?duration_secs=-5", stale.aptos_url()),
    )
    .await;
    got.aptos_error(StatusCode::BAD_REQUEST, "web_framework_error");

    let fresh = Devnet::builder().genesis_at_now().start().await.unwrap();
    let got = get(
        &c,
        &format!("{}/-/healthy?duration_secs=60", fresh.aptos_url()),
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
}

#[tokio::test]
async fn latency_delays_answers() {
    let d = small().await;
    let c = client();
    d.aptos().faults().set_latency(Duration::from_millis(150));
    let t = Instant::now();
    assert_eq!(get(&c, &d.aptos_url()).await.status, StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(150));
    d.aptos().faults().set_latency(Duration::ZERO);
    assert_eq!(d.aptos().faults().counts().delayed, 1);
}

#[tokio::test]
async fn auto_advance_moves_the_tip() {
    let d = Devnet::builder()
        .initial_blocks(10)
        .auto_advance(Duration::from_millis(5))
        .start()
        .await
        .unwrap();
    let start = d.aptos().tip_height();
    let deadline = Instant::now() + Duration::from_secs(2);
    while d.aptos().tip_height() < start + 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(d.aptos().tip_height() >= start + 3);
}

#[tokio::test]
async fn demo_data_has_history_and_a_pruned_prefix() {
    let d = DevnetBuilder::default()
        .with_demo_data()
        .start()
        .await
        .unwrap();
    let c = client();
    let n = d.aptos();
    assert!(n.oldest_version() > 0);
    let apt = balance_url(&d, DEMO_ALICE, APT_COIN);
    assert_eq!(get(&c, &apt).await.body, "120000000000");
    let early = n.oldest_version();
    assert_eq!(
        get(&c, &format!("{apt}?ledger_version={early}")).await.body,
        "100000000000"
    );
    let got = get(&c, &format!("{apt}?ledger_version={}", early - 1)).await;
    got.aptos_error(StatusCode::GONE, "version_pruned");
    let usdc = balance_url(&d, DEMO_ALICE, DEMO_USDC_METADATA);
    assert_eq!(get(&c, &usdc).await.body, "1250000000");
    let bob = balance_url(&d, DEMO_BOB, APT_COIN);
    assert_eq!(get(&c, &bob).await.body, "3990000000");
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let d = small().await;
    let c = client();
    let url = d.aptos_url();
    assert_eq!(get(&c, &url).await.status, StatusCode::OK);
    d.shutdown().await;
    let fresh = client();
    assert!(fresh.get(&url).send().await.is_err());
}

fn resource_url(d: &Devnet, addr: &str, resource_type: &str) -> String {
    format!(
        "{}/accounts/{addr}/resource/{}",
        d.aptos_url(),
        utf8_percent_encode(resource_type, NON_ALPHANUMERIC)
    )
}

/// The raw body, for answers that may not be UTF-8.
async fn get_bytes(client: &reqwest::Client, url: &str) -> (StatusCode, Vec<u8>) {
    let resp = client.get(url).send().await.expect("request");
    let status = resp.status();
    (status, resp.bytes().await.expect("body").to_vec())
}

const USDC_COIN: &str = "0xabc::usdc::USDC";

#[tokio::test]
async fn coin_info_and_fa_metadata_are_versioned_resources() {
    let d = small().await;
    let c = client();
    let n = d.aptos();
    n.set_coin_info_at(USDC_COIN, 100, "USD Coin", "USDC", 6)
        .unwrap();
    n.set_coin_info_at(USDC_COIN, 200, "USD Coin (bridged)", "USDC.e", 8)
        .unwrap();
    n.set_fungible_asset_metadata_at("0xfa", 150, "Token", "TKN", 9)
        .unwrap();
    n.set_fungible_asset_metadata_at("0xfa", 250, "Token v2", "TKN2", 18)
        .unwrap();

    let coin_type = format!("0x1::coin::CoinInfo<0x{:0>64}::usdc::USDC>", "abc");
    // The coin's CoinInfo lives at the address of the coin's module, in any address form.
    let coin = resource_url(&d, "0xabc", "0x1::coin::CoinInfo<0xabc::usdc::USDC>");
    let got = get(&c, &format!("{coin}?ledger_version=99")).await;
    let message = got.aptos_error(StatusCode::NOT_FOUND, "resource_not_found");
    assert!(message.contains("Ledger version(99)"), "{message}");
    got.assert_ledger_headers();
    for (version, name, symbol, decimals) in [
        (100, "USD Coin", "USDC", 6),
        (199, "USD Coin", "USDC", 6),
        (200, "USD Coin (bridged)", "USDC.e", 8),
        (299, "USD Coin (bridged)", "USDC.e", 8),
    ] {
        let got = get(&c, &format!("{coin}?ledger_version={version}")).await;
        assert_eq!(got.status, StatusCode::OK, "{}", got.body);
        got.assert_ledger_headers();
        assert_eq!(
            got.json(),
            json!({
                "type": coin_type,
                "data": {"decimals": decimals, "name": name, "supply": {"vec": []}, "symbol": symbol}
            }),
            "at {version}"
        );
    }
    // Without a version: the tip.
    assert_eq!(get(&c, &coin).await.json()["data"]["symbol"], "USDC.e");
    // Not at another address.
    let elsewhere = resource_url(&d, "0xabd", "0x1::coin::CoinInfo<0xabc::usdc::USDC>");
    get(&c, &elsewhere)
        .await
        .aptos_error(StatusCode::NOT_FOUND, "resource_not_found");

    let fa = resource_url(&d, "0xfa", "0x1::fungible_asset::Metadata");
    let long_fa = resource_url(
        &d,
        &format!("0x{:0>64}", "fa"),
        "0x0001::fungible_asset::Metadata",
    );
    get(&c, &format!("{fa}?ledger_version=149"))
        .await
        .aptos_error(StatusCode::NOT_FOUND, "resource_not_found");
    for (version, name, symbol, decimals) in
        [(150, "Token", "TKN", 9), (250, "Token v2", "TKN2", 18)]
    {
        for url in [&fa, &long_fa] {
            let got = get(&c, &format!("{url}?ledger_version={version}")).await;
            assert_eq!(
                got.json(),
                json!({
                    "type": "0x1::fungible_asset::Metadata",
                    "data": {
                        "decimals": decimals, "icon_uri": "", "name": name,
                        "project_uri": "", "symbol": symbol
                    }
                })
            );
        }
    }
    assert_eq!(n.requests().resource, 12);
}

#[tokio::test]
async fn apt_metadata_is_there_from_genesis() {
    let d = small().await;
    let c = client();
    let apt = resource_url(&d, "0x1", &format!("0x1::coin::CoinInfo<{APT_COIN}>"));
    let got = get(&c, &format!("{apt}?ledger_version=0")).await;
    assert_eq!(
        got.json()["type"],
        "0x1::coin::CoinInfo<0x1::aptos_coin::AptosCoin>"
    );
    assert_eq!(
        got.json()["data"],
        json!({"decimals": 8, "name": "Aptos Coin", "supply": {"vec": []}, "symbol": "APT"})
    );
    let fa = resource_url(&d, "0xa", "0x1::fungible_asset::Metadata");
    let got = get(&c, &fa).await;
    assert_eq!(got.json()["data"]["symbol"], "APT");
    assert_eq!(got.json()["data"]["decimals"], 8);
}

#[tokio::test]
async fn names_may_be_any_bytes() {
    let d = small().await;
    let c = client();
    let n = d.aptos();
    let hostile: &[u8] = b"\"}],\x00\x1b[31m\xe2\x80\xae\xff\xfe\\u0000";
    n.set_coin_info(USDC_COIN, hostile, "x".repeat(100_000), 255)
        .unwrap();
    let url = resource_url(&d, "0xabc", "0x1::coin::CoinInfo<0xabc::usdc::USDC>");
    let (status, body) = get_bytes(&c, &url).await;
    assert_eq!(status, StatusCode::OK);
    // The bytes that are not UTF-8 are sent as they are ...
    assert!(body.windows(2).any(|w| w == b"\xff\xfe"));
    assert!(std::str::from_utf8(&body).is_err());
    // ... and everything else is valid JSON around them.
    let text = String::from_utf8_lossy(&body);
    let v: Value = serde_json::from_str(&text).expect("JSON once the bad bytes are replaced");
    assert_eq!(
        v["data"]["name"],
        "\"}],\u{0}\u{1b}[31m\u{202e}\u{fffd}\u{fffd}\\u0000"
    );
    assert_eq!(v["data"]["symbol"].as_str().unwrap().len(), 100_000);
    assert_eq!(v["data"]["decimals"], 255);

    // Any JSON can stand as a resource's fields.
    n.set_resource(
        "0xfa",
        "0x1::fungible_asset::Metadata",
        &json!({"decimals": 300, "name": 7, "symbol": null}),
    )
    .unwrap();
    let got = get(
        &c,
        &resource_url(&d, "0xfa", "0x1::fungible_asset::Metadata"),
    )
    .await;
    assert_eq!(
        got.json()["data"],
        json!({"decimals": 300, "name": 7, "symbol": null})
    );
}

#[tokio::test]
async fn resource_reads_check_versions_and_input() {
    let d = small().await;
    let c = client();
    d.aptos().prune_before(50);
    let fa = resource_url(&d, "0xa", "0x1::fungible_asset::Metadata");
    get(&c, &format!("{fa}?ledger_version=49"))
        .await
        .aptos_error(StatusCode::GONE, "version_pruned");
    get(&c, &format!("{fa}?ledger_version=300"))
        .await
        .aptos_error(StatusCode::NOT_FOUND, "version_not_found");
    get(&c, &format!("{fa}?ledger_version=-1"))
        .await
        .aptos_error(StatusCode::BAD_REQUEST, "web_framework_error");
    for bad in ["0xa", "0x1::coin", "0x1::coin::CoinInfo<", "coin::CoinInfo"] {
        get(&c, &resource_url(&d, "0x1", bad))
            .await
            .aptos_error(StatusCode::BAD_REQUEST, "invalid_input");
    }
    get(&c, &resource_url(&d, "0xzz", "0x1::a::B"))
        .await
        .aptos_error(StatusCode::BAD_REQUEST, "invalid_input");
    assert!(d.aptos().set_coin_info("0xa", "n", "s", 1).is_err());
    assert!(d
        .aptos()
        .set_fungible_asset_metadata("0x1::a::B", "n", "s", 1)
        .is_err());
    assert!(d.aptos().set_resource("0x1", "nope", &json!({})).is_err());
}

/// Every resource type of `addr` at `version`, following `X-APTOS-CURSOR`; the number of
/// pages it took.
async fn list_resources(
    c: &reqwest::Client,
    d: &Devnet,
    addr: &str,
    version: u64,
    limit: Option<u16>,
) -> (Vec<String>, usize) {
    let mut types = Vec::new();
    let mut start: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = format!(
            "{}/accounts/{addr}/resources?ledger_version={version}",
            d.aptos_url()
        );
        if let Some(s) = &start {
            url.push_str(&format!("&start={s}"));
        }
        if let Some(l) = limit {
            url.push_str(&format!("&limit={l}"));
        }
        let got = get(c, &url).await;
        assert_eq!(got.status, StatusCode::OK, "{}", got.body);
        got.assert_ledger_headers();
        pages += 1;
        for r in got.json().as_array().expect("an array") {
            assert!(r["data"].is_object(), "{r}");
            types.push(r["type"].as_str().expect("type").to_string());
        }
        match got.headers.get("x-aptos-cursor") {
            Some(cursor) => start = Some(cursor.to_str().unwrap().to_string()),
            None => return (types, pages),
        }
        assert!(pages < 100, "paging does not end");
    }
}

#[tokio::test]
async fn resources_are_listed_page_by_page() {
    let d = small().await;
    let c = client();
    let n = d.aptos();
    for i in 0..7u64 {
        n.set_resource_at("0xb0b", &format!("0x1::m::R{i}"), 10 * i, &json!({"i": i}))
            .unwrap();
    }
    n.set_balance_at("0xb0b", APT_COIN, 35, 5).unwrap();
    n.set_balance_at("0xb0b", "0xfa", 35, 5).unwrap();
    n.set_resources_page_size(3);

    let expected: Vec<String> = {
        let mut t: Vec<String> = (0..7).map(|i| format!("0x1::m::R{i}")).collect();
        t.push(format!("0x1::coin::CoinStore<{APT_COIN}>"));
        t.sort();
        t
    };
    let (types, pages) = list_resources(&c, &d, "0xb0b", 299, None).await;
    assert_eq!(types, expected);
    assert_eq!(pages, 3, "8 resources in pages of 3");
    assert_eq!(n.resource_types("0xb0b", None).unwrap(), expected);
    assert_eq!(n.requests().resources, 3);

    // A smaller limit, and a larger one cut to the page size.
    let (types, pages) = list_resources(&c, &d, "0xb0b", 299, Some(2)).await;
    assert_eq!((types.len(), pages), (8, 4));
    let (_, pages) = list_resources(&c, &d, "0xb0b", 299, Some(1000)).await;
    assert_eq!(pages, 3);

    // At an earlier version, only what was there then.
    let (types, _) = list_resources(&c, &d, "0xb0b", 30, None).await;
    assert_eq!(
        types,
        ["0x1::m::R0", "0x1::m::R1", "0x1::m::R2", "0x1::m::R3"]
    );
    // The coin's store is a resource too.
    let store = resource_url(&d, "0xb0b", &format!("0x1::coin::CoinStore<{APT_COIN}>"));
    let got = get(&c, &format!("{store}?ledger_version=35")).await;
    assert_eq!(got.json()["data"]["coin"]["value"], "5");
    get(&c, &format!("{store}?ledger_version=34"))
        .await
        .aptos_error(StatusCode::NOT_FOUND, "resource_not_found");

    // An account with nothing: one empty page.
    let (types, pages) = list_resources(&c, &d, "0xdead", 299, None).await;
    assert_eq!((types.len(), pages), (0, 1));

    let base = format!("{}/accounts/0xb0b/resources", d.aptos_url());
    get(&c, &format!("{base}?limit=0"))
        .await
        .aptos_error(StatusCode::BAD_REQUEST, "invalid_input");
    get(&c, &format!("{base}?limit=70000"))
        .await
        .aptos_error(StatusCode::BAD_REQUEST, "web_framework_error");
    get(&c, &format!("{base}?start=zz"))
        .await
        .aptos_error(StatusCode::BAD_REQUEST, "web_framework_error");
    get(&c, &format!("{base}?ledger_version=300"))
        .await
        .aptos_error(StatusCode::NOT_FOUND, "version_not_found");
}

#[tokio::test]
async fn demo_data_has_token_metadata() {
    let d = DevnetBuilder::default()
        .with_demo_data()
        .start()
        .await
        .unwrap();
    let c = client();
    let got = get(
        &c,
        &resource_url(&d, DEMO_USDC_METADATA, "0x1::fungible_asset::Metadata"),
    )
    .await;
    assert_eq!(
        got.json()["data"],
        json!({"decimals": 6, "icon_uri": "", "name": "USDC", "project_uri": "", "symbol": "USDC"})
    );
}
