//! Test helper: builds a fixture tree (`host.json` + `root/`) in a temp
//! directory and hands back a [`Host`] over it. Test-only (`#[cfg(test)]`).
//!
//! API (stable; add methods, do not change these):
//!
//! ```ignore
//! use crate::probes::testutil::Fixture;
//! let host = Fixture::new()                       // uid 0, gid 0, empty env
//!     .uid(1000).gid(1000).groups(&[1000])
//!     .env("HOME", "/home/podman")
//!     .file("/etc/passwd", "podman:x:1000:1000::/home/podman:/bin/sh\n")
//!     .dir("/home/podman")                        // a directory in root/
//!     .stat("/home/podman", "dir", 0o755, 1000, 1000)
//!     .stat_err("/dev/fuse", "ENOENT")
//!     .statfs("/var/lib/containers", 0x794c7630, 10 << 30)
//!     .access("/etc/passwd", Access::Write, "EACCES") // or "ok"
//!     .open("/dev/fuse", "EPERM")
//!     .file_caps("/usr/bin/newuidmap", "0100000280000000...") // hex
//!     .command("podman --version", 0, "podman version 5.4.2\n", "")
//!     .probe(&Probe::UserNs, ProbeResult::success(""))
//!     .answer("table", "key", json!(...))         // anything else in host.json
//!     .host();                                    // FixtureHost: derefs to Host
//! let mut found = Findings::default();
//! crate::probes::identity::probe(&host, &mut found);
//! // or run every area in order up to and including one:
//! let found = crate::probes::testutil::findings_through(&host, "idmap");
//! ```
//!
//! The temp directory lives as long as the returned [`FixtureHost`].
//! Defaults of the fixture layer apply: a path without a `stat` entry is
//! stat'ed from the tree and reads as owned by root; `access`/`open` without
//! an entry succeed when the path exists in the tree; a probe without an
//! answer is `ran: false`.

use super::Findings;
use crate::host::{Access, Host, Probe, ProbeResult};
use serde_json::{json, Map, Value};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};

pub struct Fixture {
    dir: tempfile::TempDir,
    doc: Map<String, Value>,
}

/// A [`Host`] over a fixture tree; keeps the temp directory alive.
pub struct FixtureHost {
    host: Host,
    dir: tempfile::TempDir,
}

impl FixtureHost {
    /// The fixture directory (`host.json`, `root/`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Deref for FixtureHost {
    type Target = Host;
    fn deref(&self) -> &Host {
        &self.host
    }
}

impl DerefMut for FixtureHost {
    fn deref_mut(&mut self) -> &mut Host {
        &mut self.host
    }
}

impl Default for Fixture {
    fn default() -> Self {
        Fixture::new()
    }
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("root")).expect("root dir");
        let mut doc = Map::new();
        doc.insert("ids".into(), json!({"uid": 0, "gid": 0, "groups": []}));
        doc.insert("env".into(), json!({}));
        Fixture { dir, doc }
    }

    fn ids_mut(&mut self) -> &mut Map<String, Value> {
        self.doc
            .get_mut("ids")
            .and_then(Value::as_object_mut)
            .expect("ids object")
    }

    pub fn uid(mut self, uid: u32) -> Fixture {
        self.ids_mut().insert("uid".into(), json!(uid));
        self
    }

    pub fn gid(mut self, gid: u32) -> Fixture {
        self.ids_mut().insert("gid".into(), json!(gid));
        self
    }

    pub fn groups(mut self, groups: &[u32]) -> Fixture {
        self.ids_mut().insert("groups".into(), json!(groups));
        self
    }

    pub fn env(self, key: &str, value: &str) -> Fixture {
        self.answer("env", key, json!(value))
    }

    /// Where a system path lives in the fixture tree.
    pub fn root_path(&self, system_path: &str) -> PathBuf {
        self.dir
            .path()
            .join("root")
            .join(system_path.trim_start_matches('/'))
    }

    /// Writes a file into `root/` (parents created).
    pub fn file(self, path: &str, contents: &str) -> Fixture {
        let p = self.root_path(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, contents).expect("write fixture file");
        self
    }

    /// Creates a directory (and parents) in `root/`.
    pub fn dir(self, path: &str) -> Fixture {
        std::fs::create_dir_all(self.root_path(path)).expect("mkdir");
        self
    }

    /// A real symlink in `root/` at `path` (parents created) pointing to
    /// `target` as written (relative targets stay inside the tree).
    pub fn symlink(self, path: &str, target: &str) -> Fixture {
        let p = self.root_path(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::os::unix::fs::symlink(target, &p).expect("symlink");
        self
    }

    /// A `stat` answer: kind is `file`, `dir`, `char`, `symlink`, ….
    pub fn stat(self, path: &str, kind: &str, mode: u32, uid: u32, gid: u32) -> Fixture {
        self.answer(
            "stat",
            path,
            json!({"kind": kind, "mode": format!("0{mode:o}"), "uid": uid, "gid": gid}),
        )
    }

    /// A `stat` that fails with an errno name (`"ENOENT"`, `"EACCES"`).
    pub fn stat_err(self, path: &str, errno: &str) -> Fixture {
        self.answer("stat", path, json!(errno))
    }

    pub fn statfs(self, path: &str, magic: u64, free_bytes: u64) -> Fixture {
        self.answer(
            "statfs",
            path,
            json!({"magic": format!("0x{magic:x}"), "free_bytes": free_bytes}),
        )
    }

    /// An `access(2)` answer: `"ok"` or an errno name.
    pub fn access(self, path: &str, mode: Access, result: &str) -> Fixture {
        let key = format!("{path} {}", mode.letter());
        self.answer("access", &key, json!(result))
    }

    /// An `open(O_RDWR)` answer: `"ok"` or an errno name.
    pub fn open(self, path: &str, result: &str) -> Fixture {
        self.answer("open", path, json!(result))
    }

    /// The `security.capability` xattr of a file, as hex.
    pub fn file_caps(self, path: &str, hex: &str) -> Fixture {
        self.answer("file_caps", path, json!(hex))
    }

    /// What running `argv` (joined by spaces) prints.
    pub fn command(self, argv: &str, status: i32, stdout: &str, stderr: &str) -> Fixture {
        self.answer(
            "commands",
            argv,
            json!({"status": status, "stdout": stdout, "stderr": stderr}),
        )
    }

    /// The answer of a fork-and-try probe.
    pub fn probe(self, probe: &Probe, result: ProbeResult) -> Fixture {
        self.answer(
            "probes",
            &probe.key(),
            json!({"ran": result.ran, "ok": result.ok, "step": result.step,
                   "errno": result.errno, "detail": result.detail}),
        )
    }

    /// Any entry of `host.json`: `doc[table][key] = value`.
    pub fn answer(mut self, table: &str, key: &str, value: Value) -> Fixture {
        let t = self
            .doc
            .entry(table.to_string())
            .or_insert_with(|| json!({}));
        if let Some(obj) = t.as_object_mut() {
            obj.insert(key.to_string(), value);
        }
        self
    }

    /// Writes `host.json` and loads the tree as a [`Host`].
    pub fn host(self) -> FixtureHost {
        let text = serde_json::to_string_pretty(&Value::Object(self.doc)).expect("json");
        std::fs::write(self.dir.path().join("host.json"), text).expect("write host.json");
        let host = Host::fixture(self.dir.path()).expect("load fixture");
        FixtureHost {
            host,
            dir: self.dir,
        }
    }
}

/// Runs every area in order up to and including `last` (an area name).
pub fn findings_through(host: &Host, last: &str) -> Findings {
    let mut found = Findings::default();
    for area in super::AREAS {
        (area.probe)(host, &mut found);
        if area.name == last {
            break;
        }
    }
    found
}

/// The checks with this id prefix, for assertions.
pub fn checks<'a>(found: &'a Findings, prefix: &str) -> Vec<&'a crate::model::Check> {
    found
        .checks
        .iter()
        .filter(|c| c.id.starts_with(prefix))
        .collect()
}

/// Findings before any area ran, but with the paths the identity area
/// would derive (HOME, XDG, job directory), for tests that run a later
/// area alone.
pub fn with_paths(host: &Host) -> Findings {
    let mut found = Findings::default();
    found.identity.paths = super::paths::Paths::derive(host);
    found
}

/// Records the identity facts behind a plan with this `rootless`, as the
/// identity area would, and decides the plan again. uid stays 0 (a
/// rootless uid 0 is a re-executed podman), so areas reading the uid see
/// what they saw before.
pub fn given_rootless(found: &mut Findings, rootless: bool) {
    found.identity.probed = true;
    found.identity.uid = crate::ids::Uid::ROOT;
    found.identity.userns_configured = rootless;
    found.identity.sys_admin = None;
    found.identity.rootless = rootless;
    found.plan = crate::decide::plan(&found.observed());
}

/// Records `BUILDAH_ISOLATION=isolation` as the mounts area would, and
/// decides the plan again.
pub fn given_isolation(found: &mut Findings, isolation: &str) {
    found.mounts.probed = true;
    found.mounts.isolation_env = Some(isolation.to_string());
    found.mounts.isolation = isolation.to_string();
    found.plan = crate::decide::plan(&found.observed());
}

impl Findings {
    /// The remedy text of check `id`; panics (a failing test) when the
    /// check or its fix is missing.
    pub fn fix_text(&self, id: &str) -> &str {
        let check = self.check(id).unwrap_or_else(|| panic!("no check {id}"));
        let fix = check
            .fix
            .as_ref()
            .unwrap_or_else(|| panic!("{id} has no fix"));
        &fix.text
    }
}

/// Every fixture environment (tests/fixtures/envs and captured), sorted.
pub fn env_fixture_dirs() -> Vec<std::path::PathBuf> {
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut dirs = Vec::new();
    for sub in ["envs", "captured"] {
        let Ok(rd) = std::fs::read_dir(base.join(sub)) else {
            continue;
        };
        for e in rd.flatten() {
            if e.path().join("host.json").is_file() {
                dirs.push(e.path());
            }
        }
    }
    dirs.sort();
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_host_reads_what_was_written() {
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/home/podman")
            .file("/etc/passwd", "podman:x:1000:1000::/home/podman:/bin/sh\n")
            .stat("/home/podman", "dir", 0o700, 1000, 1000)
            .access("/etc/passwd", Access::Write, "EACCES")
            .probe(
                &Probe::UserNs,
                ProbeResult::failure("unshare", Some("EPERM".into()), ""),
            )
            .host();
        assert_eq!(host.uid(), 1000);
        assert_eq!(host.env("HOME"), Some("/home/podman"));
        assert!(host.read("/etc/passwd").unwrap().starts_with("podman:"));
        assert_eq!(host.stat("/home/podman").unwrap().uid, 1000);
        assert!(host.access("/etc/passwd", Access::Write).is_err());
        let r = host.probe(&Probe::UserNs);
        assert!(r.ran && !r.ok);
        assert_eq!(r.errno.as_deref(), Some("EPERM"));
    }
}
