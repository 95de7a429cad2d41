//! The HTTP side: routing on the raw path, the request parameters as the node parses them,
//! and the one handler every request goes through (faults first, then the route).

use std::borrow::Cow;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::Router;
use percent_encoding::percent_decode_str;
use tokio_util::sync::CancellationToken;

use super::address::parse_address;
use super::answer::Answer;
use super::{AptosNode, LedgerInfo};
use crate::faults::FaultAction;

/// Which operation a raw request path names; the path segments are still percent-encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route<'a> {
    Index,
    Healthy,
    Balance {
        address: &'a str,
        asset_type: &'a str,
    },
    Resource {
        address: &'a str,
        resource_type: &'a str,
    },
    Resources {
        address: &'a str,
    },
    BlockByHeight(&'a str),
    BlockByVersion(&'a str),
    NotFound,
}

impl<'a> Route<'a> {
    pub(super) fn parse(path: &'a str) -> Route<'a> {
        let rest = if path == "/v1" {
            ""
        } else if let Some(rest) = path.strip_prefix("/v1/") {
            rest
        } else {
            return Route::NotFound;
        };
        let segments: Vec<&str> = rest.split('/').collect();
        match segments.as_slice() {
            [""] => Route::Index,
            ["-", "healthy"] => Route::Healthy,
            ["accounts", address, "balance", asset_type] => Route::Balance {
                address,
                asset_type,
            },
            ["accounts", address, "resource", resource_type] => Route::Resource {
                address,
                resource_type,
            },
            ["accounts", address, "resources"] => Route::Resources { address },
            ["blocks", "by_height", h] => Route::BlockByHeight(h),
            ["blocks", "by_version", v] => Route::BlockByVersion(v),
            _ => Route::NotFound,
        }
    }
}

/// Shared by the handler: the node and the server's shutdown signal.
#[derive(Clone)]
struct ServerState {
    node: AptosNode,
    cancel: CancellationToken,
}

/// Percent-decodes one path segment; `None` when it is not UTF-8 once decoded.
pub(super) fn decode_segment(raw: &str) -> Option<Cow<'_, str>> {
    percent_decode_str(raw).decode_utf8().ok()
}

/// The first value of query parameter `name` (form-decoded), if present.
pub(super) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    let form_decode = |s: &str| {
        let s = s.replace('+', " ");
        percent_decode_str(&s).decode_utf8_lossy().into_owned()
    };
    query?
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find(|(k, _)| form_decode(k) == name)
        .map(|(_, v)| form_decode(v))
}

/// Parses optional boolean query parameter `with_transactions` as the node does.
pub(super) fn with_transactions(query: Option<&str>) -> Result<bool, Answer> {
    match query_param(query, "with_transactions") {
        None => Ok(false),
        Some(raw) => raw.parse::<bool>().map_err(|_| {
            Answer::bad_request(
                "web_framework_error",
                "failed to parse parameter `with_transactions`: failed to parse \"boolean\": \
                 provided string was not `true` or `false` (occurred while parsing \
                 \"optional<boolean>\")",
            )
        }),
    }
}

/// Parses a u64 path parameter as the node does.
pub(super) fn path_u64(name: &str, raw: &str) -> Result<u64, Answer> {
    let text = decode_segment(raw).unwrap_or(Cow::Borrowed(raw));
    text.parse::<u64>().map_err(|e| {
        Answer::bad_request(
            "web_framework_error",
            &format!("failed to parse path `{name}`: failed to parse \"integer(uint64)\": {e}"),
        )
    })
}

/// Parses the `address` path parameter as the node does.
pub(super) fn path_address(raw: &str) -> Result<[u8; 32], Answer> {
    let text = decode_segment(raw).unwrap_or(Cow::Borrowed(raw));
    parse_address(&text).ok_or_else(|| {
        Answer::bad_request(
            "invalid_input",
            &format!(
                "failed to parse path `address`: failed to parse \"string(Address)\": \
                 invalid account address {text:?}"
            ),
        )
    })
}

/// The `ledger_version` query parameter, parsed as the node does; the tip when absent.
pub(super) fn ledger_version(query: Option<&str>, info: &LedgerInfo) -> Result<u64, Answer> {
    match query_param(query, "ledger_version") {
        None => Ok(info.ledger_version),
        Some(raw) => raw.parse::<u64>().map_err(|e| {
            Answer::bad_request(
                "web_framework_error",
                &format!(
                    "failed to parse parameter `ledger_version`: failed to parse \
                     \"string(U64)\": Parsing u64 string {raw:?} failed, caused by error: \
                     {e} (occurred while parsing \"optional<string(U64)>\")"
                ),
            )
        }),
    }
}

/// 410 below the oldest kept version, 404 past the tip, as the node answers.
pub(super) fn check_version(version: u64, info: &LedgerInfo) -> Result<(), Answer> {
    if version < info.oldest_ledger_version {
        return Err(Answer::error(
            StatusCode::GONE,
            "version_pruned",
            &format!("Ledger version({version}) has been pruned"),
        ));
    }
    if version > info.ledger_version {
        return Err(Answer::error(
            StatusCode::NOT_FOUND,
            "version_not_found",
            &format!("Ledger version not found by Ledger version({version})"),
        ));
    }
    Ok(())
}

impl AptosNode {
    fn answer(
        &self,
        method: &Method,
        route: &Route<'_>,
        query: Option<&str>,
        info: &LedgerInfo,
    ) -> Answer {
        if *route == Route::NotFound {
            return Answer::error(StatusCode::NOT_FOUND, "web_framework_error", "not found");
        }
        if method != Method::GET && method != Method::HEAD {
            return Answer::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "web_framework_error",
                "method not allowed",
            );
        }
        let result = match *route {
            Route::Index => Ok(self.index(info)),
            Route::Healthy => self.healthy(query, info),
            Route::Balance {
                address,
                asset_type,
            } => self.balance_answer(address, asset_type, query, info),
            Route::Resource {
                address,
                resource_type,
            } => self.resource_answer(address, resource_type, query, info),
            Route::Resources { address } => self.resources_answer(address, query, info),
            Route::BlockByHeight(raw) => self.block_by_height(raw, query, info),
            Route::BlockByVersion(raw) => self.block_by_version(raw, query, info),
            Route::NotFound => Err(Answer::error(
                StatusCode::NOT_FOUND,
                "web_framework_error",
                "not found",
            )),
        };
        result.unwrap_or_else(|a| a)
    }
}

async fn handle(State(st): State<ServerState>, req: Request) -> Response {
    let node = &st.node;
    let path = req.uri().path();
    let query = req.uri().query();
    let route = Route::parse(path);
    node.record(&route, path, query);

    let method = req.method().clone();
    let decision = node.faults().decide();
    let handled = crate::faults::delayed(decision.delay, &st.cancel, || {
        // The ledger as it stands at the moment of answering, seen through any lag.
        let info = node.ledger_info_lagged(decision.lag);
        let answer = match decision.action {
            Some(FaultAction::Throttle { retry_after_secs }) => Answer::throttled(retry_after_secs),
            Some(FaultAction::Fail { status }) => Answer::injected_failure(status),
            Some(FaultAction::Drop) | None => node.answer(&method, &route, query, &info),
        };
        (info, answer)
    });
    let Some((info, answer)) = handled.await else {
        let info = node.ledger_info();
        return Answer::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "internal_error",
            "the devnet is shutting down",
        )
        .into_response(&info, false);
    };
    answer.into_response(&info, decision.action == Some(FaultAction::Drop))
}

/// The axum router answering for `node` (every path goes through one handler, which
/// routes on the raw, still percent-encoded path).
pub(crate) fn router(node: AptosNode, cancel: CancellationToken) -> Router {
    Router::new()
        .fallback(handle)
        .with_state(ServerState { node, cancel })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(Route::parse("/v1"), Route::Index);
        assert_eq!(Route::parse("/v1/"), Route::Index);
        assert_eq!(Route::parse("/v1/-/healthy"), Route::Healthy);
        assert_eq!(
            Route::parse("/v1/accounts/0x1/balance/0x1%3A%3Aa%3A%3AB"),
            Route::Balance {
                address: "0x1",
                asset_type: "0x1%3A%3Aa%3A%3AB"
            }
        );
        assert_eq!(
            Route::parse("/v1/blocks/by_height/3"),
            Route::BlockByHeight("3")
        );
        assert_eq!(Route::parse("/v2/"), Route::NotFound);
        assert_eq!(Route::parse("/v1/accounts/0x1"), Route::NotFound);
    }

    #[test]
    fn query_params() {
        assert_eq!(
            query_param(Some("a=1&ledger_version=5"), "ledger_version").as_deref(),
            Some("5")
        );
        assert_eq!(
            query_param(Some("ledger_version"), "ledger_version").as_deref(),
            Some("")
        );
        assert_eq!(query_param(Some("x=%2D1"), "x").as_deref(), Some("-1"));
        assert_eq!(query_param(None, "x"), None);
    }
}
