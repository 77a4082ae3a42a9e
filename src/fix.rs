//! The fix engine: applies the job-side actions that checks carry, probes
//! again, and repeats until nothing new is needed. Fixes are idempotent
//! (a second run changes nothing), never rewrite a file this tool did not
//! create, and every change is recorded for the report.

use crate::host::{FileKind, Host};
use crate::model::{Action, Check, Status, OWNED_MARKER};
use crate::probes::pass::Earlier;
use crate::probes::{probe_pass, Findings};
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
    /// Variables the job must export (set in the host for later probes);
    /// `None`: the job must unset it.
    pub env: BTreeMap<String, Option<String>>,
    pub changes: Vec<Change>,
    /// Commands to run after the fixes (`podman system migrate`).
    pub commands: Vec<Vec<String>>,
    /// Fixes that could not be made, with the reason (file, value, errno).
    pub problems: Vec<String>,
    /// Ids of the checks whose job fix was applied.
    pub applied: Vec<String>,
    /// issue 10: areas the later passes took over from the pass before
    /// instead of running them again (not reported; tests and profiles).
    pub areas_taken_over: usize,
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
    let (before, mut pass) = probe_pass(host, skip, None);
    let mut run = FixRun::default();
    // None: the findings as they were before any fix.
    let mut current: Option<Findings> = None;
    host.take_changes();
    for _round in 0..4 {
        let mut progressed = false;
        for check in &current.as_ref().unwrap_or(&before).checks {
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
        // issue 10: only from the first area the round's fixes can reach.
        let changes = host.take_changes();
        let found = current.take().unwrap_or_else(|| before.clone());
        let earlier = Earlier::new(found, std::mem::take(&mut pass), &changes);
        let (found, next) = probe_pass(host, skip, Some(earlier));
        (current, pass) = (Some(found), next);
        run.areas_taken_over += pass.taken_over();
    }
    let current = current.unwrap_or_else(|| before.clone());
    // The same refusal comes back every round: list it once.
    let mut seen = std::collections::BTreeSet::new();
    run.problems.retain(|p| seen.insert(p.clone()));
    (before, current, run)
}

fn wants_fix(check: &Check) -> bool {
    matches!(check.status, Status::Error | Status::Warn) && check.job_can_fix()
}

/// Applies one check's actions in order; true when all of them took effect
/// (or were already in place). The first that fails ends the check's fix:
/// the later ones rest on it (an exported `CONTAINERS_CONF` names the file
/// the failed write was to make, maybe through someone else's symlink).
fn apply_all(host: &mut Host, id: &str, actions: &[Action], run: &mut FixRun) -> bool {
    for action in actions {
        if let Err(problem) = apply(host, id, action, run) {
            run.problems.push(problem);
            return false;
        }
    }
    true
}

/// One action, by kind: each kind has its own function below.
fn apply(host: &mut Host, id: &str, action: &Action, run: &mut FixRun) -> Result<(), String> {
    match action {
        Action::SetEnv { key, value } => {
            set_env(host, key, value, run);
            Ok(())
        }
        Action::UnsetEnv { key } => {
            unset_env(host, key, run);
            Ok(())
        }
        Action::CreateDir { path, mode } => create_dir(host, id, path, *mode, run),
        Action::WriteFile {
            path,
            contents,
            mode,
        } => write_file(host, id, path, contents, *mode, run),
        Action::MergeConf { path, toml } => merge_conf(host, id, path, toml, run),
        Action::AppendLine { path, line } => append_line(host, id, path, line, run),
        Action::Run { argv } => {
            if !run.commands.contains(argv) {
                run.commands.push(argv.clone());
            }
            Ok(())
        }
    }
}

fn changed(run: &mut FixRun, path: &str, action: &'static str, id: &str) {
    run.changes.push(Change {
        path: path.to_string(),
        action,
        check: id.into(),
    });
}

fn set_env(host: &mut Host, key: &str, value: &str, run: &mut FixRun) {
    host.set_env(key, Some(value));
    run.env.insert(key.to_string(), Some(value.to_string()));
}

/// Removed for later probes too, so they judge the environment the job
/// will have.
fn unset_env(host: &mut Host, key: &str, run: &mut FixRun) {
    host.set_env(key, None);
    run.env.insert(key.to_string(), None);
}

/// A directory of the job's own. What exists is judged without following a
/// link: a symlink planted where the directory belongs is never used.
fn create_dir(
    host: &Host,
    id: &str,
    path: &str,
    mode: u32,
    run: &mut FixRun,
) -> Result<(), String> {
    if let Ok(existing) = host.lstat(path) {
        if existing.kind == FileKind::Symlink {
            return Err(format!(
                "{id}: {path} is a symbolic link, not a directory: not following it; \
                 remove it (someone else may have planted it) and run again"
            ));
        }
        if existing.kind != FileKind::Dir {
            return Err(format!("{id}: {path} exists and is not a directory"));
        }
        // A private directory someone else made first (a race in a
        // shared /tmp) is not the job's own: never use it.
        if mode & 0o077 == 0 && existing.uid != host.uid() {
            return Err(format!(
                "{id}: {path} exists but belongs to uid {}, not to uid {}: not using it; \
                 remove it, or set TMPDIR to a directory of the job's own",
                existing.uid,
                host.uid()
            ));
        }
    }
    let made = host
        .create_dir(path, mode)
        .map_err(|e| format!("{id}: cannot create directory {path}: {e}"))?;
    if made {
        changed(run, path, "created", id);
    }
    Ok(())
}

fn write_file(
    host: &Host,
    id: &str,
    path: &str,
    contents: &str,
    mode: u32,
    run: &mut FixRun,
) -> Result<(), String> {
    // JSON has no comments: a JSON file goes without the marker, and so is
    // never replaced later (owned_existing refuses a file without it).
    let contents = if contents.starts_with(OWNED_MARKER) || path.ends_with(".json") {
        contents.to_string()
    } else {
        format!("{OWNED_MARKER}\n{contents}")
    };
    let wanted = format!("Wanted content:\n{contents}");
    let existing = owned_existing(host, id, path, &wanted)?;
    write_owned(
        host,
        id,
        path,
        existing.as_deref(),
        &contents,
        mode,
        0o755,
        run,
    )
}

/// Settings merged into a config file this tool owns: its other keys kept.
fn merge_conf(
    host: &Host,
    id: &str,
    path: &str,
    toml: &str,
    run: &mut FixRun,
) -> Result<(), String> {
    let wanted = crate::formats::toml::parse(toml)
        .map_err(|e| format!("{id}: the settings for {path} do not parse ({e})"))?;
    let existing = owned_existing(host, id, path, &format!("Wanted settings:\n{toml}"))?;
    let mut settings = BTreeMap::new();
    // Our own file that no longer parses is rewritten from scratch.
    if let Some(Ok(doc)) = existing.as_deref().map(crate::formats::toml::parse) {
        settings.extend(doc.entries.into_iter().map(|(k, e)| (k, e.value)));
    }
    settings.extend(wanted.entries.into_iter().map(|(k, e)| (k, e.value)));
    let body = crate::formats::toml::render_settings(settings.iter().map(|(k, v)| (k.as_str(), v)))
        .ok_or_else(|| format!("{id}: cannot write the settings for {path} back as TOML"))?;
    let contents = format!("{OWNED_MARKER}\n{body}");
    write_owned(
        host,
        id,
        path,
        existing.as_deref(),
        &contents,
        0o644,
        0o700,
        run,
    )
}

/// The current content of a file the fixes want to own: `None` when there
/// is none; an error when it is someone else's (no marker) or cannot be
/// read without following a link.
fn owned_existing(
    host: &Host,
    id: &str,
    path: &str,
    wanted: &str,
) -> Result<Option<String>, String> {
    let existing = host
        .read_no_follow(path)
        .map_err(|e| format!("{id}: cannot check {path} before writing it: {e}"))?;
    match existing {
        Some(old) if !old.starts_with(OWNED_MARKER) => Err(format!(
            "{id}: {path} exists and was not written by podrun-doctor; not rewriting it. {wanted}"
        )),
        other => Ok(other),
    }
}

/// The one writer of files this tool owns: the parent made if missing (no
/// symlink followed, no foreign directory entered), the file replaced
/// atomically, its mode never widened, and the change recorded once.
#[allow(clippy::too_many_arguments)]
fn write_owned(
    host: &Host,
    id: &str,
    path: &str,
    existing: Option<&str>,
    contents: &str,
    mode: u32,
    parent_mode: u32,
    run: &mut FixRun,
) -> Result<(), String> {
    let verb = match existing {
        Some(old) if old == contents => return Ok(()),
        Some(_) => "replaced",
        None => "created",
    };
    if let Some(parent) = std::path::Path::new(path).parent() {
        let parent = parent.to_string_lossy();
        host.create_dir(&parent, parent_mode)
            .map_err(|e| format!("{id}: cannot create directory {parent}: {e}"))?;
    }
    match host.replace_checked(path, existing, contents, mode) {
        // Another run wrote exactly this first: its change, not ours.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!("{id}: cannot write {path}: {e}")),
        Ok(()) => {
            changed(run, path, verb, id);
            Ok(())
        }
    }
}

/// A line for a system file (`/etc/passwd`, sub-id files): validated first,
/// since its fields come from the job's environment (HOME, USER), then
/// added atomically unless already there.
fn append_line(
    host: &Host,
    id: &str,
    path: &str,
    line: &str,
    run: &mut FixRun,
) -> Result<(), String> {
    if let Err(problem) = validate_line(path, line) {
        return Err(format!(
            "{id}: not adding a line to {path}: {problem}; nothing was written. The line is \
             built from the job's environment (HOME, the user name, the uid): give those \
             plain values and run again"
        ));
    }
    let added = host
        .append_line(path, line)
        .map_err(|e| format!("{id}: cannot append to {path}: {e}"))?;
    if added {
        changed(run, path, "appended", id);
    }
    Ok(())
}

/// Why `line` must not go into `path`: a control character anywhere (a
/// newline would start a second record, e.g. a uid-0 account), or, for the
/// colon-separated account files, the wrong number of fields (a `:` inside
/// a value) or a non-numeric id.
fn validate_line(path: &str, line: &str) -> Result<(), String> {
    if let Some(c) = line.chars().find(|c| c.is_control()) {
        return Err(format!(
            "the line {line:?} contains the control character {c:?}"
        ));
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    let (fields, numeric): (usize, &[usize]) = match name {
        "passwd" => (7, &[2, 3]),
        "group" => (4, &[2]),
        "subuid" | "subgid" => (3, &[1, 2]),
        _ => return Ok(()),
    };
    let parts: Vec<&str> = line.split(':').collect();
    if parts.len() != fields {
        return Err(format!(
            "the line {line:?} has {} colon-separated fields where {name} has {fields} \
             (a value contains ':')",
            parts.len()
        ));
    }
    if parts[0].is_empty() {
        return Err(format!("the line {line:?} has an empty name"));
    }
    if let Some(i) = numeric.iter().find(|i| parts[**i].parse::<u32>().is_err()) {
        return Err(format!(
            "field {} of the line {line:?} is {:?}, not a number",
            i + 1,
            parts[*i]
        ));
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn host_in(dir: &std::path::Path) -> Host {
        std::fs::create_dir_all(dir.join("root/etc")).unwrap();
        std::fs::write(dir.join("host.json"), r#"{"ids": {"uid": 0, "gid": 0}}"#).unwrap();
        Host::fixture(dir).unwrap()
    }

    fn write_file(path: &str, contents: &str) -> Action {
        Action::WriteFile {
            path: path.into(),
            contents: contents.into(),
            mode: 0o644,
        }
    }

    #[test]
    fn a_second_run_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut host = host_in(dir.path());
        std::fs::write(dir.path().join("root/etc/subuid"), "root:100000:65536").unwrap();
        let actions = vec![
            Action::CreateDir {
                path: "/work/home".into(),
                mode: 0o700,
            },
            write_file(
                "/work/home/.config/containers/storage.conf",
                "[storage]\ndriver = \"vfs\"\n",
            ),
            Action::AppendLine {
                path: "/etc/subuid".into(),
                line: "podman:1:999".into(),
            },
            Action::SetEnv {
                key: "HOME".into(),
                value: "/work/home".into(),
            },
        ];
        let mut first = FixRun::default();
        assert!(apply_all(&mut host, "t.one", &actions, &mut first));
        let made: Vec<_> = first
            .changes
            .iter()
            .map(|c| (c.action, c.path.as_str()))
            .collect();
        assert_eq!(
            made,
            vec![
                ("created", "/work/home"),
                ("created", "/work/home/.config/containers/storage.conf"),
                ("appended", "/etc/subuid"),
            ]
        );
        // The missing newline at the end of the file is respected.
        let subuid = std::fs::read_to_string(dir.path().join("root/etc/subuid")).unwrap();
        assert_eq!(subuid, "root:100000:65536\npodman:1:999\n");
        let mode = std::fs::metadata(dir.path().join("root/work/home"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        assert_eq!(host.env("HOME"), Some("/work/home"));

        let mut second = FixRun::default();
        assert!(apply_all(&mut host, "t.one", &actions, &mut second));
        assert!(second.changes.is_empty(), "{:?}", second.changes);
    }

    #[test]
    fn a_private_directory_someone_else_made_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("root/tmp/podrun-1000")).unwrap();
        std::fs::write(
            dir.path().join("host.json"),
            r#"{"ids": {"uid": 1000, "gid": 1000},
                "stat": {"/tmp/podrun-1000": {"kind": "dir", "mode": "0777", "uid": 0, "gid": 0}}}"#,
        )
        .unwrap();
        let mut host = Host::fixture(dir.path()).unwrap();
        let mut run = FixRun::default();
        let private = Action::CreateDir {
            path: "/tmp/podrun-1000".into(),
            mode: 0o700,
        };
        assert!(!apply_all(&mut host, "t.dir", &[private], &mut run));
        assert!(
            run.problems[0].contains("belongs to uid 0, not to uid 1000"),
            "{:?}",
            run.problems
        );
        // A shared parent (0755) may well belong to someone else.
        let shared = Action::CreateDir {
            path: "/tmp/podrun-1000".into(),
            mode: 0o755,
        };
        assert!(apply_all(&mut host, "t.dir", &[shared], &mut run));
        assert!(run.changes.is_empty());
    }

    #[test]
    fn a_file_the_tool_did_not_create_is_never_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let mut host = host_in(dir.path());
        let theirs = dir.path().join("root/etc/storage.conf");
        std::fs::write(&theirs, "[storage]\ndriver = \"overlay\"\n").unwrap();
        let mut run = FixRun::default();
        let ok = apply_all(
            &mut host,
            "t.two",
            &[write_file("/etc/storage.conf", "x = 1\n")],
            &mut run,
        );
        assert!(!ok);
        assert!(run.changes.is_empty());
        assert!(run.problems[0]
            .contains("/etc/storage.conf exists and was not written by podrun-doctor"));
        assert_eq!(
            std::fs::read_to_string(&theirs).unwrap(),
            "[storage]\ndriver = \"overlay\"\n"
        );
    }

    #[test]
    fn our_own_file_is_replaced_when_the_wanted_content_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mut host = host_in(dir.path());
        let mut run = FixRun::default();
        assert!(apply_all(
            &mut host,
            "t",
            &[write_file("/etc/a.conf", "a = 1\n")],
            &mut run
        ));
        assert!(apply_all(
            &mut host,
            "t",
            &[write_file("/etc/a.conf", "a = 2\n")],
            &mut run
        ));
        let actions: Vec<_> = run.changes.iter().map(|c| c.action).collect();
        assert_eq!(actions, vec!["created", "replaced"]);
        let text = std::fs::read_to_string(dir.path().join("root/etc/a.conf")).unwrap();
        assert_eq!(text, format!("{OWNED_MARKER}\na = 2\n"));
    }

    #[test]
    fn a_read_only_target_becomes_a_problem_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let mut host = host_in(dir.path());
        let ro = dir.path().join("root/ro");
        std::fs::create_dir_all(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        let mut run = FixRun::default();
        let ok = apply_all(
            &mut host,
            "t.ro",
            &[write_file("/ro/x.conf", "x = 1\n")],
            &mut run,
        );
        // Root ignores directory modes; whoever runs the tests, either the
        // write went through or it is reported with the path.
        if !ok {
            assert!(run.problems[0].contains("/ro/x.conf"), "{:?}", run.problems);
        }
        let missing = apply_all(
            &mut host,
            "t.ro",
            &[Action::AppendLine {
                path: "/etc/absent".into(),
                line: "x".into(),
            }],
            &mut run,
        );
        assert!(!missing);
        assert!(run
            .problems
            .last()
            .unwrap()
            .contains("cannot append to /etc/absent: /etc/absent does not exist"));
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn merge(path: &str, toml: &str) -> Action {
        Action::MergeConf {
            path: path.into(),
            toml: toml.into(),
        }
    }

    #[test]
    fn merged_conf_collects_every_fix_and_a_second_run_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut host = host_in(dir.path());
        let path = "/tmp/podrun-0/containers-override.conf";
        let mut run = FixRun::default();
        assert!(apply_all(
            &mut host,
            "config.cgroup_manager",
            &[merge(path, "[engine]\ncgroup_manager = \"cgroupfs\"\n")],
            &mut run
        ));
        assert!(apply_all(
            &mut host,
            "network.run",
            &[merge(path, "[containers]\nnetns = \"host\"\n")],
            &mut run
        ));
        let actions: Vec<_> = run.changes.iter().map(|c| c.action).collect();
        assert_eq!(actions, vec!["created", "replaced"]);
        let text = host.read(path).unwrap();
        assert!(text.starts_with(OWNED_MARKER));
        let doc = crate::formats::toml::parse(&text).unwrap();
        assert_eq!(doc.str("engine.cgroup_manager"), Some("cgroupfs"));
        assert_eq!(doc.str("containers.netns"), Some("host"));
        // The directory of the job's own is private.
        let mode = std::fs::metadata(dir.path().join("root/tmp/podrun-0"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);

        // Second run: the same fixes again, nothing changes.
        let mut second = FixRun::default();
        assert!(apply_all(
            &mut host,
            "config.cgroup_manager",
            &[merge(path, "[engine]\ncgroup_manager = \"cgroupfs\"\n")],
            &mut second
        ));
        assert!(apply_all(
            &mut host,
            "network.run",
            &[merge(path, "[containers]\nnetns = \"host\"\n")],
            &mut second
        ));
        assert!(second.changes.is_empty(), "{:?}", second.changes);
        assert_eq!(host.read(path).unwrap(), text);
    }

    #[test]
    fn merged_conf_never_touches_a_file_it_did_not_write() {
        let dir = tempfile::tempdir().unwrap();
        let mut host = host_in(dir.path());
        let theirs = dir.path().join("root/etc/containers.conf");
        std::fs::write(&theirs, "[engine]\nruntime = \"crun\"\n").unwrap();
        let mut run = FixRun::default();
        let ok = apply_all(
            &mut host,
            "config.runtime",
            &[merge(
                "/etc/containers.conf",
                "[engine]\nruntime = \"runc\"\n",
            )],
            &mut run,
        );
        assert!(!ok);
        assert!(run.changes.is_empty());
        assert!(run.problems[0].contains("was not written by podrun-doctor"));
        assert_eq!(
            std::fs::read_to_string(&theirs).unwrap(),
            "[engine]\nruntime = \"crun\"\n"
        );
        // Settings that do not parse are a problem too, not a crash.
        let ok = apply_all(
            &mut host,
            "t",
            &[merge("/tmp/x.conf", "[engine\n")],
            &mut run,
        );
        assert!(!ok);
        assert!(run.problems.last().unwrap().contains("do not parse"));
    }

    #[test]
    fn merged_conf_on_a_read_only_place_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let mut host = host_in(dir.path());
        // A regular file where the directory should be: fails for root too.
        std::fs::write(dir.path().join("root/blocked"), "").unwrap();
        let mut run = FixRun::default();
        let ok = apply_all(
            &mut host,
            "t.ro",
            &[merge(
                "/blocked/containers.conf",
                "[engine]\nruntime = \"runc\"\n",
            )],
            &mut run,
        );
        assert!(!ok);
        assert!(run.problems[0].contains("/blocked"), "{:?}", run.problems);
        assert!(run.changes.is_empty());
    }

    #[test]
    fn staged_writes_are_seen_by_later_reads_and_touch_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut host = host_in(dir.path());
        host.stage_writes();
        let mut run = FixRun::default();
        let actions = vec![
            Action::CreateDir {
                path: "/new/dir".into(),
                mode: 0o700,
            },
            write_file("/new/dir/f.conf", "k = 1\n"),
        ];
        assert!(apply_all(&mut host, "t", &actions, &mut run));
        assert!(host.is_dir("/new/dir"));
        assert!(host.read("/new/dir/f.conf").unwrap().ends_with("k = 1\n"));
        assert_eq!(host.read_dir("/new/dir").unwrap(), vec!["f.conf"]);
        assert!(!dir.path().join("root/new").exists());
    }

    /// Issue 9 item 1, the engine's half: in a 0777 /builds another uid
    /// planted `.podrun-0` as a link to a directory of its choosing. The
    /// probes still pick the path (they judge it with a following stat);
    /// the engine refuses to create or write through the link.
    #[test]
    fn a_link_planted_in_a_world_writable_builds_dir_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let mut host = host_in(dir.path());
        let builds = dir.path().join("root/builds");
        std::fs::create_dir(&builds).unwrap();
        std::fs::set_permissions(&builds, std::fs::Permissions::from_mode(0o777)).unwrap();
        let target = dir.path().join("var-tmp");
        std::fs::create_dir(&target).unwrap();
        std::os::unix::fs::symlink(&target, builds.join(".podrun-0")).unwrap();
        let path = "/builds/.podrun-0/containers-override.conf";
        let actions = [
            Action::CreateDir {
                path: "/builds/.podrun-0".into(),
                mode: 0o700,
            },
            merge(path, "[engine]\nruntime = \"crun\"\n"),
        ];
        let mut run = FixRun::default();
        assert!(!apply_all(&mut host, "config.override", &actions, &mut run));
        assert!(run.changes.is_empty(), "{:?}", run.changes);
        assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
        assert!(
            run.problems[0].contains("/builds/.podrun-0 is a symbolic link"),
            "{:?}",
            run.problems
        );
        // The merge rests on the directory: not tried once it failed.
        assert_eq!(run.problems.len(), 1, "{:?}", run.problems);
        // The target directory's mode was not changed through the link.
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_ne!(mode & 0o777, 0o700);
    }

    /// Two `env` runs at once both found the file absent; the one that
    /// wrote second used to list "created" too, so the pair listed one
    /// change twice. Now only the run that wrote it lists it.
    #[test]
    fn a_file_another_run_wrote_first_is_not_listed_again() {
        let dir = tempfile::tempdir().unwrap();
        let host = host_in(dir.path());
        let contents = format!("{OWNED_MARKER}\nx = 1\n");
        let (mut first, mut second) = (FixRun::default(), FixRun::default());
        for run in [&mut first, &mut second] {
            // Both judged the file absent (existing = None) before writing.
            write_owned(
                &host,
                "t",
                "/etc/x.conf",
                None,
                &contents,
                0o644,
                0o755,
                run,
            )
            .unwrap();
        }
        assert_eq!(first.changes.len(), 1);
        assert!(second.changes.is_empty(), "{:?}", second.changes);
        assert!(second.problems.is_empty());
    }

    /// Issue 9, found by tests/races.rs: with uid 1000's link at the job
    /// directory, the write failed but the check's next action still
    /// exported `CONTAINERS_CONF` naming the file through the link, which
    /// its owner could then fill. A failed action now ends the check's fix.
    #[test]
    fn nothing_after_a_failed_write_is_applied() {
        let dir = tempfile::tempdir().unwrap();
        let mut host = host_in(dir.path());
        let target = dir.path().join("elsewhere");
        std::fs::create_dir_all(dir.path().join("root/tmp")).unwrap();
        std::fs::create_dir(&target).unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("root/tmp/podrun-0")).unwrap();
        let path = "/tmp/podrun-0/containers.conf";
        let actions = [
            merge(
                path,
                "[network]\nnetwork_config_dir = \"/tmp/podrun-0/net\"\n",
            ),
            Action::SetEnv {
                key: "CONTAINERS_CONF".into(),
                value: path.into(),
            },
        ];
        let mut run = FixRun::default();
        assert!(!apply_all(
            &mut host,
            "network.config_dir",
            &actions,
            &mut run
        ));
        assert!(run.env.is_empty(), "{:?}", run.env);
        assert_eq!(host.env("CONTAINERS_CONF"), None);
        assert_eq!(run.problems.len(), 1, "{:?}", run.problems);
        assert!(
            run.problems[0].contains("symbolic link"),
            "{:?}",
            run.problems
        );
    }

    /// Issue 9 item 2 in the engine: whatever a probe built, a line for an
    /// account file with a newline, a stray ':' or a non-numeric id is
    /// refused before anything is written.
    #[test]
    fn account_lines_are_validated_before_any_write() {
        let dir = tempfile::tempdir().unwrap();
        let mut host = host_in(dir.path());
        let passwd = dir.path().join("root/etc/passwd");
        std::fs::write(&passwd, "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        std::fs::write(dir.path().join("root/etc/subuid"), "").unwrap();
        let bad = [
            (
                "/etc/passwd",
                "u:x:1000:0::/tmp/x\nevil::0:0::/root:/bin/sh",
                "control character",
            ),
            (
                "/etc/passwd",
                "u:x:1000:0::/a:b:/bin/sh",
                "8 colon-separated fields",
            ),
            ("/etc/passwd", "u:x:abc:0::/h:/bin/sh", "not a number"),
            ("/etc/subuid", "u:1:2:3", "4 colon-separated fields"),
            ("/etc/subuid", ":1:2", "empty name"),
        ];
        for (path, line, why) in bad {
            let mut run = FixRun::default();
            let action = Action::AppendLine {
                path: path.into(),
                line: line.into(),
            };
            assert!(!apply_all(
                &mut host,
                "identity.passwd",
                &[action],
                &mut run
            ));
            assert!(
                run.problems[0].contains(why),
                "{line:?}: {:?}",
                run.problems
            );
            assert!(run.problems[0].contains(&format!("not adding a line to {path}")));
        }
        assert_eq!(
            std::fs::read_to_string(&passwd).unwrap(),
            "root:x:0:0:root:/root:/bin/sh\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("root/etc/subuid")).unwrap(),
            ""
        );
    }
}
