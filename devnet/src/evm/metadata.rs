//! Token metadata: the [`EvmNode`] methods that set and read what a token answers to
//! `name()`, `symbol()` and `decimals()`, and how those answers are encoded.
//!
//! Metadata has history like balances: `set_*` methods take effect at the tip + 1 and
//! return that block, `set_*_at` methods at the block given. Setting metadata deploys
//! nothing: an address without code answers every call with empty data, as before.

use alloy_primitives::U256;

use super::{parse_address, EvmNode, EvmTokenMetadata, StringEncoding};
use crate::InvalidInput;

/// A string answer: an ABI `string` (offset 32, length, the bytes zero-padded to a whole
/// word) or one `bytes32` word (the first 32 bytes, left-aligned, NUL-padded).
pub(super) fn encode_text(bytes: &[u8], encoding: StringEncoding) -> Vec<u8> {
    match encoding {
        StringEncoding::Abi => {
            let padded = bytes.len().div_ceil(32) * 32;
            let mut out = Vec::with_capacity(64 + padded);
            out.extend_from_slice(&U256::from(32).to_be_bytes::<32>());
            out.extend_from_slice(&U256::from(bytes.len()).to_be_bytes::<32>());
            out.extend_from_slice(bytes);
            out.resize(64 + padded, 0);
            out
        }
        StringEncoding::Bytes32 => {
            let mut word = vec![0u8; 32];
            let n = bytes.len().min(32);
            word[..n].copy_from_slice(&bytes[..n]);
            word
        }
    }
}

/// A `decimals()` answer: one 32-byte big-endian word.
pub(super) fn encode_decimals(word: U256) -> Vec<u8> {
    word.to_be_bytes::<32>().to_vec()
}

impl EvmNode {
    /// Sets what the token `contract` answers from the tip + 1 on: `name()` and `symbol()`
    /// these texts as ABI strings, `decimals()` this value; a part given as `None` reverts
    /// with empty data (so `decimals: None` is a token whose `decimals()` reverts). Returns
    /// that block. Refused for an address that holds Multicall3 or one of the test
    /// contracts. See [`EvmNode::set_token_metadata_with`] for `bytes32` strings, bytes
    /// that are not UTF-8, and decimals above 255.
    ///
    /// ```
    /// use tokbal_devnet::Devnet;
    ///
    /// let node = Devnet::builder().evm_initial_blocks(10).build_evm_node();
    /// let usd = "0x00000000000000000000000000000000000000c6";
    /// node.deploy_erc20(usd).unwrap();
    /// let block = node
    ///     .set_token_metadata(usd, Some("USD Test"), Some("USDT6"), Some(6))
    ///     .unwrap();
    /// assert_eq!(block, 10);
    /// node.mine(1);
    /// let set = node.token_metadata(usd, None).unwrap().unwrap();
    /// assert_eq!(set.symbol.as_deref(), Some(&b"USDT6"[..]));
    /// assert_eq!(node.token_metadata(usd, Some(9)).unwrap(), None);
    /// ```
    pub fn set_token_metadata(
        &self,
        contract: &str,
        name: Option<&str>,
        symbol: Option<&str>,
        decimals: Option<u8>,
    ) -> Result<u64, InvalidInput> {
        self.set_token_metadata_with(contract, EvmTokenMetadata::new(name, symbol, decimals))
    }

    /// Sets what the token `contract` answers from the tip + 1 on, in full (any bytes, a
    /// `bytes32` encoding, any `decimals` word); returns that block.
    /// `EvmTokenMetadata::default()` makes every metadata function revert again.
    pub fn set_token_metadata_with(
        &self,
        contract: &str,
        metadata: EvmTokenMetadata,
    ) -> Result<u64, InvalidInput> {
        let c = parse_address(contract)?;
        self.write_next(|s, b| s.set_metadata(c, b, metadata))
    }

    /// Sets what the token `contract` answers from `block` on (replacing what was set at
    /// that block).
    pub fn set_token_metadata_at(
        &self,
        contract: &str,
        block: u64,
        metadata: EvmTokenMetadata,
    ) -> Result<(), InvalidInput> {
        let c = parse_address(contract)?;
        self.write_at(block, |s, b| s.set_metadata(c, b, metadata))
    }

    /// From the tip + 1 on, the token `contract` answers `name()` and `symbol()` as
    /// [`StringEncoding::Bytes32`] words (cut at 32 bytes), as MKR does, keeping what it
    /// answers otherwise; returns that block. Refused for a token without metadata.
    pub fn set_token_strings_bytes32(&self, contract: &str) -> Result<u64, InvalidInput> {
        let c = parse_address(contract)?;
        self.write_next(|s, b| {
            let Some(now) = s.metadata(&c, b) else {
                return Err(format!(
                    "{contract} has no metadata to answer as bytes32: set it first"
                ));
            };
            let mut next = (*now).clone();
            next.encoding = StringEncoding::Bytes32;
            s.set_metadata(c, b, next)
        })
    }

    /// What the token `contract` answers to the metadata functions at `block` (the tip
    /// when `None`), or `None` when nothing was set for it by then.
    pub fn token_metadata(
        &self,
        contract: &str,
        block: Option<u64>,
    ) -> Result<Option<EvmTokenMetadata>, InvalidInput> {
        let c = parse_address(contract)?;
        Ok(self.read(block, |s, b| s.metadata(&c, b).map(|m| (*m).clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_encode_as_abi_strings_or_words() {
        let abi = encode_text(b"USDT6", StringEncoding::Abi);
        assert_eq!(abi.len(), 96);
        assert_eq!(abi[31], 32);
        assert_eq!(abi[63], 5);
        assert_eq!(&abi[64..69], b"USDT6");
        assert!(abi[69..].iter().all(|b| *b == 0));
        assert_eq!(encode_text(b"", StringEncoding::Abi).len(), 64);
        assert_eq!(encode_text(&[7; 32], StringEncoding::Abi).len(), 96);
        assert_eq!(encode_text(&[7; 33], StringEncoding::Abi).len(), 128);
        let word = encode_text(b"MKR", StringEncoding::Bytes32);
        assert_eq!(word.len(), 32);
        assert_eq!(&word[..3], b"MKR");
        assert!(word[3..].iter().all(|b| *b == 0));
        let long = encode_text(&[b'x'; 40], StringEncoding::Bytes32);
        assert_eq!(long, vec![b'x'; 32]);
        assert_eq!(encode_decimals(U256::from(300))[30..], [1, 44]);
    }
}
