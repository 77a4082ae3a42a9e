//! `explain -` against the exact error lines real podman printed in the
//! scenario matrix (tests/matrix/README.md): each must name the check that
//! explains it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use podrun_doctor::explain::match_log;

fn ids(line: &str) -> Vec<&'static str> {
    match_log(line).into_iter().map(|m| m.id).collect()
}

#[test]
fn every_failure_seen_in_the_matrix_is_explained() {
    let seen: &[(&str, &str)] = &[
        (
            "ERRO[0000] running `/usr/bin/newuidmap 24 0 1000 1 1 1 999 1000 1001 64535`: newuidmap: write to uid_map failed: Operation not permitted",
            "idmap.setuid_sys_admin",
        ),
        ("Error: cannot set up namespace using \"/usr/bin/newuidmap\": exit status 1", "idmap.map"),
        ("Error: cannot write uid_map: write /proc/24/uid_map: operation not permitted", "idmap.bounding"),
        ("open `/proc/sys/net/ipv4/ping_group_range`: Read-only file system", "config.sysctls"),
        ("fuse: device not found, try 'modprobe fuse' first", "fuse.device"),
        ("fuse: failed to open /dev/fuse: Permission denied", "storage.driver"),
        (
            "Error: invalid configuration: the specified mapping 1:65536 in \"/etc/subuid\" includes the user UID",
            "subid.overlap",
        ),
        (
            "copier: put: error setting ownership of \"/data/owned-by-2000\" to 2000:2000: lchown /data/owned-by-2000: invalid argument",
            "subid.size",
        ),
        (
            "WARN[0000] Using rootless single mapping into the namespace. This might break some images. Check /etc/subuid and /etc/subgid for adding sub*ids if not using a network user",
            "subid.entries",
        ),
        ("ERRO[0000] cannot find UID/GID for user podman: cannot read subids - check rootless mode in man pages.", "subid.entries"),
        ("Error: creating runtime static files directory: mkdir /.local: permission denied", "home.set"),
        ("stat /.config: no such file or directory", "home.set"),
        ("Failed to obtain podman configuration: lstat /run/user: no such file or directory", "storage.runtime_dir"),
        ("Error: building at STEP \"RUN …\": setup network: pasta failed with exit code 1:", "network.run"),
        ("Error: building at STEP \"RUN …\": netavark: No such file or directory (os error 2)", "network.run"),
        ("error running container: from /usr/bin/crun creating container for [/bin/sh -c …]: setrlimit `RLIMIT_NOFILE`: Operation not permitted", "config.ulimits"),
        ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2", "cgroups.hybrid"),
        (
            "error running container: from /usr/bin/crun creating container for [/bin/sh -c …]: sethostname: Operation not permitted",
            "network.uts",
        ),
        ("error running container: from /usr/bin/crun creating container for [/bin/sh -c …]: mount `proc` to `proc`: Operation not permitted", "mounts.proc"),
    ];
    let mut missing = Vec::new();
    for (line, want) in seen {
        if !ids(line).contains(want) {
            missing.push(format!("{want} <- {line} (got {:?})", ids(line)));
        }
    }
    assert!(missing.is_empty(), "unexplained:\n{}", missing.join("\n"));
}

#[test]
fn unrelated_text_matches_nothing() {
    assert!(ids("Successfully tagged localhost/x:latest\nCOMMIT x").is_empty());
}
