//! The ledger's own routes: `GET /v1/` (ledger information), `GET /v1/-/healthy` and the
//! two block routes.

use axum::http::StatusCode;
use serde::Serialize;

use super::answer::Answer;
use super::http::{check_version, path_u64, query_param, with_transactions};
use super::{now_us, AptosNode, LedgerInfo};

#[derive(Serialize)]
struct IndexBody<'a> {
    chain_id: u8,
    epoch: String,
    ledger_version: String,
    oldest_ledger_version: String,
    ledger_timestamp: String,
    node_role: &'a str,
    oldest_block_height: String,
    block_height: String,
    git_hash: &'a str,
}

#[derive(Serialize)]
struct BlockBody {
    block_height: String,
    block_hash: String,
    block_timestamp: String,
    first_version: String,
    last_version: String,
    transactions: Option<Vec<serde_json::Value>>,
}

#[derive(Serialize)]
struct HealthBody<'a> {
    message: &'a str,
}

impl AptosNode {
    pub(super) fn index(&self, info: &LedgerInfo) -> Answer {
        Answer::json(
            StatusCode::OK,
            &IndexBody {
                chain_id: info.chain_id,
                epoch: info.epoch.to_string(),
                ledger_version: info.ledger_version.to_string(),
                oldest_ledger_version: info.oldest_ledger_version.to_string(),
                ledger_timestamp: info.ledger_timestamp_us.to_string(),
                node_role: "full_node",
                oldest_block_height: info.oldest_block_height.to_string(),
                block_height: info.block_height.to_string(),
                git_hash: &self.inner.git_hash,
            },
        )
    }

    pub(super) fn healthy(&self, query: Option<&str>, info: &LedgerInfo) -> Result<Answer, Answer> {
        if let Some(raw) = query_param(query, "duration_secs") {
            let secs = raw.parse::<u32>().map_err(|e| {
                Answer::bad_request(
                    "web_framework_error",
                    &format!(
                        "failed to parse parameter `duration_secs`: failed to parse \
                         \"integer(uint32)\": {e} (occurred while parsing \
                         \"optional<integer(uint32)>\")"
                    ),
                )
            })?;
            let threshold = now_us().saturating_sub(u64::from(secs) * 1_000_000);
            if info.ledger_timestamp_us < threshold {
                return Err(Answer::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "health_check_failed",
                    &format!(
                        "The latest ledger info timestamp is {}, which is beyond the allowed \
                         skew ({secs}s).",
                        info.ledger_timestamp_us
                    ),
                ));
            }
        }
        Ok(Answer::json(
            StatusCode::OK,
            &HealthBody {
                message: "aptos-node:ok",
            },
        ))
    }

    fn block_answer(&self, height: u64, with_txns: bool) -> Answer {
        let b = self.inner.layout.block(height);
        Answer::json(
            StatusCode::OK,
            &BlockBody {
                block_height: b.height.to_string(),
                block_hash: b.hash,
                block_timestamp: b.timestamp_us.to_string(),
                first_version: b.first_version.to_string(),
                last_version: b.last_version.to_string(),
                transactions: with_txns.then(Vec::new),
            },
        )
    }

    pub(super) fn block_by_height(
        &self,
        raw: &str,
        query: Option<&str>,
        info: &LedgerInfo,
    ) -> Result<Answer, Answer> {
        let height = path_u64("block_height", raw)?;
        let with_txns = with_transactions(query)?;
        if height < info.oldest_block_height {
            return Err(Answer::error(
                StatusCode::GONE,
                "block_pruned",
                &format!("Block({height}) has been pruned"),
            ));
        }
        if height > info.block_height {
            return Err(Answer::error(
                StatusCode::NOT_FOUND,
                "block_not_found",
                &format!("Block not found by Block height({height})"),
            ));
        }
        Ok(self.block_answer(height, with_txns))
    }

    pub(super) fn block_by_version(
        &self,
        raw: &str,
        query: Option<&str>,
        info: &LedgerInfo,
    ) -> Result<Answer, Answer> {
        let version = path_u64("version", raw)?;
        let with_txns = with_transactions(query)?;
        check_version(version, info)?;
        Ok(self.block_answer(self.inner.layout.block_of(version), with_txns))
    }
}
