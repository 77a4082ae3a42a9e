//! `/proc/self/uid_map` and `gid_map`, parsed; pure (no Host), so it can be
//! fuzzed alone.

/// One line of a `uid_map`/`gid_map`: `inside outside count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct IdMapLine {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// Parses a `/proc/self/uid_map`-style table; lines that do not parse are
/// returned as errors with their text.
pub fn parse_id_map(text: &str) -> Result<Vec<IdMapLine>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let nums: Vec<u32> = line
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| format!("unreadable line {line:?}"))?;
            match nums[..] {
                [inside, outside, count] => Ok(IdMapLine {
                    inside,
                    outside,
                    count,
                }),
                _ => Err(format!("unreadable line {line:?}")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_maps_parse() {
        let m =
            parse_id_map("         0       1000          1\n         1     100000      65536\n")
                .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].outside, 100000);
        assert!(parse_id_map("0 0\n").is_err());
    }
}
