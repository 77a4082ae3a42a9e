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
use crate::remedy::network::{NETWORKS_VOLUME, NET_TUN, UTS_SECCOMP};
use crate::remedy::runner::Executor;
use serde_json::json;

const TUN: &str = "/dev/net/tun";

#[derive(Debug, Default, Clone)]
pub struct Facts {
    /// Effective `[containers] netns` as found (None = private, the default).
    pub netns: Option<String>,
    /// `/dev/net/tun` opened read-write.
    pub tun_usable: bool,
    /// Whether RUN steps will get working networking as configured.
    pub works: Option<bool>,
    /// What the network of a RUN step is decided from (`decide::plan`
    /// decides it; this area only observes), when the area ran.
    pub inputs: Option<Inputs>,
}

impl Facts {
    /// The inputs of `decide::network`, for the plan.
    pub fn net_inputs(&self) -> Option<crate::decide::NetInputs<'_>> {
        self.inputs.as_ref().map(Inputs::borrowed)
    }
}

/// `decide::NetInputs` as this area records them (owned).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Inputs {
    pub rootless: bool,
    pub isolation: String,
    /// `[containers] netns` as the job's own fix leaves it: `host` once
    /// this area routed `netns = "host"` as the fix.
    pub netns: Option<String>,
    pub slirp4netns_in_path: bool,
    pub podman5: bool,
    pub rootless_cmd: Option<String>,
    pub backend_conf: Option<String>,
    pub backend_cached: Option<String>,
    pub netavark: bool,
}

impl Inputs {
    pub fn borrowed(&self) -> crate::decide::NetInputs<'_> {
        crate::decide::NetInputs {
            rootless: self.rootless,
            isolation: &self.isolation,
            netns: self.netns.as_deref(),
            slirp4netns_in_path: self.slirp4netns_in_path,
            podman5: self.podman5,
            rootless_cmd: self.rootless_cmd.as_deref(),
            backend_conf: self.backend_conf.as_deref(),
            backend_cached: self.backend_cached.as_deref(),
            netavark: self.netavark,
        }
    }
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
it into containers.conf). Admin side: an emptyDir at /etc/containers/networks \
(`[[runners.kubernetes.volumes.empty_dir]]`; docker executor: `volumes = \
[\"/etc/containers/networks\"]` under [runners.docker]), or a writable root filesystem.",
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
                    format!(
                        "export BUILDAH_ISOLATION=chroot (RUN steps then need no UTS namespace); \
                         or:\n{}",
                        UTS_SECCOMP.text(Executor::of(&found.context))
                    ),
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

/// Rootful podman's network_config_dir must be writable (or creatable).
fn config_dir_check(host: &Host, found: &mut Obs, net: &crate::decide::Network) {
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
    // Podman creates the directory even when RUN steps use the host network.
    let backend = net.backend.clone().unwrap_or_else(|| {
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
                    NETWORKS_VOLUME.text(Executor::of(&found.context)),
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

/// The CNI plugin directories podman 4.3 searches (`cni_plugin_dirs`).
const CNI_DIRS: &[&str] = &[
    "/usr/local/libexec/cni",
    "/usr/libexec/cni",
    "/usr/local/lib/cni",
    "/usr/lib/cni",
    "/opt/cni/bin",
];
/// The plugins of podman 4.3's default network (bridge, portmap, firewall, tuning).
const CNI_PLUGINS: &[&str] = &["bridge", "portmap", "firewall", "tuning"];

/// netavark gained its nftables driver in 1.10 (release notes); before it, iptables is the
/// only firewall driver besides firewalld.
const NFT_SINCE: (u32, u32) = (1, 10);

pub fn probe(host: &Host, earlier: &Findings) -> AreaOut<Facts> {
    let found = &mut Obs::new(earlier);
    let mut inputs = observe_inputs(host, found);
    // The checks judge the network the plan decides from these inputs
    // (the same pure rule); the area records only the inputs.
    let net = crate::decide::network(&inputs.borrowed());
    config_dir_check(host, found, &net);
    uts_check(host, found);
    let mut f = Facts {
        netns: found.config.netns.clone(),
        ..Facts::default()
    };
    let tun = host.open_rw(TUN);
    f.tun_usable = tun.is_ok();
    let mut evidence = Vec::new();
    let need = match net.mode.as_str() {
        "pasta" | "slirp4netns" => helper_need(found, &net.mode, &tun),
        "bridge" if net.backend.as_deref() == Some("cni") => cni_need(host, found, &mut evidence),
        "bridge" => netavark_need(host, found, &mut evidence),
        _ => None,
    };
    f.works = Some(need.is_none());
    let check = match need {
        None => Check::ok("network.run", ok_text(&net)),
        Some(need) => {
            let c = Check::error("network.run", need.problem);
            fix_network(host, found, c, need.firewall, &mut inputs)
        }
    };
    let mut check = check
        .with("netns", json!(f.netns))
        .with("rootless", found.plan.rootless)
        .with("isolation", found.plan.isolation.clone())
        .with("mode", net.mode.clone())
        .with("backend", json!(net.backend))
        .with(
            "dev_net_tun",
            tun.err().map(|e| io_error_name(&e)).unwrap_or("ok".into()),
        )
        .with("slirp4netns_in_path", json!(host.which("slirp4netns")))
        .with("pasta", json!(found.tools.pasta))
        .with("netavark", json!(found.tools.netavark))
        .with("iptables", json!(found.tools.iptables))
        .with("nft", json!(found.tools.nft));
    for (k, v) in evidence {
        check = check.with(k, v);
    }
    found.checks.push(check);
    f.inputs = Some(inputs);
    found.finish(f)
}

/// The inputs of `decide::network`, read from earlier areas and the store.
fn observe_inputs(host: &Host, found: &Obs) -> Inputs {
    let cached_path = format!("{}/defaultNetworkBackend", found.storage.graphroot);
    let owned = |key: &str| found.config.get_str(key).map(str::to_string);
    Inputs {
        rootless: found.plan.rootless,
        isolation: found.plan.isolation.clone(),
        netns: found.config.netns.clone(),
        slirp4netns_in_path: host.which("slirp4netns").is_some(),
        podman5: super::tools::podman5(found.tools.podman_version),
        rootless_cmd: owned("network.default_rootless_network_cmd"),
        backend_conf: owned("network.network_backend"),
        backend_cached: (!found.storage.graphroot.is_empty())
            .then(|| host.read(&cached_path).ok())
            .flatten(),
        netavark: found.tools.netavark.is_some(),
    }
}

fn ok_text(net: &crate::decide::Network) -> String {
    match (net.mode.as_str(), net.backend.as_deref()) {
        ("host", _) => "RUN steps share the job's network (netns = \"host\", chroot isolation, or \
                        rootless without slirp4netns in PATH, where buildah falls back to it)"
            .into(),
        ("none", _) => "netns = \"none\": RUN steps have no network (downloads fail)".into(),
        ("bridge", Some(b)) => {
            format!("rootful bridge network through {b}: its helpers and caps are here")
        }
        (m, _) => format!("rootless network through {m} (/dev/net/tun usable)"),
    }
}

/// Why the chosen network cannot be set up, and the firewall driver that
/// would work instead where pinning one is the fix.
struct Need {
    problem: String,
    firewall: Option<&'static str>,
}

fn need(problem: String) -> Option<Need> {
    Some(Need {
        problem,
        firewall: None,
    })
}

/// pasta / slirp4netns: the helper and an openable /dev/net/tun.
fn helper_need(found: &Obs, cmd: &str, tun: &std::io::Result<()>) -> Option<Need> {
    let path = match cmd {
        "pasta" => &found.tools.pasta,
        _ => &found.tools.slirp4netns,
    };
    let lack = if path.is_none() {
        format!("{cmd} is not installed")
    } else if let Err(e) = tun {
        format!("{TUN} cannot be opened ({})", io_error_name(e))
    } else {
        return None;
    };
    need(format!(
        "RUN steps need a private network through {cmd}, but {lack}{}",
        if path.is_none()
            && cmd == "pasta"
            && found.config.netns.is_none()
            && found.tools.slirp4netns.is_some()
        {
            " (slirp4netns is in PATH, so buildah does not fall back to the host network, and podman 5 \
             wants pasta unless default_rootless_network_cmd = \"slirp4netns\")"
        } else {
            ""
        }
    ))
}

/// The capabilities netavark and the CNI bridge plugin need.
fn missing_caps(host: &Host, found: &Obs) -> Vec<&'static str> {
    let mut missing = Vec::new();
    if !super::caps::effective(host, found, caps::Capability::CAP_NET_ADMIN) {
        missing.push("CAP_NET_ADMIN");
    }
    if !super::caps::effective(host, found, caps::Capability::CAP_NET_RAW) {
        missing.push("CAP_NET_RAW");
    }
    missing
}

/// CNI (podman 4.x): the default network's plugins and iptables.
fn cni_need(
    host: &Host,
    found: &Obs,
    ev: &mut Vec<(&'static str, serde_json::Value)>,
) -> Option<Need> {
    let dir = CNI_DIRS
        .iter()
        .find(|d| host.stat(&format!("{d}/bridge")).is_ok());
    let mut missing: Vec<String> = match dir {
        Some(d) => CNI_PLUGINS
            .iter()
            .filter(|p| host.stat(&format!("{d}/{p}")).is_err())
            .map(|p| format!("the CNI plugin {d}/{p}"))
            .collect(),
        None => vec![format!("the CNI plugins (none in {})", CNI_DIRS.join(", "))],
    };
    ev.push(("cni_plugin_dir", json!(dir)));
    if found.tools.iptables.is_none() {
        missing.push("iptables".into());
    }
    missing.extend(missing_caps(host, found).into_iter().map(String::from));
    (!missing.is_empty()).then(|| Need {
        problem: format!(
            "RUN steps need a bridge network through CNI (podman 4 picks CNI when the netavark \
             helper is missing), but this lacks {}",
            missing.join(", ")
        ),
        firewall: None,
    })
}

/// netavark: the binary, the binary of its firewall driver, the caps.
fn netavark_need(
    host: &Host,
    found: &Obs,
    ev: &mut Vec<(&'static str, serde_json::Value)>,
) -> Option<Need> {
    let t = &found.tools;
    let Some(path) = t.netavark.as_deref() else {
        return need(
            "RUN steps need a bridge network through netavark, but netavark is not installed \
                     (`netavark: No such file or directory`)"
                .into(),
        );
    };
    let (version, line) = super::tools::version_of(host, path);
    let driver = firewall_driver(host, found, version);
    ev.push(("netavark_version", json!(line)));
    ev.push(("firewall_driver", json!(driver.0)));
    ev.push(("firewall_driver_source", json!(driver.1)));
    let has = |d: &str| match d {
        "iptables" => t.iptables.is_some(),
        "nftables" => t.nft.is_some(),
        _ => true,
    };
    // Unknown build-time default: ready only if either driver would work.
    let lacking: Vec<&str> = match driver.0 {
        Some(d) => [d].into_iter().filter(|d| !has(d)).collect(),
        None => ["iptables", "nftables"]
            .into_iter()
            .filter(|d| !has(d))
            .collect(),
    };
    let mut missing: Vec<String> = lacking
        .iter()
        .map(|d| match *d {
            "nftables" => "nft (nftables driver)".to_string(),
            d => format!("{d} ({d} driver)"),
        })
        .collect();
    let caps = missing_caps(host, found);
    missing.extend(caps.iter().map(|c| c.to_string()));
    if missing.is_empty() {
        return None;
    }
    // Pinning iptables works whatever the build default is (podman 5 passes
    // firewall_driver to netavark as NETAVARK_FW).
    let pin = (caps.is_empty()
        && t.iptables.is_some()
        && super::tools::podman5(t.podman_version)
        && driver.0 != Some("iptables"))
    .then_some("iptables");
    Some(Need {
        problem: format!(
            "RUN steps need a bridge network through netavark{}, but this lacks {}{}",
            version.map(|v| format!(" {v}")).unwrap_or_default(),
            missing.join(", "),
            if lacking.contains(&"nftables") {
                ": every RUN fails with `netavark: nftables error: unable to execute nft`"
            } else {
                ""
            }
        ),
        firewall: pin,
    })
}

/// The firewall driver netavark will use and how that was decided:
/// `NETAVARK_FW` (podman sets it from containers.conf `firewall_driver`,
/// netavark also inherits it from the job), else the build-time default,
/// which is iptables before 1.10 and cannot be read from a newer binary
/// (`None`: Debian 13 builds nftables, upstream iptables).
fn firewall_driver(
    host: &Host,
    found: &Obs,
    version: Option<super::tools::Version>,
) -> (Option<&'static str>, String) {
    let named = |v: &str| match v.trim() {
        "iptables" => Some("iptables"),
        "nftables" => Some("nftables"),
        "firewalld" => Some("firewalld"),
        _ => None,
    };
    if let Some(v) = found
        .config
        .get_str("network.firewall_driver")
        .filter(|v| !v.is_empty())
    {
        return (named(v), format!("containers.conf firewall_driver = {v:?}"));
    }
    if let Some(v) = host.env_nonempty("NETAVARK_FW") {
        return (named(v), format!("NETAVARK_FW={v}"));
    }
    match version {
        Some(v) if (v.major, v.minor) < NFT_SINCE => (
            Some("iptables"),
            format!("netavark {v} has no nftables driver"),
        ),
        Some(v) => (
            None,
            format!("netavark {v}: build-time default, not readable from the binary (Debian 13: nftables)"),
        ),
        None => (None, "netavark's version is unknown".into()),
    }
}

/// The fix: pin the iptables driver where that is enough, else the job's
/// own network (netns = "host"), else the image's.
fn fix_network(
    host: &Host,
    found: &Obs,
    check: Check,
    firewall: Option<&str>,
    inputs: &mut Inputs,
) -> Check {
    let target = super::config::target_in(host, found, &found.config.settings);
    if let Some(driver) = firewall {
        let body = format!("[network]\nfirewall_driver = \"{driver}\"\n");
        if let Some(route) = crate::remedy::conf::route(host, &target, "firewall", &body) {
            return check.job_fix(
                format!(
                    "Have netavark use its {driver} driver (firewall_driver = \"{driver}\"; {}); image \
                     fix: install nftables",
                    route.place
                ),
                route.actions,
            );
        }
    }
    let text = "Give RUN steps the job's own network (netns = \"host\")";
    match crate::remedy::conf::route(host, &target, "netns", "[containers]\nnetns = \"host\"\n") {
        Some(route) => {
            inputs.netns = Some("host".into());
            check.job_fix(format!("{text} ({})", route.place), route.actions)
        }
        None => check.fix(
            crate::model::By::Image,
            format!(
                "Put `[containers]\\nnetns = \"host\"` in /etc/containers/containers.conf.d/netns.conf \
                 in the image, or install what is missing (nftables, passt, the CNI plugins), or use \
                 `podman build --network=host`.\n{}",
                NET_TUN.text(Executor::of(&found.context))
            ),
        ),
    }
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
    fn without_a_job_dir_the_runner_mounts_a_volume_for_its_executor() {
        let host = Fixture::new()
            .file("/proc/self/status", "CapEff:\t000001ffffffffff\n")
            .dir("/etc/containers")
            .access("/etc/containers", crate::host::Access::Write, "EROFS")
            .host();
        let mut found = crate::probes::testutil::with_paths(&host);
        found.identity.paths.job_dir = None;
        found.context.engine = Some("docker".into());
        found.tools.podman_version = Some(Version::new(4, 3, 1));
        found.tools.netavark = Some("/usr/lib/podman/netavark".into());
        crate::probes::testutil::given_rootless(&mut found, false);
        found.absorb(probe(&host, &found));
        let c = found.check("network.config_dir").unwrap();
        assert_eq!(c.status, Status::Error, "{}", c.summary);
        let fix = c.fix.as_ref().unwrap();
        assert_eq!(fix.by, By::RunnerAdmin);
        assert!(
            fix.text
                .contains("`volumes = [\"/etc/containers/networks\"]`"),
            "{}",
            fix.text
        );
        assert!(!fix.text.contains("runners.kubernetes"), "{}", fix.text);
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

    /// A rootless job as the real areas would leave it (rootless isolation)
    /// with only the given helpers installed, in PATH.
    fn rootless_with(fx: Fixture, podman: Version, helpers: &[&str]) -> Findings {
        let fx = helpers.iter().fold(fx.env("PATH", "/usr/bin"), |fx, h| {
            let p = format!("/usr/bin/{h}");
            fx.file(&p, "").stat(&p, "file", 0o755, 0, 0)
        });
        let host = fx.host();
        let mut found = crate::probes::testutil::with_paths(&host);
        found.tools.podman_version = Some(podman);
        found.tools.slirp4netns = helpers
            .contains(&"slirp4netns")
            .then(|| "/usr/bin/slirp4netns".into());
        found.tools.pasta = helpers.contains(&"pasta").then(|| "/usr/bin/pasta".into());
        crate::probes::testutil::given_rootless(&mut found, true);
        crate::probes::testutil::given_isolation(&mut found, "rootless");
        found.absorb(probe(&host, &found));
        found
    }

    #[test]
    fn rootless_without_slirp4netns_in_path_uses_the_host_network() {
        // Matrix rows deb12nr/deb13nr-rootless-priv-home1777, deb13-noslirp:
        // no slirp4netns → buildah runs RUN in the job's netns, no tun needed.
        for (v, helpers) in [
            (Version::new(4, 3, 1), &[][..]),
            (Version::new(5, 4, 2), &[][..]),
            (Version::new(5, 4, 2), &["pasta"][..]),
        ] {
            let found = rootless_with(Fixture::new().uid(1000).open(TUN, "ENOENT"), v, helpers);
            let c = found.check("network.run").unwrap();
            assert_eq!(c.status, Status::Ok, "{v} {helpers:?}: {}", c.summary);
            assert_eq!(found.plan.network, "host");
        }
    }

    #[test]
    fn podman5_with_slirp4netns_wants_pasta_unless_configured() {
        // Row deb13-nopasta-rootless-priv: `could not find pasta`.
        let tun = || Fixture::new().uid(1000).open(TUN, "ok");
        let found = rootless_with(tun(), Version::new(5, 4, 2), &["slirp4netns"]);
        let c = found.check("network.run").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(
            c.summary.contains("pasta is not installed"),
            "{}",
            c.summary
        );
        // Row deb13-slirpconf-rootless-priv: slirp4netns by configuration.
        let conf = tun().file(
            "/etc/containers/containers.conf",
            "[network]\ndefault_rootless_network_cmd = \"slirp4netns\"\n",
        );
        let host = conf.host();
        let mut found = crate::probes::testutil::findings_through(&host, "config");
        found.tools.podman_version = Some(Version::new(5, 4, 2));
        found.tools.slirp4netns = Some("/usr/bin/slirp4netns".into());
        let net = crate::decide::network(&crate::decide::NetInputs {
            rootless: true,
            isolation: "rootless",
            slirp4netns_in_path: true,
            podman5: true,
            rootless_cmd: found.config.get_str("network.default_rootless_network_cmd"),
            ..Default::default()
        });
        assert_eq!(net.mode, "slirp4netns");
        // podman 4.3 with slirp4netns: slirp4netns, tun needed.
        let found = rootless_with(
            Fixture::new().uid(1000).open(TUN, "EACCES"),
            Version::new(4, 3, 1),
            &["slirp4netns"],
        );
        let c = found.check("network.run").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(c.summary.contains("slirp4netns") && c.summary.contains("EACCES"));
    }

    /// A rootful job with all capabilities and the given binaries.
    fn rootful_with(fx: Fixture, podman: Version, tools: &[&str]) -> Findings {
        let host = fx
            .env("HOME", "/root")
            .file("/proc/self/status", "CapEff:\t000001ffffffffff\n")
            .dir("/etc/containers/containers.conf.d")
            .host();
        let mut found = crate::probes::testutil::with_paths(&host);
        found.tools.podman_version = Some(podman);
        let has = |t: &str| tools.contains(&t).then(|| format!("/usr/sbin/{t}"));
        found.tools.netavark = tools
            .contains(&"netavark")
            .then(|| "/usr/lib/podman/netavark".into());
        found.tools.iptables = has("iptables");
        found.tools.nft = has("nft");
        crate::probes::testutil::given_rootless(&mut found, false);
        found.absorb(probe(&host, &found));
        found
    }

    fn cni(fx: Fixture, plugins: &[&str]) -> Fixture {
        plugins
            .iter()
            .fold(fx, |fx, p| fx.file(&format!("/usr/lib/cni/{p}"), ""))
    }

    #[test]
    fn rootful_podman4_without_netavark_uses_cni() {
        // Row deb12nr-root-priv: containernetworking-plugins + iptables build.
        let all = ["bridge", "portmap", "firewall", "tuning"];
        let found = rootful_with(
            cni(Fixture::new(), &all),
            Version::new(4, 3, 1),
            &["iptables"],
        );
        let c = found.check("network.run").unwrap();
        assert_eq!(c.status, Status::Ok, "{}", c.summary);
        assert_eq!(c.evidence["backend"], json!("cni"));
        assert_eq!(found.plan.network, "bridge");
        // A missing plugin or iptables: not ready, netns = host fixes it.
        let found = rootful_with(cni(Fixture::new(), &all[..3]), Version::new(4, 3, 1), &[]);
        let c = found.check("network.run").unwrap();
        assert_eq!(c.status, Status::Error);
        assert!(
            c.summary.contains("/usr/lib/cni/tuning") && c.summary.contains("iptables"),
            "{}",
            c.summary
        );
        assert!(c.job_can_fix());
        assert_eq!(found.plan.network, "host");
    }

    fn netavark_pkg(fx: Fixture, version: &str) -> Fixture {
        fx.file(
            "/var/lib/dpkg/status",
            &format!("Package: netavark\nStatus: install ok installed\nVersion: {version}\n\n"),
        )
        .file(
            "/var/lib/dpkg/info/netavark.list",
            "/usr/lib/podman/netavark\n",
        )
    }

    #[test]
    fn netavark_with_an_unknown_default_driver_and_no_nft_pins_iptables() {
        // Row deb13nr-root-priv: netavark 1.14 (Debian: nftables default), no
        // nft: `unable to execute nft`; firewall_driver = "iptables" builds.
        let fx = || netavark_pkg(Fixture::new(), "1.14.0-2");
        let found = rootful_with(fx(), Version::new(5, 4, 2), &["netavark", "iptables"]);
        let c = found.check("network.run").unwrap();
        assert_eq!(c.status, Status::Error, "{}", c.summary);
        assert!(c.summary.contains("nft"), "{}", c.summary);
        assert_eq!(c.evidence["firewall_driver"], json!(null));
        let Action::WriteFile { path, contents, .. } = &c.fix.as_ref().unwrap().actions[0] else {
            panic!("{:?}", c.fix)
        };
        assert!(path.ends_with("podrun-firewall.conf"), "{path}");
        assert!(contents.contains("firewall_driver = \"iptables\""));
        assert_eq!(found.plan.network, "bridge");
        // Both binaries: whichever the default is works.
        let found = rootful_with(
            fx(),
            Version::new(5, 4, 2),
            &["netavark", "iptables", "nft"],
        );
        assert_eq!(found.check("network.run").unwrap().status, Status::Ok);
        // Pinned by configuration: only that driver's binary counts.
        let pinned = fx().file(
            "/etc/containers/containers.conf",
            "[network]\nfirewall_driver = \"iptables\"\n",
        );
        let host = pinned
            .env("HOME", "/root")
            .file("/proc/self/status", "CapEff:\t000001ffffffffff\n")
            .host();
        let mut found = crate::probes::testutil::findings_through(&host, "config");
        found.tools.podman_version = Some(Version::new(5, 4, 2));
        found.tools.netavark = Some("/usr/lib/podman/netavark".into());
        found.tools.iptables = Some("/usr/sbin/iptables".into());
        found.tools.nft = None;
        crate::probes::testutil::given_rootless(&mut found, false);
        found.absorb(probe(&host, &found));
        let c = found.check("network.run").unwrap();
        assert_eq!(c.status, Status::Ok, "{}", c.summary);
        // No iptables either: only netns = host is left.
        let found = rootful_with(fx(), Version::new(5, 4, 2), &["netavark"]);
        let c = found.check("network.run").unwrap();
        let Action::WriteFile { contents, .. } = &c.fix.as_ref().unwrap().actions[0] else {
            panic!()
        };
        assert!(contents.contains("netns = \"host\""));
        // netavark before 1.10 has iptables only: no nft needed.
        let old = netavark_pkg(Fixture::new(), "1.4.0-3");
        let found = rootful_with(old, Version::new(4, 3, 1), &["netavark", "iptables"]);
        let c = found.check("network.run").unwrap();
        assert_eq!(c.status, Status::Ok, "{}", c.summary);
        assert_eq!(c.evidence["firewall_driver"], json!("iptables"));
    }
}
