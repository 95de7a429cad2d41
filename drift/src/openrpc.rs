//! The EVM comparison: our OpenRPC slice of the Ethereum JSON-RPC against the published
//! description (ethereum/execution-apis).
//!
//! Methods are matched by name, the name being what goes on the wire. For each method of
//! the slice: deprecation, `paramStructure`, the parameters by name and by position (tokbal
//! sends them by position), their required-ness and schemas, the result and the error
//! codes; `$ref`s are resolved on both sides (methods, content descriptors, errors and
//! schemas), and schemas are compared by meaning as for the Aptos slice, `oneOf`/`anyOf`
//! alternative by alternative.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::common::Dir;
use super::schema::{flag, flattened, resolve, Schemas, TypeInfo};
use super::{Api, Deviations, Finding, Kind, Severity};

const API: Api = Api::Evm;
/// What decodes the answers, for notes.
const DECODER: &str = "the EVM source";
/// `paramStructure` when a method does not say.
const EITHER: &str = "either";

/// Compares `ours` with `up`. From `deviations`, the open strings whose known values are
/// compared with an upstream enum, and the methods knowingly left out.
pub(crate) fn compare(ours: &Value, up: &Value, deviations: &Deviations) -> Vec<Finding> {
    let mut c = Cmp {
        s: Schemas::new(API, DECODER, ours, up, deviations),
        ours,
        up,
        left_out: deviations.left_out(API),
    };
    c.document();
    c.s.out
}

/// A method of a document, its `$ref` resolved.
struct Method<'a> {
    name: &'a str,
    m: &'a Value,
}

/// A parameter (content descriptor) of a method, its `$ref` resolved.
struct Param<'a> {
    /// Where it sits in the `params` list, from 0.
    pos: usize,
    name: &'a str,
    p: &'a Value,
}

impl Param<'_> {
    fn required(&self) -> bool {
        flag(self.p, "required")
    }

    fn schema(&self) -> Option<&Value> {
        self.p.get("schema")
    }
}

/// The methods of `doc`, and the positions of those whose `$ref` does not resolve.
fn methods(doc: &Value) -> (Vec<Method<'_>>, Vec<(usize, String)>) {
    let mut found = Vec::new();
    let mut broken = Vec::new();
    let list = doc
        .get("methods")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, v) in list.iter().enumerate() {
        match resolve(doc, v) {
            Ok((_, m)) => {
                if let Some(name) = m.get("name").and_then(Value::as_str) {
                    found.push(Method { name, m });
                }
            }
            Err(r) => broken.push((i, r)),
        }
    }
    (found, broken)
}

/// The `paramStructure` of a method: `by-name`, `by-position` or `either`.
fn structure(m: &Value) -> &str {
    m.get("paramStructure")
        .and_then(Value::as_str)
        .unwrap_or(EITHER)
}

/// How tokbal sends the parameters of a method whose slice says `ours`: by name when the
/// slice says so, else by position (a JSON array, as the EVM source does).
fn sent(ours: &str) -> &'static str {
    if ours == "by-name" {
        "by-name"
    } else {
        "by-position"
    }
}

/// A short description of a schema, for telling a renamed parameter or method from another
/// one: the schema it refers to, else its type.
fn signature(doc: &Value, schema: Option<&Value>) -> String {
    let Some(schema) = schema else {
        return "none".to_string();
    };
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    match resolve(doc, schema) {
        Ok((_, s)) => TypeInfo::of(&flattened(doc, s)).show(),
        Err(_) => "unresolved".to_string(),
    }
}

fn required_word(r: bool) -> &'static str {
    if r {
        "required"
    } else {
        "optional"
    }
}

struct Cmp<'a> {
    /// The schema comparison, which holds the findings.
    s: Schemas<'a>,
    ours: &'a Value,
    up: &'a Value,
    left_out: &'a [String],
}

impl<'a> Cmp<'a> {
    fn push(&mut self, f: Finding) {
        self.s.push(f);
    }

    fn finding(&self, kind: Kind, severity: Severity, location: impl Into<String>) -> Finding {
        self.s.finding(kind, severity, location)
    }

    fn document(&mut self) {
        self.info();
        let (ours, broken) = methods(self.ours);
        for (i, r) in broken {
            self.s
                .unresolved(&format!("methods[{i}]"), "ours", r.as_str());
        }
        let (ups, _) = methods(self.up);
        let mut claimed: BTreeSet<&str> = BTreeSet::new();
        for o in &ours {
            if let Some(u) = ups.iter().find(|u| u.name == o.name) {
                self.method(o.name, o.m, u.m);
                continue;
            }
            // A new upstream method with the same parameters and result: a rename.
            let want = self.method_signature(self.ours, o.m);
            let candidates: Vec<&Method<'a>> = ups
                .iter()
                .filter(|u| {
                    !ours.iter().any(|x| x.name == u.name)
                        && !self.left_out.iter().any(|l| l == u.name)
                        && !claimed.contains(u.name)
                        && self.method_signature(self.up, u.m) == want
                })
                .collect();
            if let [u] = candidates.as_slice() {
                claimed.insert(u.name);
                self.push(
                    self.finding(Kind::OperationRenamed, Severity::Breaking, o.name)
                        .what("method renamed")
                        .values(u.name, o.name)
                        .note("the method name is what tokbal sends: the EVM source calls the old one"),
                );
                self.method(o.name, o.m, u.m);
            } else {
                self.push(
                    self.finding(Kind::OperationRemoved, Severity::Breaking, o.name)
                        .what("method gone upstream")
                        .values("absent", o.name)
                        .note("the EVM source calls it"),
                );
            }
        }
        for u in &ups {
            let known = ours.iter().any(|o| o.name == u.name) || claimed.contains(u.name);
            if known || self.left_out.iter().any(|l| l == u.name) {
                continue;
            }
            self.push(
                self.finding(Kind::OperationAdded, Severity::Informational, u.name)
                    .what("method upstream, not in the slice")
                    .values(u.name, "absent")
                    .note(
                        "new upstream? add it to specs/evm.json if tokbal should call it, \
                         else to left_out.evm in specs/deviations.json",
                    ),
            );
        }
        self.s.unused_schemas();
    }

    /// The parameter names and schemas and the result schema of a method, in one string.
    fn method_signature(&self, doc: &'a Value, m: &'a Value) -> String {
        let params: Vec<String> = m
            .get("params")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|p| match resolve(doc, p) {
                Ok((_, p)) => format!(
                    "{}: {}",
                    p.get("name").and_then(Value::as_str).unwrap_or("?"),
                    signature(doc, p.get("schema"))
                ),
                Err(_) => "unresolved".to_string(),
            })
            .collect();
        let result = m
            .get("result")
            .and_then(|r| resolve(doc, r).ok())
            .map(|(_, r)| signature(doc, r.get("schema")))
            .unwrap_or_else(|| "none".to_string());
        format!("({}) -> {result}", params.join(", "))
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
                self.finding(Kind::ApiVersion, Severity::Informational, "info.version")
                    .what("API version changed")
                    .values(u, o)
                    .note("review the release notes; update info.version in specs/evm.json"),
            );
        }
    }

    fn method(&mut self, label: &str, o: &'a Value, u: &'a Value) {
        if flag(u, "deprecated") && !flag(o, "deprecated") {
            self.push(
                self.finding(Kind::Deprecated, Severity::Informational, label)
                    .what("method deprecated upstream")
                    .values("deprecated", "in use")
                    .note("plan a replacement"),
            );
        }
        let positional = self.param_structure(label, o, u);
        self.parameters(label, o, u, positional);
        self.result(label, o, u);
        self.errors(label, o, u);
    }

    /// Compares `paramStructure`; returns whether tokbal sends the parameters by position.
    fn param_structure(&mut self, label: &str, o: &Value, u: &Value) -> bool {
        let (so, su) = (structure(o), structure(u));
        let how = sent(so);
        if so != su {
            let accepted = su == EITHER || su == how;
            self.push(
                self.finding(
                    Kind::ParamStructure,
                    Severity::breaking_if(!accepted),
                    label,
                )
                .what("paramStructure changed")
                .values(su, so)
                .note(if accepted {
                    format!("tokbal sends the parameters {how}, which upstream still takes")
                } else {
                    format!("tokbal sends the parameters {how}, which upstream no longer takes")
                }),
            );
        }
        how == "by-position"
    }

    /// The parameters of a method, `$ref`s resolved; one that does not resolve is reported.
    fn params(&mut self, doc: &'a Value, side: &str, label: &str, m: &'a Value) -> Vec<Param<'a>> {
        let mut out = Vec::new();
        let list = m
            .get("params")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (pos, v) in list.iter().enumerate() {
            match resolve(doc, v) {
                Ok((_, p)) => {
                    if let Some(name) = p.get("name").and_then(Value::as_str) {
                        out.push(Param { pos, name, p });
                    }
                }
                Err(r) => {
                    self.s
                        .unresolved(&format!("{label} parameter #{}", pos + 1), side, r.as_str())
                }
            }
        }
        out
    }

    fn parameters(&mut self, label: &str, o: &'a Value, u: &'a Value, positional: bool) {
        let ours = self.params(self.ours, "ours", label, o);
        let ups = self.params(self.up, "upstream", label, u);
        let mut removed: Vec<&Param<'a>> = Vec::new();
        for p in &ours {
            match ups.iter().find(|q| q.name == p.name) {
                Some(q) => {
                    self.parameter(&format!("{label} parameter {}", p.name), p, q, positional)
                }
                None => removed.push(p),
            }
        }
        let mut added: Vec<&Param<'a>> = ups
            .iter()
            .filter(|q| !ours.iter().any(|p| p.name == q.name))
            .collect();
        // One gone and one new at the same position with the same schema: a rename.
        let mut gone: Vec<&Param<'a>> = Vec::new();
        for p in removed {
            let same = added.iter().position(|q| {
                q.pos == p.pos && signature(self.ours, p.schema()) == signature(self.up, q.schema())
            });
            let Some(k) = same else {
                gone.push(p);
                continue;
            };
            let q = added.remove(k);
            let loc = format!("{label} parameter {}", p.name);
            self.push(
                self.finding(Kind::ParameterRenamed, Severity::Breaking, &loc)
                    .what("parameter renamed")
                    .values(q.name, p.name)
                    .note(
                        "parameters are known by name: follow the new name in specs/evm.json \
                         and check that the meaning did not change (by-position calls look \
                         the same on the wire, by-name calls do not)",
                    ),
            );
            self.parameter(&loc, p, q, positional);
        }
        for p in gone {
            self.push(
                self.finding(
                    Kind::ParameterRemoved,
                    Severity::Breaking,
                    format!("{label} parameter {}", p.name),
                )
                .what("parameter gone upstream")
                .values("absent", format!("position {}", p.pos + 1))
                .note("tokbal sends it"),
            );
        }
        for q in added {
            let required = q.required();
            self.push(
                self.finding(
                    Kind::ParameterAdded,
                    Severity::breaking_if(required),
                    format!("{label} parameter {}", q.name),
                )
                .what("parameter added upstream")
                .values(
                    format!("{} at position {}", required_word(required), q.pos + 1),
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

    fn parameter(&mut self, loc: &str, p: &Param<'a>, q: &Param<'a>, positional: bool) {
        if positional && p.pos != q.pos {
            self.push(
                self.finding(Kind::ParameterPosition, Severity::Breaking, loc)
                    .what("parameter moved")
                    .values(
                        format!("position {}", q.pos + 1),
                        format!("position {}", p.pos + 1),
                    )
                    .note("tokbal sends the parameters by position: the value lands in another parameter"),
            );
        }
        let (ro, ru) = (p.required(), q.required());
        if ro != ru {
            self.push(
                self.finding(Kind::ParameterRequired, Severity::breaking_if(ru), loc)
                    .what("required-ness changed")
                    .values(required_word(ru), required_word(ro))
                    .note(if ru {
                        "upstream now requires it; tokbal may leave it out"
                    } else {
                        "upstream made it optional; tokbal may still send it"
                    }),
            );
        }
        if flag(q.p, "deprecated") && !flag(p.p, "deprecated") {
            self.push(
                self.finding(Kind::Deprecated, Severity::Informational, loc)
                    .what("parameter deprecated upstream")
                    .values("deprecated", "in use")
                    .note("plan a replacement"),
            );
        }
        if let (Some(so), Some(su)) = (p.schema(), q.schema()) {
            self.s.schema(loc, so, su, Dir::Request, 0);
        }
    }

    fn result(&mut self, label: &str, o: &'a Value, u: &'a Value) {
        let loc = format!("{label} result");
        let ro = o.get("result").map(|r| resolve(self.ours, r));
        let ru = u.get("result").map(|r| resolve(self.up, r));
        match (ro, ru) {
            (None, None) => {}
            (Some(Err(r)), _) => self.s.unresolved(&loc, "ours", &r),
            (_, Some(Err(r))) => self.s.unresolved(&loc, "upstream", &r),
            (Some(Ok(_)), None) => self.push(
                self.finding(Kind::MethodResult, Severity::Breaking, &loc)
                    .what("result gone upstream")
                    .values("absent", "present")
                    .note("the EVM source reads the result"),
            ),
            (None, Some(Ok(_))) => self.push(
                self.finding(Kind::MethodResult, Severity::Informational, &loc)
                    .what("result added upstream")
                    .values("present", "absent")
                    .note("tokbal does not read it"),
            ),
            (Some(Ok((_, a))), Some(Ok((_, b)))) => {
                if let (Some(sa), Some(sb)) = (a.get("schema"), b.get("schema")) {
                    self.s.schema(&loc, sa, sb, Dir::Response, 0);
                }
            }
        }
    }

    /// The error codes a method lists, with their objects.
    fn error_codes(doc: &'a Value, m: &'a Value) -> BTreeMap<i64, &'a Value> {
        m.get("errors")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| resolve(doc, e).ok().map(|(_, e)| e))
            .filter_map(|e| e.get("code").and_then(Value::as_i64).map(|c| (c, e)))
            .collect()
    }

    fn errors(&mut self, label: &str, o: &'a Value, u: &'a Value) {
        let loc = format!("{label} errors");
        let (eo, eu) = (
            Self::error_codes(self.ours, o),
            Self::error_codes(self.up, u),
        );
        let message = |e: &Value| {
            e.get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message")
                .to_string()
        };
        for (code, a) in &eo {
            let Some(b) = eu.get(code) else {
                self.push(
                    self.finding(Kind::ErrorRemoved, Severity::Informational, &loc)
                        .what(format!("error {code} ({}) no longer listed", message(a)))
                        .values("absent", code.to_string())
                        .note("its handling in the EVM source stays harmless; drop it from specs/evm.json"),
                );
                continue;
            };
            if let (Some(da), Some(db)) = (a.get("data"), b.get("data")) {
                self.s.schema(
                    &format!("{label} error {code} data"),
                    da,
                    db,
                    Dir::Response,
                    0,
                );
            }
        }
        for (code, b) in &eu {
            if eo.contains_key(code) {
                continue;
            }
            self.push(
                self.finding(Kind::ErrorAdded, Severity::Informational, &loc)
                    .what(format!("error {code} ({}) may be returned", message(b)))
                    .values(code.to_string(), "absent")
                    .note("the EVM source reports an error code it does not know as a node error; map it and add it to specs/evm.json"),
            );
        }
    }
}
