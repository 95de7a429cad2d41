//! What the OpenAPI and Smithy comparisons share: the direction data flows in, and
//! constraints.

use super::{Api, Finding, Kind, Severity};

/// Which way data described by a schema or shape flows, which decides what a change breaks:
/// a tightened constraint breaks what tokbal sends, a loosened promise breaks what it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Dir {
    /// tokbal sends it (parameters, request bodies, operation input).
    Request,
    /// tokbal reads it (response bodies and headers, operation output, errors).
    Response,
    /// Both.
    Both,
}

impl Dir {
    /// Whether tokbal sends data of this kind.
    pub(crate) fn sends(self) -> bool {
        matches!(self, Dir::Request | Dir::Both)
    }

    /// Whether tokbal reads data of this kind.
    pub(crate) fn reads(self) -> bool {
        matches!(self, Dir::Response | Dir::Both)
    }

    /// Both directions merged.
    pub(crate) fn join(self, other: Dir) -> Dir {
        if self == other {
            self
        } else {
            Dir::Both
        }
    }
}

/// Length, range, item-count and pattern constraints of one schema or shape.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Limits {
    /// Lower bounds, by name (`minLength`, `length min`, ...).
    pub lower: Vec<(&'static str, Option<f64>)>,
    /// Upper bounds, by name.
    pub upper: Vec<(&'static str, Option<f64>)>,
    /// The pattern, if any.
    pub pattern: Option<String>,
}

/// Formats a bound: integers without a fraction.
pub(crate) fn num(v: Option<f64>) -> String {
    match v {
        None => "none".to_string(),
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", v as i64),
        Some(v) => v.to_string(),
    }
}

/// A more specific severity and note for a changed bound, given its name and the upstream
/// value; `None` keeps the general rule.
pub(crate) type NoteFor<'n> = &'n dyn Fn(&str, Option<f64>) -> Option<(Severity, String)>;

/// Compares constraints: a tighter one upstream (a lower maximum, a higher minimum, a new or
/// changed pattern) breaks what tokbal sends; anything else is informational. `note_for`
/// may give a more specific note for a bound (`length max`).
pub(crate) fn compare_limits(
    api: Api,
    location: &str,
    dir: Dir,
    ours: &Limits,
    up: &Limits,
    note_for: NoteFor<'_>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut bound = |name: &str, o: Option<f64>, u: Option<f64>, upper: bool| {
        if o == u {
            return;
        }
        let tighter = match (o, u) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(o), Some(u)) => {
                if upper {
                    u < o
                } else {
                    u > o
                }
            }
        };
        let moved = match (o, u) {
            (None, _) => "added upstream",
            (_, None) => "dropped upstream",
            _ if tighter == upper => "lowered",
            _ => "raised",
        };
        let (severity, note) = note_for(name, u).unwrap_or_else(|| {
            let breaking = tighter && dir.sends();
            let note = if breaking {
                "upstream now rejects values tokbal may send"
            } else if tighter {
                "tighter upstream, on data tokbal only reads"
            } else {
                "looser upstream"
            };
            (Severity::breaking_if(breaking), note.to_string())
        });
        out.push(
            Finding::new(api, Kind::Constraint, severity, location)
                .what(format!("{name} {moved}"))
                .values(num(u), num(o))
                .note(note),
        );
    };
    for (name, o) in &ours.lower {
        let u = up
            .lower
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| *v);
        bound(name, *o, u, false);
    }
    for (name, u) in &up.lower {
        if !ours.lower.iter().any(|(n, _)| n == name) {
            bound(name, None, *u, false);
        }
    }
    for (name, o) in &ours.upper {
        let u = up
            .upper
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| *v);
        bound(name, *o, u, true);
    }
    for (name, u) in &up.upper {
        if !ours.upper.iter().any(|(n, _)| n == name) {
            bound(name, None, *u, true);
        }
    }
    if ours.pattern != up.pattern {
        let show = |p: &Option<String>| p.clone().unwrap_or_else(|| "none".to_string());
        let breaking = up.pattern.is_some() && dir.sends();
        let (what, note) = match (&ours.pattern, &up.pattern) {
            (_, None) => ("pattern dropped upstream", "looser upstream"),
            (None, Some(_)) => (
                "pattern added upstream",
                if breaking {
                    "upstream may reject values tokbal sends"
                } else {
                    "on data tokbal only reads"
                },
            ),
            _ => (
                "pattern changed",
                if breaking {
                    "upstream may reject values tokbal sends: check the wrapper's validation"
                } else {
                    "on data tokbal only reads"
                },
            ),
        };
        out.push(
            Finding::new(
                api,
                Kind::Constraint,
                Severity::breaking_if(breaking),
                location,
            )
            .what(what)
            .values(show(&up.pattern), show(&ours.pattern))
            .note(note),
        );
    }
    out
}
