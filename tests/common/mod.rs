//! Test helpers: a canned HTTP server on 127.0.0.1, and access to the recorded upstream bodies.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One answer the canned server gives.
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Canned {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Canned {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
        }
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

/// A server on 127.0.0.1 that answers the n-th request with the n-th canned answer (the
/// last one repeats) and records each request line.
pub struct CannedServer {
    pub base_url: String,
    pub requests: Arc<Mutex<Vec<String>>>,
    served: Arc<AtomicUsize>,
}

impl CannedServer {
    pub async fn start(answers: Vec<Canned>) -> CannedServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let served = Arc::new(AtomicUsize::new(0));
        let (reqs, count) = (requests.clone(), served.clone());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let reqs = reqs.clone();
                let count = count.clone();
                let answers = answers.clone();
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
                    let text = String::from_utf8_lossy(&buf);
                    reqs.lock().unwrap().push(text.to_string());
                    let n = count.fetch_add(1, Ordering::SeqCst);
                    let a = &answers[n.min(answers.len() - 1)];
                    let mut out = format!("HTTP/1.1 {} X\r\n", a.status);
                    for (k, v) in &a.headers {
                        out.push_str(&format!("{k}: {v}\r\n"));
                    }
                    out.push_str(&format!(
                        "content-length: {}\r\nconnection: close\r\n\r\n",
                        a.body.len()
                    ));
                    let _ = sock.write_all(out.as_bytes()).await;
                    let _ = sock.write_all(&a.body).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        CannedServer {
            base_url: format!("http://{addr}/v1"),
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
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/upstream/aptos/goldens");
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
