//! The spec-drift check: holds the API slices in `specs/` against the published descriptions.
//!
//! tokbal is built from three slices: `specs/aptos.yaml` (OpenAPI 3, from which `build.rs`
//! generates the Aptos client), `specs/amb.json` (the Smithy model of AWS Managed
//! Blockchain Query as far as the wrapper relies on it) and `specs/evm.json` (the OpenRPC
//! description of the Ethereum JSON-RPC methods the EVM source calls). When upstream
//! publishes a new description, this check compares it with the slice *semantically*:
//! operations and methods, HTTP bindings, parameters (and, for JSON-RPC, their positions),
//! status codes, media types, headers, results, schema properties, types, `oneOf`/`anyOf`
//! alternatives, required-ness, enums and constraints, never the text. Each difference is a
//! [`Finding`] with a [`Severity`]:
//!
//! - [`Severity::Breaking`]: `specs/` (and then the wrappers) must change: something the
//!   slice uses is gone or different, upstream now rejects what tokbal sends or may omit what
//!   it reads, a batch limit went down, a new `QueryNetwork` is not handled, ...
//! - [`Severity::Informational`]: upstream added something optional, or a value to an enum
//!   tokbal already treats as open (a new Aptos error code is reported this way, so that it
//!   can be mapped to an error kind), or a recorded deviation no longer shows.
//! - [`Severity::Deliberate`]: the difference is one recorded in `specs/deviations.json`.
//!
//! ```
//! use tokbal_drift::{self as drift, Slices};
//!
//! let slices = Slices::bundled()?;
//! // The slice against itself: nothing differs, so only the recorded deviations are
//! // reported (as not seen), and nothing is breaking.
//! let report = drift::check(
//!     &slices,
//!     Some(&slices.aptos),
//!     Some(&slices.amb),
//!     Some(&slices.evm),
//! );
//! assert!(!report.has_breaking());
//! assert_eq!(report.exit_code(), 0);
//! # Ok::<(), tokbal::Error>(())
//! ```

mod common;
mod deviations;
mod load;
mod openapi;
mod openrpc;
mod schema;
mod smithy;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

pub use self::deviations::{glob_match, Deviation, Deviations, LeftOut, Matcher, OpenEnum};
pub use self::load::{parse_description, read_source, read_upstream};
use tokbal::{Error, ErrorKind};

/// Where the newest Aptos description lies inside an `--upstream` folder.
pub const UPSTREAM_APTOS: &str = "aptos/aptos-openapi.yaml";
/// Where the AMB Query Smithy model lies inside an `--upstream` folder.
pub const UPSTREAM_AMB: &str = "amb/managedblockchain-query-2023-05-04.json";
/// Where the newest Ethereum JSON-RPC (OpenRPC) description lies inside an `--upstream`
/// folder.
pub const UPSTREAM_EVM: &str = "evm/execution-apis-openrpc.json";

/// `specs/aptos.yaml` as compiled into this build.
pub const BUNDLED_APTOS: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/aptos.yaml"));
/// `specs/amb.json` as compiled into this build.
pub const BUNDLED_AMB: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/amb.json"));
/// `specs/evm.json` as compiled into this build.
pub const BUNDLED_EVM: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/evm.json"));
/// `specs/deviations.json` as compiled into this build.
pub const BUNDLED_DEVIATIONS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../specs/deviations.json"
));

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// `specs/` must change (and then, often, the wrappers): the check exits 1.
    Breaking,
    /// Worth knowing, nothing to change now.
    Informational,
    /// A difference recorded in `specs/deviations.json`.
    Deliberate,
}

impl Severity {
    /// `breaking`, `informational` or `deliberate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Breaking => "breaking",
            Severity::Informational => "informational",
            Severity::Deliberate => "deliberate",
        }
    }

    /// Breaking when `breaking` holds, informational otherwise.
    pub(crate) fn breaking_if(breaking: bool) -> Severity {
        if breaking {
            Severity::Breaking
        } else {
            Severity::Informational
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which API a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    /// The Aptos node API: `specs/aptos.yaml` against the published OpenAPI description.
    Aptos,
    /// AWS Managed Blockchain Query: `specs/amb.json` against the published Smithy model.
    Amb,
    /// Ethereum JSON-RPC: `specs/evm.json` against the published OpenRPC description
    /// (ethereum/execution-apis).
    Evm,
}

impl Api {
    /// `aptos`, `amb` or `evm`.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Aptos => "aptos",
            Api::Amb => "amb",
            Api::Evm => "evm",
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! kinds {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, )*) => {
        /// What kind of difference a finding is. Written in `snake_case` in JSON and in
        /// `specs/deviations.json`. "Added" means present upstream only; "removed" means
        /// present in our slice only (removed upstream, or never there).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Kind {
            $( $(#[$doc])* $variant, )*
        }

        impl Kind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [Kind] = &[$(Kind::$variant,)*];

            /// The `snake_case` name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$variant => $name,)*
                }
            }

            /// The kind with this `snake_case` name.
            pub fn from_name(name: &str) -> Option<Kind> {
                match name {
                    $($name => Some(Kind::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

kinds! {
    /// The description's own version changed (`info.version`, the Smithy service version).
    ApiVersion = "api_version",
    /// The server URL differs (`servers`); breaking when its path (the `/v1`) differs.
    ServerUrl = "server_url",
    /// An operation (a JSON-RPC method) of the slice is gone upstream.
    OperationRemoved = "operation_removed",
    /// Upstream has an operation (a JSON-RPC method) that is neither in the slice nor
    /// recorded as left out (`left_out` in `specs/deviations.json`).
    OperationAdded = "operation_added",
    /// An operation of the slice has another method or path upstream.
    OperationMoved = "operation_moved",
    /// The method and path of an operation carry another operationId upstream; or a
    /// JSON-RPC method of the slice is gone and one new upstream has the same parameters
    /// and result (breaking there: the name is what tokbal sends).
    OperationRenamed = "operation_renamed",
    /// Upstream marks something the slice uses as deprecated.
    Deprecated = "deprecated",
    /// A parameter of the slice is gone upstream.
    ParameterRemoved = "parameter_removed",
    /// Upstream has a parameter the slice does not.
    ParameterAdded = "parameter_added",
    /// A parameter has another name upstream (one removed, one added, same place and schema).
    ParameterRenamed = "parameter_renamed",
    /// A parameter moved (`in: query` to `in: header`, ...).
    ParameterLocation = "parameter_location",
    /// A JSON-RPC parameter sits at another position (tokbal sends parameters by
    /// position).
    ParameterPosition = "parameter_position",
    /// A parameter's required-ness differs.
    ParameterRequired = "parameter_required",
    /// A JSON-RPC method's `paramStructure` (by-position, by-name, either) differs.
    ParamStructure = "param_structure",
    /// A request body appeared, disappeared or changed required-ness.
    RequestBody = "request_body",
    /// A JSON-RPC method's result appeared or disappeared.
    MethodResult = "method_result",
    /// A status code the slice lists is gone upstream.
    StatusRemoved = "status_removed",
    /// Upstream lists a status code the slice does not.
    StatusAdded = "status_added",
    /// A media type the slice lists is gone upstream.
    MediaTypeRemoved = "media_type_removed",
    /// Upstream lists a media type the slice does not.
    MediaTypeAdded = "media_type_added",
    /// A response header the slice lists is gone upstream.
    HeaderRemoved = "header_removed",
    /// Upstream lists a response header the slice does not.
    HeaderAdded = "header_added",
    /// A response header's required-ness differs.
    HeaderRequired = "header_required",
    /// A type differs (`string` against `integer`, ...).
    Type = "type",
    /// A format differs (`uint64`, `hex`, ...) under the same type.
    Format = "format",
    /// Nullability differs.
    Nullable = "nullable",
    /// `oneOf` / `anyOf` differ: one side has a single schema, or `oneOf` where the other
    /// has `anyOf`.
    Composition = "composition",
    /// An alternative of a `oneOf` / `anyOf` of the slice is not upstream.
    AlternativeRemoved = "alternative_removed",
    /// Upstream has an alternative in a `oneOf` / `anyOf` that the slice does not.
    AlternativeAdded = "alternative_added",
    /// A length, range, item-count or pattern constraint differs.
    Constraint = "constraint",
    /// An enum (or a value the slice's open string is known to take) gained a value upstream.
    EnumValueAdded = "enum_value_added",
    /// An enum value the slice lists (or knows) is not upstream.
    EnumValueRemoved = "enum_value_removed",
    /// Upstream has a closed enum where the slice has an open string.
    EnumClosedUpstream = "enum_closed_upstream",
    /// Upstream has an open string where the slice has a closed enum.
    EnumOpenedUpstream = "enum_opened_upstream",
    /// A schema property of the slice is gone upstream.
    PropertyRemoved = "property_removed",
    /// Upstream has a schema property the slice does not.
    PropertyAdded = "property_added",
    /// A schema property's required-ness differs.
    PropertyRequired = "property_required",
    /// A reference could not be resolved.
    UnresolvedRef = "unresolved_ref",
    /// A schema of the slice that no operation uses is not upstream.
    SchemaRemoved = "schema_removed",
    /// A trait of the Smithy service (protocol, signing, SDK id) differs.
    ServiceTrait = "service_trait",
    /// A Smithy shape of the slice is gone upstream.
    ShapeRemoved = "shape_removed",
    /// A Smithy shape has another type upstream (`structure` to `union`, ...).
    ShapeType = "shape_type",
    /// A member of a Smithy shape is gone upstream.
    MemberRemoved = "member_removed",
    /// A Smithy shape has a member upstream that the slice does not.
    MemberAdded = "member_added",
    /// A member (or a list member, an operation input or output) targets another shape.
    MemberTarget = "member_target",
    /// A member's required-ness differs.
    MemberRequired = "member_required",
    /// An HTTP binding differs: operation method, URI or code, an error's HTTP status, a
    /// member bound to a header, label, query or payload.
    HttpBinding = "http_binding",
    /// Another trait the wrapper relies on differs (error fault, retryable, timestamp format,
    /// JSON name, read-only).
    Trait = "trait",
    /// An exception (a JSON-RPC error code) the slice lists for the operation is not
    /// upstream.
    ErrorRemoved = "error_removed",
    /// The operation can raise an exception (a JSON-RPC error code) upstream that the slice
    /// does not list.
    ErrorAdded = "error_added",
    /// A matcher of `specs/deviations.json` matched nothing: upstream no longer differs there.
    DeviationUnobserved = "deviation_unobserved",
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Kind::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown finding kind {name:?}")))
    }
}

/// One difference between a slice and the published description.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// Which API.
    pub api: Api,
    /// What kind of difference.
    pub kind: Kind,
    /// Where: `get_account_balance parameter ledger_version`,
    /// `get_ledger_info response 200 header X-APTOS-CHAIN-ID`, `schema IndexResponse.epoch`,
    /// `shape GetTokenBalanceInputList`, ... When the same difference shows in several
    /// responses, one finding stands for all of them and names them in [`locations`](Self::locations).
    pub location: String,
    /// What moved, in a few words.
    pub what: String,
    /// The upstream value (`absent` when upstream lacks it).
    pub upstream: String,
    /// Our value (`absent` when the slice lacks it).
    pub ours: String,
    /// Why it has this severity, or what to do.
    pub note: String,
    /// The id of the `specs/deviations.json` entry it is about: the one that makes it
    /// deliberate, or (for `deviation_unobserved`) the one not seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deviation: Option<String>,
    /// Every exact location this finding stands for (one, unless merged).
    pub locations: Vec<String>,
}

impl Finding {
    /// A finding at `location`; fill it in with [`what`](Self::what),
    /// [`values`](Self::values) and [`note`](Self::note).
    pub fn new(api: Api, kind: Kind, severity: Severity, location: impl Into<String>) -> Self {
        let location = location.into();
        Finding {
            severity,
            api,
            kind,
            locations: vec![location.clone()],
            location,
            what: String::new(),
            upstream: String::new(),
            ours: String::new(),
            note: String::new(),
            deviation: None,
        }
    }

    /// Sets what moved.
    pub fn what(mut self, what: impl Into<String>) -> Self {
        self.what = what.into();
        self
    }

    /// Sets the upstream value and ours.
    pub fn values(mut self, upstream: impl Into<String>, ours: impl Into<String>) -> Self {
        self.upstream = upstream.into();
        self.ours = ours.into();
        self
    }

    /// Sets the note.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    /// One line for people:
    /// `breaking      aptos get_account_balance parameter ledger_version: type changed (upstream string/uint64, ours integer/uint64) -- why`.
    pub fn to_line(&self) -> String {
        let mut line = format!(
            "{:<13} {:<5} {}: {}",
            self.severity.as_str(),
            self.api.as_str(),
            self.location,
            self.what
        );
        if !self.upstream.is_empty() || !self.ours.is_empty() {
            line.push_str(&format!(
                " (upstream {}, ours {})",
                or_dash(&self.upstream),
                or_dash(&self.ours)
            ));
        }
        if !self.note.is_empty() {
            line.push_str(" -- ");
            line.push_str(&self.note);
        }
        // One finding, one line, whatever the descriptions hold.
        line.replace(['\n', '\r'], " ")
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_line())
    }
}

/// The outcome of a check: every finding, breaking ones first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Report {
    /// The findings, sorted by severity, API and location.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether any finding is breaking.
    pub fn has_breaking(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity == Severity::Breaking)
    }

    /// The exit status of `tokbal spec-drift`: 1 when a finding is breaking, else 0.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.has_breaking())
    }

    /// How many findings have `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// One line per finding.
    pub fn to_text(&self) -> String {
        self.findings.iter().map(|f| f.to_line() + "\n").collect()
    }

    /// The findings as a pretty-printed JSON array.
    pub fn to_json(&self) -> String {
        // Serializing plain strings and enums into a String cannot fail.
        serde_json::to_string_pretty(&self.findings).unwrap_or_else(|_| "[]".to_string())
    }

    /// `2 breaking, 0 informational, 14 deliberate`.
    pub fn summary(&self) -> String {
        format!(
            "{} breaking, {} informational, {} deliberate",
            self.count(Severity::Breaking),
            self.count(Severity::Informational),
            self.count(Severity::Deliberate)
        )
    }
}

/// Our side: the slices and their recorded deviations.
#[derive(Clone, Debug)]
pub struct Slices {
    /// `specs/aptos.yaml`, parsed.
    pub aptos: Value,
    /// `specs/amb.json`, parsed.
    pub amb: Value,
    /// `specs/evm.json`, parsed.
    pub evm: Value,
    /// `specs/deviations.json`, parsed.
    pub deviations: Deviations,
}

impl Slices {
    /// The slices this build was compiled from.
    pub fn bundled() -> Result<Slices, Error> {
        Slices::from_texts(BUNDLED_APTOS, BUNDLED_AMB, BUNDLED_EVM, BUNDLED_DEVIATIONS)
    }

    /// Slices from their texts (YAML or JSON), e.g. from another checkout's `specs/`.
    pub fn from_texts(
        aptos: &str,
        amb: &str,
        evm: &str,
        deviations: &str,
    ) -> Result<Slices, Error> {
        let aptos = parse_description(aptos, "specs/aptos.yaml")?;
        load::expect_openapi(&aptos, "specs/aptos.yaml")?;
        let amb = parse_description(amb, "specs/amb.json")?;
        load::expect_smithy(&amb, "specs/amb.json")?;
        let evm = parse_description(evm, "specs/evm.json")?;
        load::expect_openrpc(&evm, "specs/evm.json")?;
        let deviations = Deviations::parse(deviations)?;
        Ok(Slices {
            aptos,
            amb,
            evm,
            deviations,
        })
    }

    /// Reads `DIR/aptos.yaml`, `DIR/amb.json`, `DIR/evm.json` and `DIR/deviations.json`.
    pub fn load(dir: &std::path::Path) -> Result<Slices, Error> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path)
                .map_err(|e| load::io_error(&path.display().to_string(), &e))
        };
        Slices::from_texts(
            &read("aptos.yaml")?,
            &read("amb.json")?,
            &read("evm.json")?,
            &read("deviations.json")?,
        )
    }
}

/// Compares our Aptos slice with an upstream OpenAPI description; the findings matching
/// `deviations` are marked deliberate, and a deviation that matches nothing is reported.
/// Pass [`Deviations::default()`] for the raw differences.
pub fn compare_aptos(ours: &Value, upstream: &Value, deviations: &Deviations) -> Vec<Finding> {
    let raw = openapi::compare(ours, upstream, deviations);
    finish(Api::Aptos, raw, deviations)
}

/// Compares our AMB slice with an upstream Smithy model (JSON AST); deviations as for
/// [`compare_aptos`].
pub fn compare_amb(ours: &Value, upstream: &Value, deviations: &Deviations) -> Vec<Finding> {
    let raw = smithy::compare(ours, upstream, deviations.left_out(Api::Amb));
    finish(Api::Amb, raw, deviations)
}

/// Compares our EVM slice with an upstream OpenRPC description (ethereum/execution-apis);
/// deviations as for [`compare_aptos`].
pub fn compare_evm(ours: &Value, upstream: &Value, deviations: &Deviations) -> Vec<Finding> {
    let raw = openrpc::compare(ours, upstream, deviations);
    finish(Api::Evm, raw, deviations)
}

/// Checks the slices against whichever upstream descriptions are given.
pub fn check(
    slices: &Slices,
    aptos: Option<&Value>,
    amb: Option<&Value>,
    evm: Option<&Value>,
) -> Report {
    let mut findings = Vec::new();
    if let Some(up) = aptos {
        findings.extend(compare_aptos(&slices.aptos, up, &slices.deviations));
    }
    if let Some(up) = amb {
        findings.extend(compare_amb(&slices.amb, up, &slices.deviations));
    }
    if let Some(up) = evm {
        findings.extend(compare_evm(&slices.evm, up, &slices.deviations));
    }
    sort(&mut findings);
    Report { findings }
}

fn finish(api: Api, raw: Vec<Finding>, deviations: &Deviations) -> Vec<Finding> {
    let applied = deviations.apply(api, dedup(raw));
    let mut merged = merge(applied);
    sort(&mut merged);
    merged
}

fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (a.severity, a.api, &a.location, a.kind).cmp(&(b.severity, b.api, &b.location, b.kind))
    });
}

/// Drops repeats of one difference (a schema reached from several places), keeping the
/// most severe.
fn dedup(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    for f in findings {
        let same = out.iter_mut().find(|g| {
            g.kind == f.kind
                && g.location == f.location
                && g.what == f.what
                && g.upstream == f.upstream
                && g.ours == f.ours
        });
        match same {
            Some(g) if f.severity < g.severity => *g = f,
            Some(_) => {}
            None => out.push(f),
        }
    }
    out
}

/// Splits `op response STATUS rest` into its parts.
fn split_response(location: &str) -> Option<(&str, &str, &str)> {
    let mut parts = location.splitn(4, ' ');
    let op = parts.next()?;
    if parts.next()? != "response" {
        return None;
    }
    let status = parts.next()?;
    let rest = parts.next()?;
    Some((op, status, rest))
}

/// One finding for the same difference in several responses (a header every answer gained).
fn merge(findings: Vec<Finding>) -> Vec<Finding> {
    type Key = (
        Severity,
        Kind,
        String,
        String,
        String,
        String,
        Option<String>,
        String,
    );
    let mut groups: BTreeMap<Key, usize> = BTreeMap::new();
    let mut out: Vec<Finding> = Vec::new();
    for f in findings {
        let Some((_, _, rest)) = split_response(&f.location) else {
            out.push(f);
            continue;
        };
        let key: Key = (
            f.severity,
            f.kind,
            f.what.clone(),
            f.upstream.clone(),
            f.ours.clone(),
            f.note.clone(),
            f.deviation.clone(),
            rest.to_string(),
        );
        match groups.get(&key) {
            Some(&i) => out[i].locations.extend(f.locations),
            None => {
                groups.insert(key, out.len());
                out.push(f);
            }
        }
    }
    for f in &mut out {
        if f.locations.len() > 1 {
            f.location = merged_location(&f.locations);
        }
    }
    out
}

fn merged_location(locations: &[String]) -> String {
    let parts: Vec<(&str, &str, &str)> = locations
        .iter()
        .filter_map(|l| split_response(l.as_str()))
        .collect();
    let rest = parts.first().map(|p| p.2).unwrap_or_default();
    if parts.len() <= 3 {
        let list: Vec<String> = parts.iter().map(|(op, s, _)| format!("{op} {s}")).collect();
        return format!("{rest} ({})", list.join(", "));
    }
    let mut ops: Vec<&str> = Vec::new();
    for (op, _, _) in &parts {
        if !ops.contains(op) {
            ops.push(op);
        }
    }
    format!("{rest} ({} responses of {})", parts.len(), ops.join(", "))
}

/// An error reading or parsing a description.
pub(crate) fn read_error(origin: &str, problem: impl fmt::Display) -> Error {
    Error::new(
        ErrorKind::Decode,
        format!("cannot read {origin}: {problem}"),
    )
}
