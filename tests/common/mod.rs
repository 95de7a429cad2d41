//! Test helpers: a canned HTTP server on 127.0.0.1, and access to the recorded upstream bodies.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the canned server delivers an answer's body.
#[derive(Clone, Debug, PartialEq)]
pub enum Delivery {
    /// The whole body, with its length declared.
    Whole,
    /// The full length declared, then only this many bytes, then the connection closes.
    CutAfter(usize),
    /// The full length declared, then this many bytes, then nothing, forever.
    HangAfter(usize),
    /// No declared length: chunked transfer encoding, in chunks of this size.
    Chunked(usize),
}

/// One answer the canned server gives.
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delivery: Delivery,
}

impl Canned {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Canned {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
            delivery: Delivery::Whole,
        }
    }

    pub fn delivered(mut self, delivery: Delivery) -> Self {
        self.delivery = delivery;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds the seven ledger headers a node sends on every answer.
    pub fn ledger_headers(self, version: u64, oldest: u64) -> Self {
        self.header("x-aptos-chain-id", "4")
            .header("x-aptos-ledger-version", &version.to_string())
            .header("x-aptos-ledger-oldest-version", &oldest.to_string())
            .header("x-aptos-ledger-timestampusec", "1767225600000000")
            .header("x-aptos-epoch", "1")
            .header("x-aptos-block-height", &(version / 3).to_string())
            .header("x-aptos-oldest-block-height", &(oldest / 3).to_string())
    }
}

/// A server on 127.0.0.1 that answers each request with what `answer` picks for its head
/// (request line and headers), and records every head.
pub struct CannedServer {
    pub base_url: String,
    pub addr: std::net::SocketAddr,
    pub requests: Arc<Mutex<Vec<String>>>,
    served: Arc<AtomicUsize>,
}

impl CannedServer {
    /// Answers the n-th request with the n-th answer (the last one repeats).
    pub async fn start(answers: Vec<Canned>) -> CannedServer {
        let served = Arc::new(AtomicUsize::new(0));
        let count = served.clone();
        Self::route_counted(
            move |_| {
                let n = count.fetch_add(1, Ordering::SeqCst);
                answers[n.min(answers.len() - 1)].clone()
            },
            served,
            "127.0.0.1:0",
        )
        .await
    }

    /// Answers each request with `answer(head)`.
    pub async fn route(answer: impl Fn(&str) -> Canned + Send + Sync + 'static) -> CannedServer {
        Self::route_on("127.0.0.1:0", answer).await
    }

    /// Like [`route`](Self::route), bound to `bind` (another loopback address, say).
    pub async fn route_on(
        bind: &str,
        answer: impl Fn(&str) -> Canned + Send + Sync + 'static,
    ) -> CannedServer {
        let served = Arc::new(AtomicUsize::new(0));
        let count = served.clone();
        Self::route_counted(
            move |head| {
                count.fetch_add(1, Ordering::SeqCst);
                answer(head)
            },
            served,
            bind,
        )
        .await
    }

    async fn route_counted(
        answer: impl Fn(&str) -> Canned + Send + Sync + 'static,
        served: Arc<AtomicUsize>,
        bind: &str,
    ) -> CannedServer {
        let listener = TcpListener::bind(bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let reqs = requests.clone();
        let answer = Arc::new(answer);
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let reqs = reqs.clone();
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                        if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            break;
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).to_string();
                    reqs.lock().unwrap().push(head.clone());
                    let a = answer(&head);
                    let mut out = format!("HTTP/1.1 {} X\r\n", a.status);
                    for (k, v) in &a.headers {
                        out.push_str(&format!("{k}: {v}\r\n"));
                    }
                    if let Delivery::Chunked(_) = a.delivery {
                        out.push_str("transfer-encoding: chunked\r\n");
                    } else {
                        out.push_str(&format!("content-length: {}\r\n", a.body.len()));
                    }
                    out.push_str("connection: close\r\n\r\n");
                    if sock.write_all(out.as_bytes()).await.is_err() {
                        return;
                    }
                    match a.delivery {
                        Delivery::Whole => {
                            let _ = sock.write_all(&a.body).await;
                        }
                        Delivery::CutAfter(n) => {
                            let _ = sock.write_all(&a.body[..n.min(a.body.len())]).await;
                        }
                        Delivery::HangAfter(n) => {
                            let _ = sock.write_all(&a.body[..n.min(a.body.len())]).await;
                            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                        }
                        Delivery::Chunked(size) => {
                            for part in a.body.chunks(size.max(1)) {
                                let frame = format!("{:x}\r\n", part.len());
                                if sock.write_all(frame.as_bytes()).await.is_err()
                                    || sock.write_all(part).await.is_err()
                                    || sock.write_all(b"\r\n").await.is_err()
                                {
                                    return;
                                }
                            }
                            let _ = sock.write_all(b"0\r\n\r\n").await;
                        }
                    }
                    let _ = sock.shutdown().await;
                });
            }
        });
        CannedServer {
            base_url: format!("http://{addr}/v1"),
            addr,
            requests,
            served,
        }
    }

    pub fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }
}

/// The recorded upstream bodies, when `../shared/upstream/aptos/goldens` is beside the crate.
pub fn goldens_dir() -> Option<PathBuf> {
    // The workspace root's sibling, whichever crate of the workspace includes this file.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|d| d.join("../shared/upstream/aptos/goldens"))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| PathBuf::from("../shared/upstream/aptos/goldens"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

pub fn golden(name: &str) -> Option<Vec<u8>> {
    let dir = goldens_dir()?;
    Some(std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")))
}
