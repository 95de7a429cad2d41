//! Account resources at a ledger version: one resource by its type
//! (`GET /accounts/{address}/resource/{resource_type}`), and the type of every resource an
//! account holds, page by page (`GET /accounts/{address}/resources`, the next page's start in
//! the answer's `X-APTOS-CURSOR` header).

use std::collections::HashSet;

use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

use super::errors::map_error;
use super::generated::types;
use super::wire::U64;
use super::AptosBackend;
use crate::error::{quote, Error, ErrorKind};
use crate::query::{AccountAddress, Backend};

/// The header that carries the start of the next page of a paged answer.
const CURSOR: &str = "x-aptos-cursor";
/// Most pages [`AptosBackend::resource_types`] reads for one account before it gives up: a
/// node's default page holds 9,999 resources, so this is far past any real account, and a
/// server that hands out cursors forever cannot keep a caller paging forever.
pub const MAX_RESOURCE_PAGES: usize = 10_000;

/// The fields of one resource, by name, as the node writes them.
pub(crate) type ResourceFields = Map<String, Value>;

/// One page of an account's resources: their types, and where the next page starts.
struct Page {
    types: Vec<String>,
    cursor: Option<String>,
}

impl AptosBackend {
    /// The fields of the resource of type `resource_type` (a Move struct tag) stored under
    /// `address` at `ledger_version`; `None` when there is none there (the node answers 404
    /// `resource_not_found`, or `account_not_found` for an account it does not know).
    /// Retryable failures are retried under the configured policy.
    pub(crate) async fn resource(
        &self,
        address: &AccountAddress,
        resource_type: &str,
        ledger_version: u64,
    ) -> Result<Option<ResourceFields>, Error> {
        let read = self
            .retry
            .run(&self.limit, || {
                self.resource_once(address, resource_type, ledger_version)
            })
            .await;
        match read {
            Ok(fields) => Ok(Some(fields)),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn resource_once(
        &self,
        address: &AccountAddress,
        resource_type: &str,
        ledger_version: u64,
    ) -> Result<ResourceFields, Error> {
        let owner = types::Address(address.to_string());
        let tag = types::MoveStructTag(resource_type.to_string());
        let at = U64(ledger_version);
        match self
            .client
            .get_account_resource(&owner, &tag, Some(&at))
            .await
        {
            Ok(r) => Ok(r.into_inner().data.0),
            Err(e) => {
                let what = format!(
                    "resource {resource_type} of {address} at ledger version {ledger_version}"
                );
                Err(map_error(e, &what).await)
            }
        }
    }

    /// The type of every resource `owner` holds at `ledger_version` (Move struct tags, as
    /// the node writes them, in the node's order), read page by page, every page at that
    /// version. An account the node does not know holds none.
    ///
    /// Fails when a page fails (after the configured retries), when the node hands out a
    /// cursor it handed out before, or after [`MAX_RESOURCE_PAGES`] pages.
    pub async fn resource_types(
        &self,
        owner: &AccountAddress,
        ledger_version: u64,
    ) -> Result<Vec<String>, Error> {
        let mut all = Vec::new();
        let mut start: Option<String> = None;
        let mut seen = HashSet::new();
        for _ in 0..MAX_RESOURCE_PAGES {
            let page = self
                .retry
                .run(&self.limit, || {
                    self.resources_page_once(owner, ledger_version, start.as_deref())
                })
                .await;
            let page = match page {
                Ok(page) => page,
                Err(e) if start.is_none() && is_absent(&e) => return Ok(all),
                Err(e) => return Err(e),
            };
            all.extend(page.types);
            let Some(cursor) = page.cursor else {
                return Ok(all);
            };
            if !seen.insert(cursor.clone()) {
                return Err(Error::new(
                    ErrorKind::Decode,
                    format!(
                        "resources of {owner} at ledger version {ledger_version}: the node handed out the cursor {} twice; paging would not end",
                        quote(&cursor)
                    ),
                )
                .with_backend(Backend::Aptos));
            }
            start = Some(cursor);
        }
        Err(Error::new(
            ErrorKind::Decode,
            format!(
                "resources of {owner} at ledger version {ledger_version}: still more after {MAX_RESOURCE_PAGES} pages"
            ),
        )
        .with_backend(Backend::Aptos))
    }

    async fn resources_page_once(
        &self,
        owner: &AccountAddress,
        ledger_version: u64,
        start: Option<&str>,
    ) -> Result<Page, Error> {
        let address = types::Address(owner.to_string());
        let at = U64(ledger_version);
        let start = start.map(|s| types::StateKeyWrapper(s.to_string()));
        let response = match self
            .client
            .get_account_resources(&address, Some(&at), None, start.as_ref())
            .await
        {
            Ok(r) => r,
            Err(e) => {
                let what = match &start {
                    None => format!("resources of {owner} at ledger version {ledger_version}"),
                    Some(s) => format!(
                        "resources of {owner} at ledger version {ledger_version} from cursor {}",
                        quote(s)
                    ),
                };
                return Err(map_error(e, &what).await);
            }
        };
        let cursor = cursor(response.headers()).map_err(|problem| {
            Error::new(
                ErrorKind::Decode,
                format!("resources of {owner} at ledger version {ledger_version}: {problem}"),
            )
            .with_backend(Backend::Aptos)
        })?;
        let types = response
            .into_inner()
            .into_iter()
            .map(|r| r.type_.0)
            .collect();
        Ok(Page { types, cursor })
    }
}

/// Whether a failed read means "nothing there": 404 with `resource_not_found` or
/// `account_not_found`. A 404 without one of those codes (a proxy's page, a path the node
/// does not serve) is an error, not an absence.
pub(crate) fn is_absent(e: &Error) -> bool {
    e.kind() == ErrorKind::NotFound
        && matches!(e.code(), Some("resource_not_found" | "account_not_found"))
}

/// The start of the next page, from an answer's headers: `None` on the last page (no
/// cursor, or an empty one).
fn cursor(headers: &HeaderMap) -> Result<Option<String>, String> {
    let Some(value) = headers.get(CURSOR) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| "the answer's X-APTOS-CURSOR header is not visible ASCII".to_string())?
        .trim();
    Ok((!text.is_empty()).then(|| text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn cursors_come_from_the_header() {
        let mut h = HeaderMap::new();
        assert_eq!(cursor(&h), Ok(None));
        h.insert(CURSOR, HeaderValue::from_static(""));
        assert_eq!(cursor(&h), Ok(None));
        h.insert(CURSOR, HeaderValue::from_static("00ab"));
        assert_eq!(cursor(&h), Ok(Some("00ab".to_string())));
        h.insert(CURSOR, HeaderValue::from_bytes(b"\xff").unwrap());
        assert!(cursor(&h).is_err());
    }

    #[test]
    fn only_the_two_codes_are_absence() {
        let e = |code: &str| {
            Error::new(ErrorKind::NotFound, "x")
                .with_backend(Backend::Aptos)
                .with_code(code)
        };
        assert!(is_absent(&e("resource_not_found")));
        assert!(is_absent(&e("account_not_found")));
        assert!(!is_absent(&e("module_not_found")));
        assert!(!is_absent(&Error::new(ErrorKind::NotFound, "proxy 404")));
        assert!(!is_absent(
            &Error::new(ErrorKind::Pruned, "x").with_code("resource_not_found")
        ));
    }
}
