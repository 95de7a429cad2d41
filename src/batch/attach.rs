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
        for (tag, result, key) in answered.balances {
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
