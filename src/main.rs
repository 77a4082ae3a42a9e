//! Thin entry point: parse, build the host, run, exit.

use podrun_doctor::{cli, host::Host, run};
use std::io::Write;

// musl's malloc maps and unmaps small groups all through a run (src/alloc.rs);
// glibc builds (tests) keep the system allocator.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOC: podrun_doctor::alloc::Allocator = podrun_doctor::alloc::Allocator;

fn main() {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let (args, command) = match cli::parse(&argv) {
        Ok(parsed) => parsed,
        Err((text, code)) => {
            let mut out: Box<dyn Write> = if code == 0 {
                Box::new(std::io::stdout())
            } else {
                Box::new(std::io::stderr())
            };
            let _ = writeln!(out, "{}", text.trim_end());
            if code != 0 && cli::is_env(&argv) {
                // `eval "$(podrun-doctor env …)"` loses this exit code.
                let _ = write!(
                    std::io::stdout(),
                    "{}",
                    run::env_fail_lines("usage error (see above)")
                );
            }
            std::process::exit(code);
        }
    };
    let host = match &args.root {
        Some(dir) => match Host::fixture(std::path::Path::new(dir)) {
            Ok(h) => h,
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "podrun-doctor: --root {dir}: {e}");
                std::process::exit(2);
            }
        },
        None if matches!(command, cli::Command::Capture(_)) => Host::capturing(),
        None => Host::system(),
    };
    let outcome = run::run(&args, &command, host);
    if let Some(exec) = outcome.exec {
        // exec replaces this process: no extra PID between the runner and CMD.
        let err = run::exec(&exec);
        let _ = writeln!(
            std::io::stderr(),
            "podrun-doctor: cannot exec {}: {err}",
            exec.argv.first().map(String::as_str).unwrap_or("")
        );
        std::process::exit(127);
    }
    std::process::exit(outcome.code);
}
