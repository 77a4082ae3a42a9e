//! docs/checks.md is generated from the check registry and must stay in
//! step with it (run with PODRUN_BLESS=1 to rewrite it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use podrun_doctor::probes::AREAS;

fn render() -> String {
    let mut out = String::from(
        "# Checks\n\nGenerated from the check registry (`podrun-doctor list`, `podrun-doctor explain ID`);\n\
         `PODRUN_BLESS=1 cargo test --test docs` rewrites it. Ids are a public contract: never reused.\n",
    );
    for area in AREAS {
        if area.specs.is_empty() {
            continue;
        }
        out.push_str(&format!("\n## {}\n", area.name));
        for spec in area.specs {
            out.push_str(&format!("\n### `{}`\n\n{}\n\n", spec.id, spec.title));
            out.push_str(spec.explain.trim_end());
            out.push('\n');
            if !spec.signatures.is_empty() {
                out.push_str("\nExplains log lines containing:\n\n");
                for sig in spec.signatures {
                    out.push_str(&format!("- `{}`\n", sig.replace('`', "'")));
                }
            }
        }
    }
    out
}

#[test]
fn checks_doc_matches_the_registry() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/checks.md");
    let want = render();
    if std::env::var_os("PODRUN_BLESS").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "docs/checks.md is stale: run PODRUN_BLESS=1 cargo test --test docs"
    );
}

#[test]
fn every_spec_explains_itself() {
    for spec in podrun_doctor::probes::all_specs() {
        assert!(!spec.title.is_empty(), "{} has no title", spec.id);
        assert!(spec.explain.len() > 40, "{} explains too little", spec.id);
        for text in [spec.title, spec.explain] {
            assert!(
                !has_catalog_code(text),
                "{}: an internal catalog code no user document defines: {text}",
                spec.id
            );
        }
    }
}

/// `U4`, `(C1)`, `catalog E6`: the failure catalog's internal codes.
fn has_catalog_code(text: &str) -> bool {
    text.contains("catalog ")
        || text.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
            w.len() == 2 && w.as_bytes()[0].is_ascii_uppercase() && w.as_bytes()[1].is_ascii_digit()
        })
}

/// `explain ID` shows every executor's snippet from `remedy::catalog::ALL`:
/// a `RunnerFix` constant left out of it would be shown to no one whose
/// executor differs from the job's.
#[test]
fn every_runner_remedy_is_in_the_explain_catalog() {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("runner.rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                for line in text
                    .lines()
                    .filter(|l| l.contains(": RunnerFix = RunnerFix {"))
                {
                    out.push(format!("{}: {}", p.display(), line.trim()));
                }
            }
        }
    }
    let mut defined = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut defined,
    );
    let all = podrun_doctor::remedy::catalog::ALL;
    assert_eq!(
        all.len(),
        defined.len(),
        "catalog {} vs defined: {defined:#?}",
        all.len()
    );
    let ids: Vec<&str> = podrun_doctor::probes::all_specs().map(|s| s.id).collect();
    for fix in all {
        assert!(
            ids.contains(&fix.id),
            "a runner remedy names no check: {}",
            fix.id
        );
        let shown = podrun_doctor::explain::explain_id(fix.id).unwrap();
        for line in fix.catalog_text().lines() {
            assert!(shown.contains(line), "explain {} lacks {line:?}", fix.id);
        }
    }
}
