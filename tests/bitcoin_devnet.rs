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

/// The largest height whose header time is at or before `t`, by looking at every block.
fn last_by_header_time(node: &tokbal_devnet::EsploraNode, t: u64) -> Option<u64> {
    (0..=node.tip())
        .rev()
        .find(|&h| node.block(h).timestamp <= t)
}

#[tokio::test]
async fn a_time_pin_takes_the_largest_height_whose_header_time_is_at_or_before_it() {
    // Header times jitter by up to 599 s either way around 600 s blocks, so that a block's
    // time is often below its parent's; then one block is made as early as consensus allows
    // (just above the median time past of the eleven before it), below the header times of
    // the five blocks before it, and the chain goes on from there.
    let net = Devnet::builder()
        .esplora_initial_blocks(300)
        .esplora_block_jitter(Duration::from_secs(599))
        .start()
        .await
        .unwrap();
    let node = net.esplora();
    let early = node.mine_at(node.block(node.tip()).mediantime + 1).unwrap();
    node.mine(20);
    for h in 280..=node.tip() {
        node.pay_at(h, P2WPKH, 1_000 + h).unwrap();
    }
    let before = |h: u64| node.block(h).timestamp;
    assert!(
        (early - 5..early).all(|h| before(h) > before(early)),
        "block {early} is earlier than the five blocks before it"
    );

    let mut instants: Vec<u64> = [11, 50, 123, 200].iter().map(|&h| before(h)).collect();
    for h in 250..=node.tip() {
        instants.extend([before(h) - 1, before(h), before(h) + 1]);
    }
    let client = client(&net);
    let (mut checked, mut out_of_order) = (0, 0);
    for t in instants {
        let want = last_by_header_time(node, t).unwrap();
        let at = UNIX_EPOCH + Duration::from_secs(t);
        let (snapshot, failed) = client.pin(&[Network::BitcoinMainnet], At::Time(at)).await;
        assert!(failed.is_empty(), "{failed:?}");
        let entry = snapshot.get(Network::BitcoinMainnet).unwrap();
        assert_eq!(entry.block, Some(want), "at {t}");
        assert_eq!(
            entry.block_hash.as_deref(),
            Some(node.block(want).hash.as_str())
        );
        assert_eq!(
            entry.block_time,
            Some(UNIX_EPOCH + Duration::from_secs(before(want)))
        );
        assert_eq!(entry.at, Some(at));
        assert_eq!(entry.at_tip, want == node.tip(), "at {t}");
        checked += 1;
        // A block below the one taken has a later header time: taking the first block
        // after t, or the last by median time past, would be wrong here.
        if (0..want).any(|h| before(h) > t) {
            out_of_order += 1;
        }
    }
    assert!(checked > 200);
    assert!(
        out_of_order > 20,
        "{out_of_order} instants with times out of order"
    );

    // The block made early is the one for an instant just after its time, though the five
    // blocks before it were made later.
    let t = before(early);
    let out = client
        .balances(&[q(P2WPKH)], At::Time(UNIX_EPOCH + Duration::from_secs(t)))
        .await;
    assert_eq!(out.snapshot.block(Network::BitcoinMainnet), Some(early));
    assert_eq!(
        sats(&out)[0],
        Ok(node.balance(P2WPKH, Some(early)).unwrap())
    );

    // Past the tip: the tip; before the first block: an error naming the instant.
    let late = UNIX_EPOCH + Duration::from_secs(before(node.tip()) + 3_600);
    let (snapshot, _) = client.pin(&[Network::BitcoinMainnet], At::Time(late)).await;
    let entry = snapshot.get(Network::BitcoinMainnet).unwrap();
    assert_eq!(entry.block, Some(node.tip()));
    assert!(entry.at_tip);
    let (_, failed) = client
        .pin(
            &[Network::BitcoinMainnet],
            At::Time(UNIX_EPOCH + Duration::from_secs(before(0) - 1)),
        )
        .await;
    let e = &failed[0].1;
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(
        e.to_string().contains("before bitcoin's first block"),
        "{e}"
    );
}

#[tokio::test]
async fn a_time_pin_costs_a_handful_of_requests_for_ten_blocks_each() {
    let net = Devnet::builder()
        .esplora_initial_blocks(100_000)
        .esplora_block_jitter(Duration::from_secs(300))
        .start()
        .await
        .unwrap();
    let node = net.esplora();
    let mut worst = 0;
    for h in [12, 777, 31_415, 50_000, 99_990] {
        for t in [node.block(h).timestamp, node.block(h).mediantime] {
            // A client of its own: nothing learned by an earlier search.
            let client = client(&net);
            node.reset_requests();
            let at = At::Time(UNIX_EPOCH + Duration::from_secs(t));
            let (snapshot, failed) = client.pin(&[Network::BitcoinMainnet], at).await;
            assert!(failed.is_empty(), "{failed:?}");
            // The largest height at or before t: with a jitter under half the interval, a
            // block is later than every block two or more below it, so the thirty above
            // the one taken show that no higher one is at or before t.
            let pinned = snapshot.block(Network::BitcoinMainnet).unwrap();
            assert!(node.block(pinned).timestamp <= t, "at {t}");
            assert!(
                (pinned + 1..=pinned + 30).all(|h| node.block(h).timestamp > t),
                "at {t}"
            );
            let seen = node.requests();
            assert_eq!(seen.http, seen.blocks, "only /blocks is read: {seen:?}");
            worst = worst.max(seen.http);
        }
    }
    // The newest blocks, the genesis block, and a few steps of the search (5 at most on
    // this chain, from 11 with two requests a block).
    assert!(worst <= 6, "{worst} requests");
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
        Some(node.block(now.block.unwrap()).hash.as_str())
    );
    assert_eq!(sats(&out)[0], Ok(42));
}

#[tokio::test]
async fn block_hashes_are_written_without_0x_and_read_with_or_without() {
    let net = devnet().await;
    let node = net.esplora();
    node.pay(P2TR, 4_242).unwrap();
    node.mine(1);
    let client = client(&net);
    let out = client.balances(&[q(P2TR)], At::Latest).await;
    let entry = out.snapshot.get(Network::BitcoinMainnet).unwrap().clone();
    let hash = entry.block_hash.clone().unwrap();
    assert_eq!(hash, node.block(node.tip()).hash);
    assert!(hash.len() == 64 && !hash.starts_with("0x"), "{hash}");
    let json = serde_json::to_string(&out.snapshot).unwrap();
    assert!(
        json.contains(&format!("\"block_hash\":\"{hash}\"")),
        "{json}"
    );
    node.mine(2);
    // A snapshot written with 0x (as tokbal once wrote them) still reads, at its block.
    for written in [
        hash.clone(),
        format!("0x{hash}"),
        format!("0x{}", hash.to_uppercase()),
    ] {
        let text = json.replace(&hash, &written);
        let snapshot = tokbal::Snapshot::from_json(&text).unwrap();
        let out = client
            .balances(&[q(P2TR)], At::Snapshot(snapshot.clone()))
            .await;
        assert_eq!(sats(&out)[0], Ok(4_242), "{written}");
        assert_eq!(
            out.snapshot
                .get(Network::BitcoinMainnet)
                .unwrap()
                .block_hash,
            Some(hash.clone())
        );
        let raw: tokbal::Snapshot = serde_json::from_str(&text).unwrap();
        assert_eq!(raw, snapshot, "serde reads it as from_json does");
    }
}

#[tokio::test]
async fn a_busy_address_read_far_back_while_blocks_arrive_ends_exact_at_h() {
    let net = devnet().await;
    let node = net.esplora();
    let busy = P2WSH;
    // A payment in each of 300 blocks: read 290 blocks back, its history above H is twelve
    // pages.
    for i in 0..300 {
        node.pay(busy, 10_000 + i).unwrap();
        node.mine(1);
    }
    let h = node.tip() - 290;
    let at = At::Blocks([(Network::BitcoinMainnet, h)].into());
    let client = client(&net);
    // Then blocks arrive while the address is read, one every second request, and three in
    // four pay it: every read of its whole history sees its totals move.
    node.keep_busy(busy, 777, 4).unwrap();
    node.reset_requests();
    node.mine_every_requests(2);
    let tip = node.tip();
    let out = client.balances(&[q(busy)], at.clone()).await;
    node.stop_arrivals();
    let seen = node.requests();
    assert!(node.tip() > tip + 5, "blocks arrived during the read");
    assert!(
        node.txids(busy, None).unwrap().len() > 300 + 3,
        "and paid the address"
    );
    assert_eq!(sats(&out)[0], Ok(node.balance(busy, Some(h)).unwrap()));
    assert_eq!(out.results[0].as_ref().unwrap().block, Some(h));
    // The first read: the totals, 12 pages, the totals again (what a quiet address that
    // moved above H costs); then rounds of about two requests (the newest page, the totals).
    let first = 1 + 12 + 1;
    let reads = seen.address + seen.address_txs;
    assert!(
        reads > first,
        "the totals moved, so more was read: {seen:?}"
    );
    assert!(reads <= first + 2 * 6, "{reads} reads: {seen:?}");

    // The same read with the arrivals every request but one in three: still exact.
    let h = h + 100;
    let at = At::Blocks([(Network::BitcoinMainnet, h)].into());
    node.keep_busy(busy, 555, 5).unwrap();
    node.mine_every_requests(3);
    let out = client.balances(&[q(busy)], at).await;
    node.stop_arrivals();
    assert_eq!(sats(&out)[0], Ok(node.balance(busy, Some(h)).unwrap()));
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
