//! Running a batch's units with bounded concurrency, the first one started first: like
//! `buffer_unordered`, except that each poll starts at most one new unit before polling the
//! running ones. `buffer_unordered` fills its whole buffer before polling any of it, so the
//! first unit's request (the one that pins its network) would wait until the units behind it
//! had been grouped from the input; here it is on its way first.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{Fuse, FuturesUnordered, Stream, StreamExt};

/// Runs the futures `units` yields, at most `max` at once, yielding their outputs as they
/// complete.
pub(crate) fn run_buffered<St>(units: St, max: usize) -> Buffered<St>
where
    St: Stream,
    St::Item: Future,
{
    Buffered {
        units: units.fuse(),
        running: FuturesUnordered::new(),
        max: max.max(1),
    }
}

/// The stream [`run_buffered`] returns.
#[must_use = "streams do nothing unless polled"]
pub(crate) struct Buffered<St: Stream>
where
    St::Item: Future,
{
    units: Fuse<St>,
    running: FuturesUnordered<St::Item>,
    max: usize,
}

impl<St> Stream for Buffered<St>
where
    St: Stream + Unpin,
    St::Item: Future,
{
    type Item = <St::Item as Future>::Output;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            // Start one more unit if there is room, then poll the running ones (the new one
            // among them), so that each unit's first step comes before the next unit exists.
            let mut started = false;
            if this.running.len() < this.max {
                if let Poll::Ready(Some(unit)) = this.units.poll_next_unpin(cx) {
                    this.running.push(unit);
                    started = true;
                }
            }
            match this.running.poll_next_unpin(cx) {
                Poll::Ready(Some(output)) => return Poll::Ready(Some(output)),
                Poll::Ready(None) if this.units.is_done() => return Poll::Ready(None),
                // Nothing running and nothing started: the units are not ready yet.
                Poll::Ready(None) if !started => return Poll::Pending,
                Poll::Pending if !started || this.running.len() >= this.max => {
                    return Poll::Pending
                }
                // Room left and units to start: start the next one.
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::stream;
    use std::sync::{Arc, Mutex};

    #[tokio::test]
    async fn yields_every_output_with_at_most_max_running() {
        let running = Arc::new(Mutex::new((0usize, 0usize)));
        let units = stream::iter(0..50u64).map(|i| {
            let running = running.clone();
            async move {
                {
                    let mut r = running.lock().unwrap();
                    r.0 += 1;
                    r.1 = r.1.max(r.0);
                }
                tokio::time::sleep(std::time::Duration::from_millis(i % 3)).await;
                running.lock().unwrap().0 -= 1;
                i
            }
        });
        let mut out: Vec<u64> = run_buffered(units, 7).collect().await;
        out.sort_unstable();
        assert_eq!(out, (0..50).collect::<Vec<_>>());
        assert!(
            running.lock().unwrap().1 <= 7,
            "{:?}",
            running.lock().unwrap()
        );
        assert_eq!(running.lock().unwrap().1, 7, "the buffer fills up");
    }

    #[tokio::test]
    async fn the_first_unit_runs_before_the_second_is_made() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let units = stream::iter(0..3).map(|i| {
            log.lock().unwrap().push(format!("made {i}"));
            let log = log.clone();
            async move {
                log.lock().unwrap().push(format!("ran {i}"));
            }
        });
        run_buffered(units, 10).collect::<Vec<()>>().await;
        assert_eq!(
            *log.lock().unwrap(),
            ["made 0", "ran 0", "made 1", "ran 1", "made 2", "ran 2"]
        );
    }

    #[tokio::test]
    async fn an_empty_input_ends_at_once() {
        let units = stream::iter(Vec::<std::future::Ready<u8>>::new());
        assert_eq!(run_buffered(units, 4).count().await, 0);
    }
}
