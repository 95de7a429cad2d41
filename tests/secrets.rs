//! Secrets (the Aptos API key, AWS credentials) never appear in `Debug`, `Display`, error
//! messages or tracing output, at any level, on success or on any failure.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokbal::amb::AmbCredentials;
use tokbal::aptos::ApiKey;
use tokbal::retry::RetryPolicy;
use tokbal::{At, Client, Query};
use tokbal_devnet::{Devnet, TEST_ACCESS_KEY_ID};

const API_KEY: &str = "aptoslabs_SEKRIT_api_key_5f3a";
const AWS_SECRET: &str = "aws/SEKRIT/secret+access+key+7c1d";
const SESSION: &str = "SEKRIT-session-token-9e2b";

/// Every tracing event of this test binary, at every level, as text.
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Writer(sink.clone()))
            .init();
        log
    })
}

struct Writer(Arc<Mutex<Vec<u8>>>);

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn assert_clean(what: &str, text: &str) {
    for secret in [API_KEY, AWS_SECRET, SESSION, "SEKRIT"] {
        assert!(!text.contains(secret), "{what} contains a secret: {text}");
    }
}

fn queries() -> Vec<Query> {
    [
        "aptos:0xa",
        "aptos:0xb/0x1::coin::Missing<u8>",
        &format!("ethereum:0x{}", "1".repeat(40)),
        &format!("ethereum:0x{}/erc20:0x{}", "1".repeat(40), "2".repeat(40)),
    ]
    .iter()
    .map(|q| q.parse().unwrap())
    .collect()
}

#[tokio::test]
async fn no_secret_in_debug_display_errors_or_logs() {
    let log = captured();
    let net = Devnet::builder().start().await.unwrap();
    net.amb().add_access_key(TEST_ACCESS_KEY_ID, AWS_SECRET);
    let builder = || {
        Client::builder()
            .aptos_url(net.aptos_url())
            .aptos_api_key(Some(ApiKey::new(API_KEY)))
            .amb_url(net.amb_url())
            .timeout(Duration::from_secs(5))
            .retry_policy(
                RetryPolicy::default()
                    .with_max_attempts(2)
                    .with_min_delay(Duration::from_millis(1)),
            )
    };
    // Good credentials, credentials with a session token (refused by the devnet), and a wrong
    // secret: success, access denied, and signature failures all go through the logs.
    let clients = [
        builder()
            .amb_credentials(Some(AmbCredentials::new(
                TEST_ACCESS_KEY_ID,
                AWS_SECRET,
                None,
            )))
            .build()
            .unwrap(),
        builder()
            .amb_credentials(Some(AmbCredentials::new(
                TEST_ACCESS_KEY_ID,
                AWS_SECRET,
                Some(SESSION.to_string()),
            )))
            .build()
            .unwrap(),
        builder()
            .amb_credentials(Some(AmbCredentials::new(
                TEST_ACCESS_KEY_ID,
                "SEKRIT-wrong",
                None,
            )))
            .build()
            .unwrap(),
    ];
    let mut texts = Vec::new();
    for (i, client) in clients.iter().enumerate() {
        // Faults on both halves, so that error paths are logged too.
        net.aptos().faults().fail_next(1, 503);
        net.amb().faults().throttle_next(1);
        net.amb().faults().set_retry_after_secs(0);
        let out = client.balances(&queries(), At::Latest).await;
        texts.push(format!("{client:?}"));
        texts.push(format!("{out:?}"));
        for r in &out.results {
            match r {
                Ok(b) => texts.push(format!("{b:?}")),
                Err(e) => {
                    texts.push(format!("{e}"));
                    texts.push(format!("{e:?}"));
                    let mut source = std::error::Error::source(e);
                    while let Some(s) = source {
                        texts.push(format!("{s}"));
                        texts.push(format!("{s:?}"));
                        source = s.source();
                    }
                }
            }
        }
        if i == 0 {
            assert!(out.results[0].is_ok() && out.results[2].is_ok(), "{out:?}");
        } else {
            assert!(out.results[2].is_err(), "client {i} must be refused");
        }
    }
    for t in &texts {
        assert_clean("Debug/Display", t);
    }
    let logged = String::from_utf8_lossy(&log.lock().unwrap()).to_string();
    assert!(!logged.is_empty(), "tracing captured nothing");
    assert!(
        logged.contains("canonical_request"),
        "the SDK's signing trace was not captured"
    );
    assert_clean("tracing output", &logged);
    // The credentials themselves.
    assert_clean("ApiKey Debug", &format!("{:?}", ApiKey::new(API_KEY)));
    assert_clean(
        "AmbCredentials Debug",
        &format!(
            "{:?}",
            AmbCredentials::new("AKID", AWS_SECRET, Some(SESSION.into()))
        ),
    );
}

/// Every message about an endpoint refused at build time shows its scheme and host only:
/// keys live in paths, queries and user:password parts alike.
#[test]
fn refused_endpoints_show_scheme_and_host_only() {
    let urls = [
        "https://user:SEKRIT-pw@node.example.com/SEKRIT-key/api",
        "https://node.example.com/SEKRIT-key/api?key=SEKRIT-q",
        "https://node.example.com/SEKRIT-key/api#SEKRIT-f",
        "http://node.example.com/SEKRIT-key/api",
        "ftp://node.example.com/SEKRIT-key/api",
    ];
    for url in urls {
        let mut refused = vec![
            ("aptos_url", Client::builder().aptos_url(url).build().err()),
            ("amb_url", Client::builder().amb_url(url).build().err()),
        ];
        #[cfg(feature = "bitcoin")]
        refused.push((
            "endpoint",
            Client::builder()
                .endpoint(tokbal::Network::BitcoinMainnet, url)
                .build()
                .err(),
        ));
        for (field, e) in refused {
            let e = e.unwrap_or_else(|| panic!("{field} {url} must be refused"));
            let text = format!("{e} {e:?}");
            assert_clean(&format!("{field} {url}"), &text);
            assert!(text.contains("node.example.com/…"), "{field}: {text}");
            assert_eq!(e.field(), Some(field), "{text}");
        }
    }
}
