//! The in-process AMB Query endpoint, exercised with the real `aws-sdk-managedblockchainquery`
//! (and, for what the SDK cannot send, raw requests) over HTTP on 127.0.0.1 (offline).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_managedblockchainquery::config::retry::RetryConfig;
use aws_sdk_managedblockchainquery::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_managedblockchainquery::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_managedblockchainquery::operation::batch_get_token_balance::{
    BatchGetTokenBalanceError, BatchGetTokenBalanceOutput,
};
use aws_sdk_managedblockchainquery::primitives::DateTime;
use aws_sdk_managedblockchainquery::types::{
    BatchGetTokenBalanceErrorItem, BatchGetTokenBalanceInputItem, BlockchainInstant, ErrorType,
    OwnerIdentifier, QueryNetwork, TokenIdentifier, ValidationExceptionReason,
};
use aws_sdk_managedblockchainquery::Client;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use serde_json::{json, Value};
use tokbal_devnet::{
    Devnet, DEMO_BTC_ADDRESS, DEMO_ERC1155_CONTRACT, DEMO_ERC1155_TOKEN_ID, DEMO_ERC20_CONTRACT,
    DEMO_ERC721_CONTRACT, DEMO_ERC721_TOKEN_ID, DEMO_ETH_OWNER, DEMO_ETH_OWNER_2,
    TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY,
};

/// 2026-01-01T00:00:00Z, where the demo data starts.
const G: i64 = 1_767_225_600;
const H: i64 = 3_600;
const ETH: &str = "ETHEREUM_MAINNET";
const BTC: &str = "BITCOIN_MAINNET";
const U256_MAX: &str =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

type SdkResult =
    Result<BatchGetTokenBalanceOutput, SdkError<BatchGetTokenBalanceError, HttpResponse>>;

async fn demo() -> Devnet {
    Devnet::builder()
        .initial_blocks(10)
        .with_demo_data()
        .start()
        .await
        .expect("devnet starts")
}

fn sdk_with(devnet: &Devnet, key_id: &str, secret: &str) -> Client {
    let config = aws_sdk_managedblockchainquery::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(devnet.amb_url())
        .credentials_provider(Credentials::new(key_id, secret, None, None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

fn sdk(devnet: &Devnet) -> Client {
    sdk_with(devnet, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY)
}

fn item(
    network: &str,
    owner: &str,
    contract: Option<&str>,
    token_id: Option<&str>,
    at: Option<i64>,
) -> BatchGetTokenBalanceInputItem {
    BatchGetTokenBalanceInputItem::builder()
        .token_identifier(
            TokenIdentifier::builder()
                .network(QueryNetwork::from(network))
                .set_contract_address(contract.map(str::to_owned))
                .set_token_id(token_id.map(str::to_owned))
                .build()
                .expect("token identifier"),
        )
        .owner_identifier(
            OwnerIdentifier::builder()
                .address(owner)
                .build()
                .expect("owner identifier"),
        )
        .set_at_blockchain_instant(at.map(|t| {
            BlockchainInstant::builder()
                .time(DateTime::from_secs(t))
                .build()
        }))
        .build()
}

async fn call(client: &Client, items: Vec<BatchGetTokenBalanceInputItem>) -> SdkResult {
    client
        .batch_get_token_balance()
        .set_get_token_balance_inputs(Some(items))
        .send()
        .await
}

fn eth_now(owner: &str) -> BatchGetTokenBalanceInputItem {
    item(ETH, owner, None, Some("eth"), None)
}

fn secs(t: Option<&BlockchainInstant>) -> Option<i64> {
    t.and_then(|i| i.time()).map(|d| d.secs())
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// The service error of a failed call, with the HTTP status it came with.
fn service_error(r: SdkResult) -> (BatchGetTokenBalanceError, u16) {
    match r {
        Err(SdkError::ServiceError(ctx)) => {
            let status = ctx.raw().status().as_u16();
            (ctx.into_err(), status)
        }
        Err(other) => panic!("expected a service error, got {other:?}"),
        Ok(out) => panic!("expected a service error, got {out:?}"),
    }
}

fn error_item<'a>(
    out: &'a BatchGetTokenBalanceOutput,
    owner: &str,
) -> &'a BatchGetTokenBalanceErrorItem {
    out.errors()
        .iter()
        .find(|e| e.owner_identifier().map(|o| o.address()) == Some(owner))
        .unwrap_or_else(|| panic!("no error item for {owner}: {out:?}"))
}

#[tokio::test]
async fn mixed_batch_reads_every_kind_of_token_now() {
    let devnet = demo().await;
    let client = sdk(&devnet);
    let before = now_secs();
    let out = call(
        &client,
        vec![
            eth_now(DEMO_ETH_OWNER),
            item(ETH, DEMO_ETH_OWNER, Some(DEMO_ERC20_CONTRACT), None, None),
            item(
                ETH,
                DEMO_ETH_OWNER,
                Some(DEMO_ERC721_CONTRACT),
                Some(DEMO_ERC721_TOKEN_ID),
                None,
            ),
            item(
                ETH,
                DEMO_ETH_OWNER_2,
                Some(DEMO_ERC1155_CONTRACT),
                Some(DEMO_ERC1155_TOKEN_ID),
                None,
            ),
            item(BTC, DEMO_BTC_ADDRESS, None, Some("btc"), None),
            item(ETH, DEMO_ETH_OWNER_2, Some(DEMO_ERC20_CONTRACT), None, None),
        ],
    )
    .await
    .expect("the call succeeds");
    let after = now_secs();
    assert!(out.errors().is_empty(), "{:?}", out.errors());
    let got: Vec<(&str, Option<&str>, &str, Option<i64>)> = out
        .token_balances()
        .iter()
        .map(|b| {
            let owner = b.owner_identifier().expect("owner echoed").address();
            let token = b.token_identifier().expect("token echoed");
            (
                owner,
                token.contract_address(),
                b.balance(),
                secs(b.last_updated_time()),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                DEMO_ETH_OWNER,
                None,
                "12500000000000000000",
                Some(G + 3 * H)
            ),
            (
                DEMO_ETH_OWNER,
                Some(DEMO_ERC20_CONTRACT),
                "340282366920938463463374607431768211457",
                Some(G + 3 * H / 2)
            ),
            (
                DEMO_ETH_OWNER,
                Some(DEMO_ERC721_CONTRACT),
                "1",
                Some(G + 2 * H)
            ),
            (
                DEMO_ETH_OWNER_2,
                Some(DEMO_ERC1155_CONTRACT),
                "250",
                Some(G + 5 * H / 2)
            ),
            (DEMO_BTC_ADDRESS, None, "98765432", Some(G + 3 * H)),
            (
                DEMO_ETH_OWNER_2,
                Some(DEMO_ERC20_CONTRACT),
                U256_MAX,
                Some(G + 4 * H)
            ),
        ]
    );
    for b in out.token_balances() {
        let at = secs(b.at_blockchain_instant()).expect("atBlockchainInstant");
        assert!(
            (before..=after).contains(&at),
            "{at} not in {before}..={after}"
        );
    }
    let native = out.token_balances()[4].token_identifier().expect("token");
    assert_eq!(
        (native.network(), native.token_id()),
        (&QueryNetwork::BitcoinMainnet, Some("btc"))
    );

    let counts = devnet.amb().requests();
    assert_eq!((counts.calls, counts.items, counts.refused_auth), (1, 6, 0));
    let seen = devnet.amb().seen_calls();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].authenticated);
    assert_eq!(seen[0].items[4].owner, DEMO_BTC_ADDRESS);
    assert_eq!(seen[0].items[0].at_epoch_secs, None);
    assert!(seen[0].signed_headers.iter().any(|h| h == "host"));
    devnet.amb().reset_requests();
    assert_eq!(devnet.amb().requests().calls, 0);
    assert!(devnet.amb().seen_bodies().is_empty());
}

#[tokio::test]
async fn historical_reads_see_the_last_change_at_or_before_the_instant() {
    let devnet = demo().await;
    let client = sdk(&devnet);
    let nft = |owner, at| {
        item(
            ETH,
            owner,
            Some(DEMO_ERC721_CONTRACT),
            Some(DEMO_ERC721_TOKEN_ID),
            Some(at),
        )
    };
    let out = call(
        &client,
        vec![
            item(ETH, DEMO_ETH_OWNER, None, Some("eth"), Some(G - 1)),
            item(ETH, DEMO_ETH_OWNER, None, Some("eth"), Some(G)),
            item(ETH, DEMO_ETH_OWNER, None, Some("eth"), Some(G + H - 1)),
            item(ETH, DEMO_ETH_OWNER, None, Some("eth"), Some(G + H)),
            nft(DEMO_ETH_OWNER_2, G + H),
            nft(DEMO_ETH_OWNER_2, G + 2 * H),
            nft(DEMO_ETH_OWNER, G + H),
            item(BTC, DEMO_BTC_ADDRESS, None, Some("btc"), Some(G + 2 * H)),
        ],
    )
    .await
    .expect("the call succeeds");
    assert!(out.errors().is_empty(), "{:?}", out.errors());
    let got: Vec<(&str, Option<i64>, Option<i64>)> = out
        .token_balances()
        .iter()
        .map(|b| {
            (
                b.balance(),
                secs(b.at_blockchain_instant()),
                secs(b.last_updated_time()),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("0", Some(G - 1), None),
            ("5000000000000000000", Some(G), Some(G)),
            ("5000000000000000000", Some(G + H - 1), Some(G)),
            ("4200000000000000000", Some(G + H), Some(G + H)),
            ("1", Some(G + H), Some(G + H / 3)),
            ("0", Some(G + 2 * H), Some(G + 2 * H)),
            ("0", Some(G + H), None),
            ("150000000", Some(G + 2 * H), Some(G)),
        ]
    );

    // Sub-second instants are read at the second; the node's own view agrees.
    let out = call(
        &client,
        vec![BatchGetTokenBalanceInputItem::builder()
            .token_identifier(
                TokenIdentifier::builder()
                    .network(QueryNetwork::EthereumMainnet)
                    .token_id("eth")
                    .build()
                    .expect("token"),
            )
            .owner_identifier(
                OwnerIdentifier::builder()
                    .address(DEMO_ETH_OWNER_2)
                    .build()
                    .expect("owner"),
            )
            .at_blockchain_instant(
                BlockchainInstant::builder()
                    .time(DateTime::from_fractional_secs(G + 2 * H - 1, 0.75))
                    .build(),
            )
            .build()],
    )
    .await
    .expect("the call succeeds");
    let b = &out.token_balances()[0];
    assert_eq!(secs(b.at_blockchain_instant()), Some(G + 2 * H - 1));
    assert_eq!(b.balance(), "1000000000000000000");
    let node = devnet
        .amb()
        .balance_at(ETH, DEMO_ETH_OWNER_2, None, Some("eth"), G + 2 * H - 1)
        .expect("valid");
    assert_eq!(
        (node.balance.as_str(), node.last_updated_secs),
        ("1000000000000000000", Some(G + H / 2))
    );
}

#[tokio::test]
async fn set_balance_and_a_fixed_clock() {
    let devnet = Devnet::builder()
        .initial_blocks(10)
        .start()
        .await
        .expect("devnet starts");
    let amb = devnet.amb();
    let owner = "0xAbCdEf0123456789aBcDeF0123456789ABCDEF01";
    amb.set_balance(
        "ETHEREUM_SEPOLIA_TESTNET",
        owner,
        None,
        Some("eth"),
        1_000,
        "7",
    )
    .expect("valid");
    amb.set_clock(Some(1_500));
    assert_eq!(amb.now_secs(), 1_500);
    let out = call(
        &sdk(&devnet),
        vec![
            item(
                "ETHEREUM_SEPOLIA_TESTNET",
                &owner.to_lowercase(),
                None,
                Some("eth"),
                None,
            ),
            item(ETH, &owner.to_lowercase(), None, Some("eth"), None),
            item(
                "ETHEREUM_SEPOLIA_TESTNET",
                owner,
                None,
                Some("eth"),
                Some(1_501),
            ),
        ],
    )
    .await
    .expect("the call succeeds");
    let b = &out.token_balances()[0];
    assert_eq!(
        (b.balance(), secs(b.at_blockchain_instant())),
        ("7", Some(1_500))
    );
    assert_eq!(out.token_balances()[1].balance(), "0", "another network");
    assert_eq!(out.errors()[0].error_code(), "InvalidBlockchainInstant");

    for (network, owner, contract, token_id, balance) in [
        ("SOLANA_MAINNET", owner, None, Some("eth"), "1"),
        (ETH, "0x12", None, Some("eth"), "1"),
        (ETH, owner, None, Some("btc"), "1"),
        (ETH, owner, None, Some("eth"), "-1"),
        (ETH, owner, None, Some("eth"), "0x10"),
        (ETH, owner, None, Some("eth"), &format!("{U256_MAX}0")),
        (BTC, DEMO_BTC_ADDRESS, Some(DEMO_ERC20_CONTRACT), None, "1"),
    ] {
        assert!(
            amb.set_balance(network, owner, contract, token_id, 0, balance)
                .is_err(),
            "{network} {owner} {contract:?} {token_id:?} {balance}"
        );
    }
    amb.set_balance(ETH, owner, None, Some("eth"), 0, U256_MAX)
        .expect("2^256 - 1 fits");
}

#[tokio::test]
async fn batch_sizes_outside_one_to_ten_are_validation_exceptions() {
    let devnet = demo().await;
    let client = sdk(&devnet);
    let eleven: Vec<_> = (0..11).map(|_| eth_now(DEMO_ETH_OWNER)).collect();
    let (err, status) = service_error(call(&client, eleven).await);
    assert_eq!(status, 400);
    let BatchGetTokenBalanceError::ValidationException(v) = err else {
        panic!("expected ValidationException, got {err:?}");
    };
    assert_eq!(
        v.reason(),
        &ValidationExceptionReason::FieldValidationFailed
    );
    assert_eq!(v.field_list()[0].name(), "getTokenBalanceInputs");
    assert!(
        v.message().contains("less than or equal to 10"),
        "{}",
        v.message()
    );

    let (err, _) = service_error(call(&client, Vec::new()).await);
    assert!(err.is_validation_exception(), "{err:?}");
    let (err, _) = service_error(client.batch_get_token_balance().send().await);
    let BatchGetTokenBalanceError::ValidationException(v) = err else {
        panic!("expected ValidationException, got {err:?}");
    };
    assert_eq!(v.field_list()[0].name(), "getTokenBalanceInputs");

    let ten: Vec<_> = (0..10).map(|_| eth_now(DEMO_ETH_OWNER)).collect();
    assert_eq!(
        call(&client, ten)
            .await
            .expect("ten is fine")
            .token_balances()
            .len(),
        10
    );
    let counts = devnet.amb().requests();
    assert_eq!((counts.calls, counts.items), (4, 11 + 10));
}

#[tokio::test]
async fn an_unknown_network_fails_the_whole_call() {
    let devnet = demo().await;
    let (err, status) = service_error(
        call(
            &sdk(&devnet),
            vec![
                eth_now(DEMO_ETH_OWNER),
                item("SOLANA_MAINNET", DEMO_ETH_OWNER, None, Some("sol"), None),
            ],
        )
        .await,
    );
    assert_eq!(status, 400);
    let BatchGetTokenBalanceError::ValidationException(v) = err else {
        panic!("expected ValidationException, got {err:?}");
    };
    assert_eq!(
        v.reason(),
        &ValidationExceptionReason::FieldValidationFailed
    );
    assert_eq!(
        v.field_list()[0].name(),
        "getTokenBalanceInputs.2.member.tokenIdentifier.network"
    );
    assert!(v.message().contains("SOLANA_MAINNET"), "{}", v.message());
}

#[tokio::test]
async fn bad_items_fail_alone() {
    let devnet = demo().await;
    let client = sdk(&devnet);
    let unknown_contract = "0x00000000000000000000000000000000deadbeef";
    let owners = [
        "0x0000000000000000000000000000000000000000",
        "0xshort",
        "0x1111111111111111111111111111111111111111",
        "0x2222222222222222222222222222222222222222",
        "0x3333333333333333333333333333333333333333",
        "0x4444444444444444444444444444444444444444",
        "0x5555555555555555555555555555555555555555",
    ];
    let out = call(
        &client,
        vec![
            eth_now(owners[0]),
            eth_now(owners[1]),
            item(ETH, owners[2], None, Some("btc"), None),
            item(
                ETH,
                owners[3],
                Some(DEMO_ERC721_CONTRACT),
                Some("1337"),
                None,
            ),
            item(ETH, owners[4], None, Some("eth"), Some(now_secs() + 3_600)),
            item(ETH, owners[5], Some(unknown_contract), None, None),
            item(ETH, owners[6], Some(DEMO_ERC20_CONTRACT), None, None),
            item(BTC, DEMO_BTC_ADDRESS, None, Some("eth"), None),
        ],
    )
    .await
    .expect("item errors do not fail the call");
    let got: Vec<(&str, &str, &ErrorType)> = out
        .errors()
        .iter()
        .map(|e| {
            (
                e.owner_identifier().expect("owner").address(),
                e.error_code(),
                e.error_type(),
            )
        })
        .collect();
    let v = &ErrorType::ValidationException;
    assert_eq!(
        got,
        vec![
            (owners[0], "InvalidOwnerAddress", v),
            (owners[1], "InvalidOwnerAddress", v),
            (owners[2], "InvalidTokenId", v),
            (owners[3], "InvalidTokenId", v),
            (owners[4], "InvalidBlockchainInstant", v),
            (
                owners[5],
                "ContractNotFound",
                &ErrorType::ResourceNotFoundException
            ),
            (DEMO_BTC_ADDRESS, "InvalidTokenId", v),
        ]
    );
    assert!(error_item(&out, owners[0])
        .error_message()
        .contains("null address"));
    let future = error_item(&out, owners[4]);
    assert!(
        future.at_blockchain_instant().is_some(),
        "the instant is echoed"
    );
    let missing = error_item(&out, owners[5]);
    assert_eq!(
        missing
            .token_identifier()
            .and_then(|t| t.contract_address()),
        Some(unknown_contract)
    );
    // A known contract the owner never held: zero, not an error.
    assert_eq!(out.token_balances().len(), 1);
    let b = &out.token_balances()[0];
    assert_eq!((b.balance(), b.last_updated_time()), ("0", None));
}

#[tokio::test]
async fn the_real_sdk_signature_verifies_and_others_are_refused() {
    let devnet = demo().await;
    call(&sdk(&devnet), vec![eth_now(DEMO_ETH_OWNER)])
        .await
        .expect("the SDK's signature verifies");

    let (err, status) = service_error(
        call(
            &sdk_with(&devnet, TEST_ACCESS_KEY_ID, "not-the-secret"),
            vec![eth_now(DEMO_ETH_OWNER)],
        )
        .await,
    );
    assert_eq!(status, 403);
    assert_eq!(err.code(), Some("InvalidSignatureException"));
    assert!(err
        .message()
        .unwrap_or_default()
        .contains("signature we calculated does not match"));
    assert!(!err.is_access_denied_exception(), "not a modeled exception");

    let (err, status) = service_error(
        call(
            &sdk_with(&devnet, "AKIDSOMEONEELSE", "x"),
            vec![eth_now(DEMO_ETH_OWNER)],
        )
        .await,
    );
    assert_eq!(status, 403);
    assert_eq!(err.code(), Some("UnrecognizedClientException"));

    // Valid keys with a session token the devnet never issued.
    let config = aws_sdk_managedblockchainquery::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(devnet.amb_url())
        .credentials_provider(Credentials::new(
            TEST_ACCESS_KEY_ID,
            TEST_SECRET_ACCESS_KEY,
            Some("token".into()),
            None,
            "test",
        ))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(RetryConfig::disabled())
        .build();
    let (err, _) =
        service_error(call(&Client::from_conf(config), vec![eth_now(DEMO_ETH_OWNER)]).await);
    assert_eq!(err.code(), Some("UnrecognizedClientException"));

    // Another region in the scope: the SDK signs for it, the devnet refuses it.
    let config = aws_sdk_managedblockchainquery::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url(devnet.amb_url())
        .credentials_provider(Credentials::new(
            TEST_ACCESS_KEY_ID,
            TEST_SECRET_ACCESS_KEY,
            None,
            None,
            "test",
        ))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(RetryConfig::disabled())
        .build();
    let (err, _) =
        service_error(call(&Client::from_conf(config), vec![eth_now(DEMO_ETH_OWNER)]).await);
    assert_eq!(err.code(), Some("InvalidSignatureException"));
    assert!(err.message().unwrap_or_default().contains("eu-west-1"));

    // A key added at run time works.
    devnet.amb().add_access_key("AKIDSECOND", "second-secret");
    call(
        &sdk_with(&devnet, "AKIDSECOND", "second-secret"),
        vec![eth_now(DEMO_ETH_OWNER)],
    )
    .await
    .expect("an added key verifies");

    let counts = devnet.amb().requests();
    assert_eq!((counts.calls, counts.refused_auth), (2, 4));
    let seen = devnet.amb().seen_calls();
    assert_eq!(seen.iter().filter(|c| c.authenticated).count(), 2);
}

// ---------------------------------------------------------------------------------------
// Raw requests, for what the SDK never sends
// ---------------------------------------------------------------------------------------

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

/// A request signed as the SDK would sign it, at `time`, with a chosen scope.
fn signed_post(
    devnet: &Devnet,
    path: &str,
    body: &str,
    secret: &str,
    region: &str,
    time: SystemTime,
) -> reqwest::RequestBuilder {
    let url = format!("{}{path}", devnet.amb_url());
    let host = devnet.amb_addr().to_string();
    let identity: Identity =
        Credentials::new(TEST_ACCESS_KEY_ID, secret, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("managedblockchain-query")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .expect("params")
        .into();
    let headers = [
        ("content-type", "application/json"),
        ("host", host.as_str()),
    ];
    let request = SignableRequest::new(
        "POST",
        url.clone(),
        headers.into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .expect("signable");
    let (instructions, _) = sign(request, &params).expect("signed").into_parts();
    let mut req = http()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (name, value) in instructions.headers() {
        req = req.header(name, value);
    }
    req
}

struct Got {
    status: u16,
    error_type: Option<String>,
    retry_after: Option<String>,
    request_id: Option<String>,
    json: Value,
}

async fn got(req: reqwest::RequestBuilder) -> Got {
    let resp = req.send().await.expect("answered");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (error_type, retry_after, request_id) = (
        header("x-amzn-errortype"),
        header("retry-after"),
        header("x-amzn-requestid"),
    );
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    Got {
        status,
        error_type,
        retry_after,
        request_id,
        json: serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
    }
}

fn one_item_body() -> String {
    json!({"getTokenBalanceInputs": [{
        "tokenIdentifier": {"network": "ETHEREUM_MAINNET", "tokenId": "eth"},
        "ownerIdentifier": {"address": DEMO_ETH_OWNER},
        "atBlockchainInstant": {"time": G + H}
    }]})
    .to_string()
}

#[tokio::test]
async fn raw_requests_get_the_answers_aws_gives() {
    let devnet = demo().await;
    let url = format!("{}/batch-get-token-balance", devnet.amb_url());

    let unsigned = got(http().post(&url).body(one_item_body())).await;
    assert_eq!(unsigned.status, 403);
    assert_eq!(
        unsigned.error_type.as_deref(),
        Some("MissingAuthenticationTokenException")
    );
    assert_eq!(
        unsigned.json,
        json!({"message": "Missing Authentication Token"})
    );
    assert!(unsigned.request_id.is_some());

    let half = got(http()
        .post(&url)
        .header("authorization", "AWS4-HMAC-SHA256 Credential=x")
        .body("{}"))
    .await;
    assert_eq!(
        half.error_type.as_deref(),
        Some("IncompleteSignatureException")
    );

    let now = SystemTime::now();
    let ok = got(signed_post(
        &devnet,
        "/batch-get-token-balance",
        &one_item_body(),
        TEST_SECRET_ACCESS_KEY,
        "us-east-1",
        now,
    ))
    .await;
    assert_eq!(ok.status, 200, "{}", ok.json);
    assert_eq!(ok.json["errors"], json!([]));
    assert_eq!(
        ok.json["tokenBalances"][0],
        json!({
            "ownerIdentifier": {"address": DEMO_ETH_OWNER},
            "tokenIdentifier": {"network": "ETHEREUM_MAINNET", "tokenId": "eth"},
            "balance": "4200000000000000000",
            "atBlockchainInstant": {"time": G + H},
            "lastUpdatedTime": {"time": G + H}
        })
    );

    let wrong = got(signed_post(
        &devnet,
        "/batch-get-token-balance",
        &one_item_body(),
        "other",
        "us-east-1",
        now,
    ))
    .await;
    assert_eq!(
        (wrong.status, wrong.error_type.as_deref()),
        (403, Some("InvalidSignatureException"))
    );

    let stale = now - Duration::from_secs(6 * 60);
    let expired = got(signed_post(
        &devnet,
        "/batch-get-token-balance",
        &one_item_body(),
        TEST_SECRET_ACCESS_KEY,
        "us-east-1",
        stale,
    ))
    .await;
    assert_eq!(
        expired.error_type.as_deref(),
        Some("InvalidSignatureException")
    );
    assert!(expired.json["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("Signature expired"));

    let not_json = got(signed_post(
        &devnet,
        "/batch-get-token-balance",
        "{not json",
        TEST_SECRET_ACCESS_KEY,
        "us-east-1",
        now,
    ))
    .await;
    assert_eq!(
        (not_json.status, not_json.error_type.as_deref()),
        (400, Some("ValidationException"))
    );
    assert_eq!(not_json.json["reason"], "cannotParse");

    let wrong_type = json!({"getTokenBalanceInputs": [{
        "tokenIdentifier": {"network": "ETHEREUM_MAINNET", "tokenId": "eth"},
        "ownerIdentifier": {"address": 42}
    }]})
    .to_string();
    let typed = got(signed_post(
        &devnet,
        "/batch-get-token-balance",
        &wrong_type,
        TEST_SECRET_ACCESS_KEY,
        "us-east-1",
        now,
    ))
    .await;
    assert_eq!(typed.json["reason"], "cannotParse");
    assert_eq!(
        typed.json["fieldList"][0]["name"],
        "getTokenBalanceInputs.1.member.ownerIdentifier.address"
    );

    let no_owner =
        json!({"getTokenBalanceInputs": [{"tokenIdentifier": {"network": "BITCOIN_MAINNET"}}]})
            .to_string();
    let missing = got(signed_post(
        &devnet,
        "/batch-get-token-balance",
        &no_owner,
        TEST_SECRET_ACCESS_KEY,
        "us-east-1",
        now,
    ))
    .await;
    assert_eq!(missing.json["reason"], "fieldValidationFailed");
    assert_eq!(
        missing.json["fieldList"][0]["name"],
        "getTokenBalanceInputs.1.member.ownerIdentifier"
    );

    devnet.amb().faults().set_retry_after_secs(3);
    devnet.amb().faults().throttle_next(1);
    let throttled = got(signed_post(
        &devnet,
        "/batch-get-token-balance",
        &one_item_body(),
        TEST_SECRET_ACCESS_KEY,
        "us-east-1",
        now,
    ))
    .await;
    assert_eq!(
        (throttled.status, throttled.error_type.as_deref()),
        (429, Some("ThrottlingException"))
    );
    assert_eq!(throttled.retry_after.as_deref(), Some("3"));
    assert_eq!(throttled.json["serviceCode"], "managedblockchain-query");
    assert!(throttled.json["quotaCode"].is_string() && throttled.json["message"].is_string());
    assert!(ok.retry_after.is_none());

    let elsewhere = got(signed_post(
        &devnet,
        "/get-token-balance",
        "{}",
        TEST_SECRET_ACCESS_KEY,
        "us-east-1",
        now,
    ))
    .await;
    assert_eq!(
        (elsewhere.status, elsewhere.error_type.as_deref()),
        (404, Some("UnknownOperationException"))
    );

    let counts = devnet.amb().requests();
    assert_eq!(counts.total, 10);
    assert_eq!(counts.refused_auth, 4);
    assert_eq!(counts.other, 1);
}

// ---------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn fault_switches_map_to_the_sdk_error_variants() {
    let devnet = demo().await;
    let client = sdk(&devnet);
    let faults = devnet.amb().faults();
    let one = || vec![eth_now(DEMO_ETH_OWNER)];

    faults.set_retry_after_secs(7);
    faults.throttle_next(1);
    let (err, status) = service_error(call(&client, one()).await);
    assert_eq!(status, 429);
    let BatchGetTokenBalanceError::ThrottlingException(t) = err else {
        panic!("expected ThrottlingException, got {err:?}");
    };
    assert_eq!(t.retry_after_seconds(), Some(7));
    assert_eq!(t.service_code(), "managedblockchain-query");
    assert!(!t.quota_code().is_empty());

    faults.fail_next(1, 500);
    let (err, status) = service_error(call(&client, one()).await);
    assert_eq!(status, 500);
    let BatchGetTokenBalanceError::InternalServerException(i) = err else {
        panic!("expected InternalServerException, got {err:?}");
    };
    assert_eq!(i.retry_after_seconds(), Some(7));

    faults.fail_next(1, 402);
    let (err, status) = service_error(call(&client, one()).await);
    assert_eq!(status, 402);
    let BatchGetTokenBalanceError::ServiceQuotaExceededException(q) = err else {
        panic!("expected ServiceQuotaExceededException, got {err:?}");
    };
    assert_eq!(
        (q.resource_type().as_str(), q.service_code()),
        ("collection", "managedblockchain-query")
    );

    faults.fail_next(1, 403);
    let (err, status) = service_error(call(&client, one()).await);
    assert_eq!(status, 403);
    assert!(err.is_access_denied_exception(), "{err:?}");

    faults.fail_next(1, 404);
    let (err, _) = service_error(call(&client, one()).await);
    let BatchGetTokenBalanceError::ResourceNotFoundException(r) = err else {
        panic!("expected ResourceNotFoundException, got {err:?}");
    };
    assert!(!r.resource_id().is_empty());

    faults.fail_next(1, 400);
    let (err, _) = service_error(call(&client, one()).await);
    let BatchGetTokenBalanceError::ValidationException(v) = err else {
        panic!("expected ValidationException, got {err:?}");
    };
    assert_eq!(v.reason(), &ValidationExceptionReason::Other);

    faults.fail_next(1, 503);
    let (err, status) = service_error(call(&client, one()).await);
    assert_eq!(status, 503);
    assert_eq!(
        err.code(),
        Some("ServiceUnavailableException"),
        "unmodeled: {err:?}"
    );

    faults.fail_next(1, 502);
    let (err, status) = service_error(call(&client, one()).await);
    assert_eq!(status, 502);
    assert!(err.is_internal_server_exception(), "{err:?}");

    call(&client, one()).await.expect("no fault left");
    let c = faults.counts();
    assert_eq!((c.throttled, c.failed), (1, 7));
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error() {
    let devnet = demo().await;
    let client = sdk(&devnet);
    devnet.amb().faults().drop_next(1);
    match call(&client, vec![eth_now(DEMO_ETH_OWNER)]).await {
        Err(SdkError::ResponseError(_)) | Err(SdkError::DispatchFailure(_)) => {}
        other => panic!("expected a response or dispatch error, got {other:?}"),
    }
    assert_eq!(devnet.amb().faults().counts().dropped, 1);
    call(&client, vec![eth_now(DEMO_ETH_OWNER)])
        .await
        .expect("the next call is whole");
}

#[tokio::test]
async fn latency_and_lag_apply_to_answers() {
    let devnet = demo().await;
    let client = sdk(&devnet);
    let amb = devnet.amb();
    amb.faults().set_latency(Duration::from_millis(150));
    let started = Instant::now();
    call(&client, vec![eth_now(DEMO_ETH_OWNER)])
        .await
        .expect("slow but fine");
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    amb.faults().set_latency(Duration::ZERO);

    // A replica a day behind answers "now" reads at the clock minus a day.
    amb.set_clock(Some(G + 3 * H + 86_400));
    amb.faults().lag_next(1, 86_400);
    let out = call(&client, vec![eth_now(DEMO_ETH_OWNER)])
        .await
        .expect("lagging but fine");
    let b = &out.token_balances()[0];
    assert_eq!(secs(b.at_blockchain_instant()), Some(G + 3 * H));
    let out = call(&client, vec![eth_now(DEMO_ETH_OWNER)])
        .await
        .expect("caught up");
    assert_eq!(
        secs(out.token_balances()[0].at_blockchain_instant()),
        Some(G + 3 * H + 86_400)
    );
    let c = amb.faults().counts();
    assert_eq!((c.delayed, c.lagged), (1, 1));
}

#[tokio::test]
async fn both_halves_run_on_their_own_ports() {
    let devnet = demo().await;
    assert_ne!(devnet.aptos_addr().port(), devnet.amb_addr().port());
    assert!(devnet.amb_addr().ip().is_loopback());
    assert_eq!(
        devnet.amb_url(),
        format!("http://127.0.0.1:{}", devnet.amb_addr().port())
    );
    let aptos = http()
        .get(format!("{}/", devnet.aptos_url()))
        .send()
        .await
        .expect("aptos answers");
    assert_eq!(aptos.status(), 200);
    assert_eq!(devnet.amb().requests().total, 0, "the AMB half saw nothing");
    devnet.shutdown().await;
}
