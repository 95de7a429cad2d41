//! Generates the Aptos node client from `specs/aptos.yaml` into `$OUT_DIR/aptos_client.rs`.
//!
//! The generated file is `include!`d by `src/aptos/generated.rs` and never edited. Behaviour
//! that the generator cannot express lives in the hand-written wrappers under `src/aptos/`, or
//! in the settings below (type replacements), never in the output.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use progenitor::{GenerationSettings, Generator, InterfaceStyle, TagStyle, TypeImpl};

const SPEC: &str = "specs/aptos.yaml";
const OUTPUT: &str = "aptos_client.rs";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");

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

struct Generated {
    code: String,
    operations: Vec<String>,
    types: usize,
}

/// Reads, checks and generates; every failure comes back as one paragraph naming the spec.
fn generate(spec_path: &Path) -> Result<Generated, String> {
    let text = std::fs::read_to_string(spec_path).map_err(|e| {
        format!(
            "cannot read the OpenAPI slice {}: {e}.",
            spec_path.display()
        )
    })?;
    let spec: openapiv3::OpenAPI = serde_yaml_ng::from_str(&text).map_err(|e| {
        format!(
            "{} is not a valid OpenAPI 3.0 document: {e}. Fix the slice (see specs/README.md) and rebuild.",
            spec_path.display()
        )
    })?;

    let mut operations = Vec::new();
    for (path, item) in spec.paths.iter() {
        let Some(item) = item.as_item() else {
            return Err(format!(
                "{}: path {path} is a $ref; the generator needs path items written out in place.",
                spec_path.display()
            ));
        };
        for (method, op) in item.iter() {
            match &op.operation_id {
                Some(id) => operations.push(id.clone()),
                None => {
                    return Err(format!(
                        "{}: {} {path} has no operationId; every operation needs one to name its client method.",
                        spec_path.display(),
                        method.to_uppercase()
                    ))
                }
            }
        }
    }
    let types = spec.components.as_ref().map_or(0, |c| c.schemas.len());

    let mut settings = GenerationSettings::default();
    settings
        .with_interface(InterfaceStyle::Positional)
        .with_tag(TagStyle::Merged)
        // The node writes u64 as decimal strings, except the balance, which is a bare number:
        // one hand-written type takes both, so no generated type has to guess.
        .with_replacement(
            "U64",
            "crate::aptos::wire::U64",
            [TypeImpl::Display, TypeImpl::FromStr].into_iter(),
        );

    // The generator reports some unsupported constructs by panicking; turn those into the same
    // one-paragraph message as every other failure, without a backtrace.
    let previous_hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        let mut generator = Generator::new(&settings);
        generator.generate_tokens(&spec)
    }));
    panic::set_hook(previous_hook);

    let tokens = match outcome {
        Ok(Ok(tokens)) => tokens,
        Ok(Err(e)) => {
            return Err(format!(
                "{}: the client generator rejected the slice: {e}. Change the slice so that it uses only what the generator supports (see specs/README.md).",
                spec_path.display()
            ))
        }
        Err(payload) => {
            let why = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("no reason given");
            return Err(format!(
                "{}: the client generator cannot handle this slice ({why}). Known limits: one media type per request body, no anyOf of primitive types; see specs/README.md.",
                spec_path.display()
            ));
        }
    };

    let file = syn::parse2::<syn::File>(tokens).map_err(|e| {
        format!(
            "{}: the generated client is not valid Rust ({e}); the slice likely uses a name the generator cannot turn into an identifier.",
            spec_path.display()
        )
    })?;
    let code = format!(
        "// Generated by build.rs from {SPEC} with progenitor; do not modify.\n\n{}",
        prettyplease::unparse(&file)
    );
    Ok(Generated {
        code,
        operations,
        types,
    })
}

/// Stops the build with one readable paragraph, no backtrace.
fn fail(message: &str) -> ! {
    build_print::error!("{message}");
    eprintln!("error: {message}");
    std::process::exit(1);
}
