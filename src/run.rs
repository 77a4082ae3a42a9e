//! The modes, tied together: probe, decide, fix, render, and the exit code.

use crate::cli::{Args, Color, Command};
use crate::decide::verdict;
use crate::explain;
use crate::fix::{fix_loop, run_commands, FixRun};
use crate::host::Host;
use crate::model::Mode;
use crate::probes::{all_specs, Findings};
use crate::report::{human, json, junit, Report, Row};
use crate::util::shell_quote;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::time::{Duration, Instant};

/// What `main` does after `run`: exit with `code`, or exec a command.
pub struct Outcome {
    pub code: i32,
    pub exec: Option<ExecPlan>,
}

pub struct ExecPlan {
    pub argv: Vec<String>,
    pub env: BTreeMap<String, String>,
}

/// Replaces this process with the command (returns only on failure).
pub fn exec(plan: &ExecPlan) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let Some((program, args)) = plan.argv.split_first() else {
        return std::io::Error::from(std::io::ErrorKind::InvalidInput);
    };
    let raw = raw_args(program, args);
    let Some((program, args)) = raw.split_first() else {
        return std::io::Error::from(std::io::ErrorKind::InvalidInput);
    };
    std::process::Command::new(program)
        .args(args)
        .env_clear()
        .envs(raw_env(&plan.env))
        .exec()
}

/// CMD as this process received it: the plan holds it as (lossy) text, so
/// the raw tail of this process's own argv is used when it reads the
/// same; non-UTF-8 bytes then reach CMD unchanged.
fn raw_args(program: &str, args: &[String]) -> Vec<std::ffi::OsString> {
    let wanted: Vec<&str> = std::iter::once(program)
        .chain(args.iter().map(String::as_str))
        .collect();
    let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(tail) = raw.get(raw.len().saturating_sub(wanted.len())..) {
        if tail.len() == wanted.len()
            && tail
                .iter()
                .zip(&wanted)
                .all(|(r, w)| r.to_string_lossy() == *w)
        {
            return tail.to_vec();
        }
    }
    wanted.into_iter().map(Into::into).collect()
}

/// The plan's environment, with each variable this process had and the
/// plan kept as it was taken from the raw environment, bytes and all.
fn raw_env(env: &BTreeMap<String, String>) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    let raw: BTreeMap<String, (std::ffi::OsString, std::ffi::OsString)> = std::env::vars_os()
        .map(|(k, v)| (k.to_string_lossy().into_owned(), (k, v)))
        .collect();
    env.iter()
        .map(|(k, v)| match raw.get(k) {
            Some((rk, rv)) if rv.to_string_lossy() == *v => (rk.clone(), rv.clone()),
            _ => (k.into(), v.into()),
        })
        .collect()
}

/// `exec` promises that CMD runs even when the doctor itself fails: should
/// it panic (release builds abort on panic, so unwinding cannot be caught),
/// this hook execs CMD with the environment as it was, unless `--strict`.
fn exec_on_panic(args: &Args, command: &Command) {
    let Command::Exec(argv) = command else { return };
    if args.strict || args.dry_run {
        return;
    }
    let argv = argv.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        previous(info);
        let env: BTreeMap<String, String> = std::env::vars_os()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        let _ = writeln!(
            std::io::stderr(),
            "podrun-doctor: failed; running {:?} without its fixes",
            argv.join(" ")
        );
        let err = exec(&ExecPlan {
            argv: argv.clone(),
            env,
        });
        let _ = writeln!(std::io::stderr(), "podrun-doctor: cannot exec: {err}");
    }));
}

/// Runs a command with the real standard streams.
pub fn run(args: &Args, command: &Command, host: Host) -> Outcome {
    exec_on_panic(args, command);
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let streams = Streams {
        out_is_tty: stdout.is_terminal(),
        err_is_tty: stderr.is_terminal(),
        out_cols: terminal_columns(&stdout),
        err_cols: terminal_columns(&stderr),
    };
    run_with(
        args,
        command,
        host,
        &mut stdout.lock(),
        &mut stderr.lock(),
        &mut std::io::stdin().lock(),
        streams,
    )
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Streams {
    pub out_is_tty: bool,
    pub err_is_tty: bool,
    /// The terminal's width, when the stream is one.
    pub out_cols: Option<usize>,
    pub err_cols: Option<usize>,
}

/// The width of the terminal behind `fd`, if it is one.
fn terminal_columns(fd: &impl std::os::fd::AsRawFd) -> Option<usize> {
    let mut size = nix::libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we own; a
    // descriptor that is not a terminal makes it fail with ENOTTY.
    let rc = unsafe { nix::libc::ioctl(fd.as_raw_fd(), nix::libc::TIOCGWINSZ, &mut size) };
    (rc == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// Runs a command with the given streams (tests pass buffers).
pub fn run_with(
    args: &Args,
    command: &Command,
    mut host: Host,
    out: &mut dyn Write,
    err: &mut dyn Write,
    input: &mut dyn Read,
    streams: Streams,
) -> Outcome {
    let done = |code| Outcome { code, exec: None };
    match command {
        Command::List => {
            for s in all_specs() {
                let _ = writeln!(out, "{:<28} {}", s.id, s.title);
            }
            done(0)
        }
        Command::Explain(None) => {
            let _ = writeln!(out, "podrun-doctor explain ID   (ids: podrun-doctor list)");
            let _ = writeln!(
                out,
                "podrun-doctor explain -    (reads a podman log on stdin)"
            );
            done(0)
        }
        Command::Explain(Some(id)) if id == "-" => {
            let mut log = Vec::new();
            if let Err(e) = input.read_to_end(&mut log) {
                let _ = writeln!(err, "podrun-doctor: cannot read stdin: {e}");
                return done(2);
            }
            let (text, found) = explain::explain_log(&String::from_utf8_lossy(&log));
            let _ = write!(out, "{text}");
            done(if found { 0 } else { 1 })
        }
        Command::Explain(Some(id)) => match explain::explain_id(id) {
            Some(text) => {
                let _ = write!(out, "{text}");
                done(0)
            }
            None => {
                let _ = writeln!(
                    err,
                    "podrun-doctor: no check or area {id:?}; see `podrun-doctor list`"
                );
                done(2)
            }
        },
        Command::Capture(dir) => {
            host.stage_writes();
            set_probe_budget(&mut host);
            let (before, _after, _run) = fix_loop(&mut host, &args.skip);
            let Some(capture) = host.take_capture() else {
                let _ = writeln!(
                    err,
                    "podrun-doctor: capture needs the real system, not --root"
                );
                return done(2);
            };
            match capture.write_to(std::path::Path::new(dir)) {
                Ok(()) => {
                    let _ = writeln!(out, "captured {} checks into {dir}", before.checks.len());
                    done(0)
                }
                Err(e) => {
                    let _ = writeln!(err, "podrun-doctor: cannot write the fixture to {dir}: {e}");
                    done(2)
                }
            }
        }
        Command::Check | Command::Fix | Command::Env | Command::Exec(_) => {
            diagnose(args, command, host, out, err, streams)
        }
    }
}

fn diagnose(
    args: &Args,
    command: &Command,
    mut host: Host,
    out: &mut dyn Write,
    err: &mut dyn Write,
    streams: Streams,
) -> Outcome {
    let started = Instant::now();
    // Debug builds only: lets the tests prove that `exec` still runs CMD
    // when the doctor itself fails (see exec_on_panic).
    #[cfg(debug_assertions)]
    if std::env::var_os("PODRUN_DOCTOR_TEST_PANIC").is_some() {
        panic!("podrun-doctor: panic requested by PODRUN_DOCTOR_TEST_PANIC (debug builds only)");
    }
    let mode = command.mode();
    if let Some(outcome) = guard(args, command, &host, out, err) {
        return outcome;
    }
    let (report, fixes) = examine(args, mode, &mut host, started);
    // Where each rendering goes: stdout carries exports (env) or JSON
    // (`--json -`); the checklist goes wherever stdout is not needed.
    let json_to_stdout = args.json.as_deref() == Some("-") && mode != Mode::Env;
    let human_to_stdout = matches!(mode, Mode::Check | Mode::Fix) && !json_to_stdout;
    let style = style_for(args, &host, streams, human_to_stdout);
    let code = verdict_code(args, mode, &report, &fixes);
    let code = code.max(write_reports(args, mode, &report, out, err));
    let human_text = human::render(&report, &style);
    let human_sink: &mut dyn Write = if human_to_stdout { out } else { err };
    if !(mode == Mode::Env && args.json.as_deref() == Some("-")) {
        let _ = human_sink.write_all(human_text.as_bytes());
    }
    let done = Done {
        host: &host,
        report: &report,
        fixes: &fixes,
        code,
    };
    match command {
        Command::Env => env_outcome(args, &done, out),
        Command::Exec(argv) => exec_outcome(args, argv, &done, err),
        _ => Outcome { code, exec: None },
    }
}

/// What a run found and decided, for the mode's last step.
struct Done<'a> {
    host: &'a Host,
    report: &'a Report,
    fixes: &'a FixRun,
    code: i32,
}

/// Probes, fixes (or, in `check` and `--dry-run`, stages the fixes in
/// memory) and builds the report. The clock stops after every probe child
/// is reaped, so `duration_ms` covers the whole run.
fn examine(args: &Args, mode: Mode, host: &mut Host, started: Instant) -> (Report, FixRun) {
    // `check` changes nothing: it predicts its fixes on staged writes.
    let dry = args.dry_run || mode.predicts();
    if dry {
        host.stage_writes();
    }
    set_probe_budget(host);
    let (before, after, mut fixes) = fix_loop(host, &args.skip);
    if !dry {
        commands_after_stalls(host, &mut fixes);
        run_commands(host, &mut fixes);
    }
    let mut report = build_report(host, mode, args.dry_run, before, &after, &fixes);
    // issue 10: probe children still exiting are reaped before the clock
    // stops, so duration_ms covers them too.
    host.settle();
    report.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    if mode == Mode::Fix && !fixes.env.is_empty() {
        report.problems.push(format!(
            "some fixes are environment variables ({}), which a child process cannot set in the job's shell: \
             use `eval \"$(podrun-doctor env)\"` (or `podrun-doctor exec -- CMD`) instead of `podrun-doctor`",
            fixes.env.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    (report, fixes)
}

/// The exit code the verdict gives (before any report is written).
fn verdict_code(args: &Args, mode: Mode, report: &Report, fixes: &FixRun) -> i32 {
    let mut code = report.exit_code(args.strict);
    // Bare `fix` cannot export: when the job was not ready as found, the
    // exports may be what readiness needs. A job ready as found only misses
    // exports that clear warnings, which never fail it.
    if mode == Mode::Fix && !fixes.env.is_empty() && !report.verdict.ready_before {
        code = 1;
    }
    if no_fail(args) && code == 1 {
        code = 0;
    }
    code
}

/// Writes the JSON and JUnit reports where asked; 2 when one could not be
/// written (said on `err`), else 0.
fn write_reports(
    args: &Args,
    mode: Mode,
    report: &Report,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let mut code = 0;
    let json_text = json::render(report);
    match args.json.as_deref() {
        Some("-") if mode == Mode::Env => {
            let _ = err.write_all(json_text.as_bytes());
        }
        Some("-") => {
            let _ = out.write_all(json_text.as_bytes());
        }
        Some(path) => {
            if let Err(e) = crate::host::write_report(std::path::Path::new(path), &json_text) {
                let _ = writeln!(
                    err,
                    "podrun-doctor: cannot write the JSON report to {path}: {e}"
                );
                code = 2;
            }
        }
        None => {}
    }
    if let Some(path) = &args.junit {
        let text = junit::render(report, args.strict);
        if let Err(e) = crate::host::write_report(std::path::Path::new(path), &text) {
            let _ = writeln!(
                err,
                "podrun-doctor: cannot write the JUnit report to {path}: {e}"
            );
            code = 2;
        }
    }
    code
}

/// `env`: the exports, the marker, and a failing line when not ready.
fn env_outcome(args: &Args, done: &Done, out: &mut dyn Write) -> Outcome {
    let prefix = if args.dry_run { "# " } else { "" };
    let _ = write!(out, "{}", export_lines(&done.fixes.env, prefix));
    if let Some(marker) = marker(done.host, "env", done.report.verdict.ready_after) {
        if !args.dry_run {
            let _ = writeln!(out, "export {MARKER}={}", shell_quote(&marker));
        }
    }
    // Only the verdict stops the job; an unwritable report (2) was
    // said on stderr and does not.
    if done.code == 1 {
        let _ = write!(out, "{}", env_fail_lines(&not_ready_reason(done.report)));
    }
    Outcome {
        code: done.code,
        exec: None,
    }
}

/// `exec`: the plan to run CMD with the fixes, unless not ready or dry.
fn exec_outcome(args: &Args, argv: &[String], done: &Done, err: &mut dyn Write) -> Outcome {
    let code = done.code;
    if code == 1 {
        let _ = writeln!(
            err,
            "podrun-doctor: not running {:?}: {} (--no-fail or PODRUN_DOCTOR_NO_FAIL=1 runs it anyway)",
            argv.join(" "),
            not_ready_reason(done.report)
        );
        return Outcome { code, exec: None };
    }
    if args.dry_run {
        let _ = writeln!(
            err,
            "podrun-doctor: dry run, would exec: {}",
            argv.join(" ")
        );
        return Outcome { code, exec: None };
    }
    // The command gets this process's real environment plus the
    // fixes (a fixture host's environment is not the real one).
    let mut env: BTreeMap<String, String> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    apply_exports(&mut env, &done.fixes.env);
    if let Some(marker) = marker(done.host, "exec", done.report.verdict.ready_after) {
        env.insert(MARKER.into(), marker);
    }
    Outcome {
        code,
        exec: Some(ExecPlan {
            argv: argv.to_vec(),
            env,
        }),
    }
}

/// The shell lines of `env`: `export K=V`, or `unset K` for a variable
/// whose presence alone breaks podman.
pub fn export_lines(env: &BTreeMap<String, Option<String>>, prefix: &str) -> String {
    env.iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{prefix}export {k}={}\n", shell_quote(v)),
            None => format!("{prefix}unset {k}\n"),
        })
        .collect()
}

/// CMD's environment under `exec`: set what the fixes set, drop what they unset.
fn apply_exports(env: &mut BTreeMap<String, String>, fixes: &BTreeMap<String, Option<String>>) {
    for (k, v) in fixes {
        match v {
            Some(v) => env.insert(k.clone(), v.clone()),
            None => env.remove(k),
        };
    }
}

/// issue 9: the whole probing (every fix round included) ends within one
/// budget, `PODRUN_DOCTOR_BUDGET_MS` (default 800): a hung tool, a stalled
/// mount or a device whose open blocks is abandoned and its checks marked
/// unsure, so the job goes on instead of waiting on the doctor.
fn set_probe_budget(host: &mut Host) {
    let ms = host
        .env("PODRUN_DOCTOR_BUDGET_MS")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(800);
    host.set_budget(crate::host::Deadline::after(Duration::from_millis(ms)));
    // `--version` answers at once; a tool that takes longer is hung. Half
    // the budget (400 ms by default): a larger budget is set for a slower
    // machine (an emulated VM), where podman 5 may need a second to start.
    host.set_tool_limit(Duration::from_millis((ms / 2).max(400)));
}

/// The fix commands (`podman system migrate`) get their own time, but one
/// whose program already hung while probing is not started again: it is
/// listed as not done instead.
fn commands_after_stalls(host: &mut Host, fixes: &mut FixRun) {
    host.set_budget(crate::host::Deadline::after(Duration::from_secs(60)));
    host.set_tool_limit(Duration::from_secs(30));
    let stalls = host.stalls();
    fixes.commands.retain(|argv| {
        let program = argv.first().map(String::as_str).unwrap_or_default();
        let hung = stalls
            .iter()
            .any(|s| s.starts_with(&format!("run {program} ")));
        if hung {
            fixes.problems.push(format!(
                "`{}` not run: `{program}` did not answer within the doctor's deadline while \
                 probing, so it would hang here too; repair or replace `{program}`",
                argv.join(" ")
            ));
        }
        !hung
    });
}

/// The mode a diagnosing command runs in (`list`, `explain` and `capture`
/// never reach the report).
/// Rows as found, each with its status after the fixes where it changed.
pub fn build_report(
    host: &Host,
    mode: Mode,
    dry_run: bool,
    before: Findings,
    after: &Findings,
    fixes: &FixRun,
) -> Report {
    let verdict = verdict(&before.checks, &after.checks);
    let found: std::collections::BTreeSet<&str> = before.checks.iter().map(|c| c.id).collect();
    // Checks that only appear once fixes are in (a relocated HOME revealing
    // a storage problem) belong in the report too.
    let revealed: Vec<crate::model::Check> = after
        .checks
        .iter()
        .filter(|c| !found.contains(c.id))
        .cloned()
        .collect();
    // The first check of an id, as `Findings::check` finds it.
    let mut status_after: BTreeMap<&str, crate::model::Status> = BTreeMap::new();
    for a in &after.checks {
        status_after.entry(a.id).or_insert(a.status);
    }
    let mut rows: Vec<Row> = before
        .checks
        .into_iter()
        .map(|c| {
            let mut check = c;
            if let Some(fix) = &mut check.fix {
                // Bare `fix` cannot export: a fix that needs a variable is
                // not in place for the job until `env`/`exec` is used.
                let needs_export = fix
                    .actions
                    .iter()
                    .any(|a| matches!(a, crate::model::Action::SetEnv { .. }));
                let not_written = dry_run || mode.predicts() || (mode == Mode::Fix && needs_export);
                fix.applied = !not_written && fixes.applied.iter().any(|id| id == check.id);
            }
            let status_after = status_after
                .get(check.id)
                .copied()
                .filter(|s| *s != check.status);
            Row {
                check,
                status_after,
            }
        })
        .collect();
    rows.extend(revealed.into_iter().map(|check| Row {
        check,
        status_after: None,
    }));
    let mut context = after.report_context.clone();
    context.insert("uid".into(), json!(host.uid()));
    context.insert("gid".into(), json!(host.gid()));
    for key in ["user", "home", "ci", "orchestrator", "podman"] {
        context.entry(key).or_insert(serde_json::Value::Null);
    }
    Report {
        mode,
        dry_run,
        duration_ms: 0.0,
        context,
        rows,
        env: fixes.env.clone(),
        changes: if dry_run || mode.predicts() {
            Vec::new()
        } else {
            fixes.changes.clone()
        },
        problems: fixes.problems.clone(),
        plan: after.plan.clone(),
        verdict,
    }
}

/// How the checklist looks: colour on a terminal or in CI unless NO_COLOR
/// (an explicit `--color` wins over both), the terminal's width or 100.
fn style_for(args: &Args, host: &Host, streams: Streams, to_stdout: bool) -> human::Style {
    let (tty, cols) = if to_stdout {
        (streams.out_is_tty, streams.out_cols)
    } else {
        (streams.err_is_tty, streams.err_cols)
    };
    let gitlab = host.env_nonempty("GITLAB_CI").is_some();
    let ci = gitlab || host.env("CI") == Some("true");
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = match args.color() {
        Color::Never => false,
        Color::Always => true,
        Color::Auto => (tty || ci) && !no_color,
    };
    human::Style {
        color,
        gitlab,
        quiet: args.quiet,
        verbose: args.verbose,
        width: cols.unwrap_or(human::DEFAULT_WIDTH).max(40),
        now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    }
}

/// `--no-fail` or PODRUN_DOCTOR_NO_FAIL=1: NOT READY is reported, not fatal.
fn no_fail(args: &Args) -> bool {
    args.no_fail || std::env::var_os("PODRUN_DOCTOR_NO_FAIL").is_some_and(|v| v == "1")
}

fn not_ready_reason(report: &Report) -> String {
    let ready = match report.mode {
        Mode::Check => report.verdict.ready_before,
        _ => report.verdict.ready_after,
    };
    if ready {
        "warnings, and --strict makes them fail".to_string()
    } else {
        format!(
            "NOT READY, blocked by {}",
            report.verdict.blocking.join(", ")
        )
    }
}

/// What `env` prints last when the job must stop: `eval "$(…)"` loses the
/// doctor's exit status, so the text itself fails. It exits a
/// non-interactive shell (a CI job's script, with or without `set -e`, sh
/// or bash) and only returns 1 in an interactive one, so trying the line in
/// a terminal does not close it.
pub fn env_fail_lines(reason: &str) -> String {
    let msg = format!("podrun-doctor: {reason}; stopping the job here");
    format!(
        "echo {} >&2\ncase $- in *i*) false ;; *) exit 1 ;; esac\n",
        shell_quote(&msg)
    )
}

/// The variable `env` and `exec` leave behind so a later doctor in the
/// same job reports instead of probing and fixing again.
pub const MARKER: &str = "PODRUN_DOCTOR_DONE";

/// Who ran, for whom and where: a marker from another job (CI_JOB_ID), a
/// different uid, or another container (its pid namespace, which an image's
/// baked-in ENV or a reused variable cannot share) never matches. Only in a
/// CI job: in a terminal a remembered verdict would go stale unseen.
fn marker(host: &Host, mode: &str, ready: bool) -> Option<String> {
    Some(format!(
        "v1 {} mode={mode} ready={}",
        marker_identity(host)?,
        u8::from(ready)
    ))
}

fn marker_identity(host: &Host) -> Option<String> {
    let job = std::env::var("CI_JOB_ID").ok().filter(|j| !j.is_empty())?;
    let pidns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!(
        "uid={} job={job} pidns={}",
        host.uid(),
        pidns.display()
    ))
}

/// The earlier run's mode and verdict, when the marker is this job's own.
fn earlier_run(host: &Host) -> Option<(String, bool)> {
    let value = std::env::var(MARKER).ok()?;
    let rest = value.strip_prefix("v1 ")?;
    let identity = marker_identity(host)?;
    let tail = rest.strip_prefix(identity.as_str())?.trim_start();
    let mut mode = None;
    let mut ready = None;
    for field in tail.split(' ') {
        match field.split_once('=') {
            Some(("mode", m)) => mode = Some(m.to_string()),
            Some(("ready", r)) => ready = Some(r == "1"),
            _ => {}
        }
    }
    Some((mode?, ready?))
}

/// A fixing run after `env`/`exec` already ran in this job (an image
/// entrypoint, then `before_script`): one line with the earlier result
/// instead of probing and fixing again.
fn guard(
    args: &Args,
    command: &Command,
    host: &Host,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Option<Outcome> {
    if args.dry_run || matches!(command, Command::Check) {
        return None;
    }
    let (mode, ready) = earlier_run(host)?;
    let verdict = if ready { "READY" } else { "NOT READY" };
    let reports = if args.json.is_some() || args.junit.is_some() {
        "; no new --json/--junit report (the earlier run wrote its own)"
    } else {
        ""
    };
    let line = format!(
        "podrun-doctor: already ran in this job ({mode}: {verdict}); not probing or fixing again{reports} (unset {MARKER} to run again)"
    );
    let code = if ready || no_fail(args) { 0 } else { 1 };
    if matches!(command, Command::Fix) {
        let _ = writeln!(out, "{line}");
    } else {
        let _ = writeln!(err, "{line}");
    }
    match command {
        Command::Env if code != 0 => {
            let _ = write!(
                out,
                "{}",
                env_fail_lines("NOT READY (an earlier run in this job)")
            );
        }
        Command::Exec(argv) if code == 0 => {
            let env = std::env::vars_os()
                .map(|(k, v)| {
                    (
                        k.to_string_lossy().into_owned(),
                        v.to_string_lossy().into_owned(),
                    )
                })
                .collect();
            return Some(Outcome {
                code,
                exec: Some(ExecPlan {
                    argv: argv.clone(),
                    env,
                }),
            });
        }
        _ => {}
    }
    Some(Outcome { code, exec: None })
}

#[cfg(test)]
mod export_tests {
    use super::*;

    #[test]
    fn unset_variables_are_unset_lines_and_leave_cmds_environment() {
        let fixes: BTreeMap<String, Option<String>> = [
            ("CONTAINER_HOST".to_string(), None),
            ("TMPDIR".to_string(), Some("/var/tmp".to_string())),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            export_lines(&fixes, ""),
            "unset CONTAINER_HOST\nexport TMPDIR=/var/tmp\n"
        );
        let mut env: BTreeMap<String, String> = [("CONTAINER_HOST".to_string(), String::new())]
            .into_iter()
            .collect();
        apply_exports(&mut env, &fixes);
        assert!(!env.contains_key("CONTAINER_HOST"));
        assert_eq!(env["TMPDIR"], "/var/tmp");
    }
}
