//! Pinning: the moment a whole batch is read at ([`At`]), and the one it was read at
//! ([`Snapshot`]).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::query::Network;

/// When to read a batch's balances. Every query in a batch is read at the same moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum At {
    /// The latest state: resolved once per network (for Aptos, to one ledger version taken
    /// from the first answer) and then used for every query of the batch.
    #[default]
    Latest,
    /// An explicit Aptos ledger version, used as given for every Aptos query.
    AptosVersion(u64),
}

/// What a batch was actually read at, per network.
///
/// ```
/// use tokbal::{Network, Snapshot};
/// let mut s = Snapshot::default();
/// s.pin_aptos(Network::AptosMainnet, 42);
/// assert_eq!(s.aptos_version(Network::AptosMainnet), Some(42));
/// assert_eq!(
///     serde_json::to_string(&s).unwrap(),
///     r#"{"aptos":{"ledger_version":"42"}}"#
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Snapshot {
    networks: BTreeMap<Network, NetworkSnapshot>,
}

/// The moment one network was read at.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NetworkSnapshot {
    /// The Aptos ledger version every query on this network was read at.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::serde_util::opt_u64_string"
    )]
    pub ledger_version: Option<u64>,
}

impl Snapshot {
    /// Records that `network` was read at Aptos ledger `version`.
    pub fn pin_aptos(&mut self, network: Network, version: u64) {
        self.networks.entry(network).or_default().ledger_version = Some(version);
    }

    /// The Aptos ledger version `network` was read at, if it was read.
    pub fn aptos_version(&self, network: Network) -> Option<u64> {
        self.networks.get(&network)?.ledger_version
    }

    /// Every network read, with its moment.
    pub fn networks(&self) -> impl Iterator<Item = (Network, &NetworkSnapshot)> {
        self.networks.iter().map(|(n, s)| (*n, s))
    }

    /// Whether no network was read.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }
}
