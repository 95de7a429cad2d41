//! Hostile input to every entry point that parses user text: any string gives either a
//! value whose canonical form parses back to itself, or `invalid_input` naming the field,
//! with a short message, and never a panic.

use proptest::prelude::*;
use tokbal::query::{AccountAddress, AssetType, QueryLines, TokenId, MAX_LINE_BYTES};
use tokbal::{Amount, ErrorKind, Query};

/// What every refusal must look like.
fn check_refusal(input: &str, e: &tokbal::Error) -> Result<(), TestCaseError> {
    prop_assert_eq!(e.kind(), ErrorKind::InvalidInput, "{:?}: {}", input, e);
    prop_assert!(e.field().is_some(), "{:?}: no field in {}", input, e);
    prop_assert!(e.to_string().len() < 1024, "{:?}: message too long", input);
    prop_assert!(e.backend().is_none());
    Ok(())
}

/// Text built from the pieces queries are made of, so that random inputs get deep into the
/// parsers instead of failing on the first character.
fn query_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("aptos:".to_string()),
        Just("aptos-testnet:".to_string()),
        Just("ethereum:".to_string()),
        Just("bitcoin:".to_string()),
        Just("0x".to_string()),
        Just("::".to_string()),
        Just("/".to_string()),
        Just("<".to_string()),
        Just(">".to_string()),
        Just(", ".to_string()),
        Just("erc20:".to_string()),
        Just("erc721:".to_string()),
        Just("erc1155:".to_string()),
        Just("vector".to_string()),
        Just("u8".to_string()),
        Just("bc1q".to_string()),
        "[0-9a-fA-F]{1,70}",
        "[a-z_][a-z0-9_]{0,8}",
        "[0-9]{1,80}",
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_query_text_is_a_query_or_a_clear_refusal(input in prop_oneof![any::<String>(), query_like()]) {
        match input.parse::<Query>() {
            Ok(q) => {
                let again: Query = q.to_string().parse().expect("canonical form parses");
                prop_assert_eq!(again, q);
            }
            Err(e) => check_refusal(&input, &e)?,
        }
    }

    #[test]
    fn addresses_asset_types_token_ids_and_amounts(input in prop_oneof![any::<String>(), query_like()]) {
        match input.parse::<AccountAddress>() {
            Ok(a) => prop_assert_eq!(a.to_string().parse::<AccountAddress>().unwrap(), a),
            Err(e) => check_refusal(&input, &e)?,
        }
        match input.parse::<AssetType>() {
            Ok(a) => prop_assert_eq!(a.to_string().parse::<AssetType>().unwrap(), a),
            Err(e) => check_refusal(&input, &e)?,
        }
        match input.parse::<TokenId>() {
            Ok(t) => prop_assert_eq!(t.to_string().parse::<TokenId>().unwrap(), t),
            Err(e) => check_refusal(&input, &e)?,
        }
        match input.parse::<Amount>() {
            Ok(a) => prop_assert_eq!(a.to_string().parse::<Amount>().unwrap(), a),
            Err(e) => check_refusal(&input, &e)?,
        }
        if let Err(e) = tokbal::time::parse_rfc3339("at", &input) {
            check_refusal(&input, &e)?;
        }
    }

    #[test]
    fn any_bytes_as_a_batch_file(input in prop::collection::vec(any::<u8>(), 0..4096)) {
        let newlines = input.iter().filter(|b| **b == b'\n').count();
        let mut last = 0;
        let mut items = 0;
        for ((line, text), parsed) in QueryLines::new(&input[..]) {
            items += 1;
            prop_assert!(line > last, "line numbers increase");
            last = line;
            prop_assert!(!text.trim().is_empty() || parsed.is_err());
            if let Err(e) = parsed {
                prop_assert_eq!(e.kind(), ErrorKind::InvalidInput);
            }
        }
        prop_assert!(items <= newlines + 1);
    }

    #[test]
    fn struct_tags_of_any_valid_shape_round_trip(depth in 0usize..8, width in 1usize..4, seed in any::<u32>()) {
        fn tag(depth: usize, width: usize, seed: u32) -> String {
            let base = format!("0x{:x}::m{}::S{}", seed % 4096, seed % 7, seed % 5);
            if depth == 0 {
                return base;
            }
            let args: Vec<String> = (0..width)
                .map(|i| match (seed as usize + i) % 3 {
                    0 => "u64".to_string(),
                    1 => format!("vector<{}>", tag(depth - 1, width, seed.wrapping_mul(31).wrapping_add(i as u32))),
                    _ => tag(depth - 1, width, seed.wrapping_mul(17).wrapping_add(i as u32)),
                })
                .collect();
            format!("{base}<{}>", args.join(","))
        }
        let text = tag(depth.min(3), width, seed);
        match text.parse::<AssetType>() {
            Ok(a) => prop_assert_eq!(a.to_string().parse::<AssetType>().unwrap(), a),
            // Only nesting beyond the limit may be refused.
            Err(e) => prop_assert!(e.to_string().contains("nested more than"), "{}: {}", text, e),
        }
    }
}

#[test]
fn the_named_hostile_inputs() {
    let megabyte = "a".repeat(1 << 20);
    let deep = format!(
        "aptos:0x1/0x1::a::B{}{}",
        "<0x1::a::B".repeat(1000),
        ">".repeat(1000)
    );
    let deep_vectors = format!(
        "aptos:0x1/0x1::a::B<{}u8{}>",
        "vector<".repeat(1000),
        ">".repeat(1000)
    );
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "query"),
        (megabyte.clone(), "query"),
        (format!("aptos:0x{megabyte}"), "query"),
        ("aptos:0x1\0".into(), "owner"),
        ("aptos:\0x1".into(), "owner"),
        ("aptos:0x1\u{7}".into(), "owner"),
        ("aptos:0x1\u{1b}[31m".into(), "owner"),
        ("aptos:0x\u{430}1".into(), "owner"), // Cyrillic а
        ("aptos:0x\u{ff11}".into(), "owner"), // fullwidth 1
        ("aptos\u{ff1a}0x1".into(), "query"), // fullwidth colon
        ("aptos:0x1/../../etc/passwd".into(), "asset_type"),
        ("aptos:0x1/0x1::coin::C?x=1".into(), "asset_type"),
        ("aptos:0x1/0x1::coin::C#frag".into(), "asset_type"),
        ("aptos:0x1/0x1%2F0x2".into(), "asset_type"),
        ("aptos:0x1%2F0x2".into(), "owner"),
        (deep, "query"),
        (deep_vectors, "asset_type"),
        (format!("aptos:0x{}", "1".repeat(65)), "owner"),
        (
            format!(
                "ethereum:0x{}/erc721:0x{}:-1",
                "1".repeat(40),
                "2".repeat(40)
            ),
            "token_id",
        ),
        (
            format!(
                "ethereum:0x{}/erc721:0x{}:{}",
                "1".repeat(40),
                "2".repeat(40),
                "9".repeat(80)
            ),
            "token_id",
        ),
        (
            format!(
                "ethereum:0x{}/erc1155:0x{}:0x{}",
                "1".repeat(40),
                "2".repeat(40),
                "f".repeat(65)
            ),
            "token_id",
        ),
        ("bitcoin:bc1q\u{0}".into(), "owner"),
    ];
    for (input, field) in cases {
        let shown: String = input.chars().take(60).collect();
        let err = input.parse::<Query>().expect_err(&shown);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{shown:?}");
        assert_eq!(err.field(), Some(field), "{shown:?}: {err}");
        assert!(err.to_string().len() < 1024, "{shown:?}");
    }
    for amount in [
        "-1",
        "1.0",
        "1e9",
        "0x1",
        " 1",
        "115792089237316195423570985008687907853269984665640564039457584007913129639936",
    ] {
        assert_eq!(
            amount.parse::<Amount>().unwrap_err().field(),
            Some("amount"),
            "{amount}"
        );
    }
}

#[test]
fn batch_files_with_huge_and_binary_lines() {
    let mut input = Vec::new();
    input.extend_from_slice(b"aptos:0x1\n");
    input.extend(std::iter::repeat_n(b'x', 3 * MAX_LINE_BYTES));
    input.extend_from_slice(
        b"\n\x00\x01\x02\xff\n\xef\xbb\xbfaptos:0x2\r\n../../etc/passwd\naptos:0x3",
    );
    let items: Vec<_> = QueryLines::new(&input[..]).collect();
    let lines: Vec<u64> = items.iter().map(|((n, _), _)| *n).collect();
    assert_eq!(lines, [1, 2, 3, 4, 5, 6]);
    assert!(items[0].1.is_ok() && items[5].1.is_ok());
    for (i, ((_, text), r)) in items.iter().enumerate().skip(1).take(4) {
        let e = r.as_ref().expect_err(text);
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "line {}", i + 1);
        assert!(text.len() < 200);
    }
}
