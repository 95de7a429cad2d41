//! The AMB wrapper, the SDK crate and `specs/amb.json` held against each other: a network
//! or error type that one of them lists and the others do not handle fails here.

use std::collections::BTreeSet;

use aws_sdk_managedblockchainquery::types::{ErrorType, QueryNetwork};
use serde_json::Value;
use tokbal::amb::{
    kind_for_item_error, kind_for_service_error, HANDLED_NETWORKS, MAX_ITEMS_PER_CALL,
};
use tokbal::{ErrorKind, Query};

const NS: &str = "com.amazonaws.managedblockchainquery#";

fn slice() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/specs/amb.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn shape<'a>(slice: &'a Value, name: &str) -> &'a Value {
    let s = &slice["shapes"][format!("{NS}{name}")];
    assert!(!s.is_null(), "specs/amb.json lacks {name}");
    s
}

fn enum_values(slice: &Value, name: &str) -> BTreeSet<String> {
    let s = shape(slice, name);
    if let Some(list) = s["traits"]["smithy.api#enum"].as_array() {
        return list
            .iter()
            .map(|e| e["value"].as_str().unwrap().to_string())
            .collect();
    }
    // Smithy 2.0 enum shapes.
    s["members"]
        .as_object()
        .unwrap()
        .values()
        .map(|m| {
            m["traits"]["smithy.api#enumValue"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn pattern(slice: &Value, name: &str) -> regex::Regex {
    let p = shape(slice, name)["traits"]["smithy.api#pattern"]
        .as_str()
        .unwrap();
    regex::Regex::new(p).unwrap()
}

#[test]
fn networks_agree_across_sdk_slice_and_wrapper() {
    let slice = slice();
    let from_slice = enum_values(&slice, "QueryNetwork");
    let from_sdk: BTreeSet<String> = QueryNetwork::values()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let handled: BTreeSet<String> = HANDLED_NETWORKS
        .iter()
        .map(|(_, v)| v.to_string())
        .collect();
    assert_eq!(
        from_sdk, from_slice,
        "the SDK crate and specs/amb.json disagree"
    );
    assert_eq!(
        handled, from_slice,
        "a network the slice lists is not handled by tokbal"
    );
    for (network, value) in HANDLED_NETWORKS {
        // AMB serves Bitcoin and Ethereum networks (Ethereum when it is configured).
        assert!(matches!(
            network.chain(),
            tokbal::Chain::Bitcoin | tokbal::Chain::Ethereum
        ));
        assert_eq!(QueryNetwork::from(value).as_str(), value);
    }
}

#[test]
fn error_types_agree_and_each_has_its_own_kind() {
    let slice = slice();
    let from_slice = enum_values(&slice, "ErrorType");
    let from_sdk: BTreeSet<String> = ErrorType::values().iter().map(|s| s.to_string()).collect();
    assert_eq!(from_sdk, from_slice);
    assert_eq!(
        kind_for_item_error("VALIDATION_EXCEPTION"),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        kind_for_item_error("RESOURCE_NOT_FOUND_EXCEPTION"),
        ErrorKind::NotFound
    );
    for t in &from_slice {
        assert_ne!(
            kind_for_item_error(t),
            ErrorKind::Unavailable,
            "{t} falls to the fallback"
        );
    }
}

#[test]
fn the_item_limit_is_the_models() {
    let slice = slice();
    let max = shape(&slice, "GetTokenBalanceInputList")["traits"]["smithy.api#length"]["max"]
        .as_u64()
        .unwrap();
    assert_eq!(max as usize, MAX_ITEMS_PER_CALL);
}

#[test]
fn the_operation_binding_is_post_batch_get_token_balance() {
    let slice = slice();
    let http = &shape(&slice, "BatchGetTokenBalance")["traits"]["smithy.api#http"];
    assert_eq!(http["method"], "POST");
    assert_eq!(http["uri"], "/batch-get-token-balance");
}

#[test]
fn every_exception_is_recognized_by_name_with_its_status() {
    let slice = slice();
    let expected = [
        ("AccessDeniedException", ErrorKind::AccessDenied),
        ("InternalServerException", ErrorKind::Unavailable),
        ("ResourceNotFoundException", ErrorKind::NotFound),
        ("ServiceQuotaExceededException", ErrorKind::QuotaExceeded),
        ("ThrottlingException", ErrorKind::Throttled),
        ("ValidationException", ErrorKind::InvalidInput),
    ];
    let errors: BTreeSet<String> = shape(&slice, "BatchGetTokenBalance")["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["target"]
                .as_str()
                .unwrap()
                .trim_start_matches(NS)
                .to_string()
        })
        .collect();
    assert_eq!(
        errors,
        expected.iter().map(|(n, _)| n.to_string()).collect()
    );
    for (name, kind) in expected {
        let status = shape(&slice, name)["traits"]["smithy.api#httpError"]
            .as_u64()
            .unwrap() as u16;
        assert_eq!(kind_for_service_error(Some(name), status), kind, "{name}");
        // Recognized by name, not by the status fallback.
        assert_eq!(kind_for_service_error(Some(name), 599), kind, "{name}");
    }
}

#[test]
fn what_tokbal_sends_matches_the_models_patterns() {
    let slice = slice();
    let address = pattern(&slice, "ChainAddress");
    let token_id = pattern(&slice, "QueryTokenId");
    let queries = [
        "ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7/erc721:0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d:115792089237316195423570985008687907853269984665640564039457584007913129639935",
        "ethereum-sepolia:0x0000000000000000000000000000000000000001/erc1155:0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d:0",
        "bitcoin:bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "bitcoin-testnet:2N3oefVeg6stiTb5Kh3ozCSkaqmx91FDbsm",
    ];
    for text in queries {
        let q: Query = text.parse().unwrap();
        assert!(address.is_match(&q.owner().to_string()), "owner of {text}");
        if let tokbal::query::Token::Erc721 {
            contract,
            token_id: id,
        }
        | tokbal::query::Token::Erc1155 {
            contract,
            token_id: id,
        } = q.token()
        {
            assert!(
                address.is_match(&contract.to_string()),
                "contract of {text}"
            );
            assert!(token_id.is_match(&id.to_hex64()), "token id of {text}");
        }
    }
    assert!(token_id.is_match("eth") && token_id.is_match("btc"));
}
