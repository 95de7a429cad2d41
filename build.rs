//! Generates the clients of the enabled sources into `$OUT_DIR`:
//! `specs/aptos.yaml` -> `aptos_client.rs` (feature `aptos`),
//! `specs/esplora.yaml` -> `esplora_client.rs` (feature `bitcoin`).
//!
//! A generated file is `include!`d by its source's `generated.rs` and never edited. Behaviour
//! that the generator cannot express lives in the hand-written wrappers beside it, or in the
//! generator settings of `build/generate.rs` (type replacements), never in the output. A
//! source whose feature is off costs no generation and no generator in the build.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "aptos")]
    openapi::client("specs/aptos.yaml", "aptos_client.rs", "Aptos");
    #[cfg(feature = "bitcoin")]
    openapi::client("specs/esplora.yaml", "esplora_client.rs", "Esplora");
}

#[cfg(any(feature = "aptos", feature = "bitcoin"))]
#[path = "build/generate.rs"]
mod generate;

#[cfg(any(feature = "aptos", feature = "bitcoin"))]
mod openapi {
    use std::path::{Path, PathBuf};

    use super::generate::{generate, Generated};

    /// Generates `spec` into `$OUT_DIR/output`, or stops the build with one paragraph.
    pub fn client(spec: &str, output: &str, name: &str) {
        println!("cargo:rerun-if-changed={spec}");
        println!("cargo:rerun-if-changed=build/generate.rs");
        let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
        match generate(Path::new(spec)) {
            Ok(Generated {
                code,
                operations,
                types,
            }) => {
                let out = out_dir.join(output);
                if let Err(e) = std::fs::write(&out, code) {
                    fail(&format!(
                        "could not write the generated client to {}: {e}",
                        out.display()
                    ));
                }
                build_print::info!(
                    "generated the {name} client from {spec}: {} operations ({}), {types} schemas -> {}",
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
}
