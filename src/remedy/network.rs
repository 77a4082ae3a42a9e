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
