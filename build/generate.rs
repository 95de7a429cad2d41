//! Client generation from the OpenAPI slice: shared by `build.rs`, which writes the result
//! into `$OUT_DIR`, and by `tests/build_script.rs`, which checks the failure messages.

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use progenitor::{GenerationSettings, Generator, InterfaceStyle, TagStyle, TypeImpl};

/// The generated client and what it holds.
pub struct Generated {
    /// The generated Rust source, with a do-not-edit header.
    pub code: String,
    /// The operationIds, in spec order.
    pub operations: Vec<String>,
    /// How many schemas the slice defines.
    pub types: usize,
}

/// A hand-written type that stands in for one schema of a slice: the generator emits no type
/// for the schema and uses this one wherever the slice refers to it.
struct Replacement {
    schema: &'static str,
    with: &'static str,
    impls: &'static [TypeImpl],
}

/// The replacements of a slice, by its file name. Each slice has its own, so that a schema
/// name in one slice never picks up another source's type.
fn replacements(spec_path: &Path) -> &'static [Replacement] {
    match spec_path.file_name().and_then(|n| n.to_str()) {
        // The node writes u64 as decimal strings, except the balance, which is a bare number:
        // one hand-written type takes both, so no generated type has to guess.
        Some("aptos.yaml") => &[Replacement {
            schema: "U64",
            with: "crate::aptos::wire::U64",
            impls: &[TypeImpl::Display, TypeImpl::FromStr],
        }],
        // esplora.yaml needs none: satoshi amounts, heights and times are bare JSON integers,
        // which the generated u64 fields read as they are and refuse when negative,
        // fractional, quoted or above u64::MAX.
        _ => &[],
    }
}

/// Reads, checks and generates; every failure comes back as one paragraph naming the spec.
pub fn generate(spec_path: &Path) -> Result<Generated, String> {
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
        .with_tag(TagStyle::Merged);
    for r in replacements(spec_path) {
        settings.with_replacement(r.schema, r.with, r.impls.iter().copied());
    }

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
        "// Generated by build.rs from {} with progenitor; do not modify.\n\n{}",
        spec_path.display(),
        prettyplease::unparse(&file)
    );
    Ok(Generated {
        code,
        operations,
        types,
    })
}
