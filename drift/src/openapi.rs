//! The Aptos comparison: our OpenAPI 3 slice against the published description.
//!
//! Walks every operation of the slice and compares, with `$ref`s resolved on both sides
//! (the slice refers to `components/headers` and `components/responses`, upstream inlines
//! them): method and path, parameters, request body, status codes, media types, response
//! headers, and every schema reached from them, property by property.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::{Map, Value};

use super::common::{compare_limits, Dir, Limits};
use super::deviations::OpenEnum;
use super::{Api, Deviations, Finding, Kind, Severity};

const API: Api = Api::Aptos;
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
/// How deep schemas are followed (the slice's go four levels down).
const MAX_DEPTH: usize = 48;
/// How many `$ref` hops are followed before giving up (a loop).
const MAX_HOPS: usize = 32;

/// Compares `ours` with `up`. From `deviations`, the open strings whose known values are
/// compared with an upstream enum, and the operations knowingly left out.
pub(crate) fn compare(ours: &Value, up: &Value, deviations: &Deviations) -> Vec<Finding> {
    let mut c = Cmp {
        ours,
        up,
        open: deviations.open_enums(API),
        left_out: deviations.left_out(API),
        seen: HashSet::new(),
        used: BTreeSet::new(),
        out: Vec::new(),
    };
    c.document();
    c.out
}

fn finding(kind: Kind, severity: Severity, location: impl Into<String>) -> Finding {
    Finding::new(API, kind, severity, location)
}

/// An operation: where it lives and what it is.
struct Op<'a> {
    method: &'static str,
    path: &'a str,
    item: &'a Value,
    op: &'a Value,
}

impl Op<'_> {
    fn id(&self) -> Option<&str> {
        self.op.get("operationId").and_then(Value::as_str)
    }

    fn label(&self) -> String {
        self.id()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{} {}", self.method.to_uppercase(), self.path))
    }

    fn route(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.path)
    }
}

struct Cmp<'a> {
    ours: &'a Value,
    up: &'a Value,
    open: Vec<&'a OpenEnum>,
    left_out: &'a [String],
    /// Named schema pairs already compared, per direction.
    seen: HashSet<(String, String, Dir)>,
    /// Our named schemas reached from an operation.
    used: BTreeSet<String>,
    out: Vec<Finding>,
}

/// Follows `$ref`s inside `doc`. Returns the name of the last `components/schemas` entry
/// passed through, and the value; `Err` names a reference that does not resolve.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> Result<(Option<String>, &'a Value), String> {
    let mut cur = v;
    let mut name = None;
    for _ in 0..MAX_HOPS {
        let Some(r) = cur.get("$ref").and_then(Value::as_str) else {
            return Ok((name, cur));
        };
        let pointer = r.strip_prefix('#').ok_or_else(|| r.to_string())?;
        cur = doc.pointer(pointer).ok_or_else(|| r.to_string())?;
        if let Some(n) = pointer.strip_prefix("/components/schemas/") {
            name = Some(n.replace("~1", "/").replace("~0", "~"));
        }
    }
    Err(format!(
        "{} (a reference loop)",
        v.get("$ref").and_then(Value::as_str).unwrap_or("?")
    ))
}

fn obj(v: &Value) -> Cow<'_, Map<String, Value>> {
    match v.as_object() {
        Some(m) => Cow::Borrowed(m),
        None => Cow::Owned(Map::new()),
    }
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn is_success(status: &str) -> bool {
    status.starts_with('2')
}

fn operations(doc: &Value) -> Vec<Op<'_>> {
    let mut ops = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return ops;
    };
    for (path, item) in paths {
        let item = resolve(doc, item).map(|(_, v)| v).unwrap_or(item);
        for method in METHODS {
            if let Some(op) = item.get(method).filter(|o| o.is_object()) {
                ops.push(Op {
                    method,
                    path,
                    item,
                    op,
                });
            }
        }
    }
    ops
}

/// The entry of `m` whose key equals `key` without regard to ASCII case.
fn find_ci<'m>(m: &'m Map<String, Value>, key: &str) -> Option<&'m Value> {
    m.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// Type, format and nullability of a schema; OpenAPI 3.1 type lists are read too.
#[derive(Clone, Debug, Default, PartialEq)]
struct TypeInfo {
    ty: Option<String>,
    format: Option<String>,
    nullable: bool,
}

impl TypeInfo {
    fn of(v: &Value) -> TypeInfo {
        let mut t = TypeInfo {
            format: v.get("format").and_then(Value::as_str).map(str::to_string),
            nullable: flag(v, "nullable"),
            ..TypeInfo::default()
        };
        match v.get("type") {
            Some(Value::String(s)) => t.ty = Some(s.clone()),
            Some(Value::Array(list)) => {
                for item in list.iter().filter_map(Value::as_str) {
                    if item == "null" {
                        t.nullable = true;
                    } else if t.ty.is_none() {
                        t.ty = Some(item.to_string());
                    }
                }
            }
            _ => {}
        }
        t
    }

    fn show(&self) -> String {
        let mut s = self.ty.clone().unwrap_or_else(|| "untyped".to_string());
        if let Some(f) = &self.format {
            s.push('/');
            s.push_str(f);
        }
        s
    }
}

/// Whether a schema says nothing at all: `{}` (any JSON value).
fn is_any(v: &Value) -> bool {
    const SHAPING: [&str; 10] = [
        "type",
        "properties",
        "items",
        "enum",
        "oneOf",
        "anyOf",
        "allOf",
        "format",
        "additionalProperties",
        "$ref",
    ];
    !SHAPING.iter().any(|k| v.get(*k).is_some())
}

fn required_set(v: &Value) -> BTreeSet<String> {
    v.get("required")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn enum_values(v: &Value) -> Option<BTreeSet<String>> {
    let list = v.get("enum")?.as_array()?;
    Some(
        list.iter()
            .map(|x| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
    )
}

fn limits(v: &Value) -> Limits {
    let n = |k: &str| v.get(k).and_then(Value::as_f64);
    Limits {
        lower: vec![
            ("minLength", n("minLength")),
            ("minimum", n("minimum")),
            ("minItems", n("minItems")),
        ],
        upper: vec![
            ("maxLength", n("maxLength")),
            ("maximum", n("maximum")),
            ("maxItems", n("maxItems")),
        ],
        pattern: v.get("pattern").and_then(Value::as_str).map(str::to_string),
    }
}

/// How many `allOf` lists one schema's folding may open (a guard against reference loops
/// and exponential fan-out in hostile descriptions).
const MAX_FOLDS: usize = 256;

/// `allOf` folded into one schema: properties and required lists merged, the first type
/// and format kept.
fn flattened<'a>(doc: &'a Value, v: &'a Value) -> Cow<'a, Value> {
    let mut budget = MAX_FOLDS;
    flatten(doc, v, &mut budget)
}

fn flatten<'a>(doc: &'a Value, v: &'a Value, budget: &mut usize) -> Cow<'a, Value> {
    let Some(parts) = v.get("allOf").and_then(Value::as_array) else {
        return Cow::Borrowed(v);
    };
    if *budget == 0 {
        return Cow::Borrowed(v);
    }
    *budget -= 1;
    let mut merged = obj(v).into_owned();
    merged.remove("allOf");
    let mut props = merged
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut required = required_set(v);
    for part in parts {
        let Ok((_, part)) = resolve(doc, part) else {
            continue;
        };
        let part = flatten(doc, part, budget);
        for (k, p) in obj(&part).iter() {
            match k.as_str() {
                "properties" => {
                    for (name, schema) in obj(p).iter() {
                        props.entry(name.clone()).or_insert_with(|| schema.clone());
                    }
                }
                "required" => required.extend(required_set(&part)),
                // Folded already, or left unfolded when the budget ran out.
                "allOf" => {}
                _ => {
                    merged.entry(k.clone()).or_insert_with(|| p.clone());
                }
            }
        }
    }
    if !props.is_empty() {
        merged.insert("properties".into(), Value::Object(props));
        merged
            .entry("type".to_string())
            .or_insert_with(|| Value::String("object".into()));
    }
    if !required.is_empty() {
        merged.insert(
            "required".into(),
            Value::Array(required.into_iter().map(Value::String).collect()),
        );
    }
    Cow::Owned(Value::Object(merged))
}

impl<'a> Cmp<'a> {
    fn push(&mut self, f: Finding) {
        self.out.push(f);
    }

    fn document(&mut self) {
        self.info();
        self.servers();
        let ours = operations(self.ours);
        let ups = operations(self.up);
        for o in &ours {
            let label = o.label();
            let by_id = o
                .id()
                .and_then(|id| ups.iter().find(|u| u.id() == Some(id)));
            let by_route = ups
                .iter()
                .find(|u| u.method == o.method && u.path == o.path);
            let u = match (by_id, by_route) {
                (Some(u), _) => {
                    if u.method != o.method || u.path != o.path {
                        self.push(
                            finding(Kind::OperationMoved, Severity::Breaking, &label)
                                .what("method or path changed")
                                .values(u.route(), o.route())
                                .note("the generated client calls the old route"),
                        );
                    }
                    u
                }
                (None, Some(u)) => {
                    self.push(
                        finding(Kind::OperationRenamed, Severity::Informational, &label)
                            .what("operationId changed")
                            .values(u.label(), label.clone())
                            .note("same route: the wire is unchanged, the generated method keeps our name"),
                    );
                    u
                }
                (None, None) => {
                    self.push(
                        finding(Kind::OperationRemoved, Severity::Breaking, &label)
                            .what("operation gone upstream")
                            .values("absent", o.route())
                            .note("the wrapper calls it"),
                    );
                    continue;
                }
            };
            self.operation(&label, o, u);
        }
        for u in &ups {
            let known = ours.iter().any(|o| {
                (o.id().is_some() && o.id() == u.id()) || (o.method == u.method && o.path == u.path)
            });
            let label = u.label();
            if !known && !self.left_out.contains(&label) {
                self.push(
                    finding(Kind::OperationAdded, Severity::Informational, &label)
                        .what("operation upstream, not in the slice")
                        .values(u.route(), "absent")
                        .note(
                            "new upstream? add it to specs/aptos.yaml if tokbal should call it, \
                             else to left_out.aptos in specs/deviations.json",
                        ),
                );
            }
        }
        self.unused_schemas();
    }

    fn info(&mut self) {
        let version = |d: &Value| {
            d.pointer("/info/version")
                .and_then(Value::as_str)
                .unwrap_or("none")
                .to_string()
        };
        let (o, u) = (version(self.ours), version(self.up));
        if o != u {
            self.push(
                finding(Kind::ApiVersion, Severity::Informational, "info.version")
                    .what("API version changed")
                    .values(u, o)
                    .note("review the release notes; update info.version in specs/aptos.yaml"),
            );
        }
    }

    fn servers(&mut self) {
        let url = |d: &Value| {
            d.pointer("/servers/0/url")
                .and_then(Value::as_str)
                .unwrap_or("/")
                .to_string()
        };
        let (o, u) = (url(self.ours), url(self.up));
        if o == u {
            return;
        }
        let path = |s: &str| {
            let rest = s.split_once("://").map(|(_, r)| r).unwrap_or(s);
            let p = if s.contains("://") {
                rest.find('/').map(|i| &rest[i..]).unwrap_or("/")
            } else {
                rest
            };
            p.trim_end_matches('/').to_string()
        };
        let breaking = path(&o) != path(&u);
        let note = if breaking {
            "the base path moved: every base URL tokbal uses (src/aptos default_url) must follow"
        } else {
            "same base path; the base URL is configured at run time"
        };
        self.push(
            finding(Kind::ServerUrl, Severity::breaking_if(breaking), "servers")
                .what("server URL differs")
                .values(u, o)
                .note(note),
        );
    }

    fn operation(&mut self, label: &str, o: &Op<'a>, u: &Op<'a>) {
        if flag(u.op, "deprecated") && !flag(o.op, "deprecated") {
            self.push(
                finding(Kind::Deprecated, Severity::Informational, label)
                    .what("operation deprecated upstream")
                    .values("deprecated", "in use")
                    .note("plan a replacement"),
            );
        }
        self.parameters(label, o, u);
        self.request_body(label, o, u);
        self.responses(label, o, u);
    }

    /// Path-level and operation-level parameters, keyed by (location, name).
    fn params(doc: &'a Value, op: &Op<'a>) -> BTreeMap<(String, String), &'a Value> {
        let mut out = BTreeMap::new();
        for list in [op.item.get("parameters"), op.op.get("parameters")]
            .into_iter()
            .flatten()
        {
            for p in list.as_array().map(Vec::as_slice).unwrap_or_default() {
                let Ok((_, p)) = resolve(doc, p) else {
                    continue;
                };
                let (Some(name), Some(place)) = (
                    p.get("name").and_then(Value::as_str),
                    p.get("in").and_then(Value::as_str),
                ) else {
                    continue;
                };
                let name = if place == "header" {
                    name.to_ascii_lowercase()
                } else {
                    name.to_string()
                };
                out.insert((place.to_string(), name), p);
            }
        }
        out
    }

    fn param_schema(p: &Value) -> Option<&Value> {
        p.get("schema").or_else(|| {
            p.get("content")
                .and_then(Value::as_object)
                .and_then(|m| m.values().next())
                .and_then(|m| m.get("schema"))
        })
    }

    fn param_required(p: &Value) -> bool {
        flag(p, "required") || p.get("in").and_then(Value::as_str) == Some("path")
    }

    fn parameters(&mut self, label: &str, o: &Op<'a>, u: &Op<'a>) {
        let ours = Self::params(self.ours, o);
        let ups = Self::params(self.up, u);
        let mut removed = Vec::new();
        for ((place, name), p) in &ours {
            let loc = format!("{label} parameter {name}");
            match ups.get(&(place.clone(), name.clone())) {
                Some(q) => self.parameter(&loc, p, q),
                None => {
                    if let Some(((other, _), _)) = ups.iter().find(|((_, n), _)| n == name) {
                        self.push(
                            finding(Kind::ParameterLocation, Severity::Breaking, &loc)
                                .what("parameter moved")
                                .values(format!("in {other}"), format!("in {place}"))
                                .note("the generated client sends it in the old place"),
                        );
                    } else {
                        removed.push((place.clone(), name.clone(), *p));
                    }
                }
            }
        }
        let added: Vec<(String, String, &Value)> = ups
            .iter()
            .filter(|((place, name), _)| {
                !ours.contains_key(&(place.clone(), name.clone()))
                    && !ours.keys().any(|(_, n)| n == name)
            })
            .map(|((place, name), p)| (place.clone(), name.clone(), *p))
            .collect();
        // One parameter removed and one added at the same place with the same schema: a rename.
        if let ([(rp, rn, r)], [(ap, an, a)]) = (removed.as_slice(), added.as_slice()) {
            let rs = Self::param_schema(r)
                .and_then(|s| resolve(self.ours, s).ok())
                .map(|x| x.1);
            let as_ = Self::param_schema(a)
                .and_then(|s| resolve(self.up, s).ok())
                .map(|x| x.1);
            if rp == ap
                && TypeInfo::of(rs.unwrap_or(&Value::Null))
                    == TypeInfo::of(as_.unwrap_or(&Value::Null))
            {
                self.push(
                    finding(
                        Kind::ParameterRenamed,
                        Severity::Breaking,
                        format!("{label} parameter {rn}"),
                    )
                    .what("parameter renamed")
                    .values(an.clone(), rn.clone())
                    .note("the generated client sends the old name"),
                );
                return;
            }
        }
        for (place, name, _) in removed {
            self.push(
                finding(
                    Kind::ParameterRemoved,
                    Severity::Breaking,
                    format!("{label} parameter {name}"),
                )
                .what("parameter gone upstream")
                .values("absent", format!("in {place}"))
                .note("the wrapper sends it"),
            );
        }
        for (place, name, p) in added {
            let required = Self::param_required(p);
            self.push(
                finding(
                    Kind::ParameterAdded,
                    Severity::breaking_if(required),
                    format!("{label} parameter {name}"),
                )
                .what("parameter added upstream")
                .values(
                    format!(
                        "{} in {place}",
                        if required { "required" } else { "optional" }
                    ),
                    "absent",
                )
                .note(if required {
                    "upstream requires it and tokbal does not send it"
                } else {
                    "optional: nothing to do unless tokbal wants it"
                }),
            );
        }
    }

    fn parameter(&mut self, loc: &str, p: &Value, q: &Value) {
        let (ro, ru) = (Self::param_required(p), Self::param_required(q));
        if ro != ru {
            let show = |r: bool| if r { "required" } else { "optional" };
            self.push(
                finding(Kind::ParameterRequired, Severity::breaking_if(ru), loc)
                    .what("required-ness changed")
                    .values(show(ru), show(ro))
                    .note(if ru {
                        "upstream now requires it; tokbal may leave it out"
                    } else {
                        "upstream made it optional; tokbal always sends it"
                    }),
            );
        }
        if flag(q, "deprecated") && !flag(p, "deprecated") {
            self.push(
                finding(Kind::Deprecated, Severity::Informational, loc)
                    .what("parameter deprecated upstream")
                    .values("deprecated", "in use")
                    .note("plan a replacement"),
            );
        }
        if let (Some(so), Some(su)) = (Self::param_schema(p), Self::param_schema(q)) {
            self.schema(loc, so, su, Dir::Request, 0);
        }
    }

    fn request_body(&mut self, label: &str, o: &Op<'a>, u: &Op<'a>) {
        let loc = format!("{label} request body");
        let body = |doc: &'a Value, op: &Op<'a>| {
            op.op
                .get("requestBody")
                .and_then(|b| resolve(doc, b).ok())
                .map(|x| x.1)
        };
        match (body(self.ours, o), body(self.up, u)) {
            (None, None) => {}
            (None, Some(b)) => {
                let required = flag(b, "required");
                self.push(
                    finding(Kind::RequestBody, Severity::breaking_if(required), &loc)
                        .what("request body added upstream")
                        .values(if required { "required" } else { "optional" }, "absent")
                        .note(if required {
                            "upstream requires a body tokbal does not send"
                        } else {
                            "optional"
                        }),
                );
            }
            (Some(_), None) => self.push(
                finding(Kind::RequestBody, Severity::Breaking, &loc)
                    .what("request body gone upstream")
                    .values("absent", "present")
                    .note("tokbal sends a body upstream no longer takes"),
            ),
            (Some(a), Some(b)) => {
                if flag(b, "required") && !flag(a, "required") {
                    self.push(
                        finding(Kind::RequestBody, Severity::Breaking, &loc)
                            .what("request body now required")
                            .values("required", "optional")
                            .note("tokbal may send no body"),
                    );
                }
                self.content(&loc, a, b, Dir::Request);
            }
        }
    }

    /// Media types and their schemas (`body` locations).
    fn content(&mut self, loc: &str, a: &Value, b: &Value, dir: Dir) {
        let (ca, cb) = (
            a.get("content").and_then(Value::as_object),
            b.get("content").and_then(Value::as_object),
        );
        let empty = Map::new();
        let (ca, cb) = (ca.unwrap_or(&empty), cb.unwrap_or(&empty));
        for (mt, ma) in ca {
            match find_ci(cb, mt) {
                None => self.push(
                    finding(
                        Kind::MediaTypeRemoved,
                        Severity::Breaking,
                        format!("{loc} media {mt}"),
                    )
                    .what("media type gone upstream")
                    .values("absent", mt.clone())
                    .note(if dir.sends() {
                        "tokbal sends this media type"
                    } else {
                        "tokbal decodes this media type"
                    }),
                ),
                Some(mb) => {
                    let body_loc = if mt.eq_ignore_ascii_case("application/json") {
                        format!("{loc} body")
                    } else {
                        format!("{loc} body {mt}")
                    };
                    if let (Some(sa), Some(sb)) = (ma.get("schema"), mb.get("schema")) {
                        self.schema(&body_loc, sa, sb, dir, 0);
                    }
                }
            }
        }
        for mt in cb.keys() {
            if find_ci(ca, mt).is_none() {
                self.push(
                    finding(
                        Kind::MediaTypeAdded,
                        Severity::Informational,
                        format!("{loc} media {mt}"),
                    )
                    .what("media type added upstream")
                    .values(mt.clone(), "absent")
                    .note("tokbal asks for the media types it lists"),
                );
            }
        }
    }

    fn responses(&mut self, label: &str, o: &Op<'a>, u: &Op<'a>) {
        let empty = Map::new();
        let ro =
            o.op.get("responses")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
        let ru =
            u.op.get("responses")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
        for (status, ra) in ro {
            let loc = format!("{label} response {status}");
            let Some(rb) = ru.get(status) else {
                let success = is_success(status);
                self.push(
                    finding(Kind::StatusRemoved, Severity::breaking_if(success), &loc)
                        .what("status gone upstream")
                        .values("absent", status.clone())
                        .note(if success {
                            "the wrapper reads this answer"
                        } else {
                            "an error answer upstream no longer lists: its mapping stays harmless"
                        }),
                );
                continue;
            };
            let ra = match resolve(self.ours, ra) {
                Ok((_, v)) => v,
                Err(r) => {
                    self.unresolved(&loc, "ours", &r);
                    continue;
                }
            };
            let rb = match resolve(self.up, rb) {
                Ok((_, v)) => v,
                Err(r) => {
                    self.unresolved(&loc, "upstream", &r);
                    continue;
                }
            };
            self.content(&loc, ra, rb, Dir::Response);
            self.headers(&loc, ra, rb);
        }
        for status in ru.keys() {
            if ro.contains_key(status) {
                continue;
            }
            let success = is_success(status);
            self.push(
                finding(
                    Kind::StatusAdded,
                    Severity::breaking_if(success),
                    format!("{label} response {status}"),
                )
                .what("status added upstream")
                .values(status.clone(), "absent")
                .note(if success {
                    "a success answer the generated client does not decode"
                } else {
                    "classified by HTTP status until the slice lists it"
                }),
            );
        }
    }

    fn headers(&mut self, loc: &str, ra: &Value, rb: &Value) {
        let empty = Map::new();
        let ha = ra
            .get("headers")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let hb = rb
            .get("headers")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let show = |r: bool| if r { "required" } else { "optional" };
        for (name, a) in ha {
            let hloc = format!("{loc} header {name}");
            let a = match resolve(self.ours, a) {
                Ok((_, v)) => v,
                Err(r) => {
                    self.unresolved(&hloc, "ours", &r);
                    continue;
                }
            };
            let Some(b) = find_ci(hb, name) else {
                let relied = flag(a, "required");
                self.push(
                    finding(Kind::HeaderRemoved, Severity::breaking_if(relied), &hloc)
                        .what("header gone upstream")
                        .values("absent", show(relied))
                        .note(if relied {
                            "the wrapper relies on it"
                        } else {
                            "optional in ours"
                        }),
                );
                continue;
            };
            let b = match resolve(self.up, b) {
                Ok((_, v)) => v,
                Err(r) => {
                    self.unresolved(&hloc, "upstream", &r);
                    continue;
                }
            };
            let (qa, qb) = (flag(a, "required"), flag(b, "required"));
            if qa != qb {
                self.push(
                    finding(Kind::HeaderRequired, Severity::breaking_if(qa), &hloc)
                        .what("required-ness changed")
                        .values(show(qb), show(qa))
                        .note(if qa {
                            "upstream may leave out a header the wrapper relies on"
                        } else {
                            "upstream now always sends it"
                        }),
                );
            }
            if let (Some(sa), Some(sb)) = (a.get("schema"), b.get("schema")) {
                self.schema(&hloc, sa, sb, Dir::Response, 0);
            }
        }
        for (name, b) in hb {
            if find_ci(ha, name).is_some() {
                continue;
            }
            let b = resolve(self.up, b).map(|x| x.1).unwrap_or(b);
            let ty = b
                .get("schema")
                .and_then(|s| resolve(self.up, s).ok())
                .map(|(_, s)| TypeInfo::of(s).show())
                .unwrap_or_else(|| "untyped".into());
            self.push(
                finding(
                    Kind::HeaderAdded,
                    Severity::Informational,
                    format!("{loc} header {name}"),
                )
                .what("header added upstream")
                .values(format!("{} {ty}", show(flag(b, "required"))), "absent")
                .note("tokbal does not read it"),
            );
        }
    }

    fn unresolved(&mut self, loc: &str, side: &str, reference: &str) {
        self.push(
            finding(Kind::UnresolvedRef, Severity::Breaking, loc)
                .what(format!("{side} $ref does not resolve"))
                .values(
                    if side == "upstream" { reference } else { "-" },
                    if side == "ours" { reference } else { "-" },
                )
                .note("cannot compare what it points to"),
        );
    }

    /// Compares one schema pair at `loc`. When both sides name a component schema, the
    /// pair is compared once, at `schema NAME`.
    fn schema(&mut self, loc: &str, o: &Value, u: &Value, dir: Dir, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let (oname, o) = match resolve(self.ours, o) {
            Ok(x) => x,
            Err(r) => return self.unresolved(loc, "ours", &r),
        };
        let (uname, u) = match resolve(self.up, u) {
            Ok(x) => x,
            Err(r) => return self.unresolved(loc, "upstream", &r),
        };
        if let Some(on) = &oname {
            self.used.insert(on.clone());
        }
        let loc = match (&oname, &uname) {
            (Some(on), Some(un)) => {
                if !self.seen.insert((on.clone(), un.clone(), dir)) {
                    return;
                }
                format!("schema {on}")
            }
            _ => loc.to_string(),
        };
        let o = flattened(self.ours, o);
        let u = flattened(self.up, u);
        self.schema_body(&loc, &o, &u, uname.as_deref(), dir, depth);
    }

    fn schema_body(
        &mut self,
        loc: &str,
        o: &Value,
        u: &Value,
        uname: Option<&str>,
        dir: Dir,
        depth: usize,
    ) {
        if is_any(o) {
            // Ours takes any JSON value: nothing upstream does can break decoding.
            return;
        }
        if !self.composition(loc, o, u, dir, depth) {
            return;
        }
        let (to, tu) = (TypeInfo::of(o), TypeInfo::of(u));
        match (&to.ty, &tu.ty) {
            (Some(a), Some(b)) if a != b => {
                return self.push(
                    finding(Kind::Type, Severity::Breaking, loc)
                        .what("type changed")
                        .values(tu.show(), to.show())
                        .note(if dir.reads() {
                            "the generated client cannot decode the upstream type"
                        } else {
                            "tokbal sends the old type"
                        }),
                );
            }
            (Some(_), None) if is_any(u) => {
                return self.push(
                    finding(Kind::Type, Severity::breaking_if(dir.reads()), loc)
                        .what("type dropped upstream")
                        .values("any", to.show())
                        .note(if dir.reads() {
                            "upstream no longer promises the type tokbal decodes"
                        } else {
                            "upstream takes any value"
                        }),
                );
            }
            _ => {}
        }
        if to.format != tu.format {
            let breaking = match (&to.format, &tu.format) {
                (None, Some(_)) => false,
                (Some(_), None) => dir.reads(),
                _ => true,
            };
            let note = match (&to.format, &tu.format) {
                (None, Some(_)) => "ours is the wider form",
                (Some(_), None) if !breaking => "upstream takes the wider form",
                (Some(_), None) => "upstream no longer promises the format tokbal decodes",
                _ => "values may no longer fit",
            };
            self.push(
                finding(Kind::Format, Severity::breaking_if(breaking), loc)
                    .what("format changed")
                    .values(tu.show(), to.show())
                    .note(note),
            );
        }
        if to.nullable != tu.nullable {
            let breaking = tu.nullable && dir.reads();
            let show = |n: bool| if n { "nullable" } else { "not nullable" };
            self.push(
                finding(Kind::Nullable, Severity::breaking_if(breaking), loc)
                    .what("nullability changed")
                    .values(show(tu.nullable), show(to.nullable))
                    .note(if breaking {
                        "upstream may send null where tokbal expects a value"
                    } else {
                        "ours is the wider form"
                    }),
            );
        }
        self.enums(loc, o, u, uname, dir);
        let found = compare_limits(API, loc, dir, &limits(o), &limits(u), &|_, _| None);
        self.out.extend(found);
        self.properties(loc, o, u, dir, depth);
        if let (Some(io), Some(iu)) = (o.get("items"), u.get("items")) {
            self.schema(&format!("{loc}[]"), io, iu, dir, depth + 1);
        }
    }

    /// `oneOf`/`anyOf`: compared variant by variant when both sides have the same number;
    /// returns whether the rest of the schema should still be compared.
    fn composition(&mut self, loc: &str, o: &Value, u: &Value, dir: Dir, depth: usize) -> bool {
        fn variants(v: &Value) -> Option<(&'static str, &Vec<Value>)> {
            ["oneOf", "anyOf"]
                .into_iter()
                .find_map(|key| v.get(key).and_then(Value::as_array).map(|l| (key, l)))
        }
        match (variants(o), variants(u)) {
            (None, None) => true,
            (Some((ka, la)), Some((kb, lb))) if ka == kb && la.len() == lb.len() => {
                for (i, (a, b)) in la.iter().zip(lb).enumerate() {
                    self.schema(&format!("{loc} variant {i}"), a, b, dir, depth + 1);
                }
                false
            }
            (a, b) => {
                let show = |x: Option<(&str, &Vec<Value>)>| match x {
                    Some((k, l)) => format!("{k} of {}", l.len()),
                    None => "single schema".to_string(),
                };
                self.push(
                    finding(Kind::Composition, Severity::breaking_if(dir.reads()), loc)
                        .what("composition changed")
                        .values(show(b), show(a))
                        .note(if dir.reads() {
                            "the generated client decodes the old shape"
                        } else {
                            "check what tokbal sends"
                        }),
                );
                false
            }
        }
    }

    fn enums(&mut self, loc: &str, o: &Value, u: &Value, uname: Option<&str>, dir: Dir) {
        let (eo, eu) = (enum_values(o), enum_values(u));
        let list = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
        match (eo, eu) {
            (None, None) => {}
            (Some(eo), Some(eu)) => {
                for v in eu.difference(&eo) {
                    self.push(
                        finding(
                            Kind::EnumValueAdded,
                            Severity::breaking_if(dir.reads()),
                            loc,
                        )
                        .what(format!("enum value {v} added upstream"))
                        .values(v.clone(), "absent")
                        .note(if dir.reads() {
                            "ours is a closed enum: an answer carrying it fails to decode"
                        } else {
                            "a new value tokbal may send"
                        }),
                    );
                }
                for v in eo.difference(&eu) {
                    self.push(
                        finding(
                            Kind::EnumValueRemoved,
                            Severity::breaking_if(dir.sends()),
                            loc,
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
            (None, Some(eu)) => {
                let named = uname.map(|n| format!(" {n}")).unwrap_or_default();
                self.push(
                    finding(Kind::EnumClosedUpstream, Severity::Informational, loc)
                        .what("closed enum upstream, open string in ours")
                        .values(format!("enum{named} ({} values)", eu.len()), "open string")
                        .note("ours decodes every value upstream may add"),
                );
                let Some(open) = self.open.iter().find(|e| e.location == loc).copied() else {
                    return;
                };
                let known: BTreeSet<String> = open.values.iter().cloned().collect();
                for v in eu.difference(&known) {
                    self.push(
                        finding(Kind::EnumValueAdded, Severity::Informational, loc)
                            .what(format!(
                                "value {v} added upstream, not among the values tokbal knows"
                            ))
                            .values(v.clone(), "absent")
                            .note(open.unknown.clone()),
                    );
                }
                for v in known.difference(&eu) {
                    self.push(
                        finding(
                            Kind::EnumValueRemoved,
                            Severity::breaking_if(dir.sends()),
                            loc,
                        )
                        .what(format!(
                            "value {v} known to tokbal, not in the upstream enum"
                        ))
                        .values("absent", v.clone())
                        .note(if dir.sends() {
                            "tokbal may send it"
                        } else {
                            "kept: the open string still decodes it"
                        }),
                    );
                }
            }
            (Some(eo), None) => {
                self.push(
                    finding(
                        Kind::EnumOpenedUpstream,
                        Severity::breaking_if(dir.reads()),
                        loc,
                    )
                    .what("open string upstream, closed enum in ours")
                    .values("open string", format!("enum [{}]", list(&eo)))
                    .note(if dir.reads() {
                        "a value outside our enum fails to decode"
                    } else {
                        "upstream takes more values"
                    }),
                );
            }
        }
    }

    fn properties(&mut self, loc: &str, o: &Value, u: &Value, dir: Dir, depth: usize) {
        let (po, pu) = (
            o.get("properties").and_then(Value::as_object),
            u.get("properties").and_then(Value::as_object),
        );
        if po.is_none() && pu.is_none() {
            return;
        }
        let empty = Map::new();
        let (po, pu) = (po.unwrap_or(&empty), pu.unwrap_or(&empty));
        let (ro, ru) = (required_set(o), required_set(u));
        let show = |r: bool| if r { "required" } else { "optional" };
        for (name, so) in po {
            let ploc = format!("{loc}.{name}");
            let req_o = ro.contains(name);
            let Some(su) = pu.get(name) else {
                let breaking = dir.sends() || req_o;
                self.push(
                    finding(
                        Kind::PropertyRemoved,
                        Severity::breaking_if(breaking),
                        &ploc,
                    )
                    .what("property gone upstream")
                    .values("absent", show(req_o))
                    .note(if dir.sends() {
                        "tokbal sends it"
                    } else if req_o {
                        "ours requires it: answers without it fail to decode"
                    } else {
                        "optional in ours: decodes as absent"
                    }),
                );
                continue;
            };
            let req_u = ru.contains(name);
            if req_o != req_u {
                // Reading: upstream may now omit what ours requires. Sending: upstream now
                // requires what ours may omit.
                let breaking = (dir.reads() && req_o && !req_u) || (dir.sends() && req_u && !req_o);
                self.push(
                    finding(
                        Kind::PropertyRequired,
                        Severity::breaking_if(breaking),
                        &ploc,
                    )
                    .what("required-ness changed")
                    .values(show(req_u), show(req_o))
                    .note(match (breaking, req_o) {
                        (true, true) => "upstream may omit it; ours fails to decode without it",
                        (true, false) => "upstream now requires it; tokbal may leave it out",
                        (false, true) => "upstream no longer promises it, on data tokbal sends",
                        (false, false) => "upstream now always sends it",
                    }),
                );
            }
            self.schema(&ploc, so, su, dir, depth + 1);
        }
        for (name, su) in pu {
            if po.contains_key(name) {
                continue;
            }
            let req_u = ru.contains(name);
            let breaking = dir.sends() && req_u;
            let ty = resolve(self.up, su)
                .map(|(_, s)| TypeInfo::of(s).show())
                .unwrap_or_else(|_| "untyped".into());
            self.push(
                finding(
                    Kind::PropertyAdded,
                    Severity::breaking_if(breaking),
                    format!("{loc}.{name}"),
                )
                .what("property added upstream")
                .values(format!("{} {ty}", show(req_u)), "absent")
                .note(if breaking {
                    "upstream requires it and tokbal does not send it"
                } else {
                    "unknown properties are ignored when decoding"
                }),
            );
        }
    }

    /// Our component schemas no operation reached: compared by name when upstream has one.
    fn unused_schemas(&mut self) {
        let ours = self.ours;
        let up = self.up;
        let Some(schemas) = ours
            .pointer("/components/schemas")
            .and_then(Value::as_object)
        else {
            return;
        };
        for (name, so) in schemas {
            if self.used.contains(name) {
                continue;
            }
            match up.pointer(&format!(
                "/components/schemas/{}",
                name.replace('~', "~0").replace('/', "~1")
            )) {
                Some(su) => {
                    if self.seen.insert((name.clone(), name.clone(), Dir::Both)) {
                        let (o, u) = (flattened(ours, so), flattened(up, su));
                        self.schema_body(
                            &format!("schema {name}"),
                            &o,
                            &u,
                            Some(name),
                            Dir::Both,
                            0,
                        );
                    }
                }
                None => self.push(
                    finding(
                        Kind::SchemaRemoved,
                        Severity::Informational,
                        format!("schema {name}"),
                    )
                    .what("schema not upstream")
                    .values("absent", "present")
                    .note("no operation of the slice uses it"),
                ),
            }
        }
    }
}
