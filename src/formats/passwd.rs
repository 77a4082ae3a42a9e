//! `/etc/passwd`, parsed; pure (no Host), so it can be fuzzed alone.

use crate::ids::{Gid, Uid};

/// One `/etc/passwd` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: Uid,
    pub gid: Gid,
    pub home: String,
    pub shell: String,
}

/// `/etc/passwd` parsed: the entries, and the 1-based numbers of the lines
/// that are not entries (with why).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Passwd {
    pub entries: Vec<PasswdEntry>,
    pub bad: Vec<(usize, String)>,
}

impl Passwd {
    pub fn by_uid(&self, uid: Uid) -> Option<&PasswdEntry> {
        self.entries.iter().find(|e| e.uid == uid)
    }
    pub fn by_name(&self, name: &str) -> Option<&PasswdEntry> {
        self.entries.iter().find(|e| e.name == name)
    }
}

/// Parses `/etc/passwd`: `name:pw:uid:gid:gecos:home:shell`. Empty lines,
/// `#` comments and NIS compat lines (`+`/`-`) are skipped; anything else
/// that is not seven fields with numeric ids is reported, never fatal.
pub fn parse_passwd(text: &str) -> Passwd {
    let mut p = Passwd::default();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('+') || line.starts_with('-') {
            continue;
        }
        let f: Vec<&str> = line.split(':').collect();
        if f.len() != 7 {
            p.bad.push((n, format!("{} fields, expected 7", f.len())));
            continue;
        }
        let (Ok(uid), Ok(gid)) = (f[2].parse::<Uid>(), f[3].parse::<Gid>()) else {
            p.bad.push((n, "uid or gid is not a number".to_string()));
            continue;
        };
        if f[0].is_empty() {
            p.bad.push((n, "empty name".to_string()));
            continue;
        }
        p.entries.push(PasswdEntry {
            name: f[0].to_string(),
            uid,
            gid,
            home: f[5].to_string(),
            shell: f[6].to_string(),
        });
    }
    p
}
