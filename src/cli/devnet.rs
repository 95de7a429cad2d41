//! `tokbal devnet`: both halves of the devnet in the foreground, until interrupted.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use tokbal::devnet::{Devnet, DevnetBuilder, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY};
use tokbal::{Error, ErrorKind};

use super::EXIT_OK;

/// Blocks in the devnet chain the CLI starts: at 250 ms a block, about 2.8 hours of history
/// from 2026-01-01T00:00:00Z, enough to hold the demo data's instants.
pub const DEMO_CHAIN_BLOCKS: u64 = 40_000;

/// Arguments of `tokbal devnet`.
#[derive(Debug, clap::Args)]
pub struct DevnetArgs {
    /// Port of the Aptos node (0: any free port).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    aptos_port: u16,
    /// Port of the AMB endpoint (0: any free port).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    amb_port: u16,
    /// Added to every answer, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 0)]
    latency_ms: u64,
    /// Share of requests answered 429 with Retry-After (0 to 1).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    throttle_ratio: f64,
    /// Share of requests answered with --fail-status (0 to 1).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    fail_ratio: f64,
    /// Status of the failures --fail-ratio injects.
    #[arg(long, value_name = "STATUS", default_value_t = 503)]
    fail_status: u16,
    /// Share of requests whose connection is cut mid-answer (0 to 1).
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    drop_ratio: f64,
    /// The Aptos node acts as a replica this many versions behind (and the AMB endpoint as
    /// one this many seconds behind).
    #[arg(long, value_name = "N", default_value_t = 0)]
    lag: u64,
    /// Seconds of Retry-After on throttled and failed answers.
    #[arg(long, value_name = "SECS", default_value_t = 1)]
    retry_after: u64,
    /// Start with empty ledgers instead of the demo balances.
    #[arg(long)]
    empty: bool,
}

/// The devnet the CLI's commands start: the demo chain, optionally seeded.
pub fn demo_builder(seeded: bool) -> DevnetBuilder {
    let b = Devnet::builder().initial_blocks(DEMO_CHAIN_BLOCKS);
    if seeded {
        b.with_demo_data()
    } else {
        b
    }
}

pub async fn run(args: DevnetArgs) -> Result<ExitCode, Error> {
    for (name, p) in [
        ("throttle_ratio", args.throttle_ratio),
        ("fail_ratio", args.fail_ratio),
        ("drop_ratio", args.drop_ratio),
    ] {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::invalid_input(
                name,
                &p.to_string(),
                "a share between 0 and 1",
            ));
        }
    }
    let net = demo_builder(!args.empty)
        .port(args.aptos_port)
        .amb_port(args.amb_port)
        .start()
        .await
        .map_err(|e| {
            Error::new(
                ErrorKind::Transport,
                format!("cannot start the devnet: {e}"),
            )
        })?;
    for faults in [net.aptos().faults(), net.amb().faults()] {
        faults.set_latency(Duration::from_millis(args.latency_ms));
        faults.set_retry_after_secs(args.retry_after);
        faults.throttle_ratio(args.throttle_ratio);
        faults.fail_ratio(args.fail_ratio, args.fail_status);
        faults.drop_ratio(args.drop_ratio);
        if args.lag > 0 {
            faults.lag(args.lag);
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "aptos: {}", net.aptos_url())
        .and_then(|()| writeln!(out, "amb: {}", net.amb_url()))
        .and_then(|()| {
            writeln!(
                out,
                "credentials: AWS_ACCESS_KEY_ID={TEST_ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={TEST_SECRET_ACCESS_KEY}"
            )
        })
        .and_then(|()| writeln!(out, "serving until interrupted (Ctrl-C)"))
        .and_then(|()| out.flush())
        .map_err(super::write_failed)?;
    drop(out);
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| Error::new(ErrorKind::Transport, format!("cannot wait for Ctrl-C: {e}")))?;
    net.shutdown().await;
    Ok(ExitCode::from(EXIT_OK))
}
