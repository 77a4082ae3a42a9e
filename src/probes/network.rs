//! Area `network`: whether the RUN steps of `podman build` get a network.
//!
//! Buildah gives every RUN a private network namespace unless `--network
//! host` or `[containers] netns = "host"`. Rootless, that namespace is wired
//! by pasta (podman 5) or slirp4netns (podman 4), both of which need an
//! openable /dev/net/tun; rootful, by netavark, which needs iptables (or nft)
//! and CAP_NET_ADMIN/CAP_NET_RAW. Observed in nested containers on this
//! project's matrix host: rootless podman 4.3 with a root-only /dev/net/tun
//! fails every RUN (`failed to read from slirp4netns sync pipe: EOF`), rootful
//! podman 4.3 without iptables fails (`netavark: No such file or directory`),
//! and both build fine with `--network=host`. `netns = "host"` costs a build
//! nothing it needs, so it is the job-side fix.

use super::{AreaOut, Findings, Obs};
use crate::host::{io_error_name, Host, Probe};
use crate::model::{Action, Check, Spec};
use serde_json::json;

const TUN: &str = "/dev/net/tun";

#[derive(Debug, Default, Clone)]
pub struct Facts {
    /// Effective `[containers] netns` (None = private, the default).
    pub netns: Option<String>,
    /// The rootless network helper podman will use.
    pub rootless_cmd: Option<String>,
    /// `/dev/net/tun` opened read-write.
    pub tun_usable: bool,
    /// Whether RUN steps will get working networking as configured.
    pub works: Option<bool>,
    /// The network RUN steps get (`pasta`, `slirp4netns`, `bridge`,
    /// `host`, `none`), when the area resolved it.
    pub mode: Option<String>,
}

pub const SPECS: &[Spec] = &[
    Spec {
        id: "network.config_dir",
        title: "rootful podman can write its network configuration directory",
        explain: "Rootful podman keeps its network definitions and the netavark lock in \
network_config_dir (/etc/containers/networks; CNI: /etc/cni/net.d) and creates it at start, for \
every command, host network or not. On a read-only root filesystem that fails: `creating locker \
directory: mkdir /etc/containers/networks: read-only file system` (verified with podman 4.3 under \
`--read-only`). Job fix: network_config_dir in a directory of the job's own (podrun-doctor writes \
it into containers.conf). Admin side: an emptyDir at /etc/containers/networks, or a writable root \
filesystem.",
        signatures: &["creating locker directory", "mkdir /etc/containers/networks"],
    },
    Spec {
    id: "network.run",
    title: "RUN steps can get a network namespace",
    explain: "Each RUN step gets a private network namespace by default. Rootless podman wires it with \
pasta (podman 5) or slirp4netns (podman 4), which need an openable /dev/net/tun (non-privileged pods \
have none); rootful podman uses netavark, which needs iptables/nft and CAP_NET_ADMIN + CAP_NET_RAW (the \
GitLab runner drops NET_RAW by default). Job fix: a containers.conf drop-in `[containers] netns = \
\"host\"` (podrun-doctor writes it; quay.io/podman/stable ships the same), or `podman build \
--network=host`. Admin side: expose /dev/net/tun, or `cap_add = [\"NET_ADMIN\", \"NET_RAW\"]`.",
    signatures: &[
        "open(\"/dev/net/tun\")",
        "slirp4netns failed",
        "failed to read from slirp4netns sync pipe",
        "pasta failed with exit code",
        "Failed to open tun socket in namespace",
        "can't initialize iptables table",
        "netavark: create bridge",
        "netavark: No such file or directory",
        "Module ip_tables not found",
    ],
    },
    Spec {
        id: "network.uts",
        title: "RUN steps can set their hostname in a UTS namespace",
        explain: "Every RUN step with oci or rootless isolation gets its own UTS namespace, and the \
runtime calls sethostname in it. Seccomp profiles (podman's own default, Docker's, containerd's \
RuntimeDefault) allow sethostname only to containers with CAP_SYS_ADMIN, so in any such job \
container without it crun fails every RUN with `sethostname: Operation not permitted` — even when \
/proc is unmasked and the network works (found with the scenario matrix; not in GitLab's docs). \
The probe tries sethostname in a new UTS namespace. Job fix: a containers.conf drop-in \
`[containers] utsns = \"host\"` (quay.io/podman/stable ships it), else BUILDAH_ISOLATION=chroot. \
Admin side: seccomp `Unconfined` (Kubernetes build_container_security_context seccomp_profile, \
docker `security_opt = [\"seccomp:unconfined\"]`), or privileged.",
        signatures: &["sethostname: Operation not permitted"],
    },
];

/// network.uts: can the runtime set a RUN step's hostname?
fn uts_check(host: &Host, found: &mut Obs) {
    let isolation = found.plan.isolation.clone();
    let utsns = found.config.get_str("containers.utsns").map(str::to_string);
    let check = if !super::mounts::isolation_uses_runtime(&isolation) {
        Check::ok(
            "network.uts",
            format!("{isolation} isolation: RUN steps get no UTS namespace of their own"),
        )
    } else if utsns.as_deref() == Some("host") {
        Check::ok(
            "network.uts",
            "utsns = \"host\": RUN steps keep the job's hostname",
        )
    } else {
        let probe = Probe::Hostname {
            userns: found.plan.rootless,
        };
        let result = host.probe(&probe);
        let base = |c: Check| {
            c.with("probe", probe.key())
                .with("probe_ran", result.ran)
                .with("step", result.step.clone())
                .with("errno", json!(result.errno))
        };
        if !result.ran {
            base(Check::warn(
                "network.uts",
                format!(
                    "could not try sethostname in a new UTS namespace ({}): RUN steps may fail with \
                     `sethostname: Operation not permitted`",
                    result.detail
                ),
            ))
        } else if result.ok {
            base(Check::ok(
                "network.uts",
                "sethostname works in a new UTS namespace, as the runtime needs for RUN steps",
            ))
        } else {
            let check = base(Check::error(
                "network.uts",
                format!(
                    "RUN steps cannot set their hostname ({}): seccomp allows sethostname only with \
                     CAP_SYS_ADMIN, and crun fails every RUN with `sethostname: Operation not permitted`",
                    result.describe()
                ),
            ));
            let text = "Keep RUN steps in the job's UTS namespace (utsns = \"host\")";
            match crate::remedy::conf::route(
                host,
                &super::config::target_in(host, found, &found.config.settings),
                "utsns",
                "[containers]\nutsns = \"host\"\n",
            ) {
                Some(route) => check.job_fix(format!("{text} ({})", route.place), route.actions),
                // Nowhere to put the setting: chroot isolation needs no UTS namespace.
                None => check.job_fix(
                    "export BUILDAH_ISOLATION=chroot (RUN steps then need no UTS namespace); or, \
                     runner admin: seccomp Unconfined (docker `security_opt = [\"seccomp:unconfined\"]`, \
                     Kubernetes [runners.kubernetes.build_container_security_context.seccomp_profile] \
                     type = \"Unconfined\")",
                    vec![Action::SetEnv {
                        key: "BUILDAH_ISOLATION".into(),
                        value: "chroot".into(),
                    }],
                ),
            }
        }
    };
    found.checks.push(
        check
            .with("isolation", isolation)
            .with("utsns", json!(utsns)),
    );
}

fn cap(host: &Host, found: &Findings, bit: u32) -> bool {
    if found.caps.known {
        return found.caps.effective & (1u64 << bit) != 0;
    }
    host.read("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|v| v & (1u64 << bit) != 0)
}

/// Rootful podman's network_config_dir must be writable (or creatable).
fn config_dir_check(host: &Host, found: &mut Obs) {
    if found.plan.rootless {
        found.checks.push(Check::ok(
            "network.config_dir",
            "rootless: network definitions live in the store (judged by storage)",
        ));
        return;
    }
    let configured = found
        .config
        .get_str("network.network_config_dir")
        .map(str::to_string);
    let backend = found
        .config
        .get_str("network.network_backend")
        .map(str::to_string)
        .unwrap_or_else(|| {
            let podman5 = super::tools::podman5(found.tools.podman_version);
            if podman5 || found.tools.netavark.is_some() {
                "netavark".into()
            } else {
                "cni".into()
            }
        });
    let dir = configured.clone().unwrap_or_else(|| {
        if backend == "cni" {
            "/etc/cni/net.d".into()
        } else {
            "/etc/containers/networks".into()
        }
    });
    let near = host.nearest_existing(&dir);
    let usable = host.access(&near, crate::host::Access::Write);
    let check = match &usable {
        Ok(()) => Check::ok(
            "network.config_dir",
            format!("{dir} ({backend}) is writable"),
        ),
        Err(e) => {
            let c = Check::error(
                "network.config_dir",
                format!(
                    "{dir} ({backend}) cannot be written ({near}: {}): rootful podman fails at \
                     start with `creating locker directory: mkdir {dir}: …`",
                    io_error_name(e)
                ),
            );
            match found.identity.paths.job_dir.as_deref() {
                Some(base) => crate::remedy::conf::attach(
                    c,
                    host,
                    &super::config::target_in(host, found, &found.config.settings),
                    "network-dir",
                    &format!(
                        "[network]\nnetwork_config_dir = {}\n",
                        crate::formats::toml::quote(&format!("{base}/networks"))
                    ),
                    "Keep podman's network definitions in a directory of the job's own",
                ),
                None => c.fix(
                    crate::model::By::RunnerAdmin,
                    "Mount an emptyDir at /etc/containers/networks (Kubernetes: \
                     [[runners.kubernetes.volumes.empty_dir]] name = \"podman-networks\" \
                     mount_path = \"/etc/containers/networks\"; docker executor: volumes = \
                     [\"/etc/containers/networks\"]), or drop read_only_root_filesystem.",
                ),
            }
        }
    };
    found.checks.push(
        check
            .with("network_config_dir", dir)
            .with("backend", backend)
            .with("configured", json!(configured))
            .with("nearest_existing", near),
    );
}

pub fn probe(host: &Host, earlier: &Findings) -> AreaOut<Facts> {
    let found = &mut Obs::new(earlier);
    config_dir_check(host, found);
    uts_check(host, found);
    let mut f = Facts {
        netns: found.config.netns.clone(),
        ..Facts::default()
    };
    let tun = host.open_rw(TUN);
    f.tun_usable = tun.is_ok();
    let tun_state = match &tun {
        Ok(()) => "ok".to_string(),
        Err(e) => io_error_name(e),
    };
    let t = found.tools.clone();
    let podman5 = super::tools::podman5(t.podman_version);
    let configured_cmd = found
        .config
        .get_str("network.default_rootless_network_cmd")
        .map(str::to_string);
    // An explicit `netns = "pasta"` / `"slirp4netns"` (optionally with
    // `:options`) names the helper; otherwise the configured default.
    let named = f
        .netns
        .as_deref()
        .map(|n| n.split(':').next().unwrap_or(n))
        .filter(|n| matches!(*n, "pasta" | "slirp4netns"))
        .map(str::to_string);
    let cmd = named
        .or(configured_cmd)
        .unwrap_or_else(|| if podman5 { "pasta" } else { "slirp4netns" }.into());
    let cmd_path = match cmd.as_str() {
        "pasta" => t.pasta.clone(),
        "slirp4netns" => t.slirp4netns.clone(),
        _ => None,
    };
    let rootless = found.plan.rootless;
    let net_admin = cap(host, found, 12);
    let net_raw = cap(host, found, 13);

    let mut problem: Option<String> = None;
    let check = match f.netns.as_deref() {
        Some("host") => {
            f.mode = Some("host".into());
            f.works = Some(true);
            Check::ok(
                "network.run",
                "netns = \"host\": RUN steps use the job's network",
            )
        }
        Some("none") => {
            f.mode = Some("none".into());
            f.works = Some(true);
            Check::info(
                "network.run",
                "netns = \"none\": RUN steps have no network (downloads fail)",
            )
        }
        _ if rootless => {
            f.mode = Some(cmd.clone());
            f.rootless_cmd = Some(cmd.clone());
            if cmd_path.is_none() {
                problem = Some(format!("{cmd} is not installed"));
            } else if let Err(e) = &tun {
                problem = Some(format!("{TUN} cannot be opened ({})", io_error_name(e)));
            }
            match &problem {
                None => {
                    f.works = Some(true);
                    Check::ok(
                        "network.run",
                        format!("rootless network through {cmd} (/dev/net/tun usable)"),
                    )
                }
                Some(p) => {
                    f.works = Some(false);
                    Check::error(
                        "network.run",
                        format!("RUN steps need a private network through {cmd}, but {p}"),
                    )
                }
            }
        }
        _ => {
            f.mode = Some("bridge".into());
            let mut missing = Vec::new();
            if t.netavark.is_none() {
                missing.push("netavark");
            }
            if t.iptables.is_none() {
                missing.push("iptables");
            }
            if !net_admin {
                missing.push("CAP_NET_ADMIN");
            }
            if !net_raw {
                missing.push("CAP_NET_RAW");
            }
            if missing.is_empty() {
                f.works = Some(true);
                Check::ok(
                    "network.run",
                    "rootful bridge network (netavark, iptables, NET_ADMIN, NET_RAW)",
                )
            } else {
                f.works = Some(false);
                Check::error(
                    "network.run",
                    format!(
                        "RUN steps need a bridge network through netavark, but this lacks {}",
                        missing.join(", ")
                    ),
                )
            }
        }
    };
    let check = if f.works == Some(false) {
        let text = "Give RUN steps the job's own network (netns = \"host\")";
        match crate::remedy::conf::route(
            host,
            &super::config::target_in(host, found, &found.config.settings),
            "netns",
            "[containers]\nnetns = \"host\"\n",
        ) {
            Some(route) => {
                f.mode = Some("host".into());
                check.job_fix(format!("{text} ({})", route.place), route.actions)
            }
            None => check.fix(
                crate::model::By::Image,
                "Put `[containers]\\nnetns = \"host\"` in /etc/containers/containers.conf.d/netns.conf in the \
                 image, or expose /dev/net/tun (Kubernetes: a device plugin or CRI-O annotation \
                 io.kubernetes.cri-o.Devices; docker executor: devices = [\"/dev/net/tun\"]), or use \
                 `podman build --network=host`.",
            ),
        }
    } else {
        check
    };
    found.checks.push(
        check
            .with("netns", json!(f.netns))
            .with("rootless", rootless)
            .with("dev_net_tun", tun_state)
            .with("rootless_network_cmd", cmd)
            .with("helper", json!(cmd_path))
            .with("netavark", json!(t.netavark))
            .with("iptables", json!(t.iptables))
            .with("cap_net_admin", net_admin)
            .with("cap_net_raw", net_raw),
    );
    found.finish(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, By, Status};
    use crate::probes::testutil::Fixture;
    use crate::probes::tools::Version;

    fn run(host: &Host, podman: Version, netns: Option<&str>, rootless: bool) -> Findings {
        let mut found = crate::probes::testutil::with_paths(host);
        found.tools.podman_version = Some(podman);
        found.tools.slirp4netns = Some("/usr/bin/slirp4netns".into());
        found.tools.pasta = Some("/usr/bin/pasta".into());
        found.tools.netavark = Some("/usr/lib/podman/netavark".into());
        found.config.netns = netns.map(str::to_string);
        crate::probes::testutil::given_rootless(&mut found, rootless);
        found.absorb(probe(host, &found));
        found
    }

    #[test]
    fn sethostname_refused_by_seccomp_is_an_error_fixed_by_utsns_host() {
        // Observed in the matrix: uid 1000, file-capability helpers, /dev/fuse and
        // /dev/net/tun given, /proc unmasked, podman's default seccomp: every RUN fails
        // with `sethostname: Operation not permitted`; utsns = "host" builds.
        use crate::host::ProbeResult;
        let hostname = Probe::Hostname { userns: true };
        let fixture = || {
            Fixture::new()
                .uid(1000)
                .env("HOME", "/home/podman")
                .dir("/home/podman")
                .stat("/home/podman", "dir", 0o755, 1000, 1000)
                .open(TUN, "ok")
        };
        let refused = fixture()
            .probe(
                &hostname,
                ProbeResult::failure("sethostname", Some("EPERM".into()), ""),
            )
            .host();
        let found = run(&refused, Version::new(5, 4, 2), None, true);
        let c = found.check("network.uts").unwrap();
        assert_eq!(c.status, Status::Error);
        let Action::WriteFile { path, contents, .. } = &c.fix.as_ref().unwrap().actions[0] else {
            panic!("{:?}", c.fix)
        };
        assert!(
            path.ends_with("containers.conf.d/podrun-utsns.conf"),
            "{path}"
        );
        assert!(contents.contains("utsns = \"host\""));

        let works = fixture().probe(&hostname, ProbeResult::success("")).host();
        let found = run(&works, Version::new(5, 4, 2), None, true);
        assert_eq!(found.check("network.uts").unwrap().status, Status::Ok);

        // Not probed: never claimed fine.
        let found = run(&fixture().host(), Version::new(5, 4, 2), None, true);
        let c = found.check("network.uts").unwrap();
        assert_eq!(c.status, Status::Warn);
        assert_eq!(c.evidence["probe_ran"], json!(false));

        // chroot isolation has no UTS namespace to set up.
        let mut found = crate::probes::testutil::with_paths(&refused);
        crate::probes::testutil::given_isolation(&mut found, "chroot");
        found.absorb(probe(&refused, &found));
        assert_eq!(found.check("network.uts").unwrap().status, Status::Ok);
    }

    #[test]
    fn an_explicit_netns_names_the_helper() {
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/home/podman")
            .dir("/home/podman")
            .open(TUN, "EACCES")
            .host();
        // podman 4's default is slirp4netns, but the setting asks for pasta.
        let found = run(&host, Version::new(4, 3, 1), Some("pasta:--mtu,1500"), true);
        let c = found.check("network.run").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c.summary.contains("pasta"), "{}", c.summary);
        assert!(!c.summary.contains("slirp4netns"), "{}", c.summary);
    }

    #[test]
    fn rootless_without_tun_gets_host_network() {
        // Observed: podman 4.3 rootless, /dev/net/tun 0600 root → every RUN fails.
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/home/podman")
            .dir("/home/podman")
            .open(TUN, "EACCES")
            .host();
        let found = run(&host, Version::new(4, 3, 1), None, true);
        let c = found.check("network.run").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c.summary.contains("slirp4netns") && c.summary.contains("EACCES"));
        let Action::WriteFile { path, contents, .. } = &c.fix.as_ref().unwrap().actions[0] else {
            panic!()
        };
        assert!(path.ends_with("containers.conf.d/podrun-netns.conf"));
        assert!(contents.contains("netns = \"host\""));
        assert_eq!(found.plan.network, "host");
    }

    #[test]
    fn host_netns_is_fine_and_tun_ok_is_fine() {
        let host = Fixture::new().uid(1000).open(TUN, "ENOENT").host();
        let found = run(&host, Version::new(5, 4, 2), Some("host"), true);
        assert_eq!(found.check("network.run").unwrap().status, Status::Ok);
        assert_eq!(found.plan.network, "host");

        let host = Fixture::new().uid(1000).open(TUN, "ok").host();
        let found = run(&host, Version::new(5, 4, 2), None, true);
        assert_eq!(found.check("network.run").unwrap().status, Status::Ok);
        assert_eq!(found.plan.network, "pasta");
    }

    #[test]
    fn readonly_etc_moves_the_rootful_network_config_dir() {
        // Observed: deb12 `--privileged --read-only`, after the storage and
        // netns fixes: `Error: creating locker directory: mkdir
        // /etc/containers/networks: read-only file system`; with
        // network_config_dir under /tmp the build succeeds.
        let host = Fixture::new()
            .env("HOME", "/root")
            .file("/proc/self/status", "CapEff:\t000001ffffffffff\n")
            .dir("/etc/containers")
            .dir("/root")
            .dir("/tmp")
            .access("/etc/containers", crate::host::Access::Write, "EROFS")
            .access("/root", crate::host::Access::Write, "EROFS")
            .host();
        let found = run(&host, Version::new(4, 3, 1), Some("host"), false);
        let c = found.check("network.config_dir").unwrap();
        assert_eq!(c.status, Status::Error, "{}", c.summary);
        assert!(c.summary.contains("/etc/containers/networks"));
        let fix = c.fix.as_ref().unwrap();
        assert_eq!(fix.by, By::Job);
        let Action::MergeConf { path, toml } = &fix.actions[0] else {
            panic!("{:?}", fix.actions)
        };
        assert_eq!(path, "/tmp/podrun-0/containers.conf");
        assert!(
            toml.contains("network_config_dir = \"/tmp/podrun-0/networks\""),
            "{toml}"
        );
        // Writable /etc: fine; rootless: not judged here.
        let host = Fixture::new().dir("/etc/containers").host();
        let found = run(&host, Version::new(4, 3, 1), Some("host"), false);
        assert_eq!(
            found.check("network.config_dir").unwrap().status,
            Status::Ok
        );
        let found = run(&host, Version::new(4, 3, 1), Some("host"), true);
        assert_eq!(
            found.check("network.config_dir").unwrap().status,
            Status::Ok
        );
    }

    #[test]
    fn rootful_without_iptables_or_caps() {
        // Observed: podman 4.3 root privileged without iptables:
        // `netavark: No such file or directory (os error 2)`.
        let host = Fixture::new()
            .env("HOME", "/root")
            .file("/proc/self/status", "CapEff:\t000001ffffffffff\n")
            .dir("/etc/containers/containers.conf.d")
            .host();
        let found = run(&host, Version::new(4, 3, 1), None, false);
        let c = found.check("network.run").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c.summary.contains("iptables"));
        assert!(c.job_can_fix());

        // No place to write a drop-in: image-side advice.
        let host = Fixture::new()
            .uid(1000)
            .env("HOME", "/")
            .env("CONTAINERS_CONF", "/x.conf")
            .open(TUN, "ENOENT")
            .host();
        let found = run(&host, Version::new(5, 4, 2), None, true);
        let c = found.check("network.run").unwrap();
        assert_eq!(c.fix.as_ref().unwrap().by, By::Image);
    }
}
