//! `specs/deviations.json`: the deliberate differences, and matching findings against them.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::{read_error, Api, Finding, Kind, Severity};
use tokbal::Error;

/// Every deliberate difference between `specs/` and the published descriptions, per API.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deviations {
    /// What the file is, for people.
    #[serde(default)]
    pub about: Option<String>,
    /// Deviations of `specs/aptos.yaml`.
    #[serde(default)]
    pub aptos: Vec<Deviation>,
    /// Deviations of `specs/amb.json`.
    #[serde(default)]
    pub amb: Vec<Deviation>,
    /// Deviations of `specs/evm.json`.
    #[serde(default)]
    pub evm: Vec<Deviation>,
    /// The upstream operations the slices knowingly leave out.
    #[serde(default)]
    pub left_out: LeftOut,
}

/// Upstream operations a slice knowingly leaves out (tokbal does not call them): they are not
/// reported. Any other upstream operation missing from the slice is reported as
/// `operation_added`, so that a new one is noticed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeftOut {
    /// Aptos operationIds (or `METHOD /path` for operations without one).
    #[serde(default)]
    pub aptos: Vec<String>,
    /// AMB operation names (the part of the shape id after `#`).
    #[serde(default)]
    pub amb: Vec<String>,
    /// JSON-RPC method names.
    #[serde(default)]
    pub evm: Vec<String>,
}

/// One deliberate difference.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    /// A short stable name, quoted in the findings it covers.
    pub id: String,
    /// What differs.
    pub what: String,
    /// What upstream has.
    pub upstream: String,
    /// What the slice has.
    pub ours: String,
    /// Why.
    pub reason: String,
    /// The findings this deviation covers.
    #[serde(rename = "match")]
    pub matches: Vec<Matcher>,
    /// For an open string that stands for an upstream enum: the values tokbal knows.
    #[serde(default)]
    pub open_enum: Option<OpenEnum>,
}

/// Which findings a deviation covers: a kind, and a location pattern in which `*` matches
/// any run of characters (case is ignored).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    /// The kind of finding.
    pub kind: Kind,
    /// The location pattern, as `tokbal spec-drift` prints locations.
    pub location: String,
    /// When true, the matcher need not match anything (it covers a difference that only
    /// some upstream versions show); otherwise a matcher that matches nothing is reported.
    #[serde(default)]
    pub optional: bool,
}

/// The values an open string of the slice is known to take, for comparison with the closed
/// enum upstream has at the same place: values upstream adds are reported (informational)
/// so that they can be handled, values upstream lacks are reported as `enum_value_removed`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenEnum {
    /// The exact location (`schema AptosError.error_code`).
    pub location: String,
    /// The values tokbal knows and handles.
    pub values: Vec<String>,
    /// What to do about a value upstream adds (the finding's note).
    pub unknown: String,
}

impl Deviations {
    /// Parses `specs/deviations.json`; unknown fields and finding kinds are errors.
    pub fn parse(text: &str) -> Result<Deviations, Error> {
        let origin = "specs/deviations.json";
        let d: Deviations =
            serde_json::from_str(text).map_err(|e| read_error(origin, format!("bad JSON: {e}")))?;
        let mut ids = BTreeSet::new();
        for dev in d.aptos.iter().chain(&d.amb).chain(&d.evm) {
            if dev.id.is_empty() || !ids.insert(dev.id.as_str()) {
                return Err(read_error(
                    origin,
                    format!("deviation id {:?} is empty or repeated", dev.id),
                ));
            }
            if dev.matches.is_empty() || dev.matches.iter().any(|m| m.location.is_empty()) {
                return Err(read_error(
                    origin,
                    format!(
                        "deviation {:?} needs at least one match with a location",
                        dev.id
                    ),
                ));
            }
        }
        Ok(d)
    }

    /// The deviations of `api`.
    pub fn for_api(&self, api: Api) -> &[Deviation] {
        match api {
            Api::Aptos => &self.aptos,
            Api::Amb => &self.amb,
            Api::Evm => &self.evm,
        }
    }

    /// The operations `api`'s slice knowingly leaves out.
    pub fn left_out(&self, api: Api) -> &[String] {
        match api {
            Api::Aptos => &self.left_out.aptos,
            Api::Amb => &self.left_out.amb,
            Api::Evm => &self.left_out.evm,
        }
    }

    /// The open enums recorded for `api`.
    pub(crate) fn open_enums(&self, api: Api) -> Vec<&OpenEnum> {
        self.for_api(api)
            .iter()
            .filter_map(|d| d.open_enum.as_ref())
            .collect()
    }

    /// Marks the findings a deviation covers as deliberate, and adds an informational
    /// finding for each (non-optional) matcher that covered nothing.
    pub(crate) fn apply(&self, api: Api, findings: Vec<Finding>) -> Vec<Finding> {
        let devs = self.for_api(api);
        let mut seen: Vec<Vec<bool>> = devs.iter().map(|d| vec![false; d.matches.len()]).collect();
        let mut out = Vec::with_capacity(findings.len());
        for mut f in findings {
            let hit = devs.iter().enumerate().find_map(|(i, d)| {
                d.matches
                    .iter()
                    .position(|m| m.kind == f.kind && glob_match(&m.location, &f.location))
                    .map(|j| (i, j))
            });
            if let Some((i, j)) = hit {
                seen[i][j] = true;
                let d = &devs[i];
                f.note = format!(
                    "deviation {} (otherwise {}): {}",
                    d.id, f.severity, d.reason
                );
                f.severity = Severity::Deliberate;
                f.deviation = Some(d.id.clone());
            }
            out.push(f);
        }
        for (d, seen) in devs.iter().zip(seen) {
            for (m, hit) in d.matches.iter().zip(seen) {
                if hit || m.optional {
                    continue;
                }
                let mut f = Finding::new(
                    api,
                    Kind::DeviationUnobserved,
                    Severity::Informational,
                    &m.location,
                )
                .what(format!(
                    "deviation {} expects a {} difference here; upstream shows none",
                    d.id, m.kind
                ))
                .note(
                    "upstream no longer differs here, or differs in another way: \
                             update the entry in specs/deviations.json and specs/README.md",
                );
                f.deviation = Some(d.id.clone());
                out.push(f);
            }
        }
        out
    }
}

/// Whether `text` matches `pattern`, in which `*` matches any run of characters; ASCII case
/// is ignored.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    // Iterative matching with backtracking to the last star: linear in practice, never
    // exponential.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match(
            "* header X-APTOS-CURSOR",
            "healthy response 200 header x-aptos-cursor"
        ));
        assert!(glob_match("schema Address", "schema Address"));
        assert!(!glob_match("schema Address", "schema AddressBook"));
        assert!(glob_match(
            "* response 2* media application/x-bcs",
            "a response 200 media application/x-bcs"
        ));
        assert!(!glob_match(
            "* response 2* media x",
            "a response 400 media x"
        ));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
    }
}
