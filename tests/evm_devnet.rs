//! The EVM source against the devnet's JSON-RPC node: request counts, the Multicall3 and
//! batch paths, every error path, faults, reorgs and time pins.

use std::time::{Duration, UNIX_EPOCH};

use ruint::aliases::U256;
use tokbal::retry::RetryPolicy;
use tokbal::{At, Client, ErrorKind, Network, Query};
use tokbal_devnet::{
    BatchLimitStyle, Devnet, ThrottleStyle, EVM_REVERTING_CONTRACT, EVM_SHORT_RETURN_CONTRACT,
};

const TOKEN: &str = "0x00000000000000000000000000000000000020c0";
const NFT: &str = "0x0000000000000000000000000000000000000721";
const MULTI: &str = "0x0000000000000000000000000000000000001155";
const NO_CODE: &str = "0x000000000000000000000000000000000000dead";

fn owner(i: u64) -> String {
    format!("0x{:040x}", 0xa000 + i)
}

fn quick() -> RetryPolicy {
    RetryPolicy::default()
        .with_min_delay(Duration::from_millis(5))
        .with_max_delay(Duration::from_millis(20))
}

fn client(net: &Devnet, k: usize) -> Client {
    Client::builder()
        .endpoint(Network::EthereumMainnet, net.evm_url())
        .evm_calls_per_request(k)
        .retry_policy(quick())
        .build()
        .unwrap()
}

fn parse(texts: &[String]) -> Vec<Query> {
    texts.iter().map(|t| t.parse().unwrap()).collect()
}

/// A node where owner(i) holds i wei, i^2 of TOKEN, NFT item i, and 2^130 + i of MULTI id 5.
async fn seeded(owners: u64) -> Devnet {
    let net = Devnet::builder()
        .evm_initial_blocks(1_000)
        .start()
        .await
        .unwrap();
    let evm = net.evm();
    evm.deploy_erc20(TOKEN).unwrap();
    evm.deploy_erc721(NFT).unwrap();
    evm.deploy_erc1155(MULTI).unwrap();
    for i in 1..=owners {
        let o = owner(i);
        evm.set_native_balance(&o, U256::from(i)).unwrap();
        evm.set_erc20_balance(TOKEN, &o, U256::from(i * i)).unwrap();
        evm.set_erc721_owner(NFT, U256::from(i), Some(o.as_str()))
            .unwrap();
        evm.set_erc1155_balance(
            MULTI,
            &o,
            U256::from(5),
            (U256::from(1u8) << 130usize) + U256::from(i),
        )
        .unwrap();
    }
    evm.mine(1);
    net.evm().reset_requests();
    net
}

fn queries_for(owners: u64) -> Vec<String> {
    (1..=owners)
        .flat_map(|i| {
            let o = owner(i);
            [
                format!("ethereum:{o}"),
                format!("ethereum:{o}/erc20:{TOKEN}"),
                format!("ethereum:{o}/erc721:{NFT}:{i}"),
                format!("ethereum:{o}/erc721:{NFT}"),
                format!("ethereum:{o}/erc1155:{MULTI}:5"),
            ]
        })
        .collect()
}

fn expected(owners: u64) -> Vec<String> {
    (1..=owners)
        .flat_map(|i| {
            [
                i.to_string(),
                (i * i).to_string(),
                "1".to_string(),
                "1".to_string(),
                ((U256::from(1u8) << 130usize) + U256::from(i)).to_string(),
            ]
        })
        .collect()
}

fn amounts(out: &tokbal::BatchOutput) -> Vec<String> {
    out.results
        .iter()
        .map(|r| match r {
            Ok(b) => b.amount.to_string(),
            Err(e) => format!("error {}: {e}", e.kind()),
        })
        .collect()
}

#[tokio::test]
async fn every_token_kind_in_pin_plus_chain_check_plus_one_call_per_k_reads() {
    let net = seeded(30).await;
    let texts = queries_for(30);
    let out = client(&net, 40).balances(&parse(&texts), At::Latest).await;
    assert_eq!(amounts(&out), expected(30));
    let tip = net.evm().tip();
    assert_eq!(out.snapshot.block(Network::EthereumMainnet), Some(tip));
    assert!(out
        .results
        .iter()
        .all(|r| r.as_ref().unwrap().block == Some(tip)));
    let seen = net.evm().requests();
    // One eth_chainId, one block for the pin, then ceil(150 / 40) = 4 aggregate3 calls.
    assert_eq!(
        (seen.chain_id, seen.get_block_by_number, seen.call),
        (1, 1, 4),
        "{seen:?}"
    );
    // The chain id check and the pin go in one JSON-RPC batch: 1 + 4 HTTP requests.
    assert_eq!((seen.http, seen.batches), (5, 1), "{seen:?}");
    assert_eq!(seen.inner_calls, 150);
    // Every read carries the gas limit, 2^24 (the devnet keeps the first 8 KiB of params).
    let calls = net.evm().seen_calls();
    let reads: Vec<_> = calls.iter().filter(|c| c.method == "eth_call").collect();
    assert_eq!(reads.len(), 4);
    assert!(reads
        .iter()
        .all(|c| c.params.contains("\"gas\":\"0x1000000\"")));
    // A read small enough to be kept whole shows the block named by hash (EIP-1898).
    net.evm().reset_requests();
    let hash = net.evm().block(tip).hash;
    let one = parse(&[format!("ethereum:{}", owner(1))]);
    let out = client(&net, 40).balances(&one, At::Latest).await;
    assert!(out.results[0].is_ok());
    let calls = net.evm().seen_calls();
    let read = calls.iter().find(|c| c.method == "eth_call").unwrap();
    let by_hash = format!("{{\"blockHash\":\"{hash}\",\"requireCanonical\":true}}");
    assert!(read.params.contains(&by_hash), "{}", read.params);
}

#[tokio::test]
async fn without_multicall3_the_same_reads_go_as_batches_smaller_when_refused() {
    for style in [
        BatchLimitStyle::SingleError,
        BatchLimitStyle::GethArray,
        BatchLimitStyle::Http413,
    ] {
        let net = seeded(12).await;
        net.evm().set_multicall3(None);
        net.evm().set_max_batch_size(Some(7));
        net.evm().set_batch_limit_style(style);
        let texts = queries_for(12);
        let out = Client::builder()
            .endpoint(Network::EthereumMainnet, net.evm_url())
            .evm_batch_size(20)
            .retry_policy(quick())
            .build()
            .unwrap()
            .balances(&parse(&texts), At::Latest)
            .await;
        assert_eq!(amounts(&out), expected(12), "{style:?}");
        // Refused batches were split until they fit, and no call went to Multicall3.
        let seen = net.evm().requests();
        assert!(seen.batches >= 60_u64.div_ceil(7), "{style:?}: {seen:?}");
        assert_eq!(seen.inner_calls, 0, "{style:?}: {seen:?}");
    }
}

#[tokio::test]
async fn no_code_reverts_and_short_answers_are_errors_and_spare_the_rest() {
    let net = seeded(2).await;
    let o = owner(1);
    let texts = vec![
        format!("ethereum:{o}/erc20:{NO_CODE}"),
        format!("ethereum:{o}/erc20:{EVM_REVERTING_CONTRACT}"),
        format!("ethereum:{o}/erc20:{EVM_SHORT_RETURN_CONTRACT}"),
        format!("ethereum:{o}/erc20:{TOKEN}"),
        // ownerOf on a nonexistent item reverts: nobody holds it, so 0.
        format!("ethereum:{o}/erc721:{NFT}:999"),
        // The null address is an ordinary owner on EVM chains.
        format!("ethereum:0x0000000000000000000000000000000000000000/erc20:{TOKEN}"),
    ];
    for multicall in [true, false] {
        net.evm().set_multicall3(multicall.then_some(0));
        let out = client(&net, 100).balances(&parse(&texts), At::Latest).await;
        let r = &out.results;
        assert_eq!(
            r[0].as_ref().unwrap_err().kind(),
            ErrorKind::NotFound,
            "{multicall}"
        );
        let revert = r[1].as_ref().unwrap_err();
        assert_eq!(revert.code(), Some("execution_reverted"));
        assert!(
            revert.to_string().contains("tokbal devnet: reverted"),
            "{revert}"
        );
        assert_eq!(
            r[2].as_ref().unwrap_err().kind(),
            ErrorKind::Decode,
            "{multicall}"
        );
        assert_eq!(r[3].as_ref().unwrap().amount.to_u64(), Some(1));
        assert_eq!(r[4].as_ref().unwrap().amount.to_u64(), Some(0));
        assert_eq!(r[5].as_ref().unwrap().amount.to_u64(), Some(0));
    }
}

#[tokio::test]
async fn a_wrong_chain_id_fails_every_query_of_the_network_and_reads_nothing() {
    let net = Devnet::builder().evm_chain_id(31337).start().await.unwrap();
    let out = Client::builder()
        .endpoint(Network::Base, net.evm_url())
        .build()
        .unwrap()
        .balances(
            &parse(&[format!("base:{}", owner(1)), format!("base:{}", owner(2))]),
            At::Latest,
        )
        .await;
    for r in &out.results {
        let e = r.as_ref().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.code(), Some("wrong_chain_id"));
        assert!(
            e.to_string().contains("31337") && e.to_string().contains("8453"),
            "{e}"
        );
    }
    let seen = net.evm().requests();
    assert_eq!(
        (seen.chain_id, seen.call, seen.get_balance),
        (1, 0, 0),
        "{seen:?}"
    );
    // evm-31337 is the right network for it.
    let out = Client::builder()
        .endpoint(Network::Evm(31337), net.evm_url())
        .build()
        .unwrap()
        .balances(&parse(&[format!("evm-31337:{}", owner(1))]), At::Latest)
        .await;
    assert!(out.results[0].is_ok(), "{:?}", out.results[0]);
}

#[tokio::test]
async fn throttling_lag_and_cut_connections_are_retried_into_exact_answers() {
    let net = seeded(10).await;
    let texts = queries_for(10);
    for style in [ThrottleStyle::Http429, ThrottleStyle::JsonRpc] {
        net.evm().set_throttle_style(style);
        net.evm().faults().set_retry_after_secs(0);
        net.evm().faults().throttle_next(2);
        let out = client(&net, 7).balances(&parse(&texts), At::Latest).await;
        assert_eq!(amounts(&out), expected(10), "{style:?}");
    }
    net.evm().faults().drop_next(2);
    let out = client(&net, 7).balances(&parse(&texts), At::Latest).await;
    assert_eq!(amounts(&out), expected(10));
}

#[tokio::test]
async fn a_replica_behind_the_pin_is_waited_for() {
    use futures::StreamExt;
    let net = seeded(10).await;
    let texts = queries_for(10);
    let client = Client::builder()
        .endpoint(Network::EthereumMainnet, net.evm_url())
        .evm_calls_per_request(10)
        .concurrency(1)
        .retry_policy(quick())
        .build()
        .unwrap();
    let mut stream = client.balances_stream(parse(&texts), At::Latest);
    let mut got = vec![stream.next().await.unwrap()];
    // Pinned and read once; now the next two requests meet a replica 5 blocks behind, which
    // does not know the pinned block yet: retried as not_yet_available, then answered.
    net.evm().faults().lag_next(2, 5);
    got.extend(stream.collect::<Vec<_>>().await);
    got.sort_by_key(|(i, _)| *i);
    let amounts: Vec<String> = got
        .iter()
        .map(|(_, r)| match r {
            Ok(b) => b.amount.to_string(),
            Err(e) => e.to_string(),
        })
        .collect();
    assert_eq!(amounts, expected(10));
    assert_eq!(net.evm().faults().counts().lagged, 2);
}

#[tokio::test]
async fn pruned_state_says_an_archive_node_is_needed() {
    let net = seeded(1).await;
    let evm = net.evm();
    let t0 = evm.block(10).timestamp;
    evm.prune_before(evm.tip() - 10);
    let at = At::Time(UNIX_EPOCH + Duration::from_secs(t0));
    let out = client(&net, 10)
        .balances(&parse(&[format!("ethereum:{}", owner(1))]), at)
        .await;
    let e = out.results[0].as_ref().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Pruned, "{e}");
    assert!(e.to_string().contains("archive node"), "{e}");
}

#[tokio::test]
async fn a_time_pin_finds_the_block_of_that_instant_in_few_requests() {
    let net = Devnet::builder()
        .evm_initial_blocks(20_000_000)
        .start()
        .await
        .unwrap();
    let evm = net.evm();
    let o = owner(1);
    evm.deploy_erc20(TOKEN).unwrap();
    evm.set_erc20_balance(TOKEN, &o, U256::from(7)).unwrap();
    evm.mine(10);
    // Writes take effect at the next block.
    let changed = evm.tip() + 1;
    evm.set_erc20_balance(TOKEN, &o, U256::from(9)).unwrap();
    evm.mine(10);
    let q = parse(&[format!("ethereum:{o}/erc20:{TOKEN}")]);
    let client = client(&net, 10);
    // Long before the token existed, its contract had no code: not_found, never 0.
    for (height, want) in [
        (changed - 1, Some(7u64)),
        (changed, Some(9)),
        (12_345_678, None),
    ] {
        evm.reset_requests();
        let t = evm.block(height).timestamp;
        // An instant inside the block's 12 seconds reads that block.
        let at = UNIX_EPOCH + Duration::from_secs(t + 5);
        let out = client.balances(&q, At::Time(at)).await;
        assert_eq!(out.snapshot.block(Network::EthereumMainnet), Some(height));
        match (&out.results[0], want) {
            (Ok(b), Some(want)) => assert_eq!(b.amount.to_u64(), Some(want)),
            (Err(e), None) => assert_eq!(e.kind(), ErrorKind::NotFound),
            (other, _) => panic!("at {height}: {other:?}"),
        }
        let blocks = evm.requests().get_block_by_number;
        assert!(
            blocks <= 8 + 1,
            "{blocks} block requests for one pin (8 + the tip)"
        );
    }
    // Past the tip: the tip, marked so. Before the first block: an error.
    let far = UNIX_EPOCH + Duration::from_secs(evm.block(evm.tip()).timestamp + 3_600);
    let out = client.balances(&q, At::Time(far)).await;
    let (_, snap) = out.snapshot.networks().next().unwrap();
    assert!(snap.at_tip);
    assert_eq!(snap.block, Some(evm.tip()));
    let early = UNIX_EPOCH + Duration::from_secs(evm.block(0).timestamp - 1);
    let out = client.balances(&q, At::Time(early)).await;
    assert_eq!(
        out.results[0].as_ref().unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[tokio::test]
async fn a_reorg_during_the_batch_is_named_never_mixed() {
    use futures::StreamExt;
    let net = seeded(3).await;
    let q = parse(&queries_for(3));
    // One group of 5 at a time, so that the reorg lands between the first group and the rest.
    let client = Client::builder()
        .endpoint(Network::EthereumMainnet, net.evm_url())
        .evm_calls_per_request(5)
        .concurrency(1)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let tip = net.evm().tip();
    let pinned_hash = net.evm().block(tip).hash;
    let mut stream = client.balances_stream(q, At::Latest);
    let mut results = vec![stream.next().await.unwrap()];
    net.evm().reorg(3);
    while let Some(item) = stream.next().await {
        results.push(item);
    }
    results.sort_by_key(|(i, _)| *i);
    let (first_group, rest) = results.split_at(5);
    // The first group was read at the pinned block; every later one is an error naming the
    // reorganization: never a balance from the new chain under the old block's name.
    assert!(first_group.iter().all(|(_, r)| r.is_ok()));
    for (_, r) in rest {
        let e = r.as_ref().unwrap_err();
        assert_eq!(e.code(), Some("reorged"), "{e}");
        assert!(e.to_string().contains(&tip.to_string()), "{e}");
    }
    let (_, snap) = stream
        .snapshot()
        .networks()
        .next()
        .map(|(n, s)| (n, s.clone()))
        .unwrap();
    assert_eq!(snap.block_hash.as_deref(), Some(pinned_hash.as_str()));
}
