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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_a_shell() {
        assert_eq!(shell_quote("/builds/x"), "/builds/x");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("it's $HOME"), "'it'\\''s $HOME'");
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
