//! The batch engine end to end: mixed Aptos, Ethereum and Bitcoin queries against the devnet,
//! with faults switched on, pinned at latest or at a time.

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use proptest::prelude::*;
use tokbal::amb::AmbCredentials;
use tokbal::retry::RetryPolicy;
use tokbal::{At, Client, ClientBuilder, ErrorKind, Network, Query};
use tokbal_devnet::{Devnet, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY};

const APT: &str = "0x1::aptos_coin::AptosCoin";
const FA: &str = "0xfa";
const ETH: &str = "ETHEREUM_MAINNET";
const ERC20: &str = "0x00000000000000000000000000000000000000c2";
const T0: i64 = 1_767_225_600;

/// What a query asks, in the devnet's own terms, to compute the expected answer.
#[derive(Clone, Debug)]
enum Expect {
    Aptos {
        owner: String,
        asset: &'static str,
    },
    Amb {
        owner: String,
        contract: Option<&'static str>,
        token: Option<&'static str>,
    },
}

fn aptos_owner(i: usize) -> String {
    format!("0x{:x}", 0x1000 + i)
}

fn eth_owner(i: usize) -> String {
    format!("0x{:040x}", 0x2000 + i)
}

/// A devnet whose Aptos owners hold APT and a fungible asset with a history of changes, and
/// whose Ethereum owners hold ETH and an ERC-20 balance above 2^128, also with history.
async fn seeded(owners: usize) -> Devnet {
    let net = Devnet::builder().start().await.unwrap();
    let tip = net.aptos().tip_version();
    for i in 0..owners {
        let o = aptos_owner(i);
        for (k, v) in [(tip / 4, 10), (tip / 2, 20), (tip - 5, 30)] {
            net.aptos()
                .set_balance_at(&o, APT, k, (v * 1000 + i) as u64)
                .unwrap();
            net.aptos()
                .set_balance_at(&o, FA, k + 1, (v + i) as u64)
                .unwrap();
        }
        let e = eth_owner(i);
        for (dt, v) in [(0, 1u128), (600, 2), (1200, 3)] {
            let eth = (v * 1_000_000_000_000_000_000 + i as u128).to_string();
            net.amb()
                .set_balance(ETH, &e, None, Some("eth"), T0 + dt, &eth)
                .unwrap();
            // Above 2^128: a u128 with six more digits appended.
            let big = ((1u128 << 120) * v + i as u128).to_string() + "000000";
            net.amb()
                .set_balance(ETH, &e, Some(ERC20), None, T0 + dt, &big)
                .unwrap();
        }
    }
    net
}

fn builder(net: &Devnet) -> ClientBuilder {
    Client::builder()
        .aptos_url(net.aptos_url())
        .aptos_api_key(None)
        .amb_url(net.amb_url())
        .amb_credentials(Some(AmbCredentials::new(
            TEST_ACCESS_KEY_ID,
            TEST_SECRET_ACCESS_KEY,
            None,
        )))
        .timeout(Duration::from_secs(5))
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(6)
        .with_min_delay(Duration::from_millis(1))
        .with_max_delay(Duration::from_millis(20))
}

/// Query text and what it asks, for the `i`-th pick of a mix.
fn pick(kind: usize, i: usize) -> (String, Expect) {
    match kind % 4 {
        0 => (
            format!("aptos:{}", aptos_owner(i)),
            Expect::Aptos {
                owner: aptos_owner(i),
                asset: APT,
            },
        ),
        1 => (
            format!("aptos:{}/{FA}", aptos_owner(i)),
            Expect::Aptos {
                owner: aptos_owner(i),
                asset: FA,
            },
        ),
        2 => (
            format!("ethereum:{}", eth_owner(i)),
            Expect::Amb {
                owner: eth_owner(i),
                contract: None,
                token: Some("eth"),
            },
        ),
        _ => (
            format!("ethereum:{}/erc20:{ERC20}", eth_owner(i)),
            Expect::Amb {
                owner: eth_owner(i),
                contract: Some(ERC20),
                token: None,
            },
        ),
    }
}

/// The devnet's own answer for `e` at the snapshot the batch reports.
fn truth(net: &Devnet, e: &Expect, version: Option<u64>, at_secs: Option<i64>) -> String {
    match e {
        Expect::Aptos { owner, asset } => net
            .aptos()
            .balance(owner, asset, version)
            .unwrap()
            .to_string(),
        Expect::Amb {
            owner,
            contract,
            token,
        } => {
            let at = at_secs.expect("an AMB instant in the snapshot");
            net.amb()
                .balance_at(ETH, owner, *contract, *token, at)
                .unwrap()
                .balance
        }
    }
}

fn secs(t: std::time::SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test]
async fn a_thousand_mixed_queries_under_faults_come_back_in_order_and_true() {
    let net = seeded(250).await;
    for faults in [net.aptos().faults(), net.amb().faults()] {
        faults.set_retry_after_secs(0);
        faults.throttle_ratio(0.05);
        faults.fail_ratio(0.05, 503);
        faults.drop_ratio(0.03);
    }
    net.aptos().faults().lag_next(20, 3);
    let client = builder(&net)
        .retry_policy(quick_retries())
        .concurrency(32)
        .build()
        .unwrap();
    let (texts, expects): (Vec<String>, Vec<Expect>) =
        (0..1000).map(|i| pick(i, (i * 7) % 250)).unzip();
    let queries: Vec<Query> = texts.iter().map(|t| t.parse().unwrap()).collect();
    let out = client.balances(&queries, At::Latest).await;

    assert_eq!(out.results.len(), 1000);
    let version = out.snapshot.aptos_version(Network::AptosMainnet).unwrap();
    let instant = out.snapshot.instant(Network::EthereumMainnet).map(secs);
    let mut ok = 0;
    for ((text, e), r) in texts.iter().zip(&expects).zip(&out.results) {
        match r {
            Ok(b) => {
                ok += 1;
                assert_eq!(
                    b.amount.to_string(),
                    truth(&net, e, Some(version), instant),
                    "{text}"
                );
                match e {
                    Expect::Aptos { .. } => assert_eq!(b.ledger_version, Some(version), "{text}"),
                    Expect::Amb { .. } => assert_eq!(b.at.map(secs), instant, "{text}"),
                }
            }
            Err(err) => assert!(
                matches!(
                    err.kind(),
                    ErrorKind::Throttled
                        | ErrorKind::Unavailable
                        | ErrorKind::Transport
                        | ErrorKind::NotYetAvailable
                ),
                "{text}: {err:?}"
            ),
        }
    }
    // Retries turn nearly every fault into an answer.
    assert!(ok >= 990, "only {ok} of 1000 answered");
    let faults = net.aptos().faults().counts();
    assert!(
        faults.throttled + faults.failed + faults.dropped > 0,
        "faults were on: {faults:?}"
    );
}

#[tokio::test]
async fn a_batch_pinned_at_a_time_reads_both_chains_as_of_then() {
    let net = seeded(10).await;
    let client = builder(&net)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    // 15 minutes after T0: after the first AMB change (600 s), before the second (1200 s).
    let t = UNIX_EPOCH + Duration::from_secs((T0 + 900) as u64);
    let (texts, expects): (Vec<String>, Vec<Expect>) = (0..40).map(|i| pick(i, i % 10)).unzip();
    let queries: Vec<Query> = texts.iter().map(|s| s.parse().unwrap()).collect();
    let out = client.balances(&queries, At::Time(t)).await;
    let version = out.snapshot.aptos_version(Network::AptosMainnet).unwrap();
    let micros = (T0 as u64 + 900) * 1_000_000;
    assert_eq!(Some(version), net.aptos().version_at_time(micros));
    assert_eq!(out.snapshot.instant(Network::EthereumMainnet), Some(t));
    for ((text, e), r) in texts.iter().zip(&expects).zip(&out.results) {
        let b = r.as_ref().unwrap_or_else(|err| panic!("{text}: {err}"));
        assert_eq!(
            b.amount.to_string(),
            truth(&net, e, Some(version), Some(T0 + 900)),
            "{text}"
        );
    }
}

#[tokio::test]
async fn duplicates_across_back_ends_cost_one_request_each() {
    let net = seeded(5).await;
    let client = builder(&net)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    net.aptos().reset_requests();
    net.amb().reset_requests();
    let texts: Vec<String> = (0..60).map(|i| pick(i, i % 5).0).collect();
    let queries: Vec<Query> = texts.iter().map(|s| s.parse().unwrap()).collect();
    let out = client.balances(&queries, At::Latest).await;
    assert!(out.results.iter().all(Result::is_ok));
    assert_eq!(net.aptos().requests().balance, 10, "5 owners x 2 assets");
    assert_eq!(net.amb().requests().items, 10, "5 owners x 2 tokens");
    assert_eq!(net.amb().requests().calls, 1);
}

#[tokio::test]
async fn the_stream_yields_every_tag_once_with_the_same_answers() {
    use futures::StreamExt;
    let net = seeded(20).await;
    let client = builder(&net)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let texts: Vec<String> = (0..200).map(|i| pick(i, i % 20).0).collect();
    let tagged = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (i, t.parse::<Query>()));
    let mut stream =
        client.balances_stream_tagged(tagged, At::AptosVersion(net.aptos().tip_version()));
    let mut seen: HashMap<usize, String> = HashMap::new();
    while let Some((i, r)) = stream.next().await {
        assert!(
            seen.insert(i, r.unwrap().amount.to_string()).is_none(),
            "tag {i} twice"
        );
    }
    assert_eq!(seen.len(), 200);
    let queries: Vec<Query> = texts.iter().map(|s| s.parse().unwrap()).collect();
    let batch = client
        .balances(&queries, At::AptosVersion(net.aptos().tip_version()))
        .await;
    for (i, r) in batch.results.iter().enumerate() {
        assert_eq!(&r.as_ref().unwrap().amount.to_string(), &seen[&i]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Any mix, any size, any duplicates: one result per query, in order, each the truth.
    #[test]
    fn any_mix_comes_back_whole_and_in_order(
        picks in prop::collection::vec((0usize..4, 0usize..8), 0..120),
        concurrency in 1usize..20,
    ) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let net = seeded(8).await;
            let client = builder(&net)
                .retry_policy(RetryPolicy::none())
                .concurrency(concurrency)
                .build()
                .unwrap();
            let (texts, expects): (Vec<String>, Vec<Expect>) =
                picks.iter().map(|&(k, i)| pick(k, i)).unzip();
            let queries: Vec<Query> = texts.iter().map(|s| s.parse().unwrap()).collect();
            let out = client.balances(&queries, At::Latest).await;
            prop_assert_eq!(out.results.len(), queries.len());
            let version = out.snapshot.aptos_version(Network::AptosMainnet);
            let instant = out.snapshot.instant(Network::EthereumMainnet).map(secs);
            for ((text, e), r) in texts.iter().zip(&expects).zip(&out.results) {
                let b = r.as_ref().map_err(|err| TestCaseError::fail(format!("{text}: {err}")))?;
                prop_assert_eq!(b.amount.to_string(), truth(&net, e, version, instant), "{}", text);
            }
            Ok(())
        })?;
    }
}
