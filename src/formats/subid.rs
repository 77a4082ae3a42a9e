//! `/etc/subuid` and `/etc/subgid`, parsed; pure (no Host).

use super::passwd::Passwd;
use crate::ids::Uid;

/// One well-formed `owner:start:count` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubIdLine {
    /// 1-based line number.
    pub line_no: usize,
    pub owner: String,
    pub start: u64,
    pub count: u64,
    /// The line had leading/trailing whitespace: podman trims it, newuidmap
    /// does not parse it.
    pub padded: bool,
}

impl SubIdLine {
    pub fn end(&self) -> u64 {
        self.start + self.count
    }
}

/// A line that is not `owner:start:count`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub line_no: usize,
    /// The owner field, when the line has one.
    pub owner: String,
    /// The line has other than three fields: podman then refuses the file.
    pub fatal_for_podman: bool,
    pub problem: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SubIdFile {
    pub lines: Vec<SubIdLine>,
    pub bad: Vec<BadLine>,
}

impl SubIdFile {
    /// The ranges of a user, matched by name or numeric uid, in file order.
    /// A uid for `/etc/subgid` too: shadow's `have_range` compares an
    /// owner with the user's uid in both files, never with a gid.
    pub fn ranges_for(&self, name: Option<&str>, uid: Option<Uid>) -> Vec<&SubIdLine> {
        let uid_s = uid.map(|u| u.to_string());
        self.lines
            .iter()
            .filter(|l| Some(l.owner.as_str()) == name || Some(&l.owner) == uid_s.as_ref())
            .collect()
    }

    /// Malformed lines belonging to a user.
    pub fn bad_for(&self, name: Option<&str>, uid: Option<Uid>) -> Vec<&BadLine> {
        let uid_s = uid.map(|u| u.to_string());
        self.bad
            .iter()
            .filter(|l| Some(l.owner.as_str()) == name || Some(&l.owner) == uid_s.as_ref())
            .collect()
    }
}

/// A field as quoted in a problem: escaped, and cut after 24 characters of
/// the escaped form, so that neither a megabyte-long field nor one of
/// control characters (six characters each, escaped) reaches the report
/// whole.
fn clip(field: &str) -> String {
    let mut shown = String::new();
    let mut chars = field.chars();
    for c in chars.by_ref() {
        shown.extend(c.escape_debug());
        if shown.chars().count() >= 24 {
            break;
        }
    }
    let more = if chars.next().is_some() { "…" } else { "" };
    format!("\"{shown}{more}\"")
}

/// Parses a sub-id file, never failing: bad lines are collected.
pub fn parse_subid(text: &str) -> SubIdFile {
    let mut f = SubIdFile::default();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split(':').collect();
        let owner = parts.first().map(|s| s.to_string()).unwrap_or_default();
        if parts.len() != 3 {
            f.bad.push(BadLine {
                line_no: n,
                owner,
                fatal_for_podman: true,
                problem: format!("{} field(s), expected owner:start:count", parts.len()),
            });
            continue;
        }
        let num = |s: &str| -> Option<u64> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse::<u32>().ok().map(u64::from)
        };
        let (Some(start), Some(count)) = (num(parts[1]), num(parts[2])) else {
            f.bad.push(BadLine {
                line_no: n,
                owner,
                fatal_for_podman: false,
                problem: format!(
                    "start {} or count {} is not a number",
                    clip(parts[1]),
                    clip(parts[2])
                ),
            });
            continue;
        };
        if count == 0 || start + count > (1u64 << 32) {
            f.bad.push(BadLine {
                line_no: n,
                owner,
                fatal_for_podman: false,
                problem: format!("range {start}:{count} is empty or ends past 4294967295"),
            });
            continue;
        }
        f.lines.push(SubIdLine {
            line_no: n,
            owner,
            start,
            count,
            padded: raw != line,
        });
    }
    f
}

/// Whether `USER` (as podman uses it) finds other sub-uid ranges in `f`
/// than the real passwd name does (as newuidmap checks them).
pub fn lookup_differs(f: &SubIdFile, passwd: &Passwd, user: &str, real: &str, uid: Uid) -> bool {
    let user_uid = passwd.by_name(user).map(|e| e.uid);
    let key = |v: Vec<&SubIdLine>| -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = v.iter().map(|l| (l.start, l.count)).collect();
        v.sort_unstable();
        v
    };
    key(f.ranges_for(Some(user), user_uid)) != key(f.ranges_for(Some(real), Some(uid)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_field_is_clipped_in_the_problem() {
        let line = format!("podman:{}:65536\n", "9".repeat(1 << 20));
        let f = parse_subid(&line);
        assert_eq!(f.bad.len(), 1);
        let problem = &f.bad[0].problem;
        assert!(problem.len() < 100, "{} bytes", problem.len());
        assert!(
            problem.contains("\"999999999999999999999999…\""),
            "{problem}"
        );
        // Control characters are escaped, and count as what they print.
        let f = parse_subid(&format!("a:{}:1\n", "\u{19}".repeat(1000)));
        let problem = &f.bad[0].problem;
        assert!(problem.len() < 100, "{problem}");
        assert!(problem.starts_with("start \"\\u{19}"), "{problem}");
        // Short fields are quoted whole.
        let f = parse_subid("podman:x:65536\n");
        assert_eq!(
            f.bad[0].problem,
            "start \"x\" or count \"65536\" is not a number"
        );
    }
}
