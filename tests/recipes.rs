//! The failed-build recipe in docs/gitlab.md is the one the examples use
//! (tests/pipelines.sh runs those with a failing build): the doc cannot
//! drift from what is tested.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The `- '…'` script lines of the yaml block under the recipe's heading.
fn recipe_lines() -> Vec<String> {
    let doc = read("docs/gitlab.md");
    let section = doc
        .split("## Explaining a failed build")
        .nth(1)
        .expect("docs/gitlab.md has the recipe section");
    let block = section
        .split("```yaml")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a yaml block in the recipe section");
    let lines: Vec<String> = block
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("- '"))
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), 2, "{block}");
    lines
}

#[test]
fn every_example_uses_the_documented_recipe() {
    let lines = recipe_lines();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path().join("gitlab-ci.yml");
        if !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for line in &lines {
            assert!(
                text.contains(line.as_str()),
                "{} lacks {line}",
                path.display()
            );
        }
        seen += 1;
    }
    assert!(seen >= 5, "only {seen} examples");
    // No table cell carries a shell pipe (a `|` ends a markdown cell).
    for row in read("docs/gitlab.md")
        .lines()
        .filter(|l| l.starts_with("| "))
    {
        let cells = row.matches(" | ").count();
        assert!(cells <= 1, "a table row with a cut cell: {row}");
    }
}
