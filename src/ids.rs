//! User and group ids as types of their own: podman's helpers look a
//! sub-gid range up by the *uid* (shadow's `have_range` compares the owner
//! with the user's uid), a passwd entry's gid may differ from the process's
//! gid, and a remedy names `run_as_user` and `run_as_group` side by side.
//! A `Uid` passed where a `Gid` belongs is then a compile error, not a wrong
//! remedy. The system seam (`host`) keeps plain `u32`s, as the kernel does.

use serde_json::Value;
use std::fmt;

macro_rules! id_type {
    ($name:ident, $what:literal) => {
        #[doc = $what]
        #[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);

        impl $name {
            pub const ROOT: $name = $name(0);

            pub fn get(self) -> u32 {
                self.0
            }

            pub fn is_root(self) -> bool {
                self.0 == 0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$name> for u64 {
            fn from(id: $name) -> u64 {
                u64::from(id.0)
            }
        }

        impl From<$name> for Value {
            fn from(id: $name) -> Value {
                Value::from(id.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<$name, Self::Err> {
                s.parse().map($name)
            }
        }
    };
}

id_type!(
    Uid,
    "A user id, as in `/etc/passwd`, `uid_map` and `/etc/subuid`."
);
id_type!(
    Gid,
    "A group id, as in `/etc/passwd`, `gid_map` and `/etc/subgid`."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_and_parse_as_numbers() {
        assert_eq!("1000".parse::<Uid>(), Ok(Uid(1000)));
        assert_eq!(Gid(5).to_string(), "5");
        assert_eq!(Value::from(Uid(7)), serde_json::json!(7));
        assert!(Uid::ROOT.is_root() && !Gid(1).is_root());
    }
}
