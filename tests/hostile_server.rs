//! Hostile servers: truncated, endless, oversized, malformed and misdirecting answers. Each
//! gives the item it hits an error of the right kind within the configured timeout, and the
//! rest of the batch is unaffected.

mod common;

use std::time::Duration;

use common::{Canned, CannedServer, Delivery};
use tokbal::amb::AmbCredentials;
use tokbal::aptos::ApiKey;
use tokbal::retry::RetryPolicy;
use tokbal::{At, Client, ErrorKind, Query};

fn good_answer() -> Canned {
    Canned::new(200, "77").ledger_headers(9, 0)
}

/// A node whose answer to owner 0xb is `hostile`, and to every other owner a good one.
async fn node_with(hostile: Canned) -> CannedServer {
    CannedServer::route(move |head| {
        let owner_b = format!("/accounts/0x{:0>64}/", "b");
        if head.lines().next().unwrap_or_default().contains(&owner_b) {
            hostile.clone()
        } else {
            good_answer()
        }
    })
    .await
}

fn client(server: &CannedServer, timeout: Duration) -> Client {
    Client::builder()
        .aptos_url(server.base_url.clone())
        .aptos_api_key(Some(ApiKey::new("secret-api-key-1")))
        .timeout(timeout)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Reads 0xa (answered well) and 0xb (answered by `hostile`) at version 9.
async fn read_pair(hostile: Canned, timeout: Duration) -> (tokbal::Error, CannedServer) {
    let server = node_with(hostile).await;
    let queries: Vec<Query> = ["aptos:0xa", "aptos:0xb"]
        .iter()
        .map(|q| q.parse().unwrap())
        .collect();
    let out = client(&server, timeout)
        .balances(&queries, At::AptosVersion(9))
        .await;
    assert_eq!(
        out.results[0]
            .as_ref()
            .expect("the well-answered item is unaffected")
            .amount
            .to_u64(),
        Some(77)
    );
    (out.results[1].clone().unwrap_err(), server)
}

const T: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_body_cut_short_is_a_transport_error() {
    let hostile = Canned::new(200, "123456789")
        .ledger_headers(9, 0)
        .delivered(Delivery::CutAfter(3));
    let (err, _) = read_pair(hostile, T).await;
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
}

#[tokio::test]
async fn a_reset_mid_body_is_a_transport_error() {
    let hostile = Canned::new(200, vec![b'1'; 4096])
        .ledger_headers(9, 0)
        .delivered(Delivery::CutAfter(1000));
    let (err, _) = read_pair(hostile, T).await;
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
}

#[tokio::test]
async fn an_answer_that_never_ends_times_out() {
    let hostile = Canned::new(200, "123456789")
        .ledger_headers(9, 0)
        .delivered(Delivery::HangAfter(2));
    let (err, _) = read_pair(hostile, Duration::from_millis(400)).await;
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
}

#[tokio::test]
async fn bodies_that_are_not_balances_are_decode_errors() {
    for body in [
        "not json",
        "{\"balance\": 5}",
        "[1]",
        "-3",
        "2.5",
        "1e3",
        "18446744073709551616",
        "\"\"",
        "\"0x10\"",
        "",
    ] {
        let (err, _) = read_pair(Canned::new(200, body).ledger_headers(9, 0), T).await;
        assert_eq!(err.kind(), ErrorKind::Decode, "{body:?}: {err:?}");
    }
}

#[tokio::test]
async fn ten_megabytes_are_refused_by_the_size_limit() {
    let big = vec![b'7'; 10 * 1024 * 1024];
    // Declared length: refused before the body is read.
    let (err, _) = read_pair(Canned::new(200, big.clone()).ledger_headers(9, 0), T).await;
    assert_eq!(err.kind(), ErrorKind::Decode, "{err:?}");
    assert!(err.to_string().contains("limit"), "{err}");
    // No declared length: read up to the limit, then refused.
    let chunked = Canned::new(200, big)
        .ledger_headers(9, 0)
        .delivered(Delivery::Chunked(64 * 1024));
    let (err, _) = read_pair(chunked, T).await;
    assert_eq!(err.kind(), ErrorKind::Decode, "{err:?}");
    assert!(err.to_string().contains("limit"), "{err}");
}

#[tokio::test]
async fn ten_megabyte_error_bodies_are_cut_to_a_short_message() {
    let mut body = b"<html>".to_vec();
    body.extend(vec![b'x'; 10 * 1024 * 1024]);
    let (err, _) = read_pair(
        Canned::new(503, body).delivered(Delivery::Chunked(256 * 1024)),
        T,
    )
    .await;
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err:?}");
    assert!(err.to_string().len() < 1000);
}

#[tokio::test]
async fn missing_or_malformed_ledger_headers_are_decode_errors_naming_them() {
    let no_headers = Canned::new(200, "5");
    let (err, _) = read_pair(no_headers, T).await;
    assert_eq!(err.kind(), ErrorKind::Decode);
    let bad = Canned::new(200, "5")
        .header("x-aptos-chain-id", "4")
        .header("x-aptos-ledger-version", "nine")
        .header("x-aptos-ledger-oldest-version", "0")
        .header("x-aptos-ledger-timestampusec", "1")
        .header("x-aptos-epoch", "1")
        .header("x-aptos-block-height", "1")
        .header("x-aptos-oldest-block-height", "0");
    let (err, _) = read_pair(bad, T).await;
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(err.to_string().contains("X-APTOS-LEDGER-VERSION"), "{err}");
    let mut huge_chain = Canned::new(200, "5").ledger_headers(9, 0);
    for (name, value) in huge_chain.headers.iter_mut() {
        if name == "x-aptos-chain-id" {
            *value = "300".into();
        }
    }
    let (err, _) = read_pair(huge_chain, T).await;
    assert_eq!(err.kind(), ErrorKind::Decode, "{err:?}");
}

#[tokio::test]
async fn status_codes_outside_the_description_get_a_kind() {
    for (status, kind) in [
        (418u16, ErrorKind::Decode),
        (207, ErrorKind::Decode),
        (401, ErrorKind::AccessDenied),
        (502, ErrorKind::Unavailable),
        (504, ErrorKind::Timeout),
        (599, ErrorKind::Unavailable),
    ] {
        let (err, _) = read_pair(Canned::new(status, "odd"), T).await;
        assert_eq!(err.kind(), kind, "{status}: {err:?}");
        assert_eq!(err.status(), Some(status));
    }
}

#[tokio::test]
async fn redirects_to_another_host_are_not_followed_and_never_carry_the_key() {
    // The other host: another loopback address, which is another origin.
    let elsewhere = CannedServer::route_on("127.0.0.2:0", |_| good_answer()).await;
    let location = format!("http://{}/v1/accounts/0xb/balance/x", elsewhere.addr);
    let (err, _) = read_pair(Canned::new(302, "").header("location", &location), T).await;
    assert_eq!(err.kind(), ErrorKind::Decode, "{err:?}");
    assert!(err.to_string().contains("another host"), "{err}");
    assert_eq!(elsewhere.served(), 0, "the other host was never asked");
}

#[tokio::test]
async fn redirects_within_the_same_origin_are_followed() {
    let server = CannedServer::route(|head| {
        let line = head.lines().next().unwrap_or_default();
        if line.contains("/moved/") {
            good_answer()
        } else {
            Canned::new(307, "").header("location", "/v1/moved/balance")
        }
    })
    .await;
    let out = client(&server, T)
        .balances(&["aptos:0xb".parse().unwrap()], At::AptosVersion(9))
        .await;
    assert_eq!(out.results[0].as_ref().unwrap().amount.to_u64(), Some(77));
    let heads = server.requests.lock().unwrap().clone();
    assert_eq!(heads.len(), 2);
    assert!(heads[1]
        .to_ascii_lowercase()
        .contains("authorization: bearer secret-api-key-1"));
}

#[tokio::test]
async fn endless_redirects_end() {
    let server =
        CannedServer::route(|_| Canned::new(302, "").header("location", "/v1/again")).await;
    let out = client(&server, T)
        .balances(&["aptos:0xb".parse().unwrap()], At::AptosVersion(9))
        .await;
    assert!(out.results[0].is_err());
    assert!(server.served() <= 7, "{} requests", server.served());
}

#[test]
fn plain_http_to_other_hosts_needs_an_explicit_opt_in() {
    let err = Client::builder()
        .aptos_url("http://10.1.2.3/v1")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.field(), Some("aptos_url"));
    let err = Client::builder()
        .amb_url("http://192.168.1.9")
        .build()
        .unwrap_err();
    assert_eq!(err.field(), Some("amb_url"));
    assert!(Client::builder()
        .aptos_url("http://10.1.2.3/v1")
        .amb_url("http://192.168.1.9")
        .allow_insecure_http(true)
        .build()
        .is_ok());
}

// ---- AMB: the SDK against a canned server speaking restJson1 (no signature check). ----

fn amb_client(server: &CannedServer, timeout: Duration) -> Client {
    Client::builder()
        .amb_url(server.base_url.trim_end_matches("/v1").to_string())
        .amb_credentials(Some(AmbCredentials::new(
            "AKIDHOSTILE",
            "amb-secret-key-9",
            None,
        )))
        .timeout(timeout)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

fn amb_answer(balance: &str) -> Canned {
    let body = format!(
        r#"{{"tokenBalances":[{{"ownerIdentifier":{{"address":"0x{0}"}},"tokenIdentifier":{{"network":"ETHEREUM_MAINNET","tokenId":"eth"}},"balance":"{balance}","atBlockchainInstant":{{"time":1767225600}}}}],"errors":[]}}"#,
        "1".repeat(40)
    );
    Canned::new(200, body)
}

async fn amb_read(answer: Canned, timeout: Duration) -> Result<tokbal::Balance, tokbal::Error> {
    let server = CannedServer::start(vec![answer]).await;
    let q: Query = format!("ethereum:0x{}", "1".repeat(40)).parse().unwrap();
    amb_client(&server, timeout).balance(&q, At::Latest).await
}

#[tokio::test]
async fn amb_balances_that_are_not_amounts_are_decode_errors() {
    let ok = amb_read(
        amb_answer(
            "115792089237316195423570985008687907853269984665640564039457584007913129639935",
        ),
        T,
    )
    .await;
    assert_eq!(ok.unwrap().amount, tokbal::Amount::MAX);
    for bad in [
        "-5",
        "1.5",
        "1e18",
        "0x10",
        "",
        "115792089237316195423570985008687907853269984665640564039457584007913129639936",
    ] {
        let err = amb_read(amb_answer(bad), T).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode, "{bad:?}: {err:?}");
    }
}

#[tokio::test]
async fn amb_answers_of_the_wrong_shape_or_size_or_pace() {
    let cases: Vec<(Canned, ErrorKind)> = vec![
        (Canned::new(200, "not json"), ErrorKind::Decode),
        (
            Canned::new(200, r#"{"tokenBalances":[],"errors":[]}"#),
            ErrorKind::Decode,
        ),
        (
            amb_answer("5").delivered(Delivery::CutAfter(20)),
            ErrorKind::Transport,
        ),
        (
            Canned::new(200, vec![b' '; 10 * 1024 * 1024]),
            ErrorKind::Decode,
        ),
        (
            Canned::new(200, vec![b' '; 10 * 1024 * 1024]).delivered(Delivery::Chunked(128 * 1024)),
            ErrorKind::Decode,
        ),
        (Canned::new(418, "teapot"), ErrorKind::Decode),
        (
            Canned::new(503, "<html>down</html>"),
            ErrorKind::Unavailable,
        ),
    ];
    for (answer, kind) in cases {
        let shown = format!(
            "{} {:?} ({} bytes)",
            answer.status,
            answer.delivery,
            answer.body.len()
        );
        let err = amb_read(answer, T).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{shown}: {err:?}");
    }
    let endless = amb_answer("5").delivered(Delivery::HangAfter(10));
    let err = amb_read(endless, Duration::from_millis(400))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
}
