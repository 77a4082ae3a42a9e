//! Area `subid`: the user's ranges in `/etc/subuid` and `/etc/subgid`.
//!
//! Only relevant when podman is rootless and the uid is not 0 (uid 0
//! without CAP_SYS_ADMIN copies `/proc/self/uid_map` and ignores these
//! files). Podman (containers/storage) trims each line, skips `#` comments,
//! refuses the *whole file* when any line has other than three fields,
//! matches a line by the user's name or numeric uid and sorts the ranges by
//! start; newuidmap (shadow) skips lines it cannot parse, so a range with
//! trailing whitespace is passed by podman and refused by the helper.
//! Catalog U1–U4, U9.

use super::paths::Paths;
use super::{AreaOut, Findings, Obs};
pub use crate::formats::subid::{parse_subid, BadLine, SubIdFile, SubIdLine};
use crate::host::{Access, Host, IdMapLine};
use crate::ids::{Gid, Uid};
use crate::model::{Action, By, Check, Spec, Status};
use serde_json::{json, Value};

pub const SUBUID: &str = "/etc/subuid";
pub const SUBGID: &str = "/etc/subgid";

/// IDs a RUN step commonly needs: everything up to nobody (65534).
pub const WANTED: u64 = 65536;
/// The fewest sub-ids that still cover nobody=65534 (inside ids 1..=65534).
pub const ENOUGH: u64 = 65534;

/// A half-open id interval `[start, end)`.
pub type Span = (u64, u64);

/// The ids that exist inside this namespace (the inside column of a map),
/// merged and sorted.
pub fn inside_spans(map: &[IdMapLine]) -> Vec<Span> {
    let mut v: Vec<Span> = map
        .iter()
        .map(|l| {
            (
                u64::from(l.inside),
                u64::from(l.inside) + u64::from(l.count),
            )
        })
        .collect();
    v.sort_unstable();
    let mut out: Vec<Span> = Vec::new();
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// `spans` without the ids of `taken` (both half-open intervals).
pub fn minus(spans: &[Span], taken: &[Span]) -> Vec<Span> {
    let mut out: Vec<Span> = spans.to_vec();
    for &(ts, te) in taken {
        out = out
            .into_iter()
            .flat_map(|(s, e)| {
                if te <= s || ts >= e {
                    vec![(s, e)]
                } else {
                    [(s, ts.max(s)), (te.min(e), e)]
                        .into_iter()
                        .filter(|(a, b)| a < b)
                        .collect()
                }
            })
            .collect();
    }
    out
}

pub fn covered(spans: &[Span], start: u64, end: u64) -> bool {
    spans.iter().any(|&(s, e)| s <= start && end <= e)
}

/// Ranges (start, count) inside `spans`, not containing `own` nor 0, from
/// `floor` up, until `want` ids are collected. In the initial namespace a
/// single `100000:65536` is preferred (away from real users' ids).
pub fn propose(spans: &[Span], own: u64, want: u64, in_userns: bool) -> Vec<(u64, u64)> {
    let floor = if in_userns { 1 } else { 100_000 };
    let mut out = Vec::new();
    let mut left = want;
    for &(s, e) in spans {
        let mut s = s.max(floor);
        while s < e && left > 0 {
            let mut stop = e.min(s + left);
            if own >= s && own < stop {
                stop = own;
            }
            if stop > s {
                out.push((s, stop - s));
                left -= stop - s;
            }
            s = if stop == own { own + 1 } else { stop };
        }
        if left == 0 {
            break;
        }
    }
    out
}

/// One file's view for the user.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileFacts {
    pub path: String,
    pub readable: bool,
    /// The user's ranges as podman sees them, sorted by start.
    pub ranges: Vec<(u64, u64)>,
    pub total: u64,
    /// Lines podman refuses the whole file for.
    pub fatal_lines: Vec<usize>,
    /// The user's lines newuidmap cannot parse (padded or malformed).
    pub user_bad_lines: Vec<usize>,
    /// A range overlaps another or repeats it.
    pub overlap: bool,
    /// A range contains the user's own id.
    pub contains_own: bool,
    /// Ranges that do not fit in the ids this namespace has.
    pub outside_parent: Vec<(u64, u64)>,
}

#[derive(Debug, Default, Clone)]
pub struct Facts {
    /// Podman reads these files here (rootless, uid ≠ 0).
    pub relevant: bool,
    pub uid: FileFacts,
    pub gid: FileFacts,
    /// Both files give podman ranges newuidmap/newgidmap will accept, as far
    /// as the files tell (the idmap probe is the proof).
    pub usable: bool,
    /// The smaller of the two totals.
    pub total: u64,
    /// `/etc/nsswitch.conf` `subid:` sources, when the line exists.
    pub nss_sources: Option<String>,
    /// Lines this run's fix would append (for idmap's prediction).
    pub planned: Vec<(String, String)>,
}

impl Facts {
    /// The user's uid ranges in podman's order (sorted by start).
    pub fn uid_ranges(&self) -> &[(u64, u64)] {
        &self.uid.ranges
    }
    pub fn gid_ranges(&self) -> &[(u64, u64)] {
        &self.gid.ranges
    }
}

pub const SPECS: &[Spec] = &[
    Spec {
        id: "subid.files",
        title: "/etc/subuid and /etc/subgid are readable and well-formed",
        explain: "Podman (containers/storage) refuses the whole of /etc/subuid or /etc/subgid when \
any line has other than three `owner:start:count` fields, and then falls back to a single-id \
mapping; newuidmap silently skips lines it cannot parse, including a range followed by trailing \
whitespace (podman(1): whitespace \"may result in no entry failures\"). Ranges may also come from \
NSS (`subid:` in /etc/nsswitch.conf, e.g. sss). Fix the files in the image; this tool never \
rewrites existing lines.",
        signatures: &[
            "Cannot parse subuid/gid information: Format not correct",
            "cannot parse subuid/gid information",
            "String to int conversion failed during subuid/gid parsing",
            "open /etc/subuid: no such file or directory",
        ],
    },
    Spec {
        id: "subid.entries",
        title: "The user has ranges in /etc/subuid and /etc/subgid",
        explain: "Rootless podman maps the job's own id to root and the user's subordinate ranges to \
ids 1, 2, …; without ranges it warns `Using rootless single mapping into the namespace` and any \
image layer with files owned by another id fails with `potentially insufficient UIDs or GIDs \
available in user namespace … lchown …: invalid argument`. Fix (job): when the files are writable \
(root, or `chmod g=u` + gid 0) this tool appends ranges that fit inside the ids this container has \
and exclude the user's own id (for uid 1000 in a 65536-id namespace: `podman:1:999` and \
`podman:1001:64535`), then runs `podman system migrate` if a pause process already holds the old \
namespace. Otherwise bake them into the image: `usermod --add-subuids 100000-165535 \
--add-subgids 100000-165535 podman`, or use quay.io/podman/stable.",
        signatures: &[
            "no subuid ranges found for user",
            "Using rootless single mapping into the namespace",
            "No subuid ranges found for user",
            "cannot find UID/GID for user",
            "Using rootless single mapping into the namespace",
            "using rootless single mapping into the namespace",
            "potentially insufficient UIDs or GIDs available in user namespace",
            "check rootless mode in man pages",
        ],
    },
    Spec {
        id: "subid.overlap",
        title: "The user's ranges are disjoint and exclude the user's own id",
        explain: "The kernel refuses uid_map extents that overlap (`newuidmap: write to uid_map \
failed: Invalid argument`), and podman refuses a range that contains the user's own id \
(`invalid configuration: the specified mapping … includes the user UID`). Duplicate lines (the user \
listed twice) are the common cause. Appending cannot remove a line, so this is an image fix: one \
line per range, no overlaps, own id excluded.",
        signatures: &[
            "includes the user UID",
            "includes the user GID",
            "write to uid_map failed: Invalid argument",
            "write to gid_map failed: Invalid argument",
            "there might not be enough IDs available in the namespace",
        ],
    },
    Spec {
        id: "subid.parent_map",
        title: "The ranges fit inside the ids this container has",
        explain: "When the job already runs inside a user namespace (rootless outer podman or \
docker, Kubernetes `hostUsers: false`, OpenShift user-namespace pods) only the ids of \
/proc/self/uid_map exist; a sub-id range outside them makes `newuidmap: write to uid_map failed: \
Operation not permitted`. Size the ranges to the namespace: for uid 1000 in 65536 ids, \
`podman:1:999` and `podman:1001:64535`.",
        signatures: &[
            "write to uid_map failed: Operation not permitted",
            "write to gid_map failed: Operation not permitted",
            "cannot set up namespace using",
        ],
    },
    Spec {
        id: "subid.size",
        title: "The ranges cover the ids images use (nobody = 65534)",
        explain: "Every id a layer uses must be mapped: nobody/nogroup are 65534, so fewer than 65534 \
sub-ids make builds of ordinary images fail with `potentially insufficient UIDs or GIDs available \
in user namespace (requested …)`. Images with ids ≥ 65536 need larger ranges, which a 65536-id \
parent namespace (k8s `hostUsers: false`) cannot give.",
        signatures: &[
            "potentially insufficient UIDs or GIDs available in user namespace",
            "insufficient UIDs or GIDs",
            // buildah 1.28+ words the same failure at the first foreign-owned file:
            "error setting ownership of",
        ],
    },
];

struct FileRead {
    parsed: Option<SubIdFile>,
    error: Option<String>,
}

fn read_file(host: &Host, path: &str) -> FileRead {
    // issue 9: never blocks on a FIFO; a directory, a 0000 file or bytes
    // that are not text are named as such, not taken for a missing file.
    match host.read_checked(path) {
        Ok(Some(t)) => FileRead {
            parsed: Some(parse_subid(&t)),
            error: None,
        },
        Ok(None) => FileRead {
            parsed: None,
            error: Some("ENOENT".to_string()),
        },
        Err(p) => FileRead {
            parsed: None,
            error: Some(p.to_string()),
        },
    }
}

fn analyse(
    path: &str,
    file: &Option<SubIdFile>,
    name: Option<&str>,
    uid_key: Option<Uid>,
    own: u64,
    spans: Option<&[Span]>,
) -> FileFacts {
    let mut ff = FileFacts {
        path: path.to_string(),
        readable: file.is_some(),
        ..FileFacts::default()
    };
    let Some(f) = file else { return ff };
    ff.fatal_lines = f
        .bad
        .iter()
        .filter(|b| b.fatal_for_podman)
        .map(|b| b.line_no)
        .collect();
    let mine = f.ranges_for(name, uid_key);
    ff.user_bad_lines = f
        .bad_for(name, uid_key)
        .iter()
        .map(|b| b.line_no)
        .chain(mine.iter().filter(|l| l.padded).map(|l| l.line_no))
        .collect();
    let mut ranges: Vec<(u64, u64)> = mine.iter().map(|l| (l.start, l.count)).collect();
    ranges.sort_unstable();
    ff.total = ranges.iter().map(|r| r.1).sum();
    ff.overlap = ranges.windows(2).any(|w| w[1].0 < w[0].0 + w[0].1);
    ff.contains_own = ranges.iter().any(|&(s, c)| own >= s && own < s + c);
    if let Some(spans) = spans {
        ff.outside_parent = ranges
            .iter()
            .copied()
            .filter(|&(s, c)| !covered(spans, s, s + c))
            .collect();
    }
    ff.ranges = ranges;
    ff
}

fn fmt_ranges(owner: &str, r: &[(u64, u64)]) -> String {
    r.iter()
        .map(|(s, c)| format!("{owner}:{s}:{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `subid.files`: both files parse the way podman and newuidmap read them.
/// Also whether a line makes podman refuse a file.
fn files_check(fu: &FileRead, fg: &FileRead, facts: &Facts, nss_not_files: bool) -> (Check, bool) {
    let mut problems: Vec<String> = Vec::new();
    let mut status = Status::Ok;
    let mut ev_files = Vec::new();
    for (path, fr, ff) in [(SUBUID, &fu, &facts.uid), (SUBGID, &fg, &facts.gid)] {
        let bad: Vec<Value> = fr
            .parsed
            .as_ref()
            .map(|p| {
                p.bad
                    .iter()
                    .take(20)
                    .map(|b| json!({"line": b.line_no, "problem": b.problem}))
                    .collect()
            })
            .unwrap_or_default();
        ev_files.push(json!({"path": path, "error": fr.error, "bad_lines": bad,
                             "user_lines_newuidmap_skips": ff.user_bad_lines}));
        if let Some(e) = &fr.error {
            // A read problem is a whole sentence naming the file already.
            problems.push(if e.starts_with(path) {
                e.clone()
            } else {
                format!("{path}: {e}")
            });
            // A missing file is the same as no entries (subid.entries says so).
            status = status.max(if e == "ENOENT" {
                Status::Info
            } else {
                Status::Warn
            });
        }
        if !ff.fatal_lines.is_empty() {
            problems.push(format!(
                "{path} line {} is not owner:start:count, so podman refuses the whole file",
                ff.fatal_lines[0]
            ));
            status = Status::Error;
        }
        if !ff.user_bad_lines.is_empty() {
            problems.push(format!(
                "{path} line {} (the user's) has whitespace or a bad number: podman and newuidmap read it differently",
                ff.user_bad_lines[0]
            ));
            status = Status::Error;
        }
        if let Some(p) = &fr.parsed {
            let others = p.bad.iter().filter(|b| !b.fatal_for_podman).count();
            if others > 0 && ff.user_bad_lines.is_empty() && status < Status::Warn {
                problems.push(format!(
                    "{path} has {others} malformed line(s) of other users"
                ));
                status = status.max(Status::Warn);
            }
        }
    }
    let summary = if problems.is_empty() {
        "/etc/subuid and /etc/subgid parse cleanly".to_string()
    } else {
        problems.join("; ")
    };
    let mut c = Check::new("subid.files", status, summary)
        .with("files", Value::Array(ev_files))
        .with("nsswitch_subid", json!(facts.nss_sources));
    if nss_not_files {
        c = c.with(
            "note",
            "nsswitch.conf takes sub-ids from other sources than files; the files may not be what newuidmap uses",
        );
    }
    if status >= Status::Warn {
        c = c.fix(
            By::Image,
            "Fix /etc/subuid and /etc/subgid in the image: one `name:start:count` line per range, \
no spaces, no other lines.",
        );
    }
    let fatal = status == Status::Error;
    (c, fatal)
}

/// `subid.overlap` (U3): disjoint ranges without the user's own ids.
/// Also whether that is broken.
fn overlap_check(
    facts: &Facts,
    podman_user: Option<&str>,
    owner: &str,
    uid: Uid,
    gid: Gid,
) -> (Check, bool) {
    // A podman lookup name equal to the uid lists each line twice (libsubid
    // matches by name and by uid); identity.user_env carries that fix.
    let doubled = podman_user == Some(uid.to_string().as_str()) && !facts.uid.ranges.is_empty();
    let mut ov = Vec::new();
    for (ff, what, own) in [
        (&facts.uid, "UID", uid.get()),
        (&facts.gid, "GID", gid.get()),
    ] {
        if ff.overlap {
            ov.push(format!(
                "{} has overlapping or repeated ranges for `{owner}`",
                ff.path
            ));
        }
        if ff.contains_own {
            ov.push(format!(
                "a range in {} includes the user {what} {own} (podman: \"includes the user {what}\")",
                ff.path
            ));
        }
    }
    let overlap_bad = !ov.is_empty() || doubled;
    let check = if doubled && ov.is_empty() {
        Check::info(
            "subid.overlap",
            format!("podman looks the ranges up as `{uid}`, the uid itself, and gets each twice (see identity.user_env)"),
        )
    } else if !overlap_bad {
        Check::ok(
            "subid.overlap",
            "the ranges are disjoint and exclude the user's own ids",
        )
    } else {
        Check::error("subid.overlap", ov.join("; "))
            .with("uid_ranges", json!(facts.uid.ranges))
            .with("gid_ranges", json!(facts.gid.ranges))
            .fix(
                By::Image,
                format!(
                    "Fix the image's /etc/subuid and /etc/subgid: one line per range, no overlaps or \
duplicates, not containing the user's own id (for uid 1000: `{owner}:1:999` and `{owner}:1001:64535`, \
or `{owner}:100000:65536`)."
                ),
            )
    };
    (check, overlap_bad)
}

/// `subid.parent_map` (U4): the ranges exist in this user namespace.
/// Also whether some do not.
fn parent_map_check(
    facts: &Facts,
    owner: &str,
    uid: Uid,
    in_userns: bool,
    uid_spans: &Option<Vec<Span>>,
    gid_spans: &Option<Vec<Span>>,
) -> (Check, bool) {
    let owner_ref = owner;
    let outside: Vec<String> = [&facts.uid, &facts.gid]
        .iter()
        .flat_map(|ff| {
            ff.outside_parent
                .iter()
                .map(move |(s, c)| format!("{}: {owner_ref}:{s}:{c}", ff.path))
        })
        .collect();
    let parent_bad = !outside.is_empty();
    let spans_ev = |s: &Option<Vec<Span>>| {
        json!(s.as_ref().map(|v| v
            .iter()
            .map(|(a, b)| format!("{a}-{}", b - 1))
            .collect::<Vec<_>>()))
    };
    let check = if uid_spans.is_none() {
        Check::warn(
            "subid.parent_map",
            "could not read /proc/self/uid_map, so whether the ranges fit is unknown",
        )
        .with("probe_ran", false)
    } else if !parent_bad {
        Check::ok(
            "subid.parent_map",
            if in_userns {
                "the ranges fit inside the ids of this user namespace".to_string()
            } else {
                "not in a nested user namespace: every id exists".to_string()
            },
        )
        .with("inside_uids", spans_ev(uid_spans))
        .with("inside_gids", spans_ev(gid_spans))
    } else {
        let fit_u = uid_spans
            .as_deref()
            .map(|s| fmt_ranges(owner, &propose(s, u64::from(uid), WANTED, in_userns)))
            .unwrap_or_default();
        Check::error(
            "subid.parent_map",
            format!(
                "range(s) outside the ids this container has ({}): newuidmap fails with `write to uid_map failed: Operation not permitted`",
                outside.join(", ")
            ),
        )
        .with("outside", json!(outside))
        .with("inside_uids", spans_ev(uid_spans))
        .with("inside_gids", spans_ev(gid_spans))
        .fix(
            By::Image,
            format!(
                "Size the image's ranges to this namespace, e.g. {fit_u}: in the Containerfile, \
`RUN printf '%s\\n' {lines} | tee /etc/subuid /etc/subgid` (existing lines cannot be replaced by \
appending).",
                lines = fit_u.replace(", ", " ")
            ),
        )
    };
    (check, parent_bad)
}

/// `subid.size` (U2): enough sub-ids for the ids images use (nobody).
fn size_check(facts: &Facts, have_both: bool, uid_spans: &Option<Vec<Span>>) -> Check {
    if !have_both {
        Check::info("subid.size", "no ranges to size (see subid.entries)")
    } else if facts.total < ENOUGH {
        let cap = uid_spans
            .as_deref()
            .map(|s| s.iter().map(|(a, b)| b - a).sum::<u64>())
            .unwrap_or(0);
        // An error, not a warning: the matrix's deb12-subuid-small-priv
        // (1000 ids) fails at the first file owned by uid 2000, and most
        // base images carry nobody/nogroup (65534).
        Check::error(
            "subid.size",
            format!(
                "only {} sub-ids (uid {}, gid {}): ids above {} (nobody = 65534) cannot be mapped and layers using them fail",
                facts.total, facts.uid.total, facts.gid.total, facts.total
            ),
        )
        .with("total_uids", facts.uid.total)
        .with("total_gids", facts.gid.total)
        .with("namespace_ids", cap)
        .fix(
            By::Image,
            "Give the user at least 65536 sub-ids in the image, in the Containerfile: `RUN usermod \
--add-subuids 100000-165535 --add-subgids 100000-165535 USER`; in a 65536-id parent namespace use every \
id but 0 and the user's own.",
        )
    } else {
        Check::ok(
            "subid.size",
            format!("{} sub-ids cover ids up to {}", facts.total, facts.total),
        )
        .with("total_uids", facts.uid.total)
        .with("total_gids", facts.gid.total)
    }
}

/// A pause process of an earlier podman in this job (catalog U9).
fn pause_alive(host: &Host, paths: &Paths, uid: Uid) -> Option<String> {
    let mut candidates = Vec::new();
    if let Some(x) = &paths.xdg_runtime_dir {
        candidates.push(format!("{}/libpod/tmp/pause.pid", x.trim_end_matches('/')));
    }
    candidates.push(format!("/run/user/{uid}/libpod/tmp/pause.pid"));
    let tmp = host
        .env_nonempty("TMPDIR")
        .unwrap_or("/tmp")
        .trim_end_matches('/');
    candidates.push(format!("{tmp}/storage-run-{uid}/libpod/tmp/pause.pid"));
    candidates.push(format!("{tmp}/podman-run-{uid}/libpod/tmp/pause.pid"));
    candidates.into_iter().find(|p| {
        host.read(p)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
            .is_some_and(|pid| pid > 0 && host.exists(&format!("/proc/{pid}")))
    })
}

/// Who podman maps here and the namespace it maps into, as the identity
/// and userns areas found them.
struct Job {
    uid: Uid,
    gid: Gid,
    /// The passwd name, or the one identity's fix will create.
    name: Option<String>,
    /// `name` exists only once identity's fix has run.
    name_from_fix: bool,
    /// The name the ranges are looked up and written under (else the uid).
    owner: String,
    in_userns: bool,
    /// The ids of this namespace (`None`: its map is unreadable).
    uid_spans: Option<Vec<Span>>,
    gid_spans: Option<Vec<Span>>,
}

impl Job {
    fn of(found: &Findings) -> Job {
        let id = &found.identity;
        let name = id.user.clone().or_else(|| id.planned_name.clone());
        let spans = |map: &[IdMapLine]| (!map.is_empty()).then(|| inside_spans(map));
        Job {
            uid: id.uid,
            gid: id.gid,
            name_from_fix: id.user.is_none() && name.is_some(),
            owner: name.clone().unwrap_or_else(|| id.uid.to_string()),
            name,
            in_userns: found.userns.in_userns,
            uid_spans: spans(&found.userns.parent_uid_map),
            gid_spans: spans(&found.userns.parent_gid_map),
        }
    }
}

pub fn probe(host: &Host, earlier: &Findings) -> AreaOut<Facts> {
    let found = &mut Obs::new(earlier);
    let relevant = found.plan.rootless && !found.identity.uid.is_root();
    let mut facts = Facts {
        relevant,
        ..Facts::default()
    };
    if !relevant {
        found.checks.push(not_relevant_check(found.plan.rootless));
        return found.finish(facts);
    }
    let job = Job::of(found);
    let fu = read_file(host, SUBUID);
    let fg = read_file(host, SUBGID);
    read_facts(host, &job, &fu, &fg, &mut facts);
    let nss_not_files = facts
        .nss_sources
        .as_deref()
        .is_some_and(|s| !s.split_whitespace().any(|w| w == "files"));

    let (files, files_fatal) = files_check(&fu, &fg, &facts, nss_not_files);
    found.checks.push(files);

    let entries = entries_check(host, &found.identity.paths, &job, &fu, &fg, &mut facts);
    found.checks.push(entries);

    let podman_user = found.identity.podman_user.as_deref();
    let (overlap, overlap_bad) = overlap_check(&facts, podman_user, &job.owner, job.uid, job.gid);
    found.checks.push(overlap);

    let (parent, parent_bad) = parent_map_check(
        &facts,
        &job.owner,
        job.uid,
        job.in_userns,
        &job.uid_spans,
        &job.gid_spans,
    );
    found.checks.push(parent);

    let have_both = !facts.uid.ranges.is_empty() && !facts.gid.ranges.is_empty();
    found
        .checks
        .push(size_check(&facts, have_both, &job.uid_spans));

    facts.usable = have_both
        && !files_fatal
        && !overlap_bad
        && !parent_bad
        && job.name.is_some()
        && !job.name_from_fix;
    found.finish(facts)
}

/// `subid.entries` where podman does not read the files.
fn not_relevant_check(rootless: bool) -> Check {
    let why = if !rootless {
        "podman runs rootful here and does not read /etc/subuid or /etc/subgid"
    } else {
        "uid 0 without CAP_SYS_ADMIN: podman copies /proc/self/uid_map, and reads root's ranges in /etc/subuid and /etc/subgid only when that copy is refused (see idmap.map)"
    };
    Check::info("subid.entries", why).with("rootless", rootless)
}

/// The user's view of both files and the nsswitch `subid:` sources.
fn read_facts(host: &Host, job: &Job, fu: &FileRead, fg: &FileRead, facts: &mut Facts) {
    let name = job.name.as_deref();
    let key_uid = Some(job.uid);
    facts.uid = analyse(
        SUBUID,
        &fu.parsed,
        name,
        key_uid,
        u64::from(job.uid),
        job.uid_spans.as_deref(),
    );
    // newgidmap looks the caller up by its passwd name and uid too.
    facts.gid = analyse(
        SUBGID,
        &fg.parsed,
        name,
        key_uid,
        u64::from(job.gid),
        job.gid_spans.as_deref(),
    );
    facts.total = facts.uid.total.min(facts.gid.total);
    facts.nss_sources = host.read("/etc/nsswitch.conf").ok().and_then(|t| {
        t.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix("subid:").map(|s| s.trim().to_string()))
    });
}

/// The append fix of `subid.entries`: which files lack the user's ranges,
/// the lines that would give them, and why a file cannot get them.
#[derive(Default)]
struct Append {
    missing: Vec<&'static str>,
    unfixable: Vec<String>,
    planned: Vec<(String, String)>,
    actions: Vec<Action>,
}

fn plan_append(host: &Host, job: &Job, fu: &FileRead, fg: &FileRead, facts: &Facts) -> Append {
    let mut plan = Append::default();
    for (path, fr, ff, own, spans) in [
        (SUBUID, fu, &facts.uid, u64::from(job.uid), &job.uid_spans),
        (SUBGID, fg, &facts.gid, u64::from(job.gid), &job.gid_spans),
    ] {
        if !ff.ranges.is_empty() {
            continue;
        }
        plan.missing.push(path);
        match ranges_to_append(host, path, fr, ff, own, spans.as_deref(), job.in_userns) {
            Err(why) => plan.unfixable.push(why),
            Ok(ranges) => {
                for (s, c) in ranges {
                    let line = format!("{}:{s}:{c}", job.owner);
                    plan.planned.push((path.to_string(), line.clone()));
                    plan.actions.push(Action::AppendLine {
                        path: path.to_string(),
                        line,
                    });
                }
            }
        }
    }
    plan
}

/// The ranges one file could get appended; why not when it cannot.
fn ranges_to_append(
    host: &Host,
    path: &str,
    fr: &FileRead,
    ff: &FileFacts,
    own: u64,
    spans: Option<&[Span]>,
    in_userns: bool,
) -> Result<Vec<(u64, u64)>, String> {
    let writable =
        fr.error.as_deref() != Some("ENOENT") && host.access(path, Access::Write).is_ok();
    if !writable {
        return Err(format!("{path} is not writable"));
    }
    if !ff.fatal_lines.is_empty() || !ff.user_bad_lines.is_empty() {
        return Err(format!("{path} has lines podman or newuidmap misread"));
    }
    let default_spans = vec![(0u64, 1u64 << 32)];
    let spans = spans.unwrap_or(&default_spans);
    // Never over another user's ranges when the namespace has room
    // elsewhere; only a namespace whose every id is already handed out
    // (65536 ids, all given to the image's user) shares them, which
    // newuidmap accepts (it checks the caller's lines only).
    let taken: Vec<Span> = fr
        .parsed
        .as_ref()
        .map(|p| p.lines.iter().map(|l| (l.start, l.end())).collect())
        .unwrap_or_default();
    let free = minus(spans, &taken);
    let mut ranges = propose(&free, own, WANTED, in_userns);
    if ranges.iter().map(|r| r.1).sum::<u64>() < ENOUGH {
        ranges = propose(spans, own, WANTED, in_userns);
    }
    if ranges.is_empty() {
        return Err(format!("no ids left in this namespace for {path}"));
    }
    Ok(ranges)
}

// --- subid.entries (U1), with the append fix
fn entries_check(
    host: &Host,
    paths: &Paths,
    job: &Job,
    fu: &FileRead,
    fg: &FileRead,
    facts: &mut Facts,
) -> Check {
    let (owner, uid, gid) = (&job.owner, job.uid, job.gid);
    let Append {
        missing,
        unfixable,
        planned,
        mut actions,
    } = plan_append(host, job, fu, fg, facts);
    if missing.is_empty() {
        return Check::ok(
            "subid.entries",
            format!(
                "`{owner}` has {} in {SUBUID} and {} in {SUBGID}",
                fmt_ranges(owner, &facts.uid.ranges),
                fmt_ranges(owner, &facts.gid.ranges)
            ),
        );
    }
    let c = Check::error(
        "subid.entries",
        format!(
            "no ranges for `{owner}` (uid {uid}) in {}: podman falls back to a single-id mapping and layers owned by other ids fail",
            missing.join(" and ")
        ),
    )
    .with("missing", json!(missing));
    if !unfixable.is_empty() || job.name.is_none() || (job.name_from_fix && actions.is_empty()) {
        return c.with("job_fix_impossible", unfixable.join("; ")).fix(
            By::Image,
            format!(
                "Add ranges in the image: `RUN usermod --add-subuids 100000-165535 --add-subgids \
100000-165535 {owner}` (inside a 65536-id user namespace: `{owner}:1:999` and `{owner}:1001:64535`), \
or `chmod g=u /etc/subuid /etc/subgid` so an OpenShift job (gid 0) can add them itself."
            ),
        );
    }
    let mut text = format!(
        "append {} (inside the ids this container has, excluding uid/gid {uid}/{gid})",
        planned
            .iter()
            .map(|(p, l)| format!("`{l}` to {p}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(pid_file) = pause_alive(host, paths, uid) {
        text.push_str(&format!(
            ", then `podman system migrate` (a pause process from {pid_file} holds the old namespace)"
        ));
        actions.push(Action::Run {
            argv: vec!["podman".into(), "system".into(), "migrate".into()],
        });
    }
    let c = c
        .with(
            "planned_lines",
            json!(planned
                .iter()
                .map(|(p, l)| format!("{p}: {l}"))
                .collect::<Vec<_>>()),
        )
        .job_fix(text, actions);
    facts.planned = planned;
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{Access, Host};
    use crate::probes::testutil::Fixture;
    use crate::probes::{identity, userns};

    const DOCKER_CAPS: u64 = 0x8004_05fb;
    const PASSWD: &str =
        "root:x:0:0:root:/root:/bin/bash\npodman:x:1000:1000::/home/podman:/bin/bash\n";

    fn status(eff: u64) -> String {
        format!("CapPrm:\t{eff:016x}\nCapEff:\t{eff:016x}\nCapBnd:\t{eff:016x}\nNoNewPrivs:\t0\nSeccomp:\t2\n")
    }

    fn run(host: &Host) -> Findings {
        let mut found = Findings::default();
        found.absorb(crate::probes::caps::probe(host, &found));
        found.absorb(identity::probe(host, &found));
        found.absorb(userns::probe(host, &found));
        found.absorb(probe(host, &found));
        found
    }

    /// uid 1000 in a container whose user namespace has 65536 ids (the
    /// nested case captured on this host: uid_map `0 100000 65536`).
    fn nested(subuid: &str, subgid: &str) -> Fixture {
        Fixture::new()
            .uid(1000)
            .gid(1000)
            .env("HOME", "/home/podman")
            .file("/etc/passwd", PASSWD)
            .file("/proc/self/status", &status(DOCKER_CAPS))
            .file("/proc/self/uid_map", "         0     100000      65536\n")
            .file("/proc/self/gid_map", "         0     100000      65536\n")
            .file(SUBUID, subuid)
            .file(SUBGID, subgid)
            .stat("/home/podman", "dir", 0o700, 1000, 1000)
    }

    fn status_of(found: &Findings, id: &str) -> Option<Status> {
        found.check(id).map(|c| c.status)
    }

    #[test]
    fn parses_upstream_image_lines() {
        let f = parse_subid("podman:1:999\npodman:1001:64535\n");
        assert!(f.bad.is_empty());
        let r = f.ranges_for(Some("podman"), Some(Uid(1000)));
        assert_eq!(r.len(), 2);
        assert_eq!((r[1].start, r[1].count), (1001, 64535));
    }

    #[test]
    fn parser_tolerates_garbage() {
        let f = parse_subid(
            "# comment\n\npodman:100000:65536 \n1000:200000:65536\nbroken\nx:abc:1\ny:1:0\nz: 1:5\n",
        );
        assert_eq!(f.lines.len(), 2);
        assert!(f.lines[0].padded);
        assert_eq!(
            f.ranges_for(Some("podman"), Some(Uid(1000))).len(),
            2,
            "by name and by uid"
        );
        let bad: Vec<(usize, bool)> = f
            .bad
            .iter()
            .map(|b| (b.line_no, b.fatal_for_podman))
            .collect();
        assert_eq!(bad, vec![(5, true), (6, false), (7, false), (8, false)]);
    }

    #[test]
    fn proposals_fit_the_namespace() {
        // 65536 ids, uid 1000: the upstream image's lines exactly.
        let spans = inside_spans(
            &crate::formats::idmap::parse_id_map("0 100000 65536\n").unwrap_or_default(),
        );
        assert_eq!(
            propose(&spans, 1000, WANTED, true),
            vec![(1, 999), (1001, 64535)]
        );
        // k8s hostUsers: false.
        let spans = inside_spans(
            &crate::formats::idmap::parse_id_map("0 833617920 65536\n").unwrap_or_default(),
        );
        assert_eq!(
            propose(&spans, 1000, WANTED, true),
            vec![(1, 999), (1001, 64535)]
        );
        // A nested rootless podman: `0 1000 1` + `1 100000 65536` → ids 0..=65536.
        let spans = inside_spans(
            &crate::formats::idmap::parse_id_map("0 1000 1\n1 100000 65536\n").unwrap_or_default(),
        );
        assert_eq!(spans, vec![(0, 65537)]);
        assert_eq!(
            propose(&spans, 1000, WANTED, true),
            vec![(1, 999), (1001, 64536)]
        );
        // The initial namespace: away from real users.
        let spans = vec![(0u64, 1u64 << 32)];
        assert_eq!(propose(&spans, 1000, WANTED, false), vec![(100000, 65536)]);
        assert_eq!(
            propose(&spans, 100500, WANTED, false),
            vec![(100000, 500), (100501, 65036)]
        );
    }

    #[test]
    fn upstream_ranges_are_usable() {
        let lines = "podman:1:999\npodman:1001:64535\n";
        let found = run(&nested(lines, lines).host());
        for id in [
            "subid.files",
            "subid.entries",
            "subid.overlap",
            "subid.parent_map",
            "subid.size",
        ] {
            assert_eq!(status_of(&found, id), Some(Status::Ok), "{id}");
        }
        assert!(found.subid.usable);
        assert_eq!(found.subid.total, 65534);
        assert_eq!(found.subid.uid_ranges(), &[(1, 999), (1001, 64535)]);
    }

    #[test]
    fn missing_entries_are_appended_inside_the_namespace() {
        let found = run(&nested("", "other:1:5\n").host());
        let c = found.check("subid.entries").cloned().unwrap();
        assert_eq!(c.status, Status::Error);
        let fix = c.fix.unwrap();
        assert_eq!(fix.by, By::Job);
        assert_eq!(
            fix.actions,
            vec![
                Action::AppendLine {
                    path: SUBUID.into(),
                    line: "podman:1:999".into()
                },
                Action::AppendLine {
                    path: SUBUID.into(),
                    line: "podman:1001:64535".into()
                },
                Action::AppendLine {
                    path: SUBGID.into(),
                    line: "podman:1:999".into()
                },
                Action::AppendLine {
                    path: SUBGID.into(),
                    line: "podman:1001:64535".into()
                },
            ]
        );
        assert!(!found.subid.usable);
    }

    #[test]
    fn migrate_only_when_a_pause_process_is_alive() {
        let fx = nested("", "")
            .env("XDG_RUNTIME_DIR", "/run/user/1000")
            .file("/run/user/1000/libpod/tmp/pause.pid", "4242")
            .dir("/proc/4242");
        let found = run(&fx.host());
        let acts = found
            .check("subid.entries")
            .unwrap()
            .fix
            .clone()
            .unwrap()
            .actions;
        assert_eq!(
            acts.last(),
            Some(&Action::Run {
                argv: vec!["podman".into(), "system".into(), "migrate".into()]
            })
        );
        let fx = nested("", "")
            .env("XDG_RUNTIME_DIR", "/run/user/1000")
            .file("/run/user/1000/libpod/tmp/pause.pid", "4243");
        let found = run(&fx.host());
        let acts = found
            .check("subid.entries")
            .unwrap()
            .fix
            .clone()
            .unwrap()
            .actions;
        assert!(!acts.iter().any(|a| matches!(a, Action::Run { .. })));
    }

    #[test]
    fn initial_namespace_gets_the_conventional_range() {
        let fx = nested("", "")
            .file("/proc/self/uid_map", "         0          0 4294967295\n")
            .file("/proc/self/gid_map", "         0          0 4294967295\n");
        let found = run(&fx.host());
        let acts = found
            .check("subid.entries")
            .unwrap()
            .fix
            .clone()
            .unwrap()
            .actions;
        assert_eq!(
            acts[0],
            Action::AppendLine {
                path: SUBUID.into(),
                line: "podman:100000:65536".into()
            }
        );
    }

    /// Appended ranges stay off other users' ranges where the namespace
    /// has room (design: never overlapping what is there); a 65536-id
    /// namespace already handed out whole shares it rather than fail.
    #[test]
    fn appended_ranges_avoid_other_users_ranges() {
        let fx = nested(
            "builder:100000:65536\n",
            "builder:100000:65536\nx:170000:10\n",
        )
        .file("/proc/self/uid_map", "         0          0 4294967295\n")
        .file("/proc/self/gid_map", "         0          0 4294967295\n");
        let found = run(&fx.host());
        let acts = found
            .check("subid.entries")
            .unwrap()
            .fix
            .clone()
            .unwrap()
            .actions;
        assert_eq!(
            acts,
            vec![
                Action::AppendLine {
                    path: SUBUID.into(),
                    line: "podman:165536:65536".into()
                },
                Action::AppendLine {
                    path: SUBGID.into(),
                    line: "podman:165536:4464".into()
                },
                Action::AppendLine {
                    path: SUBGID.into(),
                    line: "podman:170010:61072".into()
                },
            ]
        );
        assert_eq!(
            minus(&[(0, 100)], &[(10, 20), (50, 200), (0, 1)]),
            vec![(1, 10), (20, 50)]
        );
        // Every id of the namespace is given to `builder`: shared.
        let found = run(&nested("builder:1:65535\n", "builder:1:65535\n").host());
        let acts = found
            .check("subid.entries")
            .unwrap()
            .fix
            .clone()
            .unwrap()
            .actions;
        assert_eq!(
            acts[0],
            Action::AppendLine {
                path: SUBUID.into(),
                line: "podman:1:999".into()
            }
        );
    }

    #[test]
    fn readonly_or_missing_files_need_the_image() {
        let fx = nested("", "").access(SUBUID, Access::Write, "EACCES");
        let found = run(&fx.host());
        let c = found.check("subid.entries").unwrap();
        assert_eq!(c.status, Status::Error);
        assert_eq!(c.fix.as_ref().map(|f| f.by), Some(By::Image));
        assert!(c
            .fix
            .as_ref()
            .unwrap()
            .text
            .contains("usermod --add-subuids"));
    }

    #[test]
    fn malformed_lines() {
        // Another user's line with two fields: podman refuses the whole file.
        let found = run(&nested(
            "broken:1\npodman:1:999\npodman:1001:64535\n",
            "podman:1:999\npodman:1001:64535\n",
        )
        .host());
        assert_eq!(status_of(&found, "subid.files"), Some(Status::Error));
        assert!(found
            .check("subid.files")
            .unwrap()
            .summary
            .contains("line 1"));
        assert!(!found.subid.usable);
        // The user's own line with trailing whitespace.
        let found = run(&nested(
            "podman:1:999 \npodman:1001:64535\n",
            "podman:1:999\npodman:1001:64535\n",
        )
        .host());
        assert_eq!(status_of(&found, "subid.files"), Some(Status::Error));
        // Someone else's non-numeric line: a warning only.
        let found = run(&nested(
            "x:abc:1\npodman:1:999\npodman:1001:64535\n",
            "podman:1:999\npodman:1001:64535\n",
        )
        .host());
        assert_eq!(status_of(&found, "subid.files"), Some(Status::Warn));
        assert!(found.subid.usable);
    }

    #[test]
    fn overlaps_duplicates_and_own_id() {
        let dup = "podman:1:999\npodman:1:999\npodman:1001:64535\n";
        let good = "podman:1:999\npodman:1001:64535\n";
        let found = run(&nested(dup, good).host());
        let c = found.check("subid.overlap").unwrap();
        assert_eq!(c.status, Status::Error);
        assert_eq!(c.fix.as_ref().map(|f| f.by), Some(By::Image));
        let found = run(&nested("podman:1:65535\n", good).host());
        assert!(found
            .check("subid.overlap")
            .unwrap()
            .summary
            .contains("includes the user UID 1000"));
        assert!(!found.subid.usable);
    }

    #[test]
    fn ranges_outside_the_parent_namespace() {
        let lines = "podman:100000:65536\n";
        let found = run(&nested(lines, lines).host());
        let c = found.check("subid.parent_map").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c
            .fix
            .as_ref()
            .unwrap()
            .text
            .contains("podman:1:999, podman:1001:64535"));
        // On the host (initial namespace) the same lines fit.
        let fx = nested(lines, lines)
            .file("/proc/self/uid_map", "         0          0 4294967295\n")
            .file("/proc/self/gid_map", "         0          0 4294967295\n");
        let found = run(&fx.host());
        assert_eq!(status_of(&found, "subid.parent_map"), Some(Status::Ok));
        assert!(found.subid.usable);
    }

    #[test]
    fn small_ranges_block() {
        let lines = "podman:1:999\npodman:1001:1000\n";
        let found = run(&nested(lines, lines).host());
        assert_eq!(status_of(&found, "subid.size"), Some(Status::Error));
        assert_eq!(found.subid.total, 1999);
    }

    #[test]
    fn root_without_sys_admin_ignores_the_files() {
        let fx = nested("", "").uid(0).gid(0);
        let found = run(&fx.host());
        assert!(found.plan.rootless);
        let c = found.check("subid.entries").unwrap();
        assert_eq!(c.status, Status::Info);
        assert!(c.summary.contains("copies /proc/self/uid_map"));
        assert!(found.check("subid.overlap").is_none());
    }

    #[test]
    fn openshift_uid_uses_the_name_the_passwd_fix_adds() {
        let fx = Fixture::new()
            .uid(1000680000)
            .gid(0)
            .env("HOME", "/")
            .file("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
            .file("/proc/self/status", &status(0))
            .file("/proc/self/uid_map", "         0  833617920      65536\n")
            .file("/proc/self/gid_map", "         0  833617920      65536\n")
            .file(SUBUID, "")
            .file(SUBGID, "")
            .dir("/tmp");
        let found = run(&fx.host());
        let acts = found
            .check("subid.entries")
            .unwrap()
            .fix
            .clone()
            .unwrap()
            .actions;
        // The uid is outside the namespace's ids here: nothing to skip.
        assert_eq!(
            acts[0],
            Action::AppendLine {
                path: SUBUID.into(),
                line: "podman:1:65535".into()
            }
        );
        // gid 0 is never handed out.
        assert_eq!(
            acts[1],
            Action::AppendLine {
                path: SUBGID.into(),
                line: "podman:1:65535".into()
            }
        );
    }

    #[test]
    fn numeric_name_doubles_the_ranges() {
        let fx = nested(
            "1000:1:999\n1000:1001:64535\n",
            "1000:1:999\n1000:1001:64535\n",
        )
        .file("/etc/passwd", "1000:*:1000:1000:container user:/:/bin/sh\n");
        let found = run(&fx.host());
        assert!(!found.subid.usable);
        assert!(found
            .check("subid.overlap")
            .unwrap()
            .summary
            .contains("twice"));
        assert_eq!(
            found.check("identity.user_env").unwrap().status,
            Status::Error
        );
        // With USER set to an alias of the uid, podman finds them once.
        let fx = nested(
            "1000:1:999\n1000:1001:64535\n",
            "1000:1:999\n1000:1001:64535\n",
        )
        .env("USER", "podman")
        .file(
            "/etc/passwd",
            "1000:*:1000:1000:container user:/:/bin/sh\npodman:x:1000:1000::/home/podman:/bin/sh\n",
        );
        let found = run(&fx.host());
        assert!(found.subid.usable);
    }
}
