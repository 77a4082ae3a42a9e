//! Area `tools`: the programs `podman build` needs, where they are and, for
//! the ones a decision depends on, their versions.
//!
//! Podman looks its helpers up in `PATH` and in its own helper directories
//! (`/usr/libexec/podman`, `/usr/lib/podman`, …), so both are searched.

use super::{AreaOut, Findings, Obs};
pub use crate::formats::version::Version;
use crate::host::Host;
use crate::model::{By, Check, Spec};
use serde_json::json;

/// Podman 5 or later, the line several defaults changed at (pasta, the
/// overlay+fuse choice, root reading the user's config). An unknown
/// version is taken as new: the image is most likely current.
pub fn podman5(version: Option<Version>) -> bool {
    version.is_none_or(|v| v.major >= 5)
}

/// Where each tool is (system paths), `None` when missing.
#[derive(Debug, Default, Clone)]
pub struct Facts {
    pub podman: Option<String>,
    pub podman_version: Option<Version>,
    pub buildah: Option<String>,
    pub conmon: Option<String>,
    pub crun: Option<String>,
    pub crun_version: Option<Version>,
    pub runc: Option<String>,
    pub runc_version: Option<Version>,
    pub fuse_overlayfs: Option<String>,
    pub newuidmap: Option<String>,
    pub newgidmap: Option<String>,
    pub pasta: Option<String>,
    pub slirp4netns: Option<String>,
    pub netavark: Option<String>,
    pub iptables: Option<String>,
    pub nft: Option<String>,
}

/// Podman's `helper_binaries_dir` default.
const HELPER_DIRS: &[&str] = &[
    "/usr/local/libexec/podman",
    "/usr/local/lib/podman",
    "/usr/libexec/podman",
    "/usr/lib/podman",
];

pub const SPECS: &[Spec] = &[
    Spec {
        id: "tools.podman",
        title: "podman is installed",
        explain:
            "podrun-doctor prepares the job for `podman build`; without podman in PATH there is \
nothing to run. Fix in the image: install podman (Debian/Ubuntu `apt-get install podman`, Fedora \
`dnf install podman`, or base the job on quay.io/podman/stable).",
        signatures: &["podman: command not found", "podman: not found"],
    },
    Spec {
        id: "tools.conmon",
        title: "conmon is installed",
        explain: "Podman refuses to create its runtime without conmon, even for `podman build`. \
Fix in the image: install conmon (a dependency of the podman package on every distribution).",
        signatures: &["could not find a working conmon binary"],
    },
    Spec {
        id: "tools.runtime",
        title: "an OCI runtime (crun or runc) is installed",
        explain: "Every RUN step of a build runs in an OCI runtime. Podman prefers crun and falls \
back to runc. Fix in the image: install crun (or runc).",
        signatures: &[
            "default OCI runtime \"crun\" not found",
            "no valid executable found for OCI runtime",
        ],
    },
    Spec {
        id: "tools.helpers",
        title: "helper programs podman may need",
        explain:
            "Lists the helpers found: fuse-overlayfs (storage), newuidmap/newgidmap (rootless \
ID mapping), pasta/slirp4netns (rootless networking), netavark with iptables/nft (rootful bridge \
networking). Whether a missing one matters is judged by the storage, idmap and network checks.",
        signatures: &[],
    },
];

fn find(host: &Host, name: &str) -> Option<String> {
    host.which(name).or_else(|| {
        HELPER_DIRS.iter().find_map(|d| {
            let p = format!("{d}/{name}");
            match host.stat(&p) {
                Ok(s) if s.mode & 0o111 != 0 => Some(p),
                _ => None,
            }
        })
    })
}

/// Variables naming the user's directories, which podman checks at start.
const PATH_VARS: &[&str] = &[
    "HOME",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
];

/// Runs a podman command as the job would after the fixes, except that in
/// a dry run (`check`, `--dry-run`) the variables naming files or
/// directories this tool only staged are left out: podman would fail on
/// the missing path (podman 5 even for `--version`), and its version does
/// not depend on them.
pub fn run_podman(host: &Host, argv: &[&str]) -> std::io::Result<crate::host::CmdOutput> {
    let staged: Vec<&str> = [
        "CONTAINERS_CONF",
        "CONTAINERS_CONF_OVERRIDE",
        "CONTAINERS_STORAGE_CONF",
    ]
    .into_iter()
    .chain(PATH_VARS.iter().copied())
    .filter(|k| host.env_nonempty(k).is_some_and(|p| host.is_staged(p)))
    .collect();
    host.run_without(argv, &staged)
}

pub fn version_of(host: &Host, path: &str) -> (Option<Version>, Option<String>) {
    // Learnt from a package database or the binary's build information
    // where possible, else by running `path --version` in a private scratch
    // environment (crate::host::version); the source is kept in the line as
    // evidence. A version, once read, holds for the whole run.
    let mut failed = None;
    let known = host.remember(&format!("version {path}"), || {
        match host.tool_version(path) {
            Ok(l) if Version::parse(&l.line).is_some() => {
                Some(format!("{} ({})", l.line, l.source))
            }
            Ok(l) => failed.replace(l.line).and(None),
            Err(why) => failed.replace(why).and(None),
        }
    });
    match known {
        Some(line) => (Version::parse(&line), Some(line)),
        None => (None, failed),
    }
}

pub fn probe(host: &Host, earlier: &Findings) -> AreaOut<Facts> {
    let found = &mut Obs::new(earlier);
    let mut f = Facts {
        podman: find(host, "podman"),
        buildah: find(host, "buildah"),
        conmon: find(host, "conmon"),
        crun: find(host, "crun"),
        runc: find(host, "runc"),
        fuse_overlayfs: find(host, "fuse-overlayfs"),
        newuidmap: find(host, "newuidmap"),
        newgidmap: find(host, "newgidmap"),
        pasta: find(host, "pasta"),
        slirp4netns: find(host, "slirp4netns"),
        netavark: find(host, "netavark"),
        iptables: find(host, "iptables"),
        nft: find(host, "nft"),
        ..Facts::default()
    };
    podman_check(host, found, &mut f);
    if let Some(p) = f.crun.clone() {
        f.crun_version = version_of(host, &p).0;
    }
    if let Some(p) = f.runc.clone() {
        f.runc_version = version_of(host, &p).0;
    }
    // conmon and the runtime matter only to a podman that is there.
    if f.podman.is_some() {
        found.checks.push(conmon_check(&f));
        found.checks.push(runtime_check(&f));
    }
    found.checks.push(helpers_check(&f));
    found.finish(f)
}

/// `tools.podman`: where podman is and its version (also the report's
/// context).
fn podman_check(host: &Host, found: &mut Obs, f: &mut Facts) {
    let Some(path) = f.podman.clone() else {
        found.report_context.insert("podman".into(), json!(null));
        found.checks.push(
            Check::error("tools.podman", "podman is not installed (not in PATH)")
                .with("PATH", host.env("PATH").unwrap_or(""))
                .fix(
                    By::Image,
                    "Install podman in the job image (Debian/Ubuntu: `apt-get install -y podman \
                     fuse-overlayfs uidmap`; Fedora: `dnf install -y podman fuse-overlayfs`), or use \
                     quay.io/podman/stable as the job image.",
                ),
        );
        return;
    };
    let (v, line) = version_of(host, &path);
    f.podman_version = v;
    found
        .report_context
        .insert("podman_path".into(), json!(path.clone()));
    found.report_context.insert(
        "podman".into(),
        v.map(|v| json!(v.to_string())).unwrap_or(json!(null)),
    );
    let check = match v {
        Some(v) => Check::ok("tools.podman", format!("podman {v} at {path}")),
        None => Check::warn(
            "tools.podman",
            format!("podman at {path}, but `podman --version` gave no version"),
        ),
    };
    found.checks.push(
        check
            .with("path", path.clone())
            .with("version_output", line.unwrap_or_default()),
    );
}

/// `tools.conmon`: podman will not start its runtime without it.
fn conmon_check(f: &Facts) -> Check {
    match &f.conmon {
        Some(p) => Check::ok("tools.conmon", format!("conmon at {p}")).with("path", p.clone()),
        None => Check::error(
            "tools.conmon",
            "conmon is not installed: podman will not start its runtime",
        )
        .fix(
            By::Image,
            "Install conmon in the job image (`apt-get install -y conmon` / `dnf install -y conmon`).",
        ),
    }
}

/// `tools.runtime`: crun or runc, with the versions read.
fn runtime_check(f: &Facts) -> Check {
    let runtime = match (&f.crun, &f.runc) {
        (None, None) => Check::error(
            "tools.runtime",
            "neither crun nor runc is installed: no RUN step can run",
        )
        .fix(
            By::Image,
            "Install crun in the job image (`apt-get install -y crun` / `dnf install -y crun`).",
        ),
        _ => Check::ok(
            "tools.runtime",
            [
                ("crun", &f.crun, f.crun_version),
                ("runc", &f.runc, f.runc_version),
            ]
            .iter()
            .filter_map(|(n, p, v)| {
                p.as_ref().map(|p| match v {
                    Some(v) => format!("{n} {v} at {p}"),
                    None => format!("{n} at {p}"),
                })
            })
            .collect::<Vec<_>>()
            .join(", "),
        ),
    };
    runtime
        .with("crun", json!(f.crun))
        .with("runc", json!(f.runc))
}

/// `tools.helpers`: which helpers are there (other areas judge them).
fn helpers_check(f: &Facts) -> Check {
    let helpers = [
        ("fuse-overlayfs", &f.fuse_overlayfs),
        ("newuidmap", &f.newuidmap),
        ("newgidmap", &f.newgidmap),
        ("pasta", &f.pasta),
        ("slirp4netns", &f.slirp4netns),
        ("netavark", &f.netavark),
        ("iptables", &f.iptables),
        ("nft", &f.nft),
    ];
    let missing: Vec<&str> = helpers
        .iter()
        .filter(|(_, p)| p.is_none())
        .map(|(n, _)| *n)
        .collect();
    let mut check = Check::info(
        "tools.helpers",
        if missing.is_empty() {
            "all helpers found".to_string()
        } else {
            format!("not installed: {}", missing.join(", "))
        },
    );
    for (name, path) in helpers {
        check = check.with(name, json!(path));
    }
    check
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{By, Status};
    use crate::probes::testutil::Fixture;

    #[test]
    fn versions_parse_from_real_output() {
        assert_eq!(
            Version::parse("podman version 4.3.1\n"),
            Some(Version::new(4, 3, 1))
        );
        assert_eq!(
            Version::parse("crun version 1.8.1\ncommit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30\nrundir: /run/crun\nspec: 1.0.0\n+SYSTEMD +SELINUX\n"),
            Some(Version::new(1, 8, 1))
        );
        assert_eq!(
            Version::parse("runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\n"),
            Some(Version::new(1, 1, 5))
        );
        assert_eq!(
            Version::parse("podman version 5.4.2"),
            Some(Version::new(5, 4, 2))
        );
        assert_eq!(Version::parse("v1.2"), Some(Version::new(1, 2, 0)));
        assert_eq!(Version::parse("garbage"), None);
        assert_eq!(Version::parse(""), None);
        assert!(Version::new(4, 3, 1) < Version::new(5, 0, 0));
    }

    fn exe(fx: Fixture, path: &str) -> Fixture {
        fx.file(path, "").stat(path, "file", 0o755, 0, 0)
    }

    #[test]
    fn missing_podman_is_an_image_error() {
        let host = Fixture::new().env("PATH", "/usr/bin").host();
        let mut found = Findings::default();
        found.absorb(probe(&host, &found));
        let c = found.check("tools.podman").unwrap();
        assert_eq!(c.status, Status::Error);
        assert_eq!(c.fix.as_ref().unwrap().by, By::Image);
        assert_eq!(found.report_context["podman"], json!(null));
    }

    #[test]
    fn finds_tools_and_versions() {
        let fx = Fixture::new().env("PATH", "/usr/bin:/usr/sbin");
        let fx = exe(fx, "/usr/bin/podman");
        let fx = exe(fx, "/usr/bin/crun");
        let fx = exe(fx, "/usr/libexec/podman/conmon");
        let fx = exe(fx, "/usr/lib/podman/netavark");
        let host = fx
            .command("/usr/bin/podman --version", 0, "podman version 5.4.2\n", "")
            .command("/usr/bin/crun --version", 0, "crun version 1.21\n", "")
            .host();
        let mut found = Findings::default();
        found.absorb(probe(&host, &found));
        assert_eq!(found.tools.podman_version, Some(Version::new(5, 4, 2)));
        assert_eq!(found.tools.crun_version, Some(Version::new(1, 21, 0)));
        assert_eq!(
            found.tools.conmon.as_deref(),
            Some("/usr/libexec/podman/conmon")
        );
        assert_eq!(
            found.tools.netavark.as_deref(),
            Some("/usr/lib/podman/netavark")
        );
        assert_eq!(found.report_context["podman"], json!("5.4.2"));
        assert_eq!(found.check("tools.podman").unwrap().status, Status::Ok);
        assert_eq!(found.check("tools.runtime").unwrap().status, Status::Ok);
        assert_eq!(found.check("tools.conmon").unwrap().status, Status::Ok);
        assert!(found
            .check("tools.helpers")
            .unwrap()
            .summary
            .contains("fuse-overlayfs"));
    }

    #[test]
    fn no_runtime_and_no_conmon_are_errors() {
        let fx = Fixture::new().env("PATH", "/usr/bin");
        let host = exe(fx, "/usr/bin/podman")
            .command("/usr/bin/podman --version", 0, "podman version 4.3.1\n", "")
            .host();
        let mut found = Findings::default();
        found.absorb(probe(&host, &found));
        assert_eq!(found.check("tools.runtime").unwrap().status, Status::Error);
        assert_eq!(found.check("tools.conmon").unwrap().status, Status::Error);
    }
}
