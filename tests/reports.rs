//! Every report the doctor writes keeps its published shapes: the JSON
//! against docs/report.schema.json (Python `jsonschema`, see
//! tests/schema/validate.py), the JUnit against tests/schema/junit-gitlab.xsd
//! (what GitLab's parser reads, checked with `xmllint`), and the JUnit's
//! failures agree with the exit code. Run on every captured environment and
//! on every golden file. Both tools are installed by tests/setup.sh; a
//! missing one fails the test rather than skipping it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn envs() -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(manifest().join("tests/fixtures/envs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("host.json").is_file())
        .collect();
    all.sort();
    assert!(all.len() >= 10, "only {} captured environments", all.len());
    all
}

/// Runs a checker; its absence is a set-up error, not a pass.
fn tool(program: &str, args: &[&str], hint: &str) -> (bool, String) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): {hint}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn validate_json(files: &[PathBuf]) {
    let script = manifest().join("tests/schema/validate.py");
    let mut args = vec![script.to_str().unwrap()];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let (ok, text) = tool(
        "python3",
        &args,
        "install python3 and python3-jsonschema (tests/setup.sh)",
    );
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!("{} of {} reports valid", files.len(), files.len())),
        "{text}"
    );
}

fn validate_junit(files: &[PathBuf]) {
    let xsd = manifest().join("tests/schema/junit-gitlab.xsd");
    let mut args = vec!["--noout", "--schema", xsd.to_str().unwrap()];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let (ok, text) = tool("xmllint", &args, "install libxml2-utils (tests/setup.sh)");
    assert!(ok, "{text}");
}

/// `check` on every captured environment (read-only, so the fixture
/// trees are used in place): JSON and JUnit both valid, and the JUnit is
/// the state as found, as the exit code is.
#[test]
fn check_reports_are_valid_and_junit_agrees_with_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let mut jsons = Vec::new();
    let mut xmls = Vec::new();
    for env in envs() {
        let name = env.file_name().unwrap().to_string_lossy().into_owned();
        let json = dir.path().join(format!("{name}.json"));
        let xml = dir.path().join(format!("{name}.xml"));
        let out = Command::new(env!("CARGO_BIN_EXE_podrun-doctor"))
            .arg("--root")
            .arg(&env)
            .args(["check", "--json"])
            .arg(&json)
            .arg("--junit")
            .arg(&xml)
            .output()
            .unwrap();
        let code = out.status.code().unwrap();
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let junit = std::fs::read_to_string(&xml).unwrap();
        let errors_found = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "error")
            .count();
        assert!(
            junit.contains(&format!(" failures=\"{errors_found}\" ")),
            "{name}: {errors_found} errors as found, JUnit says otherwise"
        );
        assert_eq!(junit.matches("<failure ").count(), errors_found, "{name}");
        assert_eq!(code == 1, errors_found > 0, "{name}: exit {code}");
        jsons.push(json);
        xmls.push(xml);
    }
    validate_json(&jsons);
    validate_junit(&xmls);
}

/// The golden files, with the two fields golden.rs strips put back.
#[test]
fn golden_reports_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(manifest().join("tests/golden")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let obj = v.as_object_mut().unwrap();
        obj.insert("version".into(), env!("CARGO_PKG_VERSION").into());
        obj.insert("duration_ms".into(), 1.0.into());
        let copy = dir.path().join(path.file_name().unwrap());
        std::fs::write(&copy, serde_json::to_string(&v).unwrap()).unwrap();
        files.push(copy);
    }
    assert!(files.len() >= 10, "only {} golden reports", files.len());
    validate_json(&files);
}

/// The checkers themselves catch what they must: a report missing a
/// field and a JUnit case with two status elements are refused.
#[test]
fn the_checkers_refuse_broken_reports() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"schema": "podrun-doctor/report/v1", "mode": "check"}"#,
    )
    .unwrap();
    let script = manifest().join("tests/schema/validate.py");
    let (ok, text) = tool(
        "python3",
        &[script.to_str().unwrap(), bad.to_str().unwrap()],
        "",
    );
    assert!(
        !ok && text.contains("'checks' is a required property"),
        "{text}"
    );
    let xml = dir.path().join("bad.xml");
    std::fs::write(
        &xml,
        "<testsuites><testsuite name=\"x\"><testcase name=\"a\" classname=\"b\">\
         <failure>x</failure><skipped>y</skipped></testcase></testsuite></testsuites>",
    )
    .unwrap();
    let xsd = manifest().join("tests/schema/junit-gitlab.xsd");
    let (ok, _) = tool(
        "xmllint",
        &[
            "--noout",
            "--schema",
            xsd.to_str().unwrap(),
            xml.to_str().unwrap(),
        ],
        "install libxml2-utils (tests/setup.sh)",
    );
    assert!(!ok, "two status elements in one case must be refused");
}
