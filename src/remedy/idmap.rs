//! The idmap area's runner-side remedies, one snippet per executor
//! (`remedy::runner`): what lets newuidmap/newgidmap (or root podman
//! itself) write the maps of podman's user namespace.

use super::runner::RunnerFix;

/// `idmap.nnp`: no_new_privs voids the setuid bit and file capabilities.
pub const NNP: RunnerFix = RunnerFix {
    lead: "Let the build container gain privileges (no_new_privs off), so the setuid or \
file-capability helpers work.",
    kubernetes: "Kubernetes: in config.toml remove `allow_privilege_escalation = false` from \
[runners.kubernetes] (or set `allow_privilege_escalation = true`).",
    openshift: "OpenShift: an SCC with allowPrivilegeEscalation: true (anyuid, or the \
nested-podman SCC), and `allow_privilege_escalation = true` under [runners.kubernetes] in \
config.toml.",
    docker: "Docker executor: no `no-new-privileges` in `security_opt` under [runners.docker] in \
config.toml (nor `\"no-new-privileges\": true` in the node's /etc/docker/daemon.json).",
    node: "Or run the job as root without privileged (`run_as_user = 0`; docker executor \
`user = \"0\"`): podman then maps /proc/self/uid_map itself and needs no setuid helper (GitLab's \
root recipe).",
    id: "idmap.nnp",
};

/// `idmap.bounding` for a non-root job: the helpers can only gain what the
/// bounding set allows.
pub const CAP_ADD_HELPERS: RunnerFix = RunnerFix {
    lead: "Keep CAP_SETUID and CAP_SETGID in the build container's bounding set.",
    kubernetes: "Kubernetes: in config.toml `cap_add = [\"SETUID\", \"SETGID\"]` under \
[runners.kubernetes], and neither in `cap_drop`.",
    openshift: "OpenShift: bind the service account to anyuid (adds SETUID/SETGID) or a custom \
SCC with allowedCapabilities: [SETUID, SETGID], and `cap_add = [\"SETUID\", \"SETGID\"]` under \
[runners.kubernetes] in config.toml.",
    docker: "Docker executor: in config.toml `cap_add = [\"SETUID\", \"SETGID\"]` under \
[runners.docker], and neither in `cap_drop`.",
    node: "Node admin: a container runtime whose default capabilities keep SETUID and SETGID \
(containerd's and CRI-O's defaults do).",
    id: "idmap.bounding",
};

/// `idmap.bounding` / `idmap.map` for root without CAP_SYS_ADMIN: podman
/// writes the maps itself and needs SETUID, SETGID and SETFCAP effective.
pub const CAP_ADD_ROOT: RunnerFix = RunnerFix {
    lead: "Give the root build container CAP_SETUID, CAP_SETGID and CAP_SETFCAP (none of them \
dropped), or run it privileged (podman then runs rootful).",
    kubernetes: "Kubernetes: in config.toml `cap_add = [\"SETUID\", \"SETGID\", \"SETFCAP\"]` \
under [runners.kubernetes] (and none of them in `cap_drop`), or `privileged = true`.",
    openshift: "OpenShift: a custom SCC with allowedCapabilities: [SETUID, SETGID, SETFCAP] (or \
the privileged SCC), and `cap_add = [\"SETUID\", \"SETGID\", \"SETFCAP\"]` under \
[runners.kubernetes] in config.toml.",
    docker: "Docker executor: in config.toml `cap_add = [\"SETUID\", \"SETGID\", \"SETFCAP\"]` \
under [runners.docker] (and none of them in `cap_drop`), or `privileged = true`.",
    node: "Node admin: nothing on the node; SETFCAP is needed to map uid 0 from kernel 5.12 on.",
    id: "idmap.bounding",
};

/// `idmap.gid`: the helpers refuse a process whose gid is not its passwd
/// entry's. `{uid}`, `{gid}` (the job's) and `{pw_gid}` (the entry's).
pub const RUN_AS_GROUP: RunnerFix = RunnerFix {
    lead: "Run the job with the image user's own group (gid {pw_gid}), not gid {gid}.",
    kubernetes: "Kubernetes: in config.toml `run_as_group = {pw_gid}` under \
[runners.kubernetes.pod_security_context].",
    openshift: "OpenShift: `run_as_group = {pw_gid}` under \
[runners.kubernetes.pod_security_context] in config.toml (OpenShift starts arbitrary uids with \
gid 0 otherwise).",
    docker: "Docker executor: in config.toml `user = \"{uid}:{pw_gid}\"` under [runners.docker].",
    node: "Or in the image give the user gid {gid} (`RUN usermod -g {gid} USER`).",
    id: "idmap.gid",
};

/// `idmap.map` when the user namespace itself was refused (seccomp,
/// sysctls): the mapping never got a chance.
pub const USERNS_REFUSED: RunnerFix = RunnerFix {
    lead: "User namespaces are refused here (see userns.create): let the build container \
create them.",
    kubernetes: "Kubernetes: in config.toml \
`[runners.kubernetes.build_container_security_context.seccomp_profile] type = \"Unconfined\"`, or \
`privileged = true`.",
    openshift: "OpenShift: an SCC whose seccompProfiles allow `unconfined` (the privileged SCC \
does), then `[runners.kubernetes.build_container_security_context.seccomp_profile] type = \
\"Unconfined\"` in config.toml.",
    docker: "Docker executor: in config.toml `security_opt = [\"seccomp:unconfined\"]` under \
[runners.docker], or `privileged = true`.",
    node: "Node admin: `sysctl user.max_user_namespaces` must be above 0.",
    id: "idmap.map",
};

/// `idmap.setuid_sys_admin`: setuid-root helpers need CAP_SYS_ADMIN; the
/// image fix (file capabilities) is the lead, the runner's the alternative.
pub const SETUID_SYS_ADMIN: RunnerFix = RunnerFix {
    lead: "In the image, give the helpers file capabilities instead of the setuid bit (they then \
write the maps as the namespace's owner and need no CAP_SYS_ADMIN): `RUN chmod u-s \
/usr/bin/newuidmap /usr/bin/newgidmap && setcap cap_setuid=ep /usr/bin/newuidmap && setcap \
cap_setgid=ep /usr/bin/newgidmap` (needs libcap2-bin).",
    kubernetes: "Or, runner admin (Kubernetes): in config.toml `privileged = true` (GitLab's \
rootless recipe) or `cap_add = [\"SYS_ADMIN\"]` under [runners.kubernetes].",
    openshift: "Or, OpenShift: the privileged SCC (or one allowing SYS_ADMIN) with \
`privileged = true` or `cap_add = [\"SYS_ADMIN\"]` under [runners.kubernetes] in config.toml.",
    docker: "Or, runner admin (docker executor): in config.toml `privileged = true` or \
`cap_add = [\"SYS_ADMIN\"]` under [runners.docker].",
    node: "Node admin: nothing on the node; the kernel wants CAP_SYS_ADMIN for a setuid-root \
helper's uid_map write.",
    id: "idmap.setuid_sys_admin",
};

/// `idmap.map` for root in a user namespace of its own without sub-id
/// ranges, when the job cannot add them itself.
pub const ROOT_RANGES: RunnerFix = RunnerFix {
    lead: "In the image: `RUN echo root:1:65535 >> /etc/subuid && echo root:1:65535 >> \
/etc/subgid` (ranges inside the ids the pod maps, without 0), with uidmap installed.",
    kubernetes: "Or, runner admin (Kubernetes): run the build pod outside a user namespace (no \
`hostUsers: false` in its pod spec), or `privileged = true` under [runners.kubernetes] in \
config.toml.",
    openshift: "Or, OpenShift: no `hostUsers: false` (user-namespace SCC) for the build pod, or \
the privileged SCC with `privileged = true` under [runners.kubernetes] in config.toml.",
    docker: "Or, runner admin (docker executor): in config.toml `userns_mode = \"host\"` under \
[runners.docker] (the daemon's userns-remap otherwise applies), or `privileged = true`.",
    node: "Node admin: or no user-namespace remapping for build containers (docker \
`userns-remap`, Kubernetes user namespaces).",
    id: "idmap.map",
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remedy::runner::Executor;

    #[test]
    fn each_executor_gets_its_own_snippet_and_the_gid_is_filled_in() {
        let vars = [("uid", "1000"), ("gid", "0"), ("pw_gid", "1000")];
        let k8s = RUN_AS_GROUP.text_with(Executor::Kubernetes, &vars);
        assert!(k8s.contains("`run_as_group = 1000`"), "{k8s}");
        assert!(
            !k8s.contains("[runners.docker]") && !k8s.contains('{'),
            "{k8s}"
        );
        let docker = RUN_AS_GROUP.text_with(Executor::Docker, &vars);
        assert!(docker.contains("`user = \"1000:1000\"`"), "{docker}");
        assert!(docker.contains("usermod -g 0 USER"), "{docker}");
        let all = NNP.text(Executor::Unknown);
        for part in [
            "allow_privilege_escalation",
            "SCC",
            "no-new-privileges",
            "root recipe",
        ] {
            assert!(all.contains(part), "{part}: {all}");
        }
        let ocp = CAP_ADD_HELPERS.text(Executor::OpenShift);
        assert!(ocp.contains("anyuid") && !ocp.contains("[runners.docker]"));
    }
}
