//! The command line (a contract: scripts and tests depend on it).
//!
//! One flat argh struct: the command is the first positional word, so the
//! common options may stand before or after it (`podrun-doctor --json - check`
//! and `podrun-doctor check --json -` both work).

use argh::FromArgs;

/// Probe a CI job container for `podman build`, fix what the job can fix,
/// and say who must fix the rest.
///
/// Commands (`podrun-doctor COMMAND --help` for each):
///   fix (default)   probe, apply the fixes that need no environment change, report
///   check           probe and report; change nothing anywhere
///   env             apply every fix; print `export` lines for eval "$(podrun-doctor env)"
///   exec -- CMD...  apply every fix, then exec CMD with the fixed environment
///   explain [ID|-]  what a check means; with `-`, match a podman log on stdin
///   list            the check ids
///
/// Options take `--opt VALUE` or `--opt=VALUE`; `-V`/`--version` prints the version.
#[derive(FromArgs, Debug, Default, PartialEq)]
pub struct Args {
    /// write the JSON report to PATH (`-` for stdout)
    #[argh(option)]
    pub json: Option<String>,

    /// write a JUnit XML report to PATH (one test case per check)
    #[argh(option)]
    pub junit: Option<String>,

    /// print only problems (nothing when all is well)
    #[argh(switch, short = 'q')]
    pub quiet: bool,

    /// colour: auto (a terminal or CI, not with NO_COLOR), always or never
    #[argh(option)]
    pub color: Option<String>,

    /// warnings fail too (`exec` then does not run CMD on a warning)
    #[argh(switch)]
    pub strict: bool,

    /// skip a check id or a whole area (repeatable)
    #[argh(option)]
    pub skip: Vec<String>,

    /// with fix, env and exec: show what would change, change nothing
    #[argh(switch)]
    pub dry_run: bool,

    /// report NOT READY but exit 0 (`exec` then runs CMD anyway); also
    /// PODRUN_DOCTOR_NO_FAIL=1
    #[argh(switch)]
    pub no_fail: bool,

    /// show every check, `info` ones too, in the checklist
    #[argh(switch, short = 'v')]
    pub verbose: bool,

    /// read a fixture tree instead of the real system (tests)
    #[argh(option, hidden_help)]
    pub root: Option<String>,

    /// the command and its arguments
    #[argh(positional)]
    pub rest: Vec<String>,
}

/// What to do, from the first positional word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Fix,
    Check,
    Env,
    Exec(Vec<String>),
    Explain(Option<String>),
    List,
    /// Hidden: record this environment as a fixture tree in DIR.
    Capture(String),
}

impl Command {
    pub fn mode(&self) -> crate::model::Mode {
        use crate::model::Mode;
        match self {
            Command::Fix => Mode::Fix,
            Command::Env => Mode::Env,
            Command::Exec(_) => Mode::Exec,
            _ => Mode::Check,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// Options that take a value (`--opt VALUE` or `--opt=VALUE`).
const VALUED: [&str; 5] = ["--json", "--junit", "--color", "--skip", "--root"];

/// Parsed command line, or the text to print and the exit code (help is 0,
/// a usage error 2: argh's own `from_env` would exit 1, which means "not
/// ready" here).
pub fn parse(argv: &[String]) -> Result<(Args, Command), (String, i32)> {
    let name = argv.first().map(String::as_str).unwrap_or("podrun-doctor");
    let words = normalise(argv.get(1..).unwrap_or_default());
    let head = words.split(|w| w == "--").next().unwrap_or_default();
    if head.iter().any(|w| w == "--version") {
        return Err((format!("podrun-doctor {}", env!("CARGO_PKG_VERSION")), 0));
    }
    if head.iter().any(|w| w == "--help") || command_word(head) == Some("help") {
        // argh reflows a doc comment into one paragraph: the command table
        // needs its own text.
        let text = match command_word(head) {
            None | Some("help") => Some(format!("{TOP}\n{COMMON}")),
            Some(word) => command_help(word),
        };
        if let Some(text) = text {
            return Err((text, 0));
        }
    }
    // argh refuses a positional `-`; carry it past the parser as a token
    // nobody types (option values such as `--json -` are left alone).
    let mut rest: Vec<&str> = Vec::new();
    for (i, a) in words.iter().enumerate() {
        let after_option = i > 0 && matches!(words[i - 1].as_str(), "--json" | "--junit");
        rest.push(if a == "-" && !after_option {
            STDIN_TOKEN
        } else {
            a
        });
    }
    let args = Args::from_args(&[name], &rest).map_err(|e| {
        let code = if e.status.is_ok() { 0 } else { 2 };
        (e.output, code)
    })?;
    let command =
        command_of(&args.rest).map_err(|m| (format!("{m}\nRun {name} --help for usage."), 2))?;
    if let Some(c) = &args.color {
        if !matches!(c.as_str(), "auto" | "always" | "never") {
            return Err((format!("--color takes auto, always or never, not {c:?}"), 2));
        }
    }
    check_skips(&args.skip).map_err(|m| (m, 2))?;
    Ok((args, command))
}

/// The conventions argh lacks, up to `exec`'s `--` (CMD's own arguments are
/// never touched): `--opt=VALUE` splits in two, `-h` is `--help`, `-V` is
/// `--version`.
fn normalise(words: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut iter = words.iter();
    let mut value_next = false;
    for w in iter.by_ref() {
        if value_next {
            value_next = false;
            out.push(w.clone());
            continue;
        }
        if w == "--" {
            out.push(w.clone());
            break;
        }
        match w.split_once('=') {
            Some((opt, value)) if VALUED.contains(&opt) => {
                out.push(opt.to_string());
                out.push(value.to_string());
            }
            _ if w == "-h" => out.push("--help".into()),
            _ if w == "-V" => out.push("--version".into()),
            _ => {
                value_next = VALUED.contains(&w.as_str());
                out.push(w.clone());
            }
        }
    }
    out.extend(iter.cloned());
    out
}

/// Whether the command line asks for `env` (its usage errors must fail
/// the `eval` too).
pub fn is_env(argv: &[String]) -> bool {
    command_word(&normalise(argv.get(1..).unwrap_or_default())) == Some("env")
}

/// The first positional word before `--`, skipping option values.
fn command_word(words: &[String]) -> Option<&str> {
    let mut skip_next = false;
    for w in words {
        if skip_next {
            skip_next = false;
        } else if w == "--" {
            return None;
        } else if VALUED.contains(&w.as_str()) {
            skip_next = true;
        } else if !w.starts_with('-') {
            return Some(w);
        }
    }
    None
}

/// Check ids and area names `--skip` accepts: those of the registry.
fn check_skips(skips: &[String]) -> Result<(), String> {
    let ids: Vec<&str> = crate::probes::all_specs().map(|s| s.id).collect();
    let mut areas: Vec<&str> = ids.iter().map(|id| area_of(id)).collect();
    areas.dedup();
    let unknown: Vec<&String> = skips
        .iter()
        .filter(|s| !ids.contains(&s.as_str()) && !areas.contains(&s.as_str()))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(format!(
        "--skip: unknown check id or area {}\nareas: {}\nchecks: {}\n(`podrun-doctor list` prints each with its title)",
        unknown
            .iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", "),
        areas.join(" "),
        crate::report::human::wrap(&ids.join(" "), 100, "  ").trim_start()
    ))
}

fn area_of(id: &str) -> &str {
    id.split('.').next().unwrap_or(id)
}

const TOP: &str = "\
Usage: podrun-doctor [COMMAND] [OPTIONS]

Probe a CI job container for `podman build`, fix what the job can fix, and say who
must fix the rest.

Commands (`podrun-doctor COMMAND --help` for each):
  fix (default)   probe, apply the fixes that need no environment change, report
  check           probe and report; change nothing anywhere
  env             apply every fix; print `export` lines for eval \"$(podrun-doctor env)\"
  exec -- CMD...  apply every fix, then exec CMD with the fixed environment
  explain [ID|-]  what a check means; with `-`, match a podman log on stdin
  list            the check ids

Exit: 0 ready, 1 not ready, 2 usage or internal error. Options take `--opt VALUE`
or `--opt=VALUE`; `-V`, `--version` prints the version.
";

const COMMON: &str = "\
Options:
  --json PATH|-      write the JSON report (podrun-doctor/report/v1) to PATH or stdout
  --junit PATH       write a JUnit XML report (one test case per check)
  -q, --quiet        print only problems
  -v, --verbose      show every check, `info` ones too
  --color WHEN       auto (default: a terminal or GitLab CI), always or never; NO_COLOR
                     turns auto off
  --strict           warnings fail too
  --no-fail          report NOT READY but exit 0 (or PODRUN_DOCTOR_NO_FAIL=1)
  --skip ID|AREA     skip a check or a whole area (repeatable; see `podrun-doctor list`)
  --dry-run          show what would change, change nothing
  -h, --help         this text
";

/// Each command's own help (the top level is argh's, from `Args`).
fn command_help(word: &str) -> Option<String> {
    let (usage, what) =
        match word {
            "fix" => (
                "podrun-doctor [fix] [OPTIONS]",
                "Probe the job container, apply the fixes podman picks up by itself (config\n\
             files, directories), and report. When a fix is an environment variable, it\n\
             exits 1 and says to use `eval \"$(podrun-doctor env)\"` instead.\n\
             Exit: 0 ready, 1 not ready, 2 usage or internal error.",
            ),
            "check" => (
                "podrun-doctor check [OPTIONS]",
                "Probe and report as found; change nothing anywhere. The verdict and the exit\n\
             code are the state as found; the report also says what the fixes would do.\n\
             Exit: 0 ready as found, 1 not ready, 2 usage or internal error.",
            ),
            "env" => (
                "eval \"$(podrun-doctor env [OPTIONS])\"",
                "Apply every fix and print POSIX `export` lines on stdout; the checklist goes\n\
             to stderr. When NOT READY, the last line printed makes the `eval` fail (it\n\
             exits a non-interactive shell with 1, so the job stops at this line), unless\n\
             --no-fail.",
            ),
            "exec" => (
                "podrun-doctor exec [OPTIONS] -- CMD [ARG...]",
                "Apply every fix, then exec CMD with the fixed environment (an image\n\
             ENTRYPOINT: [\"podrun-doctor\", \"exec\", \"--\"]). When NOT READY it exits 1\n\
             without running CMD, unless --no-fail. Should the doctor itself fail, CMD\n\
             runs without its fixes (unless --strict).",
            ),
            "explain" => {
                return Some(
                    "Usage: podrun-doctor explain [ID|AREA|-]\n\n\
                 What a check means, why podman cares and who fixes it. With `-`, read a\n\
                 failed job's podman log on stdin and name the checks that explain it\n\
                 (exit 0 when one matched, 1 when none did).\n"
                        .to_string(),
                )
            }
            "list" => return Some(
                "Usage: podrun-doctor list\n\nThe check ids with their titles, in report order.\n"
                    .to_string(),
            ),
            _ => return None,
        };
    Some(format!("Usage: {usage}\n\n{what}\n\n{COMMON}"))
}

const STDIN_TOKEN: &str = "\u{1}stdin";

fn command_of(rest: &[String]) -> Result<Command, String> {
    let rest: Vec<String> = rest
        .iter()
        .map(|a| {
            if a == STDIN_TOKEN {
                "-".to_string()
            } else {
                a.clone()
            }
        })
        .collect();
    let Some((word, more)) = rest.as_slice().split_first() else {
        return Ok(Command::Fix);
    };
    let none = |c: Command| {
        if more.is_empty() {
            Ok(c)
        } else {
            Err(format!(
                "{word} takes no arguments, found {:?}",
                more.join(" ")
            ))
        }
    };
    match word.as_str() {
        "fix" => none(Command::Fix),
        "check" => none(Command::Check),
        "env" => none(Command::Env),
        "list" => none(Command::List),
        "exec" => {
            let cmd: Vec<String> = more.iter().skip_while(|a| *a == "--").cloned().collect();
            if cmd.is_empty() {
                Err("exec needs a command: podrun-doctor exec -- podman build .".into())
            } else {
                Ok(Command::Exec(cmd))
            }
        }
        "explain" => match more {
            [] => Ok(Command::Explain(None)),
            [id] => Ok(Command::Explain(Some(id.clone()))),
            _ => Err("explain takes one check id, or - to read a log on stdin".into()),
        },
        "capture" => match more {
            [dir] => Ok(Command::Capture(dir.clone())),
            _ => Err("capture takes one directory".into()),
        },
        other => Err(format!(
            "unknown command {other:?}: expected fix, check, env, exec, explain or list"
        )),
    }
}

impl Args {
    pub fn color(&self) -> Color {
        match self.color.as_deref() {
            Some("always") => Color::Always,
            Some("never") => Color::Never,
            _ => Color::Auto,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<(Args, Command), (String, i32)> {
        let mut v = vec!["podrun-doctor".to_string()];
        v.extend(args.iter().map(|s| s.to_string()));
        parse(&v)
    }

    #[test]
    fn bare_invocation_fixes() {
        assert_eq!(p(&[]).unwrap().1, Command::Fix);
    }

    #[test]
    fn options_stand_before_or_after_the_command() {
        let (a, c) = p(&["check", "--json", "-"]).unwrap();
        assert_eq!((a.json.as_deref(), c), (Some("-"), Command::Check));
        let (a, c) = p(&["--json", "out.json", "check"]).unwrap();
        assert_eq!((a.json.as_deref(), c), (Some("out.json"), Command::Check));
    }

    #[test]
    fn exec_takes_everything_after_the_separator() {
        let (_, c) = p(&["exec", "--", "podman", "build", "--layers", "."]).unwrap();
        assert_eq!(
            c,
            Command::Exec(vec![
                "podman".into(),
                "build".into(),
                "--layers".into(),
                ".".into()
            ])
        );
    }

    #[test]
    fn skip_repeats() {
        let (a, _) = p(&["check", "--skip", "fuse", "--skip", "cgroups.version"]).unwrap();
        assert_eq!(a.skip, vec!["fuse", "cgroups.version"]);
    }

    #[test]
    fn usage_errors_exit_2_and_help_exits_0() {
        assert_eq!(p(&["frobnicate"]).unwrap_err().1, 2);
        assert_eq!(p(&["check", "extra"]).unwrap_err().1, 2);
        assert_eq!(p(&["--no-such-flag"]).unwrap_err().1, 2);
        assert_eq!(p(&["--color", "purple"]).unwrap_err().1, 2);
        assert_eq!(p(&["exec"]).unwrap_err().1, 2);
        assert_eq!(p(&["--help"]).unwrap_err().1, 0);
    }

    #[test]
    fn opt_equals_value_and_short_forms() {
        let (a, c) = p(&["check", "--json=-", "--color=never", "--skip=fuse"]).unwrap();
        assert_eq!(a.json.as_deref(), Some("-"));
        assert_eq!(a.color(), Color::Never);
        assert_eq!((a.skip, c), (vec!["fuse".to_string()], Command::Check));
        let (a, _) = p(&["-q", "-v", "--no-fail", "env"]).unwrap();
        assert!(a.quiet && a.verbose && a.no_fail);
    }

    #[test]
    fn version_and_help_per_command() {
        for v in ["--version", "-V"] {
            assert_eq!(p(&[v]).unwrap_err(), ("podrun-doctor 0.1.0".into(), 0));
        }
        let (env_help, code) = p(&["env", "-h"]).unwrap_err();
        assert_eq!(code, 0);
        assert!(
            env_help.starts_with("Usage: eval \"$(podrun-doctor env"),
            "{env_help}"
        );
        let (exec_help, _) = p(&["--json", "x", "exec", "--help"]).unwrap_err();
        assert!(
            exec_help.starts_with("Usage: podrun-doctor exec"),
            "{exec_help}"
        );
        let (top, code) = p(&["-h"]).unwrap_err();
        assert_eq!(code, 0);
        assert!(top.contains("COMMAND --help"), "{top}");
        assert!(
            top.contains("\n  check           probe and report"),
            "{top}"
        );
        assert_eq!(p(&["help"]).unwrap_err(), (top.clone(), 0));
        assert_ne!(top, env_help);
    }

    #[test]
    fn the_command_after_the_separator_keeps_its_own_options() {
        let (_, c) = p(&["exec", "--", "podman", "--help", "-V", "--json=x"]).unwrap();
        assert_eq!(
            c,
            Command::Exec(vec![
                "podman".into(),
                "--help".into(),
                "-V".into(),
                "--json=x".into()
            ])
        );
    }

    #[test]
    fn unknown_skips_are_refused_with_the_list() {
        let (text, code) = p(&["check", "--skip", "fusee"]).unwrap_err();
        assert_eq!(code, 2);
        assert!(text.contains("\"fusee\""), "{text}");
        assert!(text.contains("fuse.device"), "{text}");
        assert!(p(&["check", "--skip", "fuse.device", "--skip=cgroups"]).is_ok());
    }

    #[test]
    fn explain_reads_an_id_or_stdin() {
        assert_eq!(
            p(&["explain", "-"]).unwrap().1,
            Command::Explain(Some("-".into()))
        );
        assert_eq!(p(&["explain"]).unwrap().1, Command::Explain(None));
    }
}
