//! The modes, tied together: probe, decide, fix, render, and the exit code.

use crate::cli::{Args, Color, Command};
use crate::decide::verdict;
use crate::explain;
use crate::fix::{fix_loop, run_commands, FixRun};
use crate::host::Host;
use crate::probes::{all_specs, Findings};
use crate::report::{human, json, junit, Report, Row};
use crate::util::shell_quote;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::time::Instant;

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
    std::process::Command::new(program)
        .args(args)
        .env_clear()
        .envs(&plan.env)
        .exec()
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
    // `check` changes nothing: it predicts its fixes on staged writes.
    let dry = args.dry_run || mode == "check";
    if dry {
        host.stage_writes();
    }
    let (before, after, mut fixes) = fix_loop(&mut host, &args.skip);
    if !dry {
        run_commands(&host, &mut fixes);
    }
    let mut report = build_report(&host, mode, args.dry_run, &before, &after, &fixes);
    // issue 10: probe children still exiting are reaped before the clock
    // stops, so duration_ms covers them too.
    host.settle();
    report.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    if mode == "fix" && !fixes.env.is_empty() {
        report.problems.push(format!(
            "some fixes are environment variables ({}), which a child process cannot set in the job's shell: \
             use `eval \"$(podrun-doctor env)\"` (or `podrun-doctor exec -- CMD`) instead of `podrun-doctor`",
            fixes.env.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }

    // Where each rendering goes: stdout carries exports (env) or JSON
    // (`--json -`); the checklist goes wherever stdout is not needed.
    let json_to_stdout = args.json.as_deref() == Some("-") && mode != "env";
    let human_to_stdout = matches!(mode, "check" | "fix") && !json_to_stdout;
    let human_tty = if human_to_stdout {
        streams.out_is_tty
    } else {
        streams.err_is_tty
    };
    let color = match args.color() {
        Color::Never => false,
        Color::Always => true,
        Color::Auto => human_tty,
    } && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let style = human::Style {
        color,
        gitlab: host.env_nonempty("GITLAB_CI").is_some(),
        quiet: args.quiet,
        now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    };
    let json_text = json::render(&report);
    let mut code = report.exit_code(args.strict);
    if mode == "fix" && !fixes.env.is_empty() {
        code = 1;
    }

    match args.json.as_deref() {
        Some("-") if mode == "env" => {
            let _ = err.write_all(json_text.as_bytes());
        }
        Some("-") => {
            let _ = out.write_all(json_text.as_bytes());
        }
        Some(path) => {
            if let Err(e) = std::fs::write(path, &json_text) {
                let _ = writeln!(
                    err,
                    "podrun-doctor: cannot write the JSON report to {path}: {e}"
                );
                code = code.max(2);
            }
        }
        None => {}
    }
    if let Some(path) = &args.junit {
        if let Err(e) = std::fs::write(path, junit::render(&report, args.strict)) {
            let _ = writeln!(
                err,
                "podrun-doctor: cannot write the JUnit report to {path}: {e}"
            );
            code = code.max(2);
        }
    }
    let human_text = human::render(&report, &style);
    let human_sink: &mut dyn Write = if human_to_stdout { out } else { err };
    if !(mode == "env" && args.json.as_deref() == Some("-")) {
        let _ = human_sink.write_all(human_text.as_bytes());
    }

    match command {
        Command::Env => {
            for (k, v) in &fixes.env {
                let prefix = if args.dry_run { "# " } else { "" };
                let _ = writeln!(out, "{prefix}export {k}={}", shell_quote(v));
            }
            Outcome { code, exec: None }
        }
        Command::Exec(argv) => {
            if args.strict && code != 0 {
                let _ = writeln!(
                    err,
                    "podrun-doctor: not running {:?} (--strict and not ready)",
                    argv.join(" ")
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
            env.extend(fixes.env.clone());
            Outcome {
                code,
                exec: Some(ExecPlan {
                    argv: argv.clone(),
                    env,
                }),
            }
        }
        _ => Outcome { code, exec: None },
    }
}

/// Rows as found, each with its status after the fixes where it changed.
pub fn build_report(
    host: &Host,
    mode: &'static str,
    dry_run: bool,
    before: &Findings,
    after: &Findings,
    fixes: &FixRun,
) -> Report {
    let mut rows: Vec<Row> = before
        .checks
        .iter()
        .map(|c| {
            let mut check = c.clone();
            if let Some(fix) = &mut check.fix {
                // Bare `fix` cannot export: a fix that needs a variable is
                // not in place for the job until `env`/`exec` is used.
                let needs_export = fix
                    .actions
                    .iter()
                    .any(|a| matches!(a, crate::model::Action::SetEnv { .. }));
                fix.applied = !dry_run
                    && mode != "check"
                    && !(mode == "fix" && needs_export)
                    && fixes.applied.iter().any(|id| id == c.id);
            }
            let status_after = after
                .check(c.id)
                .map(|a| a.status)
                .filter(|s| *s != c.status);
            Row {
                check,
                status_after,
            }
        })
        .collect();
    // Checks that only appear once fixes are in (a relocated HOME revealing
    // a storage problem) belong in the report too.
    for c in &after.checks {
        if before.check(c.id).is_none() {
            rows.push(Row {
                check: c.clone(),
                status_after: None,
            });
        }
    }
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
        changes: if dry_run || mode == "check" {
            Vec::new()
        } else {
            fixes.changes.clone()
        },
        problems: fixes.problems.clone(),
        plan: after.plan.clone(),
        verdict: verdict(&before.checks, &after.checks),
    }
}
