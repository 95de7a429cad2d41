//! The spec-drift check: every kind of finding, from a copy of our own slice with one thing
//! changed (Aptos OpenAPI, AMB Smithy, EVM OpenRPC); deviations; reading files, YAML and
//! JSON, over loopback HTTP; the command's exit status; and the slices against the real
//! upstream descriptions in `../shared/upstream`.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};
use tokbal_drift as drift;
use tokbal_drift::{
    compare_amb, compare_aptos, compare_evm, parse_description, Deviations, Finding, Kind,
    Severity, Slices,
};

use common::{Canned, CannedServer};

const NS: &str = "com.amazonaws.managedblockchainquery#";

fn slices() -> Slices {
    Slices::bundled().expect("the compiled-in specs parse")
}

/// (kind, severity, location) of each finding, for exact comparison.
fn brief(findings: &[Finding]) -> Vec<(Kind, Severity, String)> {
    findings
        .iter()
        .map(|f| (f.kind, f.severity, f.location.clone()))
        .collect()
}

fn assert_exactly(findings: &[Finding], expected: &[(Kind, Severity, &str)]) {
    let mut got = brief(findings);
    let mut want: Vec<(Kind, Severity, String)> = expected
        .iter()
        .map(|(k, s, l)| (*k, *s, l.to_string()))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(
        got,
        want,
        "findings:\n{}",
        findings
            .iter()
            .map(|f| f.to_line())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Our Aptos slice against a copy of it changed by `change`, without deviations.
fn aptos_drift(change: impl FnOnce(&mut Value)) -> Vec<Finding> {
    let ours = slices().aptos;
    let mut up = ours.clone();
    change(&mut up);
    compare_aptos(&ours, &up, &Deviations::default())
}

/// As [`aptos_drift`], with our slice changed too.
fn aptos_drift_both(
    ours_change: impl Fn(&mut Value),
    change: impl FnOnce(&mut Value),
) -> Vec<Finding> {
    let mut ours = slices().aptos;
    ours_change(&mut ours);
    let mut up = ours.clone();
    change(&mut up);
    compare_aptos(&ours, &up, &Deviations::default())
}

/// With the recorded deviations; the "not seen" reports of deviations left out.
fn aptos_drift_deviations(change: impl FnOnce(&mut Value)) -> Vec<Finding> {
    let s = slices();
    let mut up = s.aptos.clone();
    change(&mut up);
    compare_aptos(&s.aptos, &up, &s.deviations)
        .into_iter()
        .filter(|f| f.kind != Kind::DeviationUnobserved)
        .collect()
}

fn amb_drift(change: impl FnOnce(&mut Value)) -> Vec<Finding> {
    let ours = slices().amb;
    let mut up = ours.clone();
    change(&mut up);
    compare_amb(&ours, &up, &Deviations::default())
}

fn at<'v>(v: &'v mut Value, pointer: &str) -> &'v mut Value {
    v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer} in the slice"))
}

fn obj<'v>(v: &'v mut Value, pointer: &str) -> &'v mut serde_json::Map<String, Value> {
    at(v, pointer).as_object_mut().unwrap()
}

fn shape<'v>(v: &'v mut Value, name: &str) -> &'v mut Value {
    v["shapes"]
        .get_mut(format!("{NS}{name}"))
        .unwrap_or_else(|| panic!("no shape {name}"))
}

const BALANCE: &str = "/paths/~1accounts~1{address}~1balance~1{asset_type}/get";
const BY_HEIGHT: &str = "/paths/~1blocks~1by_height~1{block_height}/get";

use Kind::*;
use Severity::{Breaking, Deliberate, Informational};

// ---------------------------------------------------------------- the slices themselves

#[test]
fn each_slice_against_itself_has_no_findings() {
    let s = slices();
    assert_exactly(
        &compare_aptos(&s.aptos, &s.aptos, &Deviations::default()),
        &[],
    );
    assert_exactly(&compare_amb(&s.amb, &s.amb, &Deviations::default()), &[]);
    assert_exactly(&compare_evm(&s.evm, &s.evm, &Deviations::default()), &[]);
}

#[test]
fn against_itself_every_recorded_deviation_is_reported_as_not_seen() {
    let s = slices();
    let report = drift::check(&s, Some(&s.aptos), Some(&s.amb), Some(&s.evm));
    let expected: usize = s
        .deviations
        .aptos
        .iter()
        .chain(&s.deviations.amb)
        .chain(&s.deviations.evm)
        .flat_map(|d| &d.matches)
        .filter(|m| !m.optional)
        .count();
    assert_eq!(report.findings.len(), expected, "{}", report.to_text());
    assert!(report
        .findings
        .iter()
        .all(|f| f.kind == DeviationUnobserved && f.severity == Informational));
    assert_eq!(report.exit_code(), 0);
}

#[test]
fn the_recorded_error_codes_are_the_ones_the_wrapper_maps() {
    let s = slices();
    let open = s
        .deviations
        .aptos
        .iter()
        .find_map(|d| {
            d.open_enum
                .as_ref()
                .filter(|o| o.location == "schema AptosError.error_code")
        })
        .expect("open-error-code records its values");
    for code in &open.values {
        assert!(
            tokbal::aptos::kind_for_code(code).is_some(),
            "{code} is listed in specs/deviations.json but src/aptos/errors.rs does not map it"
        );
    }
}

#[test]
fn deviations_reject_unknown_kinds_and_fields() {
    let bad_kind = r#"{"aptos":[{"id":"x","what":"","upstream":"","ours":"","reason":"","match":[{"kind":"no_such_kind","location":"a"}]}]}"#;
    let e = Deviations::parse(bad_kind).unwrap_err();
    assert!(e.to_string().contains("no_such_kind"), "{e}");
    let typo = r#"{"aptos":[{"id":"x","what":"","upstream":"","ours":"","reason":"","macth":[]}]}"#;
    assert!(Deviations::parse(typo).is_err());
    assert!(Deviations::parse("{not json").is_err());
}

// ---------------------------------------------------------------- Aptos: operations

#[test]
fn removed_operation_is_breaking() {
    let f = aptos_drift(|up| {
        obj(up, "/paths").remove("/blocks/by_version/{version}");
    });
    assert_exactly(&f, &[(OperationRemoved, Breaking, "get_block_by_version")]);
}

#[test]
fn moved_operation_is_breaking() {
    let f = aptos_drift(|up| {
        let paths = obj(up, "/paths");
        let item = paths
            .remove("/accounts/{address}/balance/{asset_type}")
            .unwrap();
        paths.insert("/accounts/{address}/balances/{asset_type}".into(), item);
    });
    assert_exactly(&f, &[(OperationMoved, Breaking, "get_account_balance")]);
    assert_eq!(
        f[0].upstream,
        "GET /accounts/{address}/balances/{asset_type}"
    );
}

#[test]
fn renamed_operation_id_is_informational() {
    let f = aptos_drift(|up| {
        *at(up, "/paths/~1-~1healthy/get/operationId") = json!("check_health");
    });
    assert_exactly(&f, &[(OperationRenamed, Informational, "healthy")]);
}

#[test]
fn a_new_upstream_operation_is_reported_unless_recorded_as_left_out() {
    let f = aptos_drift_deviations(|up| {
        let healthy = at(up, "/paths/~1-~1healthy").clone();
        let mut brand_new = healthy.clone();
        brand_new["get"]["operationId"] = json!("get_brand_new");
        let mut aux = healthy;
        aux["get"]["operationId"] = json!("get_transactions_auxiliary_info");
        let paths = obj(up, "/paths");
        paths.insert("/brand_new".into(), brand_new);
        paths.insert("/transactions/auxiliary_info".into(), aux);
    });
    let f: Vec<Finding> = f.into_iter().filter(|f| f.severity != Deliberate).collect();
    assert_exactly(&f, &[(OperationAdded, Informational, "get_brand_new")]);
}

#[test]
fn deprecated_operation_is_informational() {
    let f = aptos_drift(|up| {
        at(up, BY_HEIGHT)["deprecated"] = json!(true);
    });
    assert_exactly(&f, &[(Deprecated, Informational, "get_block_by_height")]);
}

#[test]
fn new_api_version_is_informational() {
    let f = aptos_drift(|up| *at(up, "/info/version") = json!("1.3.0"));
    assert_exactly(&f, &[(ApiVersion, Informational, "info.version")]);
}

#[test]
fn moved_base_path_is_breaking() {
    let f = aptos_drift(|up| *at(up, "/servers/0/url") = json!("/v2"));
    assert_exactly(&f, &[(ServerUrl, Breaking, "servers")]);
    let f = aptos_drift(|up| *at(up, "/servers/0/url") = json!("/v1"));
    assert_exactly(&f, &[(ServerUrl, Informational, "servers")]);
}

// ---------------------------------------------------------------- Aptos: parameters

fn params(up: &mut Value, op: &str) -> Vec<Value> {
    at(up, &format!("{op}/parameters"))
        .as_array()
        .unwrap()
        .clone()
}

fn set_params(up: &mut Value, op: &str, list: Vec<Value>) {
    *at(up, &format!("{op}/parameters")) = Value::Array(list);
}

fn edit_param(up: &mut Value, op: &str, name: &str, edit: impl FnOnce(&mut Value)) {
    let mut list = params(up, op);
    edit(list.iter_mut().find(|p| p["name"] == name).unwrap());
    set_params(up, op, list);
}

#[test]
fn renamed_parameter_is_breaking() {
    let f = aptos_drift(|up| {
        edit_param(up, BALANCE, "ledger_version", |p| {
            p["name"] = json!("version_at")
        });
    });
    assert_exactly(
        &f,
        &[(
            ParameterRenamed,
            Breaking,
            "get_account_balance parameter ledger_version",
        )],
    );
    assert_eq!(
        (f[0].upstream.as_str(), f[0].ours.as_str()),
        ("version_at", "ledger_version")
    );
}

#[test]
fn removed_parameter_is_breaking() {
    let f = aptos_drift(|up| {
        let list = params(up, BY_HEIGHT)
            .into_iter()
            .filter(|p| p["name"] != "with_transactions")
            .collect();
        set_params(up, BY_HEIGHT, list);
    });
    assert_exactly(
        &f,
        &[(
            ParameterRemoved,
            Breaking,
            "get_block_by_height parameter with_transactions",
        )],
    );
}

#[test]
fn added_parameter_is_informational_when_optional_and_breaking_when_required() {
    for (required, severity) in [(false, Informational), (true, Breaking)] {
        let f = aptos_drift(|up| {
            let mut list = params(up, BALANCE);
            list.push(json!({"name": "limit", "in": "query", "required": required,
                             "schema": {"type": "integer", "format": "uint16"}}));
            set_params(up, BALANCE, list);
        });
        assert_exactly(
            &f,
            &[(
                ParameterAdded,
                severity,
                "get_account_balance parameter limit",
            )],
        );
    }
}

#[test]
fn parameter_made_required_is_breaking() {
    let f = aptos_drift(|up| {
        edit_param(up, BALANCE, "ledger_version", |p| {
            p["required"] = json!(true)
        });
    });
    assert_exactly(
        &f,
        &[(
            ParameterRequired,
            Breaking,
            "get_account_balance parameter ledger_version",
        )],
    );
}

#[test]
fn parameter_moved_to_a_header_is_breaking() {
    let f = aptos_drift(|up| {
        edit_param(up, BALANCE, "ledger_version", |p| p["in"] = json!("header"));
    });
    assert_exactly(
        &f,
        &[(
            ParameterLocation,
            Breaking,
            "get_account_balance parameter ledger_version",
        )],
    );
}

#[test]
fn parameter_type_change_is_breaking() {
    let f = aptos_drift(|up| {
        edit_param(up, BALANCE, "ledger_version", |p| {
            p["schema"] = json!({"type": "integer", "format": "uint64"});
        });
    });
    assert_exactly(
        &f,
        &[(
            Type,
            Breaking,
            "get_account_balance parameter ledger_version",
        )],
    );
    assert_eq!(
        (f[0].upstream.as_str(), f[0].ours.as_str()),
        ("integer/uint64", "string/uint64")
    );
    assert!(f[0]
        .to_line()
        .starts_with("breaking      aptos get_account_balance parameter ledger_version: type changed (upstream integer/uint64, ours string/uint64)"));
}

#[test]
fn parameter_format_change_is_breaking() {
    let f = aptos_drift(|up| {
        edit_param(up, BY_HEIGHT, "block_height", |p| {
            p["schema"]["format"] = json!("uint32")
        });
    });
    assert_exactly(
        &f,
        &[(
            Format,
            Breaking,
            "get_block_by_height parameter block_height",
        )],
    );
}

#[test]
fn a_pattern_upstream_on_what_tokbal_sends_is_breaking() {
    let f = aptos_drift(|up| {
        at(up, "/components/schemas/Address")["pattern"] = json!("^0x[0-9a-f]{64}$");
    });
    assert_exactly(&f, &[(Constraint, Breaking, "schema Address")]);
    let f = aptos_drift(|up| {
        at(up, "/components/schemas/Address")["maxLength"] = json!(66);
    });
    assert_exactly(&f, &[(Constraint, Breaking, "schema Address")]);
    assert_eq!(f[0].what, "maxLength added upstream");
}

#[test]
fn a_required_request_body_upstream_is_breaking() {
    let f = aptos_drift(|up| {
        at(up, BALANCE)["requestBody"] = json!({"required": true,
            "content": {"application/json": {"schema": {"type": "object"}}}});
    });
    assert_exactly(
        &f,
        &[(RequestBody, Breaking, "get_account_balance request body")],
    );
}

// ---------------------------------------------------------------- Aptos: responses

#[test]
fn removed_status_is_breaking_for_success_and_informational_for_errors() {
    let f = aptos_drift(|up| {
        obj(up, &format!("{BALANCE}/responses")).remove("410");
    });
    assert_exactly(
        &f,
        &[(
            StatusRemoved,
            Informational,
            "get_account_balance response 410",
        )],
    );
    let f = aptos_drift(|up| {
        obj(up, &format!("{BALANCE}/responses")).remove("200");
    });
    assert_exactly(
        &f,
        &[(StatusRemoved, Breaking, "get_account_balance response 200")],
    );
}

#[test]
fn added_status_is_informational_for_errors_and_breaking_for_success() {
    let f = aptos_drift(|up| {
        obj(up, &format!("{BALANCE}/responses")).insert(
            "429".into(),
            json!({"$ref": "#/components/responses/Error"}),
        );
    });
    assert_exactly(
        &f,
        &[(
            StatusAdded,
            Informational,
            "get_account_balance response 429",
        )],
    );
    let f = aptos_drift(|up| {
        obj(up, &format!("{BALANCE}/responses")).insert("202".into(), json!({"description": "x"}));
    });
    assert_exactly(
        &f,
        &[(StatusAdded, Breaking, "get_account_balance response 202")],
    );
}

#[test]
fn media_types_added_and_removed() {
    let f = aptos_drift(|up| {
        obj(up, &format!("{BALANCE}/responses/200/content")).insert(
            "application/x-bcs".into(),
            json!({"schema": {"type": "array", "items": {"type": "integer", "format": "uint8"}}}),
        );
    });
    assert_exactly(
        &f,
        &[(
            MediaTypeAdded,
            Informational,
            "get_account_balance response 200 media application/x-bcs",
        )],
    );
    let f = aptos_drift(|up| {
        let content = obj(up, &format!("{BY_HEIGHT}/responses/200/content"));
        let json_body = content.remove("application/json").unwrap();
        content.insert("application/x-bcs".into(), json_body);
    });
    assert_exactly(
        &f,
        &[
            (
                MediaTypeRemoved,
                Breaking,
                "get_block_by_height response 200 media application/json",
            ),
            (
                MediaTypeAdded,
                Informational,
                "get_block_by_height response 200 media application/x-bcs",
            ),
        ],
    );
}

#[test]
fn removed_ledger_header_is_breaking() {
    let f = aptos_drift(|up| {
        obj(up, &format!("{BALANCE}/responses/200/headers")).remove("X-APTOS-LEDGER-VERSION");
    });
    assert_exactly(
        &f,
        &[(
            HeaderRemoved,
            Breaking,
            "get_account_balance response 200 header X-APTOS-LEDGER-VERSION",
        )],
    );
}

#[test]
fn new_optional_header_is_informational() {
    let f = aptos_drift(|up| {
        obj(up, &format!("{BALANCE}/responses/200/headers"))
            .insert("X-APTOS-NEW".into(), json!({"schema": {"type": "string"}}));
    });
    assert_exactly(
        &f,
        &[(
            HeaderAdded,
            Informational,
            "get_account_balance response 200 header X-APTOS-NEW",
        )],
    );
    assert_eq!(f[0].upstream, "optional string");
}

#[test]
fn header_no_longer_required_is_breaking() {
    let f = aptos_drift(|up| {
        *at(
            up,
            &format!("{BALANCE}/responses/200/headers/X-APTOS-EPOCH"),
        ) = json!({"$ref": "#/components/headers/Epoch"});
    });
    assert_exactly(
        &f,
        &[(
            HeaderRequired,
            Breaking,
            "get_account_balance response 200 header X-APTOS-EPOCH",
        )],
    );
}

#[test]
fn the_same_change_in_every_error_answer_is_one_finding() {
    // The error answer is shared: a new header on it shows in 36 responses of 7 operations.
    let f = aptos_drift(|up| {
        obj(up, "/components/responses/Error/headers").insert(
            "X-APTOS-GAS-USED".into(),
            json!({"schema": {"type": "integer", "format": "uint64"}}),
        );
    });
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].kind, HeaderAdded);
    assert_eq!(f[0].locations.len(), 36);
    assert!(
        f[0].location
            .starts_with("header X-APTOS-GAS-USED (36 responses of get_ledger_info"),
        "{}",
        f[0].location
    );
}

// ---------------------------------------------------------------- Aptos: schemas

#[test]
fn removed_property_the_wrapper_reads_is_breaking() {
    let f = aptos_drift(|up| {
        let s = at(up, "/components/schemas/IndexResponse");
        s["properties"]
            .as_object_mut()
            .unwrap()
            .remove("ledger_version");
        let req: Vec<Value> = s["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| *r != "ledger_version")
            .cloned()
            .collect();
        s["required"] = Value::Array(req);
    });
    assert_exactly(
        &f,
        &[(
            PropertyRemoved,
            Breaking,
            "schema IndexResponse.ledger_version",
        )],
    );
}

#[test]
fn added_optional_property_is_informational() {
    let f = aptos_drift(|up| {
        obj(up, "/components/schemas/IndexResponse/properties")
            .insert("encryption_key".into(), json!({"type": "string"}));
    });
    assert_exactly(
        &f,
        &[(
            PropertyAdded,
            Informational,
            "schema IndexResponse.encryption_key",
        )],
    );
}

#[test]
fn property_required_ness() {
    // Upstream may now omit a field ours requires: breaking.
    let f = aptos_drift(|up| {
        let s = at(up, "/components/schemas/Block");
        let req: Vec<Value> = s["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| *r != "block_hash")
            .cloned()
            .collect();
        s["required"] = Value::Array(req);
    });
    assert_exactly(
        &f,
        &[(PropertyRequired, Breaking, "schema Block.block_hash")],
    );
    // Upstream now always sends one ours has as optional: informational.
    let f = aptos_drift(|up| {
        at(up, "/components/schemas/IndexResponse/required")
            .as_array_mut()
            .unwrap()
            .push(json!("git_hash"));
    });
    assert_exactly(
        &f,
        &[(
            PropertyRequired,
            Informational,
            "schema IndexResponse.git_hash",
        )],
    );
}

#[test]
fn property_type_change_is_breaking() {
    let f = aptos_drift(|up| {
        *at(up, "/components/schemas/IndexResponse/properties/chain_id") =
            json!({"type": "string"});
    });
    assert_exactly(&f, &[(Type, Breaking, "schema IndexResponse.chain_id")]);
}

#[test]
fn nullable_upstream_where_ours_is_not_is_breaking() {
    let f = aptos_drift(|up| at(up, "/components/schemas/HashValue")["nullable"] = json!(true));
    assert_exactly(&f, &[(Nullable, Breaking, "schema HashValue")]);
}

#[test]
fn composition_upstream_is_breaking_where_tokbal_reads() {
    let f = aptos_drift(|up| {
        *at(up, "/components/schemas/HashValue") =
            json!({"oneOf": [{"type": "string"}, {"type": "integer"}]});
    });
    assert_exactly(&f, &[(Composition, Breaking, "schema HashValue")]);
}

#[test]
fn unresolvable_reference_is_breaking() {
    let f = aptos_drift(|up| {
        *at(up, "/components/schemas/Block/properties/block_hash") =
            json!({"$ref": "#/components/schemas/Nope"});
    });
    assert_exactly(&f, &[(UnresolvedRef, Breaking, "schema Block.block_hash")]);
}

fn closed_roles(v: &mut Value) {
    at(v, "/components/schemas/RoleType")["enum"] = json!(["validator", "full_node"]);
}

#[test]
fn enum_value_added_to_a_closed_enum_tokbal_reads_is_breaking() {
    let f = aptos_drift_both(closed_roles, |up| {
        at(up, "/components/schemas/RoleType")["enum"] =
            json!(["validator", "full_node", "light_node"]);
    });
    assert_exactly(&f, &[(EnumValueAdded, Breaking, "schema RoleType")]);
    assert_eq!(f[0].upstream, "light_node");
}

#[test]
fn enum_value_removed_from_what_tokbal_reads_is_informational() {
    let f = aptos_drift_both(closed_roles, |up| {
        at(up, "/components/schemas/RoleType")["enum"] = json!(["validator"]);
    });
    assert_exactly(&f, &[(EnumValueRemoved, Informational, "schema RoleType")]);
}

#[test]
fn enum_opened_upstream_is_breaking_where_ours_is_closed() {
    let f = aptos_drift_both(closed_roles, |up| {
        at(up, "/components/schemas/RoleType")
            .as_object_mut()
            .unwrap()
            .remove("enum");
    });
    assert_exactly(&f, &[(EnumOpenedUpstream, Breaking, "schema RoleType")]);
}

/// Upstream's error_code: a reference to a closed enum of `codes`.
fn error_code_enum(up: &mut Value, codes: &[&str]) {
    *at(up, "/components/schemas/AptosError/properties/error_code") =
        json!({"$ref": "#/components/schemas/AptosErrorCode"});
    obj(up, "/components/schemas").insert(
        "AptosErrorCode".into(),
        json!({"type": "string", "enum": codes}),
    );
}

fn known_codes() -> Vec<String> {
    slices()
        .deviations
        .aptos
        .iter()
        .find_map(|d| d.open_enum.clone())
        .unwrap()
        .values
}

#[test]
fn a_new_aptos_error_code_is_informational_and_asks_to_be_mapped() {
    let mut codes = known_codes();
    codes.push("quota_exhausted".into());
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    let f = aptos_drift_deviations(|up| error_code_enum(up, &codes));
    let f: Vec<Finding> = f
        .into_iter()
        .filter(|f| f.location == "schema AptosError.error_code")
        .collect();
    assert_exactly(
        &f,
        &[
            (
                EnumClosedUpstream,
                Deliberate,
                "schema AptosError.error_code",
            ),
            (
                EnumValueAdded,
                Informational,
                "schema AptosError.error_code",
            ),
        ],
    );
    let added = f.iter().find(|f| f.kind == EnumValueAdded).unwrap();
    assert_eq!(added.upstream, "quota_exhausted");
    assert!(added.note.contains("kind_for_code"), "{}", added.note);
}

#[test]
fn codes_tokbal_knows_and_upstream_lacks_are_deliberate() {
    let codes = known_codes();
    let codes: Vec<&str> = codes
        .iter()
        .map(String::as_str)
        .filter(|c| *c != "rate_limited")
        .collect();
    let f = aptos_drift_deviations(|up| error_code_enum(up, &codes));
    let removed: Vec<&Finding> = f.iter().filter(|f| f.kind == EnumValueRemoved).collect();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].severity, Deliberate);
    assert_eq!(removed[0].ours, "rate_limited");
}

// ---------------------------------------------------------------- deviations

#[test]
fn a_recorded_deviation_makes_a_breaking_difference_deliberate() {
    // Upstream's balance is a bare integer: breaking without the record, deliberate with it.
    let change = |up: &mut Value| {
        *at(
            up,
            &format!("{BALANCE}/responses/200/content/application~1json/schema"),
        ) = json!({"type": "integer", "format": "uint64"});
    };
    let raw = aptos_drift(change);
    assert_exactly(
        &raw,
        &[(Type, Breaking, "get_account_balance response 200 body")],
    );
    let with = aptos_drift_deviations(change);
    assert_exactly(
        &with,
        &[(Type, Deliberate, "get_account_balance response 200 body")],
    );
    assert_eq!(with[0].deviation.as_deref(), Some("balance-u64"));
    assert!(
        with[0].note.contains("otherwise breaking"),
        "{}",
        with[0].note
    );
}

// ---------------------------------------------------------------- AMB

#[test]
fn lowered_batch_limit_is_breaking_and_a_raised_one_informational() {
    let f = amb_drift(|up| {
        shape(up, "GetTokenBalanceInputList")["traits"]["smithy.api#length"]["max"] = json!(5);
    });
    assert_exactly(
        &f,
        &[(Constraint, Breaking, "shape GetTokenBalanceInputList")],
    );
    assert_eq!(
        (
            f[0].what.as_str(),
            f[0].upstream.as_str(),
            f[0].ours.as_str()
        ),
        ("length max lowered", "5", "10")
    );
    assert!(f[0].note.contains("MAX_ITEMS_PER_CALL"));
    let f = amb_drift(|up| {
        shape(up, "GetTokenBalanceInputList")["traits"]["smithy.api#length"]["max"] = json!(20);
    });
    assert_exactly(
        &f,
        &[(Constraint, Informational, "shape GetTokenBalanceInputList")],
    );
}

fn add_enum_value(up: &mut Value, name: &str, value: &str) {
    shape(up, name)["traits"]["smithy.api#enum"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": value, "value": value}));
}

#[test]
fn a_new_network_the_wrapper_does_not_handle_is_breaking() {
    let f = amb_drift(|up| add_enum_value(up, "QueryNetwork", "POLYGON_MAINNET"));
    assert_exactly(&f, &[(EnumValueAdded, Breaking, "shape QueryNetwork")]);
    assert!(f[0].note.contains("HANDLED_NETWORKS"));
}

#[test]
fn a_network_removed_upstream_is_breaking() {
    let f = amb_drift(|up| {
        shape(up, "QueryNetwork")["traits"]["smithy.api#enum"]
            .as_array_mut()
            .unwrap()
            .retain(|e| e["value"] != "BITCOIN_TESTNET");
    });
    assert_exactly(&f, &[(EnumValueRemoved, Breaking, "shape QueryNetwork")]);
}

#[test]
fn a_new_item_error_type_is_informational() {
    let f = amb_drift(|up| add_enum_value(up, "ErrorType", "THROTTLING_EXCEPTION"));
    assert_exactly(&f, &[(EnumValueAdded, Informational, "shape ErrorType")]);
    assert!(f[0].note.contains("kind_for_item_error"));
}

#[test]
fn smithy_2_enum_shapes_with_the_same_values_do_not_drift() {
    let f = amb_drift(|up| {
        *shape(up, "ErrorType") = json!({
            "type": "enum",
            "members": {
                "VALIDATION_EXCEPTION": {"target": "smithy.api#Unit",
                    "traits": {"smithy.api#enumValue": "VALIDATION_EXCEPTION"}},
                "RESOURCE_NOT_FOUND_EXCEPTION": {"target": "smithy.api#Unit",
                    "traits": {"smithy.api#enumValue": "RESOURCE_NOT_FOUND_EXCEPTION"}}
            }
        });
    });
    assert_exactly(&f, &[]);
}

#[test]
fn changed_exception_status_is_breaking() {
    let f = amb_drift(|up| {
        shape(up, "ThrottlingException")["traits"]["smithy.api#httpError"] = json!(503);
    });
    assert_exactly(&f, &[(HttpBinding, Breaking, "shape ThrottlingException")]);
    assert_eq!((f[0].upstream.as_str(), f[0].ours.as_str()), ("503", "429"));
}

#[test]
fn retry_after_bound_elsewhere_is_breaking() {
    let f = amb_drift(|up| {
        shape(up, "InternalServerException")["members"]["retryAfterSeconds"]["traits"]
            ["smithy.api#httpHeader"] = json!("X-Retry-After");
    });
    assert_exactly(
        &f,
        &[(
            HttpBinding,
            Breaking,
            "shape InternalServerException.retryAfterSeconds",
        )],
    );
}

#[test]
fn changed_operation_binding_is_breaking() {
    let f = amb_drift(|up| {
        shape(up, "BatchGetTokenBalance")["traits"]["smithy.api#http"]["uri"] =
            json!("/batch-token-balances");
    });
    assert_exactly(
        &f,
        &[(HttpBinding, Breaking, "operation BatchGetTokenBalance")],
    );
}

#[test]
fn member_required_ness_by_direction() {
    // Sent: upstream now requires what tokbal may leave out.
    let f = amb_drift(|up| {
        shape(up, "BatchGetTokenBalanceInputItem")["members"]["atBlockchainInstant"]["traits"] =
            json!({"smithy.api#required": {}});
    });
    assert_exactly(
        &f,
        &[(
            MemberRequired,
            Breaking,
            "shape BatchGetTokenBalanceInputItem.atBlockchainInstant",
        )],
    );
    // Read: upstream may omit what the wrapper reads.
    let f = amb_drift(|up| {
        shape(up, "BatchGetTokenBalanceOutputItem")["members"]["balance"]["traits"] = json!({});
    });
    assert_exactly(
        &f,
        &[(
            MemberRequired,
            Breaking,
            "shape BatchGetTokenBalanceOutputItem.balance",
        )],
    );
    // Read: upstream now always sends an optional member.
    let f = amb_drift(|up| {
        shape(up, "BatchGetTokenBalanceOutputItem")["members"]["lastUpdatedTime"]["traits"] =
            json!({"smithy.api#required": {}});
    });
    assert_exactly(
        &f,
        &[(
            MemberRequired,
            Informational,
            "shape BatchGetTokenBalanceOutputItem.lastUpdatedTime",
        )],
    );
}

#[test]
fn removed_member_is_breaking() {
    let f = amb_drift(|up| {
        shape(up, "TokenIdentifier")["members"]
            .as_object_mut()
            .unwrap()
            .remove("tokenId");
    });
    assert_exactly(
        &f,
        &[(MemberRemoved, Breaking, "shape TokenIdentifier.tokenId")],
    );
}

#[test]
fn added_member_is_informational_unless_required_in_what_tokbal_sends() {
    let f = amb_drift(|up| {
        shape(up, "BatchGetTokenBalanceOutputItem")["members"]["decimals"] =
            json!({"target": "smithy.api#Integer"});
    });
    assert_exactly(
        &f,
        &[(
            MemberAdded,
            Informational,
            "shape BatchGetTokenBalanceOutputItem.decimals",
        )],
    );
    let f = amb_drift(|up| {
        shape(up, "BatchGetTokenBalanceInputItem")["members"]["chainId"] =
            json!({"target": "smithy.api#String", "traits": {"smithy.api#required": {}}});
    });
    assert_exactly(
        &f,
        &[(
            MemberAdded,
            Breaking,
            "shape BatchGetTokenBalanceInputItem.chainId",
        )],
    );
}

#[test]
fn member_target_change_is_breaking() {
    let f = amb_drift(|up| {
        shape(up, "OwnerIdentifier")["members"]["address"]["target"] = json!("smithy.api#String");
    });
    assert_exactly(
        &f,
        &[(MemberTarget, Breaking, "shape OwnerIdentifier.address")],
    );
}

#[test]
fn changed_address_pattern_is_breaking() {
    let f = amb_drift(|up| {
        shape(up, "ChainAddress")["traits"]["smithy.api#pattern"] = json!("^[-A-Za-z0-9]{13,42}$");
    });
    assert_exactly(&f, &[(Constraint, Breaking, "shape ChainAddress")]);
}

#[test]
fn removed_shape_is_breaking() {
    let f = amb_drift(|up| {
        up["shapes"]
            .as_object_mut()
            .unwrap()
            .remove(&format!("{NS}BlockchainInstant"));
    });
    assert_exactly(&f, &[(ShapeRemoved, Breaking, "shape BlockchainInstant")]);
}

#[test]
fn changed_signing_name_is_breaking() {
    let f = amb_drift(|up| {
        shape(up, "TietonChainQueryService")["traits"]["aws.auth#sigv4"]["name"] =
            json!("managedblockchain");
    });
    assert_exactly(
        &f,
        &[(ServiceTrait, Breaking, "service TietonChainQueryService")],
    );
}

#[test]
fn exceptions_added_and_removed_are_informational() {
    let f = amb_drift(|up| {
        let errors = shape(up, "BatchGetTokenBalance")["errors"]
            .as_array_mut()
            .unwrap();
        errors.retain(|e| e["target"] != format!("{NS}ResourceNotFoundException"));
        errors.push(json!({"target": format!("{NS}ConflictException")}));
    });
    assert_exactly(
        &f,
        &[
            (
                ErrorRemoved,
                Informational,
                "operation BatchGetTokenBalance errors",
            ),
            (
                ErrorAdded,
                Informational,
                "operation BatchGetTokenBalance errors",
            ),
        ],
    );
}

#[test]
fn a_new_service_operation_is_reported_unless_left_out() {
    let s = slices();
    let mut up = s.amb.clone();
    shape(&mut up, "TietonChainQueryService")["operations"]
        .as_array_mut()
        .unwrap()
        .extend([
            json!({"target": format!("{NS}GetTokenBalance")}),
            json!({"target": format!("{NS}GetNewThing")}),
        ]);
    let f: Vec<Finding> = compare_amb(&s.amb, &up, &s.deviations);
    assert_exactly(
        &f,
        &[(
            OperationAdded,
            Informational,
            "service TietonChainQueryService",
        )],
    );
    assert_eq!(f[0].upstream, "GetNewThing");
}

// ---------------------------------------------------------------- EVM: methods

/// Our EVM slice against a copy of it changed by `change`, without deviations.
fn evm_drift(change: impl FnOnce(&mut Value)) -> Vec<Finding> {
    let ours = slices().evm;
    let mut up = ours.clone();
    change(&mut up);
    compare_evm(&ours, &up, &Deviations::default())
}

/// As [`evm_drift`], with our slice changed too.
fn evm_drift_both(
    ours_change: impl Fn(&mut Value),
    change: impl FnOnce(&mut Value),
) -> Vec<Finding> {
    let mut ours = slices().evm;
    ours_change(&mut ours);
    let mut up = ours.clone();
    change(&mut up);
    compare_evm(&ours, &up, &Deviations::default())
}

/// With the recorded deviations; the "not seen" reports of deviations left out.
fn evm_drift_deviations(change: impl FnOnce(&mut Value)) -> Vec<Finding> {
    let s = slices();
    let mut up = s.evm.clone();
    change(&mut up);
    compare_evm(&s.evm, &up, &s.deviations)
        .into_iter()
        .filter(|f| f.kind != Kind::DeviationUnobserved)
        .collect()
}

/// The method `name` of an OpenRPC document.
fn method<'v>(v: &'v mut Value, name: &str) -> &'v mut Value {
    v["methods"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no method {name}"))
}

/// The parameter list of the method `name`.
fn rpc_params<'v>(v: &'v mut Value, name: &str) -> &'v mut Vec<Value> {
    method(v, name)["params"].as_array_mut().unwrap()
}

/// The parameter `param` of the method `name`.
fn rpc_param<'v>(v: &'v mut Value, name: &str, param: &str) -> &'v mut Value {
    rpc_params(v, name)
        .iter_mut()
        .find(|p| p["name"] == param)
        .unwrap_or_else(|| panic!("no parameter {param} in {name}"))
}

/// The component schema `name`.
fn rpc_schema<'v>(v: &'v mut Value, name: &str) -> &'v mut Value {
    at(v, &format!("/components/schemas/{name}"))
}

fn remove_method(v: &mut Value, name: &str) -> Value {
    let list = v["methods"].as_array_mut().unwrap();
    let i = list.iter().position(|m| m["name"] == name).unwrap();
    list.remove(i)
}

#[test]
fn evm_removed_method_is_breaking() {
    let f = evm_drift(|up| {
        remove_method(up, "eth_getCode");
    });
    assert_exactly(&f, &[(OperationRemoved, Breaking, "eth_getCode")]);
    // Gone, and a new method that takes other parameters: not a rename.
    let f = evm_drift(|up| {
        let mut m = remove_method(up, "eth_chainId");
        m["name"] = json!("eth_networkId");
        m["params"] =
            json!([{"name": "Verbose", "required": false, "schema": {"type": "boolean"}}]);
        up["methods"].as_array_mut().unwrap().push(m);
    });
    assert_exactly(
        &f,
        &[
            (OperationRemoved, Breaking, "eth_chainId"),
            (OperationAdded, Informational, "eth_networkId"),
        ],
    );
}

#[test]
fn evm_renamed_method_is_breaking() {
    let f = evm_drift(|up| {
        method(up, "eth_getCode")["name"] = json!("eth_getContractCode");
    });
    assert_exactly(&f, &[(OperationRenamed, Breaking, "eth_getCode")]);
    assert_eq!(
        (f[0].upstream.as_str(), f[0].ours.as_str()),
        ("eth_getContractCode", "eth_getCode")
    );
}

#[test]
fn evm_a_new_upstream_method_is_reported_unless_left_out() {
    let f = evm_drift_deviations(|up| {
        let mut proof = method(up, "eth_getBalance").clone();
        proof["name"] = json!("eth_getProof");
        let mut brand_new = method(up, "eth_chainId").clone();
        brand_new["name"] = json!("eth_brandNew");
        up["methods"]
            .as_array_mut()
            .unwrap()
            .extend([proof, brand_new]);
    });
    let f: Vec<Finding> = f.into_iter().filter(|f| f.severity != Deliberate).collect();
    assert_exactly(&f, &[(OperationAdded, Informational, "eth_brandNew")]);
}

#[test]
fn evm_deprecated_method_is_informational() {
    let f = evm_drift(|up| method(up, "eth_getBlockByHash")["deprecated"] = json!(true));
    assert_exactly(&f, &[(Deprecated, Informational, "eth_getBlockByHash")]);
}

#[test]
fn evm_new_api_version_is_informational() {
    let f = evm_drift(|up| *at(up, "/info/version") = json!("1.0.0"));
    assert_exactly(&f, &[(ApiVersion, Informational, "info.version")]);
}

#[test]
fn evm_param_structure_by_name_only_is_breaking() {
    // tokbal sends parameters by position.
    let f = evm_drift(|up| method(up, "eth_getBalance")["paramStructure"] = json!("by-name"));
    assert_exactly(&f, &[(ParamStructure, Breaking, "eth_getBalance")]);
    assert_eq!(
        (f[0].upstream.as_str(), f[0].ours.as_str()),
        ("by-name", "either")
    );
    let f = evm_drift(|up| method(up, "eth_getBalance")["paramStructure"] = json!("by-position"));
    assert_exactly(&f, &[(ParamStructure, Informational, "eth_getBalance")]);
}

#[test]
fn evm_result_gone_is_breaking() {
    let f = evm_drift(|up| {
        method(up, "eth_blockNumber")
            .as_object_mut()
            .unwrap()
            .remove("result");
    });
    assert_exactly(&f, &[(MethodResult, Breaking, "eth_blockNumber result")]);
}

#[test]
fn evm_error_codes_added_and_removed_are_informational() {
    let f = evm_drift(|up| {
        method(up, "eth_call")["errors"] = json!([{"code": -32000, "message": "header not found"}]);
    });
    assert_exactly(
        &f,
        &[
            (ErrorRemoved, Informational, "eth_call errors"),
            (ErrorAdded, Informational, "eth_call errors"),
        ],
    );
    let removed = f.iter().find(|f| f.kind == ErrorRemoved).unwrap();
    assert_eq!(removed.ours, "3");
    // The revert data tokbal decodes: no longer hex bytes.
    let f = evm_drift(|up| {
        method(up, "eth_call")["errors"][0]["data"] = json!({"type": "object"});
    });
    assert_exactly(&f, &[(Type, Breaking, "eth_call error 3 data")]);
}

// ---------------------------------------------------------------- EVM: parameters

#[test]
fn evm_added_parameter_is_informational_when_optional_and_breaking_when_required() {
    for (required, severity) in [(false, Informational), (true, Breaking)] {
        let f = evm_drift(|up| {
            rpc_params(up, "eth_call").push(json!({"name": "State overrides",
                "required": required, "schema": {"type": "object"}}));
        });
        assert_exactly(
            &f,
            &[(
                ParameterAdded,
                severity,
                "eth_call parameter State overrides",
            )],
        );
    }
}

#[test]
fn evm_removed_parameter_is_breaking() {
    let f = evm_drift(|up| {
        rpc_params(up, "eth_getBalance").retain(|p| p["name"] != "Block");
    });
    assert_exactly(
        &f,
        &[(ParameterRemoved, Breaking, "eth_getBalance parameter Block")],
    );
}

#[test]
fn evm_renamed_parameter_is_breaking() {
    let f = evm_drift(|up| {
        rpc_param(up, "eth_getBalance", "Address")["name"] = json!("Account");
    });
    assert_exactly(
        &f,
        &[(
            ParameterRenamed,
            Breaking,
            "eth_getBalance parameter Address",
        )],
    );
    assert_eq!(
        (f[0].upstream.as_str(), f[0].ours.as_str()),
        ("Account", "Address")
    );
}

#[test]
fn evm_parameter_required_ness_by_direction() {
    // Upstream now requires what tokbal may leave out: breaking.
    let f = evm_drift(|up| rpc_param(up, "eth_getBalance", "Block")["required"] = json!(true));
    assert_exactly(
        &f,
        &[(
            ParameterRequired,
            Breaking,
            "eth_getBalance parameter Block",
        )],
    );
    assert_eq!(
        (f[0].upstream.as_str(), f[0].ours.as_str()),
        ("required", "optional")
    );
    // Upstream made optional what tokbal sends anyway: informational.
    let f = evm_drift(|up| {
        rpc_param(up, "eth_getBlockByNumber", "Hydrated transactions")["required"] = json!(false)
    });
    assert_exactly(
        &f,
        &[(
            ParameterRequired,
            Informational,
            "eth_getBlockByNumber parameter Hydrated transactions",
        )],
    );
}

#[test]
fn evm_a_parameter_at_another_position_is_breaking() {
    // An optional parameter upstream inserts before Block moves Block to the third place.
    let f = evm_drift(|up| {
        rpc_params(up, "eth_call").insert(
            1,
            json!({"name": "Block overrides", "required": false, "schema": {"type": "object"}}),
        );
    });
    assert_exactly(
        &f,
        &[
            (
                ParameterAdded,
                Informational,
                "eth_call parameter Block overrides",
            ),
            (ParameterPosition, Breaking, "eth_call parameter Block"),
        ],
    );
    let moved = f.iter().find(|f| f.kind == ParameterPosition).unwrap();
    assert_eq!(
        (moved.upstream.as_str(), moved.ours.as_str()),
        ("position 3", "position 2")
    );
    // Parameters swapped.
    let f = evm_drift(|up| rpc_params(up, "eth_getCode").swap(0, 1));
    assert_exactly(
        &f,
        &[
            (ParameterPosition, Breaking, "eth_getCode parameter Address"),
            (ParameterPosition, Breaking, "eth_getCode parameter Block"),
        ],
    );
    // Sent by name, the order does not matter.
    let by_name = |v: &mut Value| method(v, "eth_getCode")["paramStructure"] = json!("by-name");
    let f = evm_drift_both(by_name, |up| rpc_params(up, "eth_getCode").swap(0, 1));
    assert_exactly(&f, &[]);
}

#[test]
fn evm_parameter_type_change_is_breaking() {
    let f = evm_drift(|up| {
        rpc_param(up, "eth_getBlockByNumber", "Hydrated transactions")["schema"] =
            json!({"type": "string"});
    });
    assert_exactly(
        &f,
        &[(
            Type,
            Breaking,
            "eth_getBlockByNumber parameter Hydrated transactions",
        )],
    );
    assert_eq!(
        (f[0].upstream.as_str(), f[0].ours.as_str()),
        ("string", "boolean")
    );
}

#[test]
fn evm_a_tighter_pattern_on_what_tokbal_sends_is_breaking() {
    let f = evm_drift(|up| rpc_schema(up, "address")["pattern"] = json!("^0x[0-9a-f]{40}$"));
    assert_exactly(&f, &[(Constraint, Breaking, "schema address")]);
    assert_eq!(f[0].what, "pattern changed");
}

#[test]
fn evm_block_tags_removed_are_breaking_and_added_informational() {
    let f = evm_drift(|up| {
        rpc_schema(up, "BlockTag")["enum"] = json!(["earliest", "finalized", "latest", "pending"]);
    });
    assert_exactly(&f, &[(EnumValueRemoved, Breaking, "schema BlockTag")]);
    assert_eq!(f[0].ours, "safe");
    let f = evm_drift(|up| {
        rpc_schema(up, "BlockTag")["enum"]
            .as_array_mut()
            .unwrap()
            .push(json!("justified"));
    });
    assert_exactly(&f, &[(EnumValueAdded, Informational, "schema BlockTag")]);
    assert_eq!(f[0].upstream, "justified");
}

#[test]
fn evm_block_alternatives_removed_are_breaking_and_added_informational() {
    // tokbal sends blocks by number or tag: a form upstream drops breaks it.
    let f = evm_drift(|up| {
        rpc_schema(up, "BlockNumberOrTag")["oneOf"]
            .as_array_mut()
            .unwrap()
            .retain(|a| a["$ref"] != "#/components/schemas/BlockTag");
    });
    assert_exactly(
        &f,
        &[(
            AlternativeRemoved,
            Breaking,
            "schema BlockNumberOrTag alternative BlockTag",
        )],
    );
    // A new form upstream takes: informational.
    let f = evm_drift(|up| {
        rpc_schema(up, "BlockNumberOrTag")["oneOf"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "object", "properties": {"blockNumber": {"$ref": "#/components/schemas/uint"}}}));
    });
    assert_exactly(
        &f,
        &[(
            AlternativeAdded,
            Informational,
            "schema BlockNumberOrTag alternative object",
        )],
    );
}

// ---------------------------------------------------------------- EVM: results and schemas

#[test]
fn evm_a_new_form_of_an_answer_is_breaking_and_a_dropped_one_informational() {
    let f = evm_drift(|up| {
        for name in ["eth_getBlockByNumber", "eth_getBlockByHash"] {
            method(up, name)["result"]["schema"]["oneOf"]
                .as_array_mut()
                .unwrap()
                .push(json!({"$ref": "#/components/schemas/hash32"}));
        }
    });
    assert_exactly(
        &f,
        &[
            (
                AlternativeAdded,
                Breaking,
                "eth_getBlockByNumber result alternative hash32",
            ),
            (
                AlternativeAdded,
                Breaking,
                "eth_getBlockByHash result alternative hash32",
            ),
        ],
    );
    let f = evm_drift(|up| {
        method(up, "eth_getBlockByHash")["result"]["schema"]["oneOf"]
            .as_array_mut()
            .unwrap()
            .remove(0);
    });
    assert_exactly(
        &f,
        &[(
            AlternativeRemoved,
            Informational,
            "eth_getBlockByHash result alternative notFound",
        )],
    );
    // A single schema becoming a choice: composition.
    let f = evm_drift(|up| {
        method(up, "eth_chainId")["result"]["schema"] = json!({"oneOf": [
            {"$ref": "#/components/schemas/uint"}, {"$ref": "#/components/schemas/notFound"}]});
    });
    assert_exactly(&f, &[(Composition, Breaking, "eth_chainId result")]);
}

#[test]
fn evm_a_block_field_tokbal_reads_removed_or_retyped_is_breaking() {
    let f = evm_drift(|up| {
        let block = rpc_schema(up, "Block");
        block["properties"]
            .as_object_mut()
            .unwrap()
            .remove("timestamp");
        block["required"]
            .as_array_mut()
            .unwrap()
            .retain(|r| r != "timestamp");
    });
    assert_exactly(&f, &[(PropertyRemoved, Breaking, "schema Block.timestamp")]);
    let f = evm_drift(|up| {
        rpc_schema(up, "Block")["properties"]["number"] = json!({"type": "integer"});
    });
    assert_exactly(&f, &[(Type, Breaking, "schema Block.number")]);
    // Upstream may now leave out a field tokbal reads.
    let f = evm_drift(|up| {
        rpc_schema(up, "Block")["required"]
            .as_array_mut()
            .unwrap()
            .retain(|r| r != "parentHash");
    });
    assert_exactly(
        &f,
        &[(PropertyRequired, Breaking, "schema Block.parentHash")],
    );
}

#[test]
fn evm_partial_schemas_ignore_what_tokbal_does_not_use() {
    // Block lists only what tokbal reads: a field upstream adds is none of its business...
    let add_miner = |up: &mut Value| {
        rpc_schema(up, "Block")["properties"]["miner"] =
            json!({"$ref": "#/components/schemas/address"});
    };
    assert_exactly(&evm_drift(add_miner), &[]);
    // ...while a whole schema reports it.
    let whole = |v: &mut Value| {
        rpc_schema(v, "Block")
            .as_object_mut()
            .unwrap()
            .remove("x-tokbal-partial");
    };
    let f = evm_drift_both(whole, add_miner);
    assert_exactly(&f, &[(PropertyAdded, Informational, "schema Block.miner")]);
    // GenericTransaction lists only what tokbal sends: an optional field upstream adds is
    // nothing, a required one is breaking.
    for (required, expected) in [
        (false, vec![]),
        (
            true,
            vec![(PropertyAdded, Breaking, "schema GenericTransaction.chainId")],
        ),
    ] {
        let f = evm_drift(|up| {
            let tx = rpc_schema(up, "GenericTransaction");
            tx["properties"]["chainId"] = json!({"$ref": "#/components/schemas/uint"});
            if required {
                tx["required"] = json!(["chainId"]);
            }
        });
        assert_exactly(&f, &expected);
    }
}

#[test]
fn evm_unresolvable_reference_is_breaking() {
    let f = evm_drift(|up| {
        rpc_param(up, "eth_getBalance", "Address")["schema"] =
            json!({"$ref": "#/components/schemas/nope"});
    });
    assert_exactly(
        &f,
        &[(UnresolvedRef, Breaking, "eth_getBalance parameter Address")],
    );
}

#[test]
fn evm_references_are_followed_not_compared() {
    // Upstream refers to content descriptors and a method through components, and inlines
    // schemas our slice refers to: same meaning, no drift.
    let f = evm_drift(|up| {
        let address = rpc_param(up, "eth_getBalance", "Address").clone();
        let balance = method(up, "eth_getBalance")["result"].clone();
        up["components"]["contentDescriptors"] = json!({"Address": address, "Balance": balance});
        *rpc_param(up, "eth_getBalance", "Address") =
            json!({"$ref": "#/components/contentDescriptors/Address"});
        method(up, "eth_getBalance")["result"] =
            json!({"$ref": "#/components/contentDescriptors/Balance"});
        let code = remove_method(up, "eth_getCode");
        up["components"]["methods"] = json!({"eth_getCode": code});
        up["methods"]
            .as_array_mut()
            .unwrap()
            .push(json!({"$ref": "#/components/methods/eth_getCode"}));
        let hash32 = rpc_schema(up, "hash32").clone();
        rpc_param(up, "eth_getBlockByHash", "Block hash")["schema"] = hash32;
        // notFound inlined in the block answer: matched with ours by its type.
        method(up, "eth_getBlockByNumber")["result"]["schema"]["oneOf"][0] =
            json!({"title": "Not Found (null)", "type": "null"});
    });
    assert_exactly(&f, &[]);
}

// ---------------------------------------------------------------- EVM: deviations

/// An upstream-like description: our slice without the EIP-1898 form of the block.
fn without_eip_1898(up: &mut Value) {
    rpc_schema(up, "BlockNumberOrTagOrHash")["anyOf"]
        .as_array_mut()
        .unwrap()
        .retain(|a| a["$ref"] != "#/components/schemas/Eip1898BlockHash");
    obj(up, "/components/schemas").remove("Eip1898BlockHash");
}

#[test]
fn evm_the_eip_1898_block_form_is_a_recorded_deviation() {
    const AT: &str = "schema BlockNumberOrTagOrHash alternative Eip1898BlockHash";
    // Breaking without the record: tokbal sends a form the description does not list.
    let raw = evm_drift(without_eip_1898);
    assert_exactly(&raw, &[(AlternativeRemoved, Breaking, AT)]);
    let with = evm_drift_deviations(without_eip_1898);
    assert_exactly(&with, &[(AlternativeRemoved, Deliberate, AT)]);
    assert_eq!(with[0].deviation.as_deref(), Some("eip-1898-block"));
    assert!(
        with[0].note.contains("otherwise breaking"),
        "{}",
        with[0].note
    );
    // Upstream taking the object form one day: the deviation is reported as no longer seen.
    let s = slices();
    let f = compare_evm(&s.evm, &s.evm, &s.deviations);
    assert_exactly(&f, &[(DeviationUnobserved, Informational, AT)]);
    assert_eq!(f[0].deviation.as_deref(), Some("eip-1898-block"));
}

#[test]
fn evm_deviations_have_their_own_section_and_unique_ids() {
    let s = slices();
    assert!(s.deviations.evm.iter().any(|d| d.id == "eip-1898-block"));
    assert!(s
        .deviations
        .left_out
        .evm
        .contains(&"eth_getProof".to_string()));
    let repeated = r#"{"aptos":[{"id":"x","what":"","upstream":"","ours":"","reason":"","match":[{"kind":"type","location":"a"}]}],
        "evm":[{"id":"x","what":"","upstream":"","ours":"","reason":"","match":[{"kind":"alternative_removed","location":"b"}]}]}"#;
    let e = Deviations::parse(repeated).unwrap_err();
    assert!(e.to_string().contains("repeated"), "{e}");
}

// ---------------------------------------------------------------- reading descriptions

#[test]
fn yaml_with_integer_keys_huge_integers_and_tags_reads() {
    let v = parse_description(
        "responses:\n  200: {description: ok}\nexample: 0x88fbd33f54e1126269769780feb24480428179f552e2313fbe571b72e62a1ca1\nbig: 340282366920938463463374607431768211455\ntagged: !thing 3\n",
        "t.yaml",
    )
    .unwrap();
    assert_eq!(v["responses"]["200"]["description"], "ok");
    assert!(v["example"].is_string());
    assert!(v["big"].is_string() || v["big"].is_number());
    assert_eq!(v["tagged"], 3);
}

#[test]
fn malformed_inputs_are_errors_not_panics() {
    for (text, origin) in [
        ("{\"openapi\": ", "a.json"),
        ("a: [1, 2", "a.yaml"),
        ("key: value\nkey: again\n", "dup.yaml"),
        ("\u{0}\u{1}", "bin.yaml"),
    ] {
        let e = parse_description(text, origin).unwrap_err();
        assert!(e.to_string().contains(origin), "{e}");
    }
    // Well-formed but of the wrong kind: the comparison never starts.
    let s = slices();
    assert!(Slices::from_texts(
        drift::BUNDLED_AMB,
        drift::BUNDLED_AMB,
        drift::BUNDLED_EVM,
        drift::BUNDLED_DEVIATIONS
    )
    .is_err());
    let e = Slices::from_texts(
        drift::BUNDLED_APTOS,
        drift::BUNDLED_AMB,
        drift::BUNDLED_APTOS,
        drift::BUNDLED_DEVIATIONS,
    )
    .unwrap_err();
    assert!(e.to_string().contains("specs/evm.json"), "{e}");
    // Deeply nested or odd documents compare without panicking.
    let mut odd = json!({"openapi": "3.0.0", "paths": {"/": {"get": {"operationId": "get_ledger_info",
        "parameters": "nope", "responses": {"200": {"$ref": "#/no/where"}}}}}});
    let _ = compare_aptos(&s.aptos, &odd, &s.deviations);
    odd["paths"] = json!([]);
    let _ = compare_aptos(&s.aptos, &odd, &s.deviations);
    let _ = compare_amb(
        &s.amb,
        &json!({"smithy": "2.0", "shapes": {"x": 1}}),
        &s.deviations,
    );
    for odd in [
        json!({"openrpc": "1.4.1", "methods": "nope"}),
        json!({"openrpc": "1.4.1", "methods": [7, {"name": 3}, {"$ref": "#/no/where"},
            {"name": "eth_call", "params": [{"$ref": "#/nope"}, 1], "result": 2, "errors": {}}]}),
    ] {
        let _ = compare_evm(&s.evm, &odd, &s.deviations);
        let _ = compare_evm(&odd, &s.evm, &s.deviations);
    }
}

// ---------------------------------------------------------------- the command

fn tokbal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokbal"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tokbal-drift-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Our Aptos slice with the balance's ledger_version parameter renamed, as YAML.
fn drifted_aptos_yaml() -> String {
    let mut up = slices().aptos;
    edit_param(&mut up, BALANCE, "ledger_version", |p| {
        p["name"] = json!("version_at")
    });
    serde_yaml_ng::to_string(&up).unwrap()
}

#[test]
fn command_exits_1_on_breaking_drift_and_prints_one_line_per_finding() {
    let path = scratch("drifted.yaml");
    std::fs::write(&path, drifted_aptos_yaml()).unwrap();
    let out = tokbal(&["spec-drift", "--aptos", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let breaking: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("breaking"))
        .collect();
    assert_eq!(breaking.len(), 1, "{stdout}");
    assert!(breaking[0].contains("get_account_balance parameter ledger_version: parameter renamed (upstream version_at, ours ledger_version)"), "{stdout}");
}

#[test]
fn command_json_output_is_an_array_of_findings() {
    let path = scratch("drifted.json");
    let mut up = slices().aptos;
    edit_param(&mut up, BALANCE, "ledger_version", |p| {
        p["name"] = json!("version_at")
    });
    std::fs::write(&path, serde_json::to_string(&up).unwrap()).unwrap();
    let out = tokbal(&[
        "spec-drift",
        "--aptos",
        path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let findings: Value = serde_json::from_slice(&out.stdout).expect("a JSON array");
    let list = findings.as_array().unwrap();
    assert!(!list.is_empty());
    for f in list {
        for key in [
            "severity", "api", "kind", "location", "what", "upstream", "ours", "note",
        ] {
            assert!(f.get(key).is_some(), "{key} missing in {f}");
        }
    }
    assert!(list.iter().any(|f| f["severity"] == "breaking"
        && f["kind"] == "parameter_renamed"
        && f["api"] == "aptos"
        && f["location"] == "get_account_balance parameter ledger_version"));
}

#[test]
fn command_exits_2_when_an_input_cannot_be_read() {
    let missing = scratch("does-not-exist.yaml");
    let out = tokbal(&["spec-drift", "--aptos", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does-not-exist.yaml"));

    let broken = scratch("broken.yaml");
    std::fs::write(&broken, "openapi: 3.0.0\npaths: {\n").unwrap();
    let out = tokbal(&["spec-drift", "--aptos", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad YAML"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The AMB model given as the Aptos description.
    let amb = scratch("amb-as-aptos.json");
    std::fs::write(&amb, drift::BUNDLED_AMB).unwrap();
    let out = tokbal(&["spec-drift", "--aptos", amb.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an OpenAPI"));

    let out = tokbal(&["spec-drift"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to compare"));

    let out = tokbal(&[
        "spec-drift",
        "--upstream",
        scratch("no-such-dir").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn command_reads_a_description_over_loopback_http() {
    let server = CannedServer::start(vec![
        Canned::new(200, drifted_aptos_yaml()).header("content-type", "application/yaml"),
        Canned::new(404, "not here"),
    ])
    .await;
    let url = format!("{}/spec.yaml", server.base_url);
    let run =
        |url: String| tokio::task::spawn_blocking(move || tokbal(&["spec-drift", "--aptos", &url]));
    let out = run(url.clone()).await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(url).await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"));
    assert_eq!(server.served(), 2);
}

/// Our EVM slice with the Address parameter of eth_getBalance renamed, as JSON.
fn drifted_evm_json() -> String {
    let mut up = slices().evm;
    rpc_param(&mut up, "eth_getBalance", "Address")["name"] = json!("Account");
    serde_json::to_string_pretty(&up).unwrap()
}

#[test]
fn command_compares_the_evm_slice_with_evm() {
    let drifted = scratch("drifted-evm.json");
    std::fs::write(&drifted, drifted_evm_json()).unwrap();
    let out = tokbal(&["spec-drift", "--evm", drifted.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let breaking: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("breaking"))
        .collect();
    assert_eq!(breaking.len(), 1, "{stdout}");
    assert!(
        breaking[0].starts_with("breaking      evm   eth_getBalance parameter Address: parameter renamed (upstream Account, ours Address)"),
        "{stdout}"
    );
    assert!(stderr.contains("(against evm "), "{stderr}");

    // Our own slice: only the deviation it records, reported as not seen.
    let same = scratch("same-evm.json");
    std::fs::write(&same, drift::BUNDLED_EVM).unwrap();
    let out = tokbal(&["spec-drift", "--evm", same.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("informational evm   schema BlockNumberOrTagOrHash alternative Eip1898BlockHash: deviation eip-1898-block"), "{stdout}");

    // The Aptos slice given as the EVM description, and a file that is not there.
    let aptos = scratch("aptos-as-evm.yaml");
    std::fs::write(&aptos, drift::BUNDLED_APTOS).unwrap();
    let out = tokbal(&["spec-drift", "--evm", aptos.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not an OpenRPC document"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let missing = scratch("no-such-evm.json");
    let out = tokbal(&["spec-drift", "--evm", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-evm.json"));
}

#[test]
fn command_exits_2_when_the_upstream_folder_lacks_the_evm_description() {
    let dir = scratch("upstream-without-evm");
    for (rel, text) in [
        (drift::UPSTREAM_APTOS, drift::BUNDLED_APTOS),
        (drift::UPSTREAM_AMB, drift::BUNDLED_AMB),
    ] {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let out = tokbal(&["spec-drift", "--upstream", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the evm description is absent"), "{stderr}");
    assert!(stderr.contains(drift::UPSTREAM_EVM), "{stderr}");
    assert!(stderr.contains("--evm FILE|URL"), "{stderr}");
    assert!(out.stdout.is_empty());
    // Named with --evm instead: the folder's two and the named one are compared.
    let evm = scratch("evm-beside.json");
    std::fs::write(&evm, drift::BUNDLED_EVM).unwrap();
    let out = tokbal(&[
        "spec-drift",
        "--upstream",
        dir.to_str().unwrap(),
        "--evm",
        evm.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("aptos ") && stderr.contains("amb ") && stderr.contains("evm "),
        "{stderr}"
    );
}

// ---------------------------------------------------------------- the real upstream

fn upstream_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/upstream");
    let present = [
        drift::UPSTREAM_APTOS,
        drift::UPSTREAM_AMB,
        drift::UPSTREAM_EVM,
    ]
    .iter()
    .all(|rel| dir.join(rel).is_file());
    if present {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

fn read(path: &Path) -> Value {
    parse_description(
        &std::fs::read_to_string(path).unwrap(),
        &path.display().to_string(),
    )
    .unwrap()
}

#[test]
fn the_slices_have_no_breaking_drift_against_the_newest_upstream() {
    let Some(dir) = upstream_dir() else { return };
    let s = slices();
    let report = drift::check(
        &s,
        Some(&read(&dir.join(drift::UPSTREAM_APTOS))),
        Some(&read(&dir.join(drift::UPSTREAM_AMB))),
        Some(&read(&dir.join(drift::UPSTREAM_EVM))),
    );
    assert!(!report.has_breaking(), "{}", report.to_text());
    assert_eq!(report.count(Informational), 0, "{}", report.to_text());
    // Every recorded deviation shows, and nothing else.
    let seen: std::collections::BTreeSet<&str> = report
        .findings
        .iter()
        .filter_map(|f| f.deviation.as_deref())
        .collect();
    let recorded: std::collections::BTreeSet<&str> = s
        .deviations
        .aptos
        .iter()
        .chain(&s.deviations.amb)
        .chain(&s.deviations.evm)
        .map(|d| d.id.as_str())
        .collect();
    assert_eq!(seen, recorded);
}

#[test]
fn the_command_passes_against_the_newest_upstream() {
    let Some(dir) = upstream_dir() else { return };
    let out = tokbal(&["spec-drift", "--upstream", dir.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn the_2025_07_31_description_shows_what_changed_since() {
    let Some(dir) = upstream_dir() else { return };
    let old = dir.join("aptos/aptos-openapi-2025-07-31.json");
    if !old.is_file() {
        eprintln!("skipped: {} is absent", old.display());
        return;
    }
    let s = slices();
    let f = compare_aptos(&s.aptos, &read(&old), &s.deviations);
    assert!(!f.iter().any(|f| f.severity == Breaking), "{f:#?}");
    let has = |kind: Kind, severity: Severity, loc: &str, value: &str| {
        f.iter().any(|x| {
            x.kind == kind
                && x.severity == severity
                && x.location == loc
                && (value.is_empty() || x.ours == value || x.upstream == value)
        })
    };
    // AptosErrorCode then lacked the two codes tokbal's open string already knows.
    assert!(has(
        EnumValueRemoved,
        Deliberate,
        "schema AptosError.error_code",
        "rate_limited"
    ));
    assert!(has(
        EnumValueRemoved,
        Deliberate,
        "schema AptosError.error_code",
        "node_not_bootstrapped"
    ));
    // The header and the IndexResponse field the slice leaves out did not exist yet.
    assert!(has(
        DeviationUnobserved,
        Informational,
        "* header X-APTOS-TXN-ENCRYPTION-KEY",
        ""
    ));
    assert!(has(
        DeviationUnobserved,
        Informational,
        "schema IndexResponse.encryption_key",
        ""
    ));
    assert_eq!(
        f.iter().filter(|x| x.severity == Informational).count(),
        2,
        "{f:#?}"
    );
}

/// `../shared/upstream/evm/NAME`, parsed; `None` (with a note) when it is absent.
fn upstream_evm(name: &str) -> Option<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/upstream/evm")
        .join(name);
    if path.is_file() {
        Some(read(&path))
    } else {
        eprintln!("skipped: {} is absent", path.display());
        None
    }
}

const EIP_1898_AT: &str = "schema BlockNumberOrTagOrHash alternative Eip1898BlockHash";

#[test]
fn the_evm_slice_against_the_newest_upstream_shows_only_its_deviation() {
    let Some(up) = upstream_evm("execution-apis-openrpc.json") else {
        return;
    };
    let s = slices();
    // Raw, the one difference is the EIP-1898 form; with the record it is deliberate, and
    // every other upstream method is recorded as left out.
    assert_exactly(
        &compare_evm(&s.evm, &up, &Deviations::default())
            .into_iter()
            .filter(|f| f.kind != OperationAdded)
            .collect::<Vec<_>>(),
        &[(AlternativeRemoved, Breaking, EIP_1898_AT)],
    );
    let f = compare_evm(&s.evm, &up, &s.deviations);
    assert_exactly(&f, &[(AlternativeRemoved, Deliberate, EIP_1898_AT)]);
}

#[test]
fn the_v1_0_0_beta_7_description_shows_what_changed_since() {
    let Some(up) = upstream_evm("execution-apis-openrpc-v1.0.0-beta.7.json") else {
        return;
    };
    let s = slices();
    let f = compare_evm(&s.evm, &up, &s.deviations);
    // Then, eth_getBalance and eth_getCode required the block, which the slice (as main
    // does now) lets tokbal leave out: a node following beta.7 may refuse such a call.
    // eth_getLogs's range ends were numbers only (main added the tags), and a topic
    // position could not be null (main added it as "any topic").
    assert_exactly(
        &f,
        &[
            (
                ParameterRequired,
                Breaking,
                "eth_getBalance parameter Block",
            ),
            (ParameterRequired, Breaking, "eth_getCode parameter Block"),
            (
                AlternativeRemoved,
                Breaking,
                "schema FilterTopic alternative null",
            ),
            (ApiVersion, Informational, "info.version"),
            (
                Composition,
                Informational,
                "schema BlockNumberOrTagForRange",
            ),
            (SchemaRemoved, Informational, "schema BlockTagForRange"),
            (AlternativeRemoved, Deliberate, EIP_1898_AT),
        ],
    );
    for x in f.iter().filter(|x| x.kind == ParameterRequired) {
        assert_eq!(
            (x.upstream.as_str(), x.ours.as_str()),
            ("required", "optional")
        );
    }
    let version = f.iter().find(|x| x.kind == ApiVersion).unwrap();
    assert_eq!(version.upstream, "1.0.0-beta.7");
}

#[test]
fn the_command_against_v1_0_0_beta_7_exits_1() {
    let Some(dir) = upstream_dir() else { return };
    let old = dir.join("evm/execution-apis-openrpc-v1.0.0-beta.7.json");
    if !old.is_file() {
        eprintln!("skipped: {} is absent", old.display());
        return;
    }
    let out = tokbal(&["spec-drift", "--evm", old.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("breaking      evm   eth_getBalance parameter Block: required-ness changed (upstream required, ours optional)"), "{stdout}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("3 breaking, 3 informational, 1 deliberate"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every JSON pointer inside `v`.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(x, p, out);
            }
        }
        _ => {}
    }
}

#[test]
fn any_node_replaced_by_anything_never_panics() {
    let s = slices();
    let odd = [
        json!(null),
        json!(7),
        json!("x"),
        json!([]),
        json!({}),
        json!({"$ref": "#/"}),
    ];
    for (ours, compare) in [
        (
            &s.aptos,
            compare_aptos as fn(&Value, &Value, &Deviations) -> Vec<Finding>,
        ),
        (&s.amb, compare_amb),
        (&s.evm, compare_evm),
    ] {
        let mut all = Vec::new();
        pointers(ours, String::new(), &mut all);
        // Each node gets one of the odd values, in turn: every node and every value are
        // covered without multiplying the runs.
        for (i, p) in all.iter().enumerate() {
            let mut mangled = ours.clone();
            *mangled.pointer_mut(p).unwrap() = odd[i % odd.len()].clone();
            // Upstream mangled, and ours mangled.
            let _ = compare(ours, &mangled, &s.deviations);
            let _ = compare(&mangled, ours, &s.deviations);
        }
    }
}

#[test]
fn all_of_is_compared_by_meaning_not_by_layout() {
    // Upstream splits IndexResponse into two allOf parts: same meaning, no drift.
    let f = aptos_drift(|up| {
        let whole = at(up, "/components/schemas/IndexResponse").clone();
        let mut first = whole.clone();
        let mut second = json!({"type": "object", "properties": {}, "required": []});
        for name in ["block_height", "git_hash"] {
            let p = first["properties"]
                .as_object_mut()
                .unwrap()
                .remove(name)
                .unwrap();
            second["properties"][name] = p;
        }
        first["required"]
            .as_array_mut()
            .unwrap()
            .retain(|r| r != "block_height");
        second["required"] = json!(["block_height"]);
        obj(up, "/components/schemas").insert("IndexTail".into(), second);
        *at(up, "/components/schemas/IndexResponse") =
            json!({"allOf": [first, {"$ref": "#/components/schemas/IndexTail"}]});
    });
    assert_exactly(&f, &[]);
}

#[test]
fn hostile_all_of_references_finish_quickly() {
    let started = std::time::Instant::now();
    let f = aptos_drift(|up| {
        let schemas = obj(up, "/components/schemas");
        // A loop, and a chain in which every schema includes the next one twice.
        schemas.insert(
            "Loop".into(),
            json!({"allOf": [{"$ref": "#/components/schemas/Loop"}]}),
        );
        for i in 0..40 {
            let next = json!({"$ref": format!("#/components/schemas/Chain{}", i + 1)});
            schemas.insert(format!("Chain{i}"), json!({"allOf": [next.clone(), next]}));
        }
        schemas.insert("Chain40".into(), json!({"type": "string"}));
        *at(up, "/components/schemas/HashValue") = json!({"allOf": [
            {"$ref": "#/components/schemas/Loop"},
            {"$ref": "#/components/schemas/Chain0"}
        ]});
    });
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert!(!f.is_empty());
}
