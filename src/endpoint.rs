//! Checking the endpoints tokbal is pointed at, before anything is sent to them.

use std::net::IpAddr;

use crate::error::Error;

/// Checks a base URL: http or https, no query or fragment, no credentials, and plain http
/// only to a loopback host (127.0.0.0/8, ::1, localhost) unless `allow_insecure_http`: over
/// plain http to another host, API keys and signed requests would cross the network in the
/// clear. Returns the URL without a trailing slash; the error names `field` and shows the URL
/// as [`shown`] does (scheme, host and port: providers put keys in the path too).
#[cfg_attr(not(any(feature = "aptos", feature = "amb")), allow(dead_code))]
pub(crate) fn check(
    field: &'static str,
    url: &str,
    allow_insecure_http: bool,
) -> Result<String, Error> {
    let refuse = |why: &str| Error::invalid_input(field, &shown(url), why);
    let parsed = reqwest::Url::parse(url).map_err(|e| refuse(&format!("not a URL ({e})")))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_insecure_http || is_loopback(&parsed) => {}
        "http" => {
            return Err(refuse(
                "plain http is accepted only for loopback hosts (127.0.0.1, ::1, localhost); \
                 use https, or allow insecure http explicitly",
            ))
        }
        _ => return Err(refuse("only http and https URLs are supported")),
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(refuse("a base URL has no query or fragment"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse(
            "credentials do not belong in the URL; configure them separately",
        ));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// An endpoint URL as every message shows it: its scheme, host and port only
/// (`https://host:8443/…`). Providers put API keys in the path, the query and the
/// user:password part, so nothing else of it is shown; a URL that does not parse is not
/// shown at all.
///
/// ```text
/// https://user:pw@esplora.example.com/KEY/api  ->  https://esplora.example.com/…
/// http://127.0.0.1:3000/v1                     ->  http://127.0.0.1:3000/…
/// not a url                                    ->  (a malformed URL, not shown)
/// ```
#[cfg_attr(not(any(feature = "aptos", feature = "amb")), allow(dead_code))]
pub(crate) fn shown(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}/…", u.scheme()),
            (Some(host), None) => format!("{}://{host}/…", u.scheme()),
            (None, _) => format!("{}:…", u.scheme()),
        },
        Err(_) => "(a malformed URL, not shown)".to_string(),
    }
}

/// Checks a JSON-RPC endpoint as [`check`] does, except that a query is allowed (providers put
/// keys there) and that errors show the URL's scheme and host only: the whole URL is a secret.
#[cfg(feature = "evm")]
pub(crate) fn check_rpc(
    field: &'static str,
    url: &crate::evm::RpcUrl,
    allow_insecure_http: bool,
) -> Result<(), Error> {
    let shown = url.to_string();
    let parsed = reqwest::Url::parse(url.expose())
        .map_err(|_| Error::invalid_input(field, &shown, "not a URL"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_insecure_http || is_loopback(&parsed) => {}
        "http" => {
            return Err(Error::invalid_input(
                field,
                &shown,
                "plain http is accepted only for loopback hosts (127.0.0.1, ::1, localhost); \
                 use https, or allow insecure http explicitly",
            ))
        }
        _ => {
            return Err(Error::invalid_input(
                field,
                &shown,
                "only http and https URLs are supported",
            ))
        }
    }
    if parsed.fragment().is_some() || !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::invalid_input(
            field,
            &shown,
            "a JSON-RPC endpoint has no fragment and no user:password part",
        ));
    }
    Ok(())
}

/// Whether two URLs share scheme, host and port: the only redirects tokbal follows.
#[cfg_attr(not(any(feature = "aptos", feature = "evm")), allow(dead_code))]
pub(crate) fn same_origin(a: &reqwest::Url, b: &reqwest::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        for ok in [
            "https://api.mainnet.aptoslabs.com/v1",
            "http://127.0.0.1:8080/v1",
            "http://127.9.9.9/v1/",
            "http://[::1]:80/v1",
            "http://localhost:3000",
        ] {
            assert!(check("aptos_url", ok, false).is_ok(), "{ok}");
        }
        let err = check("aptos_url", "http://10.0.0.5/v1", false).unwrap_err();
        assert_eq!(err.field(), Some("aptos_url"));
        assert!(err.to_string().contains("loopback"), "{err}");
        assert!(check("aptos_url", "http://node.internal/v1", true).is_ok());
        for bad in [
            "ftp://x/v1",
            "https://x/v1?key=1",
            "https://x/v1#f",
            "not a url",
            "",
        ] {
            assert!(check("aptos_url", bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn userinfo_is_refused_without_echoing_it() {
        let err = check("amb_url", "https://user:hunter2@example.com/", false).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(!format!("{err:?}").contains("hunter2"));
    }

    /// Whatever is wrong with an endpoint, its message shows the scheme, host and port, and
    /// nothing of the path, query, fragment or credentials, where keys live.
    #[test]
    fn every_refusal_shows_scheme_and_host_only() {
        for (url, origin) in [
            (
                "https://user:pw@esplora.example.com/SK_KEY/api",
                "https://esplora.example.com/…",
            ),
            (
                "https://user@esplora.example.com/SK_KEY/api",
                "https://esplora.example.com/…",
            ),
            (
                "https://node.example.com:8443/SK_KEY/v1?key=SK_Q",
                "https://node.example.com:8443/…",
            ),
            (
                "https://node.example.com/SK_KEY/v1#SK_F",
                "https://node.example.com/…",
            ),
            (
                "http://node.example.com/SK_KEY/v1",
                "http://node.example.com/…",
            ),
            ("ftp://node.example.com/SK_KEY", "ftp://node.example.com/…"),
            ("http://[::2]:80/SK_KEY", "http://[::2]/…"),
            ("mailto:SK_KEY@example.com", "mailto:…"),
            (
                "https://exa mple.com/SK_KEY",
                "(a malformed URL, not shown)",
            ),
        ] {
            for field in ["endpoint", "aptos_url", "amb_url"] {
                let err = check(field, url, false).unwrap_err();
                let text = format!("{err} {err:?}");
                assert!(
                    !text.contains("SK_") && !text.contains("pw"),
                    "{url}: {text}"
                );
                assert!(text.contains(origin), "{url}: {text}");
                assert_eq!(err.field(), Some(field));
            }
        }
    }

    #[test]
    fn origins() {
        let u = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(same_origin(
            &u("http://127.0.0.1:80/a"),
            &u("http://127.0.0.1/b")
        ));
        assert!(!same_origin(
            &u("http://127.0.0.1:80/a"),
            &u("http://127.0.0.2:80/a")
        ));
        assert!(!same_origin(&u("https://a/"), &u("http://a/")));
    }
}
