//! The Aptos back end against recorded answers: the bodies real nodes and gateways send
//! (read from ../shared/upstream/aptos/goldens when present; skipped otherwise), and the
//! shapes no description lists (plain-text 429, HTML from a proxy, missing headers).

mod common;

use common::{golden, Canned, CannedServer};
use tokbal::aptos::{AptosBackend, AptosConfig};
use tokbal::query::{AccountAddress, AssetType};
use tokbal::retry::RetryPolicy;
use tokbal::Transport;
use tokbal::{Backend, ErrorKind};

/// No retries: these tests look at how each answer is mapped, one request each.
fn config(url: &str) -> AptosConfig {
    AptosConfig::new(url).with_transport(Transport::default().with_retry(RetryPolicy::none()))
}

fn backend(server: &CannedServer) -> AptosBackend {
    AptosBackend::new(config(&server.base_url)).unwrap()
}

fn owner() -> AccountAddress {
    "0xa11ce".parse().unwrap()
}

#[tokio::test]
async fn recorded_ledger_info_decodes() {
    let Some(body) = golden("index_test__test_get_index.json") else {
        return;
    };
    let server = CannedServer::start(vec![Canned::new(200, body).ledger_headers(0, 0)]).await;
    let info = backend(&server).ledger_info().await.unwrap();
    assert_eq!(info.chain_id, 4);
    assert_eq!(info.ledger_version, 0);
    assert_eq!(info.oldest_block_height, 0);
}

#[tokio::test]
async fn recorded_genesis_block_with_null_transactions_decodes() {
    let Some(body) = golden("blocks_test__test_get_genesis_block_by_height.json") else {
        return;
    };
    let server = CannedServer::start(vec![Canned::new(200, body).ledger_headers(5, 0)]).await;
    let block = backend(&server).block_by_height(0).await.unwrap();
    assert_eq!(
        (block.height, block.first_version, block.last_version),
        (0, 0, 0)
    );
    assert_eq!(block.ledger.ledger_version, 5);
    let req = server.requests.lock().unwrap()[0].clone();
    assert!(
        req.starts_with("GET /v1/blocks/by_height/0?with_transactions=false "),
        "{req}"
    );
}

#[tokio::test]
async fn recorded_unknown_block_is_not_found() {
    let Some(body) = golden("blocks_test__test_get_unknown_block_by_height.json") else {
        return;
    };
    let server = CannedServer::start(vec![Canned::new(404, body).ledger_headers(5, 0)]).await;
    let err = backend(&server).block_by_height(1000).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.code(), Some("block_not_found"));
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.backend(), Some(Backend::Aptos));
    assert!(
        err.to_string()
            .contains("Block not found by Block height(1000)"),
        "{err}"
    );
}

#[tokio::test]
async fn recorded_version_too_large_is_not_yet_available() {
    let Some(body) =
        golden("accounts_test__test_get_account_resources_by_ledger_version_is_too_large.json")
    else {
        return;
    };
    let server = CannedServer::start(vec![Canned::new(404, body).ledger_headers(5, 0)]).await;
    let err = backend(&server)
        .balance(&owner(), &AssetType::apt(), Some(1_000_000_000_000_000_000))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotYetAvailable);
    assert_eq!(err.code(), Some("version_not_found"));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn recorded_bad_ledger_version_is_invalid_input() {
    let Some(body) =
        golden("accounts_test__test_get_account_resources_by_invalid_ledger_version.json")
    else {
        return;
    };
    let server = CannedServer::start(vec![Canned::new(400, body)]).await;
    let err = backend(&server)
        .balance(&owner(), &AssetType::apt(), Some(1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.code(), Some("web_framework_error"));
}

#[tokio::test]
async fn recorded_gateway_410_names_oldest_version_and_archive() {
    let Some(body) = golden("ts-sdk-pr935__410_version_pruned_gateway_body.json") else {
        return;
    };
    // The gateway's body and no ledger headers: the oldest version comes from the body.
    let server = CannedServer::start(vec![Canned::new(410, body)]).await;
    let err = backend(&server)
        .balance(&owner(), &AssetType::apt(), Some(1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Pruned);
    assert_eq!(err.oldest_version(), Some(10255283755));
    assert_eq!(
        err.archive_url(),
        Some("https://archive.testnet.staging.aptoslabs.com/v1")
    );
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(text.starts_with("aptos: balance of"), "{text}");
    assert!(
        text.contains("oldest kept version is 10255283755"),
        "{text}"
    );
}

#[tokio::test]
async fn legacy_error_shape_still_gives_a_classified_error() {
    let Some(body) =
        golden("LEGACY_accounts_test__test_get_core_account_data_not_found.v2022.json")
    else {
        return;
    };
    let server = CannedServer::start(vec![Canned::new(404, body)]).await;
    let err = backend(&server)
        .balance(&owner(), &AssetType::apt(), None)
        .await
        .unwrap_err();
    // No error_code in that shape: classified by status, with the server's words kept.
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.code(), None);
    assert!(err.to_string().contains("account not found"), "{err}");
}

#[tokio::test]
async fn balance_accepts_a_bare_number_and_a_string() {
    for body in ["123456789", "\"123456789\""] {
        let server = CannedServer::start(vec![Canned::new(200, body).ledger_headers(77, 10)]).await;
        let b = backend(&server)
            .balance(&owner(), &AssetType::apt(), None)
            .await
            .unwrap();
        assert_eq!(b.amount, 123_456_789, "{body}");
        assert_eq!(
            b.ledger_version, 77,
            "latest reads carry the node's version"
        );
        assert_eq!(b.ledger.oldest_ledger_version, 10);
    }
}

#[tokio::test]
async fn malformed_balances_are_decode_errors() {
    for body in [
        "-5",
        "1.5",
        "18446744073709551616",
        "\"12a\"",
        "{}",
        "null",
        "<html>",
    ] {
        let server = CannedServer::start(vec![Canned::new(200, body).ledger_headers(7, 0)]).await;
        let err = backend(&server)
            .balance(&owner(), &AssetType::apt(), Some(7))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode, "{body}: {err}");
    }
}

#[tokio::test]
async fn missing_ledger_header_is_a_decode_error_naming_it() {
    let server = CannedServer::start(vec![Canned::new(200, "5")]).await;
    let err = backend(&server)
        .balance(&owner(), &AssetType::apt(), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(err.to_string().contains("X-APTOS-CHAIN-ID"), "{err}");
}

#[tokio::test]
async fn gateway_429_in_plain_text_is_throttled_with_retry_after() {
    let server = CannedServer::start(vec![Canned::new(429, "Too many requests, slow down")
        .header("content-type", "text/plain")
        .header("retry-after", "7")])
    .await;
    let err = backend(&server)
        .balance(&owner(), &AssetType::apt(), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled);
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(7)));
    assert_eq!(err.status(), Some(429));
    assert!(err.to_string().contains("slow down"), "{err}");
}

#[tokio::test]
async fn html_from_a_proxy_keeps_its_status() {
    for (status, kind) in [
        (503, ErrorKind::Unavailable),
        (500, ErrorKind::Unavailable),
        (403, ErrorKind::AccessDenied),
        (502, ErrorKind::Unavailable),
        (504, ErrorKind::Timeout),
    ] {
        let server = CannedServer::start(vec![Canned::new(
            status,
            "<html><body>upstream unavailable</body></html>",
        )
        .header("content-type", "text/html")
        .header("retry-after", "2")])
        .await;
        let err = backend(&server)
            .balance(&owner(), &AssetType::apt(), None)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{status}: {err}");
        assert_eq!(err.status(), Some(status));
        assert!(err.to_string().contains("upstream unavailable"), "{err}");
    }
}

#[tokio::test]
async fn newer_error_codes_map_without_a_rebuild() {
    for (code, status, kind) in [
        ("rate_limited", 503, ErrorKind::Throttled),
        ("node_not_bootstrapped", 503, ErrorKind::Unavailable),
        ("a_code_from_the_future", 400, ErrorKind::InvalidInput),
        ("a_code_from_the_future", 500, ErrorKind::Unavailable),
    ] {
        let body = format!(r#"{{"message":"m","error_code":"{code}","vm_error_code":null}}"#);
        let server = CannedServer::start(vec![Canned::new(status, body)]).await;
        let err = backend(&server)
            .balance(&owner(), &AssetType::apt(), None)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{code}/{status}");
        assert_eq!(err.code(), Some(code));
    }
}

#[tokio::test]
async fn struct_tags_are_percent_encoded_on_the_wire() {
    let server = CannedServer::start(vec![Canned::new(200, "1").ledger_headers(9, 0)]).await;
    let asset: AssetType = "0x1::coin::W<0x1::a::B, vector<u8>>".parse().unwrap();
    backend(&server)
        .balance(&owner(), &asset, Some(9))
        .await
        .unwrap();
    let req = server.requests.lock().unwrap()[0].clone();
    let line = req.lines().next().unwrap();
    let one = format!("0x{:0>64}", 1);
    let expect = format!(
        "GET /v1/accounts/0x{:0>64}/balance/{one}::coin::W%3C{one}::a::B,%20vector%3Cu8%3E%3E?ledger_version=9 HTTP/1.1",
        "a11ce"
    );
    assert_eq!(line, expect);
}

#[tokio::test]
async fn requests_carry_user_agent_and_api_key_but_debug_hides_the_key() {
    let server = CannedServer::start(vec![Canned::new(200, "1").ledger_headers(9, 0)]).await;
    let config =
        config(&server.base_url).with_api_key(Some(tokbal::aptos::ApiKey::new("sekrit-key-123")));
    let node = AptosBackend::new(config).unwrap();
    assert!(
        !format!("{node:?}").contains("sekrit"),
        "Debug leaks the key"
    );
    node.balance(&owner(), &AssetType::apt(), None)
        .await
        .unwrap();
    let req = server.requests.lock().unwrap()[0].to_ascii_lowercase();
    assert!(
        req.contains("authorization: bearer sekrit-key-123"),
        "{req}"
    );
    assert!(
        req.contains(&format!("user-agent: tokbal/{}", env!("CARGO_PKG_VERSION"))),
        "{req}"
    );
}

#[tokio::test]
async fn unreachable_node_is_a_transport_error() {
    // Bind then drop, so the port is very likely closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let node = AptosBackend::new(config(&format!("http://127.0.0.1:{port}/v1"))).unwrap();
    let err = node.ledger_info().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
    assert!(err.is_retryable());
    assert!(
        std::error::Error::source(&err).is_some(),
        "the cause is kept"
    );
}

#[test]
fn malformed_base_urls_are_refused_naming_the_field() {
    for url in [
        "",
        "not a url",
        "ftp://example.com/v1",
        "http://127.0.0.1/v1?x=1",
    ] {
        let err = AptosBackend::new(AptosConfig::new(url)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{url}");
        assert_eq!(err.field(), Some("aptos_url"), "{url}");
    }
}

#[tokio::test]
async fn retryable_answers_are_retried_until_one_succeeds() {
    let server = CannedServer::start(vec![
        Canned::new(503, "<html>busy</html>"),
        Canned::new(429, "slow down").header("retry-after", "0"),
        Canned::new(200, "42").ledger_headers(9, 0),
    ])
    .await;
    let quick = RetryPolicy::default()
        .with_min_delay(std::time::Duration::from_millis(1))
        .with_max_delay(std::time::Duration::from_millis(5));
    let node = AptosBackend::new(
        AptosConfig::new(server.base_url.clone())
            .with_transport(Transport::default().with_retry(quick)),
    )
    .unwrap();
    let b = node
        .balance(&owner(), &AssetType::apt(), Some(9))
        .await
        .unwrap();
    assert_eq!(b.amount, 42);
    assert_eq!(server.served(), 3);
}

#[tokio::test]
async fn pruned_is_never_retried() {
    let body = r#"{"message":"Ledger version(1) has been pruned","error_code":"version_pruned","vm_error_code":null}"#;
    let server = CannedServer::start(vec![Canned::new(410, body).ledger_headers(9, 5)]).await;
    let node = AptosBackend::new(AptosConfig::new(server.base_url.clone())).unwrap();
    let err = node
        .balance(&owner(), &AssetType::apt(), Some(1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Pruned);
    assert_eq!(err.oldest_version(), Some(5));
    assert_eq!(server.served(), 1);
}
