//! Checking the endpoints tokbal is pointed at, before anything is sent to them.

use std::net::IpAddr;

use crate::error::Error;

/// Checks a base URL: http or https, no query or fragment, and plain http only to a loopback
/// host (127.0.0.0/8, ::1, localhost) unless `allow_insecure_http`: over plain http to
/// another host, API keys and signed requests would cross the network in the clear. Returns
/// the URL without a trailing slash; the error names `field` and the value.
#[cfg_attr(not(any(feature = "aptos", feature = "amb")), allow(dead_code))]
pub(crate) fn check(
    field: &'static str,
    url: &str,
    allow_insecure_http: bool,
) -> Result<String, Error> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| Error::invalid_input(field, url, format!("not a URL ({e})")))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_insecure_http || is_loopback(&parsed) => {}
        "http" => {
            return Err(Error::invalid_input(
                field,
                url,
                "plain http is accepted only for loopback hosts (127.0.0.1, ::1, localhost); \
                 use https, or allow insecure http explicitly",
            ))
        }
        _ => {
            return Err(Error::invalid_input(
                field,
                url,
                "only http and https URLs are supported",
            ))
        }
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Error::invalid_input(
            field,
            url,
            "a base URL has no query or fragment",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::invalid_input(
            field,
            &redact_userinfo(&parsed),
            "credentials do not belong in the URL; configure them separately",
        ));
    }
    Ok(url.trim_end_matches('/').to_string())
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

#[cfg_attr(not(any(feature = "aptos", feature = "amb")), allow(dead_code))]
fn redact_userinfo(url: &reqwest::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
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
