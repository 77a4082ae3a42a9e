//! The allocator is tested as a type, on every target (glibc test builds
//! keep the system allocator as the global one, so only these tests use
//! the heap). They run in parallel on the one heap, which exercises the
//! lock too, except where a test needs the heap to itself (`exclusive`).

use super::*;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

const A: Allocator = Allocator;

/// Held shared by every test that allocates, exclusively by one that reads
/// the heap's global state (CHUNKS, which block comes next).
static HEAP_USE: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    HEAP_USE.read().unwrap_or_else(|e| e.into_inner())
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    HEAP_USE.write().unwrap_or_else(|e| e.into_inner())
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap_or_else(|e| panic!("{size}/{align}: {e}"))
}

/// Fills a block with a pattern of `seed`, so overlaps and lost bytes show.
fn fill(p: *mut u8, len: usize, seed: u8) {
    for i in 0..len {
        // SAFETY: p holds at least len bytes.
        unsafe { p.add(i).write(seed.wrapping_add(i as u8)) };
    }
}

fn holds(p: *const u8, len: usize, seed: u8) -> bool {
    // SAFETY: p holds at least len bytes.
    (0..len).all(|i| unsafe { p.add(i).read() } == seed.wrapping_add(i as u8))
}

fn alloc(l: Layout) -> *mut u8 {
    // SAFETY: every layout used here has a non-zero size.
    let p = unsafe { A.alloc(l) };
    assert!(!p.is_null(), "alloc {l:?} gave null");
    assert_eq!(
        p as usize % l.align(),
        0,
        "alloc {l:?} gave {p:?}, misaligned"
    );
    p
}

fn free(p: *mut u8, l: Layout) {
    // SAFETY: p was allocated by A with l and is freed once.
    unsafe { A.dealloc(p, l) };
}

const SIZES: [usize; 14] = [
    1,
    8,
    15,
    16,
    17,
    100,
    1000,
    4095,
    4096,
    4097,
    65535,
    65536,
    65537,
    3 << 20,
];
const ALIGNS: [usize; 9] = [1, 8, 16, 32, 64, 4096, 8192, 1 << 16, 1 << 21];

#[test]
fn classes_cover_16_bytes_to_64_kib() {
    assert_eq!(class(layout(1, 1)), Some(0));
    assert_eq!(class(layout(16, 8)), Some(0));
    assert_eq!(class(layout(17, 8)), Some(1));
    assert_eq!(
        class(layout(24, 64)),
        Some(2),
        "the alignment sets the class"
    );
    assert_eq!(class(layout(65536, 8)), Some(CLASSES - 1));
    assert_eq!(class(layout(65537, 8)), None);
    assert_eq!(
        class(layout(8, 8192)),
        None,
        "over a page of alignment: mapped"
    );
}

#[test]
fn every_size_and_alignment_is_honoured_and_blocks_do_not_overlap() {
    let _heap = shared();
    let mut live = Vec::new();
    for (n, &size) in SIZES.iter().enumerate() {
        for (m, &align) in ALIGNS.iter().enumerate() {
            let l = layout(size, align);
            let p = alloc(l);
            let seed = (n * ALIGNS.len() + m) as u8;
            fill(p, size, seed);
            live.push((p, l, seed));
        }
    }
    // Only now, once all are written, is each checked: an overlap would
    // have overwritten an earlier block.
    for &(p, l, seed) in &live {
        assert!(
            holds(p, l.size(), seed),
            "block {p:?} {l:?} was overwritten"
        );
        free(p, l);
    }
}

#[test]
fn zeroed_blocks_are_zero_even_when_reused() {
    let _heap = shared();
    for &size in &[24, 3000, 70_000] {
        let l = layout(size, 8);
        let p = alloc(l);
        fill(p, size, 0xA5);
        free(p, l);
        // SAFETY: a non-zero size.
        let q = unsafe { A.alloc_zeroed(l) };
        assert!(!q.is_null());
        assert!(holds_zero(q, size), "alloc_zeroed({size}) left bytes set");
        free(q, l);
    }
}

fn holds_zero(p: *const u8, len: usize) -> bool {
    // SAFETY: p holds at least len bytes.
    (0..len).all(|i| unsafe { p.add(i).read() } == 0)
}

fn realloc(p: *mut u8, l: Layout, to: usize) -> *mut u8 {
    // SAFETY: p is live with layout l; to is non-zero and small.
    let q = unsafe { A.realloc(p, l, to) };
    assert!(!q.is_null(), "realloc {l:?} -> {to} gave null");
    assert_eq!(
        q as usize % l.align(),
        0,
        "realloc {l:?} -> {to}: misaligned"
    );
    q
}

#[test]
fn realloc_stays_in_place_within_a_class_and_keeps_the_bytes_across() {
    let _heap = shared();
    let l = layout(20, 8);
    let p = alloc(l);
    fill(p, 20, 7);
    let q = realloc(p, l, 32);
    assert_eq!(q, p, "20 -> 32 bytes is the same class: in place");
    // Through every class, into the mapped sizes (mremap) and back down.
    let mut size = 32;
    let mut p = q;
    for to in [33, 1000, 65536, 65537, 200_000, 5 << 20, 300_000, 64, 20] {
        let q = realloc(p, layout(size, 8), to);
        assert!(
            holds(q, size.min(to).min(20), 7),
            "{size} -> {to} lost bytes"
        );
        if to > 20 {
            fill(q, to, 7); // the whole block, so the next step checks more
        }
        p = q;
        size = to;
    }
    free(p, layout(size, 8));
}

#[test]
fn realloc_keeps_large_alignments() {
    let _heap = shared();
    for &align in &[64, 4096, 8192, 1 << 21] {
        let mut l = layout(100, align);
        let mut p = alloc(l);
        fill(p, 100, 3);
        for to in [5000, 70_000, 1 << 20, 150] {
            p = realloc(p, l, to);
            assert!(
                holds(p, 100, 3),
                "align {align}: {} -> {to} lost bytes",
                l.size()
            );
            l = layout(to, align);
        }
        free(p, l);
    }
}

#[test]
fn freed_blocks_are_reused_not_mapped_anew() {
    let _heap = exclusive();
    let before = CHUNKS.load(Ordering::Relaxed);
    // 10 000 x 1 KiB is ~10 chunks if nothing were reused. With the heap to
    // itself, each block is the one just freed (the free list is LIFO) and
    // at most the first needs a new chunk.
    let first = alloc(layout(1000, 8));
    free(first, layout(1000, 8));
    for i in 0..10_000 {
        let l = layout(1000 + i % 24, 8);
        let p = alloc(l);
        assert_eq!(p, first, "round {i}: a freed 1 KiB block was not reused");
        fill(p, l.size(), i as u8);
        free(p, l);
    }
    let mapped = CHUNKS.load(Ordering::Relaxed) - before;
    assert!(
        mapped <= 1,
        "{mapped} chunks mapped for one live 1 KiB block"
    );
}

/// Allocates, writes, checks and frees a changing mix of sizes; `rounds`
/// of it, or until `stop` is set.
fn churn(seed: u8, rounds: usize, stop: &AtomicBool) -> bool {
    let mut live: Vec<(*mut u8, Layout, u8)> = Vec::with_capacity(64);
    let mut ok = true;
    for i in 0..rounds {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let size = [8, 40, 200, 1500, 9000, 70_000][i % 6] + i % 13;
        let l = layout(size, [8, 16, 64][i % 3]);
        let p = alloc(l);
        let s = seed.wrapping_add(i as u8);
        fill(p, size.min(256), s);
        live.push((p, l, s));
        if live.len() > 32 || i % 3 == 0 {
            let (p, l, s) = live.swap_remove(i % live.len());
            ok &= holds(p, l.size().min(256), s);
            free(p, l);
        }
    }
    for (p, l, s) in live {
        ok &= holds(p, l.size().min(256), s);
        free(p, l);
    }
    ok
}

#[test]
fn threads_allocating_at_once_never_share_a_block() {
    let _heap = shared();
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || churn(t * 50, 20_000, &stop))
        })
        .collect();
    for t in threads {
        assert!(
            t.join().unwrap_or(false),
            "a thread found its block changed"
        );
    }
}

/// In the child: allocate and free through the allocator, then `_exit`.
fn child_allocates() -> ! {
    // A panic must not unwind into the copy of the test harness.
    let ok = std::panic::catch_unwind(|| churn(9, 200, &AtomicBool::new(false)));
    // SAFETY: _exit ends the child without running the parent's atexit
    // handlers or touching its stdio.
    unsafe { libc::_exit(if matches!(ok, Ok(true)) { 0 } else { 3 }) }
}

/// Waits for `pid` until `deadline`; kills it and says so when it is late.
fn wait_until(pid: libc::pid_t, deadline: Instant) -> Result<i32, String> {
    loop {
        let mut status = 0;
        // SAFETY: status is a valid out pointer; pid is our child.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc == pid {
            return Ok(status);
        }
        if rc < 0 {
            return Err(format!(
                "waitpid({pid}): {}",
                std::io::Error::last_os_error()
            ));
        }
        if Instant::now() > deadline {
            // SAFETY: pid is our unreaped child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return Err(format!(
                "child {pid} hung: it inherited a held allocator lock"
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Allocates and frees small blocks with nothing in between, so the lock
/// is held much of the time, until `stop`.
fn hammer(stop: &AtomicBool) {
    let mut held = [null_mut(); 8];
    while !stop.load(Ordering::Relaxed) {
        for (i, p) in held.iter_mut().enumerate() {
            *p = alloc(layout(16 << i, 8));
        }
        for (i, p) in held.iter().enumerate() {
            free(*p, layout(16 << i, 8));
        }
    }
}

#[test]
fn a_child_forked_while_another_thread_allocates_never_hangs() {
    let _heap = shared();
    let stop = Arc::new(AtomicBool::new(false));
    let hammers: Vec<_> = (0..2)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || hammer(&stop))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut result = Ok(());
    for round in 0..300 {
        // SAFETY: the child only calls the allocator and _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            child_allocates();
        }
        if pid < 0 {
            result = Err(format!("fork: {}", std::io::Error::last_os_error()));
            break;
        }
        let child_deadline = deadline.min(Instant::now() + Duration::from_secs(10));
        match wait_until(pid, child_deadline) {
            Ok(0) => {}
            Ok(status) => result = Err(format!("round {round}: child status {status:#x}")),
            Err(e) => result = Err(format!("round {round}: {e}")),
        }
        if result.is_err() {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for h in hammers {
        assert!(h.join().is_ok(), "a hammering thread panicked");
    }
    assert_eq!(result, Ok(()));
}

/// The fork handlers are in place before anything can allocate. Checked in
/// a fresh copy of this test binary running only this test, where nothing
/// has used the heap yet: registering at the first allocation instead let
/// a fork from one thread catch another mid-registration (state 1), and the
/// child then waited forever for a registrar it did not have.
#[test]
fn fork_handlers_are_registered_before_main() {
    assert_eq!(
        FORK_SAFE.load(Ordering::Acquire),
        2,
        "the fork handlers were not registered before the test began"
    );
}

#[test]
fn fork_handlers_are_registered_before_main_in_a_fresh_process() {
    let name = "alloc::tests::fork_handlers_are_registered_before_main";
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let out = std::process::Command::new(&exe)
        .args(["--exact", name, "--test-threads=1"])
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("1 passed"),
        "{} --exact {name}: {}\n{text}{}",
        exe.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
