//! The `tokbal` command: token balances across chains, from the command line.

mod commands;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let args = commands::Cli::parse();
    match commands::run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tokbal: {e}");
            ExitCode::from(commands::exit_code_of(&e))
        }
    }
}
