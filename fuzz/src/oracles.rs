//! What every parser must do with any input: never panic, and keep the
//! invariants below. Shared by the fuzz targets (fuzz_targets/*.rs) and the
//! stable property test (tests/properties.rs), so both check the same.

use podrun_doctor::formats::cgroup::parse_self_cgroup;
use podrun_doctor::formats::idmap::parse_id_map;
use podrun_doctor::formats::limits::parse_limits;
use podrun_doctor::formats::mountinfo::{parse_mountinfo, proc_submounts};
use podrun_doctor::formats::passwd::parse_passwd;
use podrun_doctor::formats::status::parse_status;
use podrun_doctor::formats::subid::{lookup_differs, parse_subid};
use podrun_doctor::formats::toml::{self, quote, render_settings, Doc, Value};
use podrun_doctor::formats::version::Version;
use podrun_doctor::host::version::{
    apk_owner_version, dpkg_search, dpkg_version, elf_section, go_buildinfo, go_version, list_owns,
    DpkgIndex,
};
use podrun_doctor::ids::Uid;

/// An oracle: panics when the parser breaks a rule on this input.
pub type Oracle = fn(&[u8]);

/// The parsers by target name, for the property test's loop.
pub const ALL: [(&str, Oracle); 12] = [
    ("subid", subid),
    ("passwd", passwd),
    ("mountinfo", mountinfo),
    ("status", status),
    ("limits", limits),
    ("cgroup", cgroup),
    ("idmap", idmap),
    ("toml", toml),
    ("version", version),
    ("dpkg", dpkg),
    ("apk", apk),
    ("gobuild", gobuild),
];

/// `/etc/subuid` / `/etc/subgid`: every accepted range is non-empty and
/// ends within the 32-bit id space; the lookups cope with any file.
pub fn subid(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let f = parse_subid(&text);
    for l in &f.lines {
        assert!(l.count > 0 && l.end() <= 1 << 32, "{l:?}");
        assert!(!l.owner.contains(':') && !l.owner.contains('\n'), "{l:?}");
    }
    for b in &f.bad {
        assert!(b.problem.len() <= 200, "a problem echoes the line: {b:?}");
    }
    let owner = f.lines.first().map(|l| l.owner.clone());
    let _ = f.ranges_for(owner.as_deref(), Some(Uid(1000)));
    let _ = f.bad_for(Some("podman"), Some(Uid::ROOT));
    // The same bytes as a passwd file: the lookup must cope with any pair.
    let passwd = parse_passwd(&text);
    let user = owner.as_deref().unwrap_or("podman");
    let _ = lookup_differs(&f, &passwd, user, "root", Uid::ROOT);
}

/// `/etc/passwd`: every entry, written back as a line, parses to itself
/// (nothing an entry holds can split a line or a field).
pub fn passwd(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let p = parse_passwd(&text);
    for e in &p.entries {
        if e.name.starts_with(['+', '-', '#']) || e.name.trim().is_empty() {
            continue; // such a line is skipped whatever it holds
        }
        let line = format!("{}:x:{}:{}::{}:{}", e.name, e.uid, e.gid, e.home, e.shell);
        let back = parse_passwd(&line);
        assert_eq!(back.entries.as_slice(), std::slice::from_ref(e), "{line:?}");
    }
    let _ = (p.by_uid(Uid::ROOT), p.by_name("root"));
}

/// `/proc/self/mountinfo`: at most one mount or garbage line per line.
pub fn mountinfo(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (mounts, garbage) = parse_mountinfo(&text);
    assert!(mounts.len() + garbage.len() <= text.lines().count());
    for m in &mounts {
        let _ = (m.readonly(), m.shared(), m.has_option("nosuid"));
    }
    let _ = proc_submounts(&mounts);
}

/// `/proc/self/status`.
pub fn status(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let st = parse_status(&text);
    assert!(st.garbage.len() <= text.lines().count());
}

/// `/proc/self/limits`: what it reads renders again.
pub fn limits(data: &[u8]) {
    let (nofile, nproc) = parse_limits(&String::from_utf8_lossy(data));
    for l in [nofile, nproc].into_iter().flatten() {
        let _ = (l.describe(), l.hard_allows(1 << 20));
    }
}

/// `/proc/self/cgroup`: every non-blank line is a cgroup or garbage, and
/// no controller name is empty.
pub fn cgroup(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (lines, garbage) = parse_self_cgroup(&text);
    let nonblank = text.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(lines.len() + garbage.len(), nonblank);
    assert!(lines
        .iter()
        .all(|l| l.controllers.iter().all(|c| !c.is_empty())));
}

/// `/proc/self/uid_map` / `gid_map`: an accepted map renders back to itself.
pub fn idmap(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(map) = parse_id_map(&text) {
        let back: String = map
            .iter()
            .map(|l| format!("{} {} {}\n", l.inside, l.outside, l.count))
            .collect();
        assert_eq!(parse_id_map(&back).ok().as_ref(), Some(&map));
    }
}

fn values(d: &Doc) -> Vec<(String, Value)> {
    d.entries
        .iter()
        .map(|(k, e)| (k.clone(), e.value.clone()))
        .collect()
}

/// The TOML reader, through its public API: what it reads, written back by
/// `render_settings`, reads as the same settings; any text quoted as a
/// basic string reads back as itself.
pub fn toml(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match toml::parse(&text) {
        Ok(doc) => {
            for e in doc.entries.values() {
                let _ = e.value.render();
            }
            let settings = doc.entries.iter().map(|(k, e)| (k.as_str(), &e.value));
            if let Some(out) = render_settings(settings) {
                let back = toml::parse(&out).expect("render_settings output parses");
                assert_eq!(values(&back), values(&doc), "{out}");
            }
        }
        Err(e) => {
            // An error names a line and column and one of the module's own
            // static messages, never the file's text (a config linked to
            // /etc/shadow must not leak into a report). Searching the text
            // for the input's lines is no oracle: the fuzzer learns the
            // message from that very comparison and feeds it back as input.
            let said = e.to_string();
            let template = format!(
                "line {}, column {}: expected {}",
                e.line, e.column, e.message
            );
            assert_eq!(said, template);
            assert!(
                e.line >= 1 && e.line <= text.lines().count().max(1) + 1,
                "{said}"
            );
        }
    }
    let one = format!("k = {}\n", quote(&text));
    let doc = toml::parse(&one).unwrap_or_else(|e| panic!("quoted text does not parse: {e}"));
    assert_eq!(doc.str("k"), Some(&*text));
}

/// Tool version output: a version found prints as digits that read back.
pub fn version(data: &[u8]) {
    if let Some(v) = Version::parse(&String::from_utf8_lossy(data)) {
        assert_eq!(Version::parse(&format!("podman version {v}")), Some(v));
    }
}

/// The dpkg database: `status` stanzas and `info/P.list`/`P.md5sums`.
/// The status file is read in pieces: any cut gives what the whole gives.
pub fn dpkg(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let cut = usize::from(data.first().copied().unwrap_or(1)).max(1);
    let mut pieces = DpkgIndex::default();
    for piece in text.as_bytes().chunks(cut) {
        pieces.feed(piece);
    }
    let pieces = pieces.finish();
    for package in ["podman", "crun", "runc", ""] {
        assert_eq!(
            pieces.version(package),
            dpkg_version(&text, package),
            "cut every {cut} bytes"
        );
    }
    for path in ["/usr/bin/podman", "/sbin/runc", "", "/"] {
        let _ = list_owns(&text, path);
    }
    // issue 10: the search by bisection, in windows the input picks (small
    // ones too, so that a short input is bisected), over the input itself,
    // over its stanzas sorted as dpkg writes them, and over a status file
    // the input spells, sorted and not.
    let window = 2usize << (data.get(1).copied().unwrap_or(0) % 12);
    dpkg_search_agrees(data, window, false);
    dpkg_search_agrees(&dpkg_sorted(data), window, true);
    let (sorted, unsorted) = dpkg_spelt(data);
    dpkg_search_agrees(&sorted, window, true);
    dpkg_search_agrees(&unsorted, window, false);
}

/// The search, when it answers, answers as the whole-file index (else the
/// index is read, so the lookup answers as it anyway), whenever the
/// stanzas named the package lie together — in every sorted file, as
/// dpkg writes them. Where they do not (a hand-made file naming an
/// installed package twice far apart), no search short of reading all can
/// tell which comes first: its answer is still an installed stanza's. A
/// sorted file read in one window (`sorted`) must need no fallback at all.
fn dpkg_search_agrees(data: &[u8], window: usize, sorted: bool) {
    let mut index = DpkgIndex::default();
    index.feed(data);
    let index = index.finish();
    let read = |offset: u64, len: usize| -> Option<Vec<u8>> {
        let start = usize::try_from(offset).ok()?;
        Some(data.get(start..)?.iter().take(len).copied().collect())
    };
    let stanzas = dpkg_stanzas(data);
    for package in ["podman", "crun", "runc", ""] {
        let found = dpkg_search(data.len() as u64, window, package, &read);
        let want = index.version(package);
        if sorted && window >= data.len() {
            assert_eq!(found, want, "{package}: one window of {window}, sorted");
        }
        let Some(found) = found else {
            continue; // the whole file is read: the index's answer
        };
        let named: Vec<usize> = (0..stanzas.len())
            .filter(|&i| dpkg_name(stanzas[i]).as_deref() == Some(package))
            .collect();
        if named.windows(2).all(|w| w[1] == w[0] + 1) {
            assert_eq!(
                Some(&found),
                want.as_ref(),
                "{package}: windows of {window}"
            );
        } else {
            let installed = |s: &&[u8]| {
                let mut one = DpkgIndex::default();
                one.feed(s);
                one.finish().version(package).as_ref() == Some(&found)
            };
            assert!(stanzas.iter().any(installed), "{package}: {found:?}");
        }
    }
}

/// The stanzas as the whole-file index cuts them (at each leftmost
/// `"\n\n"`), leaving out those of newlines only.
fn dpkg_stanzas(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    loop {
        let cut = rest.windows(2).position(|w| w == b"\n\n");
        let (stanza, next) = match cut {
            Some(at) => rest.split_at(at),
            None => (rest, &[][..]),
        };
        if stanza.iter().any(|&b| b != b'\n') {
            out.push(stanza);
        }
        match next.get(2..) {
            Some(after) if cut.is_some() => rest = after,
            _ => return out,
        }
    }
}

/// The package the whole-file index names a stanza by: its first
/// `Package:` line, wherever it is.
fn dpkg_name(stanza: &[u8]) -> Option<String> {
    let value = stanza
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"Package:"))?;
    Some(String::from_utf8_lossy(value).trim().to_string())
}

/// The input's stanzas that begin with their `Package:` line, sorted by
/// it as dpkg writes them (stably: duplicates keep their order).
fn dpkg_sorted(data: &[u8]) -> Vec<u8> {
    let mut named: Vec<(String, &[u8])> = dpkg_stanzas(data)
        .into_iter()
        .filter_map(|s| {
            let start = s.iter().position(|&b| b != b'\n')?;
            let end = s.iter().rposition(|&b| b != b'\n')? + 1;
            let s = s.get(start..end)?;
            let first = s.split(|&b| b == b'\n').next()?;
            let name = String::from_utf8_lossy(first.strip_prefix(b"Package:")?);
            Some((name.trim().to_string(), s))
        })
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let stanzas: Vec<&[u8]> = named.into_iter().map(|(_, s)| s).collect();
    stanzas.join(&b"\n\n"[..])
}

/// A status file the input spells, a stanza per byte from its third (at
/// most 64): a name among neighbours of the tools', a state installed or
/// not, a length up to a few hundred bytes; sorted as dpkg writes it (by
/// name, stably), and in the input's order.
fn dpkg_spelt(data: &[u8]) -> (Vec<u8>, Vec<u8>) {
    const NAMES: [&str; 8] = [
        "a",
        "crun",
        "crun-x",
        "libc6",
        "podman",
        "podman-docker",
        "runc",
        "zz",
    ];
    const STATES: [&str; 4] = [
        "install ok installed",
        "deinstall ok config-files",
        "install ok half-installed",
        "hold ok installed",
    ];
    let mut stanzas: Vec<(&str, String)> = (data.iter().skip(2).take(64).enumerate())
        .map(|(i, &b)| {
            let name = NAMES[usize::from(b % 8)];
            let state = STATES[usize::from(b >> 3) % 4];
            let pad = "x".repeat(usize::from(b >> 5) * 61);
            let text =
                format!("Package: {name}\nStatus: {state}\nVersion: {i}\nDescription: {pad}\n");
            (name, text)
        })
        .collect();
    let join = |s: &[(&str, String)]| {
        s.iter()
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let unsorted = join(&stanzas).into_bytes();
    stanzas.sort_by_key(|(name, _)| *name);
    (join(&stanzas).into_bytes(), unsorted)
}

/// Alpine's `/lib/apk/db/installed`.
pub fn apk(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for path in ["/usr/bin/podman", "usr/bin/crun", "", "/"] {
        let _ = apk_owner_version(&text, path);
    }
}

/// Go build information: the ELF section walk (the input as the whole
/// file), the `.go.buildinfo` decoder, the modinfo version reader.
pub fn gobuild(data: &[u8]) {
    let read = |offset: u64, len: usize| -> Option<Vec<u8>> {
        let start = usize::try_from(offset).ok()?;
        data.get(start..start.checked_add(len)?).map(<[u8]>::to_vec)
    };
    if let Some((offset, size)) = elf_section(data, ".go.buildinfo", &read) {
        if let Some(section) = usize::try_from(size).ok().and_then(|s| read(offset, s)) {
            let _ = go_buildinfo(&section);
        }
    }
    if let Some((_go, modinfo)) = go_buildinfo(data) {
        let _ = go_version(&modinfo);
    }
    let _ = go_version(&String::from_utf8_lossy(data));
}
