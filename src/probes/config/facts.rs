//! The config area's facts: the effective settings and where each came
//! from, the storage.conf as configured, and what the checks resolved.

use crate::formats::toml::{ParseError, Value};
use crate::host::ReadProblem;
use std::collections::BTreeMap;

/// One effective setting and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub value: Value,
    pub file: String,
    pub line: usize,
}

/// The storage.conf podman will use, as configured (before podman's
/// built-in defaults; `storage` computes the effective store).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageConf {
    /// The file read, if any.
    pub file: Option<String>,
    /// Set through `CONTAINERS_STORAGE_CONF`.
    pub from_env: bool,
    /// The user's own storage.conf (rootless) is the one read.
    pub user_file: bool,
    pub driver: Option<String>,
    /// `STORAGE_DRIVER` set the driver.
    pub driver_from_env: bool,
    pub graphroot: Option<String>,
    pub runroot: Option<String>,
    pub rootless_storage_path: Option<String>,
    pub mount_program: Option<String>,
    pub mountopt: Option<String>,
    pub ignore_chown_errors: Option<String>,
    /// `STORAGE_OPTS` is set (replaces the file's options).
    pub storage_opts_env: bool,
    /// The chosen file could not be read (podman fails on it too).
    pub unreadable: Option<ReadProblem>,
}

#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// What the plan's OCI runtime is decided from (`decide::runtime`),
    /// once observed.
    pub runtime_facts: Option<crate::decide::runtime::RuntimeFacts>,
    /// containers.conf files podman reads, in order (existing ones only).
    pub files: Vec<String>,
    /// Whether the user's config directory is read by this podman.
    pub user_dir_read: bool,
    /// The user's containers config directory (`$XDG_CONFIG_HOME/containers`).
    pub user_dir: Option<String>,
    /// `CONTAINERS_CONF` replaces the whole chain (drop-ins are not read).
    pub conf_env: Option<String>,
    /// Merged settings, by dotted key (`engine.cgroup_manager`).
    pub settings: BTreeMap<String, Setting>,
    pub storage: StorageConf,
    /// Files that did not parse: (file, error).
    pub parse_errors: Vec<(String, ParseError)>,
    /// containers.conf files that exist but cannot be read (mode 0600 from a
    /// umask-077 image build, a FIFO, a directory…): podman dies on them.
    pub unreadable: Vec<ReadProblem>,
    /// Effective `cgroup_manager`, `events_logger`, `runtime`, `netns`.
    pub cgroup_manager: String,
    pub events_logger: String,
    pub runtime: String,
    pub netns: Option<String>,
}

impl Facts {
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.settings.get(key)
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(|s| s.value.as_str())
    }

    /// Where `key` was set (`file:line`), for the evidence.
    pub(super) fn source(&self, key: &str) -> String {
        self.get(key)
            .map(|s| format!("{}:{}", s.file, s.line))
            .unwrap_or_else(|| "built-in default".into())
    }
}
