//! JUnit XML: one test case per check, so GitLab's test report lists them
//! (`artifacts: reports: junit: podrun-doctor.xml`).

use super::{area_of, Report};
use crate::model::Status;

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

pub fn render(report: &Report, strict: bool) -> String {
    let mut failures = 0;
    let mut skipped = 0;
    let mut cases = String::new();
    for row in &report.rows {
        let c = &row.check;
        let status = row.status_after.unwrap_or(c.status);
        cases.push_str(&format!(
            "    <testcase classname=\"podrun-doctor.{}\" name=\"{}\" time=\"0\">\n",
            esc(area_of(c.id)),
            esc(c.id)
        ));
        let fix = c
            .fix
            .as_ref()
            .map(|f| {
                format!(
                    "\nfix ({}{}): {}",
                    f.by.as_str(),
                    if f.applied { ", applied" } else { "" },
                    f.text
                )
            })
            .unwrap_or_default();
        match status {
            Status::Error => {
                failures += 1;
                cases.push_str(&format!(
                    "      <failure message=\"{}\" type=\"error\">{}</failure>\n",
                    esc(&c.summary),
                    esc(&format!("{}{fix}", c.summary))
                ));
            }
            Status::Warn if strict => {
                failures += 1;
                cases.push_str(&format!(
                    "      <failure message=\"{}\" type=\"warning\">{}</failure>\n",
                    esc(&c.summary),
                    esc(&format!("{}{fix}", c.summary))
                ));
            }
            Status::Skip => {
                skipped += 1;
                cases.push_str(&format!(
                    "      <skipped message=\"{}\"/>\n",
                    esc(&c.summary)
                ));
            }
            _ => cases.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                esc(&format!("{}: {}{fix}", status.as_str(), c.summary))
            )),
        }
        cases.push_str("    </testcase>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"podrun-doctor\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{:.3}\">\n{cases}  </testsuite>\n</testsuites>\n",
        report.rows.len(),
        report.duration_ms / 1000.0
    )
}
