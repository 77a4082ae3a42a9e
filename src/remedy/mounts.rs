//! Runner-side remedies of the mounts area, per executor: a /proc podman
//! can mount, and a seccomp profile that lets crun make its keyring.

use super::runner::RunnerFix;

/// `mounts.proc`: the build container's /proc is masked.
pub const PROC_UNMASKED: RunnerFix = RunnerFix {
    lead: "Runner admin: give the build container an unmasked /proc.",
    kubernetes: "Kubernetes: `privileged = true` in [runners.kubernetes], or a \
[[runners.kubernetes.pod_spec]] patch setting the build container's \
`securityContext.procMount: Unmasked` (needs the ProcMountType feature and `hostUsers: false`, \
with FF_USE_ADVANCED_POD_SPEC_CONFIGURATION=true).",
    openshift: "OpenShift: an SCC with `allowPrivilegedContainer: true` for the runner's \
service account, then `privileged = true` as for Kubernetes; or `procMount: Unmasked` where the \
cluster enables ProcMountType and user namespaces.",
    docker: "Docker executor: `security_opt = [\"systempaths=unconfined\"]` in [runners.docker] \
(or `privileged = true`).",
    node: "",
    id: "mounts.proc",
};

/// `mounts.keyring`: seccomp refuses keyctl, so crun cannot make the
/// container's session keyring.
pub const KEYCTL_SECCOMP: RunnerFix = RunnerFix {
    lead: "Runner admin: seccomp Unconfined, or a profile that allows keyctl.",
    kubernetes: "Kubernetes: \
`[runners.kubernetes.build_container_security_context.seccomp_profile] type = \"Unconfined\"`.",
    openshift: "OpenShift: an SCC allowing `seccompProfiles: [\"unconfined\"]`, then the \
Kubernetes setting above.",
    docker: "Docker executor: `security_opt = [\"seccomp:unconfined\"]` in [runners.docker].",
    node: "",
    id: "mounts.keyring",
};
