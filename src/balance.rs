//! [`Balance`]: one query's answer.

use std::time::SystemTime;

use std::sync::Arc;

use crate::amount::Amount;
use crate::metadata::TokenMetadata;

/// One balance, as read.
///
/// ```
/// # async fn run(client: tokbal::Client) -> Result<(), tokbal::Error> {
/// let balance = client.balance(&"aptos:0x1".parse()?, tokbal::At::Latest).await?;
/// println!("{} at ledger version {:?}", balance.amount, balance.ledger_version);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Balance {
    /// The amount, in the token's smallest unit.
    pub amount: Amount,
    /// For Aptos, the ledger version the balance was read at.
    pub ledger_version: Option<u64>,
    /// Through AMB, the instant the balance was read at (whole seconds).
    pub at: Option<SystemTime>,
    /// Through AMB, when the balance last changed, if the service said.
    pub last_updated: Option<SystemTime>,
    /// For chains read at a block (EVM chains, Bitcoin), the block number it was read at.
    pub block: Option<u64>,
    /// The token's symbol, name and decimals, read at the same pin, when the batch was asked
    /// for metadata ([`Client::with_metadata`](crate::Client::with_metadata)); shared by
    /// every balance of the token.
    pub token: Option<Arc<TokenMetadata>>,
}

impl Balance {
    /// The amount in whole tokens as an exact decimal string (see
    /// [`Amount::format_units`]), when the token's decimals are known.
    pub fn formatted(&self) -> Option<String> {
        let decimals = self.token.as_ref()?.decimals?;
        Some(self.amount.format_units(decimals))
    }
}

impl Balance {
    /// An Aptos balance read at `ledger_version`.
    #[cfg(feature = "aptos")]
    pub(crate) fn aptos(amount: u64, ledger_version: u64) -> Self {
        Balance {
            amount: Amount::from(amount),
            ledger_version: Some(ledger_version),
            at: None,
            last_updated: None,
            block: None,
            token: None,
        }
    }

    /// A balance read from AMB at an instant.
    #[cfg(feature = "amb")]
    pub(crate) fn amb(
        amount: Amount,
        at: Option<SystemTime>,
        last_updated: Option<SystemTime>,
    ) -> Self {
        Balance {
            amount,
            ledger_version: None,
            at,
            last_updated,
            block: None,
            token: None,
        }
    }

    /// A balance read at block `number`.
    #[cfg(any(feature = "evm", feature = "bitcoin"))]
    pub(crate) fn at_block(amount: Amount, number: u64) -> Self {
        Balance {
            amount,
            ledger_version: None,
            at: None,
            last_updated: None,
            block: Some(number),
            token: None,
        }
    }
}
