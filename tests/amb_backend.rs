//! The AMB back end through the real SDK against the devnet's AMB endpoint: chunking, dedup,
//! one instant per batch, per-item and whole-call errors, and amounts up to 2^256 - 1.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokbal::amb::AmbCredentials;
use tokbal::retry::RetryPolicy;
use tokbal::{At, Client, ClientBuilder, ErrorKind, Network, Query};
use tokbal_devnet::{Devnet, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY};

const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const ETH: &str = "ETHEREUM_MAINNET";
const U256_MAX: &str =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

fn owner(i: usize) -> String {
    format!("0x{:040x}", i + 1)
}

fn q(s: &str) -> Query {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn secs(t: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(t as u64)
}

fn builder(net: &Devnet) -> ClientBuilder {
    Client::builder()
        .amb_url(net.amb_url())
        .amb_credentials(Some(AmbCredentials::new(
            TEST_ACCESS_KEY_ID,
            TEST_SECRET_ACCESS_KEY,
            None,
        )))
        .aptos_url(net.aptos_url())
        .aptos_api_key(None)
        .retry_policy(RetryPolicy::none())
}

/// A devnet with `n` Ethereum owners holding i + 1 wei each since T0.
async fn devnet_with_owners(n: usize) -> Devnet {
    let net = Devnet::builder().start().await.unwrap();
    for i in 0..n {
        net.amb()
            .set_balance(ETH, &owner(i), None, Some("eth"), T0, &(i + 1).to_string())
            .unwrap();
    }
    net
}

#[tokio::test]
async fn chunks_of_at_most_ten_every_item_once_in_order() {
    let net = devnet_with_owners(1000).await;
    let client = builder(&net).concurrency(8).build().unwrap();
    for n in [0usize, 1, 10, 11, 25, 1000] {
        net.amb().reset_requests();
        let queries: Vec<Query> = (0..n)
            .map(|i| q(&format!("ethereum:{}", owner(i))))
            .collect();
        let out = client.balances(&queries, At::Latest).await;
        assert_eq!(out.results.len(), n);
        for (i, r) in out.results.iter().enumerate() {
            let b = r.as_ref().unwrap_or_else(|e| panic!("{n}/{i}: {e}"));
            assert_eq!(b.amount.to_string(), (i + 1).to_string(), "{n}/{i}");
        }
        let counts = net.amb().requests();
        assert_eq!(counts.calls as usize, n.div_ceil(10), "calls for {n}");
        assert_eq!(counts.items as usize, n, "items for {n}");
        let mut seen: Vec<String> = net
            .amb()
            .seen_calls()
            .iter()
            .inspect(|c| assert!(c.items.len() <= 10))
            .flat_map(|c| c.items.iter().map(|i| i.owner.clone()))
            .collect();
        seen.sort();
        let mut expected: Vec<String> = (0..n).map(owner).collect();
        expected.sort();
        assert_eq!(seen, expected, "each item sent exactly once for {n}");
    }
}

#[tokio::test]
async fn duplicates_are_sent_once() {
    let net = devnet_with_owners(3).await;
    let client = builder(&net).build().unwrap();
    let o = owner(1);
    let upper = format!("0x{}", o[2..].to_uppercase());
    let queries = vec![
        q(&format!("ethereum:{o}")),
        q(&format!("ethereum:{upper}")),
        q(&format!("ethereum:{o}/eth")),
        q(&format!("ethereum:{}", owner(2))),
    ];
    let out = client.balances(&queries, At::Latest).await;
    let amounts: Vec<String> = out
        .results
        .iter()
        .map(|r| r.as_ref().unwrap().amount.to_string())
        .collect();
    assert_eq!(amounts, ["2", "2", "2", "3"]);
    assert_eq!(net.amb().requests().items, 2);
}

#[tokio::test]
async fn every_token_kind_and_the_full_u256_range() {
    let net = Devnet::builder().start().await.unwrap();
    let amb = net.amb();
    let (o, erc20, nft) = (owner(0), owner(100), owner(200));
    let id = format!("{:064x}", 1337);
    amb.set_balance(ETH, &o, None, Some("eth"), T0, "1000000000000000000")
        .unwrap();
    amb.set_balance(ETH, &o, Some(&erc20), None, T0, U256_MAX)
        .unwrap();
    amb.set_balance(ETH, &o, Some(&nft), Some(&id), T0, "1")
        .unwrap();
    amb.set_balance(
        ETH,
        &o,
        Some(&owner(300)),
        Some(&format!("{:064x}", 7)),
        T0,
        "12",
    )
    .unwrap();
    amb.set_balance(
        "BITCOIN_MAINNET",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        None,
        Some("btc"),
        T0,
        "21000000",
    )
    .unwrap();
    let client = builder(&net).build().unwrap();
    let queries = [
        q(&format!("ethereum:{o}")),
        q(&format!("ethereum:{o}/erc20:{erc20}")),
        q(&format!("ethereum:{o}/erc721:{nft}:1337")),
        q(&format!("ethereum:{o}/erc1155:{}:0x7", owner(300))),
        q("bitcoin:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
        q(&format!("ethereum:{}/erc721:{nft}:1337", owner(1))),
    ];
    let out = client.balances(&queries, At::Latest).await;
    let amounts: Vec<String> = out
        .results
        .iter()
        .map(|r| r.as_ref().unwrap().amount.to_string())
        .collect();
    assert_eq!(
        amounts,
        ["1000000000000000000", U256_MAX, "1", "12", "21000000", "0"]
    );
    // One instant for every item, recorded in the snapshot for both networks.
    let at = out.results[0].as_ref().unwrap().at.unwrap();
    assert!(out
        .results
        .iter()
        .all(|r| r.as_ref().unwrap().at == Some(at)));
    assert_eq!(out.snapshot.instant(Network::EthereumMainnet), Some(at));
    assert_eq!(out.snapshot.instant(Network::BitcoinMainnet), Some(at));
    assert_eq!(
        out.results[0].as_ref().unwrap().last_updated,
        Some(secs(T0))
    );
    assert_eq!(out.results[5].as_ref().unwrap().last_updated, None);
    // Token ids went out as 64 hex digits.
    let sent: Vec<Option<String>> = amb
        .seen_calls()
        .iter()
        .flat_map(|c| c.items.iter().map(|i| i.token_id.clone()))
        .collect();
    assert!(sent.contains(&Some(id)));
}

#[tokio::test]
async fn reads_at_an_instant_are_historical() {
    let net = Devnet::builder().start().await.unwrap();
    let o = owner(0);
    net.amb()
        .set_balance(ETH, &o, None, Some("eth"), T0, "5")
        .unwrap();
    net.amb()
        .set_balance(ETH, &o, None, Some("eth"), T0 + 3600, "7")
        .unwrap();
    let client = builder(&net).build().unwrap();
    let query = [q(&format!("ethereum:{o}"))];
    for (t, expect) in [(T0 - 1, "0"), (T0, "5"), (T0 + 3599, "5"), (T0 + 3600, "7")] {
        let out = client.balances(&query, At::Time(secs(t))).await;
        let b = out.results[0].as_ref().unwrap();
        assert_eq!(b.amount.to_string(), expect, "at {t}");
        assert_eq!(b.at, Some(secs(t)));
        assert_eq!(
            out.snapshot.instant(Network::EthereumMainnet),
            Some(secs(t))
        );
    }
    // Sub-second instants go out truncated to the second.
    let half = secs(T0) + Duration::from_millis(500);
    let out = client.balances(&query, At::Time(half)).await;
    assert_eq!(out.results[0].as_ref().unwrap().at, Some(secs(T0)));
}

#[tokio::test]
async fn per_item_errors_keep_their_code_and_spare_the_rest() {
    let net = devnet_with_owners(2).await;
    let client = builder(&net).build().unwrap();
    let unknown_contract = owner(999);
    let queries = [
        q(&format!("ethereum:{}", owner(0))),
        q(&format!("ethereum:{}/erc20:{unknown_contract}", owner(0))),
        q(&format!("ethereum:{}", owner(1))),
    ];
    let out = client.balances(&queries, At::Latest).await;
    assert!(out.results[0].is_ok() && out.results[2].is_ok());
    let err = out.results[1].as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.code(), Some("ContractNotFound"));
    assert!(
        err.to_string().contains("RESOURCE_NOT_FOUND_EXCEPTION"),
        "{err}"
    );

    // An instant the service refuses (the future) is a per-item validation error.
    let future = SystemTime::now() + Duration::from_secs(86_400);
    let out = client.balances(&queries[..1], At::Time(future)).await;
    let err = out.results[0].as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.code(), Some("InvalidBlockchainInstant"));
}

#[tokio::test]
async fn a_whole_call_error_marks_its_chunk_and_only_its_chunk() {
    let cases = [
        (
            402u16,
            ErrorKind::QuotaExceeded,
            "ServiceQuotaExceededException",
        ),
        (403, ErrorKind::AccessDenied, "AccessDeniedException"),
        (404, ErrorKind::NotFound, "ResourceNotFoundException"),
        (400, ErrorKind::InvalidInput, "ValidationException"),
        (500, ErrorKind::Unavailable, "InternalServerException"),
        (429, ErrorKind::Throttled, "ThrottlingException"),
    ];
    let net = devnet_with_owners(25).await;
    net.amb().faults().set_retry_after_secs(4);
    let client = builder(&net).concurrency(1).build().unwrap();
    let queries: Vec<Query> = (0..25)
        .map(|i| q(&format!("ethereum:{}", owner(i))))
        .collect();
    for (status, kind, code) in cases {
        if status == 429 {
            net.amb().faults().throttle_next(1);
        } else {
            net.amb().faults().fail_next(1, status);
        }
        // At a named instant, so that the first call is not special.
        let out = client.balances(&queries, At::Time(secs(T0 + 10))).await;
        let failed: Vec<_> = out
            .results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .collect();
        assert_eq!(failed.len(), 10, "{status}: exactly one chunk fails");
        for e in &failed {
            assert_eq!(e.kind(), kind, "{status}: {e}");
            assert_eq!(e.code(), Some(code), "{status}");
            assert_eq!(e.status(), Some(status));
            assert_eq!(e.backend(), Some(tokbal::Backend::Amb));
        }
        if matches!(status, 429 | 500) {
            assert_eq!(
                failed[0].retry_after(),
                Some(Duration::from_secs(4)),
                "{status}"
            );
        }
        assert_eq!(out.results.iter().filter(|r| r.is_ok()).count(), 15);
    }
}

#[tokio::test]
async fn throttling_is_retried_under_the_policy() {
    let net = devnet_with_owners(1).await;
    net.amb().faults().set_retry_after_secs(0);
    net.amb().faults().throttle_next(2);
    let client = builder(&net)
        .retry_policy(
            RetryPolicy::default()
                .with_min_delay(Duration::from_millis(1))
                .with_max_delay(Duration::from_millis(10)),
        )
        .build()
        .unwrap();
    let out = client
        .balances(&[q(&format!("ethereum:{}", owner(0)))], At::Latest)
        .await;
    assert_eq!(out.results[0].as_ref().unwrap().amount.to_string(), "1");
    assert_eq!(net.amb().requests().calls, 3);
}

#[tokio::test]
async fn wrong_credentials_are_access_denied() {
    let net = devnet_with_owners(1).await;
    let client = builder(&net)
        .amb_credentials(Some(AmbCredentials::new(
            TEST_ACCESS_KEY_ID,
            "not-the-secret",
            None,
        )))
        .build()
        .unwrap();
    let out = client
        .balances(&[q(&format!("ethereum:{}", owner(0)))], At::Latest)
        .await;
    let err = out.results[0].as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AccessDenied);
    assert_eq!(err.status(), Some(403));
    assert!(!format!("{err:?}{err}").contains("not-the-secret"));
    assert_eq!(net.amb().requests().refused_auth, 1);
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error() {
    let net = devnet_with_owners(1).await;
    net.amb().faults().drop_next(1);
    let client = builder(&net).build().unwrap();
    let out = client
        .balances(&[q(&format!("ethereum:{}", owner(0)))], At::Latest)
        .await;
    let err = out.results[0].as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
}

#[test]
fn credentials_debug_hides_the_secret() {
    let c = AmbCredentials::new("AKID", "very-secret", Some("session-secret".into()));
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("very-secret") && !shown.contains("session-secret"),
        "{shown}"
    );
}
