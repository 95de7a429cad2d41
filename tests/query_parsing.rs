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

/// Bitcoin owners accepted on their networks (network, address): BIP 173's and BIP 350's
/// valid addresses, well-known legacy ones, and signet's and regtest's.
const BITCOIN_VALID: &[(&str, &str)] = &[
    // BIP 173 (version 0, bech32) and BIP 350 (versions 1 to 16, bech32m).
    ("bitcoin", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"),
    (
        "bitcoin-testnet",
        "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
    ),
    (
        "bitcoin-testnet",
        "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
    ),
    ("bitcoin", "BC1SW50QGDZ25J"),
    ("bitcoin", "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs"),
    (
        "bitcoin-testnet",
        "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
    ),
    (
        "bitcoin",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
    ),
    // Segwit in use.
    ("bitcoin", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
    (
        "bitcoin-testnet",
        "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
    ),
    // Legacy mainnet: P2PKH (1...), P2SH (3...).
    ("bitcoin", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
    ("bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
    ("bitcoin", "1111111111111111111114oLvT2"),
    ("bitcoin", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
    ("bitcoin", "3EktnHQD7RiAE6uzMj2ZifT9YgRrkSgzQX"),
    ("bitcoin", "34nSkinWC9rDDJiUY438qQN1JHmGqBHGW7"),
    // Legacy testnet: P2PKH (m..., n...), P2SH (2...).
    ("bitcoin-testnet", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"),
    ("bitcoin-testnet", "mzBc4XEFSdzCDcTxAgf6EZXgsZWpztRhef"),
    ("bitcoin-testnet", "n3GNqMveyvaPvUbH469vDRadqpJMPc84JA"),
    ("bitcoin-testnet", "2N3oefVeg6stiTb5Kh3ozCSkaqmx91FDbsm"),
    ("bitcoin-testnet", "2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc"),
    // Signet: testnet's addresses.
    (
        "bitcoin-signet",
        "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
    ),
    (
        "bitcoin-signet",
        "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
    ),
    ("bitcoin-signet", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"),
    ("bitcoin-signet", "n3GNqMveyvaPvUbH469vDRadqpJMPc84JA"),
    ("bitcoin-signet", "2N3oefVeg6stiTb5Kh3ozCSkaqmx91FDbsm"),
    // Regtest: bcrt1 (P2WPKH, P2WSH, P2TR, and version 16 with 40 bytes, the longest), and
    // testnet's legacy addresses.
    (
        "bitcoin-regtest",
        "bcrt1qqqqsyqcyq5rqwzqfpg9scrgwpugpzysnard0ew",
    ),
    (
        "bitcoin-regtest",
        "bcrt1qqv9pzxqlyckngw6zf9g9whn9d3eh4qvg37tfmf9tk2uup37w6hwqd3h3a8",
    ),
    (
        "bitcoin-regtest",
        "BCRT1PQV9PZXQLYCKNGW6ZF9G9WHN9D3EH4QVG37TFMF9TK2UUP37W6HWQ8XHC9M",
    ),
    (
        "bitcoin-regtest",
        "bcrt1sqqqsyqcyq5rqwzqfpg9scrgwpugpzysnzs23v9ccrydpk8qarc0jqgfzyvjz2f38rhf4f4",
    ),
    ("bitcoin-regtest", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"),
    ("bitcoin-regtest", "2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc"),
];

#[test]
fn bitcoin_addresses_parse_on_their_networks() {
    for (network, address) in BITCOIN_VALID {
        let input = format!("{network}:{address}");
        let q: Query = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(q.network().to_string(), *network, "{input}");
        // bech32 is printed in lower case, base58 as given.
        let bech32 = ["bc1", "tb1", "bcrt1"]
            .iter()
            .any(|p| address.to_ascii_lowercase().starts_with(p));
        let owner = if bech32 {
            address.to_ascii_lowercase()
        } else {
            address.to_string()
        };
        assert_eq!(q.to_string(), format!("{network}:{owner}"), "{input}");
        assert_eq!(q.to_string().parse::<Query>().unwrap(), q, "{input}");
    }
    assert_eq!(
        "bitcoin-signet".parse::<Network>().unwrap(),
        Network::BitcoinSignet
    );
    assert_eq!(
        "bitcoin-regtest".parse::<Network>().unwrap(),
        Network::BitcoinRegtest
    );
}

/// Bitcoin owners refused once checksums are checked (network, address, words the message
/// must contain): BIP 173's and BIP 350's invalid addresses, addresses for another network,
/// bad versions and lengths.
#[cfg(any(feature = "bitcoin", feature = "amb"))]
const BITCOIN_INVALID: &[(&str, &str, &str)] = &[
    // BIP 173's invalid addresses.
    ("bitcoin", "tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty", "not a Bitcoin address"),
    ("bitcoin", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "bad bech32 checksum"),
    ("bitcoin", "BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2", "witness version 17"),
    ("bitcoin", "bc1rw5uspcuh", "12 characters; a bech32 address on bitcoin has 14 to 74"),
    (
        "bitcoin",
        "bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90",
        "76 characters; a bech32 address on bitcoin has 14 to 74",
    ),
    ("bitcoin", "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "version 0 witness program of 16 bytes"),
    ("bitcoin-testnet", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7", "mixed case"),
    // (Too much padding, and a version 2 program with a bech32 checksum: BIP 350 refuses it
    // for the checksum first.)
    ("bitcoin", "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du", "a version 2 address with a bech32 checksum"),
    ("bitcoin-testnet", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv", "not all zero"),
    ("bitcoin", "bc1gmk9yu", "9 characters"),
    // BIP 173's valid addresses of versions 1 and above: bech32m since BIP 350.
    (
        "bitcoin",
        "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx",
        "a version 1 address with a bech32 checksum",
    ),
    ("bitcoin", "BC1SW50QA3JX3S", "a version 16 address with a bech32 checksum"),
    ("bitcoin", "bc1zw508d6qejxtdg4y5r3zarvaryvg6kdaj", "a version 2 address with a bech32 checksum"),
    // BIP 350's invalid addresses.
    ("bitcoin-testnet", "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", "not a Bitcoin address"),
    ("bitcoin", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", "a version 1 address with a bech32 checksum"),
    ("bitcoin-testnet", "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf", "a version 2 address with a bech32 checksum"),
    ("bitcoin", "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", "a version 16 address with a bech32 checksum"),
    ("bitcoin", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "a version 0 address with a bech32m checksum"),
    ("bitcoin-testnet", "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47", "a version 0 address with a bech32m checksum"),
    ("bitcoin", "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", "'o' is not a bech32 character"),
    ("bitcoin", "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R", "witness version 17"),
    ("bitcoin", "bc1pw5dgrnzv", "12 characters"),
    (
        "bitcoin",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
        "76 characters",
    ),
    ("bitcoin-testnet", "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", "mixed case"),
    ("bitcoin", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", "more than 4 bits"),
    ("bitcoin-testnet", "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j", "not all zero"),
    // BIP 350 accepts version 1 with 2 to 40 bytes; tokbal takes taproot's 32 only.
    (
        "bitcoin",
        "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
        "a version 1 witness program of 40 bytes; version 1 (taproot, P2TR) takes 32",
    ),
    ("bitcoin", "bc1pqqqsyqcyq5rqwzqfpg9scrgwpugpzysntwgkaa", "version 1 witness program of 20 bytes"),
    // For another network.
    ("bitcoin-testnet", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "a Bitcoin mainnet address; an address on bitcoin-testnet starts with tb1 or one of m, n, 2"),
    ("bitcoin-testnet", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "a Bitcoin mainnet address"),
    ("bitcoin-testnet", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "a Bitcoin mainnet address"),
    ("bitcoin-signet", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "a Bitcoin mainnet address"),
    ("bitcoin-regtest", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "a Bitcoin mainnet address; an address on bitcoin-regtest starts with bcrt1"),
    ("bitcoin", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "a Bitcoin testnet or signet address; an address on bitcoin starts with bc1 or one of 1, 3"),
    ("bitcoin", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "a Bitcoin testnet, signet or regtest address"),
    ("bitcoin", "n3GNqMveyvaPvUbH469vDRadqpJMPc84JA", "a Bitcoin testnet, signet or regtest address"),
    ("bitcoin", "2N3oefVeg6stiTb5Kh3ozCSkaqmx91FDbsm", "a Bitcoin testnet, signet or regtest address"),
    ("bitcoin", "bcrt1qqqqsyqcyq5rqwzqfpg9scrgwpugpzysnard0ew", "a Bitcoin regtest address"),
    ("bitcoin-signet", "bcrt1qqqqsyqcyq5rqwzqfpg9scrgwpugpzysnard0ew", "a Bitcoin regtest address"),
    ("bitcoin-regtest", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "a Bitcoin testnet or signet address"),
    // Base58 with the right first character but a version byte of no address kind, and a
    // payload of the wrong length.
    ("bitcoin", "3R2cuenjG5nFubqX9Wzuukdin2YfLYZyD1", "version byte 0x06; a base58 address on bitcoin has 0x00 (P2PKH) or 0x05 (P2SH)"),
    ("bitcoin-testnet", "mGBMJwnh6qyNxgLXh9e4LnwYEVLmJ99DAh", "version byte 0x6e"),
    ("bitcoin-regtest", "2D1oxKts8YPdTJRG5FzxTNpMtWmqBnjrht", "version byte 0x03; a base58 address on bitcoin-regtest has 0x6f (P2PKH) or 0xc4 (P2SH)"),
    ("bitcoin", "12D2adLM3UKy4Z4giRbReR6gjWrQbnqq", "decodes to 24 bytes"),
];

#[cfg(any(feature = "bitcoin", feature = "amb"))]
fn refused_owner(network: &str, address: &str) -> tokbal::Error {
    let input = format!("{network}:{address}");
    let err = match input.parse::<Query>() {
        Ok(q) => panic!("{input} was accepted as {q}"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{input}: {err}");
    assert_eq!(err.field(), Some("owner"), "{input}: {err}");
    assert!(
        err.to_string()
            .starts_with(&format!("invalid owner \"{address}\": ")),
        "{input}: {err}"
    );
    err
}

#[cfg(any(feature = "bitcoin", feature = "amb"))]
#[test]
fn bad_bitcoin_addresses_are_refused_before_any_request() {
    for (network, address, words) in BITCOIN_INVALID {
        let err = refused_owner(network, address);
        assert!(
            err.to_string().contains(words),
            "{network}:{address}: {err:?} lacks {words:?}"
        );
    }
}

/// One character changed, in the checksum and in the middle, on every kind of address: each
/// is refused for its checksum.
#[cfg(any(feature = "bitcoin", feature = "amb"))]
#[test]
fn one_character_corruptions_fail_the_checksum() {
    const BASE58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    const BECH32: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let cases = [
        ("bitcoin", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "P2PKH"),
        ("bitcoin", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "P2SH"),
        (
            "bitcoin-testnet",
            "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn",
            "testnet P2PKH",
        ),
        (
            "bitcoin-testnet",
            "2N3oefVeg6stiTb5Kh3ozCSkaqmx91FDbsm",
            "testnet P2SH",
        ),
        (
            "bitcoin",
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            "P2WPKH",
        ),
        (
            "bitcoin-testnet",
            "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
            "P2WSH",
        ),
        (
            "bitcoin",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
            "P2TR",
        ),
        (
            "bitcoin-regtest",
            "bcrt1pqv9pzxqlyckngw6zf9g9whn9d3eh4qvg37tfmf9tk2uup37w6hwq8xhc9m",
            "regtest P2TR",
        ),
    ];
    for (network, good, kind) in cases {
        let bech32 = ["bc1", "tb1", "bcrt1"].iter().any(|p| good.starts_with(p));
        let alphabet = if bech32 { BECH32 } else { BASE58 };
        let (words, what) = if bech32 {
            ("bad bech32 checksum", "bech32")
        } else {
            ("bad base58check checksum", "base58")
        };
        // The last character (the checksum) and one in the middle (the hash).
        for at in [good.len() - 1, good.len() / 2] {
            let old = good.as_bytes()[at] as char;
            let i = alphabet.find(old).expect(what);
            let new = alphabet.as_bytes()[(i + 1) % alphabet.len()] as char;
            let mut bad = good.to_string();
            bad.replace_range(at..=at, &new.to_string());
            let err = refused_owner(network, &bad);
            assert!(
                err.to_string().contains(words),
                "{kind} {bad}: {err} lacks {words:?}"
            );
        }
    }
}

/// Without a Bitcoin source the check is structural: prefixes, alphabet, case and length.
#[cfg(not(any(feature = "bitcoin", feature = "amb")))]
#[test]
fn without_a_bitcoin_source_addresses_are_checked_structurally() {
    for input in [
        "bitcoin:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdr",
        "bitcoin:1BoatSLRHtKNngkdXEeobR76b53LETtpyU",
        "bitcoin-regtest:bcrt1qqqqsyqcyq5rqwzqfpg9scrgwpugpzysnard0ew",
    ] {
        input
            .parse::<Query>()
            .unwrap_or_else(|e| panic!("{input}: {e}"));
    }
    let err = "bitcoin:tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"
        .parse::<Query>()
        .unwrap_err();
    assert_eq!(err.field(), Some("owner"));
}
