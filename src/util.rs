//! Small helpers shared by several modules.

/// Quotes a value for a POSIX shell: safe for any byte string, including
/// quotes, newlines and `$`.
/// `1 uid`, `2 uids`: a count with its noun in the right number.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn shell_quote(value: &str) -> String {
    if !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-:,=+@%".contains(&b))
    {
        return value.to_string();
    }
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// Parses a `/proc/self/uid_map`-style table; lines that do not parse are
/// returned as errors with their text.
pub fn parse_id_map(text: &str) -> Result<Vec<crate::host::IdMapLine>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let nums: Vec<u32> = line
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| format!("unreadable line {line:?}"))?;
            match nums[..] {
                [inside, outside, count] => Ok(crate::host::IdMapLine {
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
    fn quoting_survives_a_shell() {
        assert_eq!(shell_quote("/builds/x"), "/builds/x");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("it's $HOME"), "'it'\\''s $HOME'");
    }

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

#[cfg(test)]
mod count_tests {
    #[test]
    fn one_is_singular() {
        assert_eq!(super::count(1, "uid", "uids"), "1 uid");
        assert_eq!(super::count(0, "uid", "uids"), "0 uids");
        assert_eq!(super::count(65536, "uid", "uids"), "65536 uids");
    }
}
