//! Runner remedies of the caps area, one snippet per executor: giving the
//! build container the capabilities the setuid helpers need, and starting
//! it without no_new_privs. The caps area decides when they apply.

use super::runner::RunnerFix;

/// SETUID/SETGID/SETFCAP missing from the bounding set. `{caps}`: the
/// missing ones' short names (`SETUID, SETGID`); `{quoted}`: the same as a
/// TOML list's items (`"SETUID", "SETGID"`).
pub const ADD_HELPER_CAPS: RunnerFix = RunnerFix {
    lead: "If podman must map several uids: add {caps} to the build container.",
    kubernetes: "Kubernetes executor: `cap_add = [{quoted}]` in [runners.kubernetes] (and none of \
them in `cap_drop`).",
    openshift: "OpenShift: the anyuid SCC or a custom SCC with allowedCapabilities [{caps}] for \
the runner's service account, then `cap_add = [{quoted}]` in [runners.kubernetes].",
    docker: "Docker executor: `cap_add = [{quoted}]` in [runners.docker] (and none of them in \
`cap_drop`).",
    node: "Nothing inside the job can widen the bounding set: it is fixed when the container \
starts.",
    id: "caps.bounding",
};

/// `NoNewPrivs: 1` for a job that needs the setuid newuidmap/newgidmap.
pub const ALLOW_ESCALATION: RunnerFix = RunnerFix {
    lead: "Start the build container without no_new_privs, so newuidmap/newgidmap can use their \
setuid bit.",
    kubernetes: "Kubernetes executor: remove `allow_privilege_escalation = false` (or set it to \
true) in [runners.kubernetes] / the pod's securityContext.",
    openshift: "OpenShift: restricted-v2 sets allowPrivilegeEscalation: false; bind the runner's \
service account to an SCC with allowPrivilegeEscalation: true (anyuid, or the nested-podman SCC) \
and remove `allow_privilege_escalation = false` in [runners.kubernetes].",
    docker: "Docker executor: no `no-new-privileges` in `security_opt` in [runners.docker].",
    node: "Or run the job as root without privileged (GitLab's root recipe): as uid 0 podman \
maps /proc/self/uid_map itself and needs no setuid helper.",
    id: "caps.no_new_privs",
};
