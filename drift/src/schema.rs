//! JSON Schema pairs compared by meaning, for the OpenAPI (Aptos) and OpenRPC (EVM)
//! comparisons alike: `$ref`s resolved and `allOf` folded on both sides, then type, format,
//! nullability, `oneOf`/`anyOf` alternatives, enums, constraints and properties, each
//! judged by the direction the data flows in.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};

use serde_json::{Map, Value};

use super::common::{compare_limits, Dir, Limits};
use super::deviations::OpenEnum;
use super::{Api, Deviations, Finding, Kind, Severity};

/// How deep schemas are followed (the slice's go four levels down).
const MAX_DEPTH: usize = 48;
/// How many `$ref` hops are followed before giving up (a loop).
const MAX_HOPS: usize = 32;

/// Follows `$ref`s inside `doc`. Returns the name of the last `components/schemas` entry
/// passed through, and the value; `Err` names a reference that does not resolve.
pub(crate) fn resolve<'a>(
    doc: &'a Value,
    v: &'a Value,
) -> Result<(Option<String>, &'a Value), String> {
    let mut cur = v;
    let mut name = None;
    for _ in 0..MAX_HOPS {
        let Some(r) = cur.get("$ref").and_then(Value::as_str) else {
            return Ok((name, cur));
        };
        let pointer = r.strip_prefix('#').ok_or_else(|| r.to_string())?;
        cur = doc.pointer(pointer).ok_or_else(|| r.to_string())?;
        if let Some(n) = pointer.strip_prefix("/components/schemas/") {
            name = Some(unescape(n));
        }
    }
    Err(format!(
        "{} (a reference loop)",
        v.get("$ref").and_then(Value::as_str).unwrap_or("?")
    ))
}

pub(crate) fn obj(v: &Value) -> Cow<'_, Map<String, Value>> {
    match v.as_object() {
        Some(m) => Cow::Borrowed(m),
        None => Cow::Owned(Map::new()),
    }
}

pub(crate) fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// Type, format and nullability of a schema; OpenAPI 3.1 type lists are read too.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct TypeInfo {
    pub(crate) ty: Option<String>,
    pub(crate) format: Option<String>,
    pub(crate) nullable: bool,
}

impl TypeInfo {
    pub(crate) fn of(v: &Value) -> TypeInfo {
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

    pub(crate) fn show(&self) -> String {
        let mut s = self.ty.clone().unwrap_or_else(|| "untyped".to_string());
        if let Some(f) = &self.format {
            s.push('/');
            s.push_str(f);
        }
        s
    }
}

/// Whether a schema says nothing at all: `{}` (any JSON value).
pub(crate) fn is_any(v: &Value) -> bool {
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

pub(crate) fn required_set(v: &Value) -> BTreeSet<String> {
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

pub(crate) fn enum_values(v: &Value) -> Option<BTreeSet<String>> {
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

pub(crate) fn limits(v: &Value) -> Limits {
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

/// How many nodes marking the schemas an unmatched alternative reaches may visit.
const MAX_MARKED: usize = 4096;

/// How many `allOf` lists one schema's folding may open (a guard against reference loops
/// and exponential fan-out in hostile descriptions).
const MAX_FOLDS: usize = 256;

/// `allOf` folded into one schema: properties and required lists merged, the first type
/// and format kept.
pub(crate) fn flattened<'a>(doc: &'a Value, v: &'a Value) -> Cow<'a, Value> {
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

/// A JSON pointer segment unescaped (`~1` is `/`, `~0` is `~`).
fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// One label per `oneOf`/`anyOf` alternative: the name of the schema it refers to, else its
/// type, else `variant N`; a repeated label is numbered (`string 2`).
fn labels(list: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let base = v
            .get("$ref")
            .and_then(Value::as_str)
            .map(|r| unescape(r.rsplit('/').next().unwrap_or(r)))
            .or_else(|| TypeInfo::of(v).ty)
            .unwrap_or_else(|| format!("variant {i}"));
        let mut label = base.clone();
        let mut n = 2;
        while out.contains(&label) {
            label = format!("{base} {n}");
            n += 1;
        }
        out.push(label);
    }
    out
}

/// The extension that marks an object schema of a slice as partial: it lists only the
/// properties tokbal reads (or sends), so the others upstream has are not drift.
pub(crate) const PARTIAL: &str = "x-tokbal-partial";

/// Compares schemas of our slice (`ours`) with those of an upstream description (`up`),
/// and collects the findings.
pub(crate) struct Schemas<'a> {
    api: Api,
    /// What decodes the answers tokbal reads, for notes ("the generated client").
    decoder: &'static str,
    /// Our slice.
    pub(crate) ours: &'a Value,
    /// The upstream description.
    pub(crate) up: &'a Value,
    /// Open strings whose known values are compared with an upstream enum.
    open: Vec<&'a OpenEnum>,
    /// Named schema pairs already compared, per direction.
    seen: HashSet<(String, String, Dir)>,
    /// Our named schemas reached from an operation.
    used: BTreeSet<String>,
    /// The findings so far.
    pub(crate) out: Vec<Finding>,
}

impl<'a> Schemas<'a> {
    /// A comparison of `ours` with `up` for `api`; `decoder` names what decodes answers.
    pub(crate) fn new(
        api: Api,
        decoder: &'static str,
        ours: &'a Value,
        up: &'a Value,
        deviations: &'a Deviations,
    ) -> Schemas<'a> {
        Schemas {
            api,
            decoder,
            ours,
            up,
            open: deviations.open_enums(api),
            seen: HashSet::new(),
            used: BTreeSet::new(),
            out: Vec::new(),
        }
    }

    /// A finding about this API.
    pub(crate) fn finding(
        &self,
        kind: Kind,
        severity: Severity,
        location: impl Into<String>,
    ) -> Finding {
        Finding::new(self.api, kind, severity, location)
    }

    /// Adds a finding.
    pub(crate) fn push(&mut self, f: Finding) {
        self.out.push(f);
    }

    pub(crate) fn unresolved(&mut self, loc: &str, side: &str, reference: &str) {
        self.push(
            self.finding(Kind::UnresolvedRef, Severity::Breaking, loc)
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
    pub(crate) fn schema(&mut self, loc: &str, o: &Value, u: &Value, dir: Dir, depth: usize) {
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
                    self.finding(Kind::Type, Severity::Breaking, loc)
                        .what("type changed")
                        .values(tu.show(), to.show())
                        .note(if dir.reads() {
                            format!("{} cannot decode the upstream type", self.decoder)
                        } else {
                            "tokbal sends the old type".to_string()
                        }),
                );
            }
            (Some(_), None) if is_any(u) => {
                return self.push(
                    self.finding(Kind::Type, Severity::breaking_if(dir.reads()), loc)
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
                self.finding(Kind::Format, Severity::breaking_if(breaking), loc)
                    .what("format changed")
                    .values(tu.show(), to.show())
                    .note(note),
            );
        }
        if to.nullable != tu.nullable {
            let breaking = tu.nullable && dir.reads();
            let show = |n: bool| if n { "nullable" } else { "not nullable" };
            self.push(
                self.finding(Kind::Nullable, Severity::breaking_if(breaking), loc)
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
        let found = compare_limits(self.api, loc, dir, &limits(o), &limits(u), &|_, _| None);
        self.out.extend(found);
        self.properties(loc, o, u, dir, depth);
        if let (Some(io), Some(iu)) = (o.get("items"), u.get("items")) {
            self.schema(&format!("{loc}[]"), io, iu, dir, depth + 1);
        }
    }

    /// `oneOf`/`anyOf`: the alternatives of both sides matched and compared one by one;
    /// returns whether the rest of the schema should still be compared.
    fn composition(&mut self, loc: &str, o: &Value, u: &Value, dir: Dir, depth: usize) -> bool {
        fn variants(v: &Value) -> Option<(&'static str, &Vec<Value>)> {
            ["oneOf", "anyOf"]
                .into_iter()
                .find_map(|key| v.get(key).and_then(Value::as_array).map(|l| (key, l)))
        }
        match (variants(o), variants(u)) {
            (None, None) => true,
            (Some((ka, la)), Some((kb, lb))) if ka == kb => {
                self.alternatives(loc, la, lb, dir, depth);
                false
            }
            (a, b) => {
                let show = |x: Option<(&str, &Vec<Value>)>| match x {
                    Some((k, l)) => format!("{k} of {}", l.len()),
                    None => "single schema".to_string(),
                };
                self.push(
                    self.finding(Kind::Composition, Severity::breaking_if(dir.reads()), loc)
                        .what("composition changed")
                        .values(show(b), show(a))
                        .note(if dir.reads() {
                            format!("{} decodes the old shape", self.decoder)
                        } else {
                            "check what tokbal sends".to_string()
                        }),
                );
                false
            }
        }
    }

    /// Matches the alternatives of a `oneOf`/`anyOf` pair: first by label (the schema an
    /// alternative refers to, else its type), then the only remaining alternative of a type
    /// on each side with its counterpart. Matched pairs are compared at
    /// `LOC alternative LABEL` (or at `schema NAME`); an alternative on one side only is a
    /// finding there.
    fn alternatives(&mut self, loc: &str, la: &[Value], lb: &[Value], dir: Dir, depth: usize) {
        let (na, nb) = (labels(la), labels(lb));
        let mut ua: Vec<usize> = (0..la.len()).collect();
        let mut ub: Vec<usize> = (0..lb.len()).collect();
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        ua.retain(|&i| match ub.iter().position(|&j| nb[j] == na[i]) {
            Some(p) => {
                pairs.push((i, ub.remove(p)));
                false
            }
            None => true,
        });
        let sig = |doc: &Value, v: &Value| {
            resolve(doc, v)
                .ok()
                .map(|(_, s)| TypeInfo::of(&flattened(doc, s)))
        };
        let sa: Vec<Option<TypeInfo>> = ua.iter().map(|&i| sig(self.ours, &la[i])).collect();
        let sb: Vec<Option<TypeInfo>> = ub.iter().map(|&j| sig(self.up, &lb[j])).collect();
        let mut taken_a = vec![false; ua.len()];
        let mut taken_b = vec![false; ub.len()];
        for (x, s) in sa.iter().enumerate() {
            let Some(s) = s else { continue };
            let same_a: Vec<usize> = (0..sa.len())
                .filter(|&k| sa[k].as_ref() == Some(s))
                .collect();
            let same_b: Vec<usize> = (0..sb.len())
                .filter(|&k| sb[k].as_ref() == Some(s))
                .collect();
            if let ([_], [y]) = (same_a.as_slice(), same_b.as_slice()) {
                pairs.push((ua[x], ub[*y]));
                taken_a[x] = true;
                taken_b[*y] = true;
            }
        }
        pairs.sort_unstable();
        for (i, j) in pairs {
            self.schema(
                &format!("{loc} alternative {}", na[i]),
                &la[i],
                &lb[j],
                dir,
                depth + 1,
            );
        }
        for (x, &i) in ua.iter().enumerate() {
            if taken_a[x] {
                continue;
            }
            self.mark_used(&la[i]);
            self.push(
                self.finding(
                    Kind::AlternativeRemoved,
                    Severity::breaking_if(dir.sends()),
                    format!("{loc} alternative {}", na[i]),
                )
                .what("alternative gone upstream")
                .values("absent", na[i].clone())
                .note(if dir.sends() {
                    "tokbal may send this form; upstream no longer takes it"
                } else {
                    "upstream no longer sends this form"
                }),
            );
        }
        for (y, &j) in ub.iter().enumerate() {
            if taken_b[y] {
                continue;
            }
            self.push(
                self.finding(
                    Kind::AlternativeAdded,
                    Severity::breaking_if(dir.reads()),
                    format!("{loc} alternative {}", nb[j]),
                )
                .what("alternative added upstream")
                .values(nb[j].clone(), "absent")
                .note(if dir.reads() {
                    format!("{} cannot decode answers of this form", self.decoder)
                } else {
                    "upstream takes one more form".to_string()
                }),
            );
        }
    }

    /// Records every schema of ours that `v` refers to, directly or not, as used.
    fn mark_used(&mut self, v: &Value) {
        let mut todo = vec![v];
        let mut hops = 0;
        while let Some(v) = todo.pop() {
            hops += 1;
            if hops > MAX_MARKED {
                return;
            }
            match v {
                Value::Object(m) => {
                    if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                        if let Some(name) = r.strip_prefix("#/components/schemas/") {
                            let name = unescape(name);
                            if self.used.insert(name) {
                                if let Some(target) =
                                    r.strip_prefix('#').and_then(|p| self.ours.pointer(p))
                                {
                                    todo.push(target);
                                }
                            }
                        }
                    }
                    todo.extend(m.values());
                }
                Value::Array(a) => todo.extend(a),
                _ => {}
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
                        self.finding(
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
                        self.finding(
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
                    self.finding(Kind::EnumClosedUpstream, Severity::Informational, loc)
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
                        self.finding(Kind::EnumValueAdded, Severity::Informational, loc)
                            .what(format!(
                                "value {v} added upstream, not among the values tokbal knows"
                            ))
                            .values(v.clone(), "absent")
                            .note(open.unknown.clone()),
                    );
                }
                for v in known.difference(&eu) {
                    self.push(
                        self.finding(
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
                    self.finding(
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
                    self.finding(
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
                    self.finding(
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
        // A partial schema of ours lists only what tokbal reads or sends: the other
        // properties upstream has matter only when upstream requires one tokbal sends.
        let partial = flag(o, PARTIAL);
        for (name, su) in pu {
            if po.contains_key(name) {
                continue;
            }
            let req_u = ru.contains(name);
            let breaking = dir.sends() && req_u;
            if partial && !breaking {
                continue;
            }
            let ty = resolve(self.up, su)
                .map(|(_, s)| TypeInfo::of(s).show())
                .unwrap_or_else(|_| "untyped".into());
            self.push(
                self.finding(
                    Kind::PropertyAdded,
                    Severity::breaking_if(breaking),
                    format!("{loc}.{name}"),
                )
                .what("property added upstream")
                .values(format!("{} {ty}", show(req_u)), "absent")
                .note(if breaking {
                    "upstream requires it and tokbal does not send it"
                } else if dir.reads() {
                    "unknown properties are ignored when decoding"
                } else {
                    "optional: tokbal need not send it"
                }),
            );
        }
    }

    /// Our component schemas no operation reached: compared by name when upstream has one.
    pub(crate) fn unused_schemas(&mut self) {
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
                    self.finding(
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
