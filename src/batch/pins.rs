//! The moment each network of a batch is read at, decided once and shared by every unit.

#[cfg(feature = "aptos")]
use std::collections::HashMap;
#[cfg(feature = "aptos")]
use std::sync::Arc;
use std::sync::Mutex;
#[cfg(feature = "amb")]
use std::time::SystemTime;

#[cfg(any(feature = "aptos", feature = "amb"))]
use tokio::sync::OnceCell;

#[cfg(feature = "aptos")]
use crate::error::Error;
use crate::pin::{At, Snapshot};
#[cfg(any(feature = "aptos", feature = "amb"))]
use crate::query::Network;

/// An Aptos network's pin: the version every read carries, and for a time pin whether the
/// time was past the tip.
#[cfg(feature = "aptos")]
#[derive(Clone, Copy, Debug)]
pub(crate) struct AptosPin {
    pub version: u64,
    pub at_tip: bool,
}

/// A network's pin, filled once by whichever unit gets there first.
#[cfg(feature = "aptos")]
type PinCell = Arc<OnceCell<Result<AptosPin, Error>>>;

/// Shared by the units of one batch.
pub(crate) struct Pins {
    #[cfg_attr(not(any(feature = "aptos", feature = "amb")), allow(dead_code))]
    pub at: At,
    #[cfg(feature = "aptos")]
    aptos: Mutex<HashMap<Network, PinCell>>,
    #[cfg(feature = "amb")]
    pub amb: OnceCell<SystemTime>,
    snapshot: Mutex<Snapshot>,
}

impl Pins {
    pub(crate) fn new(at: At) -> Self {
        Pins {
            at,
            #[cfg(feature = "aptos")]
            aptos: Mutex::new(HashMap::new()),
            #[cfg(feature = "amb")]
            amb: OnceCell::new(),
            snapshot: Mutex::new(Snapshot::default()),
        }
    }

    /// The cell holding `network`'s pin, filled by whichever unit gets there first.
    #[cfg(feature = "aptos")]
    pub(crate) fn aptos_cell(&self, network: Network) -> PinCell {
        let mut cells = self.aptos.lock().unwrap_or_else(|e| e.into_inner());
        cells.entry(network).or_default().clone()
    }

    /// Records an Aptos pin in the snapshot.
    #[cfg(feature = "aptos")]
    pub(crate) fn record_aptos(&self, network: Network, pin: AptosPin) {
        let mut s = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
        match self.at {
            At::Time(t) => s.pin_aptos_time(network, pin.version, t, pin.at_tip),
            At::Latest | At::AptosVersion(_) => s.pin_aptos(network, pin.version),
        }
    }

    /// Records the AMB instant for `network` in the snapshot.
    #[cfg(feature = "amb")]
    pub(crate) fn record_instant(&self, network: Network, at: SystemTime) {
        let mut s = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
        s.pin_instant(network, at);
    }

    /// The snapshot so far (complete once every unit has finished).
    pub(crate) fn snapshot(&self) -> Snapshot {
        self.snapshot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
