//! Recording a real environment as a fixture tree: every file the doctor
//! read, every live answer, and the environment variables it consulted
//! (only those: CI tokens live in the environment).
//!
//! `capture` probes, stages its fixes and probes again, so the same key can
//! be answered twice: the first answer (the environment as found) is kept.
//! An environment variable the fix loop has already set (`Host::set_env`)
//! must not replace the value the job really had.

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
    pub env: EnvRecord,
    /// The environment the doctor started with (never written out: only
    /// the variables the fixes changed go into command keys).
    start_env: BTreeMap<String, String>,
    files: BTreeMap<String, Result<String, String>>,
    tables: BTreeMap<&'static str, Map<String, Value>>,
}

/// The environment variables consulted, with the value first seen.
#[derive(Debug, Default)]
pub struct EnvRecord(BTreeMap<String, Option<String>>);

impl EnvRecord {
    /// Records a variable's value unless it was recorded before.
    pub fn insert(&mut self, key: String, value: Option<String>) {
        self.0.entry(key).or_insert(value);
    }
}

fn err_or<T>(result: &io::Result<T>, ok: impl FnOnce(&T) -> Value) -> Value {
    match result {
        Ok(v) => ok(v),
        Err(e) => Value::String(io_error_name(e)),
    }
}

/// The variables `now` sets differently from `start` (`K=V`, or `K=` when
/// unset), sorted; credentials redacted.
pub(super) fn env_diff(
    start: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut diff: Vec<String> = now
        .iter()
        .filter(|(k, v)| start.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}={}", redact(k, v)))
        .collect();
    diff.extend(
        start
            .keys()
            .filter(|k| !now.contains_key(*k))
            .map(|k| format!("{k}=")),
    );
    diff.sort();
    diff
}

/// The `commands` key of a run: the argv, plus the changed variables.
pub(super) fn command_key(argv: &[&str], diff: &[String]) -> String {
    if diff.is_empty() {
        argv.join(" ")
    } else {
        format!("{} [{}]", argv.join(" "), diff.join(" "))
    }
}

/// A value as a fixture may hold it: secrets by name are replaced whole,
/// and credentials in a URL (`tcp://user:pass@host`, proxies) are cut out.
fn redact(key: &str, value: &str) -> String {
    if is_secret(key) {
        return "<redacted>".to_string();
    }
    // Credentials end at the LAST '@': a password may hold '/' or '@'
    // (RFC 3986 wants them encoded; people paste them raw). Cutting too
    // much of a URL whose path holds an '@' is the safe mistake.
    let (scheme, rest) = match value.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        // `user:pass@proxy:3128` without a scheme is common in *_proxy.
        None => (None, value),
    };
    match rest.rfind('@') {
        Some(at) if scheme.is_some() || rest[..at].contains(':') => match scheme {
            Some(scheme) => format!("{scheme}://<redacted>{}", &rest[at..]),
            None => format!("<redacted>{}", &rest[at..]),
        },
        _ => value.to_string(),
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
    /// A recording of a process that started with this environment.
    pub fn starting_with(start_env: BTreeMap<String, String>) -> Capture {
        Capture {
            start_env,
            ..Capture::default()
        }
    }

    fn put(&mut self, table: &'static str, key: String, value: Value) {
        self.tables
            .entry(table)
            .or_default()
            .entry(key)
            .or_insert(value);
    }

    pub(super) fn file(&mut self, path: &str, result: &io::Result<String>) {
        self.files
            .entry(path.to_string())
            .or_insert_with(|| result.as_ref().cloned().map_err(io_error_name));
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
                   "free_inodes": s.free_inodes,
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

    /// A command's answer, keyed by its argv, plus the variables the fixes
    /// changed when it ran (`podman --version [HOME=/tmp/podrun-1000/home]`):
    /// podman 5 cannot even print its version with `HOME=/`.
    pub(super) fn command(
        &mut self,
        argv: &[&str],
        env: &BTreeMap<String, String>,
        result: &io::Result<CmdOutput>,
    ) {
        let v = err_or(
            result,
            |o| json!({"status": o.status, "stdout": o.stdout, "stderr": o.stderr}),
        );
        let diff = env_diff(&self.start_env, env);
        let key = command_key(argv, &diff);
        self.put("commands", key, v);
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
            .0
            .iter()
            .filter_map(|(k, v)| {
                let v = v.as_ref()?;
                Some((k.clone(), json!(redact(k, v))))
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_first_answer_is_the_environment_as_found() {
        let mut c = Capture::default();
        // The fix loop sets a variable, then probes again: the job's own value stays.
        c.env.insert("PODMAN_IGNORE_CGROUPSV1_WARNING".into(), None);
        c.env
            .insert("PODMAN_IGNORE_CGROUPSV1_WARNING".into(), Some("1".into()));
        c.env
            .insert("CI_JOB_TOKEN".into(), Some("glcbt-123".into()));
        let start: BTreeMap<String, String> = [("HOME".to_string(), "/".to_string())].into();
        c.start_env = start.clone();
        c.command(
            &["podman", "--version"],
            &start,
            &Ok(CmdOutput {
                status: Some(125),
                stdout: String::new(),
                stderr: "Error: stat /.config: no such file or directory\n".into(),
            }),
        );
        c.command(
            &["podman", "--version"],
            &start,
            &Ok(CmdOutput {
                status: Some(0),
                stdout: "podman version 5.4.2\n".into(),
                stderr: String::new(),
            }),
        );
        // Run again once a fix has set HOME: a separate answer.
        let fixed: BTreeMap<String, String> =
            [("HOME".to_string(), "/tmp/podrun-1000/home".to_string())].into();
        c.command(
            &["podman", "--version"],
            &fixed,
            &Ok(CmdOutput {
                status: Some(0),
                stdout: "podman version 5.4.2\n".into(),
                stderr: String::new(),
            }),
        );
        c.file("/etc/subuid", &Ok("podman:1:999\n".into()));
        c.file("/etc/subuid", &Ok("changed\n".into()));
        let dir = tempfile::tempdir().unwrap();
        c.write_to(dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join("host.json")).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["env"], json!({"CI_JOB_TOKEN": "<redacted>"}));
        assert_eq!(
            redact("DOCKER_HOST", "tcp://ci:hunter2@docker:2376/x"),
            "tcp://<redacted>@docker:2376/x"
        );
        // Issue 9 item 7: a '/' or '@' in the password kept it in the fixture.
        for (raw, kept) in [
            ("tcp://ciuser:pa/ss@docker", "tcp://<redacted>@docker"),
            (
                "tcp://ciuser:p@ss@docker:2376/x",
                "tcp://<redacted>@docker:2376/x",
            ),
            (
                "http://u:a/b@c@proxy:3128/",
                "http://<redacted>@proxy:3128/",
            ),
            ("ciuser:s3cr/t@proxy:3128", "<redacted>@proxy:3128"),
            ("git@gitlab.com", "git@gitlab.com"),
        ] {
            assert_eq!(redact("HTTPS_PROXY", raw), kept, "{raw}");
        }
        assert_eq!(
            redact("DOCKER_HOST", "unix:///run/docker.sock"),
            "unix:///run/docker.sock"
        );
        assert_eq!(redact("HOME", "/home/podman"), "/home/podman");
        assert_eq!(doc["commands"]["podman --version"]["status"], json!(125));
        assert_eq!(
            doc["commands"]["podman --version [HOME=/tmp/podrun-1000/home]"]["status"],
            json!(0)
        );
        assert!(
            !text.contains("\"/\""),
            "the starting environment is not written"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("root/etc/subuid")).unwrap(),
            "podman:1:999\n"
        );
    }
}
