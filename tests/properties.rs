//! Property tests on stable (issue 9), in `cargo test`:
//!
//! - every parser of src/formats (and the package-database / build-info
//!   parsers of src/host/version.rs) keeps its oracle (fuzz/src/oracles.rs,
//!   the same the fuzz targets check) on arbitrary bytes, token soups and
//!   mutated real files;
//! - round trips: TOML `quote` and `render_settings` read back as the same
//!   values; the passwd and sub-id lines the fix engine plans parse back as
//!   exactly the entry it meant, and after `env` the files hold the old
//!   entries plus those;
//! - whole fixture trees with mutated files end with a report (the `tree`
//!   fuzz target's harness, on a few seeded inputs).
//!
//! A seeded loop with a small PRNG (SplitMix64) rather than proptest: the
//! generators that matter here are grammar-shaped (tokens of the formats,
//! real files mutated) and are a few lines each; proptest would add a dozen
//! crates to every build for shrinking we do not need — a failure prints
//! the seed, the case and the input, and the input becomes a regression
//! case below. `PODRUN_PROPERTY_SEED` / `PODRUN_PROPERTY_CASES` explore
//! further without changing the default run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

#[path = "../fuzz/src/oracles.rs"]
mod oracles;
#[path = "../fuzz/src/tree.rs"]
mod tree;

mod common;
use common::copy_tree;
use podrun_doctor::fix::fix_loop;
use podrun_doctor::formats::passwd::parse_passwd;
use podrun_doctor::formats::subid::parse_subid;
use podrun_doctor::formats::toml::{self, quote, render_settings, Value};
use podrun_doctor::host::Host;
use podrun_doctor::ids::Uid;
use podrun_doctor::model::Action;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// SplitMix64: tiny, fast, and the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn new(stream: u64) -> Rng {
        let base = std::env::var("PODRUN_PROPERTY_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0x5eed_f155_u64);
        Rng(base ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn cases(default: usize) -> usize {
    std::env::var("PODRUN_PROPERTY_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Pieces of every format the parsers read, and of their edge cases.
const TOKENS: &[&str] = &[
    ":",
    "::",
    "\n",
    "\r\n",
    "\r",
    " ",
    "\t",
    "#",
    "[",
    "]",
    "[[",
    "]]",
    "=",
    " = ",
    "\"",
    "'",
    "\"\"\"",
    "'''",
    "\\",
    "\\u",
    "\\u00e9",
    "\\U0001F600",
    "\\x",
    ",",
    "{",
    "}",
    ".",
    "-",
    "+",
    "0",
    "1",
    "7",
    "65536",
    "100000",
    "4294967295",
    "4294967296",
    "18446744073709551616",
    "-9223372036854775808",
    "9223372036854775807",
    "-1",
    "0x",
    "0o",
    "0b",
    "ff",
    "1_000",
    "1e3",
    "inf",
    "nan",
    "true",
    "false",
    "1979-05-27T07:32:00Z",
    "unlimited",
    "version",
    " version ",
    "v",
    "1.2.3",
    "5.4.2",
    "Max open files",
    "Max processes",
    "CapEff:",
    "CapBnd:",
    "\t0000003fffffffff",
    "NoNewPrivs:",
    "Seccomp:",
    " - ",
    "shared:1",
    "master:2",
    "\\040",
    "\\0",
    "é",
    "\u{fffd}",
    "\u{0}",
    "\u{7f}",
    "\u{1b}[31m",
    "𝄞",
    "podman",
    "root",
    "1000680000",
    "x",
    "*",
    "/bin/sh",
    "/home/podman",
    "Package: podman\n",
    "Status: install ok installed\n",
    "Version: 5.4.2\n",
    "\n\n",
    "P:podman\n",
    "V:1.0\n",
    "F:usr/bin\n",
    "R:podman\n",
    "mod\t",
    "path\t",
    "\th1:x=",
    "build\t-ldflags=\"-X main.version=1.2\"",
    "-X ",
    "[storage]\n",
    "[engine]\n",
    "driver = \"overlay\"\n",
    "graphroot",
    "[storage.options.overlay]\n",
    "0::/\n",
    "1:name=systemd:/\n",
    "12:cpu,cpuacct:/x\n",
    "         0       1000          1\n",
];

fn token_soup(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.below(64) {
        if rng.chance(8) {
            out.push(rng.next() as u8);
        } else {
            out.extend_from_slice(rng.pick(TOKENS).as_bytes());
        }
    }
    out
}

fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    (0..rng.below(512)).map(|_| rng.next() as u8).collect()
}

/// A real file with 1 to 8 edits: tokens inserted, spans deleted or
/// repeated, bytes flipped, the tail cut.
fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(v.len() + 1);
        match rng.below(5) {
            0 => {
                let t = rng.pick(TOKENS).as_bytes();
                v.splice(at..at, t.iter().copied());
            }
            1 => {
                let end = (at + rng.below(64)).min(v.len());
                v.drain(at..end);
            }
            2 => {
                let end = (at + rng.below(64)).min(v.len());
                let span = v[at..end].to_vec();
                for _ in 0..rng.below(4) {
                    v.splice(at..at, span.iter().copied());
                }
            }
            3 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                v[i] ^= 1 << rng.below(8);
            }
            _ => v.truncate(at),
        }
    }
    v
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.filter_map(Result::ok) {
        if e.path().is_dir() {
            files_under(&e.path(), out);
        } else {
            out.push(e.path());
        }
    }
}

/// Every small file of the captured environments and the committed seeds.
fn real_files() -> Vec<Vec<u8>> {
    let top = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    files_under(&top.join("tests/fixtures/envs"), &mut paths);
    files_under(&top.join("fuzz/seeds"), &mut paths);
    paths.sort();
    let files: Vec<Vec<u8>> = paths
        .iter()
        .filter(|p| !p.ends_with("host.json") && !p.ends_with("expected.json"))
        .filter_map(|p| std::fs::read(p).ok())
        .filter(|b| b.len() <= 64 * 1024)
        .collect();
    assert!(files.len() > 100, "too few real files: {}", files.len());
    files
}

fn shown(input: &[u8]) -> String {
    let s = format!("{:?}", String::from_utf8_lossy(input));
    match s.char_indices().nth(3000) {
        Some((end, _)) => format!("{}… ({} bytes)", &s[..end], input.len()),
        None => s,
    }
}

fn keeps_oracle(name: &str, oracle: fn(&[u8]), input: &[u8], case: &str) {
    if catch_unwind(AssertUnwindSafe(|| oracle(input))).is_err() {
        panic!(
            "{name}: {case}: the oracle failed (see the panic above) on {}",
            shown(input)
        );
    }
}

#[test]
fn every_parser_keeps_its_oracle_on_arbitrary_input() {
    let real = real_files();
    let n = cases(1500);
    for (stream, (name, oracle)) in oracles::ALL.iter().enumerate() {
        let mut rng = Rng::new(stream as u64);
        for i in 0..n {
            let input = match i % 3 {
                0 => random_bytes(&mut rng),
                1 => token_soup(&mut rng),
                _ => {
                    let base = rng.pick(&real).clone();
                    mutate(&mut rng, &base)
                }
            };
            keeps_oracle(name, *oracle, &input, &format!("case {i}"));
        }
        for (j, file) in real.iter().enumerate() {
            keeps_oracle(name, *oracle, file, &format!("real file {j}"));
        }
    }
}

/// Inputs the fuzzer or the loop above once failed on, kept for ever.
#[test]
fn regressions_keep_their_oracles() {
    let cases: &[(&str, &[u8])] = &[
        // A megabyte-long field was echoed whole in the problem text.
        (
            "subid",
            b"podman:99999999999999999999999999999999999999:65536\n",
        ),
    ];
    let mut cases = cases.to_vec();
    // Go build information whose framed modinfo ends 16 bytes after the
    // middle of a two-byte character: the frame's end is not a boundary.
    let mut buildinfo = b"\xff Go buildinf:\x08\x02".to_vec();
    buildinfo.resize(32, 0);
    buildinfo.extend_from_slice(b"\x08go1.22.5\x21");
    buildinfo.extend_from_slice(&[b'a'; 16]);
    buildinfo.extend_from_slice("é".as_bytes());
    buildinfo.extend_from_slice(&[b'c'; 15]);
    cases.push(("gobuild", &buildinfo));
    for (name, input) in cases {
        let (_, oracle) = oracles::ALL.iter().find(|(n, _)| *n == name).unwrap();
        keeps_oracle(name, *oracle, input, "regression");
    }
}

/// Text with everything a basic string must escape.
fn nasty_string(rng: &mut Rng) -> String {
    let pool: Vec<char> =
        "aZ09 _-./:=#[]{},'\"\\\t\n\r\u{0}\u{1}\u{1f}\u{7f}\u{80}\u{9f}é€𝄞\u{fffd}\u{200b}\u{feff}"
            .chars()
            .collect();
    (0..rng.below(40)).map(|_| *rng.pick(&pool)).collect()
}

#[test]
fn quoted_strings_read_back_as_themselves() {
    let mut rng = Rng::new(100);
    for i in 0..cases(3000) {
        let (a, b) = (nasty_string(&mut rng), nasty_string(&mut rng));
        let text = format!("k = {}\nlist = [{}, {}]\n", quote(&a), quote(&a), quote(&b));
        let doc = toml::parse(&text).unwrap_or_else(|e| panic!("case {i}: {text:?}: {e}"));
        assert_eq!(doc.str("k"), Some(a.as_str()), "case {i}: {text:?}");
        let list = doc.get("list").and_then(|e| e.value.as_str_array());
        assert_eq!(list, Some(vec![a.clone(), b]), "case {i}: {text:?}");
    }
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth == 0 { 5 } else { 4 }) {
        0 => Value::Str(nasty_string(rng)),
        1 => Value::Int(match rng.below(4) {
            0 => i64::MIN,
            1 => i64::MAX,
            2 => 0,
            _ => rng.next() as i64 >> rng.below(63),
        }),
        2 => Value::Bool(rng.chance(2)),
        3 => Value::Str(rng.pick(TOKENS).to_string()),
        _ => {
            // Arrays of one kind, as containers.conf writes them.
            let strings = rng.chance(2);
            Value::Array(
                (0..rng.below(5))
                    .map(|_| {
                        if strings {
                            Value::Str(nasty_string(rng))
                        } else {
                            Value::Int(rng.next() as i64 >> 8)
                        }
                    })
                    .collect(),
            )
        }
    }
}

#[test]
fn rendered_settings_read_back_as_the_same_settings() {
    // Tables as the fix engine writes them; leaf names never collide with
    // a table's segment, so every key set is a valid document.
    let tables = [
        "",
        "storage",
        "storage.options",
        "storage.options.overlay",
        "engine",
        "containers",
        "network",
        "engine.runtimes",
    ];
    let leaves = [
        "driver",
        "graphroot",
        "mount_program",
        "cgroup_manager",
        "k",
        "k-2",
        "K_3",
        "with space",
        "quote\"d",
        "é",
        "",
    ];
    let mut rng = Rng::new(200);
    for i in 0..cases(2000) {
        let mut settings: Vec<(String, Value)> = Vec::new();
        for _ in 0..1 + rng.below(8) {
            let table = rng.pick(&tables);
            let leaf = rng.pick(&leaves);
            let key = if table.is_empty() {
                leaf.to_string()
            } else {
                format!("{table}.{leaf}")
            };
            if leaf.is_empty() || settings.iter().any(|(k, _)| *k == key) {
                continue;
            }
            settings.push((key, random_value(&mut rng, 0)));
        }
        let text = render_settings(settings.iter().map(|(k, v)| (k.as_str(), v)))
            .unwrap_or_else(|| panic!("case {i}: render_settings refused {settings:?}"));
        let doc = toml::parse(&text).unwrap_or_else(|e| panic!("case {i}: {text}: {e}"));
        let mut want = settings.clone();
        want.sort_by(|a, b| a.0.cmp(&b.0));
        let got: Vec<(String, Value)> =
            doc.entries.into_iter().map(|(k, e)| (k, e.value)).collect();
        assert_eq!(got, want, "case {i}:\n{text}");
    }
}

/// A path segment of the characters that are legal in a HOME podman uses.
fn segment(rng: &mut Rng) -> String {
    let pool: Vec<char> = "abcxyz019._-".chars().collect();
    (0..1 + rng.below(10)).map(|_| *rng.pick(&pool)).collect()
}

/// The OpenShift-like environment (group-writable passwd, subuid, subgid)
/// with a random uid that has no entry, a random HOME and random other
/// users' ranges: every run must plan a passwd line and sub-id lines.
fn openshift_variant(rng: &mut Rng, dir: &Path) -> (u32, String) {
    copy_tree(&tree::envs_dir().join("deb13-openshift-gu-priv"), dir);
    let uid = 1_000_000_000 + rng.below(1_000_000_000) as u32;
    let home = match rng.below(4) {
        0 => "/".to_string(),
        1 => format!("/home/{}", segment(rng)),
        2 => format!("/tmp/{}/{}", segment(rng), segment(rng)),
        _ => format!("/builds/{}", segment(rng)),
    };
    let host_json = dir.join("host.json");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&host_json).unwrap()).unwrap();
    doc["ids"]["uid"] = uid.into();
    doc["env"]["HOME"] = home.clone().into();
    std::fs::write(&host_json, doc.to_string()).unwrap();
    let etc = dir.join("root/etc");
    let passwd = std::fs::read_to_string(etc.join("passwd")).unwrap();
    let kept: String = passwd
        .lines()
        .filter(|l| !l.starts_with("1000680000:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(etc.join("passwd"), kept).unwrap();
    for f in ["subuid", "subgid"] {
        let lines: String = (0..rng.below(6))
            .map(|i| {
                format!(
                    "user{i}:{}:{}\n",
                    100_000 + i * 70_000,
                    1 + rng.below(65_536)
                )
            })
            .collect();
        std::fs::write(etc.join(f), lines).unwrap();
    }
    (uid, home)
}

fn planned_lines(host: &mut Host) -> Vec<(String, String)> {
    let (before, _after, _run) = fix_loop(host, &[]);
    before
        .checks
        .iter()
        .filter_map(|c| c.fix.as_ref())
        .flat_map(|f| f.actions.iter())
        .filter_map(|a| match a {
            Action::AppendLine { path, line } => Some((path.clone(), line.clone())),
            _ => None,
        })
        .collect()
}

fn assert_line_means(path: &str, line: &str, uid: u32, name: &mut Option<String>) {
    match path {
        "/etc/passwd" => {
            let p = parse_passwd(line);
            assert!(
                p.bad.is_empty() && p.entries.len() == 1,
                "{path}: {line:?}: {p:?}"
            );
            let e = &p.entries[0];
            assert_eq!((e.uid.get(), e.gid.get()), (uid, 0), "{path}: {line:?}");
            assert!(e.home.starts_with('/'), "{path}: {line:?}");
            *name = Some(e.name.clone());
        }
        "/etc/subuid" | "/etc/subgid" => {
            let f = parse_subid(line);
            assert!(
                f.bad.is_empty() && f.lines.len() == 1,
                "{path}: {line:?}: {f:?}"
            );
            assert!(!f.lines[0].padded, "{path}: {line:?}");
            let owner = &f.lines[0].owner;
            assert!(
                name.as_deref() == Some(owner) || *owner == uid.to_string(),
                "{path}: {line:?}: owner is neither the planned name {name:?} nor uid {uid}"
            );
        }
        other => panic!("an append to {other}: {line:?}"),
    }
}

#[test]
fn lines_the_fix_engine_appends_parse_back_as_what_it_meant() {
    let mut rng = Rng::new(300);
    let (mut passwd_lines, mut subid_lines) = (0, 0);
    for i in 0..cases(25).min(200) {
        let work = tempfile::tempdir().unwrap();
        let (uid, home) = openshift_variant(&mut rng, work.path());
        let mut host = Host::fixture(work.path()).unwrap();
        host.stage_writes();
        let planned = planned_lines(&mut host);
        assert!(
            planned.iter().any(|(p, _)| p == "/etc/passwd"),
            "case {i} (uid {uid}, HOME {home}): no passwd line planned: {planned:?}"
        );
        let mut name = None;
        // The passwd line comes first in the plan: it names the owner.
        for (path, line) in &planned {
            assert_line_means(path, line, uid, &mut name);
            match path.as_str() {
                "/etc/passwd" => passwd_lines += 1,
                _ => subid_lines += 1,
            }
        }
        // Applied for real (a copy, as `env`): the old entries and the new.
        let etc = work.path().join("root/etc");
        let old = std::fs::read_to_string(etc.join("passwd")).unwrap();
        let mut host = Host::fixture(work.path()).unwrap();
        let _ = fix_loop(&mut host, &[]);
        let new = std::fs::read_to_string(etc.join("passwd")).unwrap();
        let (old_p, new_p) = (parse_passwd(&old), parse_passwd(&new));
        assert!(
            new.starts_with(&old),
            "case {i}: the old passwd was rewritten"
        );
        assert_eq!(
            new_p.entries.len(),
            old_p.entries.len() + 1,
            "case {i}: {new}"
        );
        assert!(new_p.by_uid(Uid(uid)).is_some(), "case {i}: {new}");
        assert!(new_p.bad.is_empty(), "case {i}: {new}");
    }
    eprintln!("checked {passwd_lines} passwd and {subid_lines} sub-id lines");
    assert!(
        passwd_lines >= 20 && subid_lines >= 20,
        "too few lines planned to mean anything"
    );
}

/// A HOME with something in it that would split or shift a passwd record:
/// a fixed list (issue 9 item 2's exploit first) and random ones, a
/// hostile character at a random place in a plausible path.
fn hostile_homes(rng: &mut Rng, n: usize) -> Vec<String> {
    let mut homes: Vec<String> = [
        "/tmp/x\nevil::0:0::/root",
        "/tmp/x\nevil::0:0::/root:/bin/sh\n",
        "/tmp/a:b",
        "/tmp/x\r",
        "/tmp/\u{0}x",
        "/tmp/x\u{85}y",
    ]
    .map(String::from)
    .to_vec();
    let bad = ['\n', '\r', ':', '\t', '\u{0}', '\u{85}', '\u{1b}'];
    for _ in 0..n {
        let (a, b) = (segment(rng), segment(rng));
        homes.push(format!("/tmp/{a}{}{b}", rng.pick(&bad)));
    }
    homes
}

/// Issue 9 item 2 as a property: whatever HOME holds, every planned line
/// parses back as the one record it means (the job's uid, gid 0, an
/// absolute HOME), never contains the hostile HOME, and applied for real
/// it adds exactly one well-formed passwd entry and no uid-0 one.
#[test]
fn hostile_homes_never_split_a_passwd_line() {
    let mut rng = Rng::new(500);
    for home in hostile_homes(&mut rng, cases(20).min(200)) {
        let work = tempfile::tempdir().unwrap();
        let (uid, _) = openshift_variant(&mut rng, work.path());
        let host_json = work.path().join("host.json");
        let mut doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&host_json).unwrap()).unwrap();
        doc["env"]["HOME"] = home.clone().into();
        // The directory exists and is the job's, as an attacker would make
        // it (a NUL cannot be in a path, so that one has none).
        if !home.contains('\0') {
            std::fs::create_dir_all(work.path().join("root").join(&home[1..])).unwrap();
            doc["stat"][&home] =
                serde_json::json!({"kind": "dir", "mode": "0700", "uid": uid, "gid": 0});
            doc["access"][format!("{home} W")] = "ok".into();
        }
        std::fs::write(&host_json, doc.to_string()).unwrap();
        let mut host = Host::fixture(work.path()).unwrap();
        host.stage_writes();
        let planned = planned_lines(&mut host);
        assert!(
            planned.iter().any(|(p, _)| p == "/etc/passwd"),
            "HOME {home:?}: no passwd line planned: {planned:?}"
        );
        let mut name = None;
        for (path, line) in &planned {
            assert_line_means(path, line, uid, &mut name);
            assert!(!line.contains(&home), "HOME {home:?} written raw: {line:?}");
        }
        let passwd = work.path().join("root/etc/passwd");
        let old = parse_passwd(&std::fs::read_to_string(&passwd).unwrap());
        let mut host = Host::fixture(work.path()).unwrap();
        let _ = fix_loop(&mut host, &[]);
        let new = parse_passwd(&std::fs::read_to_string(&passwd).unwrap());
        assert!(new.bad.is_empty(), "HOME {home:?}: {new:?}");
        assert_eq!(new.entries.len(), old.entries.len() + 1, "HOME {home:?}");
        let zero = |p: &podrun_doctor::formats::passwd::Passwd| {
            p.entries.iter().filter(|e| e.uid.is_root()).count()
        };
        assert_eq!(
            zero(&new),
            zero(&old),
            "HOME {home:?}: a uid-0 entry was added"
        );
        assert!(new.by_uid(Uid(uid)).is_some(), "HOME {home:?}");
    }
}

#[test]
fn whole_trees_of_mutated_files_end_with_a_report() {
    let mut rng = Rng::new(400);
    let n = cases(30).min(300);
    for i in 0..n {
        let seed = rng.below(tree::SEEDS.len());
        let files = tree::files(&tree::envs_dir().join(tree::SEEDS[seed]));
        let root = tree::envs_dir().join(tree::SEEDS[seed]).join("root");
        let mut parts: Vec<(u8, Vec<u8>)> = Vec::new();
        for _ in 0..1 + rng.below(4) {
            let index = rng.below(files.len());
            let original =
                std::fs::read(root.join(files[index].trim_start_matches('/'))).unwrap_or_default();
            let contents = match rng.below(3) {
                0 => mutate(&mut rng, &original),
                1 => token_soup(&mut rng),
                _ => random_bytes(&mut rng),
            };
            parts.push((index as u8, contents));
        }
        let head = (((i % 3) as u8) << 4) | seed as u8;
        let refs: Vec<(u8, &[u8])> = parts.iter().map(|(s, b)| (*s, b.as_slice())).collect();
        let input = tree::encode(head, &refs);
        if catch_unwind(AssertUnwindSafe(|| tree::run(&input))).is_err() {
            panic!(
                "tree case {i}: seed {} {:?}",
                tree::SEEDS[seed],
                shown(&input)
            );
        }
    }
}
