//! `/proc/self/limits`, parsed; pure (no Host).

/// One limit; `None` means unlimited.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

impl Limit {
    pub fn show(v: Option<u64>) -> String {
        v.map_or("unlimited".into(), |n| n.to_string())
    }

    pub fn describe(&self) -> String {
        format!("{}:{}", Limit::show(self.soft), Limit::show(self.hard))
    }

    /// Whether a hard value fits under the current hard limit.
    pub fn hard_allows(&self, hard: u64) -> bool {
        self.hard.is_none_or(|h| hard <= h)
    }
}

fn parse_value(v: &str) -> Result<Option<u64>, ()> {
    if v == "unlimited" {
        Ok(None)
    } else {
        v.parse().map(Some).map_err(drop)
    }
}

/// Parses `/proc/self/limits`: (nofile, nproc), each `None` when its line is
/// missing or unreadable.
pub fn parse_limits(text: &str) -> (Option<Limit>, Option<Limit>) {
    let find = |label: &str| {
        text.lines().find_map(|line| {
            let rest = line.strip_prefix(label)?;
            let mut cols = rest.split_whitespace();
            let soft = parse_value(cols.next()?).ok()?;
            let hard = parse_value(cols.next()?).ok()?;
            Some(Limit { soft, hard })
        })
    };
    (find("Max open files"), find("Max processes"))
}
