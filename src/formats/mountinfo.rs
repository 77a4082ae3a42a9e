//! `/proc/self/mountinfo`, parsed; pure (no Host).

/// One line of `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub id: u32,
    pub parent: u32,
    /// `major:minor` of the filesystem.
    pub dev: String,
    /// The path inside the filesystem that is mounted (`/` or a bind source).
    pub root: String,
    pub mount_point: String,
    /// Per-mount options (`rw`, `nosuid`, …).
    pub options: Vec<String>,
    /// Optional fields (`shared:1`, `master:2`, …).
    pub optional: Vec<String>,
    pub fstype: String,
    pub source: String,
    pub super_options: Vec<String>,
}

impl Mount {
    pub fn has_option(&self, opt: &str) -> bool {
        self.options.iter().any(|o| o == opt)
    }

    pub fn readonly(&self) -> bool {
        self.has_option("ro")
    }

    pub fn shared(&self) -> bool {
        self.optional.iter().any(|o| o.starts_with("shared:"))
    }
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if let Some(v) = s
                .get(i + 1..i + 4)
                .and_then(|o| u8::from_str_radix(o, 8).ok())
            {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses one mountinfo line; `None` when it does not have the format.
pub fn parse_mount_line(line: &str) -> Option<Mount> {
    let (left, right) = line.split_once(" - ")?;
    let mut l = left.split_whitespace();
    let id = l.next()?.parse().ok()?;
    let parent = l.next()?.parse().ok()?;
    let dev = l.next()?.to_string();
    let root = unescape(l.next()?);
    let mount_point = unescape(l.next()?);
    let options = l.next()?.split(',').map(str::to_string).collect();
    let optional = l.map(str::to_string).collect();
    let mut r = right.split_whitespace();
    let fstype = r.next()?.to_string();
    let source = unescape(r.next().unwrap_or(""));
    let super_options = r
        .next()
        .map(|o| o.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    Some(Mount {
        id,
        parent,
        dev,
        root,
        mount_point,
        options,
        optional,
        fstype,
        source,
        super_options,
    })
}

/// Parses `/proc/self/mountinfo`: the mounts and the lines that did not parse.
pub fn parse_mountinfo(text: &str) -> (Vec<Mount>, Vec<String>) {
    let mut mounts = Vec::new();
    let mut garbage = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match parse_mount_line(line) {
            Some(m) => mounts.push(m),
            None => garbage.push(line.to_string()),
        }
    }
    (mounts, garbage)
}

/// Mounts strictly below `/proc/` that cover something (the kernel refuses
/// a fresh procfs in a user namespace when part of the visible one is
/// hidden). `/proc/sys/fs/binfmt_misc` sits on a permanently empty
/// directory and does not count.
pub fn proc_submounts(mounts: &[Mount]) -> Vec<String> {
    let mut subs: Vec<String> = mounts
        .iter()
        .map(|m| m.mount_point.clone())
        .filter(|p| p.starts_with("/proc/") && p != "/proc/sys/fs/binfmt_misc")
        .collect();
    subs.sort();
    subs.dedup();
    subs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_garbage() {
        let m = parse_mount_line("36 35 98:0 /mnt\\040x /a\\040b rw,noatime master:1 - ext3 /dev/root rw,errors=continue").unwrap();
        assert_eq!(m.root, "/mnt x");
        assert_eq!(m.mount_point, "/a b");
        assert_eq!(m.optional, vec!["master:1"]);
        assert!(parse_mount_line("garbage").is_none());
        let only_binfmt = "1 0 0:1 / / rw - ext4 x rw\n2 1 0:2 / /proc rw - proc proc rw\n\
3 2 0:3 / /proc/sys/fs/binfmt_misc rw - autofs systemd-1 rw\n";
        let (m, _) = parse_mountinfo(only_binfmt);
        assert!(proc_submounts(&m).is_empty());
    }
}
