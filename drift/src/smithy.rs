//! The AMB comparison: our Smithy slice (JSON AST) against the published model.
//!
//! Every shape of the slice is compared with the upstream shape of the same id: type,
//! members (names, targets, required-ness, HTTP bindings), enums, length, range and pattern
//! constraints, error traits and HTTP statuses; the operation's HTTP binding, input, output
//! and errors; the service's protocol, signing and SDK traits. The direction each shape is
//! used in (sent, read, both) decides what a change breaks.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::common::{compare_limits, Dir, Limits};
use super::{Api, Finding, Kind, Severity};
use tokbal::amb::{kind_for_item_error, HANDLED_NETWORKS, MAX_ITEMS_PER_CALL};
use tokbal::ErrorKind;

const API: Api = Api::Amb;
/// The list whose length limit is the batch size tokbal sends.
const BATCH_LIST: &str = "GetTokenBalanceInputList";

/// Shape-level and member-level traits compared as a whole: (trait, kind, breaking, why).
const TRAITS: &[(&str, Kind, bool, &str)] = &[
    (
        "smithy.api#httpError",
        Kind::HttpBinding,
        true,
        "the HTTP status this exception arrives with",
    ),
    (
        "smithy.api#error",
        Kind::Trait,
        true,
        "client or server fault, which the retry policy and error kinds follow",
    ),
    (
        "smithy.api#retryable",
        Kind::Trait,
        false,
        "the SDK's retry classification; tokbal's own retry policy decides",
    ),
    (
        "smithy.api#httpHeader",
        Kind::HttpBinding,
        true,
        "the header the member travels in (Retry-After for retryAfterSeconds)",
    ),
    (
        "smithy.api#httpLabel",
        Kind::HttpBinding,
        true,
        "the member moves into or out of the URI",
    ),
    (
        "smithy.api#httpQuery",
        Kind::HttpBinding,
        true,
        "the member moves into or out of the query",
    ),
    (
        "smithy.api#httpPayload",
        Kind::HttpBinding,
        true,
        "the member becomes or stops being the body",
    ),
    (
        "smithy.api#httpResponseCode",
        Kind::HttpBinding,
        true,
        "the member binds the status code",
    ),
    (
        "smithy.api#jsonName",
        Kind::Trait,
        true,
        "the member's name on the wire",
    ),
    (
        "smithy.api#timestampFormat",
        Kind::Trait,
        true,
        "how the timestamp is written on the wire",
    ),
    (
        "smithy.api#readonly",
        Kind::Trait,
        false,
        "safety classification only",
    ),
    (
        "smithy.api#idempotent",
        Kind::Trait,
        false,
        "safety classification only",
    ),
];

/// Member traits that mean the wrapper reads the member from the HTTP message itself.
const BOUND: [&str; 3] = [
    "smithy.api#httpHeader",
    "smithy.api#httpLabel",
    "smithy.api#httpQuery",
];

/// Compares `ours` with `up`; `left_out` names the upstream operations knowingly left out.
pub(crate) fn compare(ours: &Value, up: &Value, left_out: &[String]) -> Vec<Finding> {
    let empty = Map::new();
    let os = ours
        .get("shapes")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let us = up
        .get("shapes")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let dirs = directions(os);
    let mut out = Vec::new();
    for (id, so) in os {
        let ty = shape_type(so);
        if ty == "service" {
            service(id, so, us, left_out, &mut out);
            continue;
        }
        let prefix = if ty == "operation" {
            "operation"
        } else {
            "shape"
        };
        let loc = format!("{prefix} {}", local(id));
        let dir = dirs.get(id.as_str()).copied();
        let Some(su) = us.get(id) else {
            let used = dir.is_some() || ty == "operation";
            out.push(
                Finding::new(API, Kind::ShapeRemoved, Severity::breaking_if(used), loc)
                    .what(format!("{ty} gone upstream"))
                    .values("absent", ty)
                    .note(if used {
                        "the slice (and the SDK the wrapper is built on) uses it"
                    } else {
                        "nothing in the slice reaches it"
                    }),
            );
            continue;
        };
        let dir = dir.unwrap_or(Dir::Response);
        let tu = shape_type(su);
        if ty != tu {
            out.push(
                Finding::new(API, Kind::ShapeType, Severity::Breaking, loc)
                    .what("shape type changed")
                    .values(tu, ty)
                    .note("the SDK's type for it changes"),
            );
            continue;
        }
        let mut c = ShapeCmp {
            id,
            loc: &loc,
            dir,
            out: &mut out,
        };
        if ty == "operation" {
            c.operation(so, su);
        }
        c.traits(so, su);
        c.enums(so, su);
        c.limits(&loc, so, su);
        if matches!(ty, "structure" | "union" | "list" | "set" | "map") {
            c.members(so, su);
        }
    }
    out
}

/// What follows the `#` of a shape id.
fn local(id: &str) -> &str {
    id.rsplit_once('#').map(|(_, n)| n).unwrap_or(id)
}

fn traits(v: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    v.get("traits")
        .and_then(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

/// The shape's type, with Smithy 2 enum shapes read as the strings (and integers) they are.
fn shape_type(v: &Value) -> &str {
    match v.get("type").and_then(Value::as_str).unwrap_or("unknown") {
        "enum" => "string",
        "intEnum" => "integer",
        other => other,
    }
}

fn target(v: Option<&Value>) -> Option<&str> {
    v?.get("target")?.as_str()
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "absent".to_string(),
        Some(Value::Object(m)) if m.is_empty() => "present".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The named members of a structure or union, and the `member`/`key`/`value` of lists,
/// sets and maps.
fn members(v: &Value) -> Vec<(String, &Value)> {
    let mut out: Vec<(String, &Value)> = v
        .get("members")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v)).collect())
        .unwrap_or_default();
    for key in ["member", "key", "value"] {
        if let Some(m) = v.get(key) {
            out.push((key.to_string(), m));
        }
    }
    out
}

/// Enum values from the `smithy.api#enum` trait (Smithy 1) or enum members (Smithy 2).
fn enum_values(v: &Value) -> Option<BTreeSet<String>> {
    if let Some(list) = traits(v).get("smithy.api#enum").and_then(Value::as_array) {
        return Some(
            list.iter()
                .filter_map(|e| e.get("value"))
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect(),
        );
    }
    let ty = v.get("type").and_then(Value::as_str)?;
    if ty != "enum" && ty != "intEnum" {
        return None;
    }
    Some(
        v.get("members")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(
                        |(name, member)| match traits(member).get("smithy.api#enumValue") {
                            Some(Value::String(s)) => s.clone(),
                            Some(other) => other.to_string(),
                            None => name.clone(),
                        },
                    )
                    .collect()
            })
            .unwrap_or_default(),
    )
}

fn required(member: &Value) -> bool {
    traits(member).contains_key("smithy.api#required")
}

fn limits_of(v: &Value) -> Limits {
    let t = traits(v);
    let n = |trait_id: &str, key: &str| {
        t.get(trait_id)
            .and_then(|x| x.get(key))
            .and_then(Value::as_f64)
    };
    Limits {
        lower: vec![
            ("length min", n("smithy.api#length", "min")),
            ("range min", n("smithy.api#range", "min")),
        ],
        upper: vec![
            ("length max", n("smithy.api#length", "max")),
            ("range max", n("smithy.api#range", "max")),
        ],
        pattern: t
            .get("smithy.api#pattern")
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

/// The direction each shape of the slice is used in, walking from every operation: input
/// is sent, output and errors are read.
fn directions(shapes: &Map<String, Value>) -> BTreeMap<&str, Dir> {
    fn walk<'s>(
        shapes: &'s Map<String, Value>,
        id: &str,
        dir: Dir,
        out: &mut BTreeMap<&'s str, Dir>,
    ) {
        let Some((key, shape)) = shapes.get_key_value(id) else {
            return; // a prelude shape (smithy.api#String) or one the slice lacks
        };
        let joined = out.get(key.as_str()).map_or(dir, |d| d.join(dir));
        if out.get(key.as_str()) == Some(&joined) {
            return;
        }
        out.insert(key.as_str(), joined);
        for (_, m) in members(shape) {
            if let Some(t) = target(Some(m)) {
                walk(shapes, t, joined, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    for shape in shapes.values().filter(|s| shape_type(s) == "operation") {
        if let Some(t) = target(shape.get("input")) {
            walk(shapes, t, Dir::Request, &mut out);
        }
        if let Some(t) = target(shape.get("output")) {
            walk(shapes, t, Dir::Response, &mut out);
        }
        for e in shape
            .get("errors")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if let Some(t) = target(Some(e)) {
                walk(shapes, t, Dir::Response, &mut out);
            }
        }
    }
    out
}

fn service(
    id: &str,
    so: &Value,
    us: &Map<String, Value>,
    left_out: &[String],
    out: &mut Vec<Finding>,
) {
    let loc = format!("service {}", local(id));
    let su = us.get(id).or_else(|| {
        let mut services = us.values().filter(|s| shape_type(s) == "service");
        match (services.next(), services.next()) {
            (Some(s), None) => Some(s),
            _ => None,
        }
    });
    let Some(su) = su else {
        out.push(
            Finding::new(API, Kind::ShapeRemoved, Severity::Breaking, loc)
                .what("service gone upstream")
                .values("absent", local(id))
                .note("nothing to call"),
        );
        return;
    };
    let version = |v: &Value| show(v.get("version"));
    if version(so) != version(su) {
        out.push(
            Finding::new(API, Kind::ApiVersion, Severity::Informational, &loc)
                .what("service version changed")
                .values(version(su), version(so))
                .note("a new API version: review it, and the SDK crate that follows it"),
        );
    }
    let (to, tu) = (traits(so), traits(su));
    for (key, vo) in to {
        let relied = key.starts_with("aws.protocols#")
            || key == "aws.auth#sigv4"
            || key == "aws.api#service";
        if !relied {
            continue;
        }
        let vu = tu.get(key);
        let same = match (key.as_str(), vu) {
            // Only the identifiers of aws.api#service matter, not its other settings.
            ("aws.api#service", Some(vu)) => ["sdkId", "arnNamespace"]
                .iter()
                .all(|k| vo.get(k) == vu.get(k)),
            (_, vu) => vu == Some(vo),
        };
        if !same {
            out.push(
                Finding::new(API, Kind::ServiceTrait, Severity::Breaking, &loc)
                    .what(format!("{key} changed"))
                    .values(show(vu), show(Some(vo)))
                    .note("the protocol, signing or SDK identity the wrapper is built for"),
            );
        }
    }
    for key in tu.keys().filter(|k| k.starts_with("aws.protocols#")) {
        if !to.contains_key(key) {
            out.push(
                Finding::new(API, Kind::ServiceTrait, Severity::Informational, &loc)
                    .what(format!("{key} added upstream"))
                    .values("present", "absent")
                    .note("another protocol offered; the SDK keeps the one it was built with"),
            );
        }
    }
    let ops = |v: &Value| -> BTreeSet<String> {
        v.get("operations")
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .filter_map(|o| target(Some(o)))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (oo, ou) = (ops(so), ops(su));
    for op in oo.difference(&ou) {
        out.push(
            Finding::new(API, Kind::OperationRemoved, Severity::Breaking, &loc)
                .what(format!(
                    "operation {} no longer bound to the service",
                    local(op)
                ))
                .values("absent", local(op))
                .note("the wrapper calls it"),
        );
    }
    for op in ou.difference(&oo) {
        if left_out.iter().any(|l| l == local(op)) {
            continue;
        }
        out.push(
            Finding::new(API, Kind::OperationAdded, Severity::Informational, &loc)
                .what(format!("operation {} upstream, not in the slice", local(op)))
                .values(local(op), "absent")
                .note("new upstream? add it to specs/amb.json if tokbal should call it, else to left_out.amb in specs/deviations.json"),
        );
    }
}

struct ShapeCmp<'c> {
    id: &'c str,
    loc: &'c str,
    dir: Dir,
    out: &'c mut Vec<Finding>,
}

impl ShapeCmp<'_> {
    fn push(&mut self, f: Finding) {
        self.out.push(f);
    }

    fn operation(&mut self, so: &Value, su: &Value) {
        let http = |v: &Value, key: &str| {
            traits(v)
                .get("smithy.api#http")
                .and_then(|h| h.get(key))
                .cloned()
                .unwrap_or(if key == "code" {
                    Value::from(200)
                } else {
                    Value::Null
                })
        };
        for (key, what) in [
            ("method", "HTTP method"),
            ("uri", "URI"),
            ("code", "success status"),
        ] {
            let (a, b) = (http(so, key), http(su, key));
            if a != b {
                self.push(
                    Finding::new(API, Kind::HttpBinding, Severity::Breaking, self.loc)
                        .what(format!("{what} changed"))
                        .values(show(Some(&b)), show(Some(&a)))
                        .note("the SDK sends the request where the model says"),
                );
            }
        }
        for key in ["input", "output"] {
            let (a, b) = (target(so.get(key)), target(su.get(key)));
            if a != b {
                self.push(
                    Finding::new(
                        API,
                        Kind::MemberTarget,
                        Severity::Breaking,
                        format!("{} {key}", self.loc),
                    )
                    .what(format!("{key} targets another shape"))
                    .values(
                        b.map(local).unwrap_or("absent"),
                        a.map(local).unwrap_or("absent"),
                    )
                    .note("the SDK's input and output types change"),
                );
            }
        }
        let errors = |v: &Value| -> BTreeSet<String> {
            v.get("errors")
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(|e| target(Some(e)))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let (eo, eu) = (errors(so), errors(su));
        for e in eo.difference(&eu) {
            self.push(
                Finding::new(
                    API,
                    Kind::ErrorRemoved,
                    Severity::Informational,
                    format!("{} errors", self.loc),
                )
                .what(format!("{} no longer raised", local(e)))
                .values("absent", local(e))
                .note("its mapping stays harmless; drop it from specs/amb.json"),
            );
        }
        for e in eu.difference(&eo) {
            self.push(
                Finding::new(API, Kind::ErrorAdded, Severity::Informational, format!("{} errors", self.loc))
                    .what(format!("{} may be raised", local(e)))
                    .values(local(e), "absent")
                    .note("classified by HTTP status (kind_for_service_error) until mapped; add it to specs/amb.json"),
            );
        }
    }

    fn traits_at(&mut self, loc: &str, so: &Value, su: &Value) {
        let (to, tu) = (traits(so), traits(su));
        for (key, kind, breaking, why) in TRAITS {
            let (a, b) = (to.get(*key), tu.get(*key));
            if a != b {
                let short = key.trim_start_matches("smithy.api#");
                self.out.push(
                    Finding::new(API, *kind, Severity::breaking_if(*breaking), loc)
                        .what(format!("{short} changed"))
                        .values(show(b), show(a))
                        .note(*why),
                );
            }
        }
    }

    fn traits(&mut self, so: &Value, su: &Value) {
        let loc = self.loc.to_string();
        self.traits_at(&loc, so, su);
    }

    fn limits(&mut self, loc: &str, so: &Value, su: &Value) {
        let batch = local(self.id) == BATCH_LIST && loc == self.loc;
        let note_for = |name: &str, up: Option<f64>| -> Option<(Severity, String)> {
            if !batch || name != "length max" {
                return None;
            }
            let max = MAX_ITEMS_PER_CALL as f64;
            Some(match up {
                Some(u) if u < max => (
                    Severity::Breaking,
                    format!(
                        "tokbal sends up to {MAX_ITEMS_PER_CALL} items per call \
                         (tokbal::amb::MAX_ITEMS_PER_CALL): lower it with the slice"
                    ),
                ),
                _ => (
                    Severity::Informational,
                    format!(
                        "tokbal sends at most {MAX_ITEMS_PER_CALL} items per call; \
                         it could send more"
                    ),
                ),
            })
        };
        let found = compare_limits(
            API,
            loc,
            self.dir,
            &limits_of(so),
            &limits_of(su),
            &note_for,
        );
        self.out.extend(found);
    }

    fn enums(&mut self, so: &Value, su: &Value) {
        let name = local(self.id);
        let dir = self.dir;
        match (enum_values(so), enum_values(su)) {
            (None, None) => {}
            (Some(eo), Some(eu)) => {
                for v in eu.difference(&eo) {
                    let (severity, note) = match name {
                        "QueryNetwork" => {
                            let handled = HANDLED_NETWORKS.iter().any(|(_, n)| n == v);
                            if handled {
                                (
                                    Severity::Informational,
                                    "already in tokbal::amb::HANDLED_NETWORKS; add it to specs/amb.json".to_string(),
                                )
                            } else {
                                (
                                    Severity::Breaking,
                                    "a network the wrapper does not handle: add it to \
                                     tokbal::amb::HANDLED_NETWORKS (and a Network) and to specs/amb.json"
                                        .to_string(),
                                )
                            }
                        }
                        "ErrorType" => {
                            let fallback = kind_for_item_error(v) == ErrorKind::Unavailable;
                            (
                                Severity::Informational,
                                if fallback {
                                    "kind_for_item_error classifies it as unavailable (the fallback): \
                                     give it its own kind in src/amb/errors.rs and add it to specs/amb.json"
                                        .to_string()
                                } else {
                                    "already mapped by kind_for_item_error; add it to specs/amb.json".to_string()
                                },
                            )
                        }
                        _ => (
                            Severity::Informational,
                            "Smithy enums are open: the SDK decodes it as an unknown value"
                                .to_string(),
                        ),
                    };
                    self.push(
                        Finding::new(API, Kind::EnumValueAdded, severity, self.loc)
                            .what(format!("enum value {v} added upstream"))
                            .values(v.clone(), "absent")
                            .note(note),
                    );
                }
                for v in eo.difference(&eu) {
                    self.push(
                        Finding::new(
                            API,
                            Kind::EnumValueRemoved,
                            Severity::breaking_if(dir.sends()),
                            self.loc,
                        )
                        .what(format!("enum value {v} gone upstream"))
                        .values("absent", v.clone())
                        .note(if dir.sends() {
                            "tokbal may send it"
                        } else {
                            "tokbal will no longer receive it"
                        }),
                    );
                }
            }
            (None, Some(eu)) => self.push(
                Finding::new(
                    API,
                    Kind::EnumClosedUpstream,
                    Severity::breaking_if(dir.sends()),
                    self.loc,
                )
                .what("closed enum upstream, open string in ours")
                .values(format!("enum ({} values)", eu.len()), "open string")
                .note(if dir.sends() {
                    "tokbal may send values the enum lacks"
                } else {
                    "ours decodes any value"
                }),
            ),
            (Some(eo), None) => self.push(
                Finding::new(
                    API,
                    Kind::EnumOpenedUpstream,
                    Severity::Informational,
                    self.loc,
                )
                .what("open string upstream, enum in ours")
                .values("open string", format!("enum ({} values)", eo.len()))
                .note("the SDK decodes unknown values anyway"),
            ),
        }
    }

    fn members(&mut self, so: &Value, su: &Value) {
        let mo = members(so);
        let mu = members(su);
        let dir = self.dir;
        let show_req = |r: bool| if r { "required" } else { "optional" };
        for (name, a) in &mo {
            let loc = format!("{}.{name}", self.loc);
            let Some((_, b)) = mu.iter().find(|(n, _)| n == name) else {
                let read = required(a) || BOUND.iter().any(|t| traits(a).contains_key(*t));
                let breaking = dir.sends() || read;
                self.push(
                    Finding::new(
                        API,
                        Kind::MemberRemoved,
                        Severity::breaking_if(breaking),
                        &loc,
                    )
                    .what("member gone upstream")
                    .values("absent", target(Some(a)).map(local).unwrap_or("present"))
                    .note(if dir.sends() {
                        "tokbal sends it"
                    } else if read {
                        "the wrapper reads it"
                    } else {
                        "optional: the SDK drops it"
                    }),
                );
                continue;
            };
            let (ta, tb) = (target(Some(a)), target(Some(b)));
            if ta != tb {
                self.push(
                    Finding::new(API, Kind::MemberTarget, Severity::Breaking, &loc)
                        .what("member targets another shape")
                        .values(tb.unwrap_or("absent"), ta.unwrap_or("absent"))
                        .note("the member's type changes"),
                );
            }
            let (ra, rb) = (required(a), required(b));
            if ra != rb {
                let breaking = (dir.sends() && rb && !ra) || (dir.reads() && ra && !rb);
                self.push(
                    Finding::new(
                        API,
                        Kind::MemberRequired,
                        Severity::breaking_if(breaking),
                        &loc,
                    )
                    .what("required-ness changed")
                    .values(show_req(rb), show_req(ra))
                    .note(match (breaking, ra) {
                        (true, false) => "upstream now rejects calls without it",
                        (true, true) => {
                            "upstream may omit what the wrapper reads (the SDK makes it optional)"
                        }
                        (false, true) => "upstream no longer requires what tokbal always sends",
                        (false, false) => "upstream now always sends it",
                    }),
                );
            }
            self.traits_at(&loc, a, b);
            self.limits(&loc, a, b);
        }
        for (name, b) in &mu {
            if mo.iter().any(|(n, _)| n == name) {
                continue;
            }
            let breaking = dir.sends() && required(b);
            self.push(
                Finding::new(
                    API,
                    Kind::MemberAdded,
                    Severity::breaking_if(breaking),
                    format!("{}.{name}", self.loc),
                )
                .what("member added upstream")
                .values(
                    format!(
                        "{} {}",
                        show_req(required(b)),
                        target(Some(b)).map(local).unwrap_or("?")
                    ),
                    "absent",
                )
                .note(if breaking {
                    "upstream requires it and tokbal does not send it"
                } else {
                    "optional, or only read: nothing breaks"
                }),
            );
        }
    }
}
