//! Giving each balance of a batch that reads metadata its token's metadata: read once per
//! token by the unit of its first query, while later units of the same token may finish
//! first; their balances wait here until it comes.

use std::collections::HashMap;
use std::sync::Arc;

use super::run::Answered;
use crate::balance::Balance;
use crate::error::Error;
use crate::metadata::{Asset, TokenMetadata};

type Known = HashMap<Asset, Arc<TokenMetadata>, foldhash::fast::RandomState>;

/// The metadata read so far, and the balances waiting for theirs.
pub(crate) struct Attach<T> {
    known: Known,
    waiting: HashMap<Asset, Vec<(T, Balance)>, foldhash::fast::RandomState>,
}

impl<T> Default for Attach<T> {
    fn default() -> Self {
        Attach {
            known: HashMap::default(),
            waiting: HashMap::default(),
        }
    }
}

impl<T> Attach<T> {
    /// The results of one unit that can go out now, each balance with its token's metadata;
    /// with them, the balances that waited for the metadata this unit read.
    pub(crate) fn take(&mut self, answered: Answered<T>) -> Vec<(T, Result<Balance, Error>)> {
        let mut out = Vec::with_capacity(answered.balances.len());
        let mut fresh = Vec::with_capacity(answered.metadata.len());
        for (asset, metadata) in answered.metadata {
            // A field the chain does not give is null; so is every field of a read that
            // failed (its balances carry the error where it mattered to them).
            let metadata = Arc::new(metadata.unwrap_or_default());
            self.known.insert(asset.clone(), metadata);
            fresh.push(asset);
        }
        let keys = answered.keys.into_iter().chain(std::iter::repeat(None));
        for ((tag, result), key) in answered.balances.into_iter().zip(keys) {
            match (result, key) {
                (Ok(mut balance), Some(key)) => match self.metadata_of(&key) {
                    Some(metadata) => {
                        balance.token = Some(metadata);
                        out.push((tag, Ok(balance)));
                    }
                    None => self.waiting.entry(key).or_default().push((tag, balance)),
                },
                (result, _) => out.push((tag, result)),
            }
        }
        for asset in fresh {
            let (Some(waited), Some(metadata)) =
                (self.waiting.remove(&asset), self.known.get(&asset))
            else {
                continue;
            };
            out.extend(waited.into_iter().map(|(tag, mut balance)| {
                balance.token = Some(metadata.clone());
                (tag, Ok(balance))
            }));
        }
        out
    }

    /// The balances still waiting once every unit has answered (none, unless a unit lost its
    /// metadata): they go out with every field null.
    pub(crate) fn finish(&mut self) -> Vec<(T, Result<Balance, Error>)> {
        let none = Arc::new(TokenMetadata::default());
        self.waiting
            .drain()
            .flat_map(|(_, waited)| waited)
            .map(|(tag, mut balance)| {
                balance.token = Some(none.clone());
                (tag, Ok(balance))
            })
            .collect()
    }

    /// `key`'s metadata if it is known: the native coin's from the network table.
    fn metadata_of(&mut self, key: &Asset) -> Option<Arc<TokenMetadata>> {
        if let Some(known) = self.known.get(key) {
            return Some(known.clone());
        }
        if key.token().is_native() {
            let native = Arc::new(key.network().native_metadata());
            self.known.insert(key.clone(), native.clone());
            return Some(native);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amount::Amount;

    fn balance(n: u64) -> Balance {
        Balance {
            amount: Amount::from(n),
            ledger_version: None,
            at: None,
            last_updated: None,
            block: Some(1),
            token: None,
        }
    }

    fn asset(s: &str) -> Asset {
        s.parse().unwrap()
    }

    #[test]
    fn a_balance_waits_for_its_tokens_metadata_and_no_other() {
        let usdc = asset("ethereum:erc20:0x00000000000000000000000000000000000000aa");
        let eth = asset("ethereum");
        let mut attach = Attach::default();
        // A later unit finishes first: its USDC balance waits, its ETH one and an error do not.
        let out = attach.take(Answered {
            balances: vec![
                (1, Ok(balance(10))),
                (2, Ok(balance(20))),
                (3, Err(Error::invalid_input("owner", "x", "bad"))),
            ],
            keys: vec![Some(usdc.clone()), Some(eth.clone()), Some(usdc.clone())],
            metadata: Vec::new(),
        });
        let tags: Vec<usize> = out.iter().map(|(t, _)| *t).collect();
        assert_eq!(tags, [2, 3]);
        let eth_token = out[0].1.as_ref().unwrap().token.clone().unwrap();
        assert_eq!(eth_token.symbol.as_deref(), Some("ETH"));
        // The unit that read USDC's metadata: its own balance and the waiting one go out.
        let usdc_meta = TokenMetadata::new(Some("USDC"), Some("USD Coin"), Some(6));
        let out = attach.take(Answered {
            balances: vec![(0, Ok(balance(30)))],
            keys: vec![Some(usdc.clone())],
            metadata: vec![(usdc.clone(), Ok(usdc_meta.clone()))],
        });
        let mut tags: Vec<usize> = out.iter().map(|(t, _)| *t).collect();
        tags.sort_unstable();
        assert_eq!(tags, [0, 1]);
        for (_, r) in &out {
            assert_eq!(r.as_ref().unwrap().token.as_deref(), Some(&usdc_meta));
        }
        assert!(attach.finish().is_empty(), "nothing left waiting");
    }

    #[test]
    fn metadata_that_never_comes_leaves_null_fields_not_a_lost_balance() {
        let usdc = asset("ethereum:erc20:0x00000000000000000000000000000000000000aa");
        let mut attach = Attach::default();
        assert!(attach
            .take(Answered {
                balances: vec![(7, Ok(balance(1)))],
                keys: vec![Some(usdc)],
                metadata: Vec::new(),
            })
            .is_empty());
        let rest = attach.finish();
        assert_eq!(rest.len(), 1);
        let token = rest[0].1.as_ref().unwrap().token.clone().unwrap();
        assert!(token.is_empty());
    }
}
