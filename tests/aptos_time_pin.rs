//! Pinning Aptos reads to an instant: the last version at or before it, found by searching
//! blocks on the devnet, checked against the devnet's own answer.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokbal::aptos::{AptosBackend, AptosConfig};
use tokbal::retry::RetryPolicy;
use tokbal::{At, Client, ErrorKind, Network, Query, Transport};
use tokbal_devnet::Devnet;

fn at_micros(us: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(us)
}

fn backend(net: &Devnet) -> AptosBackend {
    let transport = Transport::default().with_retry(RetryPolicy::none());
    AptosBackend::new(AptosConfig::new(net.aptos_url()).with_transport(transport)).unwrap()
}

/// A deterministic spread of instants between `from` and `to` (splitmix64).
fn instants(from: u64, to: u64, n: usize) -> Vec<u64> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            from + (z ^ (z >> 31)) % (to - from)
        })
        .collect()
}

#[tokio::test]
async fn resolves_to_the_same_version_as_the_node_knows() {
    let net = Devnet::builder()
        .initial_blocks(5_000)
        .start()
        .await
        .unwrap();
    let node = net.aptos();
    let first = node.block_at_height(0).timestamp_us;
    let last = node.block_at_height(node.tip_height()).timestamp_us;
    let aptos = backend(&net);
    for t in instants(first, last, 40) {
        let pin = aptos.version_at_time(at_micros(t)).await.unwrap();
        assert_eq!(Some(pin.version), node.version_at_time(t), "at {t}");
        assert!(!pin.at_tip);
        assert!(pin.block_timestamp_usec <= t);
    }
}

#[tokio::test]
async fn block_boundaries_are_exact() {
    let net = Devnet::builder().start().await.unwrap();
    let node = net.aptos();
    let aptos = backend(&net);
    let b = node.block_at_height(500);
    let before = node.block_at_height(499);
    let pin = aptos
        .version_at_time(at_micros(b.timestamp_us))
        .await
        .unwrap();
    assert_eq!((pin.version, pin.block_height), (b.last_version, 500));
    let pin = aptos
        .version_at_time(at_micros(b.timestamp_us - 1))
        .await
        .unwrap();
    assert_eq!((pin.version, pin.block_height), (before.last_version, 499));
}

#[tokio::test]
async fn before_the_oldest_kept_block_is_pruned_and_after_the_tip_is_the_tip() {
    let net = Devnet::builder().start().await.unwrap();
    let node = net.aptos();
    let oldest = node.tip_version() / 2;
    node.prune_before(oldest);
    let aptos = backend(&net);
    let early = node.block_at_height(1).timestamp_us;
    let err = aptos.version_at_time(at_micros(early)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Pruned);
    assert_eq!(err.oldest_version(), Some(node.oldest_version()));

    let later = node.ledger_info().ledger_timestamp_us + 3_600_000_000;
    let pin = aptos.version_at_time(at_micros(later)).await.unwrap();
    assert!(pin.at_tip);
    assert_eq!(pin.version, node.tip_version());
}

#[tokio::test]
async fn a_hundred_million_blocks_take_a_handful_of_block_requests() {
    let net = Devnet::builder()
        .initial_blocks(100_000_000)
        .start()
        .await
        .unwrap();
    let node = net.aptos();
    let first = node.block_at_height(0).timestamp_us;
    let last = node.block_at_height(node.tip_height()).timestamp_us;
    let mut worst = 0;
    for t in instants(first, last, 20) {
        // A fresh client each time: no cache from earlier searches.
        let aptos = backend(&net);
        node.reset_requests();
        let pin = aptos.version_at_time(at_micros(t)).await.unwrap();
        assert_eq!(Some(pin.version), node.version_at_time(t));
        worst = worst.max(node.requests().block);
    }
    eprintln!("worst case: {worst} block requests");
    assert!(worst <= 8, "worst case {worst} block requests");
}

#[tokio::test]
async fn a_batch_at_a_time_reads_every_aptos_query_at_that_version() {
    let net = Devnet::builder().start().await.unwrap();
    let node = net.aptos();
    let apt = "0x1::aptos_coin::AptosCoin";
    let mid = node.block_at_height(400);
    node.set_balance_at("0xa", apt, mid.first_version - 10, 5)
        .unwrap();
    node.set_balance_at("0xa", apt, mid.last_version + 1, 6)
        .unwrap();
    node.set_balance_at("0xb", apt, mid.first_version, 9)
        .unwrap();
    let client = Client::builder()
        .aptos_url(net.aptos_url())
        .aptos_api_key(None)
        .build()
        .unwrap();
    let t = at_micros(mid.timestamp_us);
    let queries: Vec<Query> = ["aptos:0xa", "aptos:0xb"]
        .iter()
        .map(|q| q.parse().unwrap())
        .collect();
    let out = client.balances(&queries, At::Time(t)).await;
    let amounts: Vec<_> = out
        .results
        .iter()
        .map(|r| r.as_ref().unwrap().amount.to_u64())
        .collect();
    assert_eq!(amounts, [Some(5), Some(9)]);
    let snap = out.snapshot.networks().next().unwrap().1.clone();
    assert_eq!(snap.ledger_version, Some(mid.last_version));
    assert_eq!(snap.at, Some(t));
    assert!(!snap.at_tip);
    assert_eq!(
        out.snapshot.aptos_version(Network::AptosMainnet),
        Some(mid.last_version)
    );
}
