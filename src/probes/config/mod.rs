//! Area `config`: podman's effective `containers.conf` and `storage.conf`,
//! resolved in podman's own order, and the settings in them that break a
//! build in a job container (systemd cgroup manager without systemd,
//! journald without a journal, a missing runtime, ulimits above the hard
//! limits, sysctls a nested network namespace refuses).
//!
//! containers.conf order (containers/common `pkg/config/new.go`):
//! `CONTAINERS_CONF` alone if set; else `/usr/share/containers/containers.conf`,
//! `/etc/containers/containers.conf`, `/etc/containers/containers.conf.d/*.conf`,
//! then the user's `$XDG_CONFIG_HOME/containers/containers.conf` (or
//! `$HOME/.config/…`) and its `.d/*.conf`; `CONTAINERS_CONF_OVERRIDE` last.
//! The user files are read for any uid ≠ 0; for uid 0 only by newer podman
//! (verified: podman 4.3 as root ignores them, podman 5.4 reads them).
//!
//! storage.conf (containers/storage `types/options.go`, `types/utils.go`):
//! `CONTAINERS_STORAGE_CONF` if set; rootless (uid ≠ 0): the user's
//! `$XDG_CONFIG_HOME/containers/storage.conf` (or `$HOME/.config/…`) when it
//! exists, else the system file with only `driver`, `rootless_storage_path`
//! and `ignore_chown_errors` kept; root: `/etc/containers/storage.conf`, else
//! `/usr/share/containers/storage.conf`. `STORAGE_DRIVER` and `STORAGE_OPTS`
//! override the file.

mod containers;
mod engine;
mod facts;
mod files;
mod limits;
mod resolution;
mod specs;
#[cfg(test)]
mod tests;

pub use containers::DEFAULT_CAPABILITIES;
pub use facts::{Facts, Setting, StorageConf};
pub use files::{DEFAULT_POLICY, ETC_POLICY};
pub use limits::{parse_hard_limits, parse_ulimit};
pub use resolution::{
    conf_target, containers_conf_chain, home_pending, reads_override, target_in, user_dir_read,
    ETC_CONF, ETC_CONF_D, ETC_STORAGE, SHARE_CONF, SHARE_STORAGE,
};
pub use specs::SPECS;

use super::{AreaOut, Findings, Obs};
use crate::host::Host;

/// One function per check id, in report order; the resolution of the
/// files comes first (`resolution`), the checks read its facts.
pub fn probe(host: &Host, earlier: &Findings) -> AreaOut<Facts> {
    let found = &mut Obs::new(earlier);
    let podman = found.tools.podman_version;
    let paths = &found.identity.paths;
    let mut f = Facts {
        user_dir_read: user_dir_read(host, podman),
        user_dir: paths
            .config_home
            .as_ref()
            .map(|h| format!("{h}/containers")),
        conf_env: host.env_nonempty("CONTAINERS_CONF").map(str::to_string),
        ..Facts::default()
    };
    // found.plan.rootless is podman's own rule, decided by the identity area.
    let missing = resolution::read_containers_conf(host, paths, podman, &mut f);
    files::containers_conf_check(host, found, &f, &missing);
    let conf_errors = f.parse_errors.len();
    f.storage = resolution::resolve_storage(host, &found.identity.paths, &mut f.parse_errors);
    files::storage_conf_check(found, &f, conf_errors);
    engine::cgroup_manager_check(host, found, &mut f);
    engine::events_logger_check(host, found, &mut f);
    engine::runtime_check(host, found, &mut f);
    limits::ulimit_check(host, found, &f, podman);
    limits::nofile_soft_check(host, found, &f, podman);
    files::policy_check(host, found);
    files::registries_check(host, found);
    // netns (for the network area and the sysctls check)
    f.netns = f.get_str("containers.netns").map(str::to_string);
    containers::sysctl_check(host, found, &f);
    containers::capabilities_check(host, found, &f);
    found.finish(f)
}
