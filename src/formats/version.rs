//! Tool version output (`podman version 5.4.2`), parsed; pure.

/// A parsed `major.minor.patch` version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    pub fn new(major: u32, minor: u32, patch: u32) -> Version {
        Version {
            major,
            minor,
            patch,
        }
    }

    /// The first `N.N[.N]` in a tool's version output (`podman version
    /// 5.4.2`, `crun version 1.8.1`, `runc version 1.1.5+ds1`).
    pub fn parse(text: &str) -> Option<Version> {
        let line = text
            .lines()
            .find(|l| l.to_ascii_lowercase().contains("version"))
            .or_else(|| text.lines().next())?;
        line.split(|c: char| c.is_whitespace() || c == 'v')
            .find_map(|word| {
                let mut nums = word
                    .split(|c: char| !c.is_ascii_digit())
                    .take_while(|s| !s.is_empty());
                let major = nums.next()?.parse().ok()?;
                let minor = nums.next()?.parse().ok()?;
                let patch = nums.next().and_then(|p| p.parse().ok()).unwrap_or(0);
                Some(Version::new(major, minor, patch))
            })
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}
