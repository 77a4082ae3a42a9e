//! Waiting for children exactly, with deadlines.
//!
//! A child is waited for through a pidfd (`pidfd_open` + `poll`), which
//! wakes the doctor the moment the child exits: no sleeping loop, no
//! `SIGCHLD` handler. At its deadline a child is killed with its whole
//! process group (every child the doctor starts leads its own group), so a
//! hung tool leaves nothing running. Only a kernel older than 5.3, which
//! has no `pidfd_open`, falls back to polling `waitpid` every millisecond.
//!
//! [`Deadline`] is also the run's overall budget: the host carries one (see
//! `Host::set_budget`), and every wait ends at the earlier of its own
//! deadline and the budget.

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// A point in time after which nothing more is waited for; `unlimited()`
/// when there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    pub fn unlimited() -> Deadline {
        Deadline(None)
    }

    pub fn after(d: Duration) -> Deadline {
        Deadline(Instant::now().checked_add(d))
    }

    /// The earlier of the two.
    pub fn min(self, other: Deadline) -> Deadline {
        match (self.0, other.0) {
            (Some(a), Some(b)) => Deadline(Some(a.min(b))),
            (a, b) => Deadline(a.or(b)),
        }
    }

    /// This deadline, or `d` from now if that comes first: a step's own
    /// limit within the run's budget.
    pub fn within(self, d: Duration) -> Deadline {
        self.min(Deadline::after(d))
    }

    /// This deadline, or `d` from now if that comes later: a spent budget
    /// still lets a step that answers at once answer (only a stalled one
    /// is abandoned, after `d`).
    pub fn at_least(self, d: Duration) -> Deadline {
        match self.remaining() {
            Some(left) if left < d => Deadline::after(d),
            _ => self,
        }
    }

    /// Time left (`None` when unlimited).
    pub fn remaining(self) -> Option<Duration> {
        self.0
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    pub fn expired(self) -> bool {
        self.remaining() == Some(Duration::ZERO)
    }

    /// The remaining time as a `poll` timeout in milliseconds (rounded up,
    /// `-1` for unlimited).
    fn poll_ms(self) -> i32 {
        match self.remaining() {
            None => -1,
            Some(left) => i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX),
        }
    }
}

/// `pidfd_open(2)`: a file descriptor that becomes readable when `pid`
/// exits. nix 0.30 has no wrapper, so this one call goes to libc.
fn pidfd_open(pid: Pid) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1;
    // no memory is passed.
    let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid.as_raw(), 0) };
    let fd = i32::try_from(fd).ok().filter(|&fd| fd >= 0)?;
    // SAFETY: the kernel just returned this fd to us and nothing else owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Blocks until `fd` is readable or `deadline` passes; true when readable.
fn readable(fd: &OwnedFd, deadline: Deadline) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout};
    loop {
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(deadline.poll_ms()).unwrap_or(PollTimeout::MAX);
        match nix::poll::poll(&mut fds, timeout) {
            Ok(0) => return false,
            Ok(_) => return true,
            Err(Errno::EINTR) if !deadline.expired() => {}
            Err(_) => return false,
        }
    }
}

/// Kills the process group `pid` leads (and `pid` itself, should it have
/// left the group). Errors (nothing left) are of no interest.
pub fn kill_group(pid: Pid) {
    let _ = nix::sys::signal::killpg(pid, Signal::SIGKILL);
    let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
}

/// Waits for `pid` (the leader of its own process group) until `deadline`;
/// then kills the group and reaps the child. Whatever the child left in its
/// group is killed too once it has exited. `None` when the deadline passed
/// (the child was killed) or the child cannot be waited for.
pub fn wait_child(pid: Pid, deadline: Deadline) -> Option<WaitStatus> {
    let exited = match pidfd_open(pid) {
        Some(fd) => readable(&fd, deadline),
        None => poll_waitpid(pid, deadline),
    };
    // The child is a zombie or still running: either way its pid (and so
    // its group id) is not reused yet, so the group kill hits only ours.
    kill_group(pid);
    let status = loop {
        match nix::sys::wait::waitpid(pid, None) {
            Err(Errno::EINTR) => {}
            other => break other.ok(),
        }
    };
    status.filter(|_| exited)
}

/// Children whose answer is in but whose exit is not: a probe child that
/// has reported may still spend tens of milliseconds in the kernel tearing
/// down its namespaces and mounts (an RCU grace period per mount
/// namespace). The doctor goes on meanwhile and reaps them in
/// [`reap_pending`], so the teardowns overlap with the rest of the run.
static PENDING: std::sync::Mutex<Vec<Pid>> = std::sync::Mutex::new(Vec::new());

/// Leaves `pid` (which has given its answer) to [`reap_pending`].
pub fn defer_reap(pid: Pid) {
    match PENDING.lock() {
        Ok(mut p) => p.push(pid),
        Err(_) => {
            let _ = wait_child(pid, Deadline::unlimited());
        }
    }
}

/// In a new probe child: the pids its parent left to [`reap_pending`] are
/// not its children.
pub fn forget_pending() {
    if let Ok(mut p) = PENDING.lock() {
        p.clear();
    }
}

/// Waits for every child left by [`defer_reap`], each until `deadline` at
/// the latest (then it is killed with its group), so none is left running
/// or unreaped. Returns how many were reaped.
pub fn reap_pending(deadline: Deadline) -> usize {
    let pids = PENDING
        .lock()
        .map(|mut p| std::mem::take(&mut *p))
        .unwrap_or_default();
    for &pid in &pids {
        let _ = wait_child(pid, deadline);
    }
    pids.len()
}

/// Whatever the caller did, no child of this host outlives it unreaped.
impl Drop for super::Host {
    fn drop(&mut self) {
        self.settle();
    }
}

/// The fallback for kernels without pidfds: `waitpid(WNOHANG)` every
/// millisecond (`WNOWAIT` keeps the child for `wait_child` to reap).
fn poll_waitpid(pid: Pid, deadline: Deadline) -> bool {
    use nix::sys::wait::{waitid, Id};
    loop {
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        match waitid(Id::Pid(pid), flags) {
            Ok(WaitStatus::StillAlive) if !deadline.expired() => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(WaitStatus::StillAlive) => return false,
            Ok(_) => return true,
            Err(Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
}

/// Waits until `fd` (a non-blocking pipe) has data or hangs up, or until
/// `deadline`: true when there is something to read.
pub fn pipe_ready(fd: &OwnedFd, deadline: Deadline) -> bool {
    readable(fd, deadline)
}

#[cfg(test)]
// The children are reaped by wait_child, which clippy cannot see.
#[allow(clippy::zombie_processes)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    #[test]
    fn deadlines_take_the_earlier_and_unlimited_waits_forever() {
        let soon = Deadline::after(Duration::from_millis(10));
        let late = Deadline::after(Duration::from_secs(60));
        assert_eq!(soon.min(late), soon);
        assert_eq!(late.min(soon), soon);
        assert_eq!(Deadline::unlimited().min(soon), soon);
        assert_eq!(Deadline::unlimited().remaining(), None);
        assert_eq!(Deadline::unlimited().poll_ms(), -1);
        assert!(
            late.within(Duration::from_millis(10)).remaining() <= Some(Duration::from_millis(10))
        );
        assert!(Deadline::after(Duration::ZERO).expired());
        assert!(!late.expired());
    }

    #[test]
    fn an_exiting_child_is_seen_at_once_and_reaped() {
        let child = Command::new("sh")
            .args(["-c", "exit 7"])
            .process_group(0)
            .spawn()
            .unwrap();
        let started = Instant::now();
        let status = wait_child(
            Pid::from_raw(child.id() as i32),
            Deadline::after(Duration::from_secs(20)),
        );
        assert!(
            matches!(status, Some(WaitStatus::Exited(_, 7))),
            "{status:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    /// A hung child is killed at its deadline with everything in its
    /// process group: afterwards no process of that group is left.
    #[test]
    fn a_hung_child_and_its_group_are_killed_at_the_deadline() {
        let child = Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30 & wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = Pid::from_raw(child.id() as i32);
        // Let sh start its two sleeps.
        std::thread::sleep(Duration::from_millis(200));
        let started = Instant::now();
        assert_eq!(
            wait_child(pid, Deadline::after(Duration::from_millis(300))),
            None
        );
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(290) && took < Duration::from_secs(5),
            "{took:?}"
        );
        // Signal 0 to the group: ESRCH once every member is gone (the
        // killed sleeps are reparented and reaped by init, give it a moment).
        let gone = (0..200).any(|_| {
            let left = nix::sys::signal::killpg(pid, None::<Signal>);
            left == Err(Errno::ESRCH) || {
                std::thread::sleep(Duration::from_millis(10));
                false
            }
        });
        assert!(gone, "processes of group {pid} still running");
    }

    #[test]
    fn deferred_children_are_all_reaped() {
        let pids: Vec<Pid> = (0..3)
            .map(|_| {
                let c = Command::new("sh")
                    .args(["-c", "exit 0"])
                    .process_group(0)
                    .spawn()
                    .unwrap();
                Pid::from_raw(c.id() as i32)
            })
            .collect();
        for &p in &pids {
            defer_reap(p);
        }
        assert!(reap_pending(Deadline::after(Duration::from_secs(20))) >= 3);
        for p in pids {
            // Reaped: the pid is no child of ours any more.
            assert_eq!(
                nix::sys::wait::waitpid(p, Some(WaitPidFlag::WNOHANG)),
                Err(Errno::ECHILD)
            );
        }
    }

    #[test]
    fn a_budget_already_spent_stops_a_child_at_once() {
        let child = Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let spent = Deadline::after(Duration::ZERO);
        let started = Instant::now();
        let own = spent.within(Duration::from_secs(20));
        assert_eq!(wait_child(Pid::from_raw(child.id() as i32), own), None);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
