//! The storage.conf this tool writes when it moves or switches the store,
//! rendered through the TOML renderer so a path with a quote or a
//! backslash still reads back as that path.

//!
//! Also the runner-side remedies of the storage area, one snippet per
//! executor (`runner::RunnerFix`): where the job itself has no place for
//! the store, the runtime directory or TMPDIR, the runner gives it one.

use super::runner::RunnerFix;
use crate::formats::toml::{render_settings, Value};

/// No writable place for podman's runtime directory.
pub const RUNTIME_DIR_PLACE: RunnerFix = RunnerFix {
    lead: "No writable place for a runtime directory: give the job a writable /tmp (or set \
TMPDIR to a writable volume) in the runner configuration.",
    kubernetes: "Kubernetes: an emptyDir at /tmp, in config.toml `[[runners.kubernetes.volumes.empty_dir]]` \
with `name = \"tmp\"` and `mount_path = \"/tmp\"`.",
    openshift: "OpenShift: the same emptyDir under [runners.kubernetes] (the restricted SCCs allow \
emptyDir volumes).",
    docker: "Docker executor: `volumes = [\"/tmp\"]` (or `tmpfs = {\"/tmp\" = \"rw,exec\"}`) under \
[runners.docker].",
    node: "Any executor: or `environment = [\"TMPDIR=<a writable volume>\"]` under [[runners]].",
    id: "storage.runtime_dir",
};

/// TMPDIR (or /var/tmp) unusable and no other place with room.
pub const TMPDIR_PLACE: RunnerFix = RunnerFix {
    lead: "Mount a volume with room and set TMPDIR to it in the runner `environment`.",
    kubernetes: "Kubernetes: `[[runners.kubernetes.volumes.empty_dir]]` with `name = \"tmp\"`, \
`mount_path = \"/var/tmp\"` (an emptyDir on the node's disk, not `medium = \"Memory\"`).",
    openshift:
        "OpenShift: the same emptyDir under [runners.kubernetes] (the restricted SCCs allow \
emptyDir volumes).",
    docker: "Docker executor: `volumes = [\"/var/tmp\"]` under [runners.docker].",
    node: "Then `environment = [\"TMPDIR=/var/tmp\"]` under [[runners]].",
    id: "storage.tmpdir",
};

/// The store fits nowhere the job can write.
pub const STORE_ROOM: RunnerFix = RunnerFix {
    lead: "No place with room for the store here ({why}): give the job a larger volume at the \
storage path.",
    kubernetes: "Kubernetes: a larger emptyDir (`size_limit = \"20Gi\"` in its \
`[[runners.kubernetes.volumes.empty_dir]]`) or more ephemeral storage \
(`ephemeral_storage_request`/`ephemeral_storage_limit` under [runners.kubernetes]).",
    openshift: "OpenShift: the same, within the project's LimitRange/ResourceQuota for \
`ephemeral-storage`.",
    docker: "Docker executor: a volume on a disk with room, `volumes = [\"/var/lib/containers\"]` \
under [runners.docker].",
    node: "Node admin: room on the node's disk (kubelet's or docker's data directory).",
    id: "storage.graphroot",
};

/// No writable place for the store at all.
pub const STORE_PLACE: RunnerFix = RunnerFix {
    lead: "No writable place for the store here: mount a volume at /var/lib/containers (rootful) \
or at the job's HOME (rootless), or set CI_BUILDS_DIR / TMPDIR to a writable volume.",
    kubernetes:
        "Kubernetes: `[[runners.kubernetes.volumes.empty_dir]]` with `name = \"storage\"` and \
`mount_path` at the storage path.",
    openshift:
        "OpenShift: the same emptyDir under [runners.kubernetes] (the restricted SCCs allow \
emptyDir volumes).",
    docker: "Docker executor: `volumes = [\"/var/lib/containers\"]` (or the job's HOME) under \
[runners.docker].",
    node: "Any executor: or `environment = [\"TMPDIR=<a writable volume>\"]` under [[runners]].",
    id: "storage.graphroot",
};

/// The store sits on NFS/SMB, which user namespaces break.
pub const STORE_LOCAL: RunnerFix = RunnerFix {
    lead: "Back the storage path with a local volume, not an NFS/SMB one.",
    kubernetes: "Kubernetes: an emptyDir (`[[runners.kubernetes.volumes.empty_dir]]`) at the \
storage path instead of the network volume.",
    openshift:
        "OpenShift: the same emptyDir under [runners.kubernetes] (the restricted SCCs allow \
emptyDir volumes).",
    docker: "Docker executor: a local volume (`volumes = [\"/var/lib/containers\"]` under \
[runners.docker]), not a bind mount of a network share.",
    node: "Node admin: keep the kubelet's or docker's data directory on a local disk.",
    id: "storage.graphroot",
};

/// Too few inodes where the store lives.
pub const STORE_INODES: RunnerFix = RunnerFix {
    lead: "Back the storage path with a volume that has more inodes.",
    kubernetes:
        "Kubernetes: an emptyDir on the node's disk (`[[runners.kubernetes.volumes.empty_dir]]` \
without `medium = \"Memory\"`) at the storage path.",
    openshift: "OpenShift: the same emptyDir under [runners.kubernetes].",
    docker: "Docker executor: `volumes = [\"/var/lib/containers\"]` under [runners.docker] (a \
volume on the docker host's disk, not a small tmpfs).",
    node: "Node admin: a filesystem with more inodes for the node's volumes.",
    id: "storage.graphroot",
};

/// Little room where the store lives.
pub const STORE_SPACE: RunnerFix = RunnerFix {
    lead: "Give the job more room at the storage path.",
    kubernetes: "Kubernetes: more ephemeral storage (`ephemeral_storage_request`/\
`ephemeral_storage_limit` under [runners.kubernetes]) or an emptyDir at the storage path.",
    openshift: "OpenShift: the same, within the project's LimitRange/ResourceQuota for \
`ephemeral-storage`.",
    docker: "Docker executor: a volume on a disk with room, `volumes = [\"/var/lib/containers\"]` \
under [runners.docker].",
    node: "Node admin: room on the node's disk.",
    id: "storage.graphroot",
};

/// `[storage]` with the driver, graphroot and runroot (`None`: podman's
/// own, which for rootless follows the runtime directory), and for an overlay
/// through a mount program its `[storage.options.overlay]` table (fsync off:
/// build layers are throwaway). `None` when the text would not read back.
pub fn storage_conf(
    driver: &str,
    graphroot: &str,
    runroot: Option<&str>,
    mount_program: Option<&str>,
) -> Option<String> {
    let s = |v: &str| Value::Str(v.to_string());
    let mut main = vec![
        ("storage.driver", s(driver)),
        ("storage.graphroot", s(graphroot)),
    ];
    if let Some(r) = runroot {
        main.push(("storage.runroot", s(r)));
    }
    let mut body = render_settings(main.iter().map(|(k, v)| (*k, v)))?;
    if let Some(mp) = mount_program {
        let overlay = [
            ("storage.options.overlay.mount_program", s(mp)),
            ("storage.options.overlay.mountopt", s("nodev,fsync=0")),
        ];
        body.push('\n');
        body.push_str(&render_settings(overlay.iter().map(|(k, v)| (*k, v)))?);
    }
    Some(body)
}

/// A job's switch to vfs works but is slow: the admin's ways to overlay.
pub const FASTER_STORE: RunnerFix = RunnerFix {
    lead: "Faster: mount an emptyDir at the storage path (native overlay) or expose /dev/fuse.",
    kubernetes: "Kubernetes: a fuse device plugin with `github.com/fuse: 1` in the build \
container's limits, or `[[runners.kubernetes.volumes.empty_dir]]` at the storage path.",
    openshift: "OpenShift: the fuse device plugin's resource (with an SCC that allows it), or an \
emptyDir at the storage path.",
    docker: "Docker executor: `devices = [\"/dev/fuse\"]` in [runners.docker], or a volume at \
the storage path.",
    node: "",
    id: "storage.driver",
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::toml::parse;

    #[test]
    fn runner_fixes_show_the_jobs_executor_and_name_their_check() {
        use crate::remedy::runner::Executor;
        let all = [
            RUNTIME_DIR_PLACE,
            TMPDIR_PLACE,
            STORE_ROOM,
            STORE_PLACE,
            STORE_LOCAL,
            STORE_INODES,
            STORE_SPACE,
        ];
        for fix in all {
            assert!(fix.id.starts_with("storage."), "{}", fix.id);
            let docker = fix.text(Executor::Docker);
            assert!(docker.contains("[runners.docker]"), "{docker}");
            assert!(!docker.contains("[runners.kubernetes"), "{docker}");
            assert!(docker.contains(&format!("explain {}", fix.id)), "{docker}");
            let k8s = fix.text(Executor::Kubernetes);
            assert!(k8s.contains("runners.kubernetes"), "{k8s}");
            assert!(!k8s.contains("[runners.docker]"), "{k8s}");
            let every = fix.text(Executor::Unknown);
            assert!(every.contains("[runners.docker]") && every.contains("OpenShift"));
        }
        let room = STORE_ROOM.text_with(Executor::OpenShift, &[("why", "/x has 1 KiB free")]);
        assert!(room.starts_with("No place with room for the store here (/x has 1 KiB free)"));
    }

    #[test]
    fn plain_paths_render_as_before_and_odd_ones_are_escaped() {
        assert_eq!(
            storage_conf("vfs", "/g", Some("/r"), None).unwrap(),
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"/g\"\nrunroot = \"/r\"\n"
        );
        let with_mp =
            storage_conf("overlay", "/g", Some("/r"), Some("/usr/bin/fuse-overlayfs")).unwrap();
        assert!(with_mp.ends_with(
            "\n\n[storage.options.overlay]\nmount_program = \"/usr/bin/fuse-overlayfs\"\nmountopt = \"nodev,fsync=0\"\n"
        ));
        let odd = storage_conf("vfs", "/b\"uild\\s", Some("/r"), None).unwrap();
        let doc = parse(&odd).unwrap();
        assert_eq!(doc.str("storage.graphroot"), Some("/b\"uild\\s"));
    }
}
