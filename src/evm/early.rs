//! An `eth_call` sent before its block is known. The request line, the headers and all of
//! the body but its end go out at once, so the connection is opened and the calldata uploaded
//! while the pin's round trip is under way; the end (the block parameter) follows when the
//! block is known. Over a network, a new connection costs round trips of its own (TCP and TLS
//! handshakes, then slow start for tens of kilobytes of calldata): here they overlap the pin.
//!
//! The body's length is declared up front, which is possible because a block named by hash
//! (EIP-1898 `{"blockHash": ..., "requireCanonical": true}`) takes the same bytes whatever the
//! block. Where the end turns out otherwise, or the early request fails in a way a retry can
//! help, the call is made again the usual way.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::rpc::{exchange_data, handed_back, push_tail, EthCallRequest, Rpc, RpcError};
use crate::error::Error;
use crate::transport::Exchange;

/// An `eth_call` under way, waiting for its block.
pub(crate) struct EarlyCall {
    head: Bytes,
    end: Option<oneshot::Sender<Bytes>>,
    exchange: Exchange<Result<Vec<u8>, RpcError>>,
}

/// The bytes that end an `eth_call` body when its block is named by hash: every block's take
/// as many.
fn end_length() -> usize {
    let mut end = Vec::new();
    push_tail(
        &mut end,
        &json!({"blockHash": format!("0x{}", "0".repeat(64)), "requireCanonical": true}),
    );
    end.len()
}

impl Rpc {
    /// Sends `request` but its end now (to be given a block named by hash by
    /// [`finish_eth_call`](Self::finish_eth_call)), after this endpoint's rate limit.
    pub(crate) fn start_eth_call(&self, request: EthCallRequest) -> EarlyCall {
        let head = Bytes::from(request.into_head());
        let (end, rest) = oneshot::channel();
        let body = TwoPartBody {
            head: Some(head.clone()),
            rest: Mutex::new(Some(rest)),
            remaining: (head.len() + end_length()) as u64,
        };
        let (http, url, limit) = (self.http.clone(), self.url.clone(), self.limit.clone());
        self.count();
        let exchange = Exchange::start(async move {
            limit.wait().await;
            exchange_data(http, url, reqwest::Body::wrap(body)).await
        });
        EarlyCall {
            head,
            end: Some(end),
            exchange,
        }
    }

    /// Ends `call` at `block` and reads its answer, handed back as [`Rpc::eth_call`]'s.
    pub(crate) async fn finish_eth_call(
        &self,
        mut call: EarlyCall,
        block: &Value,
    ) -> Result<Result<Vec<u8>, RpcError>, Error> {
        let mut end = Vec::new();
        push_tail(&mut end, block);
        let sent = end.len() == end_length()
            && call
                .end
                .take()
                .is_some_and(|sender| sender.send(Bytes::from(end)).is_ok());
        if sent {
            let answered = match (&mut call.exchange).await {
                Ok(data) => handed_back("eth_call", data),
                Err(e) => Err(e),
            };
            match answered {
                Err(e) if e.is_retryable() => {}
                done => return done,
            }
        }
        // Not sent early after all (a block not named by hash), or worth another try: the
        // usual way, retries and all.
        let head = call.head.clone();
        drop(call);
        self.eth_call(EthCallRequest::from_head(&head), block).await
    }
}

/// A body of known length sent in two parts: `head` at once, the rest when it is given. If
/// the rest's sender is dropped first, the body ends in an error and the request is abandoned.
struct TwoPartBody {
    head: Option<Bytes>,
    rest: Mutex<Option<oneshot::Receiver<Bytes>>>,
    remaining: u64,
}

impl Body for TwoPartBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(head) = self.head.take() {
            self.remaining = self.remaining.saturating_sub(head.len() as u64);
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        let mut rest = self.rest.lock().unwrap_or_else(|e| e.into_inner());
        let Some(receiver) = rest.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(receiver).poll(cx);
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(got) => {
                *rest = None;
                drop(rest);
                match got {
                    Ok(bytes) if bytes.len() as u64 == self.remaining => {
                        self.remaining = 0;
                        Poll::Ready(Some(Ok(Frame::data(bytes))))
                    }
                    Ok(_) => Poll::Ready(Some(Err(std::io::Error::other(
                        "the end of a request sent early has another length than declared",
                    )))),
                    Err(_) => Poll::Ready(Some(Err(std::io::Error::other(
                        "a request sent early was abandoned before its block was known",
                    )))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.rest.lock().is_ok_and(|rest| rest.is_none())
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

impl std::fmt::Debug for EarlyCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EarlyCall")
            .field("head_bytes", &self.head.len())
            .field("ended", &self.end.is_none())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for TwoPartBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoPartBody")
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every frame of `body`, joined; the first error if one comes.
    async fn collect(mut body: TwoPartBody) -> Result<Vec<u8>, std::io::Error> {
        let mut all = Vec::new();
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            if let Ok(data) = frame?.into_data() {
                all.extend_from_slice(&data);
            }
        }
        Ok(all)
    }

    fn body(head: &'static [u8], rest_len: usize) -> (TwoPartBody, oneshot::Sender<Bytes>) {
        let (tx, rx) = oneshot::channel();
        let body = TwoPartBody {
            head: Some(Bytes::from_static(head)),
            rest: Mutex::new(Some(rx)),
            remaining: (head.len() + rest_len) as u64,
        };
        (body, tx)
    }

    #[tokio::test]
    async fn the_body_is_its_head_then_its_end_and_declares_their_length() {
        let (b, tx) = body(b"{\"a\":", 3);
        assert_eq!(b.size_hint().exact(), Some(8));
        tx.send(Bytes::from_static(b"1]}")).unwrap();
        assert_eq!(collect(b).await.unwrap(), b"{\"a\":1]}");
    }

    #[tokio::test]
    async fn an_end_of_another_length_or_none_fails_the_body() {
        let (b, tx) = body(b"head", 3);
        tx.send(Bytes::from_static(b"toolong")).unwrap();
        assert!(collect(b).await.is_err());
        let (b, tx) = body(b"head", 3);
        drop(tx);
        assert!(
            collect(b).await.is_err(),
            "an abandoned request never completes its body"
        );
    }

    #[test]
    fn every_block_hash_ends_a_body_in_as_many_bytes() {
        for hash in [
            "0x".to_string() + &"ab".repeat(32),
            "0x".to_string() + &"0".repeat(64),
        ] {
            let mut end = Vec::new();
            push_tail(
                &mut end,
                &json!({"blockHash": hash, "requireCanonical": true}),
            );
            assert_eq!(end.len(), end_length());
        }
    }
}
