//! JUnit XML: one test case per check, so GitLab's test report lists them
//! (`artifacts: reports: junit: podrun-doctor.xml`).

use super::{area_of, Report};
use crate::model::{By, Mode, Status};

fn esc(s: &str) -> String {
    s.chars()
        .filter(|c| matches!(c, '\t' | '\n' | '\r') || !c.is_control())
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// The state a case reports: as found for `check` and `--dry-run` (nothing
/// was changed, so the job's state is the one found, and the exit code says
/// the same), after the fixes for the fixing modes.
fn case_status(report: &Report, row: &super::Row) -> Status {
    if report.mode == Mode::Check || report.dry_run {
        row.check.status
    } else {
        row.status_after.unwrap_or(row.check.status)
    }
}

/// The fix, said for the case's text: who acts, and whether it is done.
fn fix_text(report: &Report, row: &super::Row) -> String {
    let Some(f) = &row.check.fix else {
        return String::new();
    };
    let who = match (f.by, f.applied) {
        (By::Job, true) => "fixed by podrun-doctor".to_string(),
        (By::Job, false) if report.mode == Mode::Check || report.dry_run => {
            "podrun-doctor can fix this".to_string()
        }
        (By::Job, false) => "the job's fix".to_string(),
        (by, _) => format!("fix for the {}", by.as_str().replace('-', " ")),
    };
    format!("{who}: {}", f.text)
}

/// GitLab's parser (lib/gitlab/ci/parsers/test/junit.rb) reads a case's
/// `failure`, `error` or `skipped` text, and `system-out` beside a failure;
/// the text goes in the element, not an attribute, so the widget shows it.
pub fn render(report: &Report, strict: bool) -> String {
    let mut failures = 0;
    let mut skipped = 0;
    let mut cases = String::new();
    for row in &report.rows {
        let c = &row.check;
        let status = case_status(report, row);
        cases.push_str(&format!(
            "    <testcase classname=\"podrun-doctor.{}\" name=\"{}\" time=\"0\">\n",
            esc(area_of(c.id)),
            esc(c.id)
        ));
        let summary = c.summary.clone();
        let fix = fix_text(report, row);
        let state = match row.status_after {
            Some(after) if status == after && after != c.status => {
                format!(
                    "{} as found, {} after the fixes",
                    c.status.as_str(),
                    after.as_str()
                )
            }
            _ => status.as_str().to_string(),
        };
        let out = if fix.is_empty() {
            format!("{state}: {summary}")
        } else {
            format!("{state}: {summary}\n{fix}")
        };
        match status {
            Status::Error | Status::Warn if status == Status::Error || strict => {
                failures += 1;
                cases.push_str(&format!(
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
                    esc(&summary),
                    if status == Status::Error {
                        "error"
                    } else {
                        "warning"
                    },
                    esc(&out)
                ));
            }
            Status::Skip => {
                skipped += 1;
                cases.push_str(&format!("      <skipped>{}</skipped>\n", esc(&summary)));
            }
            _ => cases.push_str(&format!("      <system-out>{}</system-out>\n", esc(&out))),
        }
        cases.push_str("    </testcase>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"podrun-doctor\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{:.3}\">\n{cases}  </testsuite>\n</testsuites>\n",
        report.rows.len(),
        report.duration_ms / 1000.0
    )
}
