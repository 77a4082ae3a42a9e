//! Runner-side remedies of the lsm area: the AppArmor, seccomp and SELinux
//! settings of the build container, per executor.

use super::runner::RunnerFix;

/// AppArmor `deny mount` cannot be lifted from inside the job: the runner
/// (or the pod spec) must start the build container unconfined.
pub const APPARMOR_UNCONFINED: RunnerFix = RunnerFix {
    lead: "Run the build container unconfined by AppArmor (or privileged): its profile denies \
mount, and no job-side setting gets podman past that.",
    kubernetes: "Kubernetes >= 1.30: the build container's `securityContext.appArmorProfile: \
{type: Unconfined}`, in config.toml \
`[runners.kubernetes.build_container_security_context.app_armor_profile] type = \"Unconfined\"` \
(runner 18.11+); older clusters: the annotation \
`container.apparmor.security.beta.kubernetes.io/build: unconfined` (config.toml \
`pod_annotations = {\"container.apparmor.security.beta.kubernetes.io/build\" = \"unconfined\"}`).",
    openshift: "OpenShift: a SecurityContextConstraints that allows the pod's AppArmor profile \
`Unconfined` (or `allowPrivilegedContainer`), then the Kubernetes settings above.",
    docker: "Docker executor: `security_opt = [\"apparmor=unconfined\"]` under [runners.docker] \
in config.toml (or `privileged = true`).",
    node:
        "Node admin: or load a profile that allows mount and name it instead; on Ubuntu >= 23.10 \
nodes also check kernel.apparmor_restrict_unprivileged_userns.",
    id: "lsm.mount",
};

/// A seccomp filter (or missing capabilities) refuses mount: the runner
/// lifts the filter for the build container.
pub const SECCOMP_UNCONFINED: RunnerFix = RunnerFix {
    lead: "Allow mount in the build container: no job-side setting lifts a seccomp filter.",
    kubernetes: "Kubernetes, in config.toml: \
`[runners.kubernetes.build_container_security_context.seccomp_profile] type = \"Unconfined\"` (or \
`privileged = true` in [runners.kubernetes]).",
    openshift: "OpenShift: an SCC whose seccompProfiles allow \
`unconfined` (or `allowPrivilegedContainer`), then the Kubernetes setting above.",
    docker: "Docker executor: `security_opt = [\"seccomp:unconfined\"]` under [runners.docker] \
in config.toml (or `privileged = true`).",
    node: "If capabilities are missing instead (the caps rows), `privileged = true` covers both.",
    id: "lsm.mount",
};

/// SELinux `container_t` may not mount: a type that may.
pub const SELINUX_MOUNT_TYPE: RunnerFix = RunnerFix {
    lead: "Run the build container with an SELinux type that may mount.",
    kubernetes: "Kubernetes, in config.toml: \
`[runners.kubernetes.build_container_security_context] selinux_type = \"spc_t\"` (what privileged \
gives).",
    openshift: "OpenShift: `[runners.kubernetes.build_container_security_context] selinux_type = \
\"container_engine_t\"` with an SCC that allows it (Red Hat's nested-podman SCC \
`seLinuxOptions.type: container_engine_t`), or `spc_t` with a privileged SCC.",
    docker: "Docker executor: `security_opt = [\"label=disable\"]` under [runners.docker] in \
config.toml.",
    node: "Node admin: GitLab's documented alternative is to disable SELinux enforcement on the \
nodes.",
    id: "lsm.selinux",
};
