//! `/proc/self/cgroup`, parsed; pure (no Host).

/// One line of `/proc/self/cgroup`: `id:controllers:path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupLine {
    pub id: u32,
    /// Empty for the v2 line (`0::/path`).
    pub controllers: Vec<String>,
    pub path: String,
}

/// Parses `/proc/self/cgroup`: lines and the lines that did not parse.
pub fn parse_self_cgroup(text: &str) -> (Vec<CgroupLine>, Vec<String>) {
    let mut lines = Vec::new();
    let mut garbage = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.splitn(3, ':');
        let parsed = (|| {
            let id = parts.next()?.parse().ok()?;
            let ctl = parts.next()?;
            let path = parts.next()?.to_string();
            let controllers = ctl
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            Some(CgroupLine {
                id,
                controllers,
                path,
            })
        })();
        match parsed {
            Some(l) => lines.push(l),
            None => garbage.push(line.to_string()),
        }
    }
    (lines, garbage)
}
