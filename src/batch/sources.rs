//! The sources a client reads from, and which one serves each network.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::error::Error;
use crate::query::Network;
use crate::source::Source;

/// Every source of a client, and the one serving each network.
#[derive(Clone, Default)]
pub(crate) struct Sources {
    list: Vec<Arc<dyn Source>>,
    route: BTreeMap<Network, usize>,
}

impl Sources {
    /// Registers `source` as the one serving `networks` (replacing an earlier route).
    pub(crate) fn add(
        &mut self,
        source: Arc<dyn Source>,
        networks: impl IntoIterator<Item = Network>,
    ) {
        self.list.push(source);
        let index = self.list.len() - 1;
        for network in networks {
            self.route.insert(network, index);
        }
    }

    /// The source serving `network`, with its index; an `unsupported` error naming the
    /// feature to enable when this build has none.
    pub(crate) fn for_network(&self, network: Network) -> Result<(usize, &dyn Source), Error> {
        let index = *self.route.get(&network).ok_or_else(|| unrouted(network))?;
        let source = self
            .list
            .get(index)
            .ok_or_else(|| network.backend().not_compiled(network))?;
        Ok((index, source.as_ref()))
    }

    /// The registered source of type `S`, if any.
    pub(crate) fn find<S: Source>(&self) -> Option<&S> {
        self.list
            .iter()
            .find_map(|s| (s.as_ref() as &dyn std::any::Any).downcast_ref::<S>())
    }

    /// The source at `index` (as given by [`for_network`](Self::for_network)).
    pub(crate) fn get(&self, index: usize) -> Option<&dyn Source> {
        self.list.get(index).map(|s| s.as_ref())
    }
}

impl fmt::Debug for Sources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.route
                    .iter()
                    .filter_map(|(n, i)| Some((n.name(), self.list.get(*i)?.backend()))),
            )
            .finish()
    }
}

/// Why no source serves `network`: its source is compiled out (naming the feature), or
/// nothing was configured for it (an EVM chain without a public default endpoint).
fn unrouted(network: Network) -> Error {
    let backend = network.backend();
    if !backend.is_compiled() {
        return backend.not_compiled(network);
    }
    Error::new(
        crate::error::ErrorKind::Unsupported,
        format!(
            "{network}: no endpoint is configured for this network; give one with \
             ClientBuilder::endpoint (CLI: --endpoint {network}=URL)"
        ),
    )
    .with_backend(backend)
}
