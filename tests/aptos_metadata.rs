//! Token metadata and account resources from an Aptos node, through the generated client
//! and the real HTTP stack, against the in-process devnet on 127.0.0.1 (and, for answers no
//! node sends, a canned server).

mod common;

use std::time::Duration;

use common::{Canned, CannedServer};

use serde_json::json;
use tokbal::aptos::AptosBackend;
use tokbal::metadata::MAX_TEXT_CHARS;
use tokbal::query::AssetType;
use tokbal::retry::RetryPolicy;
use tokbal::{Client, ErrorKind, Network, TokenMetadata};
use tokbal_devnet::{Devnet, APT_COIN};

const USDC_COIN: &str = "0xabc::usdc::USDC";
const FA: &str = "0xfa";

async fn devnet() -> Devnet {
    Devnet::builder()
        .initial_blocks(100)
        .versions_per_block(3)
        .start()
        .await
        .expect("devnet starts")
}

/// A client without retries: each test looks at what one answer maps to.
fn client(devnet: &Devnet) -> Client {
    Client::builder()
        .aptos_url(devnet.aptos_url())
        .aptos_api_key(None)
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

fn node(client: &Client) -> &AptosBackend {
    client.aptos(Network::AptosMainnet).expect("an Aptos node")
}

fn asset(s: &str) -> AssetType {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn meta(symbol: &str, name: &str, decimals: u8) -> TokenMetadata {
    TokenMetadata::new(Some(symbol), Some(name), Some(decimals))
}

#[tokio::test]
async fn coin_metadata_is_read_at_each_version() {
    let net = devnet().await;
    let n = net.aptos();
    n.set_coin_info_at(USDC_COIN, 100, "USD Coin", "USDC", 6)
        .unwrap();
    n.set_coin_info_at(USDC_COIN, 200, "USD Coin (bridged)", "USDC.e", 8)
        .unwrap();
    let client = client(&net);
    let usdc = asset(USDC_COIN);
    for (version, want) in [
        (99, TokenMetadata::default()),
        (100, meta("USDC", "USD Coin", 6)),
        (199, meta("USDC", "USD Coin", 6)),
        (200, meta("USDC.e", "USD Coin (bridged)", 8)),
        (299, meta("USDC.e", "USD Coin (bridged)", 8)),
    ] {
        let got = node(&client).token_metadata(&usdc, version).await.unwrap();
        assert_eq!(got, want, "at {version}");
    }
    // The same coin written with a long address and padded digits.
    let long = asset(&format!("0x{:0>64}::usdc::USDC", "0abc"));
    assert_eq!(
        node(&client).token_metadata(&long, 150).await.unwrap(),
        meta("USDC", "USD Coin", 6)
    );
    // Generic coins are read at the address of the coin's own module.
    let lp = "0xdef::pool::LP<0x1::aptos_coin::AptosCoin, 0xabc::usdc::USDC>";
    n.set_coin_info_at(lp, 10, "LP", "APT-USDC", 8).unwrap();
    assert_eq!(
        node(&client).token_metadata(&asset(lp), 10).await.unwrap(),
        meta("APT-USDC", "LP", 8)
    );
}

#[tokio::test]
async fn fungible_asset_metadata_is_read_at_each_version() {
    let net = devnet().await;
    let n = net.aptos();
    n.set_fungible_asset_metadata_at(FA, 150, "Token", "TKN", 9)
        .unwrap();
    n.set_fungible_asset_metadata_at(FA, 250, "Token v2", "TKN2", 18)
        .unwrap();
    let client = client(&net);
    let fa = asset(FA);
    for (version, want) in [
        (149, TokenMetadata::default()),
        (150, meta("TKN", "Token", 9)),
        (249, meta("TKN", "Token", 9)),
        (250, meta("TKN2", "Token v2", 18)),
    ] {
        let got = node(&client).token_metadata(&fa, version).await.unwrap();
        assert_eq!(got, want, "at {version}");
    }
}

#[tokio::test]
async fn a_missing_resource_is_metadata_the_chain_does_not_give() {
    let net = devnet().await;
    let client = client(&net);
    for a in [
        USDC_COIN,
        "0xbeef",
        "0x1::coin::Nothing",
        "0x1::aptos_coin::AptosCoin2",
    ] {
        let got = node(&client).token_metadata(&asset(a), 299).await.unwrap();
        assert!(got.is_empty(), "{a}: {got:?}");
    }
}

#[tokio::test]
async fn apt_is_known_without_a_request() {
    let net = devnet().await;
    let client = client(&net);
    let n = net.aptos();
    n.set_coin_info(USDC_COIN, "USD Coin", "USDC", 6).unwrap();
    n.reset_requests();
    let apt = Network::AptosMainnet.native_metadata();
    assert_eq!(apt, meta("APT", "Aptos Coin", 8));
    for a in [
        APT_COIN,
        "0x0000000000000000000000000000000000000000000000000000000000000001::aptos_coin::AptosCoin",
        "0xa",
        "0x000a",
    ] {
        let got = node(&client).token_metadata(&asset(a), 299).await.unwrap();
        assert_eq!(got, apt, "{a}");
    }
    assert_eq!(n.requests().total, 0, "APT costs no request");
    // Even at a version the node no longer keeps: nothing is asked.
    n.prune_before(200);
    assert_eq!(
        node(&client)
            .token_metadata(&AssetType::apt(), 5)
            .await
            .unwrap(),
        apt
    );
    assert_eq!(n.requests().total, 0);

    // Any other token: exactly one request, for its resource.
    let got = node(&client)
        .token_metadata(&asset(USDC_COIN), 299)
        .await
        .unwrap();
    assert_eq!(got, meta("USDC", "USD Coin", 6));
    let counts = n.requests();
    assert_eq!((counts.total, counts.resource), (1, 1));
    let path = n.seen_paths()[0]
        .replace("%3C", "<")
        .replace("%3E", ">")
        .replace("%3A", ":");
    let abc = format!("0x{:0>64}", "abc");
    assert_eq!(
        path,
        format!(
            "/v1/accounts/{abc}/resource/0x1::coin::CoinInfo<{abc}::usdc::USDC>?ledger_version=299"
        )
    );
}

#[tokio::test]
async fn hostile_and_long_text_is_capped() {
    let net = devnet().await;
    let n = net.aptos();
    let long = "\u{202e}é\u{1b}[2J".repeat(5_000);
    n.set_coin_info_at(USDC_COIN, 10, &long, "x".repeat(100_000), 6)
        .unwrap();
    // Bytes that are not UTF-8, quotes, NUL, escapes.
    n.set_fungible_asset_metadata_at(FA, 10, b"M\xffR\"}\x00\\", b"\xf0\x9f\x92", 0)
        .unwrap();
    let client = client(&net);

    let got = node(&client)
        .token_metadata(&asset(USDC_COIN), 10)
        .await
        .unwrap();
    let name = got.name.unwrap();
    assert_eq!(name.chars().count(), MAX_TEXT_CHARS);
    assert!(long.starts_with(&name));
    assert_eq!(got.symbol.unwrap(), "x".repeat(MAX_TEXT_CHARS));
    assert_eq!(got.decimals, Some(6));

    let got = node(&client).token_metadata(&asset(FA), 10).await.unwrap();
    assert_eq!(
        got,
        TokenMetadata::new(Some("\u{fffd}"), Some("M\u{fffd}R\"}\u{0}\\"), Some(0))
    );
}

#[tokio::test]
async fn fields_of_the_wrong_type_are_unknown() {
    let net = devnet().await;
    let n = net.aptos();
    let client = client(&net);
    let cases = [
        (
            json!({"name": "Token", "symbol": "TKN", "decimals": 300}),
            TokenMetadata::new(Some("TKN"), Some("Token"), None),
        ),
        (
            json!({"name": 7, "symbol": ["TKN"], "decimals": -1}),
            TokenMetadata::default(),
        ),
        (
            json!({"name": null, "symbol": {"s": 1}, "decimals": "6"}),
            TokenMetadata::default(),
        ),
        (json!({"decimals": 6.0}), TokenMetadata::default()),
        (
            json!({"decimals": 255, "symbol": "", "name": ""}),
            TokenMetadata::new(Some(""), Some(""), Some(255)),
        ),
        (json!({}), TokenMetadata::default()),
    ];
    for (i, (fields, want)) in cases.into_iter().enumerate() {
        let version = 10 * (i as u64 + 1);
        n.set_resource_at(FA, "0x1::fungible_asset::Metadata", version, &fields)
            .unwrap();
        let got = node(&client)
            .token_metadata(&asset(FA), version)
            .await
            .unwrap();
        assert_eq!(got, want, "{fields}");
    }
    // Fields that are not an object at all: the answer is not what the API describes.
    n.set_resource_at(FA, "0x1::fungible_asset::Metadata", 200, &json!("USDC"))
        .unwrap();
    let err = node(&client)
        .token_metadata(&asset(FA), 200)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
}

#[tokio::test]
async fn an_answer_over_the_size_limit_is_an_error() {
    let net = devnet().await;
    let n = net.aptos();
    n.set_coin_info_at(USDC_COIN, 10, "x".repeat(2 * 1024 * 1024), "X", 6)
        .unwrap();
    let client = client(&net);
    let err = node(&client)
        .token_metadata(&asset(USDC_COIN), 10)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    assert!(err.to_string().contains("limit"), "{err}");
}

#[tokio::test]
async fn failed_reads_are_errors_not_unknowns() {
    let net = devnet().await;
    let n = net.aptos();
    n.set_coin_info_at(USDC_COIN, 10, "USD Coin", "USDC", 6)
        .unwrap();
    n.prune_before(50);
    let client = client(&net);
    let usdc = asset(USDC_COIN);

    let err = node(&client).token_metadata(&usdc, 20).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Pruned, "{err}");
    assert_eq!(err.oldest_version(), Some(50));

    let err = node(&client)
        .token_metadata(&usdc, 1_000)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotYetAvailable, "{err}");

    n.faults().throttle_next(1);
    let err = node(&client).token_metadata(&usdc, 60).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled, "{err}");
    assert!(err.retry_after().is_some());

    n.faults().fail_next(1, 500);
    let err = node(&client).token_metadata(&usdc, 60).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");

    n.faults().drop_next(1);
    let err = node(&client).token_metadata(&usdc, 60).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");

    // The faults are spent: the read goes through.
    assert_eq!(
        node(&client).token_metadata(&usdc, 60).await.unwrap(),
        meta("USDC", "USD Coin", 6)
    );
}

#[tokio::test]
async fn retryable_failures_are_retried() {
    let net = devnet().await;
    let n = net.aptos();
    n.set_fungible_asset_metadata_at(FA, 10, "Token", "TKN", 9)
        .unwrap();
    n.faults().throttle_next(2);
    n.faults().set_retry_after_secs(0);
    let client = Client::builder()
        .aptos_url(net.aptos_url())
        .aptos_api_key(None)
        .retry_policy(
            RetryPolicy::default()
                .with_min_delay(Duration::from_millis(1))
                .with_max_delay(Duration::from_millis(10)),
        )
        .build()
        .unwrap();
    n.reset_requests();
    let got = node(&client).token_metadata(&asset(FA), 10).await.unwrap();
    assert_eq!(got, meta("TKN", "Token", 9));
    assert_eq!(n.requests().resource, 3);
}

#[tokio::test]
async fn resource_types_are_listed_across_pages() {
    let net = devnet().await;
    let n = net.aptos();
    let owner = "0xb0b";
    for i in 0..9u64 {
        n.set_resource_at(owner, &format!("0x1::m::R{i}"), 10 * i, &json!({"i": i}))
            .unwrap();
    }
    n.set_balance_at(owner, USDC_COIN, 45, 1).unwrap();
    n.set_resources_page_size(2);
    let client = client(&net);
    let owner_addr = owner.parse().unwrap();

    n.reset_requests();
    let all = node(&client)
        .resource_types(&owner_addr, 299)
        .await
        .unwrap();
    assert_eq!(all, n.resource_types(owner, Some(299)).unwrap());
    assert_eq!(all.len(), 10);
    assert!(all.contains(&format!(
        "0x1::coin::CoinStore<0x{:0>64}::usdc::USDC>",
        "abc"
    )));
    assert_eq!(n.requests().resources, 5, "10 resources in pages of 2");
    // Every page at the same version.
    for path in n.seen_paths() {
        assert!(path.contains("ledger_version=299"), "{path}");
    }

    // At an earlier version, what was there then.
    let then = node(&client).resource_types(&owner_addr, 25).await.unwrap();
    assert_eq!(then, ["0x1::m::R0", "0x1::m::R1", "0x1::m::R2"]);
    // An account with nothing.
    let none = node(&client)
        .resource_types(&"0xdead".parse().unwrap(), 299)
        .await
        .unwrap();
    assert!(none.is_empty());

    // A page that fails fails the list.
    n.faults().fail_next(1, 503);
    let err = node(&client)
        .resource_types(&owner_addr, 299)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    n.prune_before(100);
    let err = node(&client)
        .resource_types(&owner_addr, 25)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Pruned, "{err}");
}

/// A client of the canned server, without retries.
fn canned_client(server: &CannedServer) -> Client {
    Client::builder()
        .aptos_url(server.base_url.clone())
        .aptos_api_key(None)
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_cursor_handed_out_twice_stops_the_paging() {
    let page = r#"[{"type":"0x1::m::R","data":{}}]"#;
    let server = CannedServer::route(move |_| {
        Canned::new(200, page)
            .ledger_headers(9, 0)
            .header("X-APTOS-CURSOR", "0abc")
    })
    .await;
    let client = canned_client(&server);
    let err = node(&client)
        .resource_types(&"0xb0b".parse().unwrap(), 9)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    assert!(err.to_string().contains("\"0abc\" twice"), "{err}");
    assert_eq!(server.served(), 2, "the first page, then the cursor once");
}

#[tokio::test]
async fn malformed_resources_are_decode_errors() {
    for body in [
        &br#"{"data":{"name":"x"}}"#[..],
        br#"{"type":"0x1::fungible_asset::Metadata"}"#,
        br#"{"type":"0x1::fungible_asset::Metadata","data":[1,2]}"#,
        br#"[]"#,
        br#"{"type":"0x1::fungible_asset::Metadata","data":{"name":"x""#,
        b"\xff\xfe",
        b"",
    ] {
        let body = body.to_vec();
        let server =
            CannedServer::route(move |_| Canned::new(200, body.clone()).ledger_headers(9, 0)).await;
        let client = canned_client(&server);
        let err = node(&client)
            .token_metadata(&asset(FA), 9)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    }
}

#[tokio::test]
async fn a_404_without_a_resource_code_is_an_error() {
    // A proxy's page, or a node that does not serve the route: not "no metadata".
    let server = CannedServer::route(|_| Canned::new(404, "<html>Not Found</html>")).await;
    let client = canned_client(&server);
    let err = node(&client)
        .token_metadata(&asset(FA), 9)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    // With the node's code, it is.
    let server = CannedServer::route(|_| {
        Canned::new(
            404,
            r#"{"message":"Account not found","error_code":"account_not_found","vm_error_code":null}"#,
        )
    })
    .await;
    let client = canned_client(&server);
    let got = node(&client).token_metadata(&asset(FA), 9).await.unwrap();
    assert!(got.is_empty());
}
