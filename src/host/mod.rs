//! `Host` is the one seam between the doctor and the system it examines.
//!
//! Every file is read through a root prefix (`/` for the real system, a
//! fixture tree in tests), and the few answers no file can stand for —
//! `stat` ownership and device numbers, `statfs`, `access`, opening a device,
//! running a tool, fork-and-try probes — go through the [`Sys`] trait. Paths
//! handed to `Host` are always the *system* paths (`/proc/self/status`), so
//! evidence reads the same on every machine and fixtures stay stable.
//!
//! In capture mode every answer is also recorded, so a real environment can
//! be turned into a fixture tree (`podrun-doctor capture DIR`).

mod capture;
mod checked;
mod errno;
mod fixture;
pub mod probes;
mod real;
mod safe;
mod stat;
mod sys;
// issue 10: what the areas consulted and the fixes changed (re-run rounds).
mod touch;
// issue 10: tool versions from package databases and build information;
// public so that its pure parsers can be fuzzed (fuzz/).
pub mod version;
// issue 10: exact waits for children, and the run's overall budget.
mod wait;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

pub use capture::Capture;
pub use checked::{Found, ReadProblem, CHECKED_LIMIT};
pub use errno::{errno_name, error_from_name, io_error_name};
pub use fixture::FixtureSys;
pub use real::RealSys;
pub use safe::write_report;
pub use sys::{Access, CmdOutput, FileKind, FsStat, IdMapLine, Probe, ProbeResult, Stat, Sys};
pub use touch::{reached, Touch};
pub use version::Learnt;
pub use wait::Deadline;

/// The ids of the process being examined (captured once at start-up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

pub struct Host {
    root: PathBuf,
    ids: Ids,
    env: BTreeMap<String, String>,
    sys: Box<dyn Sys>,
    capture: Option<RefCell<Capture>>,
    /// Facts that cannot change during one run (a binary's version), kept
    /// across the fix rounds: a later round may not be able to ask again
    /// (podman 5 prints no version while HOME is only a staged directory).
    memo: RefCell<BTreeMap<String, String>>,
    /// Dry runs write here instead of to disk, so probing again sees the
    /// fixes without anything changing (`None` for a directory).
    staged: Option<RefCell<BTreeMap<String, Option<String>>>>,
    /// issue 10: the whole run's time budget; every child (tool or probe)
    /// is killed, with its process group, when it runs out.
    budget: Deadline,
    /// issue 9: how long one tool may take within the budget (short while
    /// probing, where `--version` answers at once; long for fix commands).
    tool_limit: std::time::Duration,
    /// issue 10: answers of the system kept while writes are only staged
    /// (see [`Host::kept`]).
    kept: RefCell<BTreeMap<String, Kept>>,
    /// issue 10: what the area now running consulted, while a probing pass
    /// keeps track ([`Host::consulting`]).
    consulted: RefCell<Option<Vec<Touch>>>,
    /// issue 10: what was staged or set since [`Host::take_changes`].
    changes: RefCell<Vec<Touch>>,
}

/// One answer of the system, kept for the run (errors by errno).
#[derive(Clone)]
enum Kept {
    Read(Result<String, i32>),
    Head(Result<Vec<u8>, i32>),
    Dir(Result<Vec<String>, i32>),
    Checked(Result<Option<String>, ReadProblem>),
    Stat(Result<Stat, i32>),
    FsStat(Result<FsStat, i32>),
    /// `access(2)` and opening a device: nothing but the answer.
    Done(Result<(), i32>),
}

/// An answer kind the run can keep, each in a `Kept` variant of its own,
/// so that [`Host::kept_call`] packs and unpacks it by its type.
trait Keep: Clone + Sized {
    fn pack(answer: Result<Self, i32>) -> Kept;
    fn unpack(kept: Kept) -> Option<Result<Self, i32>>;
}

macro_rules! keep {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl Keep for $t {
            fn pack(answer: Result<Self, i32>) -> Kept {
                Kept::$variant(answer)
            }
            fn unpack(kept: Kept) -> Option<Result<Self, i32>> {
                match kept {
                    Kept::$variant(answer) => Some(answer),
                    _ => None,
                }
            }
        }
    )*};
}

keep!(String => Read, Vec<u8> => Head, Vec<String> => Dir, Stat => Stat, FsStat => FsStat, () => Done);

/// An io result with its error reduced to the errno, when it has one.
fn by_errno<T>(r: &io::Result<T>) -> Option<Result<T, i32>>
where
    T: Clone,
{
    match r {
        Ok(v) => Some(Ok(v.clone())),
        // A stall is never kept: each call under a stalled mount must
        // still meet it (areas count what they met).
        Err(e) => e
            .raw_os_error()
            .filter(|&n| n != nix::libc::ETIMEDOUT)
            .map(Err),
    }
}

/// A tool's limit unless the run sets one ([`Host::set_tool_limit`]).
const TOOL_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);
/// Even with the budget spent, a tool gets this long to answer.
const TOOL_FLOOR: std::time::Duration = std::time::Duration::from_millis(100);

impl Host {
    /// The real system, as this process sees it.
    pub fn system() -> Host {
        let ids = Ids {
            uid: nix::unistd::geteuid().as_raw(),
            gid: nix::unistd::getegid().as_raw(),
            groups: nix::unistd::getgroups()
                .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
                .unwrap_or_default(),
        };
        let env = std::env::vars_os()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        Host {
            root: PathBuf::from("/"),
            ids,
            env,
            sys: Box::new(RealSys::default()),
            capture: None,
            memo: RefCell::default(),
            staged: None,
            budget: Deadline::unlimited(),
            tool_limit: TOOL_LIMIT,
            kept: RefCell::default(),
            consulted: RefCell::default(),
            changes: RefCell::default(),
        }
    }

    /// A fixture tree: `DIR/host.json` holds ids, environment and live
    /// answers; `DIR/root/` holds the files.
    pub fn fixture(dir: &Path) -> Result<Host, String> {
        let (ids, env, sys) = fixture::load(dir)?;
        Ok(Host {
            root: dir.join("root"),
            ids,
            env,
            sys: Box::new(sys),
            capture: None,
            memo: RefCell::default(),
            staged: None,
            budget: Deadline::unlimited(),
            tool_limit: TOOL_LIMIT,
            kept: RefCell::default(),
            consulted: RefCell::default(),
            changes: RefCell::default(),
        })
    }

    /// The real system, recording everything read for `capture`.
    pub fn capturing() -> Host {
        let mut host = Host::system();
        host.capture = Some(RefCell::new(Capture::starting_with(host.env.clone())));
        host
    }

    /// Whether every answer is being recorded (`capture`).
    pub fn is_capturing(&self) -> bool {
        self.capture.is_some()
    }

    /// Takes the recording made so far (capture mode only).
    pub fn take_capture(&self) -> Option<Capture> {
        self.capture.as_ref().map(|c| {
            let mut c = std::mem::take(&mut *c.borrow_mut());
            c.ids = Some(self.ids.clone());
            c
        })
    }

    fn record(&self, f: impl FnOnce(&mut Capture)) {
        if let Some(c) = &self.capture {
            f(&mut c.borrow_mut());
        }
    }

    /// From now on, writes are staged in memory and only seen by later
    /// reads of this host (`--dry-run`, and `check` predicting its fixes).
    pub fn stage_writes(&mut self) {
        self.staged = Some(RefCell::new(BTreeMap::new()));
    }

    pub fn is_staging(&self) -> bool {
        self.staged.is_some()
    }

    /// Whether this path was written only in memory (a staged dry-run
    /// write): a fork-and-try probe whose helper reads the file from disk
    /// (newuidmap reading `/etc/subuid`) cannot see it.
    pub fn is_staged(&self, path: &str) -> bool {
        self.staged(path).is_some()
    }

    /// Every file call that sees staged writes looks here first, so this is
    /// where a lookup is counted as consulted.
    fn staged(&self, path: &str) -> Option<Option<String>> {
        let staged = self.staged.as_ref()?;
        self.consult(|| Touch::Path(path.to_string()));
        staged.borrow().get(path).cloned()
    }

    fn stage(&self, path: &str, contents: Option<String>) -> bool {
        match &self.staged {
            Some(s) => {
                s.borrow_mut().insert(path.to_string(), contents);
                self.changes
                    .borrow_mut()
                    .push(Touch::Path(path.to_string()));
                true
            }
            None => false,
        }
    }

    /// issue 10: from now on, until [`Host::consulted`], what the probes
    /// consult that a staged write or a variable set can change is listed.
    pub fn consulting(&self) {
        *self.consulted.borrow_mut() = Some(Vec::new());
    }

    /// What was consulted since [`Host::consulting`]; stops listing.
    pub fn consulted(&self) -> Vec<Touch> {
        self.consulted.borrow_mut().take().unwrap_or_default()
    }

    fn consult(&self, touch: impl FnOnce() -> Touch) {
        if let Some(list) = self.consulted.borrow_mut().as_mut() {
            list.push(touch());
        }
    }

    /// issue 10: the paths staged and variables set since the last call.
    pub fn take_changes(&self) -> Vec<Touch> {
        std::mem::take(&mut self.changes.borrow_mut())
    }

    pub fn is_fixture(&self) -> bool {
        self.root != Path::new("/")
    }

    /// The ids the doctor runs as (effective uid and gid).
    pub fn ids(&self) -> &Ids {
        &self.ids
    }

    pub fn uid(&self) -> u32 {
        self.ids.uid
    }

    pub fn gid(&self) -> u32 {
        self.ids.gid
    }

    /// An environment variable of the examined process. Values are evidence
    /// for decisions only: never put one in a report unless this tool set it.
    pub fn env(&self, key: &str) -> Option<&str> {
        self.consult(|| Touch::Env(key.to_string()));
        self.record(|c| {
            c.env.insert(key.to_string(), self.env.get(key).cloned());
        });
        self.env.get(key).map(String::as_str)
    }

    /// An environment variable that is set and not empty.
    pub fn env_nonempty(&self, key: &str) -> Option<&str> {
        self.env(key).filter(|v| !v.is_empty())
    }

    /// Replaces the environment seen by later probes (the fixing modes probe
    /// again with the environment they will export).
    pub fn set_env(&mut self, key: &str, value: Option<&str>) {
        self.changes.borrow_mut().push(Touch::Env(key.to_string()));
        match value {
            Some(v) => self.env.insert(key.to_string(), v.to_string()),
            None => self.env.remove(key),
        };
    }

    /// The whole environment, for `exec` to hand on to the command.
    pub fn env_all(&self) -> &BTreeMap<String, String> {
        self.consult(|| Touch::Everything);
        &self.env
    }

    /// Where a system path lives in this host's tree.
    pub fn path(&self, system_path: &str) -> PathBuf {
        self.root.join(system_path.trim_start_matches('/'))
    }

    /// Reads a whole file as text (lossy UTF-8).
    pub fn read(&self, path: &str) -> io::Result<String> {
        match self.staged(path) {
            Some(Some(text)) => return Ok(text),
            Some(None) => return Err(io::Error::from_raw_os_error(nix::libc::EISDIR)),
            None => {}
        }
        self.kept_call(format!("read {path}"), || {
            let result = self
                .sys
                .read(&self.root, path)
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
            self.record(|c| c.file(path, &result));
            result
        })
    }

    /// At most the first `limit` bytes of a file, for a search in one that
    /// may be large (libpod's database); kept like a read while staging.
    pub fn read_head(&self, path: &str, limit: u64) -> io::Result<Vec<u8>> {
        match self.staged(path) {
            Some(Some(text)) => {
                let mut bytes = text.into_bytes();
                bytes.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
                return Ok(bytes);
            }
            Some(None) => return Err(io::Error::from_raw_os_error(nix::libc::EISDIR)),
            None => {}
        }
        let key = format!("head {limit} {path}");
        self.kept_call(key, || self.read_head_now(path, limit))
    }

    fn read_head_now(&self, path: &str, limit: u64) -> io::Result<Vec<u8>> {
        let result = self.sys.read_head(&self.root, path, limit);
        self.record(|c| {
            let as_text = match &result {
                Ok(bytes) => Ok(String::from_utf8_lossy(bytes).into_owned()),
                Err(e) => Err(e.raw_os_error().map_or_else(
                    || io::Error::other(e.to_string()),
                    io::Error::from_raw_os_error,
                )),
            };
            c.file(path, &as_text)
        });
        result
    }

    /// issue 10: while writes are only staged (`check`, `--dry-run`) the
    /// doctor changes nothing on disk, so the second fix round's reads and
    /// stats of the same files are answered from what the first round
    /// read (the staged writes are looked at before, as always). Not in
    /// capture mode, which records every call, nor for a stall.
    fn kept(&self, key: &str) -> Option<Kept> {
        if !self.is_staging() || self.capture.is_some() {
            return None;
        }
        self.kept.borrow().get(key).cloned()
    }

    fn keep(&self, key: String, answer: Kept) {
        if self.is_staging() && self.capture.is_none() {
            self.kept.borrow_mut().insert(key, answer);
        }
    }

    /// A file call answered from what the run kept under `key` ([`Host::kept`]),
    /// else made by `call` (which records it) and kept when its answer is
    /// an answer ([`by_errno`]: never a stall).
    fn kept_call<T: Keep>(
        &self,
        key: String,
        call: impl FnOnce() -> io::Result<T>,
    ) -> io::Result<T> {
        if let Some(r) = self.kept(&key).and_then(T::unpack) {
            return r.map_err(io::Error::from_raw_os_error);
        }
        let result = call();
        if let Some(r) = by_errno(&result) {
            self.keep(key, T::pack(r));
        }
        result
    }

    /// Names in a directory, sorted.
    pub fn read_dir(&self, path: &str) -> io::Result<Vec<String>> {
        let mut result = self.kept_call(format!("dir {path}"), || {
            self.sys.read_dir(&self.root, path)
        });
        if let Some(staged) = &self.staged {
            self.consult(|| Touch::Listing(path.to_string()));
            let prefix = format!("{}/", path.trim_end_matches('/'));
            let extra: Vec<String> = staged
                .borrow()
                .keys()
                .filter_map(|k| k.strip_prefix(&prefix))
                .filter(|rest| !rest.contains('/'))
                .map(str::to_string)
                .collect();
            if !extra.is_empty() {
                let mut names = result.unwrap_or_default();
                names.extend(extra);
                names.sort();
                names.dedup();
                result = Ok(names);
            }
        }
        self.record(|c| c.dir(path, &result));
        result
    }

    /// `stat(2)` following symlinks.
    pub fn stat(&self, path: &str) -> io::Result<Stat> {
        if let Some(staged) = self.staged(path) {
            return Ok(Stat {
                kind: if staged.is_some() {
                    FileKind::File
                } else {
                    FileKind::Dir
                },
                mode: if staged.is_some() { 0o644 } else { 0o700 },
                uid: self.ids.uid,
                gid: self.ids.gid,
                rdev: (0, 0),
                size: staged.map_or(0, |s| s.len() as u64),
            });
        }
        self.stat_kept("stat", path, || self.sys.stat(&self.root, path))
    }

    /// A stat-like call answered as [`Host::kept_call`] does (`what`:
    /// `stat` or `lstat`, part of the key) and recorded in a capture.
    fn stat_kept(
        &self,
        what: &str,
        path: &str,
        call: impl FnOnce() -> io::Result<Stat>,
    ) -> io::Result<Stat> {
        self.kept_call(format!("{what} {path}"), || {
            let result = call();
            self.record(|c| c.stat(path, &result));
            result
        })
    }

    /// `lstat(2)`: the entry itself; a symlink is reported as one, never
    /// followed. Ownership decisions must use this (or
    /// [`Host::owned_dir_no_follow`]), not [`Host::stat`].
    pub fn lstat(&self, path: &str) -> io::Result<Stat> {
        if self.staged(path).is_some() {
            return self.stat(path);
        }
        self.stat_kept("lstat", path, || self.sys.lstat(&self.root, path))
    }

    /// Whether `path` is a directory owned by `uid` itself — not a symlink
    /// to one, which its owner could point anywhere at any time.
    pub fn owned_dir_no_follow(&self, path: &str, uid: u32) -> bool {
        matches!(self.lstat(path), Ok(s) if s.kind == FileKind::Dir && s.uid == uid)
    }

    /// Reads a file so that nothing at the path can block the doctor or
    /// pass for an absent file: `Ok(None)` when nothing is there, else the
    /// text, or a [`ReadProblem`] whose `Display` is the user's sentence
    /// (file, what was found, next step). A FIFO, socket, device or
    /// directory, more than [`CHECKED_LIMIT`] bytes, no read permission, a
    /// symlink loop and non-UTF-8 bytes are all problems.
    pub fn read_checked(&self, path: &str) -> Result<Option<String>, ReadProblem> {
        match self.staged(path) {
            Some(Some(text)) => return Ok(Some(text)),
            Some(None) => return Err(ReadProblem::new(path, Found::NotRegular(FileKind::Dir))),
            None => {}
        }
        if let Some(Kept::Checked(r)) = self.kept(&format!("checked {path}")) {
            return r;
        }
        let result = self.sys.read_checked(&self.root, path).and_then(|bytes| {
            bytes
                .map(|b| String::from_utf8(b).map_err(|_| ReadProblem::new(path, Found::NotUtf8)))
                .transpose()
        });
        self.record(|c| {
            let as_io = match &result {
                Ok(Some(text)) => Ok(text.clone()),
                Ok(None) => Err(io::Error::from_raw_os_error(nix::libc::ENOENT)),
                Err(p) => Err(io::Error::from_raw_os_error(p.errno())),
            };
            c.file(path, &as_io)
        });
        // By name: ReadProblem::errno looks the name up among all errnos.
        if !matches!(&result, Err(ReadProblem { found: Found::Error(e), .. }) if e == "ETIMEDOUT") {
            self.keep(format!("checked {path}"), Kept::Checked(result.clone()));
        }
        result
    }

    pub fn exists(&self, path: &str) -> bool {
        self.stat(path).is_ok()
    }

    pub fn is_dir(&self, path: &str) -> bool {
        matches!(self.stat(path), Ok(s) if s.kind == FileKind::Dir)
    }

    /// `statfs(2)`: filesystem type, free space, read-only flag.
    pub fn statfs(&self, path: &str) -> io::Result<FsStat> {
        self.kept_call(format!("statfs {path}"), || {
            let result = self.sys.statfs(&self.root, path);
            self.record(|c| c.statfs(path, &result));
            result
        })
    }

    /// The path itself if it exists, else its nearest existing ancestor:
    /// where a directory podman will create is going to live.
    pub fn nearest_existing(&self, path: &str) -> String {
        let mut p = Path::new(path);
        loop {
            let s = p.to_string_lossy();
            if self.staged(&s).is_none() && self.exists(&s) {
                return s.into_owned();
            }
            match p.parent() {
                Some(parent) => p = parent,
                None => return "/".to_string(),
            }
        }
    }

    /// `access(2)` for the examined process's ids.
    pub fn access(&self, path: &str, mode: Access) -> io::Result<()> {
        if self.staged(path).is_some() {
            return Ok(());
        }
        self.kept_call(format!("access {mode:?} {path}"), || {
            let result = self.sys.access(&self.root, path, mode);
            self.record(|c| c.access(path, mode, &result));
            result
        })
    }

    /// Opens a file or device read-write and closes it again.
    pub fn open_rw(&self, path: &str) -> io::Result<()> {
        self.kept_call(format!("open {path}"), || {
            let result = self.sys.open_rw(&self.root, path);
            self.record(|c| c.open(path, &result));
            result
        })
    }

    /// The raw `security.capability` extended attribute, if any.
    pub fn file_caps(&self, path: &str) -> io::Result<Option<Vec<u8>>> {
        let result = self.sys.file_caps(&self.root, path);
        self.record(|c| c.file_caps(path, &result));
        result
    }

    /// issue 10: from now on no child outlives `budget` (each still has its
    /// own, shorter deadline too).
    pub fn set_budget(&mut self, budget: Deadline) {
        self.budget = budget;
        self.sys.set_budget(budget);
    }

    /// issue 9: what did not answer within its deadline so far (a stalled
    /// mount, a hung tool or probe), in the order met.
    pub fn stalls(&self) -> Vec<String> {
        self.sys.stalls()
    }

    pub fn budget(&self) -> Deadline {
        self.budget
    }

    pub fn set_tool_limit(&mut self, limit: std::time::Duration) {
        self.tool_limit = limit;
    }

    /// The deadline of the next tool run.
    fn tool_deadline(&self) -> Deadline {
        self.budget.within(self.tool_limit).at_least(TOOL_FLOOR)
    }

    /// Runs a tool (for versions); never a shell.
    pub fn run(&self, argv: &[&str]) -> io::Result<CmdOutput> {
        self.consult(|| Touch::Everything);
        let result = self.sys.run_within(argv, &self.env, self.tool_deadline());
        self.record(|c| c.command(argv, &self.env, &result));
        result
    }

    /// Like [`Host::run`], with some variables removed from the child's
    /// environment (a dry run's variables that name files only staged,
    /// which a child process cannot see).
    pub fn run_without(&self, argv: &[&str], remove: &[&str]) -> io::Result<CmdOutput> {
        self.consult(|| Touch::Everything);
        let mut env = self.env.clone();
        for key in remove {
            env.remove(*key);
        }
        let result = self.sys.run_within(argv, &env, self.tool_deadline());
        self.record(|c| c.command(argv, &env, &result));
        result
    }

    /// The remembered answer for `key`, or `answer()` remembered when it
    /// gives one. Only for facts fixed for the whole run.
    pub fn remember(&self, key: &str, answer: impl FnOnce() -> Option<String>) -> Option<String> {
        if let Some(known) = self.memo.borrow().get(key) {
            return Some(known.clone());
        }
        let consulted_before = self.consulted.borrow().as_ref().map(Vec::len);
        let value = answer()?;
        // issue 10: the answer holds for the run, so what it took to learn
        // it can change nothing a later pass finds.
        if let (Some(n), Some(list)) = (consulted_before, self.consulted.borrow_mut().as_mut()) {
            list.truncate(n);
        }
        self.memo
            .borrow_mut()
            .insert(key.to_string(), value.clone());
        Some(value)
    }

    /// A fork-and-try probe (see [`Probe`]).
    ///
    /// issue 10: while writes are only staged (`check`, `--dry-run`) no
    /// child can see them, so the same probe gives the same answer in every
    /// fix round: it runs once. An answer [`Host::prefetch`] collected is
    /// taken instead of forking again.
    pub fn probe(&self, probe: &Probe) -> ProbeResult {
        let key = format!("probe {}", probe.key());
        if let Some(known) = self
            .is_staging()
            .then(|| self.memo.borrow().get(&key).cloned())
        {
            if let Some(r) = known.and_then(|k| probes::decode(&k)) {
                return r;
            }
        }
        let result = self
            .sys
            .prefetched(probe)
            .unwrap_or_else(|| self.sys.probe_within(&self.root, probe, self.budget));
        if self.is_staging() && result.ran {
            self.memo.borrow_mut().insert(key, probes::encode(&result));
        }
        self.record(|c| c.probe(probe, &result));
        result
    }

    /// issue 10: starts `probes` side by side now (on the real system; a
    /// fixture answers each when asked), and the [`Host::probe`] that asks
    /// for one next takes its answer, waiting for it then: the children run
    /// while the areas in between read files. What an earlier prefetch
    /// started and no one asked for is dropped first: a fix applied since
    /// may change it. Only probes that depend on nothing staged or computed
    /// later belong here.
    pub fn prefetch(&self, wanted: &[Probe]) {
        let todo: Vec<Probe> = wanted
            .iter()
            .filter(|p| {
                !(self.is_staging()
                    && self
                        .memo
                        .borrow()
                        .contains_key(&format!("probe {}", p.key())))
            })
            .cloned()
            .collect();
        self.sys.prefetch(&self.root, &todo, self.budget);
    }

    /// Looks a program up in `PATH` (as the examined process would), or a
    /// default path when `PATH` is unset. Returns the system path.
    ///
    /// issue 10: while writes are only staged nothing on disk changes, so
    /// an answer is kept for the run (by name and `PATH`): the second fix
    /// round asked again for ~15 tools, a stat per `PATH` entry each.
    pub fn which(&self, name: &str) -> Option<String> {
        let path = self
            .env("PATH")
            .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .to_string();
        if !self.is_staging() || self.capture.is_some() {
            return self.which_in(&path, name);
        }
        let key = format!("which {name} in {path}");
        if let Some(known) = self.memo.borrow().get(&key) {
            return (!known.is_empty()).then(|| known.clone());
        }
        let found = self.which_in(&path, name);
        self.memo
            .borrow_mut()
            .insert(key, found.clone().unwrap_or_default());
        found
    }

    fn which_in(&self, path: &str, name: &str) -> Option<String> {
        let dirs: Vec<&str> = path.split(':').filter(|d| !d.is_empty()).collect();
        // A directory listed twice cannot hold the first match the second time.
        let first_time = |(i, d): &(usize, &&str)| !dirs[..*i].contains(d);
        dirs.iter()
            .enumerate()
            .filter(first_time)
            .find_map(|(_, dir)| {
                let candidate = format!("{}/{name}", dir.trim_end_matches('/'));
                match self.stat(&candidate) {
                    Ok(s) if s.kind == FileKind::File && s.mode & 0o111 != 0 => Some(candidate),
                    _ => None,
                }
            })
    }

    /// Writes a file atomically (temp file in the same directory + rename)
    /// with `mode`, never wider than the file it replaces. The parent must
    /// exist; no component may be a symlink or a directory of another uid
    /// (see `safe.rs`).
    pub fn write_atomic(&self, path: &str, contents: &str, mode: u32) -> io::Result<()> {
        if self.stage(path, Some(contents.to_string())) {
            return Ok(());
        }
        self.not_stalled(path)?;
        safe::write_atomic(&self.root, path, contents, mode, None)
    }

    /// [`Host::write_atomic`] of a file whose current content the caller
    /// judged (`expected`, `None` for absent): refused with `EAGAIN` when
    /// the file no longer holds it, so a file swapped in between the check
    /// and the write is never overwritten.
    pub fn replace_checked(
        &self,
        path: &str,
        expected: Option<&str>,
        contents: &str,
        mode: u32,
    ) -> io::Result<()> {
        if self.is_staging() {
            return self.write_atomic(path, contents, mode);
        }
        self.not_stalled(path)?;
        safe::write_atomic(&self.root, path, contents, mode, Some(expected))
    }

    /// Reads a file the fixes may rewrite, following no symlink on the way:
    /// `None` when it does not exist.
    pub fn read_no_follow(&self, path: &str) -> io::Result<Option<String>> {
        match self.staged(path) {
            Some(Some(text)) => return Ok(Some(text)),
            Some(None) => return Err(io::Error::from_raw_os_error(nix::libc::EISDIR)),
            None => {}
        }
        self.not_stalled(path)?;
        safe::read_no_follow(&self.root, path)
    }

    /// issue 9: `ETIMEDOUT` for a path on a mount that stalled this run
    /// (the no-follow walks run inline and would block on it).
    fn not_stalled(&self, path: &str) -> io::Result<()> {
        if self.sys.on_stalled_mount(&self.root, path) {
            return Err(io::Error::from_raw_os_error(nix::libc::ETIMEDOUT));
        }
        Ok(())
    }

    /// Appends text to an existing file (staged runs, and tests): one line
    /// at a time through [`Host::append_line`].
    pub fn append(&self, path: &str, text: &str) -> io::Result<()> {
        for line in text.lines() {
            self.append_line(path, line)?;
        }
        Ok(())
    }

    /// Adds `line` to an existing system file (`/etc/passwd`, sub-id files)
    /// unless it is there already; true when added. The file is replaced
    /// atomically with its owner and mode kept, or, when only the file and
    /// not its directory is writable, extended in place by one `write(2)`.
    pub fn append_line(&self, path: &str, line: &str) -> io::Result<bool> {
        if self.staged.is_some() {
            let old = self.read(path)?;
            if old.lines().any(|l| l == line) {
                return Ok(false);
            }
            let sep = if old.is_empty() || old.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            self.stage(path, Some(format!("{old}{sep}{line}\n")));
            return Ok(true);
        }
        self.not_stalled(path)?;
        safe::append_line(&self.root, path, line)
    }

    /// Creates a directory and its parents, following no symlink and
    /// entering no directory of another uid; only a directory this call
    /// made gets `mode` (set on its descriptor). True when it was made.
    pub fn create_dir(&self, path: &str, mode: u32) -> io::Result<bool> {
        if self.staged.is_some() {
            let mut dir = Path::new(path);
            let made = !self.exists(path);
            while dir != Path::new("/") && !self.exists(&dir.to_string_lossy()) {
                self.stage(&dir.to_string_lossy(), None);
                dir = dir.parent().unwrap_or(Path::new("/"));
            }
            return Ok(made);
        }
        self.not_stalled(path)?;
        safe::create_dir(&self.root, path, mode)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// issue 10: while staging, a file read (or found absent) once gives
    /// the same answer for the rest of the run; otherwise every read asks
    /// the system again.
    #[test]
    fn staged_runs_keep_what_they_read_and_others_read_again() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("root/etc")).unwrap();
        std::fs::write(
            dir.path().join("host.json"),
            r#"{"ids": {"uid": 0, "gid": 0}}"#,
        )
        .unwrap();
        let file = dir.path().join("root/etc/f");
        std::fs::write(&file, "one").unwrap();
        let live = Host::fixture(dir.path()).unwrap();
        assert_eq!(live.read("/etc/f").unwrap(), "one");
        let mut staged = Host::fixture(dir.path()).unwrap();
        staged.stage_writes();
        assert_eq!(staged.read("/etc/f").unwrap(), "one");
        assert_eq!(
            staged.read_checked("/etc/f").unwrap().as_deref(),
            Some("one")
        );
        assert!(!staged.exists("/etc/g"));
        std::fs::write(&file, "two").unwrap();
        std::fs::write(dir.path().join("root/etc/g"), "").unwrap();
        assert_eq!(live.read("/etc/f").unwrap(), "two");
        assert_eq!(staged.read("/etc/f").unwrap(), "one");
        assert_eq!(
            staged.read_checked("/etc/f").unwrap().as_deref(),
            Some("one")
        );
        assert!(!staged.exists("/etc/g"));
        // A staged write is still seen first.
        staged.write_atomic("/etc/f", "three", 0o644).unwrap();
        assert_eq!(staged.read("/etc/f").unwrap(), "three");
    }
}
