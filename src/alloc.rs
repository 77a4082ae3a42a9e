//! The global allocator of the static (musl) build, set in `main.rs`.
//!
//! musl's mallocng maps and unmaps 4–16 KiB groups as a run's heap grows
//! and shrinks: ~200 `mmap` + ~200 `munmap` per `check`, each with fresh
//! zero-filled page faults. jemalloc or mimalloc would fix that but cost
//! more bytes than the 1 MiB budget leaves (aarch64 has ~21 KB of margin).
//! This one is small: power-of-two classes from 16 B to 64 KiB with a free
//! list each, carved from 1 MiB chunks that are touched lazily and never
//! returned (the doctor lives for milliseconds); larger blocks are mapped
//! and unmapped directly, and grow with `mremap`. No headers: `dealloc` is
//! given the layout, which names the class.
//!
//! One spin lock guards the classes. The doctor forks probe children while
//! an abandoned file-reading thread may be allocating, so the lock is taken
//! around every `fork` (`pthread_atfork`) and released in parent and child:
//! a child never inherits it held. The handlers are registered by a loader
//! constructor, before `main` and any thread: a fork racing with their
//! registration would leave the child waiting for a registrar it does not
//! have, or holding the lock with no handler to release it.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use nix::libc;

/// Log2 of the smallest class (16 B: two words, the alignment malloc gives).
const MIN_SHIFT: u32 = 4;
/// Blocks above this (64 KiB) are mapped on their own.
const MAX_SMALL: usize = 1 << 16;
const CLASSES: usize = 13; // 16 B ..= 64 KiB
const CHUNK: usize = 1 << 20;
/// The smallest page any Linux has: chunks are aligned at least to it, so
/// a class block can honour any alignment up to it.
const MIN_PAGE: usize = 4096;

/// The allocator: a handle to this module's one heap.
pub struct Allocator;

struct Heap {
    /// Head of each class's free list; a free block's first word links on.
    free: [*mut u8; CLASSES],
    /// Unused part of the current chunk.
    next: usize,
    end: usize,
}

struct Shared(UnsafeCell<Heap>);

// SAFETY: the heap is only reached through `with_heap`, under LOCKED.
unsafe impl Sync for Shared {}

static HEAP: Shared = Shared(UnsafeCell::new(Heap {
    free: [null_mut(); CLASSES],
    next: 0,
    end: 0,
}));
static LOCKED: AtomicBool = AtomicBool::new(false);
/// 0: fork handlers not registered, 1: being registered, 2: registered.
static FORK_SAFE: AtomicU8 = AtomicU8::new(0);
/// Chunks mapped so far (tests read it to see blocks are reused).
static CHUNKS: AtomicUsize = AtomicUsize::new(0);

/// The class index of a layout, or `None` when it is mapped on its own.
fn class(layout: Layout) -> Option<usize> {
    let need = layout.size().max(layout.align()).max(1 << MIN_SHIFT);
    if need > MAX_SMALL || layout.align() > MIN_PAGE {
        return None;
    }
    Some((usize::BITS - (need - 1).leading_zeros() - MIN_SHIFT) as usize)
}

fn acquire() {
    let mut spins = 0u32;
    while LOCKED.swap(true, Ordering::Acquire) {
        while LOCKED.load(Ordering::Relaxed) {
            spins += 1;
            if spins < 100 {
                core::hint::spin_loop();
            } else {
                // SAFETY: sched_yield has no preconditions.
                unsafe { libc::sched_yield() };
            }
        }
    }
}

extern "C" fn release() {
    LOCKED.store(false, Ordering::Release);
}

extern "C" fn prepare_fork() {
    acquire();
}

/// Registers the fork handlers once, before anyone can hold the lock, and
/// never while holding it: `fork` runs the handlers under libc's atfork
/// lock, which `pthread_atfork` also takes. `REGISTER_AT_LOAD` calls it
/// while the process has one thread, so no fork can see the middle state;
/// allocations call it again only to retry a registration that failed.
fn ensure_fork_safe() {
    if FORK_SAFE.load(Ordering::Acquire) == 2 {
        return;
    }
    if FORK_SAFE
        .compare_exchange(0, 1, Ordering::Acquire, Ordering::Acquire)
        .is_ok()
    {
        // SAFETY: the handlers are plain functions touching only LOCKED.
        let rc = unsafe { libc::pthread_atfork(Some(prepare_fork), Some(release), Some(release)) };
        // On failure (ENOMEM) the next allocation tries again.
        FORK_SAFE.store(if rc == 0 { 2 } else { 0 }, Ordering::Release);
        return;
    }
    while FORK_SAFE.load(Ordering::Acquire) == 1 {
        // SAFETY: sched_yield has no preconditions.
        unsafe { libc::sched_yield() };
    }
}

extern "C" fn register_at_load() {
    ensure_fork_safe();
}

/// Run by the loader (static musl and glibc alike) before `main`, while no
/// other thread exists. Registering at the first allocation instead was
/// racy wherever threads allocate before the first fork (the test harness
/// does): a child forked mid-registration spun forever on state 1.
#[used]
#[link_section = ".init_array"]
static REGISTER_AT_LOAD: extern "C" fn() = register_at_load;

/// Runs `f` on the heap under the lock.
fn with_heap<T>(f: impl FnOnce(&mut Heap) -> T) -> T {
    ensure_fork_safe();
    acquire();
    // SAFETY: LOCKED is held, so this is the only reference to the heap.
    let out = f(unsafe { &mut *HEAP.0.get() });
    release();
    out
}

/// Maps `len` fresh zeroed bytes, or null.
fn map(len: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping at an address of the kernel's
    // choosing aliases nothing.
    let p = unsafe {
        libc::mmap(
            null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        null_mut()
    } else {
        p.cast()
    }
}

/// Unmaps `len` bytes at `p`, which this module mapped.
///
/// # Safety
/// Nothing may use the range afterwards.
unsafe fn unmap(p: *mut u8, len: usize) {
    // SAFETY: the caller gives up the range; a failure leaves it mapped,
    // which wastes it but harms nothing.
    unsafe { libc::munmap(p.cast(), len) };
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions; musl reads the auxiliary vector.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as usize
    } else {
        MIN_PAGE
    }
}

fn round_up(n: usize, to: usize) -> usize {
    (n + to - 1) & !(to - 1)
}

impl Heap {
    fn pop(&mut self, c: usize) -> *mut u8 {
        let p = self.free[c];
        if p.is_null() {
            return self.carve(16 << c);
        }
        // SAFETY: a free block of this class is at least 16 bytes, aligned
        // to 16, and its first word holds the next free block.
        self.free[c] = unsafe { p.cast::<*mut u8>().read() };
        p
    }

    fn push(&mut self, c: usize, p: *mut u8) {
        // SAFETY: the caller frees `p`, a block of class `c`: its first word
        // is ours to link with.
        unsafe { p.cast::<*mut u8>().write(self.free[c]) };
        self.free[c] = p;
    }

    /// A new block of `size` bytes from the chunk, aligned to its size up
    /// to a page; a new chunk when this one is spent (its tail is left).
    fn carve(&mut self, size: usize) -> *mut u8 {
        let mut start = round_up(self.next, size.min(MIN_PAGE));
        if self.next == 0 || start + size > self.end {
            let chunk = map(CHUNK);
            if chunk.is_null() {
                return null_mut();
            }
            CHUNKS.fetch_add(1, Ordering::Relaxed);
            start = chunk as usize;
            self.end = start + CHUNK;
        }
        self.next = start + size;
        start as *mut u8
    }
}

/// A block mapped on its own, aligned to `layout.align()` (the mapping is
/// over-sized and trimmed when that is more than a page).
fn map_large(layout: Layout) -> *mut u8 {
    let page = page_size();
    let len = round_up(layout.size().max(1), page);
    if layout.align() <= page {
        return map(len);
    }
    let Some(span) = len.checked_add(layout.align()) else {
        return null_mut();
    };
    let base = map(span);
    if base.is_null() {
        return base;
    }
    let head = round_up(base as usize, layout.align()) - base as usize;
    // SAFETY: head and tail are page-aligned parts of the mapping just made
    // that the block does not cover.
    unsafe {
        if head > 0 {
            unmap(base, head);
        }
        if span - head > len {
            unmap(base.add(head + len), span - head - len);
        }
        base.add(head)
    }
}

/// Grows or shrinks a large block with `mremap` (its pages move, nothing is
/// copied); `None` when the alignment is more than a page (mremap would
/// only keep page alignment).
///
/// # Safety
/// `p` is a live large block allocated with `old`.
unsafe fn remap_large(p: *mut u8, old: Layout, new_size: usize) -> Option<*mut u8> {
    let page = page_size();
    if old.align() > page {
        return None;
    }
    let (from, to) = (round_up(old.size().max(1), page), round_up(new_size, page));
    if from == to {
        return Some(p);
    }
    // SAFETY: `p` heads a mapping of `from` bytes that we own; on failure it
    // is left as it was and null tells the caller.
    let q = unsafe { libc::mremap(p.cast(), from, to, libc::MREMAP_MAYMOVE) };
    Some(if q == libc::MAP_FAILED {
        null_mut()
    } else {
        q.cast()
    })
}

// SAFETY: blocks are distinct (a block is on at most one free list or with
// one owner), at least as large and as aligned as asked, and null is
// returned when memory runs out.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class(layout) {
            Some(c) => with_heap(|h| h.pop(c)),
            None => map_large(layout),
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let Some(c) = class(layout) else {
            return map_large(layout); // fresh pages are zero
        };
        let p = with_heap(|h| h.pop(c));
        if !p.is_null() {
            // SAFETY: the block has at least layout.size() bytes.
            unsafe { p.write_bytes(0, layout.size()) };
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match class(layout) {
            Some(c) => with_heap(|h| h.push(c, ptr)),
            // SAFETY: a large block is its own mapping, freed by the caller.
            None => unsafe { unmap(ptr, round_up(layout.size().max(1), page_size())) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees new_size, rounded to the alignment,
        // does not overflow isize.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class(layout), class(new)) {
            (Some(a), Some(b)) if a == b => return ptr,
            (None, None) => {
                // SAFETY: ptr is a live large block of `layout`.
                if let Some(q) = unsafe { remap_large(ptr, layout, new_size) } {
                    return q;
                }
            }
            _ => {}
        }
        // SAFETY: `new` is a valid layout (see above).
        let q = unsafe { self.alloc(new) };
        if !q.is_null() {
            // SAFETY: both blocks are live, distinct and hold the bytes
            // copied; the old one is freed once, with its own layout.
            unsafe {
                q.copy_from_nonoverlapping(ptr, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        q
    }
}

#[cfg(test)]
mod tests;
