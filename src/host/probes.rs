//! Fork-and-try probes on the real system (see [`Probe`]).
//!
//! Every probe runs in a forked child, so the doctor's own process never
//! changes namespace, mounts anything or joins a keyring. A child reports one
//! line through a pipe (`ok step errno detail`), is bounded by `alarm()` and
//! by the parent's deadline, and always leaves through `_exit`. Temporary
//! directories are made by the parent and removed by it, whatever happened.
//!
//! What each probe imitates:
//! - `UserNs`: `unshare(CLONE_NEWUSER)`, podman's first step when rootless.
//! - `UserNsMap`: podman's `becomeRootInUserNS`: the child unshares, the
//!   parent maps it with `newuidmap PID inside outside count …` (and
//!   `newgidmap`), or writes `/proc/PID/uid_map` itself as podman does for
//!   uid 0 (`copyMappings`: no `setgroups` write, `4294967295` split in two;
//!   the single-ID fallback `0 EUID 1` writes `setgroups` `deny` first).
//!   The child then proves the map by becoming uid/gid 0.
//! - `ProcMount`: crun for a `RUN` step: new user (own ids mapped to 0),
//!   mount and pid namespaces, mounts made private, pid 1 of the new pid
//!   namespace mounts a fresh `proc` (`nosuid,nodev,noexec`).
//! - `Overlay`: containers/storage's mount test: upper and work directories
//!   in the given directory (the graphroot's file system), lower and mount
//!   point on scratch, `userxattr` added inside a user namespace.
//! - `BindMount`: a temporary directory bound onto itself (AppArmor's
//!   `deny mount` answers EACCES, already at making `/` private).
//! - `Keyctl`: crun's `KEYCTL_JOIN_SESSION_KEYRING`; ENOSYS counts as ok,
//!   as crun tolerates it.

use super::errno::{errno_name, io_error_name};
use super::sys::{IdMapLine, Probe, ProbeResult};
use super::wait::{defer_reap, pipe_ready, wait_child, Deadline};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use nix::sys::signal::{SigHandler, SigSet, Signal};
use nix::sys::wait::WaitStatus;
use nix::unistd::{ForkResult, Gid, Pid, Uid};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// `alarm()` of every child, in seconds.
const CHILD_SECONDS: u32 = 5;
/// How long a parent waits for a child (or a helper) before killing it.
const DEADLINE: Duration = Duration::from_secs(6);
/// `KEYCTL_JOIN_SESSION_KEYRING` from `<linux/keyctl.h>`.
const KEYCTL_JOIN_SESSION_KEYRING: nix::libc::c_long = 1;

/// Runs one probe in a forked child and says how it went; the child is
/// reaped and its directories removed before this returns.
pub fn run(probe: &Probe) -> ProbeResult {
    let r = run_within(probe, Deadline::unlimited());
    settle(Deadline::unlimited());
    r
}

/// [`run`], where no wait lasts past `budget` (the run's) nor [`DEADLINE`]
/// (the probe's own).
pub fn run_within(probe: &Probe, budget: Deadline) -> ProbeResult {
    match probe {
        Probe::UserNsMap {
            helpers,
            uid_map,
            gid_map,
        } => userns_map(helpers.as_ref(), uid_map, gid_map, budget),
        _ => match start(probe, budget) {
            Ok(running) => running.finish(budget),
            Err(r) => r,
        },
    }
}

/// Runs `probes` side by side ([`Started`]) and collects every answer, in
/// the order asked; `UserNsMap`, which the parent must map while its child
/// waits, runs in turn among the collections.
pub fn run_many(probes: &[Probe], budget: Deadline) -> Vec<ProbeResult> {
    let mut started = Started::start(probes, budget);
    probes
        .iter()
        .map(|p| started.take(p).unwrap_or_else(|| run_within(p, budget)))
        .collect()
}

/// Probes started side by side, each answered when asked ([`Started::take`]),
/// so that their children run while the doctor reads files (issue 10:
/// collecting every answer at once made the doctor wait 2-8 ms for the
/// slowest). Every child that needs nothing from the parent once forked is
/// started; probes that can share a child ([`shares_a_child`]) run in one
/// child per user-namespace kind, one after the other: a fork and an exit
/// each cost the doctor more than the probe itself. `UserNsMap` is not
/// started (its parent maps it while the child waits). What is never asked
/// is collected when this is dropped.
#[derive(Default)]
pub struct Started {
    alone: Vec<(Probe, Result<Running, ProbeResult>)>,
    groups: Vec<(Vec<Probe>, Group)>,
    answered: Vec<(Probe, ProbeResult)>,
    budget: Deadline,
}

impl Started {
    pub fn start(probes: &[Probe], budget: Deadline) -> Started {
        let mut started = Started::default();
        started.budget = budget;
        let mut unique: Vec<&Probe> = Vec::new();
        for p in probes {
            if !unique.contains(&p) && !matches!(p, Probe::UserNsMap { .. }) {
                unique.push(p);
            }
        }
        // Probes share a child only where there are two or more of a kind.
        let grouped = |userns| -> Vec<&Probe> {
            let kind = |p: &&Probe| shares_a_child(p) == Some(userns);
            let members: Vec<&Probe> = unique.iter().copied().filter(kind).collect();
            if members.len() > 1 {
                members
            } else {
                Vec::new()
            }
        };
        let groups = [grouped(false), grouped(true)];
        // The probes of a child of their own first: the proc mount is the
        // first answer an area asks for (mounts), the shared child's after.
        for p in unique.iter().copied() {
            if !groups.iter().any(|g| g.contains(&p)) {
                started.alone.push((p.clone(), start(p, budget)));
            }
        }
        for (userns, members) in [false, true].into_iter().zip(groups) {
            if !members.is_empty() {
                let group = start_group(userns, &members);
                started
                    .groups
                    .push((members.into_iter().cloned().collect(), group));
            }
        }
        started
    }

    /// The answer of a started probe, waited for now; `None` when it was
    /// not started (or its answer was taken already).
    pub fn take(&mut self, probe: &Probe) -> Option<ProbeResult> {
        if let Some(i) = self.answered.iter().position(|(p, _)| p == probe) {
            return Some(self.answered.remove(i).1);
        }
        if let Some(i) = self.alone.iter().position(|(p, _)| p == probe) {
            return Some(match self.alone.remove(i).1 {
                Ok(running) => running.finish(self.budget),
                Err(r) => r,
            });
        }
        let i = self.groups.iter().position(|(m, _)| m.contains(probe))?;
        let (members, group) = self.groups.remove(i);
        let answers = group.finish(self.budget);
        self.answered.extend(members.into_iter().zip(answers));
        self.take(probe)
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let budget = self.budget;
        for (_, running) in self.alone.drain(..) {
            if let Ok(running) = running {
                let _ = running.finish(budget);
            }
        }
        for (_, group) in self.groups.drain(..) {
            let _ = group.finish(budget);
        }
    }
}

/// Whether `probe` can share a child with others, and then whether its
/// user namespace is entered (once, by the child, for all of them). Each
/// enters its own mount or UTS namespace after the ones before it, so none
/// changes what a later one finds; the keyring join changes no namespace.
/// Proc mounts (a pid namespace, a grandchild) and the bare user-namespace
/// probes keep a child each.
fn shares_a_child(probe: &Probe) -> Option<bool> {
    match probe {
        Probe::BindMount { userns }
        | Probe::Overlay { userns, .. }
        | Probe::Hostname { userns } => Some(*userns),
        Probe::Keyctl => Some(false),
        _ => None,
    }
}

/// What a probe's child does, and the directories it uses (the child
/// removes them once it has reported, see [`remove_trees`]).
struct Prepared {
    body: Box<dyn FnOnce() -> ProbeResult>,
    dirs: Vec<TempDir>,
}

/// Sets up a probe that can share a child. `entered`: its user namespace
/// (when it has one) is entered by the shared child before it runs.
fn prepare(probe: &Probe, entered: bool) -> Result<Prepared, ProbeResult> {
    let bare = |body: Box<dyn FnOnce() -> ProbeResult>| Prepared {
        body,
        dirs: Vec::new(),
    };
    match probe {
        Probe::BindMount { userns } => bind_mount(*userns && !entered),
        Probe::Overlay { dir, userns } => overlay(Path::new(dir), *userns, *userns && !entered),
        Probe::Hostname { userns } => Ok(bare(Box::new(hostname(*userns && !entered)))),
        Probe::Keyctl => Ok(bare(Box::new(keyctl))),
        _ => Err(ProbeResult::not_run("this probe needs a child of its own")),
    }
}

/// Probes sharing one child, started: each report is taken by its place
/// among the bodies; a probe that failed before the fork has its answer.
pub struct Group {
    child: Result<Child, ProbeResult>,
    /// Per member: its place among the child's bodies, or its answer.
    members: Vec<Result<usize, ProbeResult>>,
    dirs: Vec<TempDir>,
}

fn start_group(userns: bool, probes: &[&Probe]) -> Group {
    let (mut bodies, mut dirs, mut members) = (Vec::new(), Vec::new(), Vec::new());
    for probe in probes {
        match prepare(probe, true) {
            Ok(p) => {
                members.push(Ok(bodies.len()));
                bodies.push(p.body);
                dirs.extend(p.dirs);
            }
            Err(r) => members.push(Err(r)),
        }
    }
    if bodies.is_empty() {
        let child = Err(ProbeResult::not_run("no probe left to run"));
        return Group {
            child,
            members,
            dirs,
        };
    }
    let child = spawn_bodies(userns, bodies, &dirs);
    Group {
        child,
        members,
        dirs,
    }
}

/// Forks one child that runs `bodies` in turn (first entering its user
/// namespace when `userns`), sends each answer by its place, then removes
/// the trees of `dirs` ([`remove_trees`]).
fn spawn_bodies(
    userns: bool,
    bodies: Vec<Box<dyn FnOnce() -> ProbeResult>>,
    dirs: &[TempDir],
) -> Result<Child, ProbeResult> {
    let (uid, gid) = own_ids();
    let trees: Vec<PathBuf> = dirs.iter().map(|d| d.path.clone()).collect();
    spawn_reporting(move |report| {
        let entered = match userns {
            true => enter(true, CloneFlags::empty(), uid, gid),
            false => Ok(()),
        };
        for (place, body) in bodies.into_iter().enumerate() {
            let r = match &entered {
                Ok(()) => caught(body),
                Err(failed) => failed.clone(),
            };
            send(report, place, &r);
        }
        remove_trees(&trees);
    })
}

impl Group {
    fn finish(self, budget: Deadline) -> Vec<ProbeResult> {
        let ran = self.members.iter().filter(|m| m.is_ok()).count();
        let mut reports = match self.child {
            Ok(child) => finish_all(child, ran, budget),
            Err(failed) => vec![failed; ran],
        };
        for dir in self.dirs {
            settle_later(dir);
        }
        self.members
            .into_iter()
            .map(|m| match m {
                Ok(place) => std::mem::replace(&mut reports[place], ProbeResult::not_run("taken")),
                Err(r) => r,
            })
            .collect()
    }
}

/// A probe child started and not yet heard from, with the directories it
/// uses (removed in [`settle`], once the child is reaped, if the child
/// left any).
pub struct Running {
    child: Child,
    dirs: Vec<TempDir>,
}

impl Running {
    fn finish(self, budget: Deadline) -> ProbeResult {
        let r = finish(self.child, budget);
        for dir in self.dirs {
            settle_later(dir);
        }
        r
    }
}

/// Sets up and forks a probe that, once forked, needs nothing from the
/// parent (every kind but `UserNsMap`).
fn start(probe: &Probe, budget: Deadline) -> Result<Running, ProbeResult> {
    let bare = |child| Running {
        child,
        dirs: Vec::new(),
    };
    match probe {
        Probe::UserNs => spawn(|| {
            done(unshare(CloneFlags::CLONE_NEWUSER).map(|()| "unshare(CLONE_NEWUSER) ok".into()))
        })
        .map(bare),
        Probe::ProcMount { userns } => proc_mount(*userns, budget),
        Probe::Overlay { .. }
        | Probe::BindMount { .. }
        | Probe::Keyctl
        | Probe::Hostname { .. } => {
            let p = prepare(probe, false)?;
            spawn_bodies(false, vec![p.body], &p.dirs).map(|child| Running {
                child,
                dirs: p.dirs,
            })
        }
        Probe::UserNsMap { .. } => Err(ProbeResult::not_run(
            "a mapped user namespace is not started on its own",
        )),
    }
}

// ---------------------------------------------------------------- probes

fn userns_map(
    helpers: Option<&(String, String)>,
    uid_map: &[IdMapLine],
    gid_map: &[IdMapLine],
    budget: Deadline,
) -> ProbeResult {
    // ready: child -> parent ("u" once unshared); go: parent -> child.
    let Ok((ready_rd, ready_wr)) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK) else {
        return ProbeResult::not_run("cannot create a pipe");
    };
    let Ok((go_rd, go_wr)) = nix::unistd::pipe2(OFlag::O_CLOEXEC) else {
        return ProbeResult::not_run("cannot create a pipe");
    };
    let child = spawn(|| {
        if let Err(fail) = unshare(CloneFlags::CLONE_NEWUSER) {
            let _ = nix::unistd::write(&ready_wr, b"x");
            return fail;
        }
        let _ = nix::unistd::write(&ready_wr, b"u");
        let mut go = [0u8];
        if !matches!(nix::unistd::read(&go_rd, &mut go), Ok(1)) || go[0] != b'g' {
            return ProbeResult::failure("wait", None, "the parent did not map the namespace");
        }
        let gid = nix::unistd::setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
            .map_err(|e| fail("setresgid", e, "cannot become gid 0 inside"));
        let uid = gid.and_then(|()| {
            nix::unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
                .map_err(|e| fail("setresuid", e, "cannot become uid 0 inside"))
        });
        done(uid.map(|()| "became uid 0 and gid 0 inside".into()))
    });
    drop(ready_wr);
    drop(go_rd);
    let child = match child {
        Ok(c) => c,
        Err(r) => return r,
    };
    if wait_byte(&ready_rd, budget.within(DEADLINE)) != Some(b'u') {
        // The child reports its own failure (unshare) or runs out of time.
        return finish(child, budget);
    }
    let pid = child.pid.as_raw();
    let mapped = match helpers {
        Some((newuidmap, newgidmap)) => run_helper(newuidmap, "newuidmap", pid, uid_map, budget)
            .and_then(|u| run_helper(newgidmap, "newgidmap", pid, gid_map, budget).map(|g| [u, g])),
        None => write_maps(pid, uid_map, gid_map),
    };
    let seen = format!(
        "kernel shows uid_map [{}] gid_map [{}]",
        read_map(pid, "uid_map"),
        read_map(pid, "gid_map")
    );
    match mapped {
        Err(failed) => {
            let _ = nix::unistd::write(&go_wr, b"x");
            let _ = finish(child, budget);
            ProbeResult {
                detail: format!("{}; {seen}", failed.detail),
                ..failed
            }
        }
        Ok([u, g]) => {
            let _ = nix::unistd::write(&go_wr, b"g");
            let r = finish(child, budget);
            ProbeResult {
                detail: format!("{u}; {g}; {seen}; {}", r.detail),
                ..r
            }
        }
    }
}

fn proc_mount(userns: bool, budget: Deadline) -> Result<Running, ProbeResult> {
    let dir = TempDir::scratch("proc").map_err(ProbeResult::not_run)?;
    let (uid, gid) = own_ids();
    let target = dir.path.clone();
    let child = spawn(|| {
        let flags = CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID;
        if let Err(f) = enter(userns, flags, uid, gid).and_then(|()| make_private()) {
            return f;
        }
        // The grandchild is pid 1 of the new pid namespace, as for a RUN step.
        in_child(budget, || {
            let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
            done(
                nix::mount::mount(Some("proc"), &target, Some("proc"), flags, None::<&str>)
                    .map(|()| detach(&target))
                    .map(|()| format!("mounted proc on {}", target.display()))
                    .map_err(|e| fail("mount", e, "mount -t proc proc (nosuid,nodev,noexec)")),
            )
        })
    })?;
    Ok(Running {
        child,
        dirs: vec![dir],
    })
}

/// `userns`: the mount is made as rootless storage makes it (`userxattr`);
/// `enter_userns`: the child itself enters that user namespace first.
///
/// What is probed is the graphroot's file system as overlay's upper and
/// work directories, so those two are made there; the lower directory and
/// the mount point may lie anywhere (overlay asks little of a lower layer,
/// nothing of a mount point) and go on tmpfs scratch: each directory
/// removed from a disk mounted with `discard`, as this machine's is, cost
/// ~1 ms (issue 10), and the tree was eight.
fn overlay(dir: &Path, userns: bool, enter_userns: bool) -> Result<Prepared, ProbeResult> {
    // Named here, made by the child: a mkdir on a journaled disk took up
    // to 2 ms here (ext4 looks for recently deleted inodes), which the
    // doctor's own process no longer waits for.
    let upper = TempDir::planned(dir, "overlay-upper");
    let work = TempDir::planned(dir, "overlay-work");
    let scratch = TempDir::scratch("overlay").map_err(ProbeResult::not_run)?;
    let [lower, merged] = ["lower", "merged"].map(|n| scratch.path.join(n));
    let options = overlay_options(&lower, &upper.path, &work.path, userns);
    let (uid, gid) = own_ids();
    let made = [upper.path.clone(), work.path.clone(), lower, merged.clone()];
    let body = move || {
        for d in &made {
            if let Err(e) = make_dir(d) {
                return e;
            }
        }
        if let Err(f) =
            enter(enter_userns, CloneFlags::CLONE_NEWNS, uid, gid).and_then(|()| make_private())
        {
            return f;
        }
        done(mount_overlay(&merged, &options))
    };
    Ok(Prepared {
        body: Box::new(body),
        dirs: vec![upper, work, scratch],
    })
}

/// `mkdir -m 0700` of a probe directory that must not exist yet; the
/// failure names the path and errno.
fn make_dir(path: &Path) -> Result<(), ProbeResult> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(path)
        .map_err(|e| {
            let why = format!("cannot create {}: {e}", path.display());
            ProbeResult::failure("mkdir", Some(io_error_name(&e)), why)
        })
}

/// Mounts the probe's overlay and detaches it, first with `volatile`
/// (Linux 5.10+): the last unmount of an overlay otherwise syncs the whole
/// upper file system (`ovl_sync_fs`), which took 0.7-1.5 s on a loaded
/// disk, for a mount that never holds data. A kernel that does not know
/// the option (`EINVAL`) is asked again without it, so the answer stays
/// whether podman's own mount works.
fn mount_overlay(merged: &Path, options: &str) -> Result<String, ProbeResult> {
    let mount = |opts: &str| {
        nix::mount::mount(
            Some("overlay"),
            merged,
            Some("overlay"),
            MsFlags::empty(),
            Some(opts),
        )
        .map(|()| format!("mount -t overlay -o {opts}"))
        .map_err(|e| fail("mount", e, format!("mount -t overlay -o {opts}")))
    };
    let volatile = format!("{options},volatile");
    let r = match mount(&volatile) {
        Err(f) if f.errno.as_deref() == Some("EINVAL") => mount(options),
        r => r,
    };
    if r.is_ok() {
        detach(merged);
    }
    r
}

fn bind_mount(enter_userns: bool) -> Result<Prepared, ProbeResult> {
    let dir = TempDir::scratch("bind").map_err(ProbeResult::not_run)?;
    let (uid, gid) = own_ids();
    let target = dir.path.clone();
    let body = move || {
        if let Err(f) =
            enter(enter_userns, CloneFlags::CLONE_NEWNS, uid, gid).and_then(|()| make_private())
        {
            return f;
        }
        done(
            nix::mount::mount(
                Some(&target),
                &target,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map(|()| detach(&target))
            .map(|()| format!("bind-mounted {} onto itself", target.display()))
            .map_err(|e| fail("bind-mount", e, target.display().to_string())),
        )
    };
    Ok(Prepared {
        body: Box::new(body),
        dirs: vec![dir],
    })
}

/// The child's body of `Probe::Hostname` (`enter_userns`: it enters the
/// user namespace itself).
fn hostname(enter_userns: bool) -> impl FnOnce() -> ProbeResult {
    let (uid, gid) = own_ids();
    move || {
        if let Err(f) = enter(enter_userns, CloneFlags::CLONE_NEWUTS, uid, gid) {
            return f;
        }
        done(
            nix::unistd::sethostname("podrun-probe")
                .map(|()| "sethostname in a new UTS namespace".to_string())
                .map_err(|e| fail("sethostname", e, "sethostname(\"podrun-probe\")")),
        )
    }
}

fn keyctl() -> ProbeResult {
    let name = c"podrun-doctor-probe";
    // SAFETY: keyctl(KEYCTL_JOIN_SESSION_KEYRING, name) reads a NUL-terminated
    // string that outlives the call and only changes this child's keyring.
    let rc = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            name.as_ptr(),
        )
    };
    if rc >= 0 {
        return ProbeResult::success("keyctl(KEYCTL_JOIN_SESSION_KEYRING) ok");
    }
    match Errno::last() {
        Errno::ENOSYS => ProbeResult {
            ran: true,
            ok: true,
            step: "keyctl".into(),
            errno: Some(errno_name(Errno::ENOSYS as i32)),
            detail: "keyctl is not implemented; crun only warns".into(),
        },
        e => fail("keyctl", e, "keyctl(KEYCTL_JOIN_SESSION_KEYRING)"),
    }
}

// ------------------------------------------------- namespace steps (child)

fn fail(step: &str, e: Errno, detail: impl Into<String>) -> ProbeResult {
    ProbeResult::failure(step, Some(errno_name(e as i32)), detail)
}

fn done(r: Result<String, ProbeResult>) -> ProbeResult {
    match r {
        Ok(detail) => ProbeResult::success(detail),
        Err(failed) => failed,
    }
}

fn unshare(flags: CloneFlags) -> Result<(), ProbeResult> {
    nix::sched::unshare(flags).map_err(|e| {
        let names: Vec<&str> = flags.iter_names().map(|(name, _)| name).collect();
        fail("unshare", e, format!("unshare({})", names.join("|")))
    })
}

/// Unshares `flags` (plus a user namespace when `userns`, mapping the
/// caller's own `uid`/`gid` to 0 as `unshare -r` does).
fn enter(userns: bool, flags: CloneFlags, uid: u32, gid: u32) -> Result<(), ProbeResult> {
    let flags = if userns {
        flags | CloneFlags::CLONE_NEWUSER
    } else {
        flags
    };
    unshare(flags)?;
    if userns {
        match write_file(Path::new("/proc/self/setgroups"), "deny") {
            Err(e) if e.raw_os_error() != Some(Errno::ENOENT as i32) => {
                return Err(io_fail("setgroups", &e, "/proc/self/setgroups deny"));
            }
            _ => {}
        }
        let uid_line = format!("0 {uid} 1\n");
        write_file(Path::new("/proc/self/uid_map"), &uid_line)
            .map_err(|e| io_fail("uid_map", &e, uid_line.trim()))?;
        let gid_line = format!("0 {gid} 1\n");
        write_file(Path::new("/proc/self/gid_map"), &gid_line)
            .map_err(|e| io_fail("gid_map", &e, gid_line.trim()))?;
    }
    Ok(())
}

/// Lazily unmounts what a probe child mounted, once the mount has answered.
/// issue 10: a mount namespace torn down with a probe's mount still in it
/// costs an RCU grace period at the child's exit, and those exits pile up
/// when the probes run side by side (tests/nsfloor.sh: six bind-mounting
/// children reaped in ~10 ms, ~1.8 ms when each detaches its mount first).
/// Failing to detach changes no answer.
fn detach(target: &Path) {
    let _ = nix::mount::umount2(target, nix::mount::MntFlags::MNT_DETACH);
}

/// `mount --make-rprivate /`, so nothing done in the child propagates back.
fn make_private() -> Result<(), ProbeResult> {
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| fail("make-private", e, "mount --make-rprivate / (flags 0x44000)"))
}

fn io_fail(step: &str, e: &std::io::Error, detail: &str) -> ProbeResult {
    ProbeResult::failure(step, Some(io_error_name(e)), detail)
}

fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .write_all(text.as_bytes())
}

fn own_ids() -> (u32, u32) {
    (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    )
}

// ------------------------------------------------- mapping (parent side)

/// The arguments podman passes to `newuidmap`/`newgidmap` after the path:
/// `PID inside outside count …`.
pub fn helper_args(pid: i32, lines: &[IdMapLine]) -> Vec<String> {
    let mut args = vec![pid.to_string()];
    for l in lines {
        args.extend([l.inside, l.outside, l.count].map(|n| n.to_string()));
    }
    args
}

/// What podman writes to a child's `uid_map`/`gid_map` itself: the lines,
/// except that a map holding `4294967295` becomes `0 0 1` + `1 1 4294967294`
/// (runc and crun take the full map as "not in a user namespace").
pub fn direct_map_text(lines: &[IdMapLine]) -> String {
    let full = u32::MAX;
    if lines
        .iter()
        .any(|l| l.inside == full || l.outside == full || l.count == full)
    {
        return "0 0 1\n1 1 4294967294\n".to_string();
    }
    lines
        .iter()
        .map(|l| format!("{} {} {}\n", l.inside, l.outside, l.count))
        .collect()
}

/// Podman's single-ID fallback (`0 EUID 1`), the one case where it writes
/// `setgroups` `deny` before the maps.
fn is_single_own(lines: &[IdMapLine], own: u32) -> bool {
    matches!(lines, [l] if l.inside == 0 && l.outside == own && l.count == 1)
}

/// The errno a shadow helper names in its message (`write to uid_map
/// failed: Operation not permitted`).
pub fn errno_in_text(text: &str) -> Option<String> {
    const KNOWN: [(&str, Errno); 6] = [
        ("Operation not permitted", Errno::EPERM),
        ("Invalid argument", Errno::EINVAL),
        ("Permission denied", Errno::EACCES),
        ("No such file or directory", Errno::ENOENT),
        ("No such process", Errno::ESRCH),
        ("Read-only file system", Errno::EROFS),
    ];
    KNOWN
        .iter()
        .find(|(words, _)| text.contains(words))
        .map(|(_, e)| errno_name(*e as i32))
}

fn run_helper(
    path: &str,
    step: &str,
    pid: i32,
    lines: &[IdMapLine],
    budget: Deadline,
) -> Result<String, ProbeResult> {
    let args = helper_args(pid, lines);
    let call = format!("{path} {}", args.join(" "));
    let mut child = Command::new(path)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| io_fail(step, &e, &format!("cannot run `{call}`: {e}")))?;
    let helper = Pid::from_raw(child.id() as i32);
    let status = wait_child(helper, budget.within(DEADLINE));
    let mut said = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut said);
    }
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut said);
    }
    let said = said.trim().replace('\n', " ");
    match status {
        Some(WaitStatus::Exited(_, 0)) => Ok(format!("`{call}` ok")),
        Some(s) => Err(ProbeResult::failure(
            step,
            errno_in_text(&said),
            format!("`{call}`: {}: {said}", describe_status(s)),
        )),
        None => Err(ProbeResult::failure(
            step,
            None,
            format!("`{call}` did not finish within {}s", DEADLINE.as_secs()),
        )),
    }
}

fn write_maps(
    pid: i32,
    uid_map: &[IdMapLine],
    gid_map: &[IdMapLine],
) -> Result<[String; 2], ProbeResult> {
    let (uid, _) = own_ids();
    if is_single_own(uid_map, uid) {
        let path = format!("/proc/{pid}/setgroups");
        write_file(Path::new(&path), "deny\n").map_err(|e| io_fail("setgroups", &e, &path))?;
    }
    let mut said = [String::new(), String::new()];
    for (i, (name, lines)) in [("uid_map", uid_map), ("gid_map", gid_map)]
        .into_iter()
        .enumerate()
    {
        let path = format!("/proc/{pid}/{name}");
        let text = direct_map_text(lines);
        let shown = text.trim().replace('\n', ", ");
        write_file(Path::new(&path), &text)
            .map_err(|e| io_fail(name, &e, &format!("write [{shown}] to {path}")))?;
        said[i] = format!("wrote [{shown}] to {path}");
    }
    Ok(said)
}

fn read_map(pid: i32, name: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/{name}"))
        .map(|t| {
            t.lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|e| io_error_name(&e))
}

/// Waits for one byte on a non-blocking pipe until `deadline`.
fn wait_byte(fd: &OwnedFd, deadline: Deadline) -> Option<u8> {
    loop {
        let mut b = [0u8];
        match nix::unistd::read(fd, &mut b) {
            Ok(1) => return Some(b[0]),
            Ok(_) => return None,
            Err(Errno::EAGAIN) if pipe_ready(fd, deadline) => {}
            Err(Errno::EINTR) => {}
            Err(_) => return None,
        }
    }
}

/// `exit status 1`, `signal SIGKILL`: as std's `ExitStatus` shows it.
fn describe_status(s: WaitStatus) -> String {
    match s {
        WaitStatus::Exited(_, code) => format!("exit status: {code}"),
        WaitStatus::Signaled(_, sig, _) => format!("signal: {} ({})", sig as i32, sig.as_str()),
        other => format!("{other:?}"),
    }
}

// ------------------------------------------------------ fork machinery

struct Child {
    pid: Pid,
    /// Read end of the report pipe (non-blocking).
    report: OwnedFd,
}

/// Forks, runs `body` in the child, which reports and `_exit`s; waits with
/// a deadline. A fork that fails gives `not_run`.
fn in_child(budget: Deadline, body: impl FnOnce() -> ProbeResult) -> ProbeResult {
    match spawn(body) {
        Ok(child) => finish(child, budget),
        Err(r) => r,
    }
}

fn spawn(body: impl FnOnce() -> ProbeResult) -> Result<Child, ProbeResult> {
    spawn_reporting(|report| send(report, 0, &caught(body)))
}

/// Forks a child that runs `body`, which sends its reports (`send`) on
/// the pipe it is given, then leaves through `_exit`.
fn spawn_reporting(body: impl FnOnce(&OwnedFd)) -> Result<Child, ProbeResult> {
    let (rd, wr) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
        .map_err(|e| ProbeResult::not_run(format!("pipe: {}", errno_name(e as i32))))?;
    // SAFETY: the child only makes plain system calls and small
    // allocations (the allocator's lock is taken across fork, see
    // src/alloc.rs) and is bounded by alarm(); it never returns into the
    // caller: it runs `body` and leaves through `_exit`.
    match unsafe { nix::unistd::fork() } {
        Err(e) => Err(ProbeResult::not_run(format!(
            "fork: {}",
            errno_name(e as i32)
        ))),
        Ok(ForkResult::Child) => {
            drop(rd);
            child_main(wr, body)
        }
        Ok(ForkResult::Parent { child }) => {
            // Also set in the child: whichever runs first, the child leads
            // its own process group before anyone may kill that group.
            let _ = nix::unistd::setpgid(child, child);
            Ok(Child {
                pid: child,
                report: rd,
            })
        }
    }
}

fn child_main(report: OwnedFd, body: impl FnOnce(&OwnedFd)) -> ! {
    // Its own process group, so that a deadline kills what it started too.
    let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
    // SAFETY: resetting SIGALRM to its default action in this fresh child
    // installs no handler code; it only makes alarm() terminate the child.
    let _ = unsafe { nix::sys::signal::signal(Signal::SIGALRM, SigHandler::SigDfl) };
    let mut alarm_set = SigSet::empty();
    alarm_set.add(Signal::SIGALRM);
    let _ = alarm_set.thread_unblock();
    nix::unistd::alarm::set(CHILD_SECONDS);
    // The doctor's own children are not this child's to reap.
    super::wait::forget_pending();
    body(&report);
    // A child waits for its own children's exits (bounded by the alarm),
    // so none is left to whoever inherits it: the doctor may be pid 1.
    drop(report);
    super::wait::reap_pending(Deadline::unlimited());
    // SAFETY: `_exit` ends the child at once, without running the parent's
    // destructors or atexit handlers a second time.
    unsafe { nix::libc::_exit(0) }
}

/// A probe body's answer; a panic (test builds unwind) is a failure.
fn caught(body: impl FnOnce() -> ProbeResult) -> ProbeResult {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
        .unwrap_or_else(|_| ProbeResult::failure("panic", None, "the probe child panicked"))
}

/// One report line on the pipe: the body's place in its child, then the
/// answer ([`encode`]).
fn send(report: &OwnedFd, place: usize, r: &ProbeResult) {
    let _ = nix::unistd::write(report, format!("{place}\t{}", encode(r)).as_bytes());
}

/// Takes the child's report as soon as it is written ([`finish_all`]).
fn finish(child: Child, budget: Deadline) -> ProbeResult {
    let mut one = finish_all(child, 1, budget);
    one.pop()
        .unwrap_or_else(|| ProbeResult::not_run("no report taken"))
}

/// Takes a child's `count` reports as soon as they are written. The doctor
/// does not wait for the exit that follows (the kernel tearing down the
/// child's namespaces, slow under load): the child is reaped later
/// (`Host::settle`, or at the end of the run), and only a child that gives
/// no report for some is waited for here, up to its deadline; those get
/// how it ended.
fn finish_all(child: Child, count: usize, budget: Deadline) -> Vec<ProbeResult> {
    let deadline = budget.within(DEADLINE);
    let reports = read_reports(&child.report, count, deadline);
    if reports.iter().all(Option::is_some) {
        // A probe child reaps its own child after it has sent the answer
        // on (child_main): issue 10, the doctor waited for that exit.
        defer_reap(child.pid);
        return reports.into_iter().flatten().collect();
    }
    let missing = how_it_ended(wait_child(child.pid, deadline), deadline);
    reports
        .into_iter()
        .map(|r| r.unwrap_or_else(|| missing.clone()))
        .collect()
}

/// The answer of a probe whose child ended (or was killed) without it.
fn how_it_ended(status: Option<WaitStatus>, deadline: Deadline) -> ProbeResult {
    match status {
        Some(WaitStatus::Signaled(_, Signal::SIGALRM | Signal::SIGKILL, _)) => {
            ProbeResult::failure(
                "timeout",
                None,
                format!("the probe did not finish within {CHILD_SECONDS}s"),
            )
        }
        None if deadline.expired() => ProbeResult::failure(
            "timeout",
            None,
            "the probe did not finish within its deadline (the run's time budget ran out) \
             and was killed with its process group",
        ),
        other => ProbeResult::failure(
            "child",
            None,
            format!("the probe child ended without a report ({other:?})"),
        ),
    }
}

/// Reads the report pipe until `count` reports, end of file or `deadline`;
/// each by its place (a line naming no place within `count` is ignored).
fn read_reports(fd: &OwnedFd, count: usize, deadline: Deadline) -> Vec<Option<ProbeResult>> {
    let mut reports = vec![None; count];
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while reports.iter().any(Option::is_none) {
        match nix::unistd::read(fd, &mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(Errno::EAGAIN) if pipe_ready(fd, deadline) => continue,
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
        while let Some(end) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line);
            let Some((place, report)) = text.split_once('\t') else {
                continue;
            };
            if let (Ok(place), Some(r)) = (place.parse::<usize>(), decode(report)) {
                if let Some(slot) = reports.get_mut(place) {
                    *slot = Some(r);
                }
            }
        }
    }
    reports
}

/// One line: `ok<TAB>step<TAB>errno-or-dash<TAB>detail`.
pub fn encode(r: &ProbeResult) -> String {
    let clean = |s: &str| s.replace(['\t', '\n'], " ");
    format!(
        "{}\t{}\t{}\t{}\n",
        u8::from(r.ok),
        clean(&r.step),
        r.errno.as_deref().unwrap_or("-"),
        clean(&r.detail)
    )
}

pub fn decode(text: &str) -> Option<ProbeResult> {
    let line = text.lines().next()?;
    let mut parts = line.splitn(4, '\t');
    let ok = match parts.next()? {
        "1" => true,
        "0" => false,
        _ => return None,
    };
    let step = parts.next()?.to_string();
    let errno = match parts.next()? {
        "-" => None,
        e => Some(e.to_string()),
    };
    Some(ProbeResult {
        ran: true,
        ok,
        step,
        errno,
        detail: parts.next().unwrap_or("").to_string(),
    })
}

// ------------------------------------------------------ temp directories

/// A fresh `0700` directory, removed (with everything in it) when dropped.
/// Children never drop it: they leave through `_exit`.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// A new directory in `parent`; the error names the path and errno.
    fn new(parent: &Path, kind: &str) -> Result<TempDir, (String, Option<String>)> {
        use std::os::unix::fs::DirBuilderExt;
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let mut last = (
            format!("cannot create a directory in {}", parent.display()),
            None,
        );
        for _ in 0..8 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = parent.join(format!(".podrun-probe-{kind}-{}-{n}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    last = (
                        format!("cannot create {}: {e}", path.display()),
                        Some(io_error_name(&e)),
                    );
                    break;
                }
            }
        }
        Err(last)
    }

    /// A name for a directory in `parent` that a probe child makes: unique
    /// to this process and moment (a doctor in another pid namespace may
    /// share the directory and the pid), so that removing it, if the child
    /// left it, removes nothing of anyone else's.
    fn planned(parent: &Path, kind: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!(".podrun-probe-{kind}-{}-{n}-{nanos:x}", std::process::id());
        TempDir {
            path: parent.join(name),
        }
    }

    /// A scratch directory for mount targets: `$TMPDIR`, else the usual
    /// world-writable places, `/dev/shm` (tmpfs) first: where a probe
    /// mounts does not change its answer, and on a busy journaled disk
    /// each mkdir or rmdir took 2-6 ms (issue 10), on tmpfs microseconds.
    fn scratch(kind: &str) -> Result<TempDir, String> {
        let mut tried = Vec::new();
        let tmpdir = std::env::var_os("TMPDIR").filter(|t| !t.is_empty());
        let places = tmpdir
            .into_iter()
            .map(PathBuf::from)
            .chain(["/dev/shm", "/tmp", "/var/tmp"].map(PathBuf::from));
        for place in places {
            match TempDir::new(&place, kind) {
                Ok(d) => return Ok(d),
                Err((why, _)) => tried.push(why),
            }
        }
        Err(tried.join("; "))
    }
}

/// A private `0700` scratch directory (in `$TMPDIR`, `/tmp`, …) removed
/// with everything in it when dropped: where a tool run for its version
/// puts what it creates.
pub struct ScratchDir(TempDir);

impl ScratchDir {
    pub fn new(kind: &str) -> Result<ScratchDir, String> {
        TempDir::scratch(kind).map(ScratchDir)
    }

    pub fn path(&self) -> &Path {
        &self.0.path
    }
}

/// `mkdir -m 0700`, ignoring failure (the tool then reports the path).
pub fn make_private_dir(path: &Path) {
    use std::os::unix::fs::DirBuilderExt;
    let _ = std::fs::DirBuilder::new().mode(0o700).create(path);
}

/// Probe directories whose mounts live on in a child that is still
/// exiting: removing them now would wait for the kernel to tear that
/// child's mount namespace down, so they go in [`settle`], after it.
static LATER: std::sync::Mutex<Vec<TempDir>> = std::sync::Mutex::new(Vec::new());

fn settle_later(dir: TempDir) {
    if let Ok(mut later) = LATER.lock() {
        later.push(dir);
    }
    // A poisoned lock drops (removes) the directory at once.
}

/// Reaps the probe children that have answered (each until `deadline` at
/// the latest), then removes their directories. Returns the children
/// reaped.
pub fn settle(deadline: Deadline) -> usize {
    let reaped = super::wait::reap_pending(deadline);
    let dirs = LATER
        .lock()
        .map(|mut l| std::mem::take(&mut *l))
        .unwrap_or_default();
    // Each child removes its own trees once it has reported (see
    // `remove_trees`): what is left here is what a child that died left.
    drop(dirs);
    reaped
}

/// In a probe child, once it has reported: removes the trees it mounted
/// in, so that the doctor's own process, which waits for the child's exit
/// anyway (`settle`), does not spend its time on their rmdirs (each waits
/// for the journal on a busy disk). The parent's `TempDir` still removes
/// whatever a child that died early left.
fn remove_trees(trees: &[PathBuf]) {
    for tree in trees {
        remove_tree(tree);
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        remove_tree(&self.path);
    }
}

/// Removes a tree we made, opening up directories overlay left mode 000
/// (`work/work`), which `remove_dir_all` cannot list without privileges.
/// An empty directory (most of a probe's tree) goes with one `rmdir`; only
/// one that is not empty is listed, and opened up only when it cannot be.
fn remove_tree(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::remove_dir(path) {
        Ok(()) => return,
        Err(e) if e.raw_os_error() == Some(nix::libc::ENOENT) => return,
        Err(e) if e.raw_os_error() == Some(nix::libc::ENOTDIR) => {
            let _ = std::fs::remove_file(path);
            return;
        }
        Err(_) => {}
    }
    let entries = std::fs::read_dir(path).or_else(|_| {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700));
        std::fs::read_dir(path)
    });
    if let Ok(entries) = entries {
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => remove_tree(&e.path()),
                _ => {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
    let _ = std::fs::remove_dir(path);
}

fn overlay_options(lower: &Path, upper: &Path, work: &Path, userns: bool) -> String {
    let mut o = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        upper.display(),
        work.display()
    );
    // containers/storage adds userxattr whenever it runs rootless (in a user
    // namespace): trusted.* xattrs need CAP_SYS_ADMIN in the init namespace.
    if userns {
        o.push_str(",userxattr");
    }
    o
}

impl super::Host {
    /// Reaps every probe child that has answered but may still be exiting
    /// (see [`defer_reap`]), within the run's budget, and removes the probe
    /// directories they mounted on: call it before taking
    /// the run's duration, so that `duration_ms` covers the children too.
    pub fn settle(&self) -> usize {
        // Probes prefetched and never asked for are collected first (an
        // empty prefetch drops the earlier one), so their children are
        // reaped and their directories removed here too.
        self.sys.prefetch(&self.root, &[], self.budget);
        settle(self.budget.within(Duration::from_secs(6)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(inside: u32, outside: u32, count: u32) -> IdMapLine {
        IdMapLine {
            inside,
            outside,
            count,
        }
    }

    #[test]
    fn helper_arguments_are_pid_then_triplets_as_podman_passes_them() {
        let lines = [line(0, 1000, 1), line(1, 100000, 65536)];
        assert_eq!(
            helper_args(52258, &lines),
            ["52258", "0", "1000", "1", "1", "100000", "65536"]
        );
        assert_eq!(helper_args(7, &[]), ["7"]);
    }

    #[test]
    fn direct_maps_are_written_as_lines_and_the_full_map_is_split() {
        assert_eq!(
            direct_map_text(&[line(0, 1000, 1), line(1, 100000, 65536)]),
            "0 1000 1\n1 100000 65536\n"
        );
        assert_eq!(
            direct_map_text(&[line(0, 0, 4294967295)]),
            "0 0 1\n1 1 4294967294\n"
        );
    }

    #[test]
    fn only_the_single_own_id_map_asks_for_setgroups_deny() {
        assert!(is_single_own(&[line(0, 1000, 1)], 1000));
        assert!(!is_single_own(&[line(0, 1000, 1)], 0));
        assert!(!is_single_own(
            &[line(0, 1000, 1), line(1, 100000, 65536)],
            1000
        ));
        assert!(!is_single_own(&[line(0, 0, 65536)], 0));
    }

    #[test]
    fn helper_messages_name_their_errno() {
        assert_eq!(
            errno_in_text("newuidmap: write to uid_map failed: Operation not permitted").as_deref(),
            Some("EPERM")
        );
        assert_eq!(
            errno_in_text("newgidmap: write to gid_map failed: Invalid argument").as_deref(),
            Some("EINVAL")
        );
        assert_eq!(errno_in_text("newuidmap: Could not set caps"), None);
    }

    #[test]
    fn reports_survive_the_pipe_with_tabs_and_newlines_flattened() {
        let r = ProbeResult::failure("mount", Some("EPERM".into()), "a\tb\nc");
        let back = decode(&encode(&r)).unwrap();
        assert_eq!(back.step, "mount");
        assert_eq!(back.errno.as_deref(), Some("EPERM"));
        assert_eq!(back.detail, "a b c");
        assert!(back.ran && !back.ok);
        let ok = decode(&encode(&ProbeResult::success("fine"))).unwrap();
        assert!(ok.ok && ok.errno.is_none() && ok.step.is_empty());
        assert_eq!(decode("garbage"), None);
        assert_eq!(decode(""), None);
    }

    #[test]
    fn overlay_options_add_userxattr_only_in_a_user_namespace() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            overlay_options(&p("/t/l"), &p("/t/u"), &p("/t/w"), false),
            "lowerdir=/t/l,upperdir=/t/u,workdir=/t/w"
        );
        assert!(overlay_options(&p("/t/l"), &p("/t/u"), &p("/t/w"), true).ends_with(",userxattr"));
    }

    #[test]
    fn temp_dirs_are_removed_even_with_unreadable_subdirectories() {
        use std::os::unix::fs::PermissionsExt;
        let base = tempfile::tempdir().unwrap();
        let path = {
            let t = TempDir::new(base.path(), "test").unwrap();
            let locked = t.path.join("work/work");
            std::fs::create_dir_all(&locked).unwrap();
            std::fs::write(locked.join("f"), "x").unwrap();
            std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
            t.path.clone()
        };
        assert!(!path.exists());
    }

    #[test]
    fn an_overlay_under_a_missing_directory_fails_at_mkdir_with_its_errno() {
        let r = run_within(
            &Probe::Overlay {
                dir: "/nonexistent/podrun".into(),
                userns: true,
            },
            Deadline::unlimited(),
        );
        assert!(r.ran && !r.ok);
        assert_eq!(r.step, "mkdir");
        assert_eq!(r.errno.as_deref(), Some("ENOENT"));
        assert!(r.detail.contains("/nonexistent/podrun"), "{}", r.detail);
    }

    #[test]
    fn a_child_that_hangs_is_stopped_and_reported_as_a_timeout() {
        // Waits on the deadline path without sleeping for seconds: the child
        // blocks in pause() and the parent's kill ends it.
        let child = spawn(|| {
            nix::unistd::pause();
            ProbeResult::success("woke")
        })
        .unwrap();
        let _ = nix::sys::signal::kill(child.pid, Signal::SIGKILL);
        let r = finish(child, Deadline::unlimited());
        assert!(r.ran && !r.ok);
        assert_eq!(r.step, "timeout");
    }

    /// The run's budget ends a hung probe early, and the process group goes
    /// with it: the grandchild it forked is killed too.
    #[test]
    fn a_spent_budget_kills_a_hung_probe_and_its_grandchild() {
        let (rd, wr) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
        let started = std::time::Instant::now();
        let budget = Deadline::after(Duration::from_millis(300));
        let r = in_child(budget, || {
            // SAFETY: a test child forking a grandchild that only pauses.
            if let Ok(ForkResult::Child) = unsafe { nix::unistd::fork() } {
                let _ = nix::unistd::write(&wr, b"g");
                loop {
                    nix::unistd::pause();
                }
            }
            loop {
                nix::unistd::pause();
            }
        });
        drop(wr);
        assert_eq!(r.step, "timeout", "{r:?}");
        assert!(r.detail.contains("budget"), "{}", r.detail);
        assert!(started.elapsed() < Duration::from_secs(4));
        // The grandchild said it started; its end closes the last write end.
        let mut buf = [0u8; 4];
        assert_eq!(nix::unistd::read(&rd, &mut buf).ok(), Some(1));
        assert_eq!(
            nix::unistd::read(&rd, &mut buf).ok(),
            Some(0),
            "grandchild still alive"
        );
    }

    /// Started together, probes answer as each does alone, in the order
    /// asked (a probe failing before its fork included), whether they
    /// share a child (both user-namespace kinds) or not.
    #[test]
    fn probes_run_side_by_side_answer_as_they_do_alone() {
        let graphroot = tempfile::tempdir().unwrap();
        let dir = graphroot.path().display().to_string();
        let mut probes = vec![Probe::Keyctl, Probe::ProcMount { userns: false }];
        for userns in [false, true] {
            probes.extend([
                Probe::BindMount { userns },
                Probe::Overlay {
                    dir: "/nonexistent/podrun".into(),
                    userns,
                },
                Probe::Overlay {
                    dir: dir.clone(),
                    userns,
                },
                Probe::Hostname { userns },
            ]);
        }
        let together = run_many(&probes, Deadline::unlimited());
        assert_eq!(together.len(), probes.len());
        for (p, t) in probes.iter().zip(&together) {
            let alone = run_within(p, Deadline::unlimited());
            assert!(t.ran, "{p:?}: {t:?}");
            assert_eq!(
                (t.ok, &t.step, &t.errno),
                (alone.ok, &alone.step, &alone.errno),
                "{p:?}: {t:?} together, {alone:?} alone"
            );
        }
        assert_eq!(together[3].step, "mkdir");
        // No count asserted: other tests' threads share the pending list.
        settle(Deadline::unlimited());
        let left: Vec<_> = std::fs::read_dir(graphroot.path()).unwrap().collect();
        assert!(left.is_empty(), "probe trees left behind: {left:?}");
    }

    /// A shared child that hangs in one body: the reports sent before it
    /// are kept, that one and those after it are timeouts.
    #[test]
    fn a_shared_child_that_hangs_keeps_the_reports_it_sent() {
        let child = spawn_reporting(|report| {
            send(report, 0, &ProbeResult::success("first"));
            nix::unistd::pause();
            send(report, 1, &ProbeResult::success("never"));
        })
        .unwrap();
        let budget = Deadline::after(Duration::from_millis(300));
        let r = finish_all(child, 3, budget);
        assert_eq!(r.len(), 3);
        assert!(r[0].ok && r[0].detail == "first", "{:?}", r[0]);
        for late in &r[1..] {
            assert_eq!(late.step, "timeout", "{late:?}");
        }
    }

    /// A fixture answers when asked, prefetch or not; on the real system a
    /// prefetched answer is taken by the first ask, and the next forks anew.
    #[test]
    fn prefetched_answers_are_taken_once_and_fixtures_are_unchanged() {
        let failed = ProbeResult::failure("keyctl", Some("EPERM".into()), "fixture");
        let fixture = crate::probes::testutil::Fixture::new()
            .probe(&Probe::Keyctl, failed.clone())
            .host();
        fixture.prefetch(&[Probe::Keyctl]);
        assert_eq!(fixture.probe(&Probe::Keyctl), failed);
        use super::super::sys::Sys;
        let sys = super::super::real::RealSys::default();
        let root = Path::new("/");
        sys.prefetch(root, &[Probe::Keyctl, Probe::Keyctl], Deadline::unlimited());
        let first = sys.prefetched(&Probe::Keyctl).expect("prefetched");
        assert!(first.ran);
        assert!(sys.prefetched(&Probe::Keyctl).is_none(), "taken once");
        let host = super::super::Host::system();
        host.prefetch(&[Probe::Keyctl]);
        assert_eq!(host.probe(&Probe::Keyctl).ok, first.ok);
        assert_eq!(host.probe(&Probe::Keyctl).ok, first.ok, "forked anew");
        host.settle();
    }

    /// A prefetched probe no one asks for is still collected: its child
    /// reaped and its directories removed by `settle`.
    #[test]
    fn a_prefetched_probe_never_asked_for_leaves_nothing() {
        let graphroot = tempfile::tempdir().unwrap();
        let host = super::super::Host::system();
        host.prefetch(&[Probe::Overlay {
            dir: graphroot.path().display().to_string(),
            userns: false,
        }]);
        host.settle();
        let left: Vec<_> = std::fs::read_dir(graphroot.path()).unwrap().collect();
        assert!(left.is_empty(), "probe trees left behind: {left:?}");
    }

    #[test]
    fn a_child_reports_its_result_through_the_pipe() {
        let r = in_child(Deadline::unlimited(), || {
            ProbeResult::failure("step", Some("EPERM".into()), "from child")
        });
        assert_eq!(r.step, "step");
        assert_eq!(r.errno.as_deref(), Some("EPERM"));
        assert_eq!(r.detail, "from child");
    }

    /// issue 10: a probe child passes its own child's answer on before it
    /// reaps that child, and reaps it before it exits: once the doctor has
    /// the child's exit, the grandchild is gone, not a zombie for whoever
    /// inherits it (the doctor may be pid 1).
    #[test]
    fn a_childs_own_child_is_reaped_after_the_answer_before_the_child_exits() {
        let budget = Deadline::after(std::time::Duration::from_secs(5));
        let child = spawn(move || {
            in_child(budget, || {
                ProbeResult::success(std::process::id().to_string())
            })
        })
        .unwrap_or_else(|r| panic!("spawn: {}", r.detail));
        let pid = child.pid;
        let r = finish(child, budget);
        assert!(r.ok, "{}", r.detail);
        let grandchild: i32 = r.detail.parse().unwrap();
        assert!(wait_child(pid, budget).is_some(), "the child did not exit");
        let gone = nix::sys::signal::kill(Pid::from_raw(grandchild), None);
        assert_eq!(
            gone,
            Err(nix::errno::Errno::ESRCH),
            "grandchild {grandchild} is left"
        );
    }
}
