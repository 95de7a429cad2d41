//! Reading descriptions: a file or an HTTP(S) URL, YAML or JSON, into a `serde_json::Value`.

use std::fmt;
use std::time::Duration;

use serde::de::{
    Deserialize, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use serde_json::{Map, Number, Value};

use super::{read_error, Api};
use tokbal::{Error, ErrorKind};

/// The largest description read (the Aptos one is about 0.6 MB).
const MAX_BYTES: usize = 64 * 1024 * 1024;
/// Time allowed for fetching a description.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// Reads the text of `source`: an `http://` or `https://` URL, else a file path.
pub async fn read_source(source: &str) -> Result<String, Error> {
    let lower = source.to_ascii_lowercase();
    let bytes = if lower.starts_with("http://") || lower.starts_with("https://") {
        fetch(source).await?
    } else {
        std::fs::read(source).map_err(|e| io_error(source, &e))?
    };
    if bytes.len() > MAX_BYTES {
        return Err(read_error(source, format!("larger than {MAX_BYTES} bytes")));
    }
    let text = String::from_utf8(bytes).map_err(|_| read_error(source, "not UTF-8 text"))?;
    Ok(text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text))
}

/// Reads and parses the upstream description of `api` from `source` (file or URL), and
/// checks that it is the right kind of document (OpenAPI 3 for Aptos, a Smithy JSON AST for
/// AMB, OpenRPC for EVM).
pub async fn read_upstream(api: Api, source: &str) -> Result<Value, Error> {
    let text = read_source(source).await?;
    let value = parse_description(&text, source)?;
    match api {
        Api::Aptos => expect_openapi(&value, source)?,
        Api::Amb => expect_smithy(&value, source)?,
        Api::Evm => expect_openrpc(&value, source)?,
    }
    Ok(value)
}

/// Parses a description, JSON or YAML (JSON when it starts with `{` or `[`). `origin` names
/// it in error messages. Integers too large for 64 bits (YAML examples) become strings.
pub fn parse_description(text: &str, origin: &str) -> Result<Value, Error> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return serde_json::from_str(trimmed)
            .map_err(|e| read_error(origin, format!("bad JSON: {e}")));
    }
    let de = serde_yaml_ng::Deserializer::from_str(text);
    Loose::deserialize(de)
        .map(|l| l.0)
        .map_err(|e| read_error(origin, format!("bad YAML: {e}")))
}

/// Fails unless `doc` looks like an OpenAPI 3 description.
pub(crate) fn expect_openapi(doc: &Value, origin: &str) -> Result<(), Error> {
    let version = doc
        .get("openapi")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !version.starts_with("3.") {
        let what = if doc.get("swagger").is_some() {
            "a Swagger 2 description; OpenAPI 3 is needed".to_string()
        } else if doc.get("smithy").is_some() {
            "a Smithy model, not an OpenAPI description".to_string()
        } else if doc.get("openrpc").is_some() {
            "an OpenRPC document, not an OpenAPI description".to_string()
        } else {
            "not an OpenAPI 3 description (no \"openapi: 3.x\")".to_string()
        };
        return Err(read_error(origin, what));
    }
    if !doc.get("paths").is_some_and(Value::is_object) {
        return Err(read_error(origin, "the OpenAPI description has no paths"));
    }
    Ok(())
}

/// Fails unless `doc` looks like a Smithy JSON AST.
pub(crate) fn expect_smithy(doc: &Value, origin: &str) -> Result<(), Error> {
    if doc.get("smithy").and_then(Value::as_str).is_none() {
        let what = if doc.get("openapi").is_some() {
            "an OpenAPI description, not a Smithy model"
        } else if doc.get("openrpc").is_some() {
            "an OpenRPC document, not a Smithy model"
        } else {
            "not a Smithy JSON AST (no \"smithy\" version)"
        };
        return Err(read_error(origin, what));
    }
    if !doc.get("shapes").is_some_and(Value::is_object) {
        return Err(read_error(origin, "the Smithy model has no shapes"));
    }
    Ok(())
}

/// Fails unless `doc` looks like an OpenRPC 1.x document.
pub(crate) fn expect_openrpc(doc: &Value, origin: &str) -> Result<(), Error> {
    let version = doc
        .get("openrpc")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !version.starts_with("1.") {
        let what = if doc.get("openapi").is_some() || doc.get("swagger").is_some() {
            "an OpenAPI description, not an OpenRPC document"
        } else if doc.get("smithy").is_some() {
            "a Smithy model, not an OpenRPC document"
        } else {
            "not an OpenRPC 1.x document (no \"openrpc\": \"1.x\")"
        };
        return Err(read_error(origin, what));
    }
    if !doc.get("methods").is_some_and(Value::is_array) {
        return Err(read_error(origin, "the OpenRPC document has no methods"));
    }
    Ok(())
}

/// An I/O error reading `path`, as a tokbal error.
pub(crate) fn io_error(path: &str, e: &std::io::Error) -> Error {
    let kind = if e.kind() == std::io::ErrorKind::NotFound {
        ErrorKind::NotFound
    } else {
        ErrorKind::InvalidInput
    };
    Error::new(kind, format!("cannot read {path}: {e}"))
}

/// Whether a description may be fetched from `url`: https, or plain http to a loopback host
/// (as for every endpoint tokbal talks to), and no credentials in the URL.
fn fetch_allowed(url: &reqwest::Url) -> Result<(), &'static str> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials do not belong in the URL");
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let host = url.host_str().unwrap_or_default();
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            let loopback = host.eq_ignore_ascii_case("localhost")
                || bare
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if loopback {
                Ok(())
            } else {
                Err("plain http is accepted only for loopback hosts (127.0.0.1, ::1, localhost); use https")
            }
        }
        _ => Err("only http and https URLs are supported"),
    }
}

/// Most redirects followed; each must satisfy [`fetch_allowed`] too.
const MAX_REDIRECTS: usize = 5;

async fn fetch(url: &str) -> Result<Vec<u8>, Error> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| read_error(url, format!("not a URL ({e})")))?;
    fetch_allowed(&parsed).map_err(|why| {
        // Credentials in the URL are refused without being repeated.
        let mut shown = parsed.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        read_error(shown.as_str(), why)
    })?;
    tokbal::tls::ensure_crypto_provider();
    let transport = |what: &str, e: reqwest::Error| {
        Error::new(ErrorKind::Transport, format!("cannot read {url}: {what}"))
            .with_source(e.without_url())
    };
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else if let Err(why) = fetch_allowed(attempt.url()) {
            attempt.error(why)
        } else {
            attempt.follow()
        }
    });
    let client = reqwest::Client::builder()
        .user_agent(tokbal::USER_AGENT)
        .timeout(FETCH_TIMEOUT)
        .redirect(redirects)
        .build()
        .map_err(|e| transport("could not set up the HTTP client", e))?;
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| transport(&format!("request failed ({e})"), e))?;
    let status = response.status();
    if !status.is_success() {
        let kind = if status.as_u16() == 404 {
            ErrorKind::NotFound
        } else {
            ErrorKind::Transport
        };
        return Err(
            Error::new(kind, format!("cannot read {url}: HTTP {status}"))
                .with_status(status.as_u16()),
        );
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport(&format!("the body broke off ({e})"), e))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BYTES {
            return Err(read_error(url, format!("larger than {MAX_BYTES} bytes")));
        }
    }
    Ok(body)
}

/// A JSON value read from any self-describing format, lenient where YAML is wider than JSON:
/// integer map keys (`200:`) become strings, integers beyond 64 bits become strings, tags
/// are dropped; a repeated key is an error.
struct Loose(Value);

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseVisitor).map(Loose)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(match i64::try_from(v) {
            Ok(n) => Value::Number(n.into()),
            Err(_) => Value::String(v.to_string()),
        })
    }

    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(match u64::try_from(v) {
            Ok(n) => Value::Number(n.into()),
            Err(_) => Value::String(v.to_string()),
        })
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or_else(|| Value::String(v.to_string()), Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Loose::deserialize(d).map(|l| l.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Loose(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(Loose(key)) = map.next_key()? {
            let key = match key {
                Value::String(s) => s,
                Value::Null => "null".to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                other => {
                    return Err(serde::de::Error::custom(format!(
                        "a map key must be a string, not {other}"
                    )))
                }
            };
            let Loose(value) = map.next_value()?;
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate key {key:?}")));
            }
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        // A YAML tag (`!foo value`): keep the value, drop the tag.
        let (Loose(_tag), variant) = data.variant()?;
        variant.newtype_variant::<Loose>().map(|l| l.0)
    }
}

#[cfg(test)]
mod tests {
    use super::fetch_allowed;

    #[test]
    fn https_anywhere_plain_http_only_to_loopback() {
        let ok = |u: &str| fetch_allowed(&reqwest::Url::parse(u).unwrap()).is_ok();
        assert!(ok(
            "https://raw.githubusercontent.com/aptos-labs/aptos-core/main/api/doc/spec.yaml"
        ));
        assert!(ok("http://127.0.0.1:8080/spec.yaml"));
        assert!(ok("http://[::1]/spec.yaml"));
        assert!(ok("http://localhost/spec.yaml?raw=1"));
        assert!(!ok("http://10.0.0.5/spec.yaml"));
        assert!(!ok("http://example.com/spec.yaml"));
        assert!(!ok("https://user:secret@example.com/spec.yaml"));
        assert!(!ok("ftp://example.com/spec.yaml"));
    }

    #[tokio::test]
    async fn credentials_in_a_url_are_refused_without_being_repeated() {
        let e = super::fetch("https://user:hunter2@127.0.0.1:9/spec.yaml")
            .await
            .unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(e.to_string().contains("credentials"), "{e}");
    }
}
