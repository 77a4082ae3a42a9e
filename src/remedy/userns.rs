//! Runner remedies of the userns area, one snippet per executor: a seccomp
//! filter that refuses `unshare(CLONE_NEWUSER)` without CAP_SYS_ADMIN is
//! lifted in the runner's config. (The node sysctls are one text for every
//! executor and stay in the area.)

use super::runner::RunnerFix;

/// The build container's seccomp profile refuses `unshare`.
pub const UNCONFINED_SECCOMP: RunnerFix = RunnerFix {
    lead: "Let the build container create user namespaces: seccomp `Unconfined`, or a \
`Localhost` profile that allows unshare, clone, mount, umount2, setns, keyctl, pivot_root.",
    kubernetes: "Kubernetes executor: \
`[runners.kubernetes.build_container_security_context.seccomp_profile] type = \"Unconfined\"`.",
    openshift: "OpenShift: an SCC whose seccompProfiles allow `unconfined` (restricted-v2 allows \
only runtime/default) for the runner's service account, then \
`[runners.kubernetes.build_container_security_context.seccomp_profile] type = \"Unconfined\"`.",
    docker: "Docker executor: `[runners.docker] security_opt = [\"seccomp:unconfined\"]`.",
    node: "Or run the build container privileged (`privileged = true` in the executor's section \
of config.toml).",
    id: "userns.create",
};

/// `unshare` refused although nothing points at seccomp alone.
pub const UNCONFINED_SECCOMP_OR_LSM: RunnerFix = RunnerFix {
    lead: "Let the build container create user namespaces: seccomp `Unconfined`, or a \
`Localhost` profile that allows unshare, clone, mount, umount2, setns, keyctl, pivot_root; if \
seccomp is already unconfined, check the AppArmor/SELinux policy of the build container.",
    ..UNCONFINED_SECCOMP
};
