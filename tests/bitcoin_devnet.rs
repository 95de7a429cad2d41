//! The Bitcoin (Esplora) source against the devnet's Esplora server: every address type,
//! balances at the tip and at past heights and times, long histories, a chain that grows
//! while it is read, request counts, faults, reorganizations, and a batch mixed with Aptos
//! and EVM queries.

use std::time::{Duration, UNIX_EPOCH};

use tokbal::retry::RetryPolicy;
use tokbal::{At, Client, ErrorKind, Network, Query};
use tokbal_devnet::{seed_address, Devnet};

/// One valid address of each type (BIP 173/350 and Bitcoin wiki examples).
const P2PKH: &str = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT";
const P2SH: &str = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy";
const P2WPKH: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";
const P2WSH: &str = "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3";
const P2TR: &str = "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0";

fn quick() -> RetryPolicy {
    RetryPolicy::default()
        .with_min_delay(Duration::from_millis(5))
        .with_max_delay(Duration::from_millis(20))
}

fn client(net: &Devnet) -> Client {
    Client::builder()
        .endpoint(Network::BitcoinMainnet, net.esplora_url())
        .retry_policy(quick())
        .build()
        .unwrap()
}

fn q(address: &str) -> Query {
    format!("bitcoin:{address}").parse().unwrap()
}

async fn devnet() -> Devnet {
    Devnet::builder()
        .esplora_initial_blocks(100)
        .start()
        .await
        .unwrap()
}

fn sats(out: &tokbal::BatchOutput) -> Vec<Result<u64, ErrorKind>> {
    out.results
        .iter()
        .map(|r| match r {
            Ok(b) => Ok(b.amount.to_u64().unwrap()),
            Err(e) => Err(e.kind()),
        })
        .collect()
}

#[tokio::test]
async fn every_address_type_at_the_tip_and_at_past_heights() {
    let net = devnet().await;
    let node = net.esplora();
    let addresses = [P2PKH, P2SH, P2WPKH, P2WSH, P2TR];
    for (i, a) in addresses.iter().enumerate() {
        node.pay(a, 1_000 * (i as u64 + 1)).unwrap();
    }
    node.mine(1);
    let first = node.tip();
    for a in addresses {
        node.pay(a, 50).unwrap();
    }
    node.transfer(P2WPKH, P2TR, 700).unwrap();
    node.mine(2);
    let queries: Vec<Query> = addresses.iter().map(|a| q(a)).collect();
    let client = client(&net);
    for (height, at) in [
        (node.tip(), At::Latest),
        (first, At::Blocks([(Network::BitcoinMainnet, first)].into())),
        (
            first - 1,
            At::Blocks([(Network::BitcoinMainnet, first - 1)].into()),
        ),
    ] {
        let out = client.balances(&queries, at).await;
        let want: Vec<Result<u64, ErrorKind>> = addresses
            .iter()
            .map(|a| Ok(node.balance(a, Some(height)).unwrap()))
            .collect();
        assert_eq!(sats(&out), want, "at {height}");
        assert_eq!(out.snapshot.block(Network::BitcoinMainnet), Some(height));
        assert!(out
            .results
            .iter()
            .all(|r| r.as_ref().unwrap().block == Some(height)));
    }
    // Mempool transactions are not part of any confirmed balance.
    node.pay(P2PKH, 1_000_000).unwrap();
    let out = client.balances(&queries[..1], At::Latest).await;
    assert_eq!(
        sats(&out)[0],
        Ok(node.balance(P2PKH, Some(node.tip())).unwrap())
    );
}

#[tokio::test]
async fn a_time_pin_takes_the_last_block_whose_median_time_is_at_or_before_it() {
    let net = devnet().await;
    let node = net.esplora();
    for _ in 0..30 {
        node.pay(P2WPKH, 10_000).unwrap();
        node.mine(1);
    }
    let client = client(&net);
    for h in [node.tip() - 20, node.tip() - 5] {
        let mtp = node.block(h).mediantime;
        let out = client
            .balances(
                &[q(P2WPKH)],
                At::Time(UNIX_EPOCH + Duration::from_secs(mtp)),
            )
            .await;
        let pinned = out.snapshot.block(Network::BitcoinMainnet).unwrap();
        assert!(node.block(pinned).mediantime <= mtp);
        assert!(pinned == node.tip() || node.block(pinned + 1).mediantime > mtp);
        assert_eq!(
            sats(&out)[0],
            Ok(node.balance(P2WPKH, Some(pinned)).unwrap())
        );
    }
}

#[tokio::test]
async fn long_histories_page_and_quiet_addresses_cost_two_requests() {
    let net = devnet().await;
    let node = net.esplora();
    // 80 transactions: four pages of 25.
    for i in 0..80u64 {
        node.pay(P2WSH, 1_000 + i).unwrap();
        node.mine(1);
    }
    let h = node.tip() - 60;
    let client = client(&net);
    let at = At::Blocks([(Network::BitcoinMainnet, h)].into());
    let out = client.balances(&[q(P2WSH)], at.clone()).await;
    assert_eq!(sats(&out)[0], Ok(node.balance(P2WSH, Some(h)).unwrap()));

    // Addresses that did not move above H: the totals and one page each.
    for i in 0..20 {
        node.pay(&seed_address(i), 5_000 + i).unwrap();
    }
    node.mine(1);
    let quiet = node.tip();
    node.mine(3);
    let queries: Vec<Query> = (0..20).map(|i| q(&seed_address(i))).collect();
    node.reset_requests();
    let at = At::Blocks([(Network::BitcoinMainnet, quiet)].into());
    let out = client.balances(&queries, at).await;
    let want: Vec<_> = (0..20).map(|i| Ok(5_000 + i)).collect();
    assert_eq!(sats(&out), want);
    let seen = node.requests();
    assert_eq!(seen.address + seen.address_txs, 40, "{seen:?}");
}

#[tokio::test]
async fn a_chain_that_grows_while_it_is_read_still_answers_at_the_pin() {
    let net = devnet().await;
    let node = net.esplora().clone();
    let addresses: Vec<String> = (100..130).map(seed_address).collect();
    for a in &addresses {
        node.pay(a, 100_000).unwrap();
    }
    node.mine(1);
    let queries: Vec<Query> = addresses.iter().map(|a| q(a)).collect();
    let client = Client::builder()
        .endpoint(Network::BitcoinMainnet, net.esplora_url())
        .retry_policy(quick())
        .concurrency(4)
        .build()
        .unwrap();
    let (snapshot, failed) = client.pin(&[Network::BitcoinMainnet], At::Latest).await;
    assert!(failed.is_empty());
    let h = snapshot.block(Network::BitcoinMainnet).unwrap();
    // While the batch reads, every address keeps receiving and spending, a block every 30 ms
    // (an address whose totals move within one read of it is read again).
    let grower = {
        let node = node.clone();
        let addresses = addresses.clone();
        tokio::spawn(async move {
            for round in 0..12u64 {
                for a in &addresses {
                    node.pay(a, 1_000 + round).unwrap();
                }
                node.transfer(&addresses[(round % 30) as usize], &addresses[0], 500)
                    .unwrap();
                node.mine(1);
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        })
    };
    let out = client.balances(&queries, At::Snapshot(snapshot)).await;
    grower.await.unwrap();
    assert!(node.tip() > h + 5, "the chain grew during the batch");
    let want: Vec<_> = addresses
        .iter()
        .map(|a| Ok(node.balance(a, Some(h)).unwrap()))
        .collect();
    assert_eq!(sats(&out), want);
}

#[tokio::test]
async fn throttling_errors_and_cut_connections_are_retried_into_exact_answers() {
    let net = devnet().await;
    let node = net.esplora();
    for i in 0..10 {
        node.pay(&seed_address(i), 7_000 + i).unwrap();
    }
    node.mine(1);
    let queries: Vec<Query> = (0..10).map(|i| q(&seed_address(i))).collect();
    let want: Vec<_> = (0..10).map(|i| Ok(7_000 + i)).collect();
    let client = client(&net);
    node.faults().throttle_next(3);
    assert_eq!(sats(&client.balances(&queries, At::Latest).await), want);
    node.faults().fail_next(3, 503);
    assert_eq!(sats(&client.balances(&queries, At::Latest).await), want);
    node.faults().drop_next(3);
    assert_eq!(sats(&client.balances(&queries, At::Latest).await), want);
    let counts = node.faults().counts();
    assert_eq!((counts.throttled, counts.failed, counts.dropped), (3, 3, 3));
}

#[tokio::test]
async fn malformed_and_foreign_addresses_are_refused_before_any_request() {
    let net = devnet().await;
    net.esplora().reset_requests();
    for bad in [
        "bitcoin:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdr",
        "bitcoin:1BoatSLRHtKNngkdXEeobR76b53LETtpyU",
        "bitcoin:tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
    ] {
        let e = bad.parse::<Query>().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
        assert_eq!(e.field(), Some("owner"), "{bad}");
    }
    assert_eq!(net.esplora().requests().http, 0);
}

#[tokio::test]
async fn a_reorganization_past_the_pin_is_read_again_or_named() {
    let net = devnet().await;
    let node = net.esplora();
    node.pay(P2TR, 42).unwrap();
    node.mine(3);
    let client = client(&net);
    let (snapshot, _) = client.pin(&[Network::BitcoinMainnet], At::Latest).await;
    let old = snapshot.get(Network::BitcoinMainnet).unwrap().clone();
    node.reorg(2);
    // Read at exactly a snapshot whose block left the chain: an error naming it, no balance.
    let out = client.balances(&[q(P2TR)], At::Snapshot(snapshot)).await;
    let e = out.results[0].as_ref().unwrap_err();
    assert_eq!(e.code(), Some("reorged"), "{e}");
    assert!(e.to_string().contains("take a new snapshot"), "{e}");
    // Read at a height: the block at that height now, named in the snapshot.
    let at = At::Blocks([(Network::BitcoinMainnet, old.block.unwrap())].into());
    let out = client.balances(&[q(P2TR)], at).await;
    let now = out.snapshot.get(Network::BitcoinMainnet).unwrap();
    assert_eq!(now.block, old.block);
    assert_ne!(now.block_hash, old.block_hash);
    assert_eq!(
        now.block_hash.as_deref(),
        Some(format!("0x{}", node.block(now.block.unwrap()).hash).as_str())
    );
    assert_eq!(sats(&out)[0], Ok(42));
}

#[tokio::test]
async fn a_mixed_batch_with_aptos_and_evm_in_order() {
    let net = Devnet::builder()
        .esplora_initial_blocks(100)
        .start()
        .await
        .unwrap();
    net.aptos()
        .set_balance("0xa", "0x1::aptos_coin::AptosCoin", 11)
        .unwrap();
    net.evm()
        .set_native_balance(
            "0x00000000000000000000000000000000000000e1",
            ruint::aliases::U256::from(22u8),
        )
        .unwrap();
    net.evm().mine(1);
    net.esplora().pay(P2WPKH, 33).unwrap();
    net.esplora().mine(1);
    let client = Client::builder()
        .aptos_url(net.aptos_url())
        .endpoint(Network::EthereumMainnet, net.evm_url())
        .endpoint(Network::BitcoinMainnet, net.esplora_url())
        .build()
        .unwrap();
    let texts = [
        format!("bitcoin:{P2WPKH}"),
        "aptos:0xa".to_string(),
        "ethereum:0x00000000000000000000000000000000000000e1".to_string(),
        format!("bitcoin:{P2WPKH}"),
    ];
    let queries: Vec<Query> = texts.iter().map(|t| t.parse().unwrap()).collect();
    let out = client.balances(&queries, At::Latest).await;
    assert_eq!(sats(&out), [Ok(33), Ok(11), Ok(22), Ok(33)]);
    assert_eq!(out.snapshot.networks().count(), 3);
}
