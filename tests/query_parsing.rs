//! Parsing and validation of queries, before any request: what is accepted, its canonical
//! form, and the error every malformed input gets.

use tokbal::{ErrorKind, Network, Query};

fn long(digits: &str) -> String {
    format!("0x{digits:0>64}")
}

#[test]
fn aptos_addresses_are_canonicalized() {
    let expect = format!("aptos:{}/{}::aptos_coin::AptosCoin", long("1"), long("1"));
    for input in [
        "aptos:0x1",
        "aptos:1",
        "aptos:0X1",
        "aptos:0x0001",
        "aptos:0x0000000000000000000000000000000000000000000000000000000000000001",
        "aptos:0x1/0x1::aptos_coin::AptosCoin",
        "aptos:0x1/0x0000000000000000000000000000000000000000000000000000000000000001::aptos_coin::AptosCoin",
        "  aptos:0x1  ",
    ] {
        let q: Query = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(q.to_string(), expect, "{input}");
    }
    let upper: Query = "aptos:0xABCDEF".parse().unwrap();
    assert!(upper
        .to_string()
        .starts_with(&format!("aptos:{}", long("abcdef"))));
}

#[test]
fn asset_types_are_canonicalized() {
    let cases = [
        (
            "aptos:0x1/0xa",
            format!("aptos:{}/{}", long("1"), long("a")),
        ),
        (
            "aptos:0x1/0x1::coin::Wrapped<0x2::a::B,0x3::c::D<u8, vector<address>>>",
            format!(
                "aptos:{}/{}::coin::Wrapped<{}::a::B, {}::c::D<u8, vector<address>>>",
                long("1"),
                long("1"),
                long("2"),
                long("3")
            ),
        ),
        (
            "aptos-testnet:0xa11ce/0x1::m::S< 0x1::m::T >",
            format!(
                "aptos-testnet:{}/{}::m::S<{}::m::T>",
                long("a11ce"),
                long("1"),
                long("1")
            ),
        ),
        (
            "aptos-devnet:0x2/0xcafe::_private::Coin_1",
            format!(
                "aptos-devnet:{}/{}::_private::Coin_1",
                long("2"),
                long("cafe")
            ),
        ),
    ];
    for (input, expect) in cases {
        let q: Query = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(q.to_string(), expect, "{input}");
    }
}

#[test]
fn other_networks_parse_too() {
    let cases = [
        ("ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7", Network::EthereumMainnet),
        ("ethereum-sepolia:0xdac17f958d2ee523a2206206994597c13d831ec7/eth", Network::EthereumSepolia),
        (
            "ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc20:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
            Network::EthereumMainnet,
        ),
        (
            "ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc721:0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d:1234",
            Network::EthereumMainnet,
        ),
        (
            "ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc1155:0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d:0xff",
            Network::EthereumMainnet,
        ),
        // A collection count: how many items of the collection the owner holds.
        (
            "ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc721:0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d",
            Network::EthereumMainnet,
        ),
        ("base:0x0000000000000000000000000000000000000000", Network::Base),
        ("arbitrum:0xdac17f958d2ee523a2206206994597c13d831ec7/eth", Network::Arbitrum),
        ("evm-31337:0xdac17f958d2ee523a2206206994597c13d831ec7", Network::Evm(31337)),
        ("evm-137:0xdac17f958d2ee523a2206206994597c13d831ec7", Network::Polygon),
        ("bitcoin:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", Network::BitcoinMainnet),
        ("bitcoin:1BoatSLRHtKNngkdXEeobR76b53LETtpyT", Network::BitcoinMainnet),
        ("bitcoin:3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy/btc", Network::BitcoinMainnet),
        ("bitcoin-testnet:tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", Network::BitcoinTestnet),
        ("bitcoin-testnet:mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", Network::BitcoinTestnet),
    ];
    for (input, network) in cases {
        let q: Query = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(q.network(), network, "{input}");
        // The canonical form parses back to the same query.
        let again: Query = q.to_string().parse().unwrap();
        assert_eq!(again, q, "{input}");
    }
    let nft: Query = "ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc721:0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d:0x10"
        .parse()
        .unwrap();
    assert!(nft.to_string().ends_with(":16"), "{nft}");
}

/// (input, field the error must name, words the message must contain)
const MALFORMED: &[(&str, &str, &str)] = &[
    // The query's shape and network.
    ("", "query", "NETWORK:OWNER"),
    ("0x1", "query", "NETWORK:OWNER"),
    ("aptos", "query", "NETWORK:OWNER"),
    ("solana:0x1", "network", "unknown network"),
    ("Aptos:0x1", "network", "unknown network"),
    ("aptos-mainnet:0x1", "network", "unknown network"),
    (":0x1", "network", "unknown network"),
    // Aptos owners.
    ("aptos:", "owner", "no hex digits"),
    ("aptos:0x", "owner", "no hex digits"),
    ("aptos:0X", "owner", "no hex digits"),
    ("aptos:0xZZ", "owner", "not a hex digit"),
    ("aptos:0x1g", "owner", "not a hex digit"),
    ("aptos:0x 1", "owner", "not a hex digit"),
    ("aptos:-1", "owner", "not a hex digit"),
    ("aptos:0x-1", "owner", "not a hex digit"),
    ("aptos:0x0x1", "owner", "not a hex digit"),
    ("aptos:0x١", "owner", "not a hex digit"),
    ("aptos:0xａ", "owner", "not a hex digit"),
    ("aptos:0x00000000000000000000000000000000000000000000000000000000000000001", "owner", "65 hex digits"),
    ("aptos:0x1\0", "owner", "not a hex digit"),
    // Aptos asset types: addresses.
    ("aptos:0x1/", "asset_type", "no hex digits"),
    ("aptos:0x1/0x", "asset_type", "no hex digits"),
    ("aptos:0x1/0xq", "asset_type", "not a hex digit"),
    ("aptos:0x1/0x00000000000000000000000000000000000000000000000000000000000000001", "asset_type", "65 hex digits"),
    // Aptos asset types: struct tags.
    ("aptos:0x1/0x1::aptos_coin", "asset_type", "expected '::' after the module name"),
    ("aptos:0x1/0x1::aptos_coin::", "asset_type", "expected a struct name"),
    ("aptos:0x1/::aptos_coin::AptosCoin", "asset_type", "expected an address"),
    ("aptos:0x1/0x1:::aptos_coin::AptosCoin", "asset_type", "expected a module name"),
    ("aptos:0x1/0xg::aptos_coin::AptosCoin", "asset_type", "bad address"),
    ("aptos:0x1/0x1::1coin::AptosCoin", "asset_type", "not a valid module name"),
    ("aptos:0x1/0x1::coin::_", "asset_type", "not a valid struct name"),
    ("aptos:0x1/0x1::coin::Coin-X", "asset_type", "unexpected '-'"),
    ("aptos:0x1/0x1::coin::Coin<", "asset_type", "expected an address"),
    ("aptos:0x1/0x1::coin::Coin<>", "asset_type", "expected an address"),
    ("aptos:0x1/0x1::coin::Coin<u8", "asset_type", "expected ',' or '>'"),
    ("aptos:0x1/0x1::coin::Coin<u8>>", "asset_type", "unexpected '>'"),
    ("aptos:0x1/0x1::coin::Coin<u8,>", "asset_type", "expected an address"),
    ("aptos:0x1/0x1::coin::Coin<u8 u16>", "asset_type", "expected ',' or '>'"),
    ("aptos:0x1/0x1::coin::Coin<vector>", "asset_type", "expected '<' after vector"),
    ("aptos:0x1/0x1::coin::Coin<vector<u8>", "asset_type", "expected ',' or '>'"),
    ("aptos:0x1/0x1::coin::Coin<0x1::a>", "asset_type", "expected '::' after the module name"),
    ("aptos:0x1/0x1::coin::Coin<u512>", "asset_type", "bad address"),
    ("aptos:0x1/0x1::coin::Coin#x", "asset_type", "unexpected '#'"),
    ("aptos:0x1/0x1::coin::Coin?x=1", "asset_type", "unexpected '?'"),
    ("aptos:0x1/0x1::coin::Coin%3Cu8%3E", "asset_type", "unexpected '%'"),
    ("aptos:0x1/0x1::co in::Coin", "asset_type", "expected '::' after the module name"),
    ("aptos:0x1/0x1::coin::Coin/extra", "asset_type", "unexpected '/'"),
    // Ethereum owners, contracts and token ids.
    ("ethereum:dac17f958d2ee523a2206206994597c13d831ec7", "owner", "starts with 0x"),
    ("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec", "owner", "exactly 40"),
    ("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7a", "owner", "exactly 40"),
    ("ethereum:0xgac17f958d2ee523a2206206994597c13d831ec7", "owner", "not a hex digit"),
    ("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc20", "token", "needs a contract"),
    ("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc20:", "token", "needs a contract"),
    ("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc20:0x12", "contract", "exactly 40"),
    ("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc20:0x0000000000000000000000000000000000000000", "contract", "null address"),
    ("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc20:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48:1", "token", "takes no token id"),
    ("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc1155:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", "token", "needs a token id"),
    ("evm-0:0xdac17f958d2ee523a2206206994597c13d831ec7", "network", "chain id"),
    ("evm-12x:0xdac17f958d2ee523a2206206994597c13d831ec7", "network", "chain id"),
    ("base:0xdac17f958d2ee523a2206206994597c13d831ec7/btc", "token", "expected eth"),
    ("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc721:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48:", "token_id", "no digits"),
    ("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc721:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48:-1", "token_id", "decimal number"),
    ("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc721:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48:1.5", "token_id", "decimal number"),
    ("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc721:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48:0x", "token_id", "no digits"),
    ("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc1155:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48:0x1zz", "token_id", "decimal number"),
    ("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc1155:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48:0x10000000000000000000000000000000000000000000000000000000000000000", "token_id", "65 hex digits"),
    ("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc1155:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48:115792089237316195423570985008687907853269984665640564039457584007913129639936", "token_id", "larger than 2^256 - 1"),
    ("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc1155:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48:1:2", "token", "too many ':'"),
    ("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/erc777:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", "token", "expected eth, erc20"),
    ("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7/btc", "token", "expected eth, erc20"),
    // Bitcoin owners.
    ("bitcoin:0xdac17f958d2ee523a2206206994597c13d831ec7", "owner", "starts with bc1"),
    ("bitcoin:tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "owner", "starts with bc1"),
    ("bitcoin-testnet:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "owner", "starts with tb1"),
    ("bitcoin:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdb", "owner", "not a bech32 character"),
    ("bitcoin:bc1Qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "owner", "all lower case or all upper case"),
    ("bitcoin:bc1q", "owner", "14 to 74"),
    ("bitcoin:1BoatSLRHtKNngkdXEeobR76b53LETtpy0", "owner", "not a base58 character"),
    ("bitcoin:1Boat", "owner", "26 to 35"),
    ("bitcoin:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq/erc20:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", "token", "only its native coin"),
];

#[test]
fn malformed_queries_name_the_field_and_the_value() {
    assert!(MALFORMED.len() >= 60);
    for (input, field, words) in MALFORMED {
        let err = match input.parse::<Query>() {
            Ok(q) => panic!("{input:?} was accepted as {q}"),
            Err(e) => e,
        };
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{input:?}: {err}");
        assert_eq!(err.field(), Some(*field), "{input:?}: {err}");
        let message = err.to_string();
        assert!(
            message.contains(words),
            "{input:?}: {message:?} lacks {words:?}"
        );
        assert!(
            message.contains(&format!("invalid {field} ")),
            "{input:?}: {message}"
        );
        assert!(
            err.backend().is_none(),
            "input errors come from no back end"
        );
    }
}

#[test]
fn hostile_sizes_are_refused_quickly_and_without_echoing_everything() {
    let huge = format!("aptos:0x1/0x1::a::B{}", "<0x1::a::B".repeat(100_000));
    let err = huge.parse::<Query>().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.to_string().len() < 300,
        "message echoes the whole input"
    );

    let deep = format!(
        "aptos:0x1/0x1::a::B{}{}",
        "<vector".repeat(500),
        ">".repeat(500)
    );
    let err = deep.parse::<Query>().unwrap_err();
    assert_eq!(err.field(), Some("asset_type"));
    assert!(err.to_string().contains("nested more than"), "{err}");
}
