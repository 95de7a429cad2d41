//! Generates the Aptos node client from `specs/aptos.yaml` into `$OUT_DIR/aptos_client.rs`.
//!
//! The generated file is `include!`d by `src/aptos/generated.rs` and never edited. Behaviour
//! that the generator cannot express lives in the hand-written wrappers under `src/aptos/`, or
//! in the settings below (type replacements), never in the output.

use std::path::{Path, PathBuf};

#[path = "build/generate.rs"]
mod generate;

use generate::{generate, Generated};

const SPEC: &str = "specs/aptos.yaml";
const OUTPUT: &str = "aptos_client.rs";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build/generate.rs");

    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    match generate(Path::new(SPEC)) {
        Ok(Generated {
            code,
            operations,
            types,
        }) => {
            let out = out_dir.join(OUTPUT);
            if let Err(e) = std::fs::write(&out, code) {
                fail(&format!(
                    "could not write the generated client to {}: {e}",
                    out.display()
                ));
            }
            build_print::info!(
                "generated the Aptos client from {SPEC}: {} operations ({}), {types} schemas -> {}",
                operations.len(),
                operations.join(", "),
                out.display()
            );
        }
        Err(message) => fail(&message),
    }
}

/// Stops the build with one readable paragraph, no backtrace.
fn fail(message: &str) -> ! {
    build_print::error!("{message}");
    eprintln!("error: {message}");
    std::process::exit(1);
}
