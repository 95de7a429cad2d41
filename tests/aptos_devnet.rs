//! The library against the in-process Aptos devnet: pinning, historical reads, and every
//! error path, through the real HTTP stack on 127.0.0.1.

use std::time::Duration;

use tokbal::retry::RetryPolicy;
use tokbal::{At, Client, ErrorKind, Network, Query};
use tokbal_devnet::Devnet;

const APT: &str = "0x1::aptos_coin::AptosCoin";

fn q(s: &str) -> Query {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

async fn devnet() -> Devnet {
    Devnet::builder().start().await.expect("devnet starts")
}

/// No retries: most tests here look at what one answer maps to.
fn client(devnet: &Devnet) -> Client {
    builder(devnet).build().unwrap()
}

fn builder(devnet: &Devnet) -> tokbal::ClientBuilder {
    Client::builder()
        .aptos_url(devnet.aptos_url())
        .aptos_api_key(None)
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::none())
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_min_delay(Duration::from_millis(1))
        .with_max_delay(Duration::from_millis(10))
}

#[tokio::test]
async fn pinned_reads_give_historical_balances() {
    let net = devnet().await;
    let node = net.aptos();
    let tip = node.tip_version();
    node.set_balance_at("0xa", APT, tip - 20, 100).unwrap();
    node.set_balance_at("0xa", APT, tip - 10, 250).unwrap();
    node.set_balance_at("0xa", "0xfa", tip - 15, 7).unwrap();
    let client = client(&net);

    let cases = [
        (tip - 25, 0, 0),
        (tip - 20, 100, 0),
        (tip - 15, 100, 7),
        (tip - 10, 250, 7),
        (tip, 250, 7),
    ];
    for (version, apt, fa) in cases {
        let out = client
            .balances(
                &[q("aptos:0xa"), q("aptos:0xa/0xfa")],
                At::AptosVersion(version),
            )
            .await;
        let got: Vec<_> = out
            .results
            .iter()
            .map(|r| r.as_ref().unwrap().amount.to_u64())
            .collect();
        assert_eq!(got, vec![Some(apt), Some(fa)], "at {version}");
        assert_eq!(
            out.snapshot.aptos_version(Network::AptosMainnet),
            Some(version)
        );
        for r in &out.results {
            assert_eq!(r.as_ref().unwrap().ledger_version, Some(version));
        }
    }
}

#[tokio::test]
async fn latest_is_pinned_once_and_carried_by_every_other_read() {
    let net = devnet().await;
    let node = net.aptos();
    for i in 1..=20u64 {
        node.set_balance(&format!("0x{i:x}"), APT, i * 1000)
            .unwrap();
    }
    let tip = node.tip_version();
    node.reset_requests();
    let queries: Vec<Query> = (1..=20u64).map(|i| q(&format!("aptos:0x{i:x}"))).collect();
    let out = client(&net).balances(&queries, At::Latest).await;

    assert_eq!(out.snapshot.aptos_version(Network::AptosMainnet), Some(tip));
    for (i, r) in out.results.iter().enumerate() {
        let b = r.as_ref().unwrap();
        assert_eq!(b.amount.to_u64(), Some((i as u64 + 1) * 1000));
        assert_eq!(b.ledger_version, Some(tip));
    }
    // One request per query, none extra to learn the version, and all but the first pinned.
    let counts = node.requests();
    assert_eq!(counts.total, 20);
    assert_eq!(counts.ledger_info, 0);
    let paths = node.seen_paths();
    let pinned = paths
        .iter()
        .filter(|p| p.ends_with(&format!("ledger_version={tip}")))
        .count();
    assert_eq!(pinned, 19, "{paths:#?}");
}

#[tokio::test]
async fn the_pin_holds_while_the_chain_moves_on() {
    let net = devnet().await;
    let node = net.aptos();
    node.set_balance("0xb", APT, 1).unwrap();
    let client = client(&net);
    let first = client.balances(&[q("aptos:0xb")], At::Latest).await;
    let pinned = first.snapshot.aptos_version(Network::AptosMainnet).unwrap();

    node.advance(10);
    node.set_balance("0xb", APT, 2).unwrap();
    let again = client
        .balances(&[q("aptos:0xb")], At::AptosVersion(pinned))
        .await;
    assert_eq!(again.results[0].as_ref().unwrap().amount.to_u64(), Some(1));
    let now = client.balances(&[q("aptos:0xb")], At::Latest).await;
    assert_eq!(now.results[0].as_ref().unwrap().amount.to_u64(), Some(2));
    assert!(now.snapshot.aptos_version(Network::AptosMainnet).unwrap() > pinned);
}

#[tokio::test]
async fn pruned_versions_report_the_oldest_kept() {
    let net = devnet().await;
    let node = net.aptos();
    let oldest = node.tip_version() / 2;
    node.prune_before(oldest);
    let out = client(&net)
        .balances(
            &[q("aptos:0x1"), q("aptos:0x2")],
            At::AptosVersion(oldest - 1),
        )
        .await;
    for r in &out.results {
        let err = r.as_ref().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Pruned);
        assert_eq!(err.code(), Some("version_pruned"));
        assert_eq!(err.oldest_version(), Some(oldest));
        assert!(!err.is_retryable());
        assert!(
            err.to_string()
                .contains(&format!("oldest kept version is {oldest}")),
            "{err}"
        );
    }
    // The oldest kept version itself still reads.
    let ok = client(&net)
        .balances(&[q("aptos:0x1")], At::AptosVersion(oldest))
        .await;
    assert!(ok.results[0].is_ok());
}

#[tokio::test]
async fn versions_past_the_tip_are_not_yet_available() {
    let net = devnet().await;
    let past = net.aptos().tip_version() + 1_000;
    let out = client(&net)
        .balances(&[q("aptos:0x1")], At::AptosVersion(past))
        .await;
    let err = out.results[0].as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotYetAvailable);
    assert_eq!(err.code(), Some("version_not_found"));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_lagging_replica_answers_not_yet_available() {
    let net = devnet().await;
    let node = net.aptos();
    let tip = node.tip_version();
    node.faults().lag(5);
    let out = client(&net)
        .balances(&[q("aptos:0x1")], At::AptosVersion(tip))
        .await;
    assert_eq!(
        out.results[0].as_ref().unwrap_err().kind(),
        ErrorKind::NotYetAvailable
    );
    node.faults().clear_lag();
    let out = client(&net)
        .balances(&[q("aptos:0x1")], At::AptosVersion(tip))
        .await;
    assert!(out.results[0].is_ok());
}

#[tokio::test]
async fn throttling_is_reported_with_retry_after() {
    let net = devnet().await;
    let node = net.aptos();
    node.faults().set_retry_after_secs(3);
    node.faults().throttle_next(1);
    let out = client(&net)
        .balances(&[q("aptos:0x1")], At::AptosVersion(5))
        .await;
    let err = out.results[0].as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
    assert_eq!(err.status(), Some(429));
}

#[tokio::test]
async fn server_failures_are_unavailable() {
    for status in [500u16, 503] {
        let net = devnet().await;
        net.aptos().faults().fail_next(1, status);
        let out = client(&net)
            .balances(&[q("aptos:0x1")], At::AptosVersion(5))
            .await;
        let err = out.results[0].as_ref().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{status}: {err}");
        assert_eq!(err.status(), Some(status));
        assert!(err.is_retryable());
    }
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error_and_spares_the_rest() {
    let net = devnet().await;
    net.aptos().set_balance("0x2", APT, 5).unwrap();
    net.aptos().faults().drop_next(1);
    let client = builder(&net).concurrency(1).build().unwrap();
    let version = net.aptos().tip_version();
    let out = client
        .balances(&[q("aptos:0x1"), q("aptos:0x2")], At::AptosVersion(version))
        .await;
    let err = out.results[0].as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(out.results[1].as_ref().unwrap().amount.to_u64(), Some(5));
}

#[tokio::test]
async fn duplicates_cost_one_request_and_answer_every_slot() {
    let net = devnet().await;
    let node = net.aptos();
    node.set_balance("0x3", APT, 33).unwrap();
    node.reset_requests();
    let queries = [
        q("aptos:0x3"),
        q("aptos:0x03"),
        q("aptos:0x3/0x1::aptos_coin::AptosCoin"),
        q("aptos:0x0000000000000000000000000000000000000000000000000000000000000003"),
    ];
    let out = client(&net).balances(&queries, At::Latest).await;
    assert_eq!(node.requests().total, 1);
    assert_eq!(out.results.len(), 4);
    for r in &out.results {
        assert_eq!(r.as_ref().unwrap().amount.to_u64(), Some(33));
    }
}

#[cfg(feature = "amb")]
#[tokio::test]
async fn an_unreachable_amb_endpoint_spares_the_aptos_items() {
    let net = devnet().await;
    net.aptos().reset_requests();
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = builder(&net)
        .amb_url(format!("http://127.0.0.1:{closed_port}"))
        .amb_credentials(Some(tokbal::amb::AmbCredentials::new(
            "AKIDTEST",
            "test-secret",
            None,
        )))
        .build()
        .unwrap();
    let queries = [
        q("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7"),
        q("aptos:0x1"),
        q("bitcoin:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
    ];
    let out = client.balances(&queries, At::Latest).await;
    assert_eq!(
        out.results[0].as_ref().unwrap_err().kind(),
        ErrorKind::Transport
    );
    assert!(out.results[1].is_ok());
    assert_eq!(
        out.results[2].as_ref().unwrap_err().kind(),
        ErrorKind::Transport
    );
    assert_eq!(net.aptos().requests().total, 1);
}

#[tokio::test]
async fn a_failed_first_read_still_pins_the_rest_through_ledger_info() {
    let net = devnet().await;
    let node = net.aptos();
    node.set_balance("0x5", APT, 55).unwrap();
    let tip = node.tip_version();
    node.faults().fail_next(1, 503);
    let client = builder(&net).concurrency(1).build().unwrap();
    let out = client
        .balances(&[q("aptos:0x4"), q("aptos:0x5")], At::Latest)
        .await;
    assert_eq!(
        out.results[0].as_ref().unwrap_err().kind(),
        ErrorKind::Unavailable
    );
    let b = out.results[1].as_ref().unwrap();
    assert_eq!((b.amount.to_u64(), b.ledger_version), (Some(55), Some(tip)));
    assert_eq!(out.snapshot.aptos_version(Network::AptosMainnet), Some(tip));
    assert_eq!(node.requests().ledger_info, 1);
}

#[tokio::test]
async fn ledger_info_and_blocks_agree_with_the_node() {
    let net = devnet().await;
    let node = net.aptos();
    let client = client(&net);
    let backend = client.aptos(Network::AptosMainnet).unwrap();
    let info = backend.ledger_info().await.unwrap();
    assert_eq!(info.ledger_version, node.tip_version());
    assert_eq!(info.oldest_ledger_version, node.oldest_version());
    let block = backend.block_by_height(10).await.unwrap();
    let expect = node.block_at_height(10);
    assert_eq!(block.first_version, expect.first_version);
    assert_eq!(block.timestamp_usec, expect.timestamp_us);
    let by_version = backend.block_by_version(block.last_version).await.unwrap();
    assert_eq!(by_version.height, 10);
    let past = backend
        .block_by_height(node.tip_height() + 5)
        .await
        .unwrap_err();
    assert_eq!(past.kind(), ErrorKind::NotFound);
    assert_eq!(past.code(), Some("block_not_found"));
    let healthy = backend.healthy(None).await.unwrap();
    assert_eq!(healthy.chain_id, node.chain_id());
}

#[tokio::test]
async fn a_slow_node_times_out_within_the_configured_time() {
    let net = devnet().await;
    net.aptos().faults().set_latency(Duration::from_secs(3));
    let client = builder(&net)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let out = client
        .balances(&[q("aptos:0x1")], At::AptosVersion(3))
        .await;
    let err = out.results[0].as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
    // A Timeout (not a balance) shows the client gave up before the 3 s answer came.
    assert!(err.is_retryable());
}

#[tokio::test]
async fn transient_faults_are_retried_and_the_batch_completes() {
    let net = devnet().await;
    let node = net.aptos();
    node.set_balance("0x7", APT, 77).unwrap();
    let version = node.tip_version();
    node.faults().set_retry_after_secs(0);
    node.faults().throttle_next(1);
    node.faults().fail_next(1, 503);
    node.faults().drop_next(1);
    let client = builder(&net)
        .retry_policy(quick_retries())
        .concurrency(1)
        .build()
        .unwrap();
    let out = client
        .balances(&[q("aptos:0x7")], At::AptosVersion(version))
        .await;
    assert_eq!(out.results[0].as_ref().unwrap().amount.to_u64(), Some(77));
    assert_eq!(node.requests().balance, 4, "three faults, then the answer");
}

#[tokio::test]
async fn a_lagging_replica_is_retried_until_it_catches_up() {
    let net = devnet().await;
    let node = net.aptos();
    let tip = node.tip_version();
    node.faults().lag_next(2, 5);
    let client = builder(&net).retry_policy(quick_retries()).build().unwrap();
    let out = client
        .balances(&[q("aptos:0x1")], At::AptosVersion(tip))
        .await;
    assert!(out.results[0].is_ok(), "{:?}", out.results[0]);
    assert_eq!(node.requests().balance, 3);
}
