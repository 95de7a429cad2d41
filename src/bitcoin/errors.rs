//! Turns what an Esplora server (or a proxy in front of it) answers into
//! [`tokbal::Error`](Error).
//!
//! Esplora has no error codes: every error is an HTTP status with a short plain-text message
//! ("Invalid Bitcoin address", "Block not found"). The kind follows from the status and from
//! what was asked ([`Subject`]): a 404 for a height is a block not mined yet, for a hash a
//! block the server does not know. Messages never hold the endpoint URL, which may carry a
//! provider's key in its path.

use progenitor_client::ByteStream;
use reqwest::header::HeaderMap;

use super::hooks::MAX_ERROR_BODY;
use crate::error::{quote, Error, ErrorKind};
use crate::retry::retry_after;

/// The generated client's error type: Esplora's error bodies are plain text, handed back
/// undecoded.
pub(crate) type GeneratedError = progenitor_client::Error<ByteStream>;

/// What a request asked about: names it in messages, and decides what a 400 or a 404 means.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Subject<'a> {
    /// `GET /blocks/tip/height`.
    TipHeight,
    /// `GET /blocks/tip/hash`.
    TipHash,
    /// `GET /block-height/{height}`.
    HashAtHeight(u64),
    /// `GET /block/{hash}`.
    Block(&'a str),
    /// `GET /blocks[/{start_height}]`: from the tip when `None`.
    Blocks(Option<u64>),
    /// `GET /address/{address}`.
    AddressStats(&'a str),
    /// `GET /address/{address}/txs/chain[/{last_seen_txid}]`.
    AddressTxs(&'a str),
}

impl Subject<'_> {
    /// What was being read, for the start of a message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Subject::TipHeight => "Esplora tip height".into(),
            Subject::TipHash => "Esplora tip hash".into(),
            Subject::HashAtHeight(h) => format!("Esplora block hash at height {h}"),
            Subject::Block(hash) => format!("Esplora block {}", quote(hash)),
            Subject::Blocks(None) => "Esplora newest blocks".into(),
            Subject::Blocks(Some(h)) => format!("Esplora blocks from height {h} down"),
            Subject::AddressStats(a) => format!("Esplora statistics of address {}", quote(a)),
            Subject::AddressTxs(a) => {
                format!("Esplora confirmed transactions of address {}", quote(a))
            }
        }
    }
}

/// An error of `kind` raised by the Esplora source.
///
/// There is no `Backend` for Esplora yet; when one is added, this is where it is set.
pub(crate) fn esplora_error(kind: ErrorKind, message: impl Into<String>) -> Error {
    Error::new(kind, message).with_backend(crate::query::Backend::Esplora)
}

/// The kind for an HTTP status, whatever was asked.
pub(crate) fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        400 | 413 | 414 | 422 => ErrorKind::InvalidInput,
        401 | 403 => ErrorKind::AccessDenied,
        404 => ErrorKind::NotFound,
        408 => ErrorKind::Timeout,
        429 => ErrorKind::Throttled,
        500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::Decode,
    }
}

/// Maps an answer with an error status, given its headers and (the start of) its body.
pub(crate) fn from_status(
    subject: Subject<'_>,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> Error {
    let what = subject.describe();
    let text = crate::transport::excerpt(body);
    let said = if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    };
    let e = match (status, subject) {
        (400, Subject::AddressStats(a) | Subject::AddressTxs(a)) => Error::invalid_input(
            "address",
            a,
            format!("the Esplora server refused it (HTTP 400{said})"),
        ),
        (400, Subject::Block(hash)) => Error::invalid_input(
            "block_hash",
            hash,
            format!("the Esplora server refused it (HTTP 400{said})"),
        ),
        (404, Subject::HashAtHeight(h) | Subject::Blocks(Some(h))) => esplora_error(
            ErrorKind::NotYetAvailable,
            format!("{what}: the server has no block at height {h} yet, past its tip (HTTP 404{said})"),
        ),
        (404, Subject::Block(_)) => esplora_error(
            ErrorKind::NotFound,
            format!("{what}: the server knows no such block (HTTP 404{said})"),
        ),
        (404, _) => esplora_error(
            ErrorKind::NotFound,
            format!("{what}: HTTP 404{said}; is the endpoint the base of an Esplora API (the part before /blocks, /block and /address)?"),
        ),
        (300..=399, _) => esplora_error(
            ErrorKind::Decode,
            format!("{what}: HTTP {status} redirect to another host; tokbal follows redirects only within the same scheme, host and port"),
        ),
        (200..=299, _) => esplora_error(
            ErrorKind::Decode,
            format!("{what}: HTTP {status}, an answer the API does not describe{said}"),
        ),
        _ => esplora_error(kind_for_status(status), format!("{what}: HTTP {status}{said}")),
    };
    e.with_status(status).with_retry_after(retry_after(headers))
}

/// Maps a failed call of the generated client.
pub(crate) async fn map_error(err: GeneratedError, subject: Subject<'_>) -> Error {
    let what = subject.describe();
    match err {
        progenitor_client::Error::ErrorResponse(rv) => {
            let status = rv.status().as_u16();
            let headers = rv.headers().clone();
            // The hooks read the body into memory already; this reads at most that much.
            let body = match read_stream(rv.into_inner()).await {
                Ok(body) => body,
                Err(e) => return transport(e, subject),
            };
            from_status(subject, status, &headers, &body)
        }
        progenitor_client::Error::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = crate::transport::read_limited(response, MAX_ERROR_BODY)
                .await
                .unwrap_or_default();
            from_status(subject, status, &headers, &body)
        }
        progenitor_client::Error::CommunicationError(source)
        | progenitor_client::Error::ResponseBodyError(source)
        | progenitor_client::Error::InvalidUpgrade(source) => transport(source, subject),
        progenitor_client::Error::InvalidResponsePayload(bytes, source) => esplora_error(
            ErrorKind::Decode,
            format!(
                "{what}: the answer is not what the API describes ({source}): {}",
                crate::transport::excerpt(&bytes)
            ),
        )
        .with_source(source),
        progenitor_client::Error::InvalidRequest(message) => {
            esplora_error(ErrorKind::InvalidInput, format!("{what}: {message}"))
        }
        // Only tokbal's own hooks raise these: an answer refused before decoding.
        progenitor_client::Error::Custom(message) => {
            esplora_error(ErrorKind::Decode, format!("{what}: {message}"))
        }
    }
}

/// Maps a request that failed before a whole answer arrived. reqwest's own message names
/// the URL, so the error keeps the cause without it.
pub(crate) fn transport(source: reqwest::Error, subject: Subject<'_>) -> Error {
    let what = subject.describe();
    let kind = if source.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Transport
    };
    let what_failed = if source.is_timeout() {
        "timed out"
    } else if source.is_connect() {
        "could not connect"
    } else if source.is_body() || source.is_decode() {
        "the connection broke while the answer was being read"
    } else {
        "connection failed"
    };
    esplora_error(kind, format!("{what}: {what_failed}")).with_source(source.without_url())
}

/// Reads an error body handed back by the generated client, at most [`MAX_ERROR_BODY`].
async fn read_stream(stream: ByteStream) -> reqwest::Result<Vec<u8>> {
    use futures::StreamExt;
    let mut stream = stream.into_inner();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let room = MAX_ERROR_BODY - buf.len();
        if chunk.len() >= room {
            buf.extend_from_slice(&chunk[..room]);
            break;
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        let h = HeaderMap::new();
        let k = |status, subject| from_status(subject, status, &h, b"x").kind();
        let a = Subject::AddressStats("bc1qxyz");
        assert_eq!(k(400, a), ErrorKind::InvalidInput);
        assert_eq!(k(404, a), ErrorKind::NotFound);
        assert_eq!(k(404, Subject::HashAtHeight(9)), ErrorKind::NotYetAvailable);
        assert_eq!(k(404, Subject::Blocks(Some(9))), ErrorKind::NotYetAvailable);
        assert_eq!(k(404, Subject::Blocks(None)), ErrorKind::NotFound);
        assert_eq!(k(404, Subject::Block("00")), ErrorKind::NotFound);
        assert_eq!(k(429, a), ErrorKind::Throttled);
        assert_eq!(k(401, a), ErrorKind::AccessDenied);
        assert_eq!(k(408, a), ErrorKind::Timeout);
        for s in [500, 502, 503, 504, 599] {
            assert_eq!(k(s, a), ErrorKind::Unavailable, "{s}");
        }
        assert_eq!(k(302, a), ErrorKind::Decode);
        assert_eq!(k(418, a), ErrorKind::Decode);
    }

    #[test]
    fn a_refused_address_is_named() {
        let e = from_status(
            Subject::AddressTxs("bc1qnope"),
            400,
            &HeaderMap::new(),
            b"Invalid Bitcoin address\n",
        );
        assert_eq!(e.field(), Some("address"));
        assert_eq!(e.status(), Some(400));
        assert!(e.to_string().contains("\"bc1qnope\""), "{e}");
        assert!(e.to_string().contains("Invalid Bitcoin address"), "{e}");
        assert!(!e.is_retryable());
    }

    #[test]
    fn excerpts_are_short_and_printable() {
        assert_eq!(
            crate::transport::excerpt(b"  Block not found\r\n"),
            "Block not found"
        );
        assert_eq!(crate::transport::excerpt(b"a\x1b[31mb"), "a [31mb");
        let long = crate::transport::excerpt("x".repeat(10_000).as_bytes());
        assert_eq!(long.len(), 203);
    }
}
