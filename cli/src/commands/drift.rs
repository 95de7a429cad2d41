//! `tokbal spec-drift`: hold `specs/` against the published API descriptions.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use tokbal::Error;
use tokbal_drift::{self as drift, Api, Slices};

/// Nothing but deliberate deviations and informational findings.
const EXIT_CLEAN: u8 = 0;
/// A finding is breaking: `specs/` needs a change.
const EXIT_BREAKING: u8 = 1;
/// An input could not be read or parsed.
const EXIT_UNREADABLE: u8 = 2;

/// Arguments of `tokbal spec-drift`.
#[derive(Debug, clap::Args)]
pub struct DriftArgs {
    /// Folder of upstream descriptions: DIR/aptos/aptos-openapi.yaml,
    /// DIR/amb/managedblockchain-query-2023-05-04.json and
    /// DIR/evm/execution-apis-openrpc.json. Each must be there unless --aptos, --amb or --evm
    /// names it instead; one that is absent is an error (exit 2), not a skip.
    #[arg(long, value_name = "DIR")]
    upstream: Option<PathBuf>,
    /// The Aptos node API description (OpenAPI 3, YAML or JSON), a file or an http(s) URL;
    /// overrides the one in --upstream.
    #[arg(long, value_name = "FILE|URL")]
    aptos: Option<String>,
    /// The AMB Query Smithy model (JSON AST), a file or an http(s) URL; overrides the one in
    /// --upstream.
    #[arg(long, value_name = "FILE|URL")]
    amb: Option<String>,
    /// The Ethereum JSON-RPC description (OpenRPC, JSON, from ethereum/execution-apis), a file
    /// or an http(s) URL; overrides the one in --upstream.
    #[arg(long, value_name = "FILE|URL")]
    evm: Option<String>,
    /// Output: one line per finding, or a JSON array of findings.
    #[arg(long, value_enum, default_value_t = DriftFormat::Text)]
    format: DriftFormat,
}

/// How findings are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DriftFormat {
    /// One line per finding.
    Text,
    /// A JSON array of findings.
    Json,
}

/// Runs the check; the exit status says whether `specs/` needs a change (1) or an input
/// could not be read (2).
pub async fn run(args: DriftArgs) -> Result<ExitCode, Error> {
    // Each API's description: the flag's, else the one in --upstream DIR.
    let apis = [
        (Api::Aptos, &args.aptos, drift::UPSTREAM_APTOS),
        (Api::Amb, &args.amb, drift::UPSTREAM_AMB),
        (Api::Evm, &args.evm, drift::UPSTREAM_EVM),
    ];
    let mut sources: Vec<(Api, Option<String>)> = Vec::new();
    for (api, given, rel) in apis {
        let source = match (given, &args.upstream) {
            (Some(s), _) => Some(s.clone()),
            (None, Some(dir)) => {
                let path = dir.join(rel);
                // Said plainly rather than as a bare "cannot read": a folder without one of
                // the descriptions fails the whole check, as a missing file always has.
                if dir.is_dir() && !path.exists() {
                    return Ok(unreadable(&format!(
                        "the {api} description is absent: no {} in --upstream {}; \
                         put it there, or name it with --{api} FILE|URL",
                        path.display(),
                        dir.display()
                    )));
                }
                Some(path.display().to_string())
            }
            (None, None) => None,
        };
        sources.push((api, source));
    }
    if sources.iter().all(|(_, s)| s.is_none()) {
        return Ok(unreadable(
            "nothing to compare: give --upstream DIR, --aptos FILE|URL, --amb FILE|URL or \
             --evm FILE|URL",
        ));
    }
    let slices = match Slices::bundled() {
        Ok(s) => s,
        Err(e) => return Ok(unreadable(&format!("the compiled-in specs/: {e}"))),
    };
    let mut read = Vec::new();
    for (api, source) in &sources {
        read.push(match source {
            Some(s) => match drift::read_upstream(*api, s).await {
                Ok(v) => Some(v),
                Err(e) => return Ok(unreadable(&e.to_string())),
            },
            None => None,
        });
    }
    let report = drift::check(
        &slices,
        read[0].as_ref(),
        read[1].as_ref(),
        read[2].as_ref(),
    );
    let text = match args.format {
        DriftFormat::Text => report.to_text(),
        DriftFormat::Json => report.to_json() + "\n",
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        return Ok(unreadable(&format!("cannot write the findings: {e}")));
    }
    let compared: Vec<String> = sources
        .iter()
        .filter_map(|(api, s)| s.as_ref().map(|s| format!("{api} {s}")))
        .collect();
    eprintln!(
        "tokbal spec-drift: {} (against {})",
        report.summary(),
        compared.join(", ")
    );
    Ok(ExitCode::from(if report.has_breaking() {
        EXIT_BREAKING
    } else {
        EXIT_CLEAN
    }))
}

fn unreadable(reason: &str) -> ExitCode {
    eprintln!("tokbal spec-drift: {reason}");
    ExitCode::from(EXIT_UNREADABLE)
}
