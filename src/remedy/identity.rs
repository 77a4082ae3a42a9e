//! The identity area's runner remedies, one snippet per executor: a HOME
//! of the job's own, and a uid the image knows. The area picks the
//! executor (`Executor::of`); `explain ID` lists every snippet.

use super::runner::RunnerFix;

/// A HOME on a volume of the job's own, when the job cannot make one.
pub const HOME_VOLUME: RunnerFix = RunnerFix {
    lead: "Give the job a HOME of its own on a writable volume.",
    kubernetes: "Kubernetes, in config.toml: `environment = [\"HOME=/build_home\"]` and an \
emptyDir mounted there (`[[runners.kubernetes.volumes.empty_dir]] name = \"home\" mount_path = \
\"/build_home\"`), or mount the emptyDir at the image's home directory.",
    openshift: "OpenShift: the same emptyDir and `environment` under [runners.kubernetes] \
(an emptyDir is writable by the arbitrary uid).",
    docker: "Docker executor: `environment = [\"HOME=/build_home\"]` in [[runners]], with \
/build_home a directory of the job's uid in the image (`RUN install -d -o <uid> /build_home`).",
    node: "",
    id: "home.set",
};

/// Run the job as a uid the image has a passwd entry for; the snippets the
/// other uid remedies share.
pub const KNOWN_UID: RunnerFix = RunnerFix {
    lead: "Run the job as a uid the image knows, or ship a named passwd entry for the job's \
uid in the image.",
    kubernetes:
        "Kubernetes, in config.toml: `[runners.kubernetes.build_container_security_context] \
run_as_user = 1000`.",
    openshift: "OpenShift: `[runners.kubernetes.build_container_security_context] run_as_user = \
1000`, with the runner's service account bound to an SCC that allows it (e.g. anyuid).",
    docker: "Docker executor: `user = \"1000\"` under [runners.docker] in config.toml.",
    node: "",
    id: "identity.user_env",
};

/// No passwd entry and /etc/passwd closed to the job: the image opens it
/// (OpenShift's gid 0) or the runner picks a known uid.
pub const PASSWD_ENTRY: RunnerFix = RunnerFix {
    lead: "Build the image with `RUN chmod g=u /etc/passwd /etc/subuid /etc/subgid` (OpenShift \
runs the job with gid 0, so the job can then add its own entry), or run the job as a uid the image \
knows:",
    node: "Image: or add the job's uid to /etc/passwd, /etc/subuid and /etc/subgid at build time.",
    id: "identity.passwd",
    ..KNOWN_UID
};

/// An OpenShift arbitrary uid: an SCC that lets the job run as a known uid.
pub const OPENSHIFT_UID: RunnerFix = RunnerFix {
    lead: "Run the job as a uid the image knows, with the capabilities rootless podman needs.",
    openshift: "OpenShift: bind the runner's service account to the `anyuid` SCC and set \
`[runners.kubernetes.build_container_security_context] run_as_user = 1000`, or use a custom SCC like \
Red Hat's nested-podman example (allowPrivilegeEscalation: true, allowedCapabilities: [SETUID, \
SETGID], runAsUser: MustRunAs 1000, seLinuxOptions.type: container_engine_t).",
    node: "Image: `RUN chmod g=u /etc/passwd /etc/subuid /etc/subgid`.",
    id: "identity.openshift",
    ..KNOWN_UID
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remedy::runner::Executor;

    #[test]
    fn each_executor_gets_its_own_snippet() {
        for fix in [HOME_VOLUME, KNOWN_UID, PASSWD_ENTRY, OPENSHIFT_UID] {
            let docker = fix.text(Executor::Docker);
            assert!(docker.contains("[runners.docker]") || docker.contains("[[runners]]"));
            assert!(!docker.contains("runners.kubernetes"), "{docker}");
            let k8s = fix.text(Executor::Kubernetes);
            assert!(k8s.contains("runners.kubernetes") && !k8s.contains("runners.docker"));
            assert!(k8s.contains(&format!("explain {}", fix.id)));
            let all = fix.text(Executor::Unknown);
            assert!(all.contains(fix.kubernetes) && all.contains(fix.docker));
        }
        let ocp = OPENSHIFT_UID.text(Executor::OpenShift);
        assert!(ocp.contains("anyuid") && ocp.contains("container_engine_t"));
    }
}
