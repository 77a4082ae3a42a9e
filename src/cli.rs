//! The command line (a contract: scripts and tests depend on it).
//!
//! One flat argh struct: the command is the first positional word, so the
//! common options may stand before or after it (`podrun-doctor --json - check`
//! and `podrun-doctor check --json -` both work).

use argh::FromArgs;

/// Probe a CI job container for `podman build`, fix what the job can fix,
/// and say who must fix the rest.
///
/// Commands:
///   fix (default)   probe, apply the fixes that need no environment change, report
///   check           probe and report; change nothing anywhere
///   env             apply every fix; print `export` lines for eval "$(podrun-doctor env)"
///   exec -- CMD...  apply every fix, then exec CMD with the fixed environment
///   explain [ID|-]  what a check means; with `-`, match a podman log on stdin
///   list            the check ids
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

    /// colour: auto (default), always or never; NO_COLOR is honoured
    #[argh(option)]
    pub color: Option<String>,

    /// warnings fail too; `exec` does not run CMD when not ready
    #[argh(switch)]
    pub strict: bool,

    /// skip a check id or a whole area (repeatable)
    #[argh(option)]
    pub skip: Vec<String>,

    /// with fix, env and exec: show what would change, change nothing
    #[argh(switch)]
    pub dry_run: bool,

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
    pub fn mode(&self) -> &'static str {
        match self {
            Command::Fix => "fix",
            Command::Env => "env",
            Command::Exec(_) => "exec",
            _ => "check",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// Parsed command line, or the text to print and the exit code (help is 0,
/// a usage error 2: argh's own `from_env` would exit 1, which means "not
/// ready" here).
pub fn parse(argv: &[String]) -> Result<(Args, Command), (String, i32)> {
    let name = argv.first().map(String::as_str).unwrap_or("podrun-doctor");
    // argh refuses a positional `-`; carry it past the parser as a token
    // nobody types (option values such as `--json -` are left alone).
    let mut rest: Vec<&str> = Vec::new();
    for (i, a) in argv.iter().enumerate().skip(1) {
        let after_option = matches!(argv[i - 1].as_str(), "--json" | "--junit");
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
    Ok((args, command))
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
        let (a, _) = p(&["check", "--skip", "fuse", "--skip", "cgroups.v1"]).unwrap();
        assert_eq!(a.skip, vec!["fuse", "cgroups.v1"]);
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
    fn explain_reads_an_id_or_stdin() {
        assert_eq!(
            p(&["explain", "-"]).unwrap().1,
            Command::Explain(Some("-".into()))
        );
        assert_eq!(p(&["explain"]).unwrap().1, Command::Explain(None));
    }
}
