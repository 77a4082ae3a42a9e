//! Recording a real environment as a fixture tree: every file the doctor
//! read, every live answer, and the environment variables it consulted
//! (only those: CI tokens live in the environment).

use super::errno::io_error_name;
use super::sys::{Access, CmdOutput, FsStat, Probe, ProbeResult, Stat};
use super::Ids;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

#[derive(Debug, Default)]
pub struct Capture {
    pub ids: Option<Ids>,
    pub env: BTreeMap<String, Option<String>>,
    files: BTreeMap<String, Result<String, String>>,
    tables: BTreeMap<&'static str, Map<String, Value>>,
}

fn err_or<T>(result: &io::Result<T>, ok: impl FnOnce(&T) -> Value) -> Value {
    match result {
        Ok(v) => ok(v),
        Err(e) => Value::String(io_error_name(e)),
    }
}

/// Environment variables whose values are never written into a fixture,
/// even when a probe looked at them.
fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    ["TOKEN", "PASSWORD", "SECRET", "KEY", "AUTH", "CREDENTIAL"]
        .iter()
        .any(|s| k.contains(s))
}

impl Capture {
    fn put(&mut self, table: &'static str, key: String, value: Value) {
        self.tables.entry(table).or_default().insert(key, value);
    }

    pub(super) fn file(&mut self, path: &str, result: &io::Result<String>) {
        self.files.insert(
            path.to_string(),
            result.as_ref().cloned().map_err(io_error_name),
        );
    }

    pub(super) fn dir(&mut self, path: &str, result: &io::Result<Vec<String>>) {
        let v = err_or(result, |names| json!(names));
        self.put("dirs", path.to_string(), v);
    }

    pub(super) fn stat(&mut self, path: &str, result: &io::Result<Stat>) {
        let v = err_or(result, |s| {
            json!({"kind": s.kind.as_str(), "mode": format!("0{:o}", s.mode), "uid": s.uid,
                   "gid": s.gid, "major": s.rdev.0, "minor": s.rdev.1, "size": s.size})
        });
        self.put("stat", path.to_string(), v);
    }

    pub(super) fn statfs(&mut self, path: &str, result: &io::Result<FsStat>) {
        let v = err_or(result, |s| {
            json!({"magic": format!("0x{:x}", s.magic), "free_bytes": s.free_bytes,
                   "readonly": s.readonly, "nosuid": s.nosuid, "noexec": s.noexec})
        });
        self.put("statfs", path.to_string(), v);
    }

    pub(super) fn access(&mut self, path: &str, mode: Access, result: &io::Result<()>) {
        let v = err_or(result, |_| json!("ok"));
        self.put("access", format!("{path} {}", mode.letter()), v);
    }

    pub(super) fn open(&mut self, path: &str, result: &io::Result<()>) {
        let v = err_or(result, |_| json!("ok"));
        self.put("open", path.to_string(), v);
    }

    pub(super) fn file_caps(&mut self, path: &str, result: &io::Result<Option<Vec<u8>>>) {
        let v = err_or(result, |caps| match caps {
            Some(bytes) => json!(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()),
            None => Value::Null,
        });
        self.put("file_caps", path.to_string(), v);
    }

    pub(super) fn command(&mut self, argv: &[&str], result: &io::Result<CmdOutput>) {
        let v = err_or(
            result,
            |o| json!({"status": o.status, "stdout": o.stdout, "stderr": o.stderr}),
        );
        self.put("commands", argv.join(" "), v);
    }

    pub(super) fn probe(&mut self, probe: &Probe, r: &ProbeResult) {
        let v =
            json!({"ran": r.ran, "ok": r.ok, "step": r.step, "errno": r.errno, "detail": r.detail});
        self.put("probes", probe.key(), v);
    }

    /// Writes `DIR/host.json` and the files under `DIR/root/`.
    pub fn write_to(&self, dir: &Path) -> io::Result<()> {
        let root = dir.join("root");
        std::fs::create_dir_all(&root)?;
        let mut read_errors = Map::new();
        for (path, content) in &self.files {
            match content {
                Ok(text) => {
                    let target = root.join(path.trim_start_matches('/'));
                    if let Some(parent) = target.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    std::fs::write(target, text)?;
                }
                Err(e) if e == "ENOENT" => {}
                Err(e) => {
                    read_errors.insert(path.clone(), json!(e));
                }
            }
        }
        let mut doc = Map::new();
        if let Some(ids) = &self.ids {
            doc.insert(
                "ids".into(),
                json!({"uid": ids.uid, "gid": ids.gid, "groups": ids.groups}),
            );
        }
        let env: Map<String, Value> = self
            .env
            .iter()
            .filter_map(|(k, v)| {
                let v = v.as_ref()?;
                let value = if is_secret(k) {
                    "<redacted>"
                } else {
                    v.as_str()
                };
                Some((k.clone(), json!(value)))
            })
            .collect();
        doc.insert("env".into(), Value::Object(env));
        doc.insert("read_errors".into(), Value::Object(read_errors));
        for (table, map) in &self.tables {
            doc.insert((*table).to_string(), Value::Object(map.clone()));
        }
        let text = serde_json::to_string_pretty(&Value::Object(doc)).map_err(io::Error::other)?;
        std::fs::write(dir.join("host.json"), text + "\n")
    }
}
