//! The Aptos comparison: our OpenAPI 3 slice against the published description.
//!
//! Walks every operation of the slice and compares, with `$ref`s resolved on both sides
//! (the slice refers to `components/headers` and `components/responses`, upstream inlines
//! them): method and path, parameters, request body, status codes, media types, response
//! headers, and every schema reached from them, property by property.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::common::Dir;
use super::schema::{flag, resolve, Schemas, TypeInfo};
use super::{Api, Deviations, Finding, Kind, Severity};

const API: Api = Api::Aptos;
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Compares `ours` with `up`. From `deviations`, the open strings whose known values are
/// compared with an upstream enum, and the operations knowingly left out.
pub(crate) fn compare(ours: &Value, up: &Value, deviations: &Deviations) -> Vec<Finding> {
    let mut c = Cmp {
        s: Schemas::new(API, "the generated client", ours, up, deviations),
        ours,
        up,
        left_out: deviations.left_out(API),
    };
    c.document();
    c.s.out
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
    /// The schema comparison, which holds the findings.
    s: Schemas<'a>,
    ours: &'a Value,
    up: &'a Value,
    left_out: &'a [String],
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

impl<'a> Cmp<'a> {
    fn push(&mut self, f: Finding) {
        self.s.push(f);
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
        self.s.unused_schemas();
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
            self.s.schema(loc, so, su, Dir::Request, 0);
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
                        self.s.schema(&body_loc, sa, sb, dir, 0);
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
                    self.s.unresolved(&loc, "ours", &r);
                    continue;
                }
            };
            let rb = match resolve(self.up, rb) {
                Ok((_, v)) => v,
                Err(r) => {
                    self.s.unresolved(&loc, "upstream", &r);
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
                    self.s.unresolved(&hloc, "ours", &r);
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
                    self.s.unresolved(&hloc, "upstream", &r);
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
                self.s.schema(&hloc, sa, sb, Dir::Response, 0);
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
}
