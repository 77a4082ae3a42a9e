//! The config area's checks: ids, titles, explanations and the podman
//! errors each explains (`explain ID`).

use crate::model::Spec;

pub const SPECS: &[Spec] = &[
    Spec {
        id: "config.containers_conf",
        title: "containers.conf files parse",
        explain: "Podman reads /usr/share/containers/containers.conf, /etc/containers/containers.conf, \
/etc/containers/containers.conf.d/*.conf, the user's $XDG_CONFIG_HOME/containers/containers.conf (or \
$HOME/.config/…) and its containers.conf.d/*.conf (rootless always, root with podman 5), or only \
$CONTAINERS_CONF when set, and $CONTAINERS_CONF_OVERRIDE last. One TOML error anywhere and every podman \
command fails. Fix the line named in the finding, or remove the file.",
        signatures: &[
            "Failed to obtain podman configuration",
            "decode configuration",
            "reading system config",
            "CONTAINERS_CONF file",
        ],
    },
    Spec {
        id: "config.storage_conf",
        title: "storage.conf parses",
        explain: "containers/storage reads $CONTAINERS_STORAGE_CONF, else (rootless) the user's \
$XDG_CONFIG_HOME/containers/storage.conf, else /etc/containers/storage.conf or \
/usr/share/containers/storage.conf. A TOML error there makes podman fail before anything runs. Fix the \
line named in the finding, or remove the file.",
        signatures: &["Failed to decode the keys", "storage.conf", "toml: line"],
    },
    Spec {
        id: "config.cgroup_manager",
        title: "cgroup manager usable without systemd",
        explain: "cgroup_manager = \"systemd\" needs systemd and D-Bus, which a job container does not \
have (/run/systemd/system is missing). Rootful podman then fails (`cannot open sd-bus`); rootless \
podman warns and falls back to cgroupfs. Fix: a containers.conf drop-in with [engine] \
cgroup_manager = \"cgroupfs\" (podrun-doctor writes it).",
        signatures: &[
            "cannot open sd-bus",
            "systemd cgroup flag passed, but systemd support for managing cgroups is not available",
            "The cgroupv2 manager is set to systemd but there is no systemd user session available",
            "Falling back to --cgroup-manager=cgroupfs",
        ],
    },
    Spec {
        id: "config.events_logger",
        title: "events logger usable without journald",
        explain: "events_logger = \"journald\" in a container without /run/systemd/journal/socket makes \
podman log `unable to write system event` for every event (older podman refuses to start). Fix: a \
drop-in with [engine] events_logger = \"file\" (podrun-doctor writes it).",
        signatures: &[
            "unable to write system event",
            "unable to write pod event",
            "Unable to write image event",
            "No support for journald logging",
        ],
    },
    Spec {
        id: "config.runtime",
        title: "configured OCI runtime exists",
        explain: "RUN steps use [engine] runtime (default crun, else runc). A configured runtime that is \
not installed makes every RUN fail; podrun-doctor then writes a drop-in naming the runtime that is \
installed. crun also refuses the systemd hybrid cgroup layout with controllers on v2 (`cgroups in \
hybrid mode not supported`): podrun-doctor then configures runc when it is installed (keeps OCI \
isolation), else exports BUILDAH_ISOLATION=chroot. When /etc and HOME are read-only the setting goes \
into a file of the job's own, exported as CONTAINERS_CONF_OVERRIDE (podman >= 4.5) or as \
CONTAINERS_CONF holding a copy of the whole configuration (older podman ignores the override).",
        signatures: &[
            "default OCI runtime",
            "not found in",
            "no valid executable found for OCI runtime",
            "cgroups in hybrid mode not supported",
        ],
    },
    Spec {
        id: "config.ulimits",
        title: "container ulimits within the job's hard limits",
        explain: "Without CAP_SYS_RESOURCE a process cannot raise a hard limit. [containers] \
default_ulimits above the job's hard limits (and, for rootful podman 5, its implicit nofile/nproc of \
1048576) make crun/runc fail at setrlimit for every RUN. Fix: a drop-in with default_ulimits within the \
hard limits (podrun-doctor writes it), or raise the limits / add SYS_RESOURCE on the runner side.",
        signatures: &[
            "setrlimit `RLIMIT_NOFILE`: Operation not permitted",
            "setrlimit `RLIMIT_NPROC`: Operation not permitted",
            "error setting rlimit type 7: operation not permitted",
            "setrlimit `RLIMIT_NOFILE`: Invalid argument",
        ],
    },
    Spec {
        id: "config.capabilities",
        title: "default capabilities within the bounding set (rootful)",
        explain: "Rootful podman gives every RUN step [containers] default_capabilities (podman's 11 by \
default: CHOWN DAC_OVERRIDE FOWNER FSETID KILL NET_BIND_SERVICE SETFCAP SETGID SETPCAP SETUID \
SYS_CHROOT). A capability the job's bounding set lacks (a runner that drops KILL or NET_BIND_SERVICE) \
cannot be granted: verified with podman 4.3 and 5.4 (chroot isolation), `error setting capabilities \
for process: setting capabilities: operation not permitted`. Rootless podman is not affected (a new \
user namespace starts with a full bounding set). Fix: a drop-in listing only the capabilities the \
bounding set has (podrun-doctor writes it), or cap_add on the runner side.",
        signatures: &[
            "error setting capabilities for process",
            "setting capabilities: operation not permitted",
            "apply caps: operation not permitted",
        ],
    },
    Spec {
        id: "config.sysctls",
        title: "default sysctls settable in a nested container",
        explain: "The shipped default_sysctls = [\"net.ipv4.ping_group_range=0 0\"] is written into each \
container's network namespace; in a nested container /proc/sys is read-only (or gid 0 is not mapped) \
and the write fails. Fix: [containers] default_sysctls = [] in a drop-in (podrun-doctor writes it).",
        signatures: &[
            "ping_group_range",
            "is not allowed in the hosts network namespace",
        ],
    },
    Spec {
        id: "config.nofile_soft",
        title: "RUN steps get enough open files (podman 4)",
        explain: "Podman 4 (buildah 1.28) gives RUN steps the job's own soft RLIMIT_NOFILE. Docker >= 25 and \
containerd 2 start containers with a soft limit of 1024, so a RUN that opens more files fails with `Too \
many open files`; most builds do not. Raising the job's soft limit (`ulimit -n`) does not reach the RUN \
(verified). Fix: [containers] default_ulimits = [\"nofile=H:H\"] with H the hard limit, in a drop-in \
(podrun-doctor writes it); podman 5 raises the soft limit itself.",
        signatures: &["Too many open files", "too many open files"],
    },
    Spec {
        id: "config.policy",
        title: "policy.json is readable",
        explain: "containers/image reads $HOME/.config/containers/policy.json, else \
/etc/containers/policy.json, when a build commits its image. A file left 0600 by a umask-077 image build \
makes every build fail at commit (`obtaining default signature policy`). Fix: the job writes the \
distribution's default policy as the user's file (podrun-doctor does); in the image, chmod 0644.",
        signatures: &["obtaining default signature policy", "policy.json"],
    },
    Spec {
        id: "config.registries",
        title: "registries.conf is readable",
        explain: "registries.conf is read to resolve and pull images; a FROM scratch build never reads it. \
An unreadable one (0600 from a umask-077 image build) makes pulls fail. Fix in the image: chmod 0644.",
        signatures: &["registries.conf"],
    },
];
