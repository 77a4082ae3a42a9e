//! Which network a RUN step gets, decided as buildah, containers/common
//! and netavark decide it.

/// What decides the network of a RUN step (docs/field-notes.md "Which
/// network a RUN step gets").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetInputs<'a> {
    pub rootless: bool,
    pub isolation: &'a str,
    /// containers.conf `[containers] netns`.
    pub netns: Option<&'a str>,
    /// `exec.LookPath("slirp4netns")`: PATH only, not the helper dirs.
    pub slirp4netns_in_path: bool,
    pub podman5: bool,
    /// containers.conf `[network] default_rootless_network_cmd`.
    pub rootless_cmd: Option<&'a str>,
    /// containers.conf `[network] network_backend`.
    pub backend_conf: Option<&'a str>,
    /// `<graphroot>/defaultNetworkBackend`, podman's cached choice.
    pub backend_cached: Option<&'a str>,
    /// The netavark helper binary exists.
    pub netavark: bool,
}

/// The network a RUN step gets: `mode` is `host`, `none`, `pasta`,
/// `slirp4netns` or `bridge`; `backend` (`netavark`, `cni`) for a bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub mode: String,
    pub backend: Option<String>,
}

/// Buildah's rule: chroot isolation and `netns = "host"` share the job's
/// network; rootless isolation without slirp4netns in PATH falls back to
/// the host network (only slirp4netns is looked for, on 4.3 and 5.4 alike);
/// otherwise rootless gets a helper (4.x slirp4netns, 5.x the configured
/// command, pasta by default) and rootful a bridge of the network backend.
pub fn network(n: &NetInputs) -> Network {
    let plain = |mode: &str| Network {
        mode: mode.to_string(),
        backend: None,
    };
    let named = n
        .netns
        .map(|v| v.split(':').next().unwrap_or(v))
        .filter(|v| matches!(*v, "host" | "none" | "pasta" | "slirp4netns"));
    if n.isolation == "chroot" {
        return plain("host");
    }
    if let Some(mode) = named {
        return plain(mode);
    }
    if n.rootless {
        if n.isolation == "rootless" && !n.slirp4netns_in_path {
            return plain("host");
        }
        return plain(match (n.podman5, n.rootless_cmd) {
            (false, _) => "slirp4netns",
            (true, Some("slirp4netns")) => "slirp4netns",
            (true, _) => "pasta",
        });
    }
    Network {
        mode: "bridge".into(),
        backend: Some(backend(n).into()),
    }
}

/// containers/common `NetworkBackend`: the setting, else the cached choice,
/// else (4.x) CNI when the netavark binary is missing; 5.x knows only
/// netavark (a cached `cni` is migrated).
fn backend(n: &NetInputs) -> &'static str {
    let pick = n.backend_conf.or(n.backend_cached).map(str::trim);
    match pick {
        _ if n.podman5 => "netavark",
        Some("cni") => "cni",
        Some("netavark") => "netavark",
        _ if n.netavark => "netavark",
        _ => "cni",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_decides_the_network_from_the_observed_inputs() {
        use crate::decide::{plan, Observed};
        assert_eq!(plan(&Observed::default()).network, "unknown");
        let inputs = NetInputs {
            rootless: true,
            isolation: "rootless",
            slirp4netns_in_path: true,
            podman5: true,
            ..NetInputs::default()
        };
        let with = |n: NetInputs| {
            plan(&Observed {
                network: Some(n),
                ..Observed::default()
            })
            .network
        };
        assert_eq!(with(inputs), "pasta");
        // The job's routed fix (`netns = "host"`) is an input like any other.
        assert_eq!(
            with(NetInputs {
                netns: Some("host"),
                ..inputs
            }),
            "host"
        );
    }

    #[test]
    fn network_follows_buildah() {
        let base = NetInputs {
            rootless: true,
            isolation: "rootless",
            slirp4netns_in_path: true,
            podman5: true,
            netavark: true,
            ..NetInputs::default()
        };
        let mode = |n: NetInputs| network(&n).mode;
        assert_eq!(mode(base), "pasta");
        assert_eq!(
            mode(NetInputs {
                rootless_cmd: Some("slirp4netns"),
                ..base
            }),
            "slirp4netns"
        );
        // No slirp4netns in PATH: host network, on 4.x and 5.x, pasta or not.
        let noslirp = NetInputs {
            slirp4netns_in_path: false,
            ..base
        };
        assert_eq!(mode(noslirp), "host");
        assert_eq!(
            mode(NetInputs {
                podman5: false,
                ..noslirp
            }),
            "host"
        );
        // Only rootless isolation falls back.
        assert_eq!(
            mode(NetInputs {
                isolation: "oci",
                ..noslirp
            }),
            "pasta"
        );
        assert_eq!(
            mode(NetInputs {
                podman5: false,
                ..base
            }),
            "slirp4netns"
        );
        assert_eq!(
            mode(NetInputs {
                isolation: "chroot",
                ..base
            }),
            "host"
        );
        assert_eq!(
            mode(NetInputs {
                netns: Some("host"),
                ..base
            }),
            "host"
        );
        assert_eq!(
            mode(NetInputs {
                netns: Some("slirp4netns:mtu=1500"),
                ..base
            }),
            "slirp4netns"
        );
        // Rootful: 4.x without the netavark helper takes CNI.
        let root = NetInputs {
            rootless: false,
            isolation: "oci",
            podman5: false,
            netavark: false,
            ..base
        };
        let bridge = |n: NetInputs| network(&n).backend.unwrap();
        assert_eq!(mode(root), "bridge");
        assert_eq!(bridge(root), "cni");
        assert_eq!(
            bridge(NetInputs {
                netavark: true,
                ..root
            }),
            "netavark"
        );
        assert_eq!(
            bridge(NetInputs {
                netavark: true,
                backend_cached: Some("cni\n"),
                ..root
            }),
            "cni"
        );
        assert_eq!(
            bridge(NetInputs {
                backend_conf: Some("netavark"),
                ..root
            }),
            "netavark"
        );
        assert_eq!(
            bridge(NetInputs {
                podman5: true,
                backend_cached: Some("cni"),
                ..root
            }),
            "netavark"
        );
    }
}
