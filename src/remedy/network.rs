//! Runner-side remedies of the network area, per executor.

use super::runner::RunnerFix;

/// `network.config_dir` when the job has no directory of its own to move
/// network_config_dir to: a writable volume, per executor.
pub const NETWORKS_VOLUME: RunnerFix = RunnerFix {
    lead: "Mount a writable volume at /etc/containers/networks for rootful podman's network \
definitions.",
    kubernetes: "Kubernetes: in config.toml `[[runners.kubernetes.volumes.empty_dir]] name = \
\"podman-networks\" mount_path = \"/etc/containers/networks\"`, or drop \
read_only_root_filesystem.",
    openshift: "OpenShift: the same emptyDir under [[runners.kubernetes.volumes.empty_dir]] in \
config.toml (restricted-v2 allows emptyDir volumes).",
    docker: "Docker executor: in config.toml `volumes = [\"/etc/containers/networks\"]` under \
[runners.docker].",
    node: "Or in the image: `network_config_dir` in /etc/containers/containers.conf pointing at a \
writable directory.",
    id: "network.config_dir",
};

/// `network.uts`: seccomp allows sethostname only with CAP_SYS_ADMIN.
/// The executors' snippets are the keyring's: the same seccomp setting.
pub const UTS_SECCOMP: RunnerFix = RunnerFix {
    lead: "Runner admin: seccomp Unconfined for the build container.",
    id: "network.uts",
    ..super::mounts::KEYCTL_SECCOMP
};

/// `network.run`: a rootless network helper wants /dev/net/tun.
pub const NET_TUN: RunnerFix = RunnerFix {
    lead: "Or expose /dev/net/tun to the build container.",
    kubernetes: "Kubernetes: a device plugin for /dev/net/tun, or on CRI-O the annotation \
io.kubernetes.cri-o.Devices.",
    openshift: "OpenShift (CRI-O): the annotation io.kubernetes.cri-o.Devices = \"/dev/net/tun\" \
(allowed by the node's CRI-O config), or a device plugin.",
    docker: "Docker executor: `devices = [\"/dev/net/tun\"]` in [runners.docker].",
    node: "",
    id: "network.run",
};
