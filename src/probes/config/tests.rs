use super::files::ETC_REGISTRIES;
use super::limits::LIMITS;
use super::*;
use crate::formats::toml;
use crate::host::Access;
use crate::model::{Action, By, Check};
use crate::model::{Status, OWNED_MARKER};
use crate::probes::paths::job_dir;
use crate::probes::paths::Paths;
use crate::probes::testutil::Fixture;
use crate::probes::tools::Version;
use serde_json::json;
use std::collections::BTreeMap;

/// Where a drop-in goes for this podman, with the paths as derived.
fn dropin_path(host: &Host, podman: Option<Version>, name: &str) -> Option<String> {
    let paths = Paths::derive(host);
    let settings = BTreeMap::new();
    let t = conf_target(host, podman, &paths, false, &settings);
    crate::remedy::conf::dropin_path(host, &t, name)
}

fn with_podman(host: &Host, v: Version) -> Findings {
    let mut found = crate::probes::testutil::with_paths(host);
    found.tools.podman_version = Some(v);
    found.tools.crun = Some("/usr/bin/crun".into());
    // The areas config reads: capabilities and podman's mode.
    found.absorb(crate::probes::caps::probe(host, &found));
    found.absorb(crate::probes::identity::probe(host, &found));
    found.absorb(probe(host, &found));
    found
}

const LIMITS_1024: &str =
    "Limit                     Soft Limit           Hard Limit           Units     \n\
Max processes             1024                 1024                 processes \n\
Max open files            1024                 1024                 files     \n";

#[test]
fn real_debian_containers_conf_parses() {
    let Ok(text) = std::fs::read_to_string(SHARE_CONF) else {
        return;
    };
    let host = Fixture::new()
        .uid(1000)
        .env("HOME", "/home/podman")
        .file(SHARE_CONF, &text)
        .host();
    let found = with_podman(&host, Version::new(4, 3, 1));
    assert!(found.config.parse_errors.is_empty());
    assert_eq!(
        found.config.get("containers.default_sysctls").unwrap().file,
        SHARE_CONF
    );
}

#[test]
fn resolution_order_and_env_overrides() {
    let fx = Fixture::new()
        .uid(1000)
        .env("HOME", "/home/podman")
        .env("XDG_CONFIG_HOME", "/cfg")
        .file(
            SHARE_CONF,
            "[engine]\nevents_logger = \"journald\"\nruntime = \"crun\"\n",
        )
        .file(ETC_CONF, "[engine]\nevents_logger = \"file\"\n")
        .file(
            "/etc/containers/containers.conf.d/10-a.conf",
            "[engine]\ncgroup_manager = \"systemd\"\n",
        )
        .file(
            "/etc/containers/containers.conf.d/20-b.conf",
            "[engine]\ncgroup_manager = \"cgroupfs\"\n",
        )
        .file("/etc/containers/containers.conf.d/ignored.txt", "garbage")
        .file(
            "/cfg/containers/containers.conf",
            "[containers]\nnetns = \"host\"\n",
        )
        .file(
            "/cfg/containers/containers.conf.d/x.conf",
            "[containers]\nnetns = \"private\"\n",
        )
        .file(
            "/home/podman/.config/containers/containers.conf",
            "this is ignored = because XDG_CONFIG_HOME wins",
        );
    let host = fx.host();
    let found = with_podman(&host, Version::new(4, 3, 1));
    let c = &found.config;
    assert!(c.parse_errors.is_empty(), "{:?}", c.parse_errors);
    assert_eq!(c.events_logger, "file");
    assert_eq!(c.get("engine.events_logger").unwrap().file, ETC_CONF);
    assert_eq!(c.cgroup_manager, "cgroupfs");
    assert_eq!(c.netns.as_deref(), Some("private"));
    assert_eq!(c.files.len(), 6);
    assert!(found.plan.rootless);

    // CONTAINERS_CONF replaces all; OVERRIDE comes last.
    let host = Fixture::new()
        .uid(1000)
        .env("HOME", "/home/podman")
        .env("CONTAINERS_CONF", "/only.conf")
        .env("CONTAINERS_CONF_OVERRIDE", "/over.conf")
        .file(ETC_CONF, "[engine]\ncgroup_manager = \"systemd\"\n")
        .file(
            "/only.conf",
            "[engine]\ncgroup_manager = \"systemd\"\nevents_logger = \"journald\"\n",
        )
        .file("/over.conf", "[engine]\nevents_logger = \"file\"\n")
        .host();
    let found = with_podman(&host, Version::new(5, 4, 2));
    assert_eq!(found.config.files, vec!["/only.conf", "/over.conf"]);
    assert_eq!(found.config.events_logger, "file");
    // systemd without systemd, rootless: warn; no drop-in possible.
    let cm = found.check("config.cgroup_manager").unwrap();
    assert_eq!(cm.status, Status::Warn);
    assert_eq!(cm.fix.as_ref().unwrap().by, By::Image);
    assert!(cm.fix.as_ref().unwrap().text.contains("CONTAINERS_CONF"));
}

#[test]
fn root_reads_user_config_only_with_podman_5() {
    let fx = || {
        Fixture::new()
            .env("HOME", "/root")
            .file(
                "/root/.config/containers/containers.conf",
                "[engine]\nevents_logger = \"none\"\n",
            )
            .dir("/etc/containers/containers.conf.d")
    };
    let host = fx().host();
    let found = with_podman(&host, Version::new(4, 3, 1));
    assert_eq!(found.config.events_logger, "file");
    assert_eq!(
        dropin_path(&host, Some(Version::new(4, 3, 1)), "x").as_deref(),
        Some("/etc/containers/containers.conf.d/podrun-x.conf")
    );
    let host = fx().host();
    let found = with_podman(&host, Version::new(5, 4, 2));
    assert_eq!(found.config.events_logger, "none");
    assert_eq!(
        dropin_path(&host, Some(Version::new(5, 4, 2)), "x").as_deref(),
        Some("/root/.config/containers/containers.conf.d/podrun-x.conf")
    );
}

#[test]
fn dropin_path_rootless_and_unwritable() {
    let host = Fixture::new()
        .uid(1000)
        .env("HOME", "/home/podman")
        .dir("/home/podman")
        .host();
    assert_eq!(
        dropin_path(&host, None, "cgroup-manager").as_deref(),
        Some("/home/podman/.config/containers/containers.conf.d/podrun-cgroup-manager.conf")
    );
    let host = Fixture::new()
        .uid(1000)
        .env("HOME", "/")
        .access("/", Access::Write, "EACCES")
        .host();
    assert_eq!(dropin_path(&host, None, "x"), None);
}

#[test]
fn garbage_conf_is_an_error_naming_file_and_line() {
    let host = Fixture::new()
        .uid(1000)
        .env("HOME", "/home/podman")
        .file(ETC_CONF, "[engine]\n\ncgroup_manager = cgroupfs\n")
        .file(ETC_STORAGE, "[storage\n")
        .host();
    let found = with_podman(&host, Version::new(5, 4, 2));
    let c = found.check("config.containers_conf").unwrap();
    assert_eq!(c.status, Status::Error);
    assert!(
        c.summary.contains("/etc/containers/containers.conf line 3"),
        "{}",
        c.summary
    );
    // Line and column, never the text: the file may be a link to a secret.
    assert!(c.summary.contains("line 3, column 18"), "{}", c.summary);
    assert!(!c.summary.contains("cgroupfs"), "{}", c.summary);
    assert!(!serde_json::to_string(&c.evidence)
        .unwrap()
        .contains("cgroupfs"));
    assert_eq!(c.evidence["column"], 18);
    assert_eq!(c.fix.as_ref().unwrap().by, By::Image);
    let s = found.check("config.storage_conf").unwrap();
    assert_eq!(s.status, Status::Error);
    assert!(s.summary.contains("line 1"));
}

#[test]
fn ping_group_range_on_a_read_only_proc_sys_is_dropped_by_a_dropin() {
    let fixture = || {
        Fixture::new()
            .uid(1000)
            .gid(1000)
            .env("HOME", "/home/podman")
            .dir("/home/podman")
            .stat("/home/podman", "dir", 0o755, 1000, 1000)
            .file(
                "/usr/share/containers/containers.conf",
                "[containers]\ndefault_sysctls = [\n  \"net.ipv4.ping_group_range=0 0\",\n]\n",
            )
    };
    let ro = fixture()
        .answer(
            "statfs",
            "/proc/sys/net",
            json!({"magic": "0x9fa0", "free_bytes": 0, "readonly": true}),
        )
        .host();
    let found = with_podman(&ro, Version::new(5, 4, 2));
    let c = found.check("config.sysctls").unwrap();
    assert_eq!(c.status, Status::Warn);
    assert!(
        c.summary
            .contains("/usr/share/containers/containers.conf:2"),
        "{}",
        c.summary
    );
    match &c.fix.as_ref().unwrap().actions[..] {
        [Action::WriteFile { path, contents, .. }, ..] => {
            assert_eq!(
                path,
                "/home/podman/.config/containers/containers.conf.d/podrun-sysctls.conf"
            );
            assert!(contents.contains("default_sysctls = []"));
        }
        other => panic!("{other:?}"),
    }
    // A writable /proc/sys (privileged) needs nothing.
    let rw = fixture()
        .answer(
            "statfs",
            "/proc/sys/net",
            json!({"magic": "0x9fa0", "free_bytes": 0, "readonly": false}),
        )
        .host();
    let c = with_podman(&rw, Version::new(5, 4, 2));
    assert_eq!(c.check("config.sysctls").unwrap().status, Status::Ok);
}

#[test]
fn rootful_systemd_manager_is_an_error_with_a_dropin() {
    let host = Fixture::new()
        .env("HOME", "/root")
        .file("/proc/self/status", "CapEff:\t000001ffffffffff\n")
        .file(
            ETC_CONF,
            "[engine]\ncgroup_manager = \"systemd\"\nevents_logger = \"journald\"\n",
        )
        .dir("/root")
        .host();
    let found = with_podman(&host, Version::new(4, 3, 1));
    assert!(!found.plan.rootless);
    let c = found.check("config.cgroup_manager").unwrap();
    assert_eq!(c.status, Status::Error);
    assert!(c.job_can_fix());
    match &c.fix.as_ref().unwrap().actions[0] {
        Action::WriteFile { path, contents, .. } => {
            assert_eq!(
                path,
                "/etc/containers/containers.conf.d/podrun-cgroup-manager.conf"
            );
            assert!(contents.starts_with(OWNED_MARKER));
            assert!(contents.contains("cgroup_manager = \"cgroupfs\""));
            assert!(toml::parse(contents).is_ok());
        }
        other => panic!("{other:?}"),
    }
    let e = found.check("config.events_logger").unwrap();
    assert_eq!(e.status, Status::Warn);
    assert!(e.job_can_fix());
}

#[test]
fn ulimits_above_hard_limits() {
    // Configured nproc above the hard limit, rootless, no CAP_SYS_RESOURCE.
    let host = Fixture::new()
        .uid(1000)
        .env("HOME", "/home/podman")
        .dir("/home/podman")
        .file(LIMITS, LIMITS_1024)
        .file("/proc/self/status", "CapEff:\t0000000000000000\n")
        .file(
            ETC_CONF,
            "[containers]\ndefault_ulimits = [\n \"nproc=4194304:4194304\",\n \"core=0:0\",\n]\n",
        )
        .host();
    let found = with_podman(&host, Version::new(4, 3, 1));
    let c = found.check("config.ulimits").unwrap();
    assert_eq!(c.status, Status::Error, "{}", c.summary);
    let Action::WriteFile { contents, .. } = &c.fix.as_ref().unwrap().actions[0] else {
        panic!()
    };
    let doc = toml::parse(contents).unwrap();
    let v = doc
        .get("containers.default_ulimits")
        .unwrap()
        .value
        .as_str_array()
        .unwrap();
    assert_eq!(v, vec!["core=0:0", "nofile=1024:1024", "nproc=1024:1024"]);

    // Rootful podman 5 with the implicit 1048576 and no SYS_RESOURCE
    // (observed: `setrlimit RLIMIT_NOFILE: Operation not permitted`).
    let host = Fixture::new()
        .env("HOME", "/root")
        .dir("/root")
        .file(LIMITS, LIMITS_1024)
        .file("/proc/self/status", "CapEff:\t000001fffeffffff\n")
        .host();
    let found = with_podman(&host, Version::new(5, 4, 2));
    assert!(!found.plan.rootless);
    let c = found.check("config.ulimits").unwrap();
    assert_eq!(c.status, Status::Error);
    assert!(c.job_can_fix());
    // Same with podman 4.3: observed to work.
    let host = Fixture::new()
        .env("HOME", "/root")
        .file(LIMITS, LIMITS_1024)
        .file("/proc/self/status", "CapEff:\t000001fffeffffff\n")
        .host();
    let found = with_podman(&host, Version::new(4, 3, 1));
    assert_eq!(found.check("config.ulimits").unwrap().status, Status::Ok);
}

#[test]
fn runtime_missing_switches_to_the_installed_one() {
    let host = Fixture::new()
        .uid(1000)
        .env("HOME", "/home/podman")
        .dir("/home/podman")
        .file(ETC_CONF, "[engine]\nruntime = \"crun\"\n")
        .host();
    let mut found = crate::probes::testutil::with_paths(&host);
    found.tools.runc = Some("/usr/sbin/runc".into());
    found.absorb(probe(&host, &found));
    let c = found.check("config.runtime").unwrap();
    assert_eq!(c.status, Status::Error);
    assert!(c.job_can_fix());
    assert_eq!(found.plan.runtime, "runc");
    // Default with only runc installed: runc, fine.
    let host = Fixture::new().uid(1000).env("HOME", "/h").host();
    let mut found = crate::probes::testutil::with_paths(&host);
    found.tools.runc = Some("/usr/sbin/runc".into());
    found.absorb(probe(&host, &found));
    assert_eq!(found.check("config.runtime").unwrap().status, Status::Ok);
    assert_eq!(found.plan.runtime, "runc");
}

#[test]
fn a_runtime_listed_in_an_inline_table_is_found() {
    // Issue 11: the inline table was kept as raw text, so its path was
    // never seen: a false blocking "OCI runtime myrt is not installed".
    let host = Fixture::new()
        .uid(1000)
        .env("HOME", "/home/podman")
        .dir("/home/podman")
        .file(
            ETC_CONF,
            "[engine]\nruntime = \"myrt\"\nruntimes = { myrt = [\"/usr/bin/myrt\"] }\n",
        )
        .file("/usr/bin/myrt", "")
        .host();
    let mut found = crate::probes::testutil::with_paths(&host);
    found.tools.runc = Some("/usr/sbin/runc".into());
    found.absorb(probe(&host, &found));
    let c = found.check("config.runtime").unwrap();
    assert_eq!(c.status, Status::Ok, "{c:?}");
    assert_eq!(found.plan.runtime, "myrt");
}

#[test]
fn storage_conf_resolution() {
    // Rootless without a user file: the system file's driver survives,
    // its mount_program and graphroot do not.
    let sys = "[storage]\ndriver = \"overlay\"\ngraphroot = \"/var/lib/containers/storage\"\n\
               [storage.options.overlay]\nmount_program = \"/usr/bin/fuse-overlayfs\"\n";
    let host = Fixture::new()
        .uid(1000)
        .env("HOME", "/home/podman")
        .file(ETC_STORAGE, sys)
        .host();
    let found = with_podman(&host, Version::new(5, 4, 2));
    let s = &found.config.storage;
    assert_eq!(s.file.as_deref(), Some(ETC_STORAGE));
    assert_eq!(s.driver.as_deref(), Some("overlay"));
    assert_eq!(s.mount_program, None);
    assert_eq!(s.graphroot, None);
    // Root: everything from the system file.
    let host = Fixture::new().file(ETC_STORAGE, sys).host();
    let found = with_podman(&host, Version::new(5, 4, 2));
    assert_eq!(
        found.config.storage.mount_program.as_deref(),
        Some("/usr/bin/fuse-overlayfs")
    );
    // The user's file wins, STORAGE_DRIVER wins over it.
    let host = Fixture::new()
        .uid(1000)
        .env("HOME", "/home/podman")
        .env("STORAGE_DRIVER", "vfs")
        .file(ETC_STORAGE, sys)
        .file(
            "/home/podman/.config/containers/storage.conf",
            "[storage]\ndriver = \"overlay\"\n[storage.options]\nmount_program = \"/x\"\n",
        )
        .host();
    let found = with_podman(&host, Version::new(5, 4, 2));
    let s = &found.config.storage;
    assert!(s.user_file);
    assert_eq!(s.driver.as_deref(), Some("vfs"));
    assert!(s.driver_from_env);
    assert_eq!(s.mount_program.as_deref(), Some("/x"));
    // CONTAINERS_STORAGE_CONF.
    let host = Fixture::new()
        .uid(1000)
        .env("HOME", "/home/podman")
        .env("CONTAINERS_STORAGE_CONF", "/s.conf")
        .file("/s.conf", "[storage]\ndriver = \"vfs\"\n")
        .host();
    let found = with_podman(&host, Version::new(5, 4, 2));
    assert!(found.config.storage.from_env);
    assert_eq!(found.config.storage.driver.as_deref(), Some("vfs"));
}

/// Root with read-only /etc and HOME, writable /tmp (podman --read-only:
/// tmpfs on /tmp, /var/tmp and /run), as in the deb12-root-priv-readonly
/// scenario.
fn readonly_root() -> Fixture {
    Fixture::new()
        .env("HOME", "/root")
        .file("/proc/self/status", "CapEff:\t000001ffffffffff\n")
        .file(
            SHARE_CONF,
            "[containers]\ndefault_sysctls = [\n  \"net.ipv4.ping_group_range=0 0\",\n]\n",
        )
        .file(
            ETC_CONF,
            "[engine]\ncgroup_manager = \"systemd\"\n[engine.runtimes]\nrunc = [\"/usr/sbin/runc\"]\n",
        )
        .dir("/root")
        .dir("/tmp")
        .access("/etc/containers", Access::Write, "EROFS")
        .access("/root", Access::Write, "EROFS")
}

fn job_fix_actions(c: &Check) -> &[Action] {
    let fix = c.fix.as_ref().expect("a fix");
    assert_eq!(fix.by, By::Job, "{}", fix.text);
    &fix.actions
}

#[test]
fn readonly_etc_podman4_exports_containers_conf_with_the_whole_chain() {
    let host = readonly_root().host();
    assert_eq!(dropin_path(&host, Some(Version::new(4, 3, 1)), "x"), None);
    assert_eq!(job_dir(&host).as_deref(), Some("/tmp/podrun-0"));
    let found = with_podman(&host, Version::new(4, 3, 1));
    let c = found.check("config.cgroup_manager").unwrap();
    assert_eq!(c.status, Status::Error);
    let actions = job_fix_actions(c);
    let Action::MergeConf { path, toml: body } = &actions[0] else {
        panic!("{actions:?}")
    };
    assert_eq!(path, "/tmp/podrun-0/containers.conf");
    assert_eq!(
        actions[1],
        Action::SetEnv {
            key: "CONTAINERS_CONF".into(),
            value: "/tmp/podrun-0/containers.conf".into()
        }
    );
    // CONTAINERS_CONF replaces every other file: the copy keeps them.
    let doc = toml::parse(body).unwrap();
    assert_eq!(doc.str("engine.cgroup_manager"), Some("cgroupfs"));
    assert_eq!(
        doc.get("containers.default_sysctls")
            .unwrap()
            .value
            .as_str_array(),
        Some(vec!["net.ipv4.ping_group_range=0 0".to_string()])
    );
    assert_eq!(
        doc.get("engine.runtimes.runc")
            .unwrap()
            .value
            .as_str_array(),
        Some(vec!["/usr/sbin/runc".to_string()])
    );
    assert!(c
        .fix
        .as_ref()
        .unwrap()
        .text
        .contains("CONTAINERS_CONF=/tmp/podrun-0"));
}

#[test]
fn readonly_etc_podman5_exports_an_override_and_4_3_ignores_one() {
    let host = readonly_root().host();
    let found = with_podman(&host, Version::new(5, 4, 2));
    let actions = job_fix_actions(found.check("config.cgroup_manager").unwrap());
    assert_eq!(
        actions,
        &[
            Action::MergeConf {
                path: "/tmp/podrun-0/containers-override.conf".into(),
                toml: "[engine]\ncgroup_manager = \"cgroupfs\"\n".into()
            },
            Action::SetEnv {
                key: "CONTAINERS_CONF_OVERRIDE".into(),
                value: "/tmp/podrun-0/containers-override.conf".into()
            }
        ]
    );
    // Once exported, podman 5 reads it last; podman 4.3 does not read it
    // at all (verified: `podman info` keeps crun under an override
    // naming runc).
    let over = "/tmp/podrun-0/containers-override.conf";
    let body = format!("{OWNED_MARKER}\n[engine]\ncgroup_manager = \"cgroupfs\"\n");
    let host = readonly_root()
        .env("CONTAINERS_CONF_OVERRIDE", over)
        .file(over, &body)
        .host();
    let found = with_podman(&host, Version::new(5, 4, 2));
    assert_eq!(found.config.cgroup_manager, "cgroupfs");
    assert_eq!(
        found.check("config.cgroup_manager").unwrap().status,
        Status::Ok
    );
    let found = with_podman(&host, Version::new(4, 3, 1));
    assert_eq!(found.config.cgroup_manager, "systemd");
    assert!(!found.config.files.contains(&over.to_string()));
}

#[test]
fn a_foreign_containers_conf_variable_is_not_taken_over() {
    // CONTAINERS_CONF names someone else's file: only the image can fix.
    let host = readonly_root()
        .env("CONTAINERS_CONF", "/etc/containers/containers.conf")
        .host();
    let found = with_podman(&host, Version::new(5, 4, 2));
    let c = found.check("config.cgroup_manager").unwrap();
    assert_eq!(c.status, Status::Error);
    assert_eq!(c.fix.as_ref().unwrap().by, By::Image);
    // Same for an override that is not ours, and when /tmp is read-only too.
    let host = readonly_root()
        .env(
            "CONTAINERS_CONF_OVERRIDE",
            "/etc/containers/containers.conf",
        )
        .host();
    let found = with_podman(&host, Version::new(5, 4, 2));
    assert_eq!(
        found
            .check("config.cgroup_manager")
            .unwrap()
            .fix
            .as_ref()
            .unwrap()
            .by,
        By::Image
    );
    let host = readonly_root()
        .access("/tmp", Access::Write, "EROFS")
        .host();
    assert_eq!(job_dir(&host), None);
    let found = with_podman(&host, Version::new(5, 4, 2));
    let fix = found
        .check("config.cgroup_manager")
        .unwrap()
        .fix
        .clone()
        .unwrap();
    assert_eq!(fix.by, By::Image);
    assert!(fix
        .text
        .contains("/etc/containers/containers.conf.d/cgroup-manager.conf"));
}

#[test]
fn job_dir_prefers_a_writable_builds_dir() {
    let host = Fixture::new()
        .uid(1000)
        .env("CI_BUILDS_DIR", "/builds")
        .dir("/builds")
        .dir("/tmp")
        .host();
    assert_eq!(job_dir(&host).as_deref(), Some("/builds/.podrun-1000"));
    let host = Fixture::new()
        .uid(1000)
        .env("CI_BUILDS_DIR", "/builds")
        .env("TMPDIR", "/scratch/")
        .dir("/builds")
        .dir("/scratch")
        .access("/builds", Access::Write, "EROFS")
        .host();
    assert_eq!(job_dir(&host).as_deref(), Some("/scratch/podrun-1000"));
    // An existing base of another user is not used.
    let host = Fixture::new()
        .uid(1000)
        .dir("/tmp/podrun-1000")
        .stat("/tmp/podrun-1000", "dir", 0o700, 0, 0)
        .host();
    assert_eq!(job_dir(&host), None);
}

fn hybrid(found: &mut Findings) {
    found.cgroups.crun_refuses = true;
    found.cgroups.hybrid_crun_refuses = true;
}

#[test]
fn hybrid_cgroups_switch_crun_to_runc_when_installed() {
    // Observed on this project's host (podman 4.3.1, crun 1.8.1, hybrid
    // with hugetlb on v2): `podman build --runtime crun` fails with
    // `cgroups in hybrid mode not supported`; after `podrun-doctor env`
    // wrote this drop-in, the same build with a RUN step succeeded.
    let host = Fixture::new()
        .env("HOME", "/root")
        .file("/proc/self/status", "CapEff:\t000001ffffffffff\n")
        .dir("/etc/containers")
        .host();
    let mut found = crate::probes::testutil::with_paths(&host);
    found.tools.podman_version = Some(Version::new(4, 3, 1));
    found.tools.crun = Some("/usr/bin/crun".into());
    found.tools.runc = Some("/usr/sbin/runc".into());
    hybrid(&mut found);
    found.absorb(probe(&host, &found));
    let c = found.check("config.runtime").unwrap();
    assert_eq!(c.status, Status::Error);
    assert!(c.summary.contains("cgroups in hybrid mode not supported"));
    let actions = job_fix_actions(c);
    let Action::WriteFile { path, contents, .. } = &actions[0] else {
        panic!("{actions:?}")
    };
    assert_eq!(
        path,
        "/etc/containers/containers.conf.d/podrun-runtime.conf"
    );
    assert!(contents.contains("runtime = \"runc\""));
    assert_eq!(found.plan.runtime, "runc");

    // Once the drop-in is there: runc, fine.
    let host = Fixture::new()
        .env("HOME", "/root")
        .file("/proc/self/status", "CapEff:\t000001ffffffffff\n")
        .file(path, contents)
        .host();
    let mut found = crate::probes::testutil::with_paths(&host);
    found.tools.podman_version = Some(Version::new(4, 3, 1));
    found.tools.crun = Some("/usr/bin/crun".into());
    found.tools.runc = Some("/usr/sbin/runc".into());
    hybrid(&mut found);
    found.absorb(probe(&host, &found));
    assert_eq!(found.check("config.runtime").unwrap().status, Status::Ok);
    assert_eq!(found.plan.runtime, "runc");
}

#[test]
fn hybrid_cgroups_without_runc_use_chroot_and_chroot_needs_nothing() {
    let host = Fixture::new()
        .uid(1000)
        .env("HOME", "/home/podman")
        .dir("/home/podman")
        .host();
    let mut found = crate::probes::testutil::with_paths(&host);
    found.tools.crun = Some("/usr/bin/crun".into());
    hybrid(&mut found);
    found.absorb(probe(&host, &found));
    let c = found.check("config.runtime").unwrap();
    assert_eq!(c.status, Status::Error);
    assert_eq!(
        job_fix_actions(c),
        &[Action::SetEnv {
            key: "BUILDAH_ISOLATION".into(),
            value: "chroot".into()
        }]
    );
    let mut found = crate::probes::testutil::with_paths(&host);
    found.tools.crun = Some("/usr/bin/crun".into());
    hybrid(&mut found);
    crate::probes::testutil::given_isolation(&mut found, "chroot");
    found.absorb(probe(&host, &found));
    assert_eq!(found.check("config.runtime").unwrap().status, Status::Ok);
    // Not hybrid: crun is fine.
    let mut found = crate::probes::testutil::with_paths(&host);
    found.tools.crun = Some("/usr/bin/crun".into());
    found.absorb(probe(&host, &found));
    assert_eq!(found.check("config.runtime").unwrap().status, Status::Ok);
}

#[test]
fn default_capabilities_outside_the_bounding_set() {
    // Observed: deb12/deb13, outer `--cap-add=SYS_ADMIN --cap-drop=KILL,NET_BIND_SERVICE`
    // (CapBnd 00000000802401db), rootful chroot RUN: `error setting
    // capabilities for process: setting capabilities: operation not
    // permitted`; with this drop-in the same build succeeds.
    let host = Fixture::new()
        .env("HOME", "/root")
        .dir("/etc/containers")
        .host();
    let mut found = crate::probes::testutil::with_paths(&host);
    found.tools.podman_version = Some(Version::new(4, 3, 1));
    found.caps.known = true;
    found.caps.bounding = 0x0000_0000_8024_01db;
    found.caps.effective = 0x0000_0000_8024_01db;
    crate::probes::testutil::given_rootless(&mut found, false);
    // config computes rootless from CapEff through the caps facts.
    found.absorb(probe(&host, &found));
    assert!(!found.plan.rootless);
    let c = found.check("config.capabilities").unwrap();
    assert_eq!(c.status, Status::Error, "{}", c.summary);
    assert!(
        c.summary.contains("KILL, NET_BIND_SERVICE"),
        "{}",
        c.summary
    );
    let Action::WriteFile { path, contents, .. } = &job_fix_actions(c)[0] else {
        panic!()
    };
    assert!(path.ends_with("podrun-capabilities.conf"));
    let doc = toml::parse(contents).unwrap();
    let caps = doc
        .get("containers.default_capabilities")
        .unwrap()
        .value
        .as_str_array()
        .unwrap();
    assert_eq!(caps.len(), 9);
    assert!(!caps.iter().any(|c| c == "KILL" || c == "NET_BIND_SERVICE"));
    assert!(caps.iter().any(|c| c == "SYS_CHROOT"));

    // Configured list with CAP_ prefixes, all present: fine.
    let host = Fixture::new()
        .env("HOME", "/root")
        .file(
            ETC_CONF,
            "[containers]\ndefault_capabilities = [\"CAP_CHOWN\", \"setuid\"]\n",
        )
        .host();
    let mut found = crate::probes::testutil::with_paths(&host);
    found.caps.known = true;
    found.caps.bounding = 0x0000_0000_8024_01db;
    found.caps.effective = 0x0000_0000_8024_01db;
    found.absorb(probe(&host, &found));
    assert_eq!(
        found.check("config.capabilities").unwrap().status,
        Status::Ok
    );

    // Rootless: a new user namespace starts with a full bounding set
    // (verified: the RUN step's CapBnd shows KILL again).
    let host = Fixture::new().uid(1000).env("HOME", "/h").host();
    let mut found = crate::probes::testutil::with_paths(&host);
    found.caps.known = true;
    found.caps.bounding = 0x1db;
    found.absorb(probe(&host, &found));
    assert_eq!(
        found.check("config.capabilities").unwrap().status,
        Status::Ok
    );
}

#[test]
fn ulimit_and_limits_parsers() {
    assert_eq!(
        parse_ulimit("nofile=1024:2048"),
        Some(("nofile".into(), 1024, 2048))
    );
    assert_eq!(
        parse_ulimit("nproc=-1"),
        Some(("nproc".into(), u64::MAX, u64::MAX))
    );
    assert_eq!(parse_ulimit("garbage"), None);
    let real = "Limit                     Soft Limit           Hard Limit           Units     \n\
Max cpu time              unlimited            unlimited            seconds   \n\
Max processes             96364                96364                processes \n\
Max open files            1024                 20000                files     \n";
    assert_eq!(parse_hard_limits(real), (Some(20000), Some(96364)));
    assert_eq!(
        parse_hard_limits(
            "Max open files            unlimited            unlimited            files\n"
        ),
        (None, None)
    );
}

/// Rootless podman as the umask rows run it: uid 1000, HOME writable,
/// /tmp for the job's own files, limits as given.
fn umask_rootless(limits: &str) -> Fixture {
    Fixture::new()
        .uid(1000)
        .gid(1000)
        .env("HOME", "/home/podman")
        .dir("/home/podman")
        .stat("/home/podman", "dir", 0o755, 1000, 1000)
        .dir("/tmp")
        .stat("/tmp", "dir", 0o1777, 0, 0)
        .file(LIMITS, limits)
        .file(ETC_CONF, "[containers]\nlog_driver = \"k8s-file\"\n")
        .file(ETC_STORAGE, "[storage]\ndriver = \"overlay\"\n")
        .file(ETC_POLICY, DEFAULT_POLICY)
        .file(ETC_REGISTRIES, "")
}

fn umask_found(host: &Host, v: Version) -> Findings {
    let mut found = crate::probes::testutil::with_paths(host);
    found.tools.podman_version = Some(v);
    found.tools.crun = Some("/usr/bin/crun".into());
    found.absorb(crate::probes::caps::probe(host, &found));
    found.absorb(crate::probes::identity::probe(host, &found));
    found.absorb(crate::probes::limits::probe(host, &found));
    found.absorb(probe(host, &found));
    found
}

const LIMITS_SOFT_1024: &str =
    "Limit                     Soft Limit           Hard Limit           Units     \n\
Max processes             32768                32768                processes \n\
Max open files            1024                 20000                files     \n";

#[test]
fn unreadable_containers_conf_exports_a_readable_copy_on_4_3_and_5_4() {
    for v in [Version::new(4, 3, 1), Version::new(5, 4, 2)] {
        let host = umask_rootless(LIMITS_1024)
            .file(SHARE_CONF, "[engine]\nruntime = \"crun\"\n")
            .answer("read_errors", ETC_CONF, json!("EACCES"))
            .host();
        let found = umask_found(&host, v);
        let c = found.check("config.containers_conf").unwrap();
        assert_eq!(c.status, Status::Error, "{c:?}");
        assert!(c.summary.contains(ETC_CONF) && c.summary.contains("EACCES"));
        let fix = c.fix.as_ref().unwrap();
        assert!(fix
            .text
            .contains("chmod 0644 /etc/containers/containers.conf"));
        // The override is additive: only CONTAINERS_CONF replaces the chain.
        let Action::MergeConf { path, toml: body } = &fix.actions[0] else {
            panic!("{fix:?}")
        };
        assert!(path.ends_with("/containers.conf"), "{path}");
        assert_eq!(
            toml::parse(body).unwrap().str("engine.runtime"),
            Some("crun")
        );
        assert!(matches!(&fix.actions[1], Action::SetEnv { key, .. } if key == "CONTAINERS_CONF"));
    }
}

#[test]
fn unreadable_storage_conf_exports_a_readable_one() {
    let host = umask_rootless(LIMITS_1024)
        .answer("read_errors", ETC_STORAGE, json!("EACCES"))
        .host();
    let found = umask_found(&host, Version::new(5, 4, 2));
    let c = found.check("config.storage_conf").unwrap();
    assert_eq!(c.status, Status::Error, "{c:?}");
    let fix = c.fix.as_ref().unwrap();
    assert_eq!(fix.by, By::Job);
    assert!(fix.text.contains("chmod 0644 /etc/containers/storage.conf"));
    assert!(
        matches!(&fix.actions[1], Action::SetEnv { key, .. } if key == "CONTAINERS_STORAGE_CONF")
    );
    // A storage.conf that is a directory is a problem too, never "absent".
    let host = umask_rootless(LIMITS_1024)
        .stat(ETC_STORAGE, "dir", 0o755, 0, 0)
        .host();
    let found = umask_found(&host, Version::new(5, 4, 2));
    assert_eq!(
        found.check("config.storage_conf").unwrap().status,
        Status::Error
    );
}

#[test]
fn unreadable_policy_writes_the_users_default_and_registries_only_warns() {
    let host = umask_rootless(LIMITS_1024)
        .answer("read_errors", ETC_POLICY, json!("EACCES"))
        .answer("read_errors", ETC_REGISTRIES, json!("EACCES"))
        .host();
    let found = umask_found(&host, Version::new(5, 4, 2));
    let c = found.check("config.policy").unwrap();
    assert_eq!(c.status, Status::Error, "{c:?}");
    let fix = c.fix.as_ref().unwrap();
    assert!(fix.text.contains("distribution's default") && fix.text.contains("chmod 0644"));
    assert_eq!(
        fix.actions,
        vec![Action::WriteFile {
            path: "/home/podman/.config/containers/policy.json".into(),
            contents: DEFAULT_POLICY.into(),
            mode: 0o644
        }]
    );
    let r = found.check("config.registries").unwrap();
    assert_eq!(r.status, Status::Warn, "{r:?}");
    // Readable files: both fine.
    let found = umask_found(&umask_rootless(LIMITS_1024).host(), Version::new(5, 4, 2));
    assert_eq!(found.check("config.policy").unwrap().status, Status::Ok);
    assert_eq!(found.check("config.registries").unwrap().status, Status::Ok);
}

#[test]
fn soft_nofile_1024_on_podman_4_gets_default_ulimits() {
    let host = umask_rootless(LIMITS_SOFT_1024).host();
    let found = umask_found(&host, Version::new(4, 3, 1));
    let c = found.check("config.nofile_soft").unwrap();
    assert_eq!(c.status, Status::Error, "{c:?}");
    let Action::WriteFile { contents, .. } = &c.fix.as_ref().unwrap().actions[0] else {
        panic!("{c:?}")
    };
    assert!(
        contents.contains("default_ulimits = [\"nofile=20000:20000\"]"),
        "{contents}"
    );
    // Podman 5 raises the soft limit itself; soft = hard needs nothing.
    let found = umask_found(&host, Version::new(5, 4, 2));
    assert_eq!(
        found.check("config.nofile_soft").unwrap().status,
        Status::Ok
    );
    let host = umask_rootless(LIMITS_1024).host();
    let found = umask_found(&host, Version::new(4, 3, 1));
    assert_eq!(
        found.check("config.nofile_soft").unwrap().status,
        Status::Ok
    );
}
