//! A tool's version learnt without running the tool where possible.
//!
//! `podman --version` is not free: podman 4.3 creates `/tmp/podman-run-UID`
//! and `/tmp/containers-user-UID`, podman 5 `/tmp/storage-run-UID` and
//! `$HOME/.config`, just to print one line, and each exec of a Go binary
//! costs tens of milliseconds and megabytes. So the version comes, in order,
//! from: the dpkg database (`/var/lib/dpkg/status`, or `status.d/` in
//! distroless images), Alpine's `/lib/apk/db/installed` — each only when
//! that package really owns the binary found — and the Go build information
//! embedded in the binary (`.go.buildinfo`: the main module's version or a
//! `-X …version=` linker flag). The rpm database is not read: it is a
//! SQLite (or Berkeley DB) file of binary rpm headers, which would cost a
//! SQLite reader and a header parser — far more bytes than the one exec it
//! saves on Fedora-based images. Only then is the tool run, with HOME,
//! XDG_* and TMPDIR pointed at a private directory removed afterwards.
//!
//! The parsers are pure (text or bytes in, answer out); [`Host::tool_version`]
//! feeds them through the seam.

use super::Host;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BTreeMap;
#[cfg(test)]
use std::path::Path;
use std::path::PathBuf;
use std::rc::Rc;

/// A version line and where it came from (the evidence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learnt {
    /// `podman version 4.3.1` from the tool, or `podman 4.3.1+ds1-8` from a
    /// database: the first `N.N[.N]` in it is the version.
    pub line: String,
    /// How it was learnt, e.g. `dpkg database /var/lib/dpkg/status (package
    /// podman owns /usr/bin/podman); podman not run`.
    pub source: String,
}

/// Package databases read for the run, by path.
type Kept<T> = RefCell<Vec<(PathBuf, Rc<T>)>>;

/// What `kept` holds for `path`, else what `read` gives, kept for the run.
fn kept_for_run<T: ?Sized>(
    kept: &'static std::thread::LocalKey<Kept<T>>,
    path: PathBuf,
    read: impl FnOnce() -> Option<Rc<T>>,
) -> Option<Rc<T>> {
    let hit = kept.with_borrow(|k| k.iter().find(|(p, _)| *p == path).map(|(_, v)| v.clone()));
    if hit.is_some() {
        return hit;
    }
    let value = read()?;
    kept.with_borrow_mut(|k| k.push((path, value.clone())));
    Some(value)
}

/// The most of a package database read (a real one is ~1 MB).
const DB_LIMIT: u64 = 64 << 20;

/// The stanza of an installed package in a dpkg `status` file (stanzas
/// separated by blank lines): its `Version`, when `Status` says installed.
pub fn dpkg_version(status: &str, package: &str) -> Option<String> {
    DpkgIndex::of(status).version(package)
}

/// The installed packages of a dpkg `status` file and their versions,
/// read in one pass, piece by piece ([`DpkgIndex::feed`]): each stanza,
/// once whole, leaves only its package and version.
///
/// issue 10: the file is ~1 MB and asked once per tool (podman, crun,
/// runc): a search per tool cost ~2 ms of a 12 ms check, reading it into
/// one buffer another 0.5 ms.
#[derive(Debug, Default)]
pub struct DpkgIndex {
    /// `(package, version)` of each installed stanza, in file order.
    installed: Vec<(String, String)>,
    /// The start of a stanza not yet whole.
    pending: Vec<u8>,
}

impl DpkgIndex {
    pub fn of(status: &str) -> DpkgIndex {
        let mut index = DpkgIndex::default();
        index.feed(status.as_bytes());
        index.finish()
    }

    /// The next piece of the file.
    pub fn feed(&mut self, piece: &[u8]) {
        // What is pending holds no break, but a break may begin at its
        // last byte: only the rest is scanned, so a file without breaks
        // costs one pass, not one per piece.
        let from = self.pending.len().saturating_sub(1);
        self.pending.extend_from_slice(piece);
        let (pending, installed) = (&self.pending, &mut self.installed);
        let mut start = 0;
        for_each_break(&pending[from..], |at| {
            let end = from + at;
            installed.extend(installed_version(&pending[start..end]));
            start = end + 2;
        });
        self.pending.drain(..start);
    }

    /// The end of the file: what is pending is the last stanza.
    pub fn finish(mut self) -> DpkgIndex {
        self.installed
            .extend(installed_version(&std::mem::take(&mut self.pending)));
        self
    }

    /// `Version` of the first installed stanza of `package`.
    pub fn version(&self, package: &str) -> Option<String> {
        self.installed
            .iter()
            .find(|(name, _)| name == package)
            .map(|(_, version)| version.clone())
    }
}

/// `(Package, Version)` of a dpkg stanza whose `Status` says installed:
/// the first line of each field counts, as dpkg writes each once. Bytes
/// are looked at only up to the last of the three (dpkg writes them first,
/// before the long `Depends`, `Description` and `Conffiles`), and only the
/// values are decoded: decoding each whole stanza was most of the index's
/// cost.
fn installed_version(stanza: &[u8]) -> Option<(String, String)> {
    let (mut package, mut status, mut version) = (None, None, None);
    for line in stanza.split(|&b| b == b'\n') {
        match line.first() {
            Some(b'P') if package.is_none() => package = field_value(line, "Package"),
            Some(b'S') if status.is_none() => status = field_value(line, "Status"),
            Some(b'V') if version.is_none() => version = field_value(line, "Version"),
            _ => continue,
        }
        if package.is_some() && status.is_some() && version.is_some() {
            break;
        }
    }
    status
        .is_some_and(|s| s.ends_with(" installed"))
        .then(|| Some((package?, version?)))
        .flatten()
}

/// The value of a `name: value` line of a stanza, trimmed.
fn field_value(line: &[u8], name: &str) -> Option<String> {
    let value = line.strip_prefix(name.as_bytes())?.strip_prefix(b":")?;
    Some(String::from_utf8_lossy(value).trim().to_string())
}

/// Calls `each` with the offset of every stanza break (`"\n\n"`, the
/// leftmost of overlapping ones, as `str::split` cuts) of `bytes`, in order,
/// looking at eight bytes at a time: a status file has ~20 000 lines but
/// only ~1 000 breaks, and a search per line cost more than this whole
/// scan. A plain loop over words: at opt-level "z" neither an iterator
/// chain nor a short `copy_from_slice` per word was inlined.
fn for_each_break(bytes: &[u8], mut each: impl FnMut(usize)) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    let mut last = [0u8; 8]; // its padding is no newline
    last[..tail.len()].copy_from_slice(tail);
    let whole = bytes.len() - tail.len();
    // `free`: where the next break may start (breaks do not overlap);
    // `carry`: the previous word ended in a newline.
    let (mut free, mut carry) = (0, false);
    for (base, word) in (0..).step_by(8).zip(words.chain([&last[..]])) {
        let x = u64::from_le_bytes(word.try_into().unwrap_or([0; 8])) ^ 0x0a0a_0a0a_0a0a_0a0a;
        // The top bit of each byte of `x` that was '\n': the sum per byte
        // cannot carry into the next (0x7f + 0x7f < 0x100).
        let newlines = !(((x & LOW7) + LOW7) | x) & !LOW7;
        if carry && newlines & 0x80 != 0 && base > free {
            each(base - 1);
            free = base + 1;
        }
        let mut pairs = newlines & (newlines >> 8);
        while pairs != 0 {
            let at = base + pairs.trailing_zeros() as usize / 8;
            if at >= free {
                each(at);
                free = at + 2;
            }
            pairs &= pairs - 1;
        }
        carry = newlines >> 63 != 0;
        if base >= whole {
            break;
        }
    }
}

/// The bytes a search of dpkg's status reads at a time: this host's
/// stanzas are ~0.9 KB on average (11.7 KB at most), so a window at a
/// bisection point nearly always holds a break and the next `Package:`.
pub const DPKG_WINDOW: usize = 4 << 10;

/// A file read at an offset: at most `len` bytes of it (fewer at its end),
/// `None` when the read fails.
pub type ReadAt<'a> = dyn Fn(u64, usize) -> Option<Vec<u8>> + 'a;

/// The most reads of one search before it gives up and the whole file is
/// read: a 64 MiB file bisects in ~14.
const SEARCH_READS: usize = 40;

/// `Version` of the first installed stanza of `package` in a dpkg status
/// file of `size` bytes, found by bisection with a few `read(offset, len)`
/// of `window` bytes, not by reading ~1 MB: dpkg writes the stanzas sorted
/// by package name (byte order, then architecture), so one package's lie
/// together.
///
/// `None` whenever it cannot be sure, and the caller reads the whole file
/// ([`DpkgIndex`]): the package is not there or not installed, a stanza
/// met does not begin with its `Package:` line, the names met are out of
/// order, a read failed, or the reads ran out. An answer is the one the
/// whole file gives whenever the stanzas named `package` lie together, as
/// in every file dpkg writes; a hand-made file repeating an installed
/// package far apart is beyond any search that does not read it all.
pub fn dpkg_search(size: u64, window: usize, package: &str, read: &ReadAt) -> Option<String> {
    let mut file = Windows {
        read,
        size,
        window: window.max(2),
        left: SEARCH_READS,
    };
    let (from, before) = file.bisect(package)?;
    file.scan(from, before, package)
}

/// Where the first `"\n\n"` of `bytes` is: a search per line, as lines
/// are short (a byte-pair compare at each offset cost more than the reads).
fn first_break(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let at = from + bytes.get(from..)?.iter().position(|&b| b == b'\n')?;
        if bytes.get(at + 1) == Some(&b'\n') {
            return Some(at);
        }
        from = at + 1;
    }
}

/// Bytes of the file from `start`, as read so far.
struct Span {
    start: u64,
    bytes: Vec<u8>,
}

impl Span {
    fn at(start: u64) -> Span {
        Span {
            start,
            bytes: Vec::new(),
        }
    }

    /// Forgets the first `n` bytes.
    fn advance(&mut self, n: usize) {
        let n = n.min(self.bytes.len());
        self.start += n as u64;
        self.bytes.drain(..n);
    }
}

/// A status file read a window at a time, within a budget of reads.
struct Windows<'a> {
    read: &'a ReadAt<'a>,
    size: u64,
    window: usize,
    left: usize,
}

impl Windows<'_> {
    /// Appends the next window to `span`: `Some(false)` at the end of the
    /// file; `None` when the budget is spent or a read fails or comes back
    /// empty before the end (the file shrank: no sure answer).
    fn grow(&mut self, span: &mut Span) -> Option<bool> {
        let at = span.start.checked_add(span.bytes.len() as u64)?;
        if at >= self.size {
            return Some(false);
        }
        self.left = self.left.checked_sub(1)?;
        let len = usize::try_from(self.size - at).map_or(self.window, |r| r.min(self.window));
        let mut got = (self.read)(at, len)?;
        got.truncate(len);
        if got.is_empty() {
            return None;
        }
        if span.bytes.is_empty() {
            span.bytes = got; // no second copy of a probe's window
        } else {
            span.bytes.extend_from_slice(&got);
        }
        Some(true)
    }

    /// Where the first break (`"\n\n"`) at or after `from` in `span` is,
    /// reading on as needed; `Some(None)` when the file ends first.
    fn find_break(&mut self, span: &mut Span, mut from: usize) -> Option<Option<usize>> {
        loop {
            if let Some(at) = first_break(span.bytes.get(from..)?) {
                return Some(Some(from + at));
            }
            // A break may straddle two windows.
            from = span.bytes.len().saturating_sub(1);
            if !self.grow(span)? {
                return Some(None);
            }
        }
    }

    /// Moves `span` past newlines to the first byte of a stanza (a run of
    /// three or more is still one break for the whole-file index: what is
    /// between is empty); `Some(false)` when the file ends first.
    fn skip_newlines(&mut self, span: &mut Span) -> Option<bool> {
        loop {
            let n = span.bytes.iter().take_while(|&&b| b == b'\n').count();
            span.advance(n);
            if !span.bytes.is_empty() {
                return Some(true);
            }
            if !self.grow(span)? {
                return Some(false);
            }
        }
    }

    /// The package of the stanza `span` begins with, from its first line,
    /// which must be `Package:` (dpkg writes it first) so that it is the
    /// name the whole-file index gives the stanza too.
    fn name(&mut self, span: &mut Span) -> Option<String> {
        let mut from = 0;
        let end = loop {
            if let Some(at) = span.bytes.get(from..)?.iter().position(|&b| b == b'\n') {
                break from + at;
            }
            from = span.bytes.len();
            if !self.grow(span)? {
                break from;
            }
        };
        field_value(span.bytes.get(..end)?, "Package")
    }

    /// The first stanza after a break at or after `at`, as a span from its
    /// first byte, and its name; `Some(None)` when none begins there.
    fn stanza_after(&mut self, at: u64) -> Option<Option<(Span, String)>> {
        let mut span = Span::at(at);
        let Some(cut) = self.find_break(&mut span, 0)? else {
            return Some(None);
        };
        span.advance(cut + 2);
        if !self.skip_newlines(&mut span)? {
            return Some(None);
        }
        let name = self.name(&mut span)?;
        Some(Some((span, name)))
    }

    /// Bisects the file for where the first stanza named `package` (or
    /// after it) may begin: after a stanza named before it (a span from
    /// that stanza's start, and its name) or from the file's start
    /// (`None`), within about a window of it.
    fn bisect(&mut self, package: &str) -> Option<(Option<Span>, Option<String>)> {
        let (mut lo, mut hi) = (0u64, self.size);
        let (mut before, mut after): (Option<(Span, String)>, Option<String>) = (None, None);
        while hi.saturating_sub(lo) > self.window as u64 {
            let mid = lo + (hi - lo) / 2;
            let Some((span, name)) = self.stanza_after(mid)? else {
                hi = mid;
                continue;
            };
            // The stanza lies between those met before and after: a name
            // out of order there means the file is not sorted.
            let low = before.as_ref().map(|(_, n)| n);
            if low.is_some_and(|l| name < *l) || after.as_ref().is_some_and(|h| name > *h) {
                return None;
            }
            if name.as_str() < package {
                lo = span.start;
                before = Some((span, name));
            } else {
                hi = mid;
                after = Some(name);
            }
        }
        Some(before.map_or((None, None), |(s, n)| (Some(s), Some(n))))
    }

    /// Reads stanza after stanza from `from` (the file's start when
    /// `None`) to the first installed one named `package`, as
    /// [`DpkgIndex::version`] takes; `None` at a name after it, at the end,
    /// or at what dpkg does not write (names out of order, a stanza not
    /// beginning with `Package:`).
    fn scan(
        &mut self,
        from: Option<Span>,
        mut last: Option<String>,
        package: &str,
    ) -> Option<String> {
        let mut span = from.unwrap_or(Span::at(0));
        while self.skip_newlines(&mut span)? {
            let end = self.find_break(&mut span, 0)?.unwrap_or(span.bytes.len());
            let stanza = span.bytes.get(..end)?;
            let name = field_value(stanza.split(|&b| b == b'\n').next()?, "Package")?;
            if last.as_ref().is_some_and(|l| name < *l) {
                return None;
            }
            match name.as_str().cmp(package) {
                Ordering::Less => {}
                Ordering::Equal => {
                    if let Some((_, version)) = installed_version(stanza) {
                        return Some(version);
                    }
                }
                Ordering::Greater => return None,
            }
            last = Some(name);
            span.advance(end);
        }
        None
    }
}

/// Whether a dpkg file list (`info/P.list`: absolute paths, or `P.md5sums`:
/// `md5  relative/path`) names `path`, allowing for merged /usr (the list
/// may say `/sbin/runc` for `/usr/sbin/runc` and the other way round).
pub fn list_owns(list: &str, path: &str) -> bool {
    let bare = |p: &str| {
        let p = p.trim_start_matches('/');
        p.strip_prefix("usr/").unwrap_or(p).to_string()
    };
    let want = bare(path);
    list.lines()
        .map(|l| l.rsplit("  ").next().unwrap_or(l).trim())
        .any(|l| bare(l) == want)
}

/// The version of the Alpine package that owns `path`, from
/// `/lib/apk/db/installed` (`P:` name, `V:` version, `F:` directory
/// without the leading slash, `R:` file in it).
pub fn apk_owner_version(installed: &str, path: &str) -> Option<(String, String)> {
    let want = path.trim_start_matches('/');
    installed.split("\n\n").find_map(|stanza| {
        let (mut name, mut version, mut dir) = (None, None, "");
        let mut owns = false;
        for line in stanza.lines() {
            match line.split_once(':') {
                Some(("P", v)) => name = Some(v),
                Some(("V", v)) => version = Some(v),
                Some(("F", v)) => dir = v,
                Some(("R", v)) => owns |= format!("{dir}/{v}") == want,
                _ => {}
            }
        }
        owns.then(|| Some((name?.to_string(), version?.to_string())))
            .flatten()
    })
}

/// Where a section lies in an ELF64 little-endian file, from the ELF
/// header (`head`, at least 64 bytes), the section headers and the section
/// name table: `(offset, size)` of `.go.buildinfo`. `read(offset, len)`
/// reads the file.
pub fn elf_section(
    head: &[u8],
    name: &str,
    read: &dyn Fn(u64, usize) -> Option<Vec<u8>>,
) -> Option<(u64, u64)> {
    if head.len() < 64 || &head[..4] != b"\x7fELF" || head[4] != 2 || head[5] != 1 {
        return None;
    }
    let u16_at =
        |b: &[u8], at: usize| Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?));
    let u32_at =
        |b: &[u8], at: usize| Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?));
    let u64_at =
        |b: &[u8], at: usize| Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?));
    let shoff = u64_at(head, 0x28)?;
    let entsize = usize::from(u16_at(head, 0x3a)?);
    let count = usize::from(u16_at(head, 0x3c)?);
    let names_index = usize::from(u16_at(head, 0x3e)?);
    if entsize < 64 || count == 0 || count > 4096 || names_index >= count {
        return None;
    }
    let table = read(shoff, entsize * count)?;
    let header = |i: usize| table.get(i * entsize..(i + 1) * entsize);
    let names = header(names_index)?;
    let names = read(
        u64_at(names, 0x18)?,
        usize::try_from(u64_at(names, 0x20)?).ok()?.min(1 << 16),
    )?;
    (0..count).find_map(|i| {
        let h = header(i)?;
        let at = usize::try_from(u32_at(h, 0)?).ok()?;
        let end = at + names.get(at..)?.iter().position(|&b| b == 0)?;
        (&names[at..end] == name.as_bytes()).then(|| Some((u64_at(h, 0x18)?, u64_at(h, 0x20)?)))?
    })
}

/// The module information of a Go `.go.buildinfo` section (Go 1.18+ layout,
/// flag bit 2: inline varint-prefixed strings): `(go version, modinfo)`.
pub fn go_buildinfo(section: &[u8]) -> Option<(String, String)> {
    if section.len() < 32 || !section.starts_with(b"\xff Go buildinf:") || section[15] & 2 == 0 {
        return None;
    }
    let mut rest = &section[32..];
    let mut next = || {
        let (mut len, mut shift) = (0usize, 0);
        loop {
            let (&b, tail) = rest.split_first()?;
            rest = tail;
            len |= usize::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 28 {
                return None;
            }
        }
        let s = rest.get(..len)?;
        rest = &rest[len..];
        Some(s)
    };
    let go = next()?;
    let framed = next()?;
    // modinfo is framed by two 16-byte sentinels: cut them as bytes (a cut
    // in the text could fall inside a character).
    let modinfo = match framed.len() {
        33.. => &framed[16..framed.len() - 16],
        _ => framed,
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Some((text(go), text(modinfo)))
}

/// A version in Go module information: the main module's (`mod PATH
/// vX.Y.Z`, not `(devel)`), else a `-X PKG.version=V` (or `Version`,
/// `RawVersion`) linker flag recorded as a build setting.
pub fn go_version(modinfo: &str) -> Option<String> {
    let main = modinfo.lines().find_map(|l| {
        let mut f = l.split('\t');
        (f.next() == Some("mod")).then(|| f.nth(1))?
    });
    if let Some(v) =
        main.filter(|v| v.starts_with('v') && v[1..].starts_with(|c: char| c.is_ascii_digit()))
    {
        return Some(v.trim_start_matches('v').to_string());
    }
    let flags = modinfo
        .lines()
        .find_map(|l| l.strip_prefix("build\t-ldflags="))?;
    let words: Vec<&str> = flags.trim_matches('"').split_whitespace().collect();
    words.windows(2).find_map(|w| {
        let (key, value) = w[1].split_once('=')?;
        let var = key.rsplit('.').next()?.to_ascii_lowercase();
        (w[0] == "-X" && (var == "version" || var == "rawversion") && !value.is_empty())
            .then(|| value.trim_matches('\'').to_string())
    })
}

/// The version in the Go build information of the ELF file `read` reads.
fn buildinfo_version(read: &ReadAt) -> Option<String> {
    let head = read(0, 64)?;
    let (offset, size) = elf_section(&head, ".go.buildinfo", read)?;
    let section = read(offset, usize::try_from(size).ok()?.min(1 << 16))?;
    go_version(&go_buildinfo(&section)?.1)
}

impl Host {
    /// The version line of the tool at `path` (a system path): from a
    /// package database or the binary's build information, else by running
    /// `path --version` in a private scratch environment. `None` with the
    /// failed output (or why) when nothing gave one.
    pub fn tool_version(&self, path: &str) -> Result<Learnt, String> {
        let name = path.rsplit('/').next().unwrap_or(path);
        // A capture records the run (one line) rather than a whole package
        // database (~1 MB), so that the fixture stays small and replays.
        if self.capture.is_some() {
            return self.run_private(name, path);
        }
        if let Some(found) = self
            .version_in_dpkg(name, path)
            .or_else(|| self.version_in_apk(name, path))
        {
            return Ok(found);
        }
        if let Some(v) = self.version_in_buildinfo(path) {
            return Ok(Learnt {
                line: format!("{name} {v}"),
                source: format!("Go build information in {path} (.go.buildinfo); {name} not run"),
            });
        }
        self.run_private(name, path)
    }

    fn version_in_dpkg(&self, name: &str, path: &str) -> Option<Learnt> {
        let (status_path, list_path) = [
            (
                "/var/lib/dpkg/status".to_string(),
                format!("/var/lib/dpkg/info/{name}.list"),
            ),
            (
                format!("/var/lib/dpkg/status.d/{name}"),
                format!("/var/lib/dpkg/status.d/{name}.md5sums"),
            ),
        ]
        .into_iter()
        .find(|(_, list)| self.read(list).is_ok_and(|l| list_owns(&l, path)))?;
        let version = self
            .dpkg_search(&status_path, name)
            .or_else(|| self.dpkg_index(&status_path)?.version(name))?;
        Some(Learnt {
            line: format!("{name} {version}"),
            source: format!(
                "dpkg database {status_path} (package {name} owns {path}, per {list_path}); {name} not run"
            ),
        })
    }

    fn version_in_apk(&self, name: &str, path: &str) -> Option<Learnt> {
        const DB: &str = "/lib/apk/db/installed";
        let (package, version) = apk_owner_version(&self.read_db(DB)?, path)?;
        Some(Learnt {
            line: format!("{name} {version}"),
            source: format!("apk database {DB} (package {package} owns {path}); {name} not run"),
        })
    }

    /// dpkg's status (~1 MB) indexed, read once for all the tools of the
    /// run. Not through `Host::read`: that would also record it in a
    /// capture (captures run the tool instead, see `tool_version`).
    fn dpkg_index(&self, path: &str) -> Option<Rc<DpkgIndex>> {
        thread_local!(static KEPT: Kept<DpkgIndex> = const { RefCell::new(Vec::new()) });
        kept_for_run(&KEPT, self.path(path), || {
            let mut index = DpkgIndex::default();
            self.sys
                .read_pieces(&self.root, path, DB_LIMIT, &mut |piece| index.feed(piece))
                .ok()?;
            Some(Rc::new(index.finish()))
        })
    }

    /// issue 10: `package` looked up in dpkg's status by bisection, a few
    /// windows of it instead of ~1 MB ([`dpkg_search`]); `None` sends the
    /// caller to the whole-file index. Not recorded in a capture either.
    fn dpkg_search(&self, path: &str, package: &str) -> Option<String> {
        let mut found = None;
        self.sys
            .read_windows(&self.root, path, &mut |size, read| {
                found = dpkg_search(size.min(DB_LIMIT), DPKG_WINDOW, package, read);
            })
            .ok()?;
        found
    }

    /// Alpine's package database, read in one piece and kept for the run
    /// (not through `Host::read`, as for dpkg).
    fn read_db(&self, path: &str) -> Option<Rc<str>> {
        thread_local!(static KEPT: Kept<str> = const { RefCell::new(Vec::new()) });
        kept_for_run(&KEPT, self.path(path), || {
            let mut bytes = Vec::new();
            self.sys
                .read_pieces(&self.root, path, DB_LIMIT, &mut |piece| {
                    bytes.extend_from_slice(piece)
                })
                .ok()?;
            Some(String::from_utf8_lossy(&bytes).into())
        })
    }

    fn version_in_buildinfo(&self, path: &str) -> Option<String> {
        let mut found = None;
        self.sys
            .read_windows(&self.root, path, &mut |_, read| {
                found = buildinfo_version(read);
            })
            .ok()?;
        found
    }

    /// Runs `path --version` with HOME, XDG_* and TMPDIR in a fresh private
    /// directory (removed after): what podman creates while answering lands
    /// there. Variables naming files only staged by a dry run are left out.
    /// A fixture (and a capture, so that it replays) sees the run with
    /// those variables removed, as the private directory differs each run.
    fn run_private(&self, name: &str, path: &str) -> Result<Learnt, String> {
        self.consult(|| super::Touch::Everything);
        const PRIVATE: [(&str, &str); 7] = [
            ("HOME", ""),
            ("TMPDIR", "/tmp"),
            ("XDG_RUNTIME_DIR", "/run"),
            ("XDG_CONFIG_HOME", "/config"),
            ("XDG_DATA_HOME", "/data"),
            ("XDG_CACHE_HOME", "/cache"),
            ("XDG_STATE_HOME", "/state"),
        ];
        let base: BTreeMap<String, String> = self
            .env
            .iter()
            .filter(|(k, _)| !PRIVATE.iter().any(|(p, _)| p == k))
            .filter(|(_, v)| v.is_empty() || !self.is_staged(v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let argv = [path, "--version"];
        let result = if self.is_fixture() {
            self.sys.run_within(&argv, &base, self.tool_deadline())
        } else {
            let scratch = super::probes::ScratchDir::new("version")
                .map_err(|e| format!("cannot run {path}: {e}"))?;
            let mut env = base.clone();
            for (key, sub) in PRIVATE {
                let value = scratch.path().join(sub.trim_start_matches('/'));
                if !sub.is_empty() {
                    super::probes::make_private_dir(&value);
                }
                env.insert(key.to_string(), value.display().to_string());
            }
            self.sys.run_within(&argv, &env, self.tool_deadline())
        };
        self.record(|c| c.command(&argv, &base, &result));
        let out = result.map_err(|e| format!("`{path} --version`: {e}"))?;
        let text = if out.stdout.trim().is_empty() {
            out.stderr
        } else {
            out.stdout
        };
        Ok(Learnt {
            line: text.lines().next().unwrap_or("").trim().to_string(),
            source: format!(
                "ran `{path} --version` with a private HOME, XDG_* and TMPDIR, removed after: \
                 no dpkg or apk database owns it and its build information names no {name} version"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Package: podman-docker\nStatus: install ok installed\nVersion: 9.9\n\n\
Package: podman\nStatus: install ok installed\nPriority: optional\nVersion: 4.3.1+ds1-8+deb12u1+b3\n\n\
Package: crun\nStatus: deinstall ok config-files\nVersion: 1.8.1-1\n";

    #[test]
    fn dpkg_gives_the_version_of_an_installed_package_only() {
        assert_eq!(
            dpkg_version(STATUS, "podman").as_deref(),
            Some("4.3.1+ds1-8+deb12u1+b3")
        );
        assert_eq!(
            dpkg_version(STATUS, "crun"),
            None,
            "removed, config files left"
        );
        assert_eq!(dpkg_version(STATUS, "runc"), None);
        assert_eq!(dpkg_version("", "podman"), None);
    }

    /// `Version` of one dpkg stanza when it is `package` and installed.
    fn stanza_version(stanza: &str, package: &str) -> Option<String> {
        let field = |name: &str| {
            stanza.lines().find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|r| r.strip_prefix(':'))
                    .map(str::trim)
            })
        };
        let installed = field("Status").is_some_and(|s| s.ends_with(" installed"));
        (field("Package") == Some(package) && installed)
            .then(|| field("Version").map(str::to_string))
            .flatten()
    }

    /// What the index must agree with: every stanza read on its own.
    fn naive(status: &str, package: &str) -> Option<String> {
        status
            .split("\n\n")
            .find_map(|stanza| stanza_version(stanza, package))
    }

    fn breaks(bytes: &[u8]) -> Vec<usize> {
        let mut found = Vec::new();
        for_each_break(bytes, |at| found.push(at));
        found
    }

    #[test]
    fn breaks_are_found_as_split_cuts_at_every_offset_of_a_word() {
        // What `str::split("\n\n")` cuts, on bytes: leftmost, not overlapping.
        let cuts = |text: &[u8]| {
            let (mut at, mut found) = (0, Vec::new());
            while at + 1 < text.len() {
                if text[at] == b'\n' && text[at + 1] == b'\n' {
                    found.push(at);
                    at += 2;
                } else {
                    at += 1;
                }
            }
            found
        };
        // Every text of up to 10 bytes of 'x', '\n' and 0x8a (a byte whose
        // top bit is set once xored with '\n': it must not count as one).
        for len in 0..=10u32 {
            for code in 0..3u32.pow(len) {
                let text: Vec<u8> = (0..len)
                    .map(|i| [b'x', b'\n', 0x8a][(code / 3u32.pow(i) % 3) as usize])
                    .collect();
                assert_eq!(breaks(&text), cuts(&text), "{text:?}");
            }
        }
        let long = "ab\n\n\n\ncdefg\n\nhijklmnopq\n\n\nrs\n";
        let want: Vec<usize> = long.match_indices("\n\n").map(|(at, _)| at).collect();
        assert_eq!(breaks(long.as_bytes()), want);
        assert_eq!(want, cuts(long.as_bytes()));
    }

    #[test]
    fn the_index_agrees_with_reading_each_stanza() {
        let odd = [
            "",
            "\n",
            "\n\n",
            "\n\n\nPackage: podman\nStatus: install ok installed\nVersion: 1\n",
            "Package: podman\nStatus: install ok installed\nVersion: 1\n\n\n\nPackage: crun\nStatus: install ok installed\nVersion: 2",
            "Version: 3\nStatus: install ok installed\nPackage: runc\n\n",
            "Package: podman\r\nStatus: install ok installed\r\nVersion: 4\r\n\r\n",
            "Package:podman\nPackage: crun\nStatus: install ok installed\nVersion: 5\n",
        ];
        for status in odd {
            // Read whole, and in pieces that cut lines and breaks anywhere.
            for piece in [usize::MAX, 1, 2, 3, 5, 8, 13] {
                let mut index = DpkgIndex::default();
                for part in status.as_bytes().chunks(piece.min(status.len().max(1))) {
                    index.feed(part);
                }
                let index = index.finish();
                for package in ["podman", "crun", "runc", ""] {
                    assert_eq!(
                        index.version(package),
                        naive(status, package),
                        "{status:?} {package} in pieces of {piece}"
                    );
                }
            }
        }
        // The real database of this machine, every package in it.
        let Ok(real) = std::fs::read_to_string("/var/lib/dpkg/status") else {
            return;
        };
        let mut index = DpkgIndex::default();
        for part in real.as_bytes().chunks(4093) {
            index.feed(part);
        }
        let index = index.finish();
        let names: Vec<&str> = real
            .lines()
            .filter_map(|l| l.strip_prefix("Package: "))
            .collect();
        assert!(!names.is_empty());
        for name in names {
            assert_eq!(index.version(name), naive(&real, name), "{name}");
        }
    }

    /// The whole-file index over raw bytes, as `Host::dpkg_index` feeds it.
    fn whole(bytes: &[u8], package: &str) -> Option<String> {
        index_of(bytes).version(package)
    }

    /// The search over bytes in memory, and how many reads it made.
    fn searched(bytes: &[u8], window: usize, package: &str) -> (Option<String>, usize) {
        let reads = std::cell::Cell::new(0);
        let read = |offset: u64, len: usize| {
            reads.set(reads.get() + 1);
            let start = usize::try_from(offset).ok()?;
            Some(bytes.get(start..)?.iter().take(len).copied().collect())
        };
        let found = dpkg_search(bytes.len() as u64, window, package, &read);
        assert!(
            reads.get() <= SEARCH_READS,
            "{package}: {} reads",
            reads.get()
        );
        (found, reads.get())
    }

    /// What `Host::version_in_dpkg` answers: the search, else the index
    /// of the whole file (`index`). The search must never answer otherwise.
    fn looked_up(bytes: &[u8], index: &DpkgIndex, window: usize, package: &str) -> Option<String> {
        let (found, _) = searched(bytes, window, package);
        let all = index.version(package);
        if found.is_some() {
            assert_eq!(found, all, "{package} with windows of {window}");
        }
        all
    }

    fn index_of(bytes: &[u8]) -> DpkgIndex {
        let mut index = DpkgIndex::default();
        index.feed(bytes);
        index.finish()
    }

    fn stanza(name: &str, status: &str, version: &str, pad: usize) -> String {
        format!(
            "Package: {name}\nStatus: {status}\nPriority: optional\nVersion: {version}\n\
Description: {}\n",
            "x".repeat(pad)
        )
    }

    const OK: &str = "install ok installed";
    const GONE: &str = "deinstall ok config-files";

    /// A sorted file as dpkg writes it: first and last stanzas, a removed
    /// stanza before the installed one of the same name, two architectures
    /// of one package, a package removed only, names that are prefixes.
    fn sorted_file(first_pad: usize) -> String {
        let stanzas = [
            stanza("a", OK, "1", first_pad),
            stanza("crun", GONE, "0.9", 3),
            stanza("crun", OK, "1.8.1-1", 20),
            stanza("libc6", OK, "2.36 amd64", 7),
            stanza("libc6", OK, "2.36 i386", 7),
            stanza("podman", OK, "4.3.1+ds1-8+deb12u1+b3", 40),
            stanza("podman-docker", OK, "4.3.1", 1),
            stanza("runc", GONE, "1.1.5", 9),
            stanza("zz", OK, "9", 2),
        ];
        stanzas.join("\n")
    }

    const ASKED: [&str; 12] = [
        "a",
        "crun",
        "libc6",
        "podman",
        "podman-docker",
        "runc",
        "zz",
        "",
        "0",
        "b",
        "podma",
        "zzz",
    ];

    #[test]
    fn the_search_agrees_with_the_index_at_every_window_and_offset() {
        for pad in 0..48 {
            let file = sorted_file(pad);
            let longest = file.split("\n\n").map(str::len).max().unwrap_or(0);
            let index = index_of(file.as_bytes());
            for window in (2..=160).chain([1000, 4096]) {
                for package in ASKED {
                    let want = looked_up(file.as_bytes(), &index, window, package);
                    // A sorted file whose stanzas fit a window needs no
                    // fallback: the search itself finds every package.
                    if window > longest {
                        let (found, _) = searched(file.as_bytes(), window, package);
                        assert_eq!(found, want, "{package}, windows of {window}, pad {pad}");
                    }
                }
            }
        }
        let file = sorted_file(0);
        assert_eq!(whole(file.as_bytes(), "crun").as_deref(), Some("1.8.1-1"));
        assert_eq!(
            whole(file.as_bytes(), "libc6").as_deref(),
            Some("2.36 amd64")
        );
        assert_eq!(whole(file.as_bytes(), "runc"), None);
    }

    #[test]
    fn odd_files_get_the_index_answer_through_the_fallback() {
        let sorted = sorted_file(5);
        let mut reversed: Vec<&str> = sorted.split("\n\n").collect();
        reversed.reverse();
        // Stanzas of three windows, found; one longer than all the reads
        // may be, where the search gives up and the index is read.
        let big = |crun: usize| {
            let stanzas = [
                stanza("a", OK, "1", 0),
                stanza("crun", OK, "1.8", crun),
                stanza("podman", OK, "4.3", 12 << 10),
                stanza("runc", OK, "1.1", 0),
            ];
            stanzas.join("\n")
        };
        let files = [
            String::new(),
            "\n\n\n".into(),
            stanza("podman", OK, "4", 0),
            sorted.replace('\n', "\r\n"), // no "\n\n": one stanza for the index
            sorted.replace(
                "\n\nPackage: libc6\nStatus",
                "\n\nStatus: x\nPackage: libc6\nX",
            ),
            sorted.replace("\n\n", "\n\n\n\n\n"),
            reversed.join("\n\n"),
            big(12 << 10),
            big(200 << 10),
            format!("Status: {OK}\nPackage: b\nVersion: 2\n\n{sorted}"),
            format!("{sorted}\n{}", stanza("crun", OK, "7", 0)), // crun again, last
        ];
        for file in &files {
            let index = index_of(file.as_bytes());
            for window in [2, 3, 17, 64, 333, DPKG_WINDOW] {
                for package in ASKED {
                    looked_up(file.as_bytes(), &index, window, package);
                }
            }
        }
        assert_eq!(searched(b"", DPKG_WINDOW, "podman"), (None, 0));
        for package in ["a", "crun", "podman", "runc"] {
            let (found, _) = searched(files[7].as_bytes(), DPKG_WINDOW, package);
            assert_eq!(found, whole(files[7].as_bytes(), package), "{package}");
        }
        let huge = files[8].as_bytes();
        assert_eq!(searched(huge, DPKG_WINDOW, "podman").0, None);
        assert_eq!(whole(huge, "podman").as_deref(), Some("4.3"));
        // Unsorted: the few reads find nothing, the index finds it.
        let reversed = files[6].as_bytes();
        let (found, reads) = searched(reversed, 64, "podman");
        assert_eq!((found, whole(reversed, "podman").is_some()), (None, true));
        assert!(reads <= 12, "{reads} reads before giving up");
    }

    /// Through the seam, as a check runs: a fixture tree's status, sorted
    /// (found by the search) or not (found by the index), and a package
    /// only removed, gives the index's answer.
    #[test]
    fn a_fixture_tree_gets_the_version_from_its_status_either_way() {
        let mut stanzas: Vec<String> = (0..400)
            .map(|i| stanza(&format!("lib{i:03}"), OK, "1", i % 50))
            .collect();
        stanzas.push(stanza("podman", OK, "4.3.1+ds1-8", 30));
        stanzas.push(stanza("runc", GONE, "1.1.5", 30));
        stanzas.sort();
        let sorted = stanzas.join("\n");
        stanzas.reverse();
        for status in [sorted, stanzas.join("\n")] {
            let dir = tempfile::tempdir().unwrap();
            let info = dir.path().join("root/var/lib/dpkg/info");
            std::fs::create_dir_all(&info).unwrap();
            std::fs::write(dir.path().join("host.json"), r#"{"ids": {"uid": 0}}"#).unwrap();
            std::fs::write(info.join("../status"), &status).unwrap();
            for tool in ["podman", "runc"] {
                std::fs::write(
                    info.join(format!("{tool}.list")),
                    format!("/usr/bin/{tool}\n"),
                )
                .unwrap();
            }
            let host = Host::fixture(dir.path()).unwrap();
            let podman = host.tool_version("/usr/bin/podman").unwrap();
            assert_eq!(podman.line, "podman 4.3.1+ds1-8");
            assert!(podman
                .source
                .starts_with("dpkg database /var/lib/dpkg/status"));
            // Removed: no database answers, and the fixture has no run.
            let runc = host.tool_version("/usr/bin/runc");
            assert!(
                runc.as_ref()
                    .map_or(true, |l| !l.source.starts_with("dpkg")),
                "{runc:?}"
            );
        }
    }

    /// The one file on which the search answers otherwise: an installed
    /// package repeated far from where sorting puts it. dpkg never writes
    /// one, and no search can tell it without reading the whole file.
    #[test]
    fn a_package_repeated_far_apart_is_beyond_the_search() {
        let file = format!(
            "Status: {OK}\nPackage: podman\nVersion: 2\n\n{}",
            sorted_file(0)
        );
        assert_eq!(whole(file.as_bytes(), "podman").as_deref(), Some("2"));
        let (found, _) = searched(file.as_bytes(), 64, "podman");
        assert_eq!(found.as_deref(), Some("4.3.1+ds1-8+deb12u1+b3"));
    }

    #[test]
    fn the_search_finds_every_package_of_this_host_as_the_index_does() {
        let Ok(real) = std::fs::read("/var/lib/dpkg/status") else {
            return host_lacks("/var/lib/dpkg/status (a Debian host)");
        };
        let text = String::from_utf8_lossy(&real);
        let names: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("Package: "))
            .collect();
        assert!(!names.is_empty());
        let sorted = names.windows(2).all(|w| w[0] <= w[1]);
        let index = index_of(&real);
        for name in names.iter().copied().chain(["", "0", "zzzz", "podman-"]) {
            let want = index.version(name);
            for window in [256, 1000, DPKG_WINDOW] {
                looked_up(&real, &index, window, name);
            }
            // As dpkg writes it, the search alone finds every package, in
            // a few small reads rather than ~700 KB.
            let (found, reads) = searched(&real, DPKG_WINDOW, name);
            if sorted {
                assert_eq!(found, want, "{name}");
                assert!(reads <= 16, "{name}: {reads} reads");
            }
        }
    }

    #[test]
    fn dpkg_finds_the_installed_stanza_among_several_and_odd_spacing() {
        // A removed stanza of the same name first, the field not first in
        // its stanza, and a name that only ends like the one asked for.
        let status = "Package: xpodman\nStatus: install ok installed\nVersion: 1\n\n\
Package: podman\nStatus: deinstall ok config-files\nVersion: 3.0\n\n\
Status: install ok installed\nPackage: podman\nVersion: 4.3.1\n";
        assert_eq!(dpkg_version(status, "podman").as_deref(), Some("4.3.1"));
        assert_eq!(dpkg_version(status, "xpodman").as_deref(), Some("1"));
        let spaced = "Package:   podman \nStatus: install ok installed\nVersion: 5.0\n";
        assert_eq!(dpkg_version(spaced, "podman").as_deref(), Some("5.0"));
    }

    #[test]
    fn file_lists_own_paths_across_merged_usr() {
        let list = "/.\n/usr\n/usr/bin\n/usr/bin/podman\n/sbin/runc\n";
        assert!(list_owns(list, "/usr/bin/podman"));
        assert!(list_owns(list, "/bin/podman"));
        assert!(list_owns(list, "/usr/sbin/runc"));
        assert!(!list_owns(list, "/usr/local/bin/podman"));
        assert!(!list_owns(list, "/usr/bin/podman-remote"));
        let md5 = "0123456789abcdef0123456789abcdef  usr/bin/podman\n";
        assert!(list_owns(md5, "/usr/bin/podman"));
        assert!(!list_owns(md5, "/usr/bin/crun"));
    }

    #[test]
    fn apk_names_the_package_owning_the_path() {
        let db = "C:Q1abc=\nP:crun\nV:1.19-r0\nF:usr/bin\nR:crun\n\n\
P:podman\nV:5.4.2-r0\nF:usr/bin\nR:podman\nR:podman-remote\nF:usr/libexec/podman\nR:conmon\n";
        assert_eq!(
            apk_owner_version(db, "/usr/bin/podman"),
            Some(("podman".into(), "5.4.2-r0".into()))
        );
        assert_eq!(
            apk_owner_version(db, "/usr/libexec/podman/conmon"),
            Some(("podman".into(), "5.4.2-r0".into()))
        );
        assert_eq!(apk_owner_version(db, "/usr/local/bin/podman"), None);
    }

    fn varint_str(out: &mut Vec<u8>, s: &[u8]) {
        let mut n = s.len();
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out.extend_from_slice(s);
    }

    fn buildinfo(modinfo: &str) -> Vec<u8> {
        let mut b = b"\xff Go buildinf:".to_vec();
        b.extend([8, 2]);
        b.resize(32, 0);
        varint_str(&mut b, b"go1.22.5");
        let framed = [&[0x30u8; 16][..], modinfo.as_bytes(), &[0x31u8; 16][..]].concat();
        varint_str(&mut b, &framed);
        b
    }

    #[test]
    fn go_build_information_gives_a_module_or_ldflags_version() {
        let long = format!("path\tgithub.com/containers/podman/v5/cmd/podman\nmod\tgithub.com/containers/podman/v5\tv5.4.2\th1:x=\n{}", "dep\tx\tv1\n".repeat(20));
        let (go, info) = go_buildinfo(&buildinfo(&long)).unwrap();
        assert_eq!(go, "go1.22.5");
        assert_eq!(go_version(&info).as_deref(), Some("5.4.2"));
        let devel = "path\tx/cmd/podman\nmod\tgithub.com/containers/podman/v5\t(devel)\t\n\
build\t-ldflags=\"-X main.gitCommit=abc -X github.com/opencontainers/runc.version=1.2.5\"\n";
        let (_, info) = go_buildinfo(&buildinfo(devel)).unwrap();
        assert_eq!(go_version(&info).as_deref(), Some("1.2.5"));
        // Debian's podman: built from GOPATH with -trimpath, no version at all.
        let debian = "path\tgithub.com/containers/podman/cmd/podman\nbuild\t-compiler=gc\nbuild\t-trimpath=true\n";
        assert_eq!(
            go_version(&go_buildinfo(&buildinfo(debian)).unwrap().1),
            None
        );
        assert_eq!(
            go_buildinfo(b"not a go binary at all, not at all......"),
            None
        );
    }

    /// A minimal ELF64: header, section names at 64, then three section
    /// headers at 128 (none, `.shstrtab`, `.go.buildinfo` at `section_at`
    /// holding `section_len` bytes).
    fn elf_with_buildinfo(section_at: u64, section_len: u64) -> Vec<u8> {
        let names = b"\0.shstrtab\0.go.buildinfo\0";
        let (names_at, shoff) = (64u64, 128u64);
        let mut f = vec![0u8; 64];
        f[..6].copy_from_slice(b"\x7fELF\x02\x01");
        f.extend_from_slice(names);
        f.resize(shoff as usize, 0);
        f[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
        f[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        f[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
        f[0x3e..0x40].copy_from_slice(&1u16.to_le_bytes());
        for (name, off, size) in [
            (0u32, 0u64, 0u64),
            (1, names_at, names.len() as u64),
            (11, section_at, section_len),
        ] {
            let mut h = vec![0u8; 64];
            h[..4].copy_from_slice(&name.to_le_bytes());
            h[0x18..0x20].copy_from_slice(&off.to_le_bytes());
            h[0x20..0x28].copy_from_slice(&size.to_le_bytes());
            f.extend(h);
        }
        f
    }

    #[test]
    fn the_buildinfo_section_is_found_through_the_section_headers() {
        let f = elf_with_buildinfo(4096, 304);
        let read = |o: u64, n: usize| f.get(o as usize..o as usize + n).map(<[u8]>::to_vec);
        assert_eq!(
            elf_section(&f[..64], ".go.buildinfo", &read),
            Some((4096, 304))
        );
        assert_eq!(elf_section(&f[..64], ".text", &read), None);
        assert_eq!(elf_section(b"#!/bin/sh\n", ".go.buildinfo", &read), None);
    }

    /// Through the seam: a binary no package database owns gives the
    /// version its build information names, read through one open.
    #[test]
    fn a_go_binary_no_database_owns_gives_its_build_information_version() {
        let info =
            buildinfo("path\tx/cmd/podman\nmod\tgithub.com/containers/podman/v5\tv5.4.2\th1:x=\n");
        // The section right after the three section headers.
        let mut f = elf_with_buildinfo(128 + 3 * 64, info.len() as u64);
        f.extend_from_slice(&info);
        let fixture = crate::probes::testutil::Fixture::new().dir("/usr/bin");
        std::fs::write(fixture.root_path("/usr/bin/podman"), &f).unwrap();
        let host = fixture.host();
        let learnt = host.tool_version("/usr/bin/podman").unwrap();
        assert_eq!(learnt.line, "podman 5.4.2");
        assert!(
            learnt.source.starts_with("Go build information"),
            "{learnt:?}"
        );
    }

    /// A test of this host's own package database cannot run without it:
    /// it fails, unless `PODRUN_LIVE=skip` (as for tests/live.rs) says to
    /// skip what the host lacks.
    fn host_lacks(what: &str) {
        let how = "run on Debian with podman installed (tests/setup.sh), as CI does";
        if std::env::var("PODRUN_LIVE").as_deref() == Ok("skip") {
            eprintln!("skipped by PODRUN_LIVE=skip: needs {what}; {how}");
            return;
        }
        panic!("needs {what}; {how}, or set PODRUN_LIVE=skip");
    }

    #[test]
    fn the_real_podman_is_never_run_when_dpkg_owns_it() {
        let Ok(list) = std::fs::read_to_string("/var/lib/dpkg/info/podman.list") else {
            return host_lacks("/var/lib/dpkg/info/podman.list (Debian's podman package)");
        };
        assert!(list_owns(&list, "/usr/bin/podman"));
        let host = Host::system();
        let learnt = host.tool_version("/usr/bin/podman").unwrap();
        assert!(learnt.source.starts_with("dpkg database"), "{learnt:?}");
        assert!(learnt.source.ends_with("podman not run"), "{learnt:?}");
    }

    #[test]
    fn the_fallback_runs_the_tool_in_a_private_directory_removed_after() {
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("tool");
        // Prints its version and creates what podman creates on --version.
        std::fs::write(
            &tool,
            "#!/bin/sh\nmkdir -p \"$TMPDIR/podman-run-1000\" \"$HOME/.config/containers\" \"$XDG_RUNTIME_DIR/x\"\n\
echo \"tool version 1.2.3 $HOME\" > \"$HOME/.config/seen\"\necho \"tool version 1.2.3 $HOME\"\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        let host = Host::system();
        let learnt = host.tool_version(&tool.display().to_string()).unwrap();
        assert!(learnt.line.starts_with("tool version 1.2.3 "), "{learnt:?}");
        assert!(learnt.source.starts_with("ran `"), "{learnt:?}");
        let home = learnt.line.rsplit(' ').next().unwrap();
        assert!(home.contains(".podrun-probe-version-"), "{home}");
        assert!(!Path::new(home).exists(), "{home} left behind");
    }
}
