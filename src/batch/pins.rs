//! The moment each pin scope of a batch is read at, decided once and shared by every unit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::units::PinKey;
use crate::error::Error;
use crate::pin::{At, Snapshot};
use crate::query::Network;
use crate::source::Pin;

/// A scope's pin, filled once by whichever unit gets there first.
pub(crate) type PinCell = Arc<OnceCell<Result<Pin, Error>>>;

/// Shared by the units of one batch.
pub(crate) struct Pins {
    pub at: At,
    cells: Mutex<HashMap<PinKey, PinCell>>,
    snapshot: Mutex<Snapshot>,
}

impl Pins {
    pub(crate) fn new(at: At) -> Self {
        Pins {
            at,
            cells: Mutex::new(HashMap::new()),
            snapshot: Mutex::new(Snapshot::default()),
        }
    }

    /// The cell holding `key`'s pin, filled by whichever unit gets there first.
    pub(crate) fn cell(&self, key: PinKey) -> PinCell {
        let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
        cells.entry(key).or_default().clone()
    }

    /// Records that `network` was read at `pin`.
    pub(crate) fn record(&self, network: Network, pin: &Pin) {
        let mut s = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
        pin.record(&mut s, network, &self.at);
    }

    /// The snapshot so far (complete once every unit has finished).
    pub(crate) fn snapshot(&self) -> Snapshot {
        self.snapshot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
