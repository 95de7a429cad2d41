//! What an owner may hold on an EVM chain: the native coin, and every token a transfer log
//! ever sent to it, across all contracts (`Transfer` with the owner as recipient, three
//! topics for ERC-20 and four for ERC-721; `TransferSingle`/`TransferBatch` for ERC-1155,
//! each id), from the chain's first block (or a later one) to the pin.

use std::collections::BTreeSet;

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolEvent;

use super::abi::ITransfers;
use super::log_answer::{Log, Logs};
use super::logs::{LogFilter, Start};
use super::EvmBackend;
use crate::batch::Gate;
use crate::error::Error;
use crate::holders::Progress;
use crate::holdings::{Found, Scan};
use crate::pin::BlockSnapshot;
use crate::query::{EvmAddress, Token, TokenId};

/// The tokens the logs show were sent to one owner.
#[derive(Default)]
struct Received {
    tokens: BTreeSet<Token>,
}

impl Received {
    fn take_all(&mut self, logs: &Logs) {
        for log in logs.iter() {
            if let Some(contract) = log.address {
                self.take(log, contract);
            }
        }
    }

    fn take(&mut self, log: Log<'_>, contract: Address) {
        let contract = EvmAddress::from_bytes(contract.into_array());
        let topics = log.topics;
        let Some(signature) = topics.first() else {
            return;
        };
        if *signature == ITransfers::Transfer::SIGNATURE_HASH {
            // Three topics: an ERC-20 transfer; four (the id indexed): an ERC-721 one.
            self.tokens.insert(match topics.len() {
                4 => Token::Erc721Count { contract },
                _ => Token::Erc20 { contract },
            });
        } else if *signature == ITransfers::TransferSingle::SIGNATURE_HASH {
            if let Some(id) = log.data.get(..32).map(U256::from_be_slice) {
                self.tokens.insert(Token::Erc1155 {
                    contract,
                    token_id: TokenId(id),
                });
            }
        } else if let Ok((ids, _)) =
            <ITransfers::TransferBatch as SolEvent>::abi_decode_data(log.data)
        {
            for id in ids {
                self.tokens.insert(Token::Erc1155 {
                    contract,
                    token_id: TokenId(id),
                });
            }
        }
    }
}

impl EvmBackend {
    /// The native coin and every token the logs show were sent to `owner` up to `pin`.
    pub(crate) async fn discover_holdings(
        &self,
        owner: &EvmAddress,
        pin: &BlockSnapshot,
        scan: Scan,
    ) -> Result<Found, Error> {
        let mut found = Found {
            tokens: vec![Token::Native],
            sources: vec!["native"],
            ..Found::default()
        };
        if scan.no_logs {
            found.reason = Some(
                "logs were not read (--no-logs): only the native coin and the tokens given \
                 were checked"
                    .to_string(),
            );
            return Ok(found);
        }
        let from = scan.from_block.unwrap_or(0).min(pin.number);
        let to: B256 = Address::from(*owner.as_bytes()).into_word();
        let transfers = LogFilter {
            address: None,
            topics: vec![
                Some(vec![ITransfers::Transfer::SIGNATURE_HASH]),
                None,
                Some(vec![to]),
            ],
        };
        let multi = LogFilter {
            address: None,
            topics: vec![
                Some(vec![
                    ITransfers::TransferSingle::SIGNATURE_HASH,
                    ITransfers::TransferBatch::SIGNATURE_HASH,
                ]),
                None,
                None,
                Some(vec![to]),
            ],
        };
        let progress = Progress::default();
        let gate = Gate::new(scan.concurrency);
        let (mut received, mut received_multi) = (Received::default(), Received::default());
        let (a, b) = futures::join!(
            self.scan_logs(
                &transfers,
                Start::At(from),
                pin.number,
                &gate,
                &progress,
                None,
                |logs| { received.take_all(logs) }
            ),
            self.scan_logs(
                &multi,
                Start::At(from),
                pin.number,
                &gate,
                &progress,
                None,
                |logs| { received_multi.take_all(logs) }
            )
        );
        a?;
        b?;
        received.tokens.extend(received_multi.tokens);
        // The logs are read: if the pinned block left the chain meanwhile, they may be
        // another chain's.
        self.check_still_canonical(pin).await?;
        found.tokens.extend(received.tokens);
        found.sources.push("logs");
        found.from_block = Some(from);
        found.to_block = Some(pin.number);
        if from == 0 {
            found.complete = true;
            found.reason = None;
        } else {
            found.reason = Some(format!(
                "logs were read from block {from} on: a token received before it and not \
                 since is missed"
            ));
        }
        Ok(found)
    }
}
