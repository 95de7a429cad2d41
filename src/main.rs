//! The `tokbal` command: token balances across chains, from the command line.

mod cli;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tokbal: {e}");
            ExitCode::from(cli::EXIT_FAILURE)
        }
    }
}
