//! The fix engine: applies the job-side actions that checks carry, probes
//! again, and repeats until nothing new is needed. Fixes are idempotent
//! (a second run changes nothing), never rewrite a file this tool did not
//! create, and every change is recorded for the report.

use crate::host::Host;
use crate::model::{Action, Check, Status, OWNED_MARKER};
use crate::probes::{probe_all, Findings};
use std::collections::BTreeMap;

/// One change on disk made by this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    /// `created`, `appended` or `replaced`.
    pub action: &'static str,
    pub check: String,
}

/// What the fixing modes did.
#[derive(Debug, Default)]
pub struct FixRun {
    /// Variables the job must export (set in the host for later probes).
    pub env: BTreeMap<String, String>,
    pub changes: Vec<Change>,
    /// Commands to run after the fixes (`podman system migrate`).
    pub commands: Vec<Vec<String>>,
    /// Fixes that could not be made, with the reason (file, value, errno).
    pub problems: Vec<String>,
    /// Ids of the checks whose job fix was applied.
    pub applied: Vec<String>,
}

/// Probes, applies fixes and probes again, at most a few rounds: a fix may
/// reveal the next problem (a new HOME on an overlay fs needs a storage fix).
/// Returns the findings as found and as left.
///
/// Environment fixes are always set in `host` (only there: this process's
/// own environment is untouched) so that the probes that follow see them;
/// the mode decides whether they reach the job (`env`, `exec`) or become
/// advice (bare `fix`).
pub fn fix_loop(host: &mut Host, skip: &[String]) -> (Findings, Findings, FixRun) {
    let before = probe_all(host, skip);
    let mut run = FixRun::default();
    let mut current = before.clone();
    for _round in 0..4 {
        let mut progressed = false;
        for check in &current.checks {
            if !wants_fix(check) || run.applied.iter().any(|id| id == check.id) {
                continue;
            }
            let Some(fix) = &check.fix else { continue };
            if apply_all(host, check.id, &fix.actions, &mut run) {
                run.applied.push(check.id.to_string());
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
        current = probe_all(host, skip);
    }
    run.problems.dedup();
    (before, current, run)
}

fn wants_fix(check: &Check) -> bool {
    matches!(check.status, Status::Error | Status::Warn) && check.job_can_fix()
}

/// Applies one check's actions; true when all of them took effect (or were
/// already in place).
fn apply_all(host: &mut Host, id: &str, actions: &[Action], run: &mut FixRun) -> bool {
    let mut all = true;
    for action in actions {
        if let Err(problem) = apply(host, id, action, run) {
            run.problems.push(problem);
            all = false;
        }
    }
    all
}

fn apply(host: &mut Host, id: &str, action: &Action, run: &mut FixRun) -> Result<(), String> {
    match action {
        Action::SetEnv { key, value } => {
            host.set_env(key, Some(value));
            run.env.insert(key.clone(), value.clone());
            Ok(())
        }
        Action::CreateDir { path, mode } => {
            if host.is_dir(path) {
                return Ok(());
            }
            host.create_dir(path, *mode)
                .map_err(|e| format!("{id}: cannot create directory {path}: {e}"))?;
            run.changes.push(Change {
                path: path.clone(),
                action: "created",
                check: id.into(),
            });
            Ok(())
        }
        Action::WriteFile {
            path,
            contents,
            mode,
        } => {
            let contents = if contents.starts_with(OWNED_MARKER) {
                contents.clone()
            } else {
                format!("{OWNED_MARKER}\n{contents}")
            };
            let existing = host.read(path).ok();
            let verb = match &existing {
                Some(old) if *old == contents => return Ok(()),
                Some(old) if !old.starts_with(OWNED_MARKER) => {
                    return Err(format!(
                    "{id}: {path} exists and was not written by podrun-doctor; not rewriting it. \
                         Wanted content:\n{contents}"
                ))
                }
                Some(_) => "replaced",
                None => "created",
            };
            if let Some(parent) = std::path::Path::new(path).parent() {
                let parent = parent.to_string_lossy();
                if !host.is_dir(&parent) {
                    host.create_dir(&parent, 0o755)
                        .map_err(|e| format!("{id}: cannot create directory {parent}: {e}"))?;
                }
            }
            host.write_atomic(path, &contents, *mode)
                .map_err(|e| format!("{id}: cannot write {path}: {e}"))?;
            run.changes.push(Change {
                path: path.clone(),
                action: verb,
                check: id.into(),
            });
            Ok(())
        }
        Action::AppendLine { path, line } => {
            let old = host
                .read(path)
                .map_err(|e| format!("{id}: cannot read {path}: {e}"))?;
            if old.lines().any(|l| l == line) {
                return Ok(());
            }
            let text = if old.is_empty() || old.ends_with('\n') {
                format!("{line}\n")
            } else {
                format!("\n{line}\n")
            };
            host.append(path, &text)
                .map_err(|e| format!("{id}: cannot append to {path}: {e}"))?;
            run.changes.push(Change {
                path: path.clone(),
                action: "appended",
                check: id.into(),
            });
            Ok(())
        }
        Action::Run { argv } => {
            if !run.commands.contains(argv) {
                run.commands.push(argv.clone());
            }
            Ok(())
        }
    }
}

/// Runs the commands the fixes asked for (after the files are in place).
pub fn run_commands(host: &Host, run: &mut FixRun) {
    for argv in run.commands.clone() {
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        match host.run(&refs) {
            Ok(out) if out.status == Some(0) => {}
            Ok(out) => run.problems.push(format!(
                "`{}` exited with {:?}: {}",
                argv.join(" "),
                out.status,
                out.stderr.trim()
            )),
            Err(e) => run
                .problems
                .push(format!("cannot run `{}`: {e}", argv.join(" "))),
        }
    }
}
