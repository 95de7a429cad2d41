//! Pinning: the moment a whole batch is read at ([`At`]), and the one it was read at
//! ([`Snapshot`]).

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::query::Network;

/// When to read a batch's balances. Every query in a batch is read at the same moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum At {
    /// The latest state, resolved once per network: an Aptos ledger version taken from the
    /// first answer, an EVM block (number and hash) or a Bitcoin height taken before the first
    /// read, an AMB instant taken from the first answer. Every other read of the batch
    /// carries it.
    #[default]
    Latest,
    /// An explicit Aptos ledger version, used as given for every Aptos query. Other networks
    /// are read at their latest state.
    AptosVersion(u64),
    /// Every EVM network at its `finalized` block; Aptos at its latest version (its commits
    /// are final); AMB at the latest instant. The snapshot says which networks were read
    /// finalized.
    Finalized,
    /// One instant for every chain: the last block at or before it on each, to the second
    /// through AMB. On Bitcoin, whose header times may go backwards from one block to the
    /// next, that is the largest height whose header time is at or before the instant
    /// (found by median time past, which never decreases: consensus keeps every header time
    /// above the median of the eleven before it).
    Time(SystemTime),
    /// A chosen block per network: an EVM network at that block number, an Aptos network at
    /// that ledger version. Networks left out are read at their latest state, pinned once.
    Blocks(BTreeMap<Network, u64>),
    /// Exactly the pins of a snapshot taken before, by this process or another (a
    /// [`Snapshot`] serializes to JSON and back): an EVM network at its block (by hash), an
    /// Aptos network at its ledger version, AMB at its instant. Networks the snapshot does not
    /// name are pinned as usual, at their latest state.
    Snapshot(Snapshot),
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Snapshot {
    networks: BTreeMap<Network, NetworkSnapshot>,
}

/// Reads what `Serialize` writes; a Bitcoin block hash written with `0x` (as snapshots once
/// were) or in upper case reads as Bitcoin software writes it: 64 lower-case hex digits.
impl<'de> Deserialize<'de> for Snapshot {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut networks = BTreeMap::<Network, NetworkSnapshot>::deserialize(d)?;
        for (network, entry) in &mut networks {
            if network.chain() != crate::query::Chain::Bitcoin {
                continue;
            }
            if let Some(hash) = &mut entry.block_hash {
                let bare = hash
                    .strip_prefix("0x")
                    .or_else(|| hash.strip_prefix("0X"))
                    .unwrap_or(hash);
                *hash = bare.to_ascii_lowercase();
            }
        }
        Ok(Snapshot { networks })
    }
}

/// The moment one network was read at.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct NetworkSnapshot {
    /// The Aptos ledger version every query on this network was read at.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::serde_util::opt_u64_string",
        deserialize_with = "opt_u64_from_string",
        default
    )]
    #[schemars(with = "Option<String>")]
    pub ledger_version: Option<u64>,
    /// The instant every query on this network was read at (RFC 3339).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_rfc3339",
        deserialize_with = "opt_rfc3339_from",
        default
    )]
    #[schemars(with = "Option<String>")]
    pub at: Option<SystemTime>,
    /// For a network read at a block (EVM chains, Bitcoin): its number, as a decimal string.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::serde_util::opt_u64_string",
        deserialize_with = "opt_u64_from_string",
        default
    )]
    #[schemars(with = "Option<String>")]
    pub block: Option<u64>,
    /// The hash of that block: `0x` and 64 hex digits on EVM chains; 64 hex digits without
    /// `0x` on Bitcoin, as Bitcoin software writes it (one written with `0x` reads, see
    /// [`Snapshot::from_json`]).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub block_hash: Option<String>,
    /// That block's timestamp (RFC 3339).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_rfc3339",
        deserialize_with = "opt_rfc3339_from",
        default
    )]
    #[schemars(with = "Option<String>")]
    pub block_time: Option<SystemTime>,
    /// For a network read at a time: the time is at or after the node's latest state, so
    /// the read is at the tip.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub at_tip: bool,
    /// The network was read at its finalized block.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub finalized: bool,
}

fn opt_u64_from_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(t)) => t.parse::<u64>().map(Some).map_err(|_| {
            serde::de::Error::custom(format!(
                "{t:?} is not a block number or ledger version (a decimal from 0 to 2^64-1)"
            ))
        }),
        Some(other) => Err(serde::de::Error::custom(format!(
            "a block number or ledger version is written as a decimal string (\"123\"), not {other}"
        ))),
    }
}

fn opt_rfc3339_from<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(t)) => crate::time::parse_rfc3339("time", &t)
            .map(Some)
            .map_err(serde::de::Error::custom),
        Some(other) => Err(serde::de::Error::custom(format!(
            "a time is written as an RFC 3339 string (\"2026-01-01T00:00:00Z\"), not {other}"
        ))),
    }
}

fn opt_rfc3339<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&crate::time::format_rfc3339(*t)),
        None => s.serialize_none(),
    }
}

impl Snapshot {
    /// Records that `network` was read at Aptos ledger `version`.
    pub fn pin_aptos(&mut self, network: Network, version: u64) {
        self.networks.entry(network).or_default().ledger_version = Some(version);
    }

    /// Records that `network` was read at instant `at`.
    pub fn pin_instant(&mut self, network: Network, at: SystemTime) {
        self.networks.entry(network).or_default().at = Some(at);
    }

    /// Records that Aptos `network` was read at `version`, the last version at or before
    /// `at`; `at_tip` when `at` is past the node's latest version.
    pub fn pin_aptos_time(&mut self, network: Network, version: u64, at: SystemTime, at_tip: bool) {
        let n = self.networks.entry(network).or_default();
        n.ledger_version = Some(version);
        n.at = Some(at);
        n.at_tip = at_tip;
    }

    /// Records that `network` was read at block `number` with `hash` and timestamp `time`.
    /// `at` is the instant asked for, when the block was found for a time; `at_tip` when that
    /// instant is past the chain's tip; `finalized` when the block is the finalized one.
    pub fn pin_block(&mut self, network: Network, block: BlockSnapshot) {
        let n = self.networks.entry(network).or_default();
        n.block = Some(block.number);
        n.block_hash = Some(block.hash);
        n.block_time = Some(block.time);
        n.at = block.at;
        n.at_tip = block.at_tip;
        n.finalized = block.finalized;
    }

    /// The block `network` was read at, if it was read at one.
    pub fn block(&self, network: Network) -> Option<u64> {
        self.networks.get(&network)?.block
    }

    /// The Aptos ledger version `network` was read at, if it was read.
    pub fn aptos_version(&self, network: Network) -> Option<u64> {
        self.networks.get(&network)?.ledger_version
    }

    /// The instant `network` was read at, if it was read at one.
    pub fn instant(&self, network: Network) -> Option<SystemTime> {
        self.networks.get(&network)?.at
    }

    /// Every network read, with its moment.
    pub fn networks(&self) -> impl Iterator<Item = (Network, &NetworkSnapshot)> {
        self.networks.iter().map(|(n, s)| (*n, s))
    }

    /// Takes `networks`' entries from `other` (after they were read again).
    pub(crate) fn replace_from(
        &mut self,
        other: &Snapshot,
        networks: &std::collections::HashSet<Network>,
    ) {
        for network in networks {
            match other.networks.get(network) {
                Some(s) => {
                    self.networks.insert(*network, s.clone());
                }
                None => {
                    self.networks.remove(network);
                }
            }
        }
    }

    /// Records `entry` as what `network` was read at.
    pub(crate) fn insert(&mut self, network: Network, entry: NetworkSnapshot) {
        self.networks.insert(network, entry);
    }

    /// What `network` was read at, if it was read.
    pub fn get(&self, network: Network) -> Option<&NetworkSnapshot> {
        self.networks.get(&network)
    }

    /// Reads a snapshot from its JSON form (as printed by `tokbal pin`, or in a batch
    /// document); the error says what is wrong and where. A Bitcoin block hash written with
    /// `0x` (as snapshots once were) reads as the hash without it, in lower case.
    ///
    /// ```
    /// use tokbal::{Network, Snapshot};
    /// let s = Snapshot::from_json(r#"{"base": {"block": "7", "block_hash": "0x0a"}}"#).unwrap();
    /// assert_eq!(s.block(Network::Base), Some(7));
    /// assert!(Snapshot::from_json(r#"{"base": {"block": 7}}"#).is_err());
    /// let hash = "00000000000000000000d5a4e2d3c7b1f8a9e6c5b4a3928170f6e5d4c3b2a190";
    /// let s = Snapshot::from_json(&format!(r#"{{"bitcoin": {{"block_hash": "0x{hash}"}}}}"#)).unwrap();
    /// let entry = s.get(Network::BitcoinMainnet).unwrap();
    /// assert_eq!(entry.block_hash.as_deref(), Some(hash));
    /// ```
    pub fn from_json(text: &str) -> Result<Snapshot, crate::Error> {
        serde_json::from_str(text).map_err(|e| {
            crate::Error::new(
                crate::ErrorKind::InvalidInput,
                format!("not a snapshot: {e}"),
            )
        })
    }

    /// Whether no network was read.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }
}

/// A block a network was read at, for [`Snapshot::pin_block`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlockSnapshot {
    /// The block number.
    pub number: u64,
    /// The block hash: `0x` and 64 hex digits on EVM chains, 64 hex digits without `0x` on
    /// Bitcoin.
    pub hash: String,
    /// The block's timestamp.
    pub time: SystemTime,
    /// The instant asked for, when the block was found for a time.
    pub at: Option<SystemTime>,
    /// The instant asked for is past the chain's tip: the tip was read.
    pub at_tip: bool,
    /// The block is the network's finalized block.
    pub finalized: bool,
}

impl BlockSnapshot {
    /// A block read as it is (the latest, or one chosen by number).
    pub fn new(number: u64, hash: impl Into<String>, time: SystemTime) -> Self {
        BlockSnapshot {
            number,
            hash: hash.into(),
            time,
            at: None,
            at_tip: false,
            finalized: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn a_snapshot_reads_back_what_it_wrote() {
        let t = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let mut s = Snapshot::default();
        s.pin_aptos_time(Network::AptosMainnet, 85_445, t, false);
        s.pin_instant(Network::BitcoinMainnet, t);
        let mut b = BlockSnapshot::new(u64::MAX, format!("0x{}", "ab".repeat(32)), t);
        b.finalized = true;
        s.pin_block(Network::Evm(31337), b);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(Snapshot::from_json(&json).unwrap(), s, "{json}");
    }

    #[test]
    fn bitcoin_hashes_read_without_0x_and_evm_hashes_keep_it() {
        let hash = "000000000000000000020b1c3e5d7f9a0b2c4d6e8f0a1b3c5d7e9f0a2b4c6d8e";
        let t = "2026-01-01T00:00:00Z";
        for written in [
            format!("0x{hash}"),
            format!("0X{hash}"),
            format!("0x{}", hash.to_uppercase()),
            hash.to_string(),
        ] {
            let text = format!(
                r#"{{"bitcoin": {{"block": "9", "block_hash": "{written}", "block_time": "{t}"}},
                    "base": {{"block": "9", "block_hash": "0x{hash}", "block_time": "{t}"}}}}"#
            );
            let s = Snapshot::from_json(&text).unwrap();
            let got = |n| s.get(n).unwrap().block_hash.clone().unwrap();
            assert_eq!(got(Network::BitcoinMainnet), hash, "{written}");
            assert_eq!(got(Network::Base), format!("0x{hash}"));
        }
    }

    #[test]
    fn malformed_snapshots_say_what_is_wrong() {
        for (text, words) in [
            (r#"{"base": {"block": 7}}"#, "decimal string"),
            (r#"{"base": {"block": "-1"}}"#, "not a block number"),
            (r#"{"nowhere": {}}"#, "unknown network"),
            (r#"{"base": {"blocks": "1"}}"#, "unknown field"),
            (r#"{"base": {"block_time": "yesterday"}}"#, "yesterday"),
            (r#"[1, 2]"#, "not a snapshot"),
        ] {
            let e = Snapshot::from_json(text).unwrap_err();
            assert!(e.to_string().contains(words), "{text}: {e}");
        }
    }
}
