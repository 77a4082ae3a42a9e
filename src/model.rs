//! The data every probe returns and every renderer reads: checks, their
//! status, their evidence and the fix that exists for them.

use serde_json::{json, Map, Value};

/// How a check came out. Ordered from best to worst, so the worst status of
/// a run is simply the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Not run: skipped by `--skip`, or not relevant in this environment.
    Skip,
    Ok,
    Info,
    Warn,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Skip => "skip",
            Status::Ok => "ok",
            Status::Info => "info",
            Status::Warn => "warn",
            Status::Error => "error",
        }
    }
}

/// Who can make a fix: the job itself (this tool), or someone outside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Job,
    Image,
    RunnerAdmin,
    NodeAdmin,
}

impl By {
    pub fn as_str(self) -> &'static str {
        match self {
            By::Job => "job",
            By::Image => "image",
            By::RunnerAdmin => "runner-admin",
            By::NodeAdmin => "node-admin",
        }
    }
}

/// The remedy for a finding: who makes it, exactly how, and whether this run
/// already made it. For `By::Job` fixes, `actions` is what this tool does
/// (applied by `fix`, `env` and `exec`; `text` says it in words).
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    pub by: By,
    pub text: String,
    pub applied: bool,
    pub actions: Vec<Action>,
}

/// One change a job-side fix makes. Fixes are data: the engine in `fix.rs`
/// applies them idempotently, lists them in the report and probes again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Export an environment variable (only `env` and `exec` can do this
    /// for the job; bare `fix` tells the user to switch to them).
    SetEnv { key: String, value: String },
    /// Remove an environment variable from the job (`env` prints `unset
    /// KEY`, `exec` leaves it out of CMD's environment): for variables whose
    /// mere presence breaks podman (`CONTAINER_HOST`, even empty).
    UnsetEnv { key: String },
    /// Create a directory (and parents) with this mode, owned by the job.
    CreateDir { path: String, mode: u32 },
    /// Write a file this tool owns (it starts with `OWNED_MARKER`); a file
    /// that exists without the marker is never rewritten.
    WriteFile {
        path: String,
        contents: String,
        mode: u32,
    },
    /// Merge TOML settings into a config file this tool owns: created (with
    /// `OWNED_MARKER`) when missing, its other keys kept, these keys set; a
    /// file without the marker is never touched. For config files that
    /// several fixes share because podman reads only one file from that
    /// place (`CONTAINERS_CONF`, `CONTAINERS_CONF_OVERRIDE`).
    MergeConf { path: String, toml: String },
    /// Append a line to a system file (`/etc/passwd`, `/etc/subuid`, …)
    /// unless an identical line is already there.
    AppendLine { path: String, line: String },
    /// Run a command after the files are in place (`podman system migrate`).
    Run { argv: Vec<String> },
}

/// First line of every file this tool writes; its presence is what makes a
/// file ours to rewrite.
pub const OWNED_MARKER: &str = "# Written by podrun-doctor; it rewrites this file, edit elsewhere.";

/// One check's outcome. `id` is a stable dotted id from the registry
/// (`probes::SPECS`); `evidence` holds what was read, never a secret.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub id: &'static str,
    pub status: Status,
    pub summary: String,
    pub evidence: Map<String, Value>,
    pub fix: Option<Fix>,
}

impl Check {
    pub fn new(id: &'static str, status: Status, summary: impl Into<String>) -> Check {
        Check {
            id,
            status,
            summary: summary.into(),
            evidence: Map::new(),
            fix: None,
        }
    }

    pub fn ok(id: &'static str, summary: impl Into<String>) -> Check {
        Check::new(id, Status::Ok, summary)
    }

    pub fn info(id: &'static str, summary: impl Into<String>) -> Check {
        Check::new(id, Status::Info, summary)
    }

    pub fn warn(id: &'static str, summary: impl Into<String>) -> Check {
        Check::new(id, Status::Warn, summary)
    }

    pub fn error(id: &'static str, summary: impl Into<String>) -> Check {
        Check::new(id, Status::Error, summary)
    }

    pub fn skip(id: &'static str, summary: impl Into<String>) -> Check {
        Check::new(id, Status::Skip, summary)
    }

    /// Adds one piece of evidence (a path, a value read, an errno).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Check {
        self.evidence.insert(key.to_string(), value.into());
        self
    }

    /// Attaches the remedy and who can make it.
    pub fn fix(mut self, by: By, text: impl Into<String>) -> Check {
        self.fix = Some(Fix {
            by,
            text: text.into(),
            applied: false,
            actions: Vec::new(),
        });
        self
    }

    /// Attaches a fix this tool can make itself, with the actions it takes.
    pub fn job_fix(mut self, text: impl Into<String>, actions: Vec<Action>) -> Check {
        self.fix = Some(Fix {
            by: By::Job,
            text: text.into(),
            applied: false,
            actions,
        });
        self
    }

    /// Whether this finding makes `podman build` fail as things are.
    pub fn is_blocking(&self) -> bool {
        self.status == Status::Error
    }

    /// Whether this tool's own fixes can clear the finding.
    pub fn job_can_fix(&self) -> bool {
        matches!(&self.fix, Some(f) if f.by == By::Job && !f.actions.is_empty())
    }
}

/// Static description of a check for `list` and `explain`.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Stable dotted id, `<area>.<thing>`; never reused once retired.
    pub id: &'static str,
    /// One line: what is checked.
    pub title: &'static str,
    /// Why podman cares and what to do about it, for `explain ID`.
    pub explain: &'static str,
    /// Substrings of podman/buildah/crun error messages this check explains,
    /// for `explain -` reading a failed job's log.
    pub signatures: &'static [&'static str],
}

/// How podman will run here (as found, or after the fixes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Podman's own notion: any uid but 0, or uid 0 without CAP_SYS_ADMIN.
    pub rootless: bool,
    pub storage_driver: String,
    pub mount_program: Option<String>,
    /// `oci` (a new /proc for every RUN) or `chroot`.
    pub isolation: String,
    pub runtime: String,
    /// `pasta`, `slirp4netns`, `bridge`, `host`, …
    pub network: String,
}

impl Default for Plan {
    fn default() -> Plan {
        Plan {
            rootless: true,
            storage_driver: "overlay".into(),
            mount_program: None,
            isolation: "oci".into(),
            runtime: "crun".into(),
            network: "unknown".into(),
        }
    }
}

impl Plan {
    pub fn to_json(&self) -> Value {
        json!({
            "rootless": self.rootless,
            "storage_driver": self.storage_driver,
            "mount_program": self.mount_program,
            "isolation": self.isolation,
            "runtime": self.runtime,
            "network": self.network,
        })
    }
}

/// What a run does: `check` predicts (writes staged), `fix` writes,
/// `env` writes and prints exports, `exec` writes and runs a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Check,
    Fix,
    Env,
    Exec,
}

impl Mode {
    /// The name the report and the command line use.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Check => "check",
            Mode::Fix => "fix",
            Mode::Env => "env",
            Mode::Exec => "exec",
        }
    }

    /// Whether this mode changes nothing (its fixes are only predicted).
    pub fn predicts(self) -> bool {
        self == Mode::Check
    }
}
