//! Fixture trees: `DIR/root/` holds the files, `DIR/host.json` the ids, the
//! environment and every live answer (see `capture.rs`, which writes them).
//!
//! Answers missing from `host.json` fall back to what the tree itself says,
//! so a hand-made fixture needs only the entries that matter to its test.

use super::errno::error_from_name;
use super::real::read_dir_sorted;
use super::stat::stat_of;
use super::sys::{Access, CmdOutput, FileKind, FsStat, Probe, ProbeResult, Stat, Sys};
use super::Ids;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

pub struct FixtureSys {
    doc: Map<String, Value>,
    /// `host.json` "env": what the fixes' variables are compared with.
    start_env: BTreeMap<String, String>,
}

type Loaded = (Ids, BTreeMap<String, String>, FixtureSys);

pub(super) fn load(dir: &Path) -> Result<Loaded, String> {
    let file = dir.join("host.json");
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let doc: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", file.display()))?;
    let Value::Object(doc) = doc else {
        return Err(format!("{}: expected a JSON object", file.display()));
    };
    let num = |v: Option<&Value>| v.and_then(Value::as_u64).map(|n| n as u32);
    let ids_doc = doc.get("ids");
    let ids = Ids {
        uid: num(ids_doc.and_then(|i| i.get("uid"))).unwrap_or(0),
        gid: num(ids_doc.and_then(|i| i.get("gid"))).unwrap_or(0),
        groups: ids_doc
            .and_then(|i| i.get("groups"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|g| num(Some(g))).collect())
            .unwrap_or_default(),
    };
    let env: BTreeMap<String, String> = doc
        .get("env")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let start_env = env.clone();
    Ok((ids, env, FixtureSys { doc, start_env }))
}

fn full(root: &Path, path: &str) -> std::path::PathBuf {
    root.join(path.trim_start_matches('/'))
}

fn parse_num(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => {
            let s = s.trim();
            if let Some(hex) = s.strip_prefix("0x") {
                u64::from_str_radix(hex, 16).ok()
            } else if let Some(oct) = s.strip_prefix('0').filter(|o| !o.is_empty()) {
                u64::from_str_radix(oct, 8).ok()
            } else {
                s.parse().ok()
            }
        }
        _ => None,
    }
}

/// A `stat` table entry: `{"kind": "dir", "mode": "0755", "uid": 0, ...}`.
fn stat_from(v: &Value) -> Stat {
    let get = |k: &str| v.get(k).and_then(parse_num).unwrap_or(0);
    Stat {
        kind: v
            .get("kind")
            .and_then(Value::as_str)
            .and_then(FileKind::parse)
            .unwrap_or(FileKind::File),
        mode: get("mode") as u32,
        uid: get("uid") as u32,
        gid: get("gid") as u32,
        rdev: (get("major") as u32, get("minor") as u32),
        size: get("size"),
    }
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect()
}

impl FixtureSys {
    /// The entry for `path` in table `table`: `Some(Ok(value))`, or
    /// `Some(Err(io error))` when the fixture records an errno string.
    fn entry(&self, table: &str, key: &str) -> Option<io::Result<&Value>> {
        let v = self.doc.get(table)?.get(key)?;
        Some(match v {
            Value::String(s) if s.starts_with('E') && s != "ok" => Err(error_from_name(s)),
            other => Ok(other),
        })
    }

    /// [`Self::entry`], except that a recorded `ENOENT` no longer holds once
    /// the path exists in the tree: only a write made after the capture (a
    /// fix applied to a copy of the fixture) can have put it there.
    fn entry_now(
        &self,
        root: &Path,
        table: &str,
        key: &str,
        path: &str,
    ) -> Option<io::Result<&Value>> {
        match self.entry(table, key) {
            Some(Err(e)) if self.created(root, &e, path) => None,
            other => other,
        }
    }

    fn created(&self, root: &Path, recorded: &io::Error, path: &str) -> bool {
        recorded.raw_os_error() == Some(nix::libc::ENOENT) && full(root, path).exists()
    }

    /// The job's own ids (`host.json` "ids"): the owner of what it created.
    fn job_ids(&self) -> (u32, u32) {
        let id = |k: &str| {
            self.doc
                .get("ids")
                .and_then(|i| i.get(k))
                .and_then(parse_num)
                .unwrap_or(0) as u32
        };
        (id("uid"), id("gid"))
    }
}

impl Sys for FixtureSys {
    fn read(&self, root: &Path, path: &str) -> io::Result<Vec<u8>> {
        if let Some(Err(e)) = self.entry("read_errors", path) {
            return Err(e);
        }
        super::real::read_bounded(&full(root, path), super::real::READ_LIMIT)
    }

    fn read_head(&self, root: &Path, path: &str, limit: u64) -> io::Result<Vec<u8>> {
        if let Some(Err(e)) = self.entry("read_errors", path) {
            return Err(e);
        }
        super::sys::read_prefix(&full(root, path), limit)
    }

    fn read_dir(&self, root: &Path, path: &str) -> io::Result<Vec<String>> {
        match self.entry_now(root, "dirs", path, path) {
            Some(Err(e)) => Err(e),
            Some(Ok(Value::Array(names))) => {
                let mut names: Vec<String> = names
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_string))
                    .collect();
                // Plus what was written into the tree since.
                names.extend(read_dir_sorted(&full(root, path)).unwrap_or_default());
                names.sort();
                names.dedup();
                Ok(names)
            }
            _ => read_dir_sorted(&full(root, path)),
        }
    }

    fn stat(&self, root: &Path, path: &str) -> io::Result<Stat> {
        if let Some(Err(e)) = self.entry("stat", path) {
            if self.created(root, &e, path) {
                let (uid, gid) = self.job_ids();
                return std::fs::metadata(full(root, path)).map(|m| Stat {
                    uid,
                    gid,
                    ..stat_of(&m)
                });
            }
        }
        match self.entry("stat", path) {
            Some(Err(e)) => Err(e),
            Some(Ok(v)) => Ok(stat_from(v)),
            // Ownership in a checked-out tree means nothing: default to root,
            // or to host.json's `tree_owner` ({"uid": N, "gid": N}), so that a
            // fixture can stand for a job that owns what it creates.
            None => std::fs::metadata(full(root, path)).map(|m| {
                let owner = |k: &str| {
                    self.doc
                        .get("tree_owner")
                        .and_then(|o| o.get(k))
                        .and_then(parse_num)
                        .unwrap_or(0) as u32
                };
                Stat {
                    uid: owner("uid"),
                    gid: owner("gid"),
                    ..stat_of(&m)
                }
            }),
        }
    }

    fn statfs(&self, root: &Path, path: &str) -> io::Result<FsStat> {
        if let Some(Err(e)) = self.entry("statfs", path) {
            if self.created(root, &e, path) {
                // A directory created since lives on its parent's filesystem.
                let mut p = Path::new(path);
                while let Some(parent) = p.parent() {
                    let parent_str = parent.to_string_lossy();
                    if let Some(Ok(_)) = self.entry("statfs", &parent_str) {
                        return self.statfs(root, &parent_str);
                    }
                    p = parent;
                }
            }
        }
        match self.entry("statfs", path) {
            Some(Err(e)) => Err(e),
            Some(Ok(v)) => {
                let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
                Ok(FsStat {
                    magic: v.get("magic").and_then(parse_num).unwrap_or(0),
                    free_bytes: v.get("free_bytes").and_then(parse_num).unwrap_or(0),
                    free_inodes: v.get("free_inodes").and_then(parse_num),
                    readonly: flag("readonly"),
                    nosuid: flag("nosuid"),
                    noexec: flag("noexec"),
                })
            }
            None => Err(io::Error::from_raw_os_error(nix::libc::ENOSYS)),
        }
    }

    fn access(&self, root: &Path, path: &str, mode: Access) -> io::Result<()> {
        match self.entry_now(root, "access", &format!("{path} {}", mode.letter()), path) {
            Some(Err(e)) => Err(e),
            Some(Ok(_)) => Ok(()),
            None => std::fs::metadata(full(root, path)).map(drop),
        }
    }

    fn open_rw(&self, root: &Path, path: &str) -> io::Result<()> {
        match self.entry_now(root, "open", path, path) {
            Some(Err(e)) => Err(e),
            Some(Ok(_)) => Ok(()),
            None => std::fs::metadata(full(root, path)).map(drop),
        }
    }

    fn file_caps(&self, _root: &Path, path: &str) -> io::Result<Option<Vec<u8>>> {
        match self.entry("file_caps", path) {
            Some(Err(e)) => Err(e),
            Some(Ok(Value::String(hex))) => Ok(hex_decode(hex)),
            _ => Ok(None),
        }
    }

    fn run(&self, argv: &[&str], env: &BTreeMap<String, String>) -> io::Result<CmdOutput> {
        // The answer recorded with the variables the fixes changed, if the
        // capture saw the command run so; else the one as found.
        let diff = super::capture::env_diff(&self.start_env, env);
        let keyed = super::capture::command_key(argv, &diff);
        let entry = self
            .entry("commands", &keyed)
            .or_else(|| self.entry("commands", &argv.join(" ")));
        match entry {
            Some(Err(e)) => Err(e),
            Some(Ok(v)) => Ok(CmdOutput {
                status: v.get("status").and_then(Value::as_i64).map(|s| s as i32),
                stdout: v
                    .get("stdout")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                stderr: v
                    .get("stderr")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            }),
            None => Err(io::Error::from_raw_os_error(nix::libc::ENOENT)),
        }
    }

    fn lstat(&self, root: &Path, path: &str) -> io::Result<Stat> {
        // An `lstat` table describes links the tree cannot hold; else a
        // link in the tree is one, and anything else reads as `stat` does.
        if let Some(entry) = self.entry("lstat", path) {
            return entry.map(stat_from);
        }
        match std::fs::symlink_metadata(full(root, path)) {
            Ok(m) if m.file_type().is_symlink() => Ok(stat_of(&m)),
            _ => self.stat(root, path),
        }
    }

    fn read_checked(&self, root: &Path, path: &str) -> super::checked::Checked {
        use super::checked::{Found, ReadProblem};
        // What host.json says stands at the path wins over the tree: a
        // checked-out fixture cannot hold a FIFO or a device.
        if let Some(Err(e)) = self.entry("read_errors", path) {
            return Err(ReadProblem::from_io(path, &e));
        }
        if let Some(Ok(v)) = self.entry("stat", path) {
            let st = stat_from(v);
            if st.kind != FileKind::File {
                return Err(ReadProblem::new(path, Found::NotRegular(st.kind)));
            }
            if st.size > super::checked::CHECKED_LIMIT {
                return Err(ReadProblem::new(path, Found::TooBig));
            }
        }
        super::checked::read_checked(root, path)
    }

    fn probe(&self, _root: &Path, probe: &Probe) -> ProbeResult {
        let key = probe.key();
        let Some(v) = self.doc.get("probes").and_then(|p| p.get(&key)) else {
            return ProbeResult::not_run("no answer in the fixture");
        };
        let text = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        ProbeResult {
            ran: v.get("ran").and_then(Value::as_bool).unwrap_or(true),
            ok: v.get("ok").and_then(Value::as_bool).unwrap_or(false),
            step: text("step"),
            errno: v.get("errno").and_then(Value::as_str).map(str::to_string),
            detail: text("detail"),
        }
    }
}
